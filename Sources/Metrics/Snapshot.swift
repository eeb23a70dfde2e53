import Foundation
import StreamEngine

/// The headless snapshot of DESIGN.md: one JSON object per line, field
/// names as CloudWatch names its metrics, rates per second over the last
/// interval. Fields may be added; none may be renamed or dropped.
public struct Snapshot: Encodable, Sendable {
    public var time: String
    public var clockSpeed: Double
    public var limits: String
    public var retainedBytes: Int
    public var streams: [StreamSnapshot]
}

public struct StreamSnapshot: Encodable, Sendable {
    public var name: String
    public var mode: String
    public var status: String
    public var openShards: Int
    public var closedShards: Int
    public var shards: [ShardSnapshot]
    public var consumers: [ConsumerSnapshot]
    public var producers: [ProducerSnapshot]
    public var advice: [AdviceSnapshot]
}

public struct ProducerSnapshot: Encodable, Sendable {
    public var name: String
    public var keys: String
    public var targetRecordsPerSecond: Double
    public var ackedRecordsPerSecond: Double
    public var throttledRecordsPerSecond: Double
    public var droppedRecords: Int64
}

public struct ShardSnapshot: Encodable, Sendable {
    public var shardId: String
    public var open: Bool
    public var startingHashKey: String
    public var endingHashKey: String
    public var parentShardId: String?
    public var adjacentParentShardId: String?
    public var incomingBytes: Double
    public var incomingRecords: Double
    public var writeProvisionedThroughputExceeded: Double
    public var outgoingBytes: Double
    public var outgoingRecords: Double
    public var readProvisionedThroughputExceeded: Double
    public var iteratorAgeMilliseconds: Double
    public var utilization: Double
    public var bindingLimit: String
    public var heat: String
    public var topKeys: [KeySnapshot]

    enum CodingKeys: String, CodingKey {
        case shardId, open, startingHashKey, endingHashKey, parentShardId, adjacentParentShardId
        case incomingBytes = "IncomingBytes", incomingRecords = "IncomingRecords"
        case writeProvisionedThroughputExceeded = "WriteProvisionedThroughputExceeded"
        case outgoingBytes = "OutgoingBytes", outgoingRecords = "OutgoingRecords"
        case readProvisionedThroughputExceeded = "ReadProvisionedThroughputExceeded"
        case iteratorAgeMilliseconds = "IteratorAgeMilliseconds"
        case utilization, bindingLimit, heat, topKeys
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(shardId, forKey: .shardId)
        try c.encode(open, forKey: .open)
        try c.encode(startingHashKey, forKey: .startingHashKey)
        try c.encode(endingHashKey, forKey: .endingHashKey)
        try c.encode(parentShardId, forKey: .parentShardId) // null, not absent
        try c.encode(adjacentParentShardId, forKey: .adjacentParentShardId)
        try c.encode(incomingBytes, forKey: .incomingBytes)
        try c.encode(incomingRecords, forKey: .incomingRecords)
        try c.encode(writeProvisionedThroughputExceeded, forKey: .writeProvisionedThroughputExceeded)
        try c.encode(outgoingBytes, forKey: .outgoingBytes)
        try c.encode(outgoingRecords, forKey: .outgoingRecords)
        try c.encode(readProvisionedThroughputExceeded, forKey: .readProvisionedThroughputExceeded)
        try c.encode(iteratorAgeMilliseconds, forKey: .iteratorAgeMilliseconds)
        try c.encode(utilization, forKey: .utilization)
        try c.encode(bindingLimit, forKey: .bindingLimit)
        try c.encode(heat, forKey: .heat)
        try c.encode(topKeys, forKey: .topKeys)
    }
}

public struct KeySnapshot: Encodable, Sendable {
    public var key: String
    public var records: Int64
    public var bytes: Int64
    /// Space-Saving overestimate bound: the true count is ≥ records − maxError.
    public var maxError: Int64
}

