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
    // Added with issue 13 (additive).
    /// The data directory (`--data-dir`), its fsync policy and bytes on disk; absent in memory.
    public var storage: StorageSample? = nil
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
    // Added with issue 4 (additive).
    /// Stream-level CloudWatch metrics of the last second, by CloudWatch name
    /// (counts per second, ages in milliseconds).
    public var cloudWatch: [String: Double] = [:]
    /// Latency of engine calls measured by their callers (absent: not measured).
    public var latency: [String: LatencySnapshot] = [:]
    public var skew: SkewSnapshot? = nil
    public var cost: CostSnapshot? = nil
    public var readBudgets: [ReadBudgetSnapshot] = []
    // Added with issue 12 (additive).
    /// Where each family of figures comes from (embedded engine, ktop endpoint, or a foreign
    /// endpoint's control plane, reader and CloudWatch).
    public var source: SampleProvenance = .embedded
}

/// Latency statistics in milliseconds.
public struct LatencySnapshot: Encodable, Sendable {
    public var sampleCount: Int
    public var minimum: Double
    public var maximum: Double
    public var average: Double
    public var p50: Double
    public var p90: Double
    public var p99: Double
}

public struct SkewSnapshot: Encodable, Sendable {
    public var peakToAverage: Double
    public var coefficientOfVariation: Double
    public var averageUtilization: Double
    public var hottestShardId: String?
}

public struct CostSnapshot: Encodable, Sendable {
    public var mode: String
    public var hourlyUSD: Double
    public var monthlyUSD: Double
    public var provisionedHourlyUSD: Double
    public var onDemandHourlyUSD: Double
    public var pricesConfirmed: Bool
    public var lines: [CostLineSnapshot]
    public var notes: [String]
}

public struct CostLineSnapshot: Encodable, Sendable {
    public var mode: String
    public var item: String
    public var quantityPerHour: Double
    public var unit: String
    public var unitPriceUSD: Double
    public var hourlyUSD: Double
}

public struct ReadBudgetSnapshot: Encodable, Sendable {
    public var shardId: String
    public var pollingBytesPerSecond: Double
    public var pollingBytesBudget: Double
    public var pollingCallsPerSecond: Double
    public var pollingCallsBudget: Double
    public var throttledCallsPerSecond: Double
    public var pollingUtilization: Double
    public var pollingConsumers: [PollingShareSnapshot]
    public var fanOut: [FanOutSnapshot]
}

public struct PollingShareSnapshot: Encodable, Sendable {
    public var consumer: String
    public var bytesPerSecond: Double
    public var callsPerSecond: Double
    public var throttledPerSecond: Double
    public var millisBehindLatest: Int64
    enum CodingKeys: String, CodingKey {
        case consumer, bytesPerSecond, callsPerSecond, throttledPerSecond
        case millisBehindLatest = "MillisBehindLatest"
    }
}

public struct FanOutSnapshot: Encodable, Sendable {
    public var consumer: String
    public var bytesPerSecond: Double
    public var budgetBytesPerSecond: Double
    public var utilization: Double
    public var millisBehindLatest: Int64
    enum CodingKeys: String, CodingKey {
        case consumer, bytesPerSecond, budgetBytesPerSecond, utilization
        case millisBehindLatest = "MillisBehindLatest"
    }
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
    // Added with issue 4 (additive).
    public var topKeysByBytes: [KeySnapshot] = []
    /// Space-Saving bounds of the last second: any key above them is listed.
    public var topKeysErrorBound: Int64 = 0
    public var topKeysByBytesErrorBound: Int64 = 0
    public var getRecordsSuccess: Double = 0
    /// The shard's newest CloudWatch shard-level datapoints (attach to a foreign endpoint; absent elsewhere).
    public var cloudWatch: CloudWatchShardMetrics? = nil

