import Foundation
import Synchronization

// Registered consumers and enhanced fan-out (SubscribeToShard).
extension KinesisService {

    /// A consumer's status at `now`, with due transitions applied; nil once
    /// its deregistration has completed.
    func effectiveStatus(_ c: ConsumerState, _ now: Instant) -> ConsumerStatus? {
        guard let due = c.statusDue, now >= due else { return c.status }
        return c.status == .creating ? .active : c.status == .deleting ? nil : c.status
    }

    func consumerShape(_ c: ConsumerState, _ now: Instant) -> Consumer {
        Consumer(
            consumerName: c.name, consumerARN: c.arn, consumerStatus: effectiveStatus(c, now) ?? .deleting,
            consumerCreationTimestamp: c.createdAt.date)
    }

    public func registerStreamConsumer(
        _ input: RegisterStreamConsumerInput
    ) throws(KinesisError) -> RegisterStreamConsumerOutput {
        var v = Validator()
        v.streamARN(input.streamARN, required: true)
        v.string(
            input.consumerName, "consumerName", required: true, length: 1...128, pattern: Validator.streamNamePattern)
        v.tagMap(input.tags, "tags", count: 1...200)
        let name = try v.check(input.consumerName)
        let now = clock.now()
        let s = try resolve(name: nil, arn: input.streamARN, now: now)
        try rate(.registerStreamConsumer, now: now)
        if let tags = input.tags { try checkTags(tags, stream: s.name, verb: "add tags to") }
        let consumer = try s.update { (m: inout StreamMeta) throws(KinesisError) -> ConsumerState in
            guard m.status == .active || m.status == .updating else {
                throw .streamNotActive(s.name, account, m.status)
            }
            if let existing = m.consumers[name], effectiveStatus(existing, now) != nil {
                throw .consumerExists(name, s.name, account)
            }
            let live = m.consumers.values.compactMap { effectiveStatus($0, now) }
            if live.count >= limits.maxConsumersPerStream { throw .consumerLimit(s.name, limits.maxConsumersPerStream) }
            if live.filter({ $0 == .creating }).count >= limits.maxConsumersCreating {
                throw .consumersCreating(s.name, limits.maxConsumersCreating)
            }
            let c = ConsumerState(
                name: name, arn: "\(s.arn)/consumer/\(name):\(now.secondsSinceEpoch)", createdAt: now,
                status: .creating, statusDue: now + engine.configuration.delays.consumerCreate, tags: input.tags ?? [:])
            m.consumers[name] = c
            return c
        }
        events.append(
            time: now, account: account, region: region, stream: s.name, kind: .consumerCreating,
            message: "RegisterStreamConsumer \(name) on \(s.name)")
        return RegisterStreamConsumerOutput(consumer: consumerShape(consumer, now))
    }

    /// Finds a consumer by ARN, or by stream ARN and name; both forms must agree.
    func resolveConsumer(
        _ input: StreamConsumerInput, now: Instant
    ) throws(KinesisError) -> (StreamState, ConsumerState) {
        var v = Validator()
        v.streamARN(input.streamARN)
        v.string(input.consumerName, "consumerName", length: 1...128, pattern: Validator.streamNamePattern)
        v.string(input.consumerARN, "consumerARN", length: 1...2048, pattern: Validator.consumerARNPattern)
        try v.check()
        let s: StreamState
        let name: String
        if let arn = input.consumerARN {
            guard let ref = ARN.consumer(arn) else { throw .invalidARN(arn) }
            if let n = input.consumerName, n != ref.consumer {
                throw KinesisError(
                    .invalidArgument, "ConsumerName \(n) and ConsumerARN \(arn) do not refer to the same consumer.")
            }
            if let sa = input.streamARN, ARN.stream(sa)?.stream != ref.stream {
                throw KinesisError(
                    .invalidArgument, "StreamARN \(sa) and ConsumerARN \(arn) do not refer to the same stream.")
            }
            do {
                s = try resolve(
                    name: nil, arn: "arn:aws:kinesis:\(ref.region):\(ref.account):stream/\(ref.stream)", now: now)
            } catch { throw .consumerNotFound(arn, account) }
            name = ref.consumer
            guard let c = s.meta.read({ $0.consumers[name] }), c.arn == arn, effectiveStatus(c, now) != nil else {
                throw .consumerNotFound(arn, account)
            }
            return (s, c)
        }
        guard let streamARN = input.streamARN, let consumerName = input.consumerName else {
            throw KinesisError(
                .invalidArgument, "Either ConsumerARN or both StreamARN and ConsumerName must be provided.")
        }
        s = try resolve(name: nil, arn: streamARN, now: now)
        guard let c = s.meta.read({ $0.consumers[consumerName] }), effectiveStatus(c, now) != nil else {
            throw .consumerNotFound("\(consumerName) of stream \(s.name)", account)
        }
        return (s, c)
    }

