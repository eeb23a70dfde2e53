import Foundation
import StreamEngine

/// Cumulative consumer counters.
public struct ConsumerStats: Sendable, Equatable {
    public var records: Int64 = 0
    public var bytes: Int64 = 0
    public var calls: Int64 = 0
    /// Reads refused by the shard's read quota (polling) or subscriptions refused (EFO).
    public var throttled: Int64 = 0
    /// How far behind the tip the consumer is: MillisBehindLatest of its last successful read,
    /// plus the time since then while its reads are being throttled (a starved consumer's
    /// last response goes stale; it is at least this far behind).
    public var millisBehindLatest: Int64 = 0
    public var lastError: String?
}

/// Where a consumer starts reading a shard it has no position in.
public enum StartPosition: Sendable, Equatable {
    case latest
    case trimHorizon
    /// AT_TIMESTAMP: the first record that arrived at or after this instant.
    case atTimestamp(Instant)
}

/// A GetRecords loop over every shard of a stream, as a plain SDK consumer
/// writes it: one iterator per shard, a pause between calls, exponential
/// backoff with jitter when throttled, and children followed when a shard
/// ends — a merged child only once both parents are drained (KINESIS.md §7.2).
///
/// Every polling consumer of a stream shares each shard's 2 MiB/s and
/// 5 GetRecords calls/s: add enough of them and they starve each other.
/// Not `Sendable`: owned by the one thread that steps it.
public final class PollingConsumer {
    private struct Reader {
        var iterator: String?
        var nextPoll: Instant
        var done = false
        var behind: Int64 = 0
        var parents: [String] = []
        var start: StartPosition
        var lastSequence: String?
        var throttleStreak = 0
        var lastSuccess: Instant?
        /// Lag now: the last response's MillisBehindLatest, growing while throttled.
        func lag(_ now: Instant) -> Int64 {
            guard throttleStreak > 0, let t = lastSuccess else { return behind }
            return behind + (now - t).milliseconds
        }
    }
    public let name: String
    public let stream: String
    /// Time between GetRecords calls on one shard (AWS suggests ≥ 200 ms; the KCL defaults to 1 s).
    public let pollInterval: Duration
    /// Longest backoff after repeated throttling.
    public let maxBackoff: Duration
    /// GetRecords `Limit` (1…10,000).
    public let limit: Int?
    public private(set) var stats = ConsumerStats()
    /// Called with each GetRecords response's records and the shard they came from (for readers that use the
    /// data, such as `ktop sql`; the load generator only counts).
    public var onRecords: ((_ shardId: String, _ records: [Record]) -> Void)?
    private var readers: [String: Reader] = [:]
    private var started = false
    private let client: any KinesisClient
    private let startAt: ShardIteratorType
    private let start: StartPosition
    private var rng: SeededRandom

    /// Five readers at this pace use a shard's 5 GetRecords calls/s exactly.
    public static let defaultPollInterval: Duration = .milliseconds(200)

    public init(
        name: String, stream: String, client: any KinesisClient,
        pollInterval: Duration = PollingConsumer.defaultPollInterval,
        startAt: ShardIteratorType = .latest
    ) {
        self.name = name
        self.stream = stream
        self.client = client
        self.pollInterval = pollInterval
        self.startAt = startAt
        self.start = startAt == .trimHorizon ? .trimHorizon : .latest
        self.maxBackoff = .seconds(5)
        self.limit = nil
        self.rng = SeededRandom(seed: SeededRandom.seed(from: name))
    }

    /// A polling consumer with an explicit start position (e.g. AT_TIMESTAMP to replay retained data) and seed for
    /// its jitter.
    public init(
        name: String, stream: String, client: any KinesisClient,
        pollInterval: Duration = PollingConsumer.defaultPollInterval,
        start: StartPosition, limit: Int? = nil, maxBackoff: Duration = .seconds(5), seed: UInt64
    ) {
        self.name = name
        self.stream = stream
        self.client = client
        self.pollInterval = pollInterval
        self.start = start
        self.limit = limit
        self.maxBackoff = maxBackoff
        switch start {
        case .latest: startAt = .latest
        case .trimHorizon: startAt = .trimHorizon
        case .atTimestamp: startAt = .atTimestamp
        }
        self.rng = SeededRandom(seed: seed)
    }

