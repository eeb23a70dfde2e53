import DequeModule
import Foundation
import StreamEngine

/// KPL-style aggregation: many small user records packed into one Kinesis
/// record in the KPL format (KINESIS.md §7.1), grouped by the shard they
/// hash to so that every user record lands where its key says.
public struct AggregationConfig: Sendable, Equatable {
    /// Largest aggregate in bytes (KPL `AggregationMaxSize`, default 51,200).
    public var maxBytes: Int
    /// Most user records per aggregate (KPL `AggregationMaxCount`).
    public var maxRecords: Int
    public init(maxBytes: Int = KPLAggregation.defaultMaxBytes, maxRecords: Int = 1_000) {
        self.maxBytes = max(64, min(maxBytes, 1_048_576))
        self.maxRecords = max(1, maxRecords)
    }
}

/// What a producer does: how fast, with which keys and sizes, how it batches
/// and how it retries throttled records.
public struct ProducerConfig: Sendable, Equatable {
    public var name: String
    public var stream: String
    /// Target rate in user records per second (ignored when `bytesPerSecond` is set).
    public var recordsPerSecond: Double
    public var keys: KeyDistribution
    public var size: SizeDistribution
    /// 1 = PutRecord per record; more = PutRecords of up to this many (≤ 500).
    public var batchSize: Int
    /// Retries of a throttled record before it is counted as dropped.
    public var maxRetries: Int
    /// First backoff; doubles per attempt, with ±50 % jitter (as the AWS SDKs do).
    public var backoffBase: Duration
    /// Target rate in payload bytes per second instead of records per second.
    public var bytesPerSecond: Double?
    /// PutRecords request size cap: 5 MiB including partition keys (Kinesis's limit).
    public var maxBatchBytes: Int
    /// How long a record may wait for a fuller batch (KPL `RecordMaxBufferedTime`);
    /// zero sends whatever is due on every step.
    public var linger: Duration
    /// Pack user records into KPL aggregates; nil sends one Kinesis record per user record.
    public var aggregation: AggregationConfig?
    /// What the payload holds: random bytes, or JSON events a SQL query can read.
    public var payload: PayloadKind = .random

    public init(
        name: String, stream: String, recordsPerSecond: Double, keys: KeyDistribution,
        size: SizeDistribution = .fixed(512), batchSize: Int = 500, maxRetries: Int = 3,
        backoffBase: Duration = .milliseconds(100), bytesPerSecond: Double? = nil,
        maxBatchBytes: Int = 5_242_880, linger: Duration = .zero, aggregation: AggregationConfig? = nil
    ) {
        self.name = name
        self.stream = stream
        self.recordsPerSecond = recordsPerSecond
        self.keys = keys
        self.size = size
        self.batchSize = min(max(batchSize, 1), 500)
        self.maxRetries = maxRetries
        self.backoffBase = backoffBase
        self.bytesPerSecond = bytesPerSecond
        self.maxBatchBytes = min(max(maxBatchBytes, 1), 5_242_880)
        self.linger = linger
        self.aggregation = aggregation
    }

    /// The record rate this configuration aims at (derived from the byte rate when one is set).
    public var effectiveRecordsPerSecond: Double {
        if let b = bytesPerSecond { return b / max(size.mean, 1) }
        return recordsPerSecond
    }
}

/// Cumulative producer counters: nothing is hidden, dropped records included.
/// Counts are of user records (with aggregation, one Kinesis record carries many).
public struct ProducerStats: Sendable, Equatable {
    public var generated: Int64 = 0
    public var acked: Int64 = 0
    public var ackedBytes: Int64 = 0
    /// Throttled attempts (a record throttled twice counts twice).
    public var throttled: Int64 = 0
    public var retried: Int64 = 0
    /// Records given up on after `maxRetries`.
    public var dropped: Int64 = 0
    /// Records refused for a reason retrying cannot fix (e.g. stream gone).
    public var failed: Int64 = 0
    /// The last error, kept as the value: formatting it for every throttled record (thousands a second
    /// under load) cost more than the rest of the retry path.
    public var lastFailure: KinesisError?
    public var lastError: String? { lastFailure?.description }
    /// PutRecord / PutRecords calls made.
    public var requests: Int64 = 0
    /// Kinesis records acknowledged (equal to `acked` without aggregation).
    public var kinesisRecordsAcked: Int64 = 0
    /// Kinesis records throttled on their last attempt and dropped.
    public var kinesisRecordsDropped: Int64 = 0
    /// Throttled Kinesis-record attempts (what the engine counts as WriteProvisionedThroughputExceeded).
    public var kinesisRecordsThrottled: Int64 = 0
    /// User records re-sent because their aggregate landed on another shard than predicted (stale shard map).
    public var wrongShard: Int64 = 0
}

