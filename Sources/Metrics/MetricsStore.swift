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
    /// Per-second points kept per shard (default 5 minutes: the dashboard
    /// shows 4, split and merge advice read 1). Shards are the many series
    /// (10,000 in a wide stream), so they keep less than the stream's.
    public var shardSecondsCapacity = 300
    /// One-minute rollups kept per shard (default 3 hours; nothing on screen
    /// or in `/metrics` reads a shard's minutes, the stream keeps 24 hours).
    public var shardMinutesCapacity = 180
    /// Prices for the cost estimate (KINESIS.md §8, unconfirmed; overridable).
    public var prices = PriceTable()
    public init() {}
}

/// Per-second time series of every shard, stream and consumer, fed one
/// engine sample at a time. Owned by one thread (the main loop); not shared.
///
/// Memory is bounded: each series lives in fixed-capacity rings, and series
/// of shards and consumers that disappear are dropped. Per shard the bound
/// is `bytesPerShard(...)` (59,396 B ≈ 58 KiB at the defaults, see there).
public struct MetricsStore: Sendable {
    public let capacitySeconds: Int
    public let configuration: MetricsConfiguration
    /// Every shard's series, by stream ARN + "/" + shard id. Built on each read (O(shards)): for tests and
    /// inspection; the dashboard reads one shard with `readShard`.
    public var shards: [String: ShardSeries] {
        var all: [String: ShardSeries] = [:]
        for (arn, table) in shardTables { for series in table.series { all[arn + "/" + series.shardId] = series } }
        return all
    }
    /// The shard series, by stream ARN.
    private var shardTables: [String: ShardTable] = [:]
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