    public func describeStreamConsumer(
        _ input: StreamConsumerInput
    ) throws(KinesisError) -> DescribeStreamConsumerOutput {
        let now = clock.now()
        let (s, c) = try resolveConsumer(input, now: now)
        try rate(.describeStreamConsumer, stream: s.name, now: now)
        let shape = consumerShape(c, now)
        return DescribeStreamConsumerOutput(
            consumerDescription: ConsumerDescription(
                consumerName: shape.consumerName, consumerARN: shape.consumerARN, consumerStatus: shape.consumerStatus,
                consumerCreationTimestamp: shape.consumerCreationTimestamp, streamARN: s.arn))
    }

    public func deregisterStreamConsumer(_ input: StreamConsumerInput) throws(KinesisError) -> EmptyOutput {
        let now = clock.now()
        let (s, c) = try resolveConsumer(input, now: now)
        try rate(.deregisterStreamConsumer, stream: s.name, now: now)
        s.update { m in
            guard var current = m.consumers[c.name], effectiveStatus(current, now) != .deleting else { return }
            current.status = .deleting
            current.statusDue = now + engine.configuration.delays.consumerDelete
            m.consumers[c.name] = current
        }
        events.append(
            time: now, account: account, region: region, stream: s.name, kind: .consumerDeleting,
            message: "DeregisterStreamConsumer \(c.name) on \(s.name)")
        return EmptyOutput()
    }

    public func listStreamConsumers(_ input: ListStreamConsumersInput) throws(KinesisError) -> ListStreamConsumersOutput
    {
        var v = Validator()
        v.streamARN(input.streamARN, required: true)
        v.string(input.nextToken, "nextToken", length: KinesisLimits.nextTokenLength)
        v.int(input.maxResults, "maxResults", range: 1...10_000)
        try v.check()
        let now = clock.now()
        let s = try resolve(name: nil, arn: input.streamARN, now: now)
        try rate(.listStreamConsumers, stream: s.name, now: now)
        var after = ""
        if let text = input.nextToken {
            guard let t = PageToken.decode(text, key: engine.tokenKey), t.kind == .listStreamConsumers,
                t.stream == s.name
            else {
                throw .invalidNextToken()
            }
            if now.millisecondsSinceEpoch - t.issuedAtMillis > limits.nextTokenLifetimeMilliseconds {
                throw .expiredNextToken()
            }
            after = t.after
        }
        let limit = min(input.maxResults ?? 100, 100)
        let all = s.meta.read { m in m.consumers.values.filter { effectiveStatus($0, now) != nil && $0.name > after } }
            .sorted { $0.name < $1.name }
        let page = Array(all.prefix(limit))
        let token =
            all.count > limit
            ? PageToken(
                kind: .listStreamConsumers, issuedAtMillis: now.millisecondsSinceEpoch, stream: s.name,
                incarnation: s.incarnation, after: page.last!.name
            ).encode(key: engine.tokenKey)
            : nil
        return ListStreamConsumersOutput(consumers: page.map { consumerShape($0, now) }, nextToken: token)
    }

    // MARK: - SubscribeToShard