/// A simulated producer application. Driven by `step(now:)`, which sends what
/// is due by `now`; deterministic for a given seed and sequence of steps.
/// Not `Sendable`: mutable state with no lock, owned by the one thread that steps it.
public final class Producer {
    /// A Kinesis record waiting to be sent (or re-sent): one user record, or a KPL aggregate of `users`.
    private struct Pending {
        var key: String
        var explicitHashKey: String?
        var data: Data
        var users: Int
        var attempt: Int
        var due: Instant
        var enqueued: Instant
        /// The user records of an aggregate (empty for a plain record) and the shard it was built for.
        var aggregated: [UserRecord] = []
        var predictedShard: String?
        var size: Int { data.count + key.utf8.count }
    }
    /// An aggregate being filled for one shard.
    private struct OpenAggregate {
        var records: [UserRecord] = []
        var bytes = 0
        var opened: Instant
        var shard: String?
    }

    public private(set) var config: ProducerConfig
    public private(set) var stats = ProducerStats()
    private var sampler: KeySampler
    private var rng: SeededRandom
    private var owed = 0.0
    private var last: Instant?
    private var buffer = Deque<Pending>()
    private var bufferBytes = 0
    private var retries = Deque<Pending>()
    private var aggregates: [Int: OpenAggregate] = [:]
    private var shardMap: [(range: ClosedRange<UInt128>, id: String)] = []
    /// Open aggregates keyed by the index of their shard in `shardMap` (-1: unknown).
    private var shardMapAt: Instant?
    private let client: any KinesisClient

    public init(config: ProducerConfig, client: any KinesisClient, seed: UInt64) {
        self.config = config
        self.client = client
        self.sampler = KeySampler(config.keys)
        self.rng = SeededRandom(seed: seed)
    }

    /// Changes the target rate in records per second (the dashboard's `+`/`-`); clears a byte-rate target.
    public func setRate(_ recordsPerSecond: Double) {
        config.recordsPerSecond = max(0, recordsPerSecond)
        config.bytesPerSecond = nil
    }

    /// Changes the target rate to bytes per second of payload.
    public func setByteRate(_ bytesPerSecond: Double) { config.bytesPerSecond = max(0, bytesPerSecond) }

    /// Changes the key strategy (the dashboard's `k`).
    public func setKeys(_ keys: KeyDistribution) {
        config.keys = keys
        sampler = KeySampler(keys)
    }

    /// Changes the record sizes.
    public func setSize(_ size: SizeDistribution) { config.size = size }

    /// User records generated but neither acked, dropped nor failed yet (buffered, lingering, awaiting a retry).
    public var inFlight: Int64 {
        Int64(
            buffer.reduce(0) { $0 + $1.users } + retries.reduce(0) { $0 + $1.users }
                + aggregates.values.reduce(0) { $0 + $1.records.count })
    }

    /// Sends the records due between the previous step and `now`, then retries that are due.
    public func step(now: Instant) {
        defer { last = now }
        guard let last else { return }
        generate(from: last, to: now)
        flushAggregates(now: now, force: config.linger == .zero)
        var batch: [Pending] = []
        while let r = retries.first, r.due <= now { batch.append(retries.removeFirst()) }
        // Fresh records wait for a full batch unless their linger time is up.
        let lingerUp = buffer.first.map { now - $0.enqueued >= config.linger } ?? false
        let full = buffer.count >= config.batchSize || bufferBytes >= config.maxBatchBytes
        if lingerUp || full || config.linger == .zero {
            batch.append(contentsOf: buffer)
            buffer.removeAll()
            bufferBytes = 0
        }
        sendAll(batch, now: now)
    }

