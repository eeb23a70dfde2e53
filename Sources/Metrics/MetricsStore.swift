import Histogram
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
    /// Successful GetRecords calls (0 when the reader does not count them).
    public var calls: Int64 = 0
    /// The same counters per shard id, when the reader keeps them: lets the
    /// store say which polling consumer used (or was refused) which share of
    /// a shard's 2 MiB/s and 5 calls/s. Empty when unknown.
    public var shards: [String: ShardReadReport] = [:]

    public init(stream: String, name: String, bytes: Int64, records: Int64, throttled: Int64, millisBehindLatest: Int64)
    {
        self.stream = stream
        self.name = name
        self.bytes = bytes
        self.records = records
        self.throttled = throttled
        self.millisBehindLatest = millisBehindLatest
    }

    public init(
        stream: String, name: String, bytes: Int64, records: Int64, throttled: Int64, millisBehindLatest: Int64,
        calls: Int64, shards: [String: ShardReadReport]
    ) {
        self.init(
            stream: stream, name: name, bytes: bytes, records: records, throttled: throttled,
            millisBehindLatest: millisBehindLatest)
        self.calls = calls
        self.shards = shards
    }
}

/// One polling consumer's cumulative reads of one shard.
public struct ShardReadReport: Sendable, Equatable {
    public var bytes: Int64
    public var records: Int64
    public var calls: Int64
    public var throttled: Int64
    public var millisBehindLatest: Int64
    public init(bytes: Int64, records: Int64, calls: Int64, throttled: Int64, millisBehindLatest: Int64) {
        self.bytes = bytes
        self.records = records
        self.calls = calls
        self.throttled = throttled
        self.millisBehindLatest = millisBehindLatest
    }
}

/// How much history the store keeps, and the prices its cost model uses.
public struct MetricsConfiguration: Sendable {
    /// Per-second points kept per series (default 15 minutes).
    public var secondsCapacity = 900
    /// One-minute rollups kept per series (default 24 hours).
    public var minutesCapacity = 1_440
    /// Prices for the cost estimate (KINESIS.md §8, unconfirmed; overridable).
    public var prices = PriceTable()
    public init() {}
}

/// Per-second time series of every shard, stream and consumer, fed one
/// engine sample at a time. Owned by one thread (the main loop); not shared.
///
/// Memory is bounded: each series lives in fixed-capacity rings, and series
/// of shards and consumers that disappear are dropped. Per shard the bound
/// is `bytesPerShard(...)` (248,112 B ≈ 242 KiB at the defaults, see there).
public struct MetricsStore: Sendable {
    public let capacitySeconds: Int
    public let configuration: MetricsConfiguration
    public private(set) var shards: [String: ShardSeries] = [:]  // key: stream ARN + "/" + shard id
    /// Stream-level series, by stream ARN.
    public private(set) var streams: [String: StreamSeries] = [:]
    /// Consumer series, by stream ARN + "#efo#" or "#polling#" + name.
    public private(set) var consumers: [String: ConsumerSeries] = [:]
    public private(set) var lastSample: EngineSample?
    private var previousConsumers: [String: (bytes: Int64, records: Int64, throttled: Int64)] = [:]
    public private(set) var consumerRates: [String: ConsumerRate] = [:]
    private var previousProducers: [String: ProducerReport] = [:]
    public private(set) var producerRates: [ProducerRate] = []
    /// Read budgets of every shard, by stream ARN, for the last interval.
    public private(set) var readBudgets: [String: [ReadBudget]] = [:]
    private var previousConsumerShards: [String: ConsumerShardCounters] = [:]
    private var previousPollingReports: [String: ConsumerReport] = [:]
    /// Every consumer's counts since the store first saw it, by the key of
    /// `consumers`: a running sum of the interval deltas, so it never goes
    /// down even when a subscribed shard expires and its counters vanish
    /// (Prometheus counters for `/metrics`).
    public private(set) var consumerTotals: [String: ConsumerTotals] = [:]
    private var limits: KinesisLimits

    public init(capacitySeconds: Int = 900, limits: KinesisLimits = .aws) {
        var c = MetricsConfiguration()
        c.secondsCapacity = capacitySeconds
        self.init(configuration: c, limits: limits)
    }