public struct ConsumerSnapshot: Encodable, Sendable {
    public var name: String
    public var type: String
    public var bytesPerSecond: Double
    public var budgetBytesPerSecond: Double
    public var millisBehindLatest: Int64
    public var throttled: Double

    enum CodingKeys: String, CodingKey {
        case name, type, bytesPerSecond, budgetBytesPerSecond, millisBehindLatest = "MillisBehindLatest", throttled
    }
}

public struct AdviceSnapshot: Encodable, Sendable {
    public var action: String
    public var shardId: String?
    public var adjacentShardId: String?
    public var hashKey: String?
    public var targetShardCount: Int?
    public var reason: String
}

extension MetricsStore {
    /// The snapshot of the newest sample.
    public func snapshot(limits: KinesisLimits) -> Snapshot? {
        guard let sample = lastSample else { return nil }
        let round2 = { (x: Double) in (x * 100).rounded() / 100 }
        return Snapshot(
            time: sample.time.iso8601, clockSpeed: sample.clockSpeed, limits: sample.limitsProfile,
            retainedBytes: sample.retainedBytes,
            streams: sample.streams.map { stream in
                StreamSnapshot(
                    name: stream.name, mode: stream.mode.rawValue, status: stream.status.rawValue,
                    openShards: stream.openShardCount, closedShards: stream.shards.count - stream.openShardCount,
                    shards: stream.shards.map { shard in
                        let s = latest(stream, shard.shardId) ?? ShardSecond(time: sample.time)
                        return ShardSnapshot(
                            shardId: shard.shardId, open: shard.isOpen,
                            startingHashKey: String(shard.startingHashKey), endingHashKey: String(shard.endingHashKey),
                            parentShardId: shard.parentShardId, adjacentParentShardId: shard.adjacentParentShardId,
                            incomingBytes: round2(s.incomingBytes), incomingRecords: round2(s.incomingRecords),
                            writeProvisionedThroughputExceeded: round2(s.writeProvisionedThroughputExceeded),
                            outgoingBytes: round2(s.outgoingBytes), outgoingRecords: round2(s.outgoingRecords),
                            readProvisionedThroughputExceeded: round2(s.readProvisionedThroughputExceeded),
                            iteratorAgeMilliseconds: s.iteratorAgeMilliseconds,
                            utilization: (s.utilization * 1000).rounded() / 1000, bindingLimit: s.bindingLimit, heat: s.heat.rawValue,
                            topKeys: (shard.topKeys?.top.prefix(5) ?? []).map {
                                KeySnapshot(key: $0.partitionKey, records: $0.records, bytes: $0.bytes, maxError: $0.error)
                            })
                    },
                    consumers: consumerRates.values.filter { $0.stream == stream.name }.sorted { ($0.type, $0.name) < ($1.type, $1.name) }.map {
                        ConsumerSnapshot(name: $0.name, type: $0.type, bytesPerSecond: round2($0.bytesPerSecond),
                                         budgetBytesPerSecond: $0.budgetBytesPerSecond, millisBehindLatest: $0.millisBehindLatest,
                                         throttled: round2($0.throttledPerSecond))
                    },
                    producers: producerRates.filter { $0.stream == stream.name }.map {
                        ProducerSnapshot(name: $0.name, keys: $0.keys, targetRecordsPerSecond: $0.targetRecordsPerSecond,
                                         ackedRecordsPerSecond: round2($0.ackedPerSecond),
                                         throttledRecordsPerSecond: round2($0.throttledPerSecond), droppedRecords: $0.droppedTotal)
                    },
                    advice: Advisor.advise(stream: stream, store: self, limits: limits).map {
                        AdviceSnapshot(action: $0.action.rawValue, shardId: $0.shardId, adjacentShardId: $0.adjacentShardId,
                                       hashKey: $0.hashKey.map { String($0) }, targetShardCount: $0.targetShardCount, reason: $0.reason)
                    })
            })
    }
}
