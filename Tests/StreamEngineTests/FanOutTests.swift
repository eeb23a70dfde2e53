import Foundation
import Testing

@testable import StreamEngine

/// Enhanced fan-out (KINESIS.md §1.7, §3): a 2 MiB/s pipe per consumer per
/// shard, 5-minute subscriptions, the 5-second takeover rule, shard end.
@Suite struct FanOutTests {
    let h: Harness
    let streamARN: String

    init() throws {
        h = Harness()
        streamARN = try h.stream()
    }

    func register(_ name: String) throws(KinesisError) -> String {
        try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: streamARN, consumerName: name)).consumer
            .consumerARN
    }

    func subscribe(
        _ consumer: String, shard: String = "shardId-000000000000", _ type: ShardIteratorType = .trimHorizon,
        sequence: String? = nil
    ) throws(KinesisError) -> ShardSubscription {
        try h.k.subscribeToShard(
            SubscribeToShardInput(
                consumerARN: consumer, shardId: shard,
                startingPosition: StartingPosition(type: type, sequenceNumber: sequence)))
    }

    /// Puts `n` records of `size` bytes (data + key) without hitting the write quota.
    func fill(_ n: Int, size: Int) throws(KinesisError) -> [String] {
        var seqs: [String] = []
        for i in 0..<n {
            seqs.append(try h.put(data: bytes(size - 1, UInt8(i & 0xFF)), key: "k").sequenceNumber)
            h.advance(.nanoseconds(Int64((Double(size) / Double(MiB) * 1e9).rounded(.up))))
        }
        return seqs
    }

    @Test func pipeDeliversTwoMiBPerSecondPerConsumerPerShard() throws {
        let a = try register("a")
        let b = try register("b")
        let seqs = try fill(40, size: 256 * 1024)  // 10 MiB queued
        let sa = try subscribe(a)
        let sb = try subscribe(b)
        // A new pipe starts with one second's worth: exactly 2 MiB.
        let first = try #require(try sa.nextEvent())
        #expect(first.records.count == 8)
        #expect(first.records.map(\.sequenceNumber) == Array(seqs[0..<8]))
        #expect(first.continuationSequenceNumber == seqs[7])
        #expect(try sa.nextEvent()?.records.isEmpty == true)
        // The other consumer has its own pipe on the same shard.
        #expect(try sb.nextEvent()?.records.count == 8)
        // Polled every 100 ms for two seconds, the pipe passes exactly 4 MiB more.
        var delivered: [Record] = []
        for _ in 0..<20 {
            h.advance(.milliseconds(100))
            delivered += try #require(try sa.nextEvent()).records
        }
        #expect(delivered.count == 16)
        #expect(delivered.map(\.sequenceNumber) == Array(seqs[8..<24]))
        let consumer = try #require(h.engine.sample().streams.first?.consumers.first { $0.name == "a" })
        #expect(consumer.shards["shardId-000000000000"]?.bytes == Int64(24 * 256 * 1024))
        #expect(consumer.shards["shardId-000000000000"]?.records == 24)
        // GetRecords' shared 2 MiB/s is untouched by fan-out reads.
        #expect(try h.get(h.iterator()).records.count == 40)
    }

    @Test func limitsOffLiftsThePipe() throws {
        let h = Harness(limits: .off)
        let arn = try h.stream()
        let c = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c")).consumer
            .consumerARN
        for _ in 0..<8 { _ = try h.put(data: bytes(MiB - 1), key: "k") }
        let sub = try h.k.subscribeToShard(
            SubscribeToShardInput(
                consumerARN: c, shardId: "shardId-000000000000",
                startingPosition: StartingPosition(type: .trimHorizon)))
        #expect(try sub.nextEvent()?.records.count == 8)
    }

    @Test func subscriptionLastsFiveMinutes() throws {
        let c = try register("c")
        let sub = try subscribe(c, .latest)
        h.advance(.milliseconds(299_999))
        let seq = try h.put().sequenceNumber
        #expect(try sub.nextEvent()?.records.map(\.sequenceNumber) == [seq])
        h.advance(.milliseconds(1))
        #expect(try sub.nextEvent() == nil)
        #expect(try sub.nextEvent() == nil)
        // The client re-subscribes from the continuation point.
        let again = try subscribe(c, .afterSequenceNumber, sequence: seq)
        let next = try h.put().sequenceNumber
        #expect(try again.nextEvent()?.records.map(\.sequenceNumber) == [next])
    }

    @Test func secondSubscribeWithinFiveSecondsIsInUseThenTakesOver() throws {
        let c = try register("c")
        let old = try subscribe(c)
        let s1 = try h.put().sequenceNumber
        #expect(try old.nextEvent()?.records.map(\.sequenceNumber) == [s1])
        let inUse = "Another active subscription exists for consumer \(c) and shard shardId-000000000000."
        // (Calls are 1 s apart or more: the one-call-per-second rule is tested on its own below.)
        h.advance(.seconds(1))
        expectError(.resourceInUse, inUse) { () throws(KinesisError) in try subscribe(c) }
        h.advance(.seconds(3))
        expectError(.resourceInUse, inUse) { () throws(KinesisError) in
            try subscribe(c, .afterSequenceNumber, sequence: s1)
        }
        // The same consumer may subscribe to another shard meanwhile.
        _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 2))
        // 4.999 s after the successful call: still too early for the rate (0.999 s after the last call).
        h.advance(.milliseconds(999))
        expectError(.limitExceeded) { () throws(KinesisError) in try subscribe(c, .afterSequenceNumber, sequence: s1) }
        // Exactly 5 s after the successful call (and 1 s after the last admitted one): a takeover.
        h.advance(.milliseconds(1))
        let s2 = try h.put(hash: "0").sequenceNumber
        let new = try subscribe(c, .afterSequenceNumber, sequence: s1)
        expectError(
            .resourceInUse,
            "Subscription for consumer \(c) and shard shardId-000000000000 was replaced by a newer subscription."
        ) { () throws(KinesisError) in
            try old.nextEvent()
        }
        #expect(try old.nextEvent() == nil)
        let event = try #require(try new.nextEvent())
        #expect(event.records.isEmpty)  // s2 went to a child shard: shard 0 is closed
        #expect(event.continuationSequenceNumber == nil)
        #expect(event.childShards?.map(\.shardId).sorted() == ["shardId-000000000001", "shardId-000000000002"])
        #expect(event.childShards?.allSatisfy { $0.parentShards == ["shardId-000000000000"] } == true)
        #expect(try new.nextEvent() == nil)
        let child = try subscribe(c, shard: "shardId-000000000001")
        #expect(try child.nextEvent()?.records.map(\.sequenceNumber) == [s2])
        // Rejected calls are counted as such (in use twice, over the rate once).
        let counters = try #require(h.engine.sample().streams.first?.consumers.first?.shards["shardId-000000000000"])
        #expect(counters.subscriptions == 2)
        #expect(counters.rejectedSubscriptions == 3)
    }

    @Test func subscribeMoreThanOncePerSecondPerConsumerAndShardIsLimitExceeded() throws {
        let c = try register("c")
        let d = try register("d")
        _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 2))
        let rate = "Rate exceeded for SubscribeToShard by consumer \(c) on shard shardId-000000000001."
        let first = try subscribe(c, shard: "shardId-000000000001")
        // Same consumer, same shard, same instant: over the rate, before the in-use rule is looked at.
        expectError(.limitExceeded, rate) { () throws(KinesisError) in try subscribe(c, shard: "shardId-000000000001") }
        // Other shards and other consumers have their own allowance.
        _ = try subscribe(c, shard: "shardId-000000000002")
        _ = try subscribe(d, shard: "shardId-000000000001")
        // A refused call does not use up the allowance: 1 s after the admitted call is enough.
        h.advance(.milliseconds(999))
        expectError(.limitExceeded, rate) { () throws(KinesisError) in try subscribe(c, shard: "shardId-000000000001") }
        h.advance(.milliseconds(1))
        expectError(.resourceInUse) { () throws(KinesisError) in try subscribe(c, shard: "shardId-000000000001") }
        // An in-use refusal was an admitted call: the next second's call is over the rate again.
        h.advance(.milliseconds(999))
        expectError(.limitExceeded) { () throws(KinesisError) in try subscribe(c, shard: "shardId-000000000001") }
        #expect(try first.nextEvent() != nil)
        let counters = try #require(
            h.engine.sample().streams.first?.consumers.first { $0.name == "c" }?.shards["shardId-000000000001"])
        #expect(counters.subscriptions == 1)
        #expect(counters.rejectedSubscriptions == 4)
    }

    @Test func limitsOffLiftsTheSubscribeRateButNotTheInUseRule() throws {
        let h = Harness(limits: .off)
        let arn = try h.stream()
        let c = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c")).consumer
            .consumerARN
        let input = SubscribeToShardInput(
            consumerARN: c, shardId: "shardId-000000000000", startingPosition: StartingPosition(type: .latest))
        _ = try h.k.subscribeToShard(input)
        expectError(.resourceInUse) { () throws(KinesisError) in try h.k.subscribeToShard(input) }
    }

    @Test func shardEndEventCarriesRecordsThenChildShards() throws {
        let c = try register("c")
        let seqs = try (0..<3).map { _ throws(KinesisError) in try h.put().sequenceNumber }
        _ = try h.k.splitShard(
            SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        h.advance(.seconds(1))
        let sub = try subscribe(c)
        let event = try #require(try sub.nextEvent())
        #expect(event.records.map(\.sequenceNumber) == seqs)
        #expect(event.continuationSequenceNumber == nil)
        #expect(event.millisBehindLatest == 0)
        #expect(event.childShards?.count == 2)
        #expect(try sub.nextEvent() == nil)
    }

    @Test func continuationAdvancesWithoutDataAndResumesExactly() throws {
        let c = try register("c")
        let sub = try subscribe(c, .latest)
        let idle = try #require(try sub.nextEvent())
        #expect(idle.records.isEmpty)
        let start = try h.k.describeStream(DescribeStreamInput(streamName: "s")).streamDescription.shards[0]
            .sequenceNumberRange.startingSequenceNumber
        #expect(idle.continuationSequenceNumber == start)
        let seqs = try (0..<4).map { _ throws(KinesisError) in try h.put().sequenceNumber }
        h.advance(.seconds(2))
        let e = try #require(try sub.nextEvent())
        #expect(e.records.map(\.sequenceNumber) == seqs)
        #expect(e.continuationSequenceNumber == seqs[3])
        #expect(e.millisBehindLatest == 0)
        // Resuming AT_SEQUENCE_NUMBER of the third record repeats nothing before it.
        h.advance(.seconds(5))
        let resumed = try subscribe(c, .atSequenceNumber, sequence: seqs[2])
        #expect(try resumed.nextEvent()?.records.map(\.sequenceNumber) == Array(seqs[2...]))
    }

    @Test func consumerMustBeActive() throws {
        let h = Harness(delays: StatusDelays())
        let arn = try h.stream()
        let c = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c")).consumer
        #expect(c.consumerStatus == .creating)
        #expect(c.consumerARN == "\(arn)/consumer/c:\(h.now.secondsSinceEpoch)")
        let input = SubscribeToShardInput(
            consumerARN: c.consumerARN, shardId: "shardId-000000000000",
            startingPosition: StartingPosition(type: .latest))
        expectError(.resourceInUse, "Consumer \(c.consumerARN) is not ACTIVE, instead in state CREATING.") {
            () throws(KinesisError) in
            try h.k.subscribeToShard(input)
        }
        h.advance(.milliseconds(500))
        let sub = try h.k.subscribeToShard(input)
        _ = try h.k.deregisterStreamConsumer(StreamConsumerInput(consumerARN: c.consumerARN))
        expectError(.resourceNotFound) { () throws(KinesisError) in try sub.nextEvent() }
        h.advance(.seconds(6))
        expectError(.resourceNotFound) { () throws(KinesisError) in try h.k.subscribeToShard(input) }
    }
}