    public init(configuration: MetricsConfiguration, limits: KinesisLimits = .aws) {
        self.configuration = configuration
        self.capacitySeconds = configuration.secondsCapacity
        self.limits = limits
    }

    /// The quota table utilisation and budgets are measured against.
    public var limitsInUse: KinesisLimits { limits }

    /// Rates of one consumer over the last interval.
    public struct ConsumerRate: Sendable {
        public var stream: String
        public var name: String
        public var type: String  // "polling" or "efo"
        public var bytesPerSecond: Double
        public var recordsPerSecond: Double
        public var budgetBytesPerSecond: Double
        public var millisBehindLatest: Int64
        public var throttledPerSecond: Double
    }

    static func key(_ stream: StreamSample, _ shardId: String) -> String { stream.arn + "/" + shardId }

    /// One consumer's cumulative counts (see `consumerTotals`).
    public struct ConsumerTotals: Sendable, Equatable {
        public var stream: String
        public var name: String
        /// "efo" or "polling".
        public var type: String
        public var bytes: Int64 = 0
        public var records: Int64 = 0
        /// SubscribeToShardEvent events (EFO) or successful GetRecords calls (polling).
        public var success: Int64 = 0
        /// SubscribeToShard.RateExceeded (EFO) or ReadProvisionedThroughputExceeded (polling).
        public var throttled: Int64 = 0
        /// Largest MillisBehindLatest over the consumer's shards at the last sample (a level).
        public var millisBehindLatest: Int64 = 0

        mutating func add(bytes: Int64, records: Int64, success: Int64, throttled: Int64) {
            // A counter that went down was restarted by its owner: what it holds now is new.
            self.bytes &+= max(0, bytes)
            self.records &+= max(0, records)
            self.success &+= max(0, success)
            self.throttled &+= max(0, throttled)
        }
    }

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

    /// Worst-case bytes of time-series storage per shard for the given
    /// capacities: the shard-metric rings (7 UInt32 a second plus time and
    /// interval; 7 × (Double sum + UInt32 min + UInt32 max) a minute plus
    /// start and count), the 5 UInt32 extras a second, and the fixed state
    /// (hash-bucket loads, last sample with its two 16-key sketches and
    /// histogram, previous counters). At 900 s / 1440 min: 36,000 B of
    /// seconds + 175,680 B of minutes + 18,000 B of extras + 18,432 B fixed
    /// = 248,112 B (≈ 242 KiB) per shard; 10,000 shards ≈ 2.5 GB once every
    /// ring is full (rings grow as points arrive, so a young store holds far
    /// less; lower the capacities for very wide streams).
    public static func bytesPerShard(secondsCapacity: Int = 900, minutesCapacity: Int = 1_440) -> Int {
        MetricSeries<ShardMetric, UInt32>.ringBytes(secondsCapacity: secondsCapacity, minutesCapacity: minutesCapacity)
            + secondsCapacity * ShardSeries.extrasWidth * MemoryLayout<UInt32>.stride
            + fixedBytesPerShard
    }

    /// The per-shard state that does not depend on the capacities: four
    /// bucket arrays of Doubles, the last sample's histogram (two Int64
    /// arrays) and sketches (2 × 16 entries + keys up to 256 bytes), counters.
    public static var fixedBytesPerShard: Int {
        let buckets = HashKeyHistogram.maxBuckets
        return 4 * buckets * 8 + 2 * buckets * 8
            + 2 * 16 * (MemoryLayout<SpaceSaving.Entry>.stride + 256)
            + 2 * MemoryLayout<ShardCounters>.stride + MemoryLayout<ShardSample>.stride
            + MemoryLayout<ShardSeries>.stride
    }