    private func iteratorInput(_ shardId: String, _ r: Reader) -> GetShardIteratorInput {
        if let seq = r.lastSequence {
            return GetShardIteratorInput(
                streamName: stream, shardId: shardId, shardIteratorType: .afterSequenceNumber,
                startingSequenceNumber: seq)
        }
        switch r.start {
        case .latest: return GetShardIteratorInput(streamName: stream, shardId: shardId, shardIteratorType: .latest)
        case .trimHorizon:
            return GetShardIteratorInput(streamName: stream, shardId: shardId, shardIteratorType: .trimHorizon)
        case .atTimestamp(let t):
            return GetShardIteratorInput(
                streamName: stream, shardId: shardId, shardIteratorType: .atTimestamp, timestamp: t.date)
        }
    }

    public func step(now: Instant) {
        if !started {
            let filter: ShardFilter
            switch start {
            case .latest: filter = ShardFilter(type: .atLatest)
            case .trimHorizon: filter = ShardFilter(type: .atTrimHorizon)
            case .atTimestamp(let t): filter = ShardFilter(type: .atTimestamp, timestamp: t.date)
            }
            guard let shards = try? client.listShards(ListShardsInput(streamName: stream, shardFilter: filter)) else {
                return
            }
            for s in shards.shards { readers[s.shardId] = Reader(iterator: nil, nextPoll: now, start: start) }
            started = true
        }
        for id in readers.keys.sorted() {
            guard var r = readers[id], !r.done, r.nextPoll <= now else { continue }
            // A merged child waits until every parent it has a reader for is drained.
            if r.parents.contains(where: { readers[$0].map { !$0.done } ?? false }) { continue }
            defer { readers[id] = r }
            do {
                if r.iterator == nil { r.iterator = try client.getShardIterator(iteratorInput(id, r)).shardIterator }
                let out = try client.getRecords(GetRecordsInput(shardIterator: r.iterator, limit: limit))
                stats.calls += 1
                stats.records += Int64(out.records.count)
                stats.bytes += out.records.reduce(0) { $0 + Int64($1.data.count + $1.partitionKey.utf8.count) }
                if let last = out.records.last { r.lastSequence = last.sequenceNumber }
                if let onRecords, !out.records.isEmpty { onRecords(id, out.records) }
                r.behind = Int64(out.millisBehindLatest ?? 0)
                r.iterator = out.nextShardIterator
                r.throttleStreak = 0
                r.lastSuccess = now
                // A real loop sleeps pollInterval after a call that itself took some time:
                // up to 10 % more, drawn from the seeded generator so runs still repeat.
                r.nextPoll = now + .nanoseconds(Int64(Double(pollInterval.nanoseconds) * (1 + 0.1 * rng.unit())))
                if out.nextShardIterator == nil {
                    r.done = true
                    r.behind = 0
                    for child in out.childShards ?? [] where readers[child.shardId] == nil {
                        // A child starts from its beginning so nothing written after the reshard is missed.
                        readers[child.shardId] = Reader(
                            iterator: nil, nextPoll: now, parents: child.parentShards, start: .trimHorizon)
                    }
                }
            } catch {
                stats.lastError = error.description
                if error.type == .provisionedThroughputExceeded {
                    stats.throttled += 1
                    // Exponential backoff with full jitter, as the AWS SDKs retry throttling.
                    r.throttleStreak += 1
                    let cap = min(
                        Double(maxBackoff.nanoseconds),
                        Double(pollInterval.nanoseconds) * pow(2, Double(min(r.throttleStreak, 20))))
                    r.nextPoll =
                        now
                        + .nanoseconds(
                            Int64(
                                Double(pollInterval.nanoseconds) + rng.unit() * (cap - Double(pollInterval.nanoseconds))
                            ))
                } else {
                    if error.type == .expiredIterator { r.iterator = nil }
                    r.nextPoll = now + pollInterval * 2
                }
            }
        }
        stats.millisBehindLatest = readers.values.filter { !$0.done }.map { $0.lag(now) }.max() ?? 0
    }
}

