/// A window over arrival time, as Flink's window TVFs define them: windows of `size` starting every `slide`,
/// aligned to the epoch (a 10 s window starts at :00, :10, …). Tumbling windows have `slide == size`, so a
/// record is in exactly one; HOP (sliding) windows put each record in `size / slide` of them.
public struct WindowSpec: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Window length in milliseconds.
    public let sizeMillis: Int64
    /// Time between window starts in milliseconds.
    public let slideMillis: Int64

    /// The shortest window step: a second (INTERVAL units are SECOND, MINUTE, HOUR).
    public static let minimumMillis: Int64 = 1_000
    /// The longest window: a day, so a window's rows stay a bounded buffer and nothing overflows.
    public static let maximumMillis: Int64 = 86_400_000
    /// The most windows one record may be in (size / slide): each closing window re-reads its rows.
    public static let maximumWindowsPerRecord: Int64 = 1_000

    /// A tumbling window of `sizeMillis`.
    public static func tumbling(millis: Int64) throws(SQLQueryError) -> WindowSpec {
        try WindowSpec(sizeMillis: millis, slideMillis: millis)
    }

    /// A window of `sizeMillis` every `slideMillis`: checked here so every way of naming a window (TUMBLE, HOP,
    /// STEP, FLOOR, --window) is held to the same bounds.
    public init(sizeMillis: Int64, slideMillis: Int64) throws(SQLQueryError) {
        let range = Self.minimumMillis...Self.maximumMillis
        guard range.contains(sizeMillis), range.contains(slideMillis) else {
            throw SQLQueryError("a window's size and slide must be between 1 second and 24 hours")
        }
        guard slideMillis <= sizeMillis else {
            throw SQLQueryError(
                "a sliding window's slide (\(Self.text(slideMillis))) must not exceed its size "
                    + "(\(Self.text(sizeMillis)))")
        }
        guard sizeMillis % slideMillis == 0 else {
            throw SQLQueryError(
                "a sliding window's size (\(Self.text(sizeMillis))) must be a whole multiple of its slide "
                    + "(\(Self.text(slideMillis))), so every record is in the same number of windows")
        }
        guard sizeMillis / slideMillis <= Self.maximumWindowsPerRecord else {
            throw SQLQueryError(
                "a sliding window may hold each record at most \(Self.maximumWindowsPerRecord) times "
                    + "(size / slide); \(Self.text(sizeMillis)) / \(Self.text(slideMillis)) is too many")
        }
        self.sizeMillis = sizeMillis
        self.slideMillis = slideMillis
    }

    public var isTumbling: Bool { sizeMillis == slideMillis }
    /// How many windows each record is in.
    public var windowsPerRecord: Int64 { sizeMillis / slideMillis }

    /// The starts of the windows holding an arrival at `millis` (epoch ms), earliest first.
    public func windowStarts(containing millis: Int64) -> [Int64] {
        let last = Self.floor(millis, slideMillis)
        return (0..<windowsPerRecord).reversed().map { last - $0 * slideMillis }
    }

    /// `value` rounded down to a multiple of `step` (also for instants before the epoch).
    static func floor(_ value: Int64, _ step: Int64) -> Int64 {
        let r = value % step
        return r < 0 ? value - r - step : value - r
    }

    public var description: String {
        isTumbling
            ? "tumbling \(Self.text(sizeMillis))"
            : "sliding \(Self.text(sizeMillis)) every \(Self.text(slideMillis))"
    }

    static func text(_ ms: Int64) -> String {
        if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
        if ms % 1_000 == 0 { return "\(ms / 1_000)s" }
        return "\(ms)ms"
    }

    /// The `--window` flag: `tumbling:10s` or `sliding:60s/10s` (size/slide), units s, m, h.
    public static func parseFlag(_ text: String) throws(SQLQueryError) -> WindowSpec {
        let usage = "--window takes tumbling:SIZE or sliding:SIZE/SLIDE with units s, m or h, "
            + "e.g. --window tumbling:10s or --window sliding:60s/10s"
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw SQLQueryError(usage) }
        switch parts[0].lowercased() {
        case "tumbling":
            guard let size = duration(parts[1]) else { throw SQLQueryError(usage) }
            return try tumbling(millis: size)
        case "sliding", "hop", "hopping":
            let d = parts[1].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard d.count == 2, let size = duration(d[0]), let slide = duration(d[1]) else {
                throw SQLQueryError(usage)
            }
            return try WindowSpec(sizeMillis: size, slideMillis: slide)
        default:
            throw SQLQueryError(usage)
        }
    }

    /// "10s", "5m", "1h" in milliseconds; nil for anything else (or a count too large to matter).
    private static func duration(_ s: String) -> Int64? {
        guard let unit = s.last, let scale: Int64 = ["s": 1_000, "m": 60_000, "h": 3_600_000][unit.lowercased()],
            let n = Int64(s.dropLast()), n > 0, n <= 100_000
        else { return nil }
        return n * scale
    }
}

/// Why a query cannot run: one line, naming what is supported where that helps.
public struct SQLQueryError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