    public func subscribeToShard(_ input: SubscribeToShardInput) throws(KinesisError) -> ShardSubscription {
        var v = Validator()
        v.string(
            input.consumerARN, "consumerARN", required: true, length: 1...2048, pattern: Validator.consumerARNPattern)
        v.string(input.shardId, "shardId", required: true, length: 1...128, pattern: Validator.streamNamePattern)
        v.required(input.startingPosition, "startingPosition")
        v.enumValue(input.startingPosition?.type, "startingPosition.type", required: input.startingPosition != nil)
        v.string(
            input.startingPosition?.sequenceNumber, "startingPosition.sequenceNumber",
            pattern: Validator.sequenceNumberPattern)
        let start = try v.check(input.startingPosition)
        let now = clock.now()
        let (s, c) = try resolveConsumer(StreamConsumerInput(consumerARN: input.consumerARN), now: now)
        guard effectiveStatus(c, now) == .active else {
            throw .consumerNotActive(c.arn, effectiveStatus(c, now) ?? .deleting)
        }
        // The starting position follows GetShardIterator's rules and errors.
        let iterator = try getShardIterator(
            GetShardIteratorInput(
                streamName: s.name, shardId: input.shardId, shardIteratorType: start.type,
                startingSequenceNumber: start.sequenceNumber, timestamp: start.timestamp), chargeQuota: false)
        let key = SubscriptionKey(consumerName: c.name, shardIndex: iterator.shardIndex)
        let rateLimit = limits.efoBytesPerSecondPerConsumerShard
        let takeover = Duration.seconds(limits.subscribeTakeoverSeconds)
        let callRate = limits.subscribeToShardPerConsumerShardPerSecond
        let generation = try s.subscriptions.withLock {
            (slots: inout [SubscriptionKey: SubscriptionSlot]) throws(KinesisError) -> UInt64 in
            func fresh(generation: UInt64) -> SubscriptionSlot {
                SubscriptionSlot(
                    generation: generation, startedAt: Instant(nanosecondsSinceEpoch: 0),
                    consumerCreatedAt: c.createdAt,
                    pipe: TokenBucket(capacity: Int64(rateLimit), ratePerSecond: Int64(rateLimit), now: now),
                    calls: CallQuota(perSecond: callRate))
            }
            var slot = slots[key] ?? fresh(generation: 0)
            // A re-registered consumer of the same name is a new consumer.
            if slot.consumerCreatedAt != c.createdAt { slot = fresh(generation: slot.generation) }
            // One call per second per consumer and shard, whatever its outcome; a call
            // refused for the rate does not count (KINESIS.md §1.7: SubscribeToShard.RateExceeded
            // counts both refusals).
            if limits.enforcesThroughput, !slot.calls.tryTake(now) {
                slot.counters.rejectedSubscriptions += 1
                slots[key] = slot
                throw .subscribeRate(c.arn, ShardID.string(key.shardIndex))
            }
            if slot.generation > 0, now - slot.startedAt < takeover {
                slot.counters.rejectedSubscriptions += 1
                slots[key] = slot
                throw .subscriptionInUse(c.arn, ShardID.string(key.shardIndex))
            }
            slot.generation += 1
            slot.startedAt = now
            slot.counters.subscriptions += 1
            slots[key] = slot
            return slot.generation
        }
        return ShardSubscription(
            service: self, stream: s, consumer: c, key: key, generation: generation,
            position: iterator.position, startedAt: now)
    }

    /// Position lookup shared by GetShardIterator and SubscribeToShard.
    func getShardIterator(
        _ input: GetShardIteratorInput, chargeQuota: Bool
    ) throws(KinesisError) -> (shardIndex: Int, position: Int64) {
        let output = try getShardIterator(input, charge: chargeQuota)
        let token = ShardIteratorToken.decode(output.shardIterator, key: engine.tokenKey)!
        return (token.shardIndex, token.position)
    }
}

/// One live SubscribeToShard: what the HTTP layer polls to produce
/// `SubscribeToShardEvent` frames.
///
/// Models the enhanced fan-out rules: a dedicated 2 MiB/s pipe per consumer
/// and shard, a 5-minute lifetime, one live subscription per consumer and
/// shard (a newer one ends this one with ResourceInUseException), and a final
/// event with a null ContinuationSequenceNumber and ChildShards at shard end.
public final class ShardSubscription: Sendable {
    private struct State {
        var position: Int64
        var finished = false
    }
    private let service: KinesisService
    private let stream: StreamState
    private let consumerName: String
    public let consumerARN: String
    private let key: SubscriptionKey
    private let generation: UInt64
    public let startedAt: Instant
    private let state: LockedValue<State>

    init(
        service: KinesisService, stream: StreamState, consumer: ConsumerState, key: SubscriptionKey,
        generation: UInt64, position: Int64, startedAt: Instant
    ) {
        self.service = service
        self.stream = stream
        self.consumerName = consumer.name
        self.consumerARN = consumer.arn
        self.key = key
        self.generation = generation
        self.startedAt = startedAt
        self.state = LockedValue(State(position: position))
    }

