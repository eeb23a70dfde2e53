import Foundation
import StreamEngine

/// One second of one shard, in CloudWatch's metric names and units
/// (KINESIS.md §6): bytes and counts per second, age in milliseconds.
public struct ShardSecond: Sendable, Equatable {
    public var time: Instant
    public var incomingBytes: Double = 0
    public var incomingRecords: Double = 0
    public var writeProvisionedThroughputExceeded: Double = 0
    /// GetRecords plus enhanced fan-out, as CloudWatch's shard-level OutgoingBytes.
    public var outgoingBytes: Double = 0
    public var outgoingRecords: Double = 0
    public var getRecordsBytes: Double = 0
    public var fanOutBytes: Double = 0
    public var readProvisionedThroughputExceeded: Double = 0
    public var iteratorAgeMilliseconds: Double = 0
    /// max(bytes / byte limit, records / record limit) of the write quota.
    public var utilization: Double = 0
    /// Which write limit binds: "bytes" or "records".
    public var bindingLimit: String = "bytes"
    public var heat: Heat = .cold
    // Added with the rollups: GetRecords alone, and successful GetRecords calls.
    public var getRecordsRecords: Double = 0
    public var getRecordsSuccess: Double = 0
    public var fanOutRecords: Double = 0
}

/// How hard a shard is working against its write quota.
public enum Heat: String, Sendable, Comparable, CaseIterable {
    case cold, warm, hot, throttled

    /// cold < 25 % of the binding limit ≤ warm < 75 % ≤ hot; any throttled
    /// record in the second makes it `throttled`.
    public static func classify(utilization: Double, throttled: Double) -> Heat {
        if throttled > 0 { return .throttled }
        if utilization >= 0.75 { return .hot }
        if utilization >= 0.25 { return .warm }
        return .cold
    }

    public static func < (a: Heat, b: Heat) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Write utilisation of one shard: the larger of its two write quotas' use,
/// and which one that is (KINESIS.md §3: 1 MiB/s **and** 1,000 records/s).
public struct Utilization: Sendable, Equatable {
    public var value: Double
    /// "bytes" or "records".
    public var bindingLimit: String
    public init(bytesPerSecond: Double, recordsPerSecond: Double, limits: KinesisLimits) {
        let byBytes = bytesPerSecond / Double(limits.shardWriteBytesPerSecond)
        let byRecords = recordsPerSecond / Double(limits.shardWriteRecordsPerSecond)
        value = max(byBytes, byRecords)
        bindingLimit = byRecords > byBytes ? "records" : "bytes"
    }
}

/// The history of one shard: CloudWatch's shard-level metrics one point a
/// second (default 15 minutes) rolled up to minutes (default 24 hours), a few
/// GetRecords/fan-out extras per second, and the recent load per hash key
/// bucket that split advice reads.
///
/// Memory per shard is fixed by the capacities; see `MetricsStore.bytesPerShard`.
public struct ShardSeries: Sendable {
    public let shardId: String
    /// CloudWatch's shard-level metrics: counts per interval, gauge levels.
    public private(set) var metrics: MetricSeries<ShardMetric, UInt32>
    /// Per second: GetRecords bytes, GetRecords records, GetRecords calls
    /// that succeeded, fan-out bytes, fan-out records.
    private var extras: RowRing<UInt32>
    var previous: ShardCounters?
    public private(set) var last: ShardSample?
    /// Recent records and bytes per hash key bucket, decayed with a
    /// `loadHalfLifeSeconds` half-life (empty until two samples have been seen).
    public private(set) var recentRecordsByBucket: [Double] = []
    public private(set) var recentBytesByBucket: [Double] = []
    /// The last second's records and bytes per bucket.
    public private(set) var lastSecondRecordsByBucket: [Double] = []
    public private(set) var lastSecondBytesByBucket: [Double] = []
    private var writeBytesLimit = KinesisLimits.aws.shardWriteBytesPerSecond
    private var writeRecordsLimit = KinesisLimits.aws.shardWriteRecordsPerSecond

    public static let extrasWidth = 5
    public static let loadHalfLifeSeconds = 30.0

    public init(shardId: String, capacity: Int) {
        self.init(shardId: shardId, secondsCapacity: capacity, minutesCapacity: 1440)
    }

    public init(shardId: String, secondsCapacity: Int, minutesCapacity: Int) {
        self.shardId = shardId
        metrics = MetricSeries(secondsCapacity: secondsCapacity, minutesCapacity: minutesCapacity)
        extras = RowRing(width: Self.extrasWidth, capacity: secondsCapacity)
    }

    /// Every retained second, oldest first, as `ShardSecond`s. O(n): built on
    /// each access; prefer `latest` or `history(last:)` for a few points.
    public var seconds: RingBuffer<ShardSecond> {
        var ring = RingBuffer<ShardSecond>(capacity: metrics.secondsCapacity)
        for i in 0..<metrics.secondCount { ring.append(shardSecond(i)) }
        return ring
    }

    /// The newest point.
    public var latest: ShardSecond? { metrics.secondCount > 0 ? shardSecond(metrics.secondCount - 1) : nil }

    /// The newest `n` points, oldest first.
    public func history(last n: Int) -> [ShardSecond] {
        let k = min(n, metrics.secondCount)
        return (metrics.secondCount - k..<metrics.secondCount).map(shardSecond)
    }

