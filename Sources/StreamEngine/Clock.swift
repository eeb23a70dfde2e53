import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A point in time as nanoseconds since the Unix epoch.
///
/// Kinesis exposes time in milliseconds (ApproximateArrivalTimestamp) and
/// seconds (sequence numbers); token buckets need finer steps than either, so
/// the engine keeps nanoseconds and converts at the edges.
///
/// Its `Codable` form is one JSON integer, the nanoseconds since the epoch
/// (`1764000000123456789`): exact, unlike milliseconds, so a sample read back over
/// `GET /ktop/v1/sample` equals the one sent. Beyond 2^53 it does not fit a
/// JavaScript number; Python, Swift and Go read it exactly.
public struct Instant: Comparable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var nanosecondsSinceEpoch: Int64

    /// The time of day, `HH:MM:SS` (UTC), as the dashboard and the events pane stamp lines.
    public var timeOfDay: String { String(iso8601.dropFirst(11).prefix(8)) }

    public init(nanosecondsSinceEpoch: Int64) { self.nanosecondsSinceEpoch = nanosecondsSinceEpoch }
    /// Saturates at ``distantPast``/``distantFuture``: milliseconds reach ±292 million
    /// years, nanoseconds only ±292 years, and a client may send either extreme.
    public init(millisecondsSinceEpoch ms: Int64) {
        self.nanosecondsSinceEpoch = ms.saturatingMultiplied(by: 1_000_000)
    }
    /// Saturates like ``init(millisecondsSinceEpoch:)``; NaN reads as ``distantPast``.
    public init(secondsSinceEpoch s: Double) { self.nanosecondsSinceEpoch = Int64(saturating: s * 1e9) }

    /// The earliest and latest instants the engine can hold (1677 and 2262). Every
    /// client timestamp outside them is pinned to them: a time before any record
    /// and a time after now keep their meaning, and nothing overflows.
    public static let distantPast = Instant(nanosecondsSinceEpoch: .min)
    public static let distantFuture = Instant(nanosecondsSinceEpoch: .max)

    public var millisecondsSinceEpoch: Int64 { nanosecondsSinceEpoch / 1_000_000 }
    public var secondsSinceEpoch: Int64 { nanosecondsSinceEpoch / 1_000_000_000 }
    public var secondsSinceEpochDouble: Double { Double(nanosecondsSinceEpoch) / 1e9 }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanosecondsSinceEpoch < b.nanosecondsSinceEpoch }
    // Time arithmetic saturates at the ends of the range instead of trapping or
    // wrapping: a wrapped deadline would lie in the past.
    public static func + (a: Instant, d: Duration) -> Instant {
        Instant(nanosecondsSinceEpoch: a.nanosecondsSinceEpoch.saturatingAdded(d.nanoseconds))
    }
    public static func - (a: Instant, d: Duration) -> Instant {
        Instant(nanosecondsSinceEpoch: a.nanosecondsSinceEpoch.saturatingSubtracted(d.nanoseconds))
    }
    public static func - (a: Instant, b: Instant) -> Duration {
        .nanoseconds(a.nanosecondsSinceEpoch.saturatingSubtracted(b.nanosecondsSinceEpoch))
    }

    /// ISO 8601 in UTC with whole seconds, e.g. `2026-11-24T12:00:01Z`.
    public var iso8601: String {
        let c = CivilTime(secondsSinceEpoch: secondsSinceEpoch)
        return "\(c.year)-\(pad(c.month))-\(pad(c.day))T\(pad(c.hour)):\(pad(c.minute)):\(pad(c.second))Z"
    }

    /// Java's `Date.toString()` in UTC, as Kinesis quotes it in iterator errors:
    /// `Thu Jan 22 01:22:02 UTC 2015`.
    public var javaDateString: String {
        let c = CivilTime(secondsSinceEpoch: secondsSinceEpoch)
        let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let dayIndex = Int(((secondsSinceEpoch.floorDiv(86_400)) % 7 + 7) % 7)
        return
            "\(days[dayIndex]) \(months[c.month - 1]) \(pad(c.day)) \(pad(c.hour)):\(pad(c.minute)):\(pad(c.second)) "
                + "UTC \(c.year)"
    }

    public var description: String { iso8601 }

    public init(from decoder: any Decoder) throws {
        nanosecondsSinceEpoch = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(nanosecondsSinceEpoch)
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at ±292 years (`Duration` itself reaches much further).
    public var nanoseconds: Int64 {
        let (s, atto) = components
        return s.saturatingMultiplied(by: 1_000_000_000).saturatingAdded(atto / 1_000_000_000)
    }
    public var milliseconds: Int64 { nanoseconds / 1_000_000 }
}

extension Int64 {
    /// The checked conversion for every client-supplied floating-point number the
    /// engine turns into an integer: rounds to nearest, pins values beyond the range
    /// (±inf included) to `min`/`max` and NaN to `min`, where `Int64(d)` would trap.
    public init(saturating d: Double) {
        if d.isNaN {
            self = .min
            return
        }
        let r = d.rounded()
        // 2^63 is exactly representable; every Double below it converts.
        if r >= 9_223_372_036_854_775_808.0 {
            self = .max
            return
        }
        if r <= -9_223_372_036_854_775_808.0 {
            self = .min
            return
        }
        self = Int64(r)
    }

