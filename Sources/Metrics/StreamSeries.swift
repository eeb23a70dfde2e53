import Histogram
import StreamEngine

/// The history of one stream: CloudWatch's stream-level metrics one point a
/// second rolled up to minutes, the latency of the operations callers
/// measured, and the last minute of billing units for the cost model.
public struct StreamSeries: Sendable {
    public let arn: String
    public let name: String
    public private(set) var metrics: MetricSeries<StreamMetric, Double>
    var latency: LatencySeries
    /// Per second, for the cost model: interval (ms), PUT payload units,
    /// billed KiB (each record rounded up to 1 KiB), GetRecords bytes, fan-out bytes.
    private var billing: RowRing<Double>
    var previousCounters: StreamCounters?

    public static let billingWindowSeconds = 60

    public init(arn: String, name: String, secondsCapacity: Int, minutesCapacity: Int) {
        self.arn = arn
        self.name = name
        metrics = MetricSeries(secondsCapacity: secondsCapacity, minutesCapacity: minutesCapacity)
        latency = LatencySeries(minutesCapacity: minutesCapacity)
        billing = RowRing(width: 5, capacity: Self.billingWindowSeconds)
    }

    /// Latency of the last second, per operation (absent when nothing was measured).
    public var lastSecondLatency: [LatencyOperation: LatencyStatistics] { latency.lastSecond }
    /// Calls measured per operation and their summed wall time in seconds, since the stream was first seen.
    public var latencyTotals: [LatencyOperation: (count: Int64, seconds: Double)] { latency.totals }
    /// Latency of the minute being filled.
    public var openMinuteLatency: [LatencyOperation: LatencyStatistics] { latency.openMinuteStatistics }
    /// Rolled-up minutes of latency, oldest first.
    public var minuteLatency: [(startMillis: Int64, stats: [LatencyOperation: LatencyStatistics])] {
        Array(latency.minutes)
    }

    mutating func append(
        timeMillis: Int64, intervalMillis: Int64, values: [Double], billingRow: [Double],
        latencies: [LatencyOperation: Histogram<UInt64>]
    ) {
        metrics.append(timeMillis: timeMillis, intervalMillis: intervalMillis, values: values)
        billing.append([Double(intervalMillis)] + billingRow)
        latency.ingest(timeMillis: timeMillis, latencies)
    }

    /// Average per-second rates over the last `billingWindowSeconds`:
    /// (PUT payload units, billed KiB, GetRecords bytes, fan-out bytes).
    public var billingRates: (putPayloadUnits: Double, billedKiB: Double, getRecordsBytes: Double, fanOutBytes: Double)
    {
        var sums = [Double](repeating: 0, count: 5)
        for i in 0..<billing.count { for (k, v) in billing.row(i).enumerated() { sums[k] += v } }
        let seconds = sums[0] / 1000
        guard seconds > 0 else { return (0, 0, 0, 0) }
        return (sums[1] / seconds, sums[2] / seconds, sums[3] / seconds, sums[4] / seconds)
    }

    /// Average incoming bytes and records per second over the newest `n` seconds.
    public func averageIncoming(lastSeconds n: Int) -> (bytes: Double, records: Double) {
        let pts = metrics.seconds(last: n)
        let ms = pts.reduce(0) { $0 + $1.intervalMillis }
        guard ms > 0 else { return (0, 0) }
        let b = pts.reduce(0) { $0 + $1[.incomingBytes] }
        let r = pts.reduce(0) { $0 + $1[.incomingRecords] }
        return (b * 1000 / Double(ms), r * 1000 / Double(ms))
    }
}

/// The history of one consumer: enhanced fan-out (from the engine's
/// per-subscription counters) or polling (from the reader's own report).
public struct ConsumerSeries: Sendable {
    public let stream: String
    public let name: String
    /// "efo" or "polling".
    public let type: String
    public private(set) var metrics: MetricSeries<ConsumerMetric, Double>

    public init(stream: String, name: String, type: String, secondsCapacity: Int, minutesCapacity: Int) {
        self.stream = stream
        self.name = name
        self.type = type
        metrics = MetricSeries(secondsCapacity: secondsCapacity, minutesCapacity: minutesCapacity)
    }

    mutating func append(timeMillis: Int64, intervalMillis: Int64, values: [Double]) {
        metrics.append(timeMillis: timeMillis, intervalMillis: intervalMillis, values: values)
    }
}