    func shardSecond(_ i: Int) -> ShardSecond {
        let p = metrics.second(i)
        let x = extras.row(i).map(Double.init)
        let perSecond = p.intervalMillis > 0 ? 1000 / Double(p.intervalMillis) : 1
        var s = ShardSecond(time: Instant(millisecondsSinceEpoch: p.timeMillis))
        s.incomingBytes = p.rate(.incomingBytes)
        s.incomingRecords = p.rate(.incomingRecords)
        s.writeProvisionedThroughputExceeded = p.rate(.writeProvisionedThroughputExceeded)
        s.outgoingBytes = p.rate(.outgoingBytes)
        s.outgoingRecords = p.rate(.outgoingRecords)
        s.readProvisionedThroughputExceeded = p.rate(.readProvisionedThroughputExceeded)
        s.iteratorAgeMilliseconds = p.rate(.iteratorAgeMilliseconds)
        s.getRecordsBytes = x[0] * perSecond
        s.getRecordsRecords = x[1] * perSecond
        s.getRecordsSuccess = x[2] * perSecond
        s.fanOutBytes = x[3] * perSecond
        s.fanOutRecords = x[4] * perSecond
        var limits = KinesisLimits.aws
        limits.shardWriteBytesPerSecond = writeBytesLimit
        limits.shardWriteRecordsPerSecond = writeRecordsLimit
        let u = Utilization(bytesPerSecond: s.incomingBytes, recordsPerSecond: s.incomingRecords, limits: limits)
        s.utilization = u.value
        s.bindingLimit = u.bindingLimit
        s.heat = Heat.classify(utilization: s.utilization, throttled: s.writeProvisionedThroughputExceeded)
        return s
    }

    /// Adds the point for the interval since the previous sample.
    mutating func ingest(_ shard: ShardSample, at time: Instant, elapsedSeconds: Double, limits: KinesisLimits) {
        writeBytesLimit = limits.shardWriteBytesPerSecond
        writeRecordsLimit = limits.shardWriteRecordsPerSecond
        let before = last
        defer {
            previous = shard.counters
            last = shard
        }
        guard let p = previous, elapsedSeconds > 0 else { return }
        let c = shard.counters
        func d(_ a: Int64, _ b: Int64) -> Double { Double(a - b) }
        var row = [Double](repeating: 0, count: ShardMetric.allCases.count)
        row[ShardMetric.incomingBytes.column] = d(c.incomingBytes, p.incomingBytes)
        row[ShardMetric.incomingRecords.column] = d(c.incomingRecords, p.incomingRecords)
        row[ShardMetric.outgoingBytes.column] = d(c.outgoingBytes + c.fanOutBytes, p.outgoingBytes + p.fanOutBytes)
        row[ShardMetric.outgoingRecords.column] = d(
            c.outgoingRecords + c.fanOutRecords, p.outgoingRecords + p.fanOutRecords)
        row[ShardMetric.iteratorAgeMilliseconds.column] = Double(c.iteratorAgeMilliseconds)
        row[ShardMetric.writeProvisionedThroughputExceeded.column] = d(c.writeThrottledRecords, p.writeThrottledRecords)
        row[ShardMetric.readProvisionedThroughputExceeded.column] = d(c.readThrottledCalls, p.readThrottledCalls)
        let interval = Int64((elapsedSeconds * 1000).rounded())
        metrics.append(timeMillis: time.millisecondsSinceEpoch, intervalMillis: interval, values: row)
        extras.append(
            [
                d(c.outgoingBytes, p.outgoingBytes), d(c.outgoingRecords, p.outgoingRecords),
                d(c.getRecordsCalls, p.getRecordsCalls), d(c.fanOutBytes, p.fanOutBytes),
                d(c.fanOutRecords, p.fanOutRecords),
            ].map { UInt32(seriesValue: $0) })
        foldHistogram(new: shard.hashKeyHistogram, old: before?.hashKeyHistogram, elapsedSeconds: elapsedSeconds)
    }

    private mutating func foldHistogram(new: HashKeyHistogram?, old: HashKeyHistogram?, elapsedSeconds: Double) {
        guard let new, let old, new.bucketCount == old.bucketCount else { return }
        let n = new.bucketCount
        if recentRecordsByBucket.count != n {
            recentRecordsByBucket = Array(repeating: 0, count: n)
            recentBytesByBucket = recentRecordsByBucket
            lastSecondRecordsByBucket = recentRecordsByBucket
            lastSecondBytesByBucket = recentRecordsByBucket
        }
        let decay = exp2(-elapsedSeconds / Self.loadHalfLifeSeconds)
        for i in 0..<n {
            let r = Double(new.records[i] - old.records[i])
            let b = Double(new.bytes[i] - old.bytes[i])
            lastSecondRecordsByBucket[i] = r
            lastSecondBytesByBucket[i] = b
            recentRecordsByBucket[i] = recentRecordsByBucket[i] * decay + r
            recentBytesByBucket[i] = recentBytesByBucket[i] * decay + b
        }
    }

    /// Bytes of ring storage currently held (grows to the documented bound).
    public var storedBytes: Int { metrics.storedBytes + extras.storedElements * 4 }
}