    /// Folds in a new sample (and the polling consumers' and producers'
    /// counters, and the latencies callers measured since the last sample).
    public mutating func ingest(
        _ sample: EngineSample, consumers reports: [ConsumerReport] = [], producers: [ProducerReport] = [],
        latencies: [LatencyRecorder.Key: Histogram<UInt64>] = [:]
    ) {
        let previousTime = lastSample?.time
        let elapsed = previousTime.map { Double((sample.time - $0).nanoseconds) / 1e9 } ?? 0
        let intervalMillis = Int64((elapsed * 1000).rounded())
        let timeMillis = sample.time.millisecondsSinceEpoch
        var seen = Set<String>()
        var seenStreams = Set<String>()
        var seenConsumers = Set<String>()
        var budgets: [String: [ReadBudget]] = [:]
        var consumerShardsNow: [String: ConsumerShardCounters] = [:]
        let dt = elapsed > 0 ? elapsed : 1

        for stream in sample.streams {
            seenStreams.insert(stream.arn)
            var streamRow = [Double](repeating: 0, count: StreamMetric.allCases.count)
            var billingRow = [Double](repeating: 0, count: 4)
            func add(_ m: StreamMetric, _ v: Double) { streamRow[m.column] += v }
            var budgetsOfStream: [ReadBudget] = []
            var pipesByShard: [String: [FanOutPipe]] = [:]

            // Enhanced fan-out consumers: per (consumer, shard) deltas.
            for c in stream.consumers {
                let id = stream.arn + "#efo#" + c.name
                seenConsumers.insert(id)
                var row = [Double](repeating: 0, count: ConsumerMetric.allCases.count)
                var behind: Int64 = 0
                var totals = consumerTotals[id] ?? ConsumerTotals(stream: stream.name, name: c.name, type: "efo")
                for (shardId, now) in c.shards {
                    let k = id + "#" + shardId
                    consumerShardsNow[k] = now
                    var before = previousConsumerShards[k] ?? ConsumerShardCounters()
                    if now.bytes < before.bytes || now.events < before.events { before = ConsumerShardCounters() }
                    totals.add(
                        bytes: now.bytes - before.bytes, records: now.records - before.records,
                        success: now.events - before.events,
                        throttled: now.rejectedSubscriptions - before.rejectedSubscriptions)
                    let bytes = Double(now.bytes - before.bytes)
                    let records = Double(now.records - before.records)
                    let events = Double(now.events - before.events)
                    let rejected = Double(now.rejectedSubscriptions - before.rejectedSubscriptions)
                    let subscribed = Double(now.subscriptions - before.subscriptions)
                    row[ConsumerMetric.bytes.column] += bytes
                    row[ConsumerMetric.records.column] += records
                    row[ConsumerMetric.success.column] += events
                    row[ConsumerMetric.throttled.column] += rejected
                    behind = max(behind, now.millisBehindLatest)
                    add(.subscribeToShardSuccess, subscribed)
                    add(.subscribeToShardRateExceeded, rejected)
                    add(.subscribeToShardEventBytes, bytes)
                    add(.subscribeToShardEventRecords, records)
                    add(.subscribeToShardEventSuccess, events)
                    streamRow[StreamMetric.subscribeToShardEventMillisBehindLatest.column] =
                        max(
                            streamRow[StreamMetric.subscribeToShardEventMillisBehindLatest.column],
                            Double(now.millisBehindLatest))
                    let budget = Double(limits.efoBytesPerSecondPerConsumerShard)
                    pipesByShard[shardId, default: []].append(
                        FanOutPipe(
                            consumer: c.name, bytesPerSecond: bytes / dt, recordsPerSecond: records / dt,
                            budgetBytesPerSecond: budget,
                            utilization: bytes / dt / budget, millisBehindLatest: now.millisBehindLatest,
                            rejectedSubscriptionsPerSecond: rejected / dt))
                }
                row[ConsumerMetric.millisBehindLatest.column] = Double(behind)
                totals.millisBehindLatest = behind
                consumerTotals[id] = totals
                if previousTime != nil {
                    var series =
                        self.consumers[id]
                        ?? ConsumerSeries(
                            stream: stream.name, name: c.name, type: "efo",
                            secondsCapacity: configuration.secondsCapacity,
                            minutesCapacity: configuration.minutesCapacity)
                    series.append(timeMillis: timeMillis, intervalMillis: intervalMillis, values: row)
                    self.consumers[id] = series
                }
            }

            // Polling consumers' own reports, per shard when they keep them.
            var pollingByShard: [String: [PollingShare]] = [:]
            for r in reports where r.stream == stream.name {
                let id = stream.arn + "#polling#" + r.name
                seenConsumers.insert(id)
                let before = previousPollingReports[id]
                var totals = consumerTotals[id] ?? ConsumerTotals(stream: stream.name, name: r.name, type: "polling")
                // A reader whose counts went down started afresh: all it reports now is new.
                let base = before.flatMap { b in
                    b.bytes <= r.bytes && b.records <= r.records && b.calls <= r.calls ? b : nil
                }
                totals.add(
                    bytes: r.bytes - (base?.bytes ?? 0), records: r.records - (base?.records ?? 0),
                    success: r.calls - (base?.calls ?? 0), throttled: r.throttled - (base?.throttled ?? 0))
                totals.millisBehindLatest = r.millisBehindLatest
                consumerTotals[id] = totals
                for (shardId, now) in r.shards {
                    let b =
                        before?.shards[shardId]
                        ?? ShardReadReport(bytes: 0, records: 0, calls: 0, throttled: 0, millisBehindLatest: 0)
                    pollingByShard[shardId, default: []].append(
                        PollingShare(
                            consumer: r.name, bytesPerSecond: Double(now.bytes - b.bytes) / dt,
                            callsPerSecond: Double(now.calls - b.calls) / dt,
                            throttledPerSecond: Double(now.throttled - b.throttled) / dt,
                            shareOfBytesBudget: Double(now.bytes - b.bytes) / dt
                                / Double(limits.shardReadBytesPerSecond),
                            millisBehindLatest: now.millisBehindLatest))
                }
                if let before, previousTime != nil {
                    var series =
                        self.consumers[id]
                        ?? ConsumerSeries(
                            stream: stream.name, name: r.name, type: "polling",
                            secondsCapacity: configuration.secondsCapacity,
                            minutesCapacity: configuration.minutesCapacity)
                    var row = [Double](repeating: 0, count: ConsumerMetric.allCases.count)
                    row[ConsumerMetric.bytes.column] = Double(r.bytes - before.bytes)
                    row[ConsumerMetric.records.column] = Double(r.records - before.records)
                    row[ConsumerMetric.success.column] = Double(r.calls - before.calls)
                    row[ConsumerMetric.throttled.column] = Double(r.throttled - before.throttled)
                    row[ConsumerMetric.millisBehindLatest.column] = Double(r.millisBehindLatest)
                    series.append(timeMillis: timeMillis, intervalMillis: intervalMillis, values: row)
                    self.consumers[id] = series
                }
                previousPollingReports[id] = r
            }

            // Shards.
            for shard in stream.shards {
                let k = Self.key(stream, shard.shardId)
                seen.insert(k)
                let known = shards[k] != nil
                var series =
                    shards[k]
                    ?? ShardSeries(
                        shardId: shard.shardId, secondsCapacity: configuration.secondsCapacity,
                        minutesCapacity: configuration.minutesCapacity)
                // A shard that first appears after the store's first sample started from
                // zero within the interval. Its creation time alone cannot tell: a stream
                // created concurrently with the previous sample can carry a creation time
                // just before that sample's and still be missing from it.
                if series.previous == nil, let previousTime, !known || shard.createdAt >= previousTime {
                    series.previous = ShardCounters()
                }
                let before = series.previous
                series.ingest(shard, at: sample.time, elapsedSeconds: elapsed, limits: limits)
                shards[k] = series
                guard let p = before, elapsed > 0 else { continue }
                let c = shard.counters
                func d(_ a: Int64, _ b: Int64) -> Double { Double(a - b) }
                add(.incomingBytes, d(c.incomingBytes, p.incomingBytes))
                add(.incomingRecords, d(c.incomingRecords, p.incomingRecords))
                add(.getRecordsBytes, d(c.outgoingBytes, p.outgoingBytes))
                add(.getRecordsRecords, d(c.outgoingRecords, p.outgoingRecords))
                add(.getRecordsSuccess, d(c.getRecordsCalls, p.getRecordsCalls))
                add(.writeProvisionedThroughputExceeded, d(c.writeThrottledRecords, p.writeThrottledRecords))
                add(.readProvisionedThroughputExceeded, d(c.readThrottledCalls, p.readThrottledCalls))
                streamRow[StreamMetric.getRecordsIteratorAgeMilliseconds.column] =
                    max(
                        streamRow[StreamMetric.getRecordsIteratorAgeMilliseconds.column],
                        Double(c.iteratorAgeMilliseconds))
                billingRow[0] += d(c.putPayloadUnits, p.putPayloadUnits)
                billingRow[1] += d(c.billedKiB, p.billedKiB)
                billingRow[2] += d(c.outgoingBytes, p.outgoingBytes)
                billingRow[3] += d(c.fanOutBytes, p.fanOutBytes)
                let calls = d(c.getRecordsCalls, p.getRecordsCalls)
                let throttled = d(c.readThrottledCalls, p.readThrottledCalls)
                let bytes = d(c.outgoingBytes, p.outgoingBytes)
                let bytesBudget = Double(limits.shardReadBytesPerSecond)
                let callsBudget = Double(limits.shardReadCallsPerSecond)
                budgetsOfStream.append(
                    ReadBudget(
                        shardId: shard.shardId, open: shard.isOpen,
                        pollingBytesPerSecond: bytes / dt, pollingBytesBudget: bytesBudget,
                        pollingCallsPerSecond: (calls + throttled) / dt, pollingCallsBudget: callsBudget,
                        throttledCallsPerSecond: throttled / dt,
                        pollingUtilization: max(bytes / dt / bytesBudget, calls / dt / callsBudget),
                        iteratorAgeMilliseconds: c.iteratorAgeMilliseconds,
                        pollingConsumers: (pollingByShard[shard.shardId] ?? []).sorted { $0.consumer < $1.consumer },
                        fanOut: (pipesByShard[shard.shardId] ?? []).sorted { $0.consumer < $1.consumer }))
            }

            // Per-call counters of the stream.
            var series =
                streams[stream.arn]
                ?? StreamSeries(
                    arn: stream.arn, name: stream.name,
                    secondsCapacity: configuration.secondsCapacity, minutesCapacity: configuration.minutesCapacity)
            if let p = series.previousCounters, elapsed > 0 {
                let c = stream.counters
                func d(_ a: Int64, _ b: Int64) -> Double { Double(a - b) }
                add(.putRecordBytes, d(c.putRecordBytes, p.putRecordBytes))
                add(.putRecordSuccess, d(c.putRecordSuccess, p.putRecordSuccess))
                add(.putRecordsBytes, d(c.putRecordsBytes, p.putRecordsBytes))
                add(.putRecordsSuccess, d(c.putRecordsSuccess, p.putRecordsSuccess))
                add(.putRecordsRecords, d(c.putRecordsSuccessfulRecords, p.putRecordsSuccessfulRecords))
                add(.putRecordsTotalRecords, d(c.putRecordsTotalRecords, p.putRecordsTotalRecords))
                add(.putRecordsSuccessfulRecords, d(c.putRecordsSuccessfulRecords, p.putRecordsSuccessfulRecords))
                add(.putRecordsFailedRecords, d(c.putRecordsFailedRecords, p.putRecordsFailedRecords))
                add(.putRecordsThrottledRecords, d(c.putRecordsThrottledRecords, p.putRecordsThrottledRecords))
                var lat: [LatencyOperation: Histogram<UInt64>] = [:]
                for (key, h) in latencies where key.stream == stream.name { lat[key.operation] = h }
                series.append(
                    timeMillis: timeMillis, intervalMillis: intervalMillis, values: streamRow,
                    billingRow: billingRow, latencies: lat)
            }
            series.previousCounters = stream.counters
            streams[stream.arn] = series
            budgets[stream.arn] = budgetsOfStream
        }
        shards = shards.filter { seen.contains($0.key) }
        streams = streams.filter { seenStreams.contains($0.key) }
        self.consumers = self.consumers.filter { seenConsumers.contains($0.key) }
        consumerTotals = consumerTotals.filter { seenConsumers.contains($0.key) }
        previousPollingReports = previousPollingReports.filter { seenConsumers.contains($0.key) }
        previousConsumerShards = consumerShardsNow
        readBudgets = budgets

        // Consumer rates (the original, still-public view).
        var rates: [String: ConsumerRate] = [:]
        var current: [String: (bytes: Int64, records: Int64, throttled: Int64)] = [:]
        func fold(
            _ id: String, stream: String, name: String, type: String, budget: Double,
            bytes: Int64, records: Int64, throttled: Int64, behind: Int64
        ) {
            current[id] = (bytes, records, throttled)
            let p = previousConsumers[id]
            rates[id] = ConsumerRate(
                stream: stream, name: name, type: type,
                bytesPerSecond: p.map { Double(bytes - $0.bytes) / dt } ?? 0,
                recordsPerSecond: p.map { Double(records - $0.records) / dt } ?? 0,
                budgetBytesPerSecond: budget, millisBehindLatest: behind,
                throttledPerSecond: p.map { Double(throttled - $0.throttled) / dt } ?? 0)
        }
        for stream in sample.streams {
            for c in stream.consumers {
                let totals = c.shards.values.reduce(
                    into: (bytes: Int64(0), records: Int64(0), rejected: Int64(0), behind: Int64(0))
                ) {
                    $0.bytes += $1.bytes
                    $0.records += $1.records
                    $0.rejected += $1.rejectedSubscriptions
                    $0.behind = max($0.behind, $1.millisBehindLatest)
                }
                // An EFO consumer has its own 2 MiB/s pipe on every shard it reads.
                let budget = Double(limits.efoBytesPerSecondPerConsumerShard * max(c.shards.count, 1))
                fold(
                    stream.arn + "#efo#" + c.name, stream: stream.name, name: c.name, type: "efo", budget: budget,
                    bytes: totals.bytes, records: totals.records, throttled: totals.rejected, behind: totals.behind)
            }
        }
        for r in reports {
            guard let stream = sample.streams.first(where: { $0.name == r.stream }) else { continue }
            // Polling consumers share each shard's 2 MiB/s with every other polling reader.
            let budget = Double(limits.shardReadBytesPerSecond * max(stream.openShardCount, 1))
            fold(
                stream.arn + "#polling#" + r.name, stream: r.stream, name: r.name, type: "polling", budget: budget,
                bytes: r.bytes, records: r.records, throttled: r.throttled, behind: r.millisBehindLatest)
        }
        previousConsumers = current
        consumerRates = rates
        producerRates = producers.map { p in
            let before = previousProducers[p.stream + "/" + p.name]
            return ProducerRate(
                stream: p.stream, name: p.name, keys: p.keys, targetRecordsPerSecond: p.targetRecordsPerSecond,
                ackedPerSecond: before.map { Double(p.acked - $0.acked) / dt } ?? 0,
                throttledPerSecond: before.map { Double(p.throttled - $0.throttled) / dt } ?? 0,
                droppedTotal: p.dropped)
        }
        previousProducers = Dictionary(producers.map { ($0.stream + "/" + $0.name, $0) }, uniquingKeysWith: { $1 })
        lastSample = sample
    }

