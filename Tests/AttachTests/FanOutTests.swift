import Foundation
import Testing
import LoadGen
import Metrics
import StreamEngine
@testable import Attach

/// `--efo`: the watcher reads through an enhanced fan-out consumer of its own.
@Suite struct FanOutTests {
    static let name = "ktop-attach-test-1"

    func efoWatcher(_ rig: Rig, _ client: RecordingClient, maxReads: Int = 20) -> StreamWatcher {
        rig.watcher(client: client, maxReads: maxReads) { $0.fanOutConsumer = Self.name }
    }

    @Test func registersWaitsForActiveSubscribesAndCountsExactly() throws {
        var delays = StatusDelays.immediate
        delays.consumerCreate = .seconds(3)
        let rig = Rig(delays: delays)
        try rig.create(shards: 3)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = efoWatcher(rig, recording)
        w.step(now: rig.now)
        try rig.run(w, seconds: 16) { i in if i < 10 { for k in 0..<12 { try rig.put(key: "k\(k)", count: 3) } } }
        #expect(recording.calls("RegisterStreamConsumer").map(\.detail) == [Self.name])
        // CREATING for 3 s: described once a second until ACTIVE, then one subscription per shard.
        #expect(recording.calls("DescribeStreamConsumer").count == 3)
        let subscriptions = recording.calls("SubscribeToShard")
        #expect(subscriptions.count == 3)
        #expect(subscriptions.allSatisfy { $0.detail == "AT_TIMESTAMP" }) // from attach, though ACTIVE 3 s later
        #expect(recording.calls("GetRecords").isEmpty)
        let sample = try #require(w.sample(now: rig.now))
        let truth = rig.truth()
        for (id, t) in truth {
            #expect(sample.shard(id)?.counters.incomingRecords == t.counters.incomingRecords, "\(id)")
            #expect(t.counters.getRecordsCalls == 0)
        }
        #expect(sample.shards.reduce(0) { $0 + $1.counters.incomingRecords } == 10 * 12 * 3)
        // Its own pipes, as the engine counted them.
        let own = try #require(sample.consumers.first { $0.name == Self.name })
        let engineOwn = try #require(rig.engine.sample().streams[0].consumers.first { $0.name == Self.name })
        #expect(own.status == .active)
        for (id, pipe) in engineOwn.shards {
            #expect(own.shards[id]?.bytes == pipe.bytes, "\(id)")
            #expect(own.shards[id]?.records == pipe.records, "\(id)")
            #expect(own.shards[id]?.subscriptions == pipe.subscriptions, "\(id)")
        }
        #expect(w.readerReport == nil)
        let cov = w.coverage(now: rig.now)
        #expect(cov.callsPerShardPerSecond == 0 && cov.callsLeftPerShardPerSecond == 5)
        #expect(sample.provenance.figures["incoming"]?.contains("enhanced fan-out") == true)
    }

