import Histogram
import StreamEngine

/// The operations whose latency CloudWatch publishes (KINESIS.md §6:
/// PutRecord.Latency, PutRecords.Latency, GetRecords.Latency). Named through
/// ``KinesisOperation`` so the metric names cannot drift from the wire names.
public enum LatencyOperation: Sendable, CaseIterable, Hashable {
    case putRecord
    case putRecords
    case getRecords

    /// The Kinesis operation this latency is of.
    public var operation: KinesisOperation {
        switch self {
        case .putRecord: .putRecord
        case .putRecords: .putRecords
        case .getRecords: .getRecords
        }
    }

    /// The wire name, e.g. `PutRecord`.
    public var rawValue: String { operation.rawValue }

    /// CloudWatch's metric name, e.g. `PutRecord.Latency`.
    public var metricName: String { rawValue + ".Latency" }
}

/// Latency statistics of one operation over one period, in milliseconds,
/// from an HDR histogram (3 significant digits, microsecond resolution).
public struct LatencyStatistics: Sendable, Equatable {
    public var sampleCount: Int
    public var minimum: Double
    public var maximum: Double
    public var average: Double
    public var p50: Double
    public var p90: Double
    public var p99: Double

    init?(_ h: Histogram<UInt64>) {
        guard h.totalCount > 0 else { return nil }
        sampleCount = Int(h.totalCount)
        minimum = Double(h.min) / 1000
        maximum = Double(h.max) / 1000
        average = h.mean / 1000
        p50 = Double(h.valueAtPercentile(50)) / 1000
        p90 = Double(h.valueAtPercentile(90)) / 1000
        p99 = Double(h.valueAtPercentile(99)) / 1000
    }
}

/// Where callers report how long engine calls took.
///
/// The embedded engine has no network, so no latency exists inside it: what
/// is measured is the wall time of the engine call as seen by the caller
/// that wraps it (ktop's load generator measures its PutRecord, PutRecords
/// and GetRecords calls). Nothing is recorded when nobody measures — the
/// store then reports no latency rather than inventing one. On a remote
/// endpoint the same hook measures the round trip.
///
/// Thread-safe; `record` is O(1) under a mutex, `drain` hands the
/// histograms of the interval to `MetricsStore.ingest`.
public final class LatencyRecorder: Sendable {
    public struct Key: Hashable, Sendable {
        public var stream: String
        public var operation: LatencyOperation
        public init(stream: String, operation: LatencyOperation) {
            self.stream = stream
            self.operation = operation
        }
    }
    /// Values above this (60 s) are clamped to it.
    public static let highestMicroseconds: UInt64 = 60_000_000
    private let state = LockedValue<[Key: Histogram<UInt64>]>([:])

    public init() {}

    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: highestMicroseconds,
            numberOfSignificantValueDigits: .three)
    }

    /// Records one call of `operation` on `stream` that took `duration`.
    public func record(stream: String, operation: LatencyOperation, duration: Duration) {
        let micros = UInt64(
            clamping: max(
                0, duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000))
        let value = min(max(micros, 1), Self.highestMicroseconds)
        state.withLock { s in
            let key = Key(stream: stream, operation: operation)
            var h = s.removeValue(forKey: key) ?? Self.emptyHistogram()
            _ = h.record(value)
            s[key] = h
        }
    }

    /// Everything recorded since the last drain, and starts afresh.
    public func drain() -> [Key: Histogram<UInt64>] {
        state.withLock { s in
            let out = s
            s = [:]
            return out
        }
    }
}

/// Per-second and per-minute latency of one stream's operations.
struct LatencySeries: Sendable {
    var lastSecond: [LatencyOperation: LatencyStatistics] = [:]
    /// Calls measured and their summed wall time in seconds, since the series began.
    private(set) var totals: [LatencyOperation: (count: Int64, seconds: Double)] = [:]
    private var openMinute: Int64 = .min
    private var open: [LatencyOperation: Histogram<UInt64>] = [:]
    private(set) var minutes: RingBuffer<(startMillis: Int64, stats: [LatencyOperation: LatencyStatistics])>

    init(minutesCapacity: Int) { minutes = RingBuffer(capacity: minutesCapacity) }

    mutating func ingest(timeMillis: Int64, _ histograms: [LatencyOperation: Histogram<UInt64>]) {
        lastSecond = histograms.compactMapValues(LatencyStatistics.init)
        for (op, h) in histograms where h.totalCount > 0 {
            let t = totals[op] ?? (0, 0)
            // The histogram keeps microseconds; its mean times its count is the sum.
            totals[op] = (t.count &+ Int64(clamping: h.totalCount), t.seconds + h.mean * Double(h.totalCount) / 1e6)
        }
        let minute = (timeMillis - 1).floorDivided(by: 60_000) * 60_000
        if minute != openMinute {
            if !open.isEmpty { minutes.append((openMinute, open.compactMapValues(LatencyStatistics.init))) }
            open = [:]
            openMinute = minute
        }
        for (op, h) in histograms {
            var m = open[op] ?? LatencyRecorder.emptyHistogram()
            m.add(h)
            open[op] = m
        }
    }

    var openMinuteStatistics: [LatencyOperation: LatencyStatistics] { open.compactMapValues(LatencyStatistics.init) }
}