    /// The newest point of a shard, if two samples have been seen.
    public func latest(_ stream: StreamSample, _ shardId: String) -> ShardSecond? {
        shards[Self.key(stream, shardId)]?.latest
    }

    /// The newest `n` points of a shard, oldest first.
    public func history(_ stream: StreamSample, _ shardId: String, seconds n: Int) -> [ShardSecond] {
        shards[Self.key(stream, shardId)]?.history(last: n) ?? []
    }

    /// The series of one shard.
    public func shardSeries(_ stream: StreamSample, _ shardId: String) -> ShardSeries? {
        shards[Self.key(stream, shardId)]
    }

    /// The stream-level series of a stream.
    public func streamSeries(_ stream: StreamSample) -> StreamSeries? { streams[stream.arn] }

    /// The series of every consumer of a stream, EFO first, by name.
    public func consumerSeries(_ stream: StreamSample) -> [ConsumerSeries] {
        consumers.filter { $0.key.hasPrefix(stream.arn + "#") }.values.sorted {
            ($0.type, $0.name) < ($1.type, $1.name)
        }
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
    public init(
        stream: String, name: String, targetRecordsPerSecond: Double, keys: String, acked: Int64, throttled: Int64,
        dropped: Int64
    ) {
        self.stream = stream
        self.name = name
        self.targetRecordsPerSecond = targetRecordsPerSecond
        self.keys = keys
        self.acked = acked
        self.throttled = throttled
        self.dropped = dropped
    }
}