    @Test func subscriptionsAreRenewedEveryFiveMinutes() throws {
        let rig = Rig()
        try rig.create(shards: 1)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = efoWatcher(rig, recording)
        w.step(now: rig.now)
        try rig.run(w, seconds: 11 * 60) { i in if i % 10 == 0 { try rig.put(key: "k", count: 1) } }
        let subs = recording.calls("SubscribeToShard")
        let start = try #require(subs.first?.time)
        #expect(subs.map { ($0.time - start).milliseconds / 1000 } == [0, 300, 600])
        #expect(subs.dropFirst().allSatisfy { $0.detail == "AFTER_SEQUENCE_NUMBER" })
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.shards[0].counters.incomingRecords == 66)
    }

    @Test func childrenAreSubscribedFromTrimHorizonAfterTheParentEnds() throws {
        let rig = Rig()
        try rig.create(shards: 1)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = efoWatcher(rig, recording)
        w.step(now: rig.now)
        try rig.run(w, seconds: 3) { _ in try rig.put(key: "a", count: 5) }
        _ = try rig.k.splitShard(SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000",
                                                 newStartingHashKey: String(UInt128.max / 2)))
        try rig.run(w, seconds: 10) { i in if i < 3 { for k in 0..<6 { try rig.put(key: "b\(k)", count: 2) } } }
        let children = recording.calls("SubscribeToShard").filter { $0.shard != "shardId-000000000000" }
        #expect(Set(children.map(\.shard)) == ["shardId-000000000001", "shardId-000000000002"])
        #expect(children.allSatisfy { $0.detail == "TRIM_HORIZON" })
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.shard("shardId-000000000000")?.isOpen == false)
        for (id, t) in rig.truth() {
            #expect(sample.shard(id)?.counters.incomingRecords == t.counters.incomingRecords, "\(id)")
        }
        #expect(sample.shards.reduce(0) { $0 + $1.counters.incomingRecords } == 15 + 36)
    }

    @Test func aLostConnectionResubscribesWhereItStopped() throws {
        let rig = Rig()
        try rig.create(shards: 2)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = efoWatcher(rig, recording)
        w.step(now: rig.now)
        var down = false
        recording.fault = { _, _ in down ? unreachable : nil }
        try rig.run(w, seconds: 30) { i in
            down = (5..<15).contains(i)
            if i < 20 { for k in 0..<4 { try rig.put(key: "k\(k)", count: 1) } }
        }
        #expect(w.state == .connected)
        let subs = recording.calls("SubscribeToShard").filter { $0.detail != nil }
        // Two at attach, two after reconnecting, from the continuation.
        #expect(subs.count == 4, "\(subs.map(\.detail))")
        #expect(subs.suffix(2).allSatisfy { $0.detail == "AFTER_SEQUENCE_NUMBER" })
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.shards.reduce(0) { $0 + $1.counters.incomingRecords } == 80)
    }

    @Test func closeDeregistersTheConsumerAndStopsCalling() throws {
        let rig = Rig()
        try rig.create(shards: 2)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = efoWatcher(rig, recording)
        rig.run(w, seconds: 3)
        #expect(try rig.k.listStreamConsumers(ListStreamConsumersInput(
            streamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/s")).consumers.map(\.consumerName) == [Self.name])
        w.close(now: rig.now)
        #expect(recording.calls("DeregisterStreamConsumer").count == 1)
        rig.engine.tick()
        #expect(try rig.k.listStreamConsumers(ListStreamConsumersInput(
            streamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/s")).consumers.isEmpty)
        let calls = recording.calls.count
        rig.run(w, seconds: 20)
        #expect(recording.calls.count == calls)
        #expect(w.takeEvents().contains { $0.text.contains("Deregistered enhanced fan-out consumer \(Self.name)") })
        w.close(now: rig.now) // twice is harmless
        #expect(recording.calls("DeregisterStreamConsumer").count == 1)
    }

    @Test func fallsBackToPollingWhenTheStreamHasItsTwentyConsumers() throws {
        let rig = Rig()
        try rig.create(shards: 1)
        for i in 0..<20 {
            _ = try rig.k.registerStreamConsumer(RegisterStreamConsumerInput(
                streamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/s", consumerName: "app-\(i)"))
            rig.clock.advance(by: .milliseconds(250)) // RegisterStreamConsumer: 5 TPS
        }
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = efoWatcher(rig, recording)
        w.step(now: rig.now)
        try rig.run(w, seconds: 20) { _ in try rig.put(key: "k", count: 1) }
        #expect(recording.calls("RegisterStreamConsumer").count == StreamWatcher.fanOutAttempts)
        #expect(!recording.calls("GetRecords").isEmpty)
        #expect(w.takeEvents().contains { $0.kind == .warning && $0.text.contains("reading by GetRecords instead") })
        let report = try #require(w.readerReport)
        #expect(report.records > 0)
        // Polling from the fallback on, from the attach instant: every record is counted once settled.
        rig.run(w, seconds: 4)
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.consumers.count == 20 && !sample.consumers.contains { $0.name == Self.name })
        #expect(sample.shards[0].counters.incomingRecords == 20)
        #expect(recording.calls("GetShardIterator").map(\.detail) == ["AT_TIMESTAMP"])
    }

    @Test func consumerNameFollowsKinesisRules() {
        let name = StreamWatcher.fanOutConsumerName(host: "my host.example/ü", pid: 4242)
        #expect(name == "ktop-attach-my-host.example---4242")
        let long = StreamWatcher.fanOutConsumerName(host: String(repeating: "h", count: 300), pid: 7)
        #expect(long.count == 128 && long.hasSuffix("-7"))
    }
}