    /// Keeps `capacitySeconds` per-second points per stream and consumer, and
    /// at most that many per shard (`MetricsConfiguration.shardSecondsCapacity`).
    public init(capacitySeconds: Int = 900, limits: KinesisLimits = .aws) {
        var c = MetricsConfiguration()
        c.secondsCapacity = capacitySeconds
        c.shardSecondsCapacity = min(c.shardSecondsCapacity, capacitySeconds)
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

    /// One stream's shard series. A tick finds each shard's series by its position in the sample (the engine
    /// lists shards in the same order every second), checked by its id: no key is built or hashed per shard
    /// per tick, which at 10,000 shards was a tenth of a tick. A shard that moved is found by its id.
    struct ShardTable: Sendable {
        private(set) var series: [ShardSeries] = []
        private var slotById: [String: Int] = [:]
        /// The slot of the shard at each position of the last sample.
        private var slotByPosition: [Int] = []

        /// The slot of the shard at `position` of a sample, with a new series made by `make` if it is new,
        /// and whether it was new. O(1) for a shard at the same position as last time; O(id) otherwise.
        mutating func slot(for shardId: String, at position: Int, make: () -> ShardSeries) -> (Int, isNew: Bool) {
            if position < slotByPosition.count {
                let s = slotByPosition[position]
                if series[s].shardId == shardId { return (s, false) }
            }
            let found = slotById[shardId]
            let s = found ?? series.count
            if found == nil {
                series.append(make())
                slotById[shardId] = s
            }
            if position < slotByPosition.count {
                slotByPosition[position] = s
            } else {
                while slotByPosition.count < position { slotByPosition.append(s) }
                slotByPosition.append(s)
            }
            return (s, found == nil)
        }

        /// The summary of every shard of `shards` (a sample of this stream), in its order: by position as the
        /// last tick left them, checked by id, else by id. Read in place through the buffer: no series is
        /// copied (retaining its twenty rings) and no key hashed for a shard where the tick found it.
        func summaries(of shards: [ShardSample]) -> [ShardSummary?] {
            series.withUnsafeBufferPointer { all in
                shards.indices.map { j -> ShardSummary? in
                    if j < slotByPosition.count {
                        let s = slotByPosition[j]
                        if all[s].shardId == shards[j].shardId { return all[s].summary }
                    }
                    guard let s = slotById[shards[j].shardId] else { return nil }
                    return all[s].summary
                }
            }
        }

        func read<R>(_ shardId: String, _ body: (ShardSeries) -> R) -> R? {
            guard let s = slotById[shardId] else { return nil }
            return body(series[s])
        }

        subscript(slot: Int) -> ShardSeries {
            get { series[slot] }
            _modify { yield &series[slot] }
        }

        /// Keeps the series of the given shards only, in the sample's order.
        mutating func keep(_ shards: [ShardSample]) {
            var kept: [ShardSeries] = []
            kept.reserveCapacity(shards.count)
            for shard in shards { if let s = slotById[shard.shardId] { kept.append(series[s]) } }
            series = kept
            slotById = [:]
            for (i, s) in series.enumerated() { slotById[s.shardId] = i }
            slotByPosition = []
        }
    }

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
    /// start and count), the 5 UInt32 extras and the heat byte a second, and
    /// the fixed state (hash-bucket loads, last sample with its two 16-key
    /// sketches and histogram, previous counters). At the defaults (300 s,
    /// 180 min): 12,000 B of seconds + 21,960 B of minutes + 6,000 B of extras
    /// + 300 B of heat + 19,136 B fixed = 59,396 B (≈ 58 KiB) per shard;
    /// 10,000 shards ≈ 594 MB once every ring is full (rings grow as points
    /// arrive, so a young store holds less). Before issue 16 shards kept the
    /// stream's 900 s and 1,440 min: 248,112 B.
    public static func bytesPerShard(secondsCapacity: Int = 300, minutesCapacity: Int = 180) -> Int {
        MetricSeries<ShardMetric, UInt32>.ringBytes(secondsCapacity: secondsCapacity, minutesCapacity: minutesCapacity)
            + secondsCapacity * (ShardSeries.extrasWidth * MemoryLayout<UInt32>.stride + 1)
            + fixedBytesPerShard
    }

    /// The per-shard state that does not depend on the capacities: four
    /// bucket arrays of Doubles and the list of buckets the last second wrote,
    /// the last sample's histogram (two Int64 arrays) and sketches (2 × 16
    /// entries + keys up to 256 bytes), counters.
    public static var fixedBytesPerShard: Int {
        let buckets = HashKeyHistogram.maxBuckets
        return 4 * buckets * 8 + buckets * MemoryLayout<Int>.stride + 2 * buckets * 8
            + 2 * 16 * (MemoryLayout<SpaceSaving.Entry>.stride + 256)
            + 2 * MemoryLayout<ShardCounters>.stride + MemoryLayout<ShardSample>.stride
            + MemoryLayout<ShardSeries>.stride
    }

    /// Folds in a new sample (and the polling consumers' and producers'
    /// counters, and the latencies callers measured since the last sample).
    /// Each concern has its own step below; every per-second figure of a shard
    /// comes from its `ShardDelta`.
    public mutating func ingest(
        _ sample: EngineSample, consumers reports: [ConsumerReport] = [], producers: [ProducerReport] = [],
        latencies: [LatencyRecorder.Key: Histogram<UInt64>] = [:]
    ) {
        let interval = Interval(previous: lastSample?.time, now: sample.time)
        var seenStreams = Set<String>()
        var seenConsumers = Set<String>()
        var budgets: [String: [ReadBudget]] = [:]
        var consumerShardsNow: [String: ConsumerShardCounters] = [:]
        for stream in sample.streams {
            seenStreams.insert(stream.arn)
            var row = StreamRow()
            let pipes = ingestFanOut(
                stream, interval, into: &row, seen: &seenConsumers, counters: &consumerShardsNow)
            let polling = ingestPolling(stream, reports, interval, seen: &seenConsumers)
            budgets[stream.arn] = ingestShards(
                stream, at: sample.time, interval, into: &row, pipes: pipes, polling: polling)
            ingestStreamCounters(stream, interval, row, latencies: latencies)
        }
        dropVanished(sample, streams: seenStreams, consumers: seenConsumers)
        previousConsumerShards = consumerShardsNow
        readBudgets = budgets
        foldConsumerRates(sample, reports, interval)
        foldProducerRates(producers, interval)
        lastSample = sample
    }

    /// The time between the previous sample and this one, as every per-second derivation needs it.
    struct Interval {
        /// Time of the previous sample (nil: this is the first).
        let previousTime: Instant?
        /// Seconds since the previous sample (0 for the first).
        let elapsed: Double
        let millis: Int64
        /// Time of this sample, milliseconds since the epoch.
        let timeMillis: Int64
        /// What rates divide by: the elapsed seconds, or 1 when none elapsed.
        let dt: Double

        init(previous: Instant?, now: Instant) {
            previousTime = previous
            elapsed = previous.map { Double((now - $0).nanoseconds) / 1e9 } ?? 0
            millis = Int64((elapsed * 1000).rounded())
            timeMillis = now.millisecondsSinceEpoch
            dt = elapsed > 0 ? elapsed : 1
        }
    }

    /// One stream's point being summed over its shards and consumers: the
    /// stream-level metrics (in `StreamMetric` column order) and the bill.
    struct StreamRow {
        var values = [Double](repeating: 0, count: StreamMetric.allCases.count)
        /// PUT payload units, billed KiB, GetRecords bytes, fan-out bytes.
        var billing = [Double](repeating: 0, count: 4)
        mutating func add(_ m: StreamMetric, _ v: Double) { values[m.column] += v }
        /// For levels: the largest over the stream's shards or consumers.
        mutating func raise(_ m: StreamMetric, _ v: Double) { values[m.column] = max(values[m.column], v) }
    }

    /// Enhanced fan-out consumers: per (consumer, shard) deltas into the
    /// consumer's series, its totals and the stream's SubscribeToShard
    /// metrics; returns each shard's pipes for its read budget.
    private mutating func ingestFanOut(
        _ stream: StreamSample, _ interval: Interval, into streamRow: inout StreamRow, seen: inout Set<String>,
        counters: inout [String: ConsumerShardCounters]
    ) -> [String: [FanOutPipe]] {
        var pipesByShard: [String: [FanOutPipe]] = [:]
        let dt = interval.dt
        for c in stream.consumers {
            let id = stream.arn + "#efo#" + c.name
            seen.insert(id)
            var row = [Double](repeating: 0, count: ConsumerMetric.allCases.count)
            var behind: Int64 = 0
            var totals = consumerTotals[id] ?? ConsumerTotals(stream: stream.name, name: c.name, type: "efo")
            for (shardId, now) in c.shards {
                let k = id + "#" + shardId
                counters[k] = now
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
                streamRow.add(.subscribeToShardSuccess, subscribed)
                streamRow.add(.subscribeToShardRateExceeded, rejected)
                streamRow.add(.subscribeToShardEventBytes, bytes)
                streamRow.add(.subscribeToShardEventRecords, records)
                streamRow.add(.subscribeToShardEventSuccess, events)
                streamRow.raise(.subscribeToShardEventMillisBehindLatest, Double(now.millisBehindLatest))
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
            if interval.previousTime != nil {
                appendConsumerSecond(id, stream: stream.name, name: c.name, type: "efo", row, interval)
            }
        }
        return pipesByShard
    }

    /// Appends one second to a consumer's series, created on first sight. In place: a copy out of the
    /// dictionary would copy its rings every tick.
    private mutating func appendConsumerSecond(
        _ id: String, stream: String, name: String, type: String, _ row: [Double], _ interval: Interval
    ) {
        consumers[
            id,
            default: ConsumerSeries(
                stream: stream, name: name, type: type, secondsCapacity: configuration.secondsCapacity,
                minutesCapacity: configuration.minutesCapacity)
        ].append(timeMillis: interval.timeMillis, intervalMillis: interval.millis, values: row)
    }

    /// Polling consumers' own reports: their series and totals; returns each
    /// shard's shares (when the readers count per shard) for its read budget.
    private mutating func ingestPolling(
        _ stream: StreamSample, _ reports: [ConsumerReport], _ interval: Interval, seen: inout Set<String>
    ) -> [String: [PollingShare]] {
        var pollingByShard: [String: [PollingShare]] = [:]
        let dt = interval.dt
        for r in reports where r.stream == stream.name {
            let id = stream.arn + "#polling#" + r.name
            seen.insert(id)
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
            if let before, interval.previousTime != nil {
                var row = [Double](repeating: 0, count: ConsumerMetric.allCases.count)
                row[ConsumerMetric.bytes.column] = Double(r.bytes - before.bytes)
                row[ConsumerMetric.records.column] = Double(r.records - before.records)
                row[ConsumerMetric.success.column] = Double(r.calls - before.calls)
                row[ConsumerMetric.throttled.column] = Double(r.throttled - before.throttled)
                row[ConsumerMetric.millisBehindLatest.column] = Double(r.millisBehindLatest)
                appendConsumerSecond(id, stream: stream.name, name: r.name, type: "polling", row, interval)
            }
            previousPollingReports[id] = r
        }
        return pollingByShard
    }

    /// Every shard of a stream: its own series (mutated in place: a copy out of
    /// the dictionary would copy its rings), its part of the stream's sums and
    /// bill, and its read budget.
    private mutating func ingestShards(
        _ stream: StreamSample, at time: Instant, _ interval: Interval, into row: inout StreamRow,
        pipes: [String: [FanOutPipe]], polling: [String: [PollingShare]]
    ) -> [ReadBudget] {
        var budgets: [ReadBudget] = []
        budgets.reserveCapacity(stream.shards.count)
        let bytesBudget = Double(limits.shardReadBytesPerSecond)
        let callsBudget = Double(limits.shardReadCallsPerSecond)
        let dt = interval.dt
        // The stream's sums, added to its row once after the loop.
        var sum = (
            incomingBytes: 0.0, incomingRecords: 0.0, getRecordsBytes: 0.0, getRecordsRecords: 0.0,
            getRecordsSuccess: 0.0, writeThrottled: 0.0, readThrottled: 0.0, iteratorAge: 0.0
        )
        defer {
            row.add(.incomingBytes, sum.incomingBytes)
            row.add(.incomingRecords, sum.incomingRecords)
            row.add(.getRecordsBytes, sum.getRecordsBytes)
            row.add(.getRecordsRecords, sum.getRecordsRecords)
            row.add(.getRecordsSuccess, sum.getRecordsSuccess)
            row.add(.writeProvisionedThroughputExceeded, sum.writeThrottled)
            row.add(.readProvisionedThroughputExceeded, sum.readThrottled)
            row.raise(.getRecordsIteratorAgeMilliseconds, sum.iteratorAge)
        }
        var table = shardTables.removeValue(forKey: stream.arn) ?? ShardTable()
        defer { shardTables[stream.arn] = table }
        // By position: a shard sample is large to copy out of the array.
        let secondsCapacity = configuration.shardSecondsCapacity
        let minutesCapacity = configuration.shardMinutesCapacity
        for j in stream.shards.indices {
            let shardId = stream.shards[j].shardId
            let (slot, isNew) = table.slot(for: shardId, at: j) {
                ShardSeries(shardId: shardId, secondsCapacity: secondsCapacity, minutesCapacity: minutesCapacity)
            }
            // A shard that first appears after the store's first sample started from
            // zero within the interval. Its creation time alone cannot tell: a stream
            // created concurrently with the previous sample can carry a creation time
            // just before that sample's and still be missing from it.
            if table[slot].previous == nil, let previousTime = interval.previousTime,
                isNew || stream.shards[j].createdAt >= previousTime
            {
                table[slot].previous = ShardCounters()
            }
            guard
                let d = table[slot].ingest(
                    counters: stream.shards[j].counters, histogram: stream.shards[j].hashKeyHistogram, at: time,
                    elapsedSeconds: interval.elapsed, limits: limits)
            else { continue }
            sum.incomingBytes += d.incomingBytes
            sum.incomingRecords += d.incomingRecords
            sum.getRecordsBytes += d.getRecordsBytes
            sum.getRecordsRecords += d.getRecordsRecords
            sum.getRecordsSuccess += d.getRecordsSuccess
            sum.writeThrottled += d.writeProvisionedThroughputExceeded
            sum.readThrottled += d.readProvisionedThroughputExceeded
            sum.iteratorAge = max(sum.iteratorAge, Double(d.iteratorAgeMilliseconds))
            row.billing[0] += d.putPayloadUnits
            row.billing[1] += d.billedKiB
            row.billing[2] += d.getRecordsBytes
            row.billing[3] += d.fanOutBytes
            let calls = d.getRecordsSuccess
            let throttled = d.readProvisionedThroughputExceeded
            let bytes = d.getRecordsBytes
            budgets.append(
                ReadBudget(
                    shardId: stream.shards[j].shardId, open: stream.shards[j].isOpen,
                    pollingBytesPerSecond: bytes / dt, pollingBytesBudget: bytesBudget,
                    pollingCallsPerSecond: (calls + throttled) / dt, pollingCallsBudget: callsBudget,
                    throttledCallsPerSecond: throttled / dt,
                    pollingUtilization: max(bytes / dt / bytesBudget, calls / dt / callsBudget),
                    iteratorAgeMilliseconds: d.iteratorAgeMilliseconds,
                    pollingConsumers: polling.isEmpty
                        ? [] : (polling[stream.shards[j].shardId] ?? []).sorted { $0.consumer < $1.consumer },
                    fanOut: pipes.isEmpty
                        ? [] : (pipes[stream.shards[j].shardId] ?? []).sorted { $0.consumer < $1.consumer }))
        }
        return budgets
    }

    /// The stream's per-call counters (PutRecord, PutRecords), with what its
    /// shards and consumers summed, into the stream's series.
    private mutating func ingestStreamCounters(
        _ stream: StreamSample, _ interval: Interval, _ summed: StreamRow,
        latencies: [LatencyRecorder.Key: Histogram<UInt64>]
    ) {
        var row = summed
        var series =
            streams.removeValue(forKey: stream.arn)
            ?? StreamSeries(
                arn: stream.arn, name: stream.name,
                secondsCapacity: configuration.secondsCapacity, minutesCapacity: configuration.minutesCapacity)
        if let p = series.previousCounters, interval.elapsed > 0 {
            let c = stream.counters
            func d(_ a: Int64, _ b: Int64) -> Double { Double(a - b) }
            row.add(.putRecordBytes, d(c.putRecordBytes, p.putRecordBytes))
            row.add(.putRecordSuccess, d(c.putRecordSuccess, p.putRecordSuccess))
            row.add(.putRecordsBytes, d(c.putRecordsBytes, p.putRecordsBytes))
            row.add(.putRecordsSuccess, d(c.putRecordsSuccess, p.putRecordsSuccess))
            row.add(.putRecordsRecords, d(c.putRecordsSuccessfulRecords, p.putRecordsSuccessfulRecords))
            row.add(.putRecordsTotalRecords, d(c.putRecordsTotalRecords, p.putRecordsTotalRecords))
            row.add(.putRecordsSuccessfulRecords, d(c.putRecordsSuccessfulRecords, p.putRecordsSuccessfulRecords))
            row.add(.putRecordsFailedRecords, d(c.putRecordsFailedRecords, p.putRecordsFailedRecords))
            row.add(.putRecordsThrottledRecords, d(c.putRecordsThrottledRecords, p.putRecordsThrottledRecords))
            var lat: [LatencyOperation: Histogram<UInt64>] = [:]
            for (key, h) in latencies where key.stream == stream.name { lat[key.operation] = h }
            series.append(
                timeMillis: interval.timeMillis, intervalMillis: interval.millis, values: row.values,
                billingRow: row.billing, latencies: lat)
        }
        series.previousCounters = stream.counters
        streams[stream.arn] = series
    }

    /// Drops the series of shards, streams and consumers the sample no longer has.
    private mutating func dropVanished(
        _ sample: EngineSample, streams seenStreams: Set<String>, consumers seenConsumers: Set<String>
    ) {
        // Every shard of the sample has a series by now, so equal counts mean none of a stream's vanished.
        shardTables = shardTables.filter { seenStreams.contains($0.key) }
        for stream in sample.streams where shardTables[stream.arn]?.series.count != stream.shards.count {
            shardTables[stream.arn]?.keep(stream.shards)
        }
        streams = streams.filter { seenStreams.contains($0.key) }
        self.consumers = self.consumers.filter { seenConsumers.contains($0.key) }
        consumerTotals = consumerTotals.filter { seenConsumers.contains($0.key) }
        previousPollingReports = previousPollingReports.filter { seenConsumers.contains($0.key) }
    }

    /// Consumer rates (the original, still-public view): each consumer's
    /// cumulative counters against the previous sample's.
    private mutating func foldConsumerRates(_ sample: EngineSample, _ reports: [ConsumerReport], _ interval: Interval) {
        let dt = interval.dt
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
            let budget = Double(limits.shardReadBytesPerSecond * max(Self.openShardCount(stream), 1))
            fold(
                stream.arn + "#polling#" + r.name, stream: r.stream, name: r.name, type: "polling", budget: budget,
                bytes: r.bytes, records: r.records, throttled: r.throttled, behind: r.millisBehindLatest)
        }
        previousConsumers = current
        consumerRates = rates
    }

    /// Simulated producers' rates against their previous counters.
    private mutating func foldProducerRates(_ producers: [ProducerReport], _ interval: Interval) {
        let dt = interval.dt
        producerRates = producers.map { p in
            let before = previousProducers[p.stream + "/" + p.name]
            return ProducerRate(
                stream: p.stream, name: p.name, keys: p.keys, targetRecordsPerSecond: p.targetRecordsPerSecond,
                ackedPerSecond: before.map { Double(p.acked - $0.acked) / dt } ?? 0,
                throttledPerSecond: before.map { Double(p.throttled - $0.throttled) / dt } ?? 0,
                droppedTotal: p.dropped)
        }
        previousProducers = Dictionary(producers.map { ($0.stream + "/" + $0.name, $0) }, uniquingKeysWith: { $1 })
    }

    /// Reads one shard's series where it lies, without copying it out of the
    /// store (a copy retains each of its rings): what is read per shard per
    /// refresh of a 10,000-shard stream. Nil for an unknown shard.
    public func readShard<R>(_ stream: StreamSample, _ shardId: String, _ body: (ShardSeries) -> R) -> R? {
        shardTables[stream.arn]?.read(shardId, body)
    }

    /// Every shard of `stream`'s newest second and last minute's mean utilisation, in the sample's order
    /// (nil for a shard the store has no series of): what a refresh reads of every shard, in O(shards) with
    /// one look-up of the stream. A `readShard` per shard hashed the ARN and the id and copied the series.
    public func shardSummaries(_ stream: StreamSample) -> [ShardSummary?] {
        shardTables[stream.arn]?.summaries(of: stream.shards) ?? Array(repeating: nil, count: stream.shards.count)
    }

    /// Open shards of a stream (`StreamSample.openShardCount` copies every shard to count them).
    public static func openShardCount(_ stream: StreamSample) -> Int {
        var n = 0
        for i in stream.shards.indices where stream.shards[i].closedAt == nil { n += 1 }
        return n
    }

    /// The newest point of a shard, if two samples have been seen.
    public func latest(_ stream: StreamSample, _ shardId: String) -> ShardSecond? {
        readShard(stream, shardId) { $0.latest } ?? nil
    }

    /// The newest `n` points of a shard, oldest first.
    public func history(_ stream: StreamSample, _ shardId: String, seconds n: Int) -> [ShardSecond] {
        readShard(stream, shardId) { $0.history(last: n) } ?? []
    }

    /// The series of one shard.
    public func shardSeries(_ stream: StreamSample, _ shardId: String) -> ShardSeries? {
        readShard(stream, shardId) { $0 }
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
