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

/// The per-second history of one shard, bounded by a ring.
public struct ShardSeries: Sendable {
    public let shardId: String
    public private(set) var seconds: RingBuffer<ShardSecond>
    var previous: ShardCounters?
    public private(set) var last: ShardSample?

    public init(shardId: String, capacity: Int) {
        self.shardId = shardId
        self.seconds = RingBuffer(capacity: capacity)
    }

    /// Adds the point for the interval since the previous sample.
    mutating func ingest(_ shard: ShardSample, at time: Instant, elapsedSeconds: Double, limits: KinesisLimits) {
        defer { previous = shard.counters; last = shard }
        guard let p = previous, elapsedSeconds > 0 else { return }
        let c = shard.counters
        func rate(_ a: Int64, _ b: Int64) -> Double { Double(a - b) / elapsedSeconds }
        var s = ShardSecond(time: time)
        s.incomingBytes = rate(c.incomingBytes, p.incomingBytes)
        s.incomingRecords = rate(c.incomingRecords, p.incomingRecords)
        s.writeProvisionedThroughputExceeded = rate(c.writeThrottledRecords, p.writeThrottledRecords)
        s.getRecordsBytes = rate(c.outgoingBytes, p.outgoingBytes)
        s.fanOutBytes = rate(c.fanOutBytes, p.fanOutBytes)
        s.outgoingBytes = s.getRecordsBytes + s.fanOutBytes
        s.outgoingRecords = rate(c.outgoingRecords + c.fanOutRecords, p.outgoingRecords + p.fanOutRecords)
        s.readProvisionedThroughputExceeded = rate(c.readThrottledCalls, p.readThrottledCalls)
        s.iteratorAgeMilliseconds = Double(c.iteratorAgeMilliseconds)
        let byBytes = s.incomingBytes / Double(limits.shardWriteBytesPerSecond)
        let byRecords = s.incomingRecords / Double(limits.shardWriteRecordsPerSecond)
        s.utilization = max(byBytes, byRecords)
        s.bindingLimit = byRecords > byBytes ? "records" : "bytes"
        s.heat = Heat.classify(utilization: s.utilization, throttled: s.writeProvisionedThroughputExceeded)
        seconds.append(s)
    }
}