    public var shardId: String { ShardID.string(key.shardIndex) }

    /// The next event, or nil once the subscription is over (5 minutes, or
    /// after the shard-end event). Records are limited by what the pipe allows
    /// since the last event; an event may carry none.
    public func nextEvent() throws(KinesisError) -> SubscribeToShardEvent? {
        let now = service.clock.now()
        let limits = service.limits
        return try state.withLock { (st: inout State) throws(KinesisError) -> SubscribeToShardEvent? in
            if st.finished { return nil }
            if now - startedAt >= .seconds(limits.subscriptionLifetimeSeconds) {
                st.finished = true
                return nil
            }
            let live = stream.subscriptions.withLock { $0[key]?.generation == generation }
            if !live {
                st.finished = true
                throw .subscriptionTakenOver(consumerARN, shardId)
            }
            let consumerLive = stream.meta.read { m in
                m.consumers[consumerName].map { service.effectiveStatus($0, now) == .active && $0.arn == consumerARN }
                    ?? false
            }
            if !consumerLive {
                st.finished = true
                throw .consumerNotFound(consumerARN, service.account)
            }
            service.settle(stream, now)
            let allowance = stream.subscriptions.withLock { slots -> Int64 in
                guard var slot = slots[key] else { return 0 }
                let a = limits.enforcesThroughput ? slot.pipe.available(now) : Int64(limits.getRecordsMaxBytes)
                slots[key] = slot
                return a
            }
            let retentionHours = stream.meta.read { $0.retentionHours }
            let cutoff = now.millisecondsSinceEpoch - Int64(retentionHours) * 3_600_000
            let result = try stream.meta.read { (m: StreamMeta) throws(KinesisError) -> (SubscribeToShardEvent, Int) in
                let shard = m.shards[key.shardIndex]
                typealias Read = ([Record], Int64, Bool, Int64, SequenceNumber)
                let (records, position, atEnd, behind, continuation) = try shard.log.withLock {
                    (log: inout ShardLog) throws(KinesisError) -> Read in
                    let freed = log.expire(before: cutoff)
                    if freed > 0 { service.engine.retainedBytes.wrappingSubtract(freed, ordering: .relaxed) }
                    let end = shard.readableEnd(log)
                    var batch = ReadBatch(next: max(st.position, shard.oldestReadablePosition(log)))
                    if allowance > 0 {
                        batch = try service.readRecords(
                            shard, log, from: st.position, end: end, limit: limits.getRecordsMaxRecords,
                            maxBytes: Int(clamping: allowance), cutoff: cutoff, stream: stream, now: now)
                    }
                    let (out, bytes, position) = (batch.records, Int64(batch.bytes), batch.next)
                    log.counters.fanOutBytes += bytes
                    log.counters.fanOutRecords += Int64(out.count)
                    let behind = batch.behind(log, now: now)
                    // The number to resume AFTER: the last record delivered, or the one before the position.
                    let continuation =
                        position == 0
                        ? shard.startingSequenceNumber
                        : shard.sequenceNumber(
                            position: position - 1,
                            arrivalMillis: log.record(at: position - 1)?.arrivalMillis ?? batch.lastArrival
                                ?? shard.createdAt.millisecondsSinceEpoch)
                    return (out, position, log.closedAt != nil && position >= end, behind, continuation)
                }
                st.position = position
                let bytes = records.reduce(0) { $0 + $1.data.count + $1.partitionKey.utf8.count }
                if atEnd {
                    st.finished = true
                    return (
                        SubscribeToShardEvent(
                            records: records, continuationSequenceNumber: nil, millisBehindLatest: 0,
                            childShards: service.childShards(of: key.shardIndex, m)), bytes
                    )
                }
                return (
                    SubscribeToShardEvent(
                        records: records, continuationSequenceNumber: continuation.description,
                        millisBehindLatest: Int(behind), childShards: nil), bytes
                )
            }
            stream.subscriptions.withLock { slots in
                guard var slot = slots[key] else { return }
                if limits.enforcesThroughput && result.1 > 0 { slot.pipe.spend(Int64(result.1), now) }
                slot.counters.bytes += Int64(result.1)
                slot.counters.records += Int64(result.0.records.count)
                slot.counters.events += 1
                slot.counters.millisBehindLatest = Int64(result.0.millisBehindLatest)
                slots[key] = slot
            }
            return result.0
        }
    }
}
