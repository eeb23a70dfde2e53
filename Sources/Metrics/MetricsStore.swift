import StreamEngine

/// A consumer the engine does not know by name: a polling (GetRecords)
/// reader run by the load generator or by an SDK app. Cumulative counters,
/// like the engine's, so the store can difference them.
public struct ConsumerReport: Sendable {
    public var stream: String
    public var name: String
    public var bytes: Int64
    public var records: Int64
    public var throttled: Int64
    public var millisBehindLatest: Int64
    public init(stream: String, name: String, bytes: Int64, records: Int64, throttled: Int64, millisBehindLatest: Int64) {
        self.stream = stream; self.name = name; self.bytes = bytes; self.records = records
        self.throttled = throttled; self.millisBehindLatest = millisBehindLatest
    }
}

/// Per-second time series of every shard and consumer, fed one engine sample
/// at a time. Owned by one thread (the main loop); not shared.
///
/// Memory: one `ShardSecond` (~120 bytes) × `capacitySeconds` per shard ever
/// seen, plus the last sample. Shards that disappear (expired) are dropped.
public struct MetricsStore: Sendable {
    public let capacitySeconds: Int
    public private(set) var shards: [String: ShardSeries] = [:] // key: stream ARN + "/" + shard id
    public private(set) var lastSample: EngineSample?
    private var previousConsumers: [String: (bytes: Int64, records: Int64, throttled: Int64)] = [:]
    public private(set) var consumerRates: [String: ConsumerRate] = [:]
    private var previousProducers: [String: ProducerReport] = [:]
    public private(set) var producerRates: [ProducerRate] = []
    private var limits: KinesisLimits

    public init(capacitySeconds: Int = 900, limits: KinesisLimits = .aws) {
        self.capacitySeconds = capacitySeconds
        self.limits = limits
    }

    /// Rates of one consumer over the last interval.
    public struct ConsumerRate: Sendable {
        public var stream: String
        public var name: String
        public var type: String // "polling" or "efo"
        public var bytesPerSecond: Double
        public var recordsPerSecond: Double
        public var budgetBytesPerSecond: Double
        public var millisBehindLatest: Int64
        public var throttledPerSecond: Double
    }

    static func key(_ stream: StreamSample, _ shardId: String) -> String { stream.arn + "/" + shardId }

    /// Rates of one simulated producer over the last interval.
    public struct ProducerRate: Sendable {
        public var stream: String
        public var name: String
        public var keys: String
        public var targetRecordsPerSecond: Double
        public var ackedPerSecond: Double
        public var throttledPerSecond: Double
        /// Records given up on after the last retry, since the start: never hidden.
        public var droppedTotal: Int64
    }

    /// Folds in a new sample (and the polling consumers' and producers' counters).
    public mutating func ingest(_ sample: EngineSample, consumers: [ConsumerReport] = [], producers: [ProducerReport] = []) {
        let elapsed = lastSample.map { Double((sample.time - $0.time).nanoseconds) / 1e9 } ?? 0
        var seen = Set<String>()
        for stream in sample.streams {
            for shard in stream.shards {
                let k = Self.key(stream, shard.shardId)
                seen.insert(k)
                var series = shards[k] ?? ShardSeries(shardId: shard.shardId, capacity: capacitySeconds)
                series.ingest(shard, at: sample.time, elapsedSeconds: elapsed, limits: limits)
                shards[k] = series
            }
        }
        shards = shards.filter { seen.contains($0.key) }

        var rates: [String: ConsumerRate] = [:]
        var current: [String: (bytes: Int64, records: Int64, throttled: Int64)] = [:]
        func fold(_ id: String, stream: String, name: String, type: String, budget: Double,
                  bytes: Int64, records: Int64, throttled: Int64, behind: Int64) {
            current[id] = (bytes, records, throttled)
            let p = previousConsumers[id]
            let dt = elapsed > 0 ? elapsed : 1
            rates[id] = ConsumerRate(
                stream: stream, name: name, type: type,
                bytesPerSecond: p.map { Double(bytes - $0.bytes) / dt } ?? 0,
                recordsPerSecond: p.map { Double(records - $0.records) / dt } ?? 0,
                budgetBytesPerSecond: budget, millisBehindLatest: behind,
                throttledPerSecond: p.map { Double(throttled - $0.throttled) / dt } ?? 0)
        }
        for stream in sample.streams {
            for c in stream.consumers {
                let totals = c.shards.values.reduce(into: (bytes: Int64(0), records: Int64(0), rejected: Int64(0), behind: Int64(0))) {
                    $0.bytes += $1.bytes; $0.records += $1.records; $0.rejected += $1.rejectedSubscriptions
                    $0.behind = max($0.behind, $1.millisBehindLatest)
                }
                // An EFO consumer has its own 2 MiB/s pipe on every shard it reads.
                let budget = Double(limits.efoBytesPerSecondPerConsumerShard * max(c.shards.count, 1))
                fold(stream.arn + "#efo#" + c.name, stream: stream.name, name: c.name, type: "efo", budget: budget,
                     bytes: totals.bytes, records: totals.records, throttled: totals.rejected, behind: totals.behind)
            }
        }
        for r in consumers {
            guard let stream = sample.streams.first(where: { $0.name == r.stream }) else { continue }
            // Polling consumers share each shard's 2 MiB/s with every other polling reader.
            let budget = Double(limits.shardReadBytesPerSecond * max(stream.openShardCount, 1))
            fold(stream.arn + "#polling#" + r.name, stream: r.stream, name: r.name, type: "polling", budget: budget,
                 bytes: r.bytes, records: r.records, throttled: r.throttled, behind: r.millisBehindLatest)
        }
        previousConsumers = current
        consumerRates = rates
        let dt = elapsed > 0 ? elapsed : 1
        producerRates = producers.map { p in
            let before = previousProducers[p.stream + "/" + p.name]
            return ProducerRate(stream: p.stream, name: p.name, keys: p.keys, targetRecordsPerSecond: p.targetRecordsPerSecond,
                                ackedPerSecond: before.map { Double(p.acked - $0.acked) / dt } ?? 0,
                                throttledPerSecond: before.map { Double(p.throttled - $0.throttled) / dt } ?? 0,
                                droppedTotal: p.dropped)
        }
        previousProducers = Dictionary(producers.map { ($0.stream + "/" + $0.name, $0) }, uniquingKeysWith: { $1 })
        lastSample = sample
    }

    /// The newest point of a shard, if two samples have been seen.
    public func latest(_ stream: StreamSample, _ shardId: String) -> ShardSecond? {
        shards[Self.key(stream, shardId)]?.seconds.last
    }

    /// The newest `n` points of a shard, oldest first.
    public func history(_ stream: StreamSample, _ shardId: String, seconds n: Int) -> [ShardSecond] {
        shards[Self.key(stream, shardId)]?.seconds.suffix(n) ?? []
    }
}

/// A simulated producer's cumulative counters, for the snapshot's producer list.
public struct ProducerReport: Sendable {
    public var stream: String
    public var name: String
    public var targetRecordsPerSecond: Double
    public var keys: String
    public var acked: Int64
    public var throttled: Int64
    public var dropped: Int64
    public init(stream: String, name: String, targetRecordsPerSecond: Double, keys: String, acked: Int64, throttled: Int64, dropped: Int64) {
        self.stream = stream; self.name = name; self.targetRecordsPerSecond = targetRecordsPerSecond; self.keys = keys
        self.acked = acked; self.throttled = throttled; self.dropped = dropped
    }
}