    private func generate(from last: Instant, to now: Instant) {
        let seconds = Double((now - last).nanoseconds) / 1e9
        let byBytes = config.bytesPerSecond != nil
        owed += (config.bytesPerSecond ?? config.recordsPerSecond) * seconds
        // In bytes mode a record may overdraw what is owed; the debt is paid from the next step.
        while byBytes ? owed > 0 : owed >= 1 {
            let key = sampler.choose(&rng, now: now)
            let size = config.size.next(&rng)
            let bytes: [UInt8]
            switch config.payload {
            case .random:
                var random = [UInt8](repeating: 0, count: size)
                for i in stride(from: 0, to: size, by: 8) {
                    let v = rng.next()
                    for j in 0..<min(8, size - i) { random[i + j] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(j))) }
                }
                bytes = random
            case .jsonEvents(let errorRate):
                bytes = PayloadKind.jsonEvent(key: key.partitionKey, size: size, errorRate: errorRate, &rng)
            }
            owed -= byBytes ? Double(size) : 1
            stats.generated += 1
            let user = UserRecord(
                partitionKey: key.partitionKey, explicitHashKey: key.explicitHashKey, data: Data(bytes))
            if let agg = config.aggregation {
                add(user, aggregation: agg, now: now)
            } else {
                enqueue(
                    Pending(
                        key: user.partitionKey, explicitHashKey: user.explicitHashKey, data: user.data,
                        users: 1, attempt: 0, due: now, enqueued: now))
            }
        }
    }

    private func enqueue(_ p: Pending) {
        buffer.append(p)
        bufferBytes += p.size
    }

    // MARK: Aggregation

    private func shardSlot(_ hash: UInt128, now: Instant) -> Int {
        if shardMapAt == nil || now - shardMapAt! >= .seconds(30) {
            shardMapAt = now
            if let out = try? client.listShards(
                ListShardsInput(streamName: config.stream, shardFilter: ShardFilter(type: .atLatest)))
            {
                shardMap = out.shards.compactMap { s in
                    guard let lo = HashKey.parse(s.hashKeyRange.startingHashKey),
                        let hi = HashKey.parse(s.hashKeyRange.endingHashKey)
                    else { return nil }
                    return (lo...hi, s.shardId)
                }
            }
        }
        return shardMap.firstIndex { $0.range.contains(hash) } ?? -1
    }

    private func add(_ user: UserRecord, aggregation: AggregationConfig, now: Instant) {
        let slot = shardSlot(user.effectiveHashKey, now: now)
        let shardId = slot >= 0 ? shardMap[slot].id : nil
        // Each user record costs its payload, its key (if new) and a few bytes of protobuf framing.
        let cost = user.data.count + user.partitionKey.utf8.count + (user.explicitHashKey?.utf8.count ?? 0) + 12
        if var open = aggregates[slot],
            open.bytes + cost > aggregation.maxBytes || open.records.count >= aggregation.maxRecords
        {
            seal(open, now: now)
            open = OpenAggregate(opened: now, shard: shardId)
            aggregates[slot] = open
        }
        aggregates[slot, default: OpenAggregate(opened: now, shard: shardId)].records.append(user)
        aggregates[slot]!.bytes += cost
    }

    private func flushAggregates(now: Instant, force: Bool) {
        for slot in aggregates.keys.sorted() {
            guard let open = aggregates[slot], !open.records.isEmpty else { continue }
            if force || now - open.opened >= config.linger {
                seal(open, now: now)
                aggregates[slot] = nil
            }
        }
    }

    private func seal(_ open: OpenAggregate, now: Instant) {
        guard let first = open.records.first else { return }
        if open.records.count == 1 {
            // The KPL sends a lone record as-is, not as an aggregate of one.
            enqueue(
                Pending(
                    key: first.partitionKey, explicitHashKey: first.explicitHashKey, data: first.data,
                    users: 1, attempt: 0, due: now, enqueued: open.opened))
            return
        }
        // The aggregate is routed by its first user record's hash key, so it lands on that record's shard.
        enqueue(
            Pending(
                key: first.partitionKey, explicitHashKey: String(first.effectiveHashKey),
                data: KPLAggregation.encode(open.records), users: open.records.count,
                attempt: 0, due: now, enqueued: open.opened, aggregated: open.records, predictedShard: open.shard))
    }

    // MARK: Sending

    private func sendAll(_ batch: [Pending], now: Instant) {
        var i = 0
        while i < batch.count {
            var j = i
            var bytes = 0
            while j < batch.count, j - i < config.batchSize, j == i || bytes + batch[j].size <= config.maxBatchBytes {
                bytes += batch[j].size
                j += 1
            }
            send(Array(batch[i..<j]), now: now)
            i = j
        }
    }

    private func acked(_ p: Pending, shardId: String?, now: Instant) {
        if let predicted = p.predictedShard, let shardId, predicted != shardId, let agg = config.aggregation {
            // The KPL's "Wrong Shard": the shard map was stale (a reshard), so the
            // aggregate holds user records of another shard, which a KCL consumer
            // would discard. Refresh the map and send the user records again.
            stats.wrongShard += Int64(p.users)
            shardMapAt = nil
            for u in p.aggregated { add(u, aggregation: agg, now: now) }
            return
        }
        stats.acked += Int64(p.users)
        stats.kinesisRecordsAcked += 1
        stats.ackedBytes += Int64(p.size)
    }

    private func send(_ chunk: [Pending], now: Instant) {
        stats.requests += 1
        if chunk.count == 1 && config.batchSize == 1 {
            let p = chunk[0]
            do {
                let out = try client.putRecord(
                    PutRecordInput(
                        streamName: config.stream, data: p.data, partitionKey: p.key, explicitHashKey: p.explicitHashKey
                    ))
                acked(p, shardId: out.shardId, now: now)
            } catch {
                handle(p, error: error, now: now)
            }
            return
        }
        do {
            let out = try client.putRecords(
                PutRecordsInput(
                    records: chunk.map {
                        PutRecordsRequestEntry(data: $0.data, explicitHashKey: $0.explicitHashKey, partitionKey: $0.key)
                    },
                    streamName: config.stream))
            for (p, r) in zip(chunk, out.records) {
                if r.lazySequenceNumber != nil {
                    acked(p, shardId: r.shardId, now: now)
                } else {
                    handle(
                        p,
                        error: KinesisError(
                            KinesisErrorType(rawValue: r.errorCode ?? "") ?? .internalFailure, r.errorMessage ?? ""),
                        now: now)
                }
            }
        } catch {
            for p in chunk { handle(p, error: error, now: now) }
        }
    }

    private func handle(_ p: Pending, error: KinesisError, now: Instant) {
        stats.lastFailure = error
        switch error.type {
        case .provisionedThroughputExceeded, .internalFailure, .limitExceeded:
            if error.type == .provisionedThroughputExceeded {
                stats.throttled += Int64(p.users)
                stats.kinesisRecordsThrottled += 1
            }
            guard p.attempt < config.maxRetries else {
                stats.dropped += Int64(p.users)
                stats.kinesisRecordsDropped += 1
                return
            }
            // Exponential backoff with jitter: base · 2^attempt · [0.5, 1.5).
            let base = Double(config.backoffBase.nanoseconds) * pow(2, Double(p.attempt))
            let delay = Int64(base * (0.5 + rng.unit()))
            var r = p
            r.attempt += 1
            r.due = now + .nanoseconds(delay)
            stats.retried += Int64(p.users)
            // Keep the retry queue ordered by due time, a retry after those due at the same instant: a
            // binary search for the first later one (the queue holds thousands under heavy throttling).
            var lo = retries.startIndex
            var hi = retries.endIndex
            while lo < hi {
                let mid = lo + (hi - lo) / 2
                if retries[mid].due > r.due { hi = mid } else { lo = mid + 1 }
            }
            retries.insert(r, at: lo)
        default:
            stats.failed += Int64(p.users)
        }
    }
}

// Single-owner types: sharing one between threads is a compile error, not a race.
@available(*, unavailable) extension Producer: Sendable {}