    public func saturatingAdded(_ o: Int64) -> Int64 {
        let (r, overflow) = addingReportingOverflow(o)
        return overflow ? (o > 0 ? .max : .min) : r
    }

    public func saturatingSubtracted(_ o: Int64) -> Int64 {
        let (r, overflow) = subtractingReportingOverflow(o)
        return overflow ? (o < 0 ? .max : .min) : r
    }

    public func saturatingMultiplied(by o: Int64) -> Int64 {
        let (r, overflow) = multipliedReportingOverflow(by: o)
        return overflow ? ((self < 0) == (o < 0) ? .max : .min) : r
    }

    func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}

private func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

/// Calendar fields of a UTC instant, and back (Howard Hinnant's civil-calendar
/// algorithms), so formatting and parsing times needs no Foundation calendar.
public struct CivilTime: Equatable, Sendable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int

    public init(secondsSinceEpoch t: Int64) {
        let days = t.floorDiv(86_400)
        let secs = Int(t - days * 86_400)
        hour = secs / 3600
        minute = (secs % 3600) / 60
        second = secs % 60
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = Int(doy - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
    }

    /// Seconds since the epoch of a UTC calendar time; nil when a field is out of range.
    public static func secondsSinceEpoch(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64?
    {
        guard (1...12).contains(month), (1...31).contains(day), (0..<24).contains(hour),
            (0..<60).contains(minute), (0...60).contains(second)
        else { return nil }
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return (era * 146_097 + doe - 719_468) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }
}

/// The one source of time for everything that depends on it: token buckets,
/// iterator expiry, retention, status transitions, arrival timestamps.
///
/// Kinesis itself runs on wall time; ktop injects the clock so tests can step
/// time by hand and a teacher can fast-forward a demo.
public protocol Clock: Sendable {
    /// The current instant. Must never go backwards for one clock instance.
    func now() -> Instant
    /// How many simulated seconds pass per real second (1 for the wall clock).
    var speed: Double { get }
}

/// Real time. Monotonic by construction: a wall-clock step backwards (NTP) is
/// held at the last reading so sequence numbers and buckets never see time reverse.
public final class WallClock: Clock {
    private let last = Atomic<Int64>(0)
    public init() {}
    public var speed: Double { 1 }

    public func now() -> Instant { Instant(nanosecondsSinceEpoch: last.ratchet(to: WallClock.readSystemTime())) }

    static func readSystemTime() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

extension Atomic where Value == Int64 {
    /// Raises the value to `reading` unless it is already higher, and returns
    /// the result: how a clock stays monotonic under concurrent readers.
    func ratchet(to reading: Int64) -> Int64 {
        var current = load(ordering: .relaxed)
        while true {
            let next = Swift.max(current, reading)
            let (exchanged, original) = compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return next }
            current = original
        }
    }
}

/// A clock that moves only when told to: the test variant of `WallClock`
/// (compare NIO's `EmbeddedEventLoop.advanceTime`).
public final class ManualClock: Clock {
    private let current: LockedValue<Instant>
    public init(start: Instant = Instant(secondsSinceEpoch: 1_764_000_000)) { current = LockedValue(start) }
    public var speed: Double { 1 }
    public func now() -> Instant { current.withLock { $0 } }
    public func advance(by d: Duration) {
        precondition(d >= .zero, "ManualClock cannot go backwards")
        current.withLock { $0 = $0 + d }
    }
    public func advance(to t: Instant) { current.withLock { $0 = max($0, t) } }
}

/// Wall time running `speed` times faster from the moment it was created or last
/// re-based, for teaching ("fast-forward an hour of traffic in a minute").
/// Changing speed re-bases, so simulated time never jumps or reverses.
public final class AcceleratedClock: Clock {
    private struct Base {
        var real: Int64
        var simulated: Int64
        var speed: Double
    }
    private let base: LockedValue<Base>
    private let monotonic = Atomic<Int64>(0)

    public init(speed: Double, start: Instant? = nil) {
        let real = WallClock.readSystemTime()
        base = LockedValue(Base(real: real, simulated: start?.nanosecondsSinceEpoch ?? real, speed: max(speed, 0)))
    }

    public var speed: Double { base.withLock { $0.speed } }

    public func setSpeed(_ s: Double) {
        base.withLock { b in
            let real = WallClock.readSystemTime()
            b.simulated = Self.simulated(b, real)
            b.real = real
            b.speed = max(s, 0)
        }
    }

    public func now() -> Instant {
        Instant(
            nanosecondsSinceEpoch: monotonic.ratchet(
                to: base.withLock { Self.simulated($0, WallClock.readSystemTime()) }))
    }

    private static func simulated(_ b: Base, _ real: Int64) -> Int64 {
        b.simulated + Int64(Double(real - b.real) * b.speed)
    }
}
