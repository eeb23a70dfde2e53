import Foundation
import StreamEngine

/// Cumulative consumer counters.
public struct ConsumerStats: Sendable, Equatable {
    public var records: Int64 = 0
    public var bytes: Int64 = 0
    public var calls: Int64 = 0
    /// Reads refused by the shard's read quota (polling) or subscriptions refused (EFO).
    public var throttled: Int64 = 0
    public var millisBehindLatest: Int64 = 0
    public var lastError: String?
}

/// A GetRecords loop over every shard of a stream, as a plain SDK consumer
/// writes it: one iterator per shard, a pause between calls, backoff when
/// throttled, children followed when a shard ends.
public final class PollingConsumer: @unchecked Sendable {
    private struct Reader { var iterator: String?; var nextPoll: Instant; var done = false; var behind: Int64 = 0 }
    public let name: String
    public let stream: String
    /// Time between GetRecords calls on one shard (AWS suggests ≥ 200 ms; the KCL defaults to 1 s).
    public let pollInterval: Duration
    public private(set) var stats = ConsumerStats()
    private var readers: [String: Reader] = [:]
    private var started = false
    private let client: any KinesisClient
    private let startAt: ShardIteratorType

    public init(name: String, stream: String, client: any KinesisClient, pollInterval: Duration = .milliseconds(200),
                startAt: ShardIteratorType = .latest) {
        self.name = name; self.stream = stream; self.client = client; self.pollInterval = pollInterval; self.startAt = startAt
    }

    public func step(now: Instant) {
        if !started {
            guard let shards = try? client.listShards(ListShardsInput(streamName: stream, shardFilter: ShardFilter(type: .atLatest))) else { return }
            for s in shards.shards { readers[s.shardId] = Reader(iterator: nil, nextPoll: now) }
            started = true
        }
        for id in readers.keys.sorted() {
            guard var r = readers[id], !r.done, r.nextPoll <= now else { continue }
            defer { readers[id] = r }
            do {
                if r.iterator == nil {
                    r.iterator = try client.getShardIterator(GetShardIteratorInput(
                        streamName: stream, shardId: id, shardIteratorType: startAt)).shardIterator
                }
                let out = try client.getRecords(GetRecordsInput(shardIterator: r.iterator))
                stats.calls += 1
                stats.records += Int64(out.records.count)
                stats.bytes += out.records.reduce(0) { $0 + Int64($1.data.count + $1.partitionKey.utf8.count) }
                r.behind = Int64(out.millisBehindLatest ?? 0)
                r.iterator = out.nextShardIterator
                r.nextPoll = now + pollInterval
                if out.nextShardIterator == nil {
                    r.done = true
                    for child in out.childShards ?? [] where readers[child.shardId] == nil {
                        // A child starts from its beginning so nothing written after the reshard is missed.
                        readers[child.shardId] = Reader(iterator: try? client.getShardIterator(GetShardIteratorInput(
                            streamName: stream, shardId: child.shardId, shardIteratorType: .trimHorizon)).shardIterator, nextPoll: now)
                    }
                }
            } catch {
                stats.lastError = error.description
                if error.type == .provisionedThroughputExceeded { stats.throttled += 1 }
                if error.type == .expiredIterator { r.iterator = nil }
                r.nextPoll = now + pollInterval * 2
            }
        }
        stats.millisBehindLatest = readers.values.filter { !$0.done }.map(\.behind).max() ?? 0
    }
}

/// An enhanced fan-out consumer: registered with the stream, one
/// SubscribeToShard per shard, re-subscribing every 5 minutes from the
/// continuation sequence number and following children at shard end.
public final class FanOutConsumer: @unchecked Sendable {
    private struct Sub { var subscription: (any FanOutSubscription)?; var continuation: String?; var retryAt: Instant; var done = false; var behind: Int64 = 0 }
    public let name: String
    public let stream: String
    public private(set) var stats = ConsumerStats()
    public private(set) var consumerARN: String?
    private var subs: [String: Sub] = [:]
    private var active = false
    private let client: any KinesisClient

    public init(name: String, stream: String, client: any KinesisClient) {
        self.name = name; self.stream = stream; self.client = client
    }

    public func step(now: Instant) {
        guard let arn = ensureRegistered() else { return }
        if subs.isEmpty {
            guard let shards = try? client.listShards(ListShardsInput(streamName: stream, shardFilter: ShardFilter(type: .atLatest))) else { return }
            for s in shards.shards { subs[s.shardId] = Sub(retryAt: now) }
        }
        for id in subs.keys.sorted() {
            guard var s = subs[id], !s.done else { continue }
            defer { subs[id] = s }
            do {
                if s.subscription == nil {
                    guard s.retryAt <= now else { continue }
                    let start = s.continuation.map { StartingPosition(type: .afterSequenceNumber, sequenceNumber: $0) }
                        ?? StartingPosition(type: .latest)
                    s.subscription = try client.subscribe(SubscribeToShardInput(consumerARN: arn, shardId: id, startingPosition: start))
                }
                guard let event = try s.subscription!.nextEvent() else {
                    s.subscription = nil // 5-minute lifetime over: subscribe again from the continuation
                    continue
                }
                stats.calls += 1
                stats.records += Int64(event.records.count)
                stats.bytes += event.records.reduce(0) { $0 + Int64($1.data.count + $1.partitionKey.utf8.count) }
                s.behind = Int64(event.millisBehindLatest)
                if let c = event.continuationSequenceNumber {
                    s.continuation = c
                } else {
                    s.done = true
                    for child in event.childShards ?? [] where subs[child.shardId] == nil {
                        subs[child.shardId] = Sub(continuation: nil, retryAt: now)
                        // Children start at their beginning (TRIM_HORIZON) to miss nothing.
                        subs[child.shardId]?.subscription = try? client.subscribe(SubscribeToShardInput(
                            consumerARN: arn, shardId: child.shardId, startingPosition: StartingPosition(type: .trimHorizon)))
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
            let status = try? client.describeStreamConsumer(StreamConsumerInput(consumerARN: consumerARN)).consumerDescription.consumerStatus
            active = status == .active
            return active ? consumerARN : nil
        }
        guard let streamARN = try? client.describeStreamSummary(StreamInput(streamName: stream)).streamDescriptionSummary.streamARN else { return nil }
        do {
            consumerARN = try client.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: streamARN, consumerName: name)).consumer.consumerARN
        } catch {
            stats.lastError = error.description
        }
        return nil
    }
}