/// An enhanced fan-out consumer: registered with the stream, one
/// SubscribeToShard per shard, re-subscribing every 5 minutes from the
/// continuation sequence number and following children at shard end (a
/// merged child once both parents have ended). Each consumer has its own
/// 2 MiB/s per shard, whatever other consumers do.
/// Not `Sendable`: owned by the one thread that steps it.
public final class FanOutConsumer {
    private struct Sub {
        var subscription: (any FanOutSubscription)?
        var continuation: String?
        var retryAt: Instant
        var done = false
        var behind: Int64 = 0
        var parents: [String] = []
        var fromStart = false
    }
    public let name: String
    public let stream: String
    public private(set) var stats = ConsumerStats()
    public private(set) var consumerARN: String?
    /// Called with each event's records and the shard they came from (see `PollingConsumer.onRecords`).
    public var onRecords: ((_ shardId: String, _ records: [Record]) -> Void)?
    /// Start the stream's first shards at TRIM_HORIZON rather than LATEST.
    public var startAtTrimHorizon = false
    private var subs: [String: Sub] = [:]
    private var active = false
    private let client: any KinesisClient

    public init(name: String, stream: String, client: any KinesisClient) {
        self.name = name
        self.stream = stream
        self.client = client
    }

    public func step(now: Instant) {
        guard let arn = ensureRegistered() else { return }
        if subs.isEmpty {
            guard
                let shards = try? client.listShards(
                    ListShardsInput(
                        streamName: stream,
                        shardFilter: ShardFilter(type: startAtTrimHorizon ? .atTrimHorizon : .atLatest)))
            else { return }
            for s in shards.shards { subs[s.shardId] = Sub(retryAt: now, fromStart: startAtTrimHorizon) }
        }
        for id in subs.keys.sorted() {
            guard var s = subs[id], !s.done else { continue }
            if s.parents.contains(where: { subs[$0].map { !$0.done } ?? false }) { continue }
            defer { subs[id] = s }
            do {
                if s.subscription == nil {
                    guard s.retryAt <= now else { continue }
                    let start =
                        s.continuation.map { StartingPosition(type: .afterSequenceNumber, sequenceNumber: $0) }
                        ?? StartingPosition(type: s.fromStart ? .trimHorizon : .latest)
                    s.subscription = try client.subscribe(
                        SubscribeToShardInput(consumerARN: arn, shardId: id, startingPosition: start))
                }
                guard let event = try s.subscription!.nextEvent() else {
                    s.subscription = nil  // 5-minute lifetime over: subscribe again from the continuation
                    continue
                }
                stats.calls += 1
                stats.records += Int64(event.records.count)
                stats.bytes += event.records.reduce(0) { $0 + Int64($1.data.count + $1.partitionKey.utf8.count) }
                if let onRecords, !event.records.isEmpty { onRecords(id, event.records) }
                s.behind = Int64(event.millisBehindLatest)
                if let c = event.continuationSequenceNumber {
                    s.continuation = c
                } else {
                    s.done = true
                    for child in event.childShards ?? [] where subs[child.shardId] == nil {
                        // Children start at their beginning (TRIM_HORIZON) to miss nothing, once every parent has
                        // ended.
                        subs[child.shardId] = Sub(
                            continuation: nil, retryAt: now, parents: child.parentShards, fromStart: true)
                    }
                }
            } catch {
                stats.lastError = error.description
                stats.throttled += error.type == .resourceInUse || error.type == .limitExceeded ? 1 : 0
                s.subscription = nil
                s.retryAt = now + .seconds(5)
            }
        }
        stats.millisBehindLatest = subs.values.filter { !$0.done }.map(\.behind).max() ?? 0
    }

    private func ensureRegistered() -> String? {
        if active { return consumerARN }
        if let consumerARN {
            let status = try? client.describeStreamConsumer(StreamConsumerInput(consumerARN: consumerARN))
                .consumerDescription.consumerStatus
            active = status == .active
            return active ? consumerARN : nil
        }
        guard
            let streamARN = try? client.describeStreamSummary(StreamInput(streamName: stream)).streamDescriptionSummary
                .streamARN
        else { return nil }
        do {
            consumerARN = try client.registerStreamConsumer(
                RegisterStreamConsumerInput(streamARN: streamARN, consumerName: name)
            ).consumer.consumerARN
        } catch  where error.type == .resourceInUse {
            // Registered by an earlier run (a consumer outlives its application): use it.
            consumerARN = try? client.describeStreamConsumer(
                StreamConsumerInput(streamARN: streamARN, consumerName: name)
            )
            .consumerDescription.consumerARN
        } catch {
            stats.lastError = error.description
        }
        return nil
    }
}

// Single-owner types: sharing one between threads is a compile error, not a race.
@available(*, unavailable) extension PollingConsumer: Sendable {}
@available(*, unavailable) extension FanOutConsumer: Sendable {}