    enum CodingKeys: String, CodingKey {
        case shardId, open, startingHashKey, endingHashKey, parentShardId, adjacentParentShardId
        case incomingBytes = "IncomingBytes"
        case incomingRecords = "IncomingRecords"
        case writeProvisionedThroughputExceeded = "WriteProvisionedThroughputExceeded"
        case outgoingBytes = "OutgoingBytes"
        case outgoingRecords = "OutgoingRecords"
        case readProvisionedThroughputExceeded = "ReadProvisionedThroughputExceeded"
        case iteratorAgeMilliseconds = "IteratorAgeMilliseconds"
        case utilization, bindingLimit, heat, topKeys
        case topKeysByBytes, topKeysErrorBound, topKeysByBytesErrorBound
        case getRecordsSuccess = "GetRecords.Success"
        case cloudWatch
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(shardId, forKey: .shardId)
        try c.encode(open, forKey: .open)
        try c.encode(startingHashKey, forKey: .startingHashKey)
        try c.encode(endingHashKey, forKey: .endingHashKey)
        try c.encode(parentShardId, forKey: .parentShardId)  // null, not absent
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
        try c.encode(topKeysByBytes, forKey: .topKeysByBytes)
        try c.encode(topKeysErrorBound, forKey: .topKeysErrorBound)
        try c.encode(topKeysByBytesErrorBound, forKey: .topKeysByBytesErrorBound)
        try c.encode(getRecordsSuccess, forKey: .getRecordsSuccess)
        try c.encodeIfPresent(cloudWatch, forKey: .cloudWatch)
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
        case name, type, bytesPerSecond, budgetBytesPerSecond
        case millisBehindLatest = "MillisBehindLatest"
        case throttled
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
                var streamSnapshot = StreamSnapshot(
                    name: stream.name, mode: stream.mode.rawValue, status: stream.status.rawValue,
                    openShards: stream.openShardCount, closedShards: stream.shards.count - stream.openShardCount,
                    shards: stream.shards.map { shard in
                        let s = latest(stream, shard.shardId) ?? ShardSecond(time: sample.time)
                        let keys = HotKeys(shard)
                        var snap = ShardSnapshot(
                            shardId: shard.shardId, open: shard.isOpen,
                            startingHashKey: String(shard.startingHashKey), endingHashKey: String(shard.endingHashKey),
                            parentShardId: shard.parentShardId, adjacentParentShardId: shard.adjacentParentShardId,
                            incomingBytes: round2(s.incomingBytes), incomingRecords: round2(s.incomingRecords),
                            writeProvisionedThroughputExceeded: round2(s.writeProvisionedThroughputExceeded),
                            outgoingBytes: round2(s.outgoingBytes), outgoingRecords: round2(s.outgoingRecords),
                            readProvisionedThroughputExceeded: round2(s.readProvisionedThroughputExceeded),
                            iteratorAgeMilliseconds: s.iteratorAgeMilliseconds,
                            utilization: (s.utilization * 1000).rounded() / 1000, bindingLimit: s.bindingLimit,
                            heat: s.heat.rawValue,
                            topKeys: (shard.topKeys?.top.prefix(5) ?? []).map {
                                KeySnapshot(
                                    key: $0.partitionKey, records: $0.records, bytes: $0.bytes, maxError: $0.error)
                            })
                        snap.topKeysByBytes = keys.byBytes.prefix(5).map {
                            KeySnapshot(
                                key: $0.partitionKey, records: $0.records, bytes: $0.bytes, maxError: $0.maxError)
                        }
                        snap.topKeysErrorBound = keys.recordsErrorBound
                        snap.topKeysByBytesErrorBound = keys.bytesErrorBound
                        snap.getRecordsSuccess = round2(s.getRecordsSuccess)
                        snap.cloudWatch = shard.cloudWatch
                        return snap
                    },
                    consumers: consumerRates.values.filter { $0.stream == stream.name }.sorted {
                        ($0.type, $0.name) < ($1.type, $1.name)
                    }.map {
                        ConsumerSnapshot(
                            name: $0.name, type: $0.type, bytesPerSecond: round2($0.bytesPerSecond),
                            budgetBytesPerSecond: $0.budgetBytesPerSecond, millisBehindLatest: $0.millisBehindLatest,
                            throttled: round2($0.throttledPerSecond))
                    },
                    producers: producerRates.filter { $0.stream == stream.name }.map {
                        ProducerSnapshot(
                            name: $0.name, keys: $0.keys, targetRecordsPerSecond: $0.targetRecordsPerSecond,
                            ackedRecordsPerSecond: round2($0.ackedPerSecond),
                            throttledRecordsPerSecond: round2($0.throttledPerSecond), droppedRecords: $0.droppedTotal)
                    },
                    advice: Advisor.advise(stream: stream, store: self, limits: limits).map {
                        AdviceSnapshot(
                            action: $0.action.rawValue, shardId: $0.shardId, adjacentShardId: $0.adjacentShardId,
                            hashKey: $0.hashKey.map { String($0) }, targetShardCount: $0.targetShardCount,
                            reason: $0.reason)
                    })
                addIssue4Fields(&streamSnapshot, stream, round2)
                streamSnapshot.source = stream.provenance
                return streamSnapshot
            }, storage: sample.storage)
    }

    private func addIssue4Fields(_ snap: inout StreamSnapshot, _ stream: StreamSample, _ round2: (Double) -> Double) {
        let series = streamSeries(stream)
        if let last = series?.metrics.lastSecond {
            for m in StreamMetric.allCases { snap.cloudWatch[m.rawValue] = round2(last.rate(m)) }
        }
        for (op, l) in series?.lastSecondLatency ?? [:] {
            snap.latency[op.metricName] = LatencySnapshot(
                sampleCount: l.sampleCount, minimum: l.minimum, maximum: l.maximum,
                average: l.average, p50: l.p50, p90: l.p90, p99: l.p99)
        }
        let k = skew(stream)
        snap.skew = SkewSnapshot(
            peakToAverage: (k.peakToAverage * 1000).rounded() / 1000,
            coefficientOfVariation: (k.coefficientOfVariation * 1000).rounded() / 1000,
            averageUtilization: (k.averageUtilization * 1000).rounded() / 1000, hottestShardId: k.hottestShardId)
        let c = cost(stream)
        let money = { (x: Double) in (x * 1_000_000).rounded() / 1_000_000 }
        snap.cost = CostSnapshot(
            mode: c.mode, hourlyUSD: money(c.hourly), monthlyUSD: (c.monthly * 100).rounded() / 100,
            provisionedHourlyUSD: money(c.provisionedHourly), onDemandHourlyUSD: money(c.onDemandHourly),
            pricesConfirmed: c.pricesConfirmed,
            lines: c.provisioned.map { ("PROVISIONED", $0) }.map(Self.costLine)
                + c.onDemand.map { ("ON_DEMAND", $0) }.map(Self.costLine),
            notes: c.notes)
        snap.readBudgets = (readBudgets[stream.arn] ?? []).filter(\.open).map { b in
            ReadBudgetSnapshot(
                shardId: b.shardId, pollingBytesPerSecond: round2(b.pollingBytesPerSecond),
                pollingBytesBudget: b.pollingBytesBudget,
                pollingCallsPerSecond: round2(b.pollingCallsPerSecond), pollingCallsBudget: b.pollingCallsBudget,
                throttledCallsPerSecond: round2(b.throttledCallsPerSecond),
                pollingUtilization: (b.pollingUtilization * 1000).rounded() / 1000,
                pollingConsumers: b.pollingConsumers.map {
                    PollingShareSnapshot(
                        consumer: $0.consumer, bytesPerSecond: round2($0.bytesPerSecond),
                        callsPerSecond: round2($0.callsPerSecond),
                        throttledPerSecond: round2($0.throttledPerSecond), millisBehindLatest: $0.millisBehindLatest)
                },
                fanOut: b.fanOut.map {
                    FanOutSnapshot(
                        consumer: $0.consumer, bytesPerSecond: round2($0.bytesPerSecond),
                        budgetBytesPerSecond: $0.budgetBytesPerSecond,
                        utilization: (($0.utilization) * 1000).rounded() / 1000,
                        millisBehindLatest: $0.millisBehindLatest)
                })
        }
    }

    private static func costLine(_ x: (String, CostLine)) -> CostLineSnapshot {
        CostLineSnapshot(
            mode: x.0, item: x.1.item, quantityPerHour: (x.1.quantityPerHour * 1000).rounded() / 1000, unit: x.1.unit,
            unitPriceUSD: x.1.unitPrice, hourlyUSD: (x.1.hourly * 1_000_000).rounded() / 1_000_000)
    }
}
