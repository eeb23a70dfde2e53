import Foundation
import Testing
import LoadGen
import Metrics
import StreamEngine
@testable import Attach

/// Topology, consumers, quotas, backoff and the watcher's states.
@Suite struct ControlPlaneTests {
    @Test func splitShowsParentClosedAndChildrenReadFromTrimHorizon() throws {
        let rig = Rig()
        try rig.create(shards: 2)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording)
        w.step(now: rig.now)
        #expect(recording.calls("GetShardIterator").map(\.detail) == ["LATEST", "LATEST"])
        let parent = rig.shard(of: "p")
        try rig.run(w, seconds: 3) { _ in try rig.put(key: "p", count: 10) }
        let truthBefore = try #require(rig.truth()[parent])
        let range = truthBefore.startingHashKey...truthBefore.endingHashKey
        let middle = range.lowerBound + (range.upperBound - range.lowerBound) / 2
        _ = try rig.k.splitShard(SplitShardInput(streamName: "s", shardToSplit: parent,
                                                 newStartingHashKey: String(middle)))
        w.refreshSoon()
        // Records written after the split go to the children; read until quiet.
        try rig.run(w, seconds: 12) { i in
            if i < 4 { for k in 0..<10 { try rig.put(key: "after-\(k)", count: 3) } }
        }
        let sample = try #require(w.sample(now: rig.now))
        let truth = rig.truth()
        let children = truth.values.filter { $0.parentShardId == parent }.map(\.shardId).sorted()
        #expect(children.count == 2)
        #expect(sample.shard(parent)?.isOpen == false)
        #expect(sample.shard(parent)?.closedAt != nil)
        for c in children {
            #expect(sample.shard(c)?.parentShardId == parent)
            #expect(sample.shard(c)?.isOpen == true)
        }
        // Children were read from their start: every record is counted, exactly.
        let thChildren = recording.calls("GetShardIterator").filter { children.contains($0.shard ?? "") }
        #expect(Set(thChildren.map(\.shard)) == Set(children))
        #expect(thChildren.allSatisfy { $0.detail == "TRIM_HORIZON" })
        for (id, t) in truth {
            #expect(sample.shard(id)?.counters.incomingRecords == t.counters.incomingRecords, "\(id)")
            #expect(sample.shard(id)?.hashKeyHistogram == t.hashKeyHistogram, "\(id)")
        }
        #expect(sample.shards.reduce(0) { $0 + $1.counters.incomingRecords } == 30 + 4 * 10 * 3)
        // The parent is drained, so no longer read; the reader reads the three open shards.
        let cov = w.coverage(now: rig.now)
        #expect(cov.openShards == 3 && cov.shardsToRead == 3)
        let events = w.takeEvents().map(\.text)
        #expect(events.contains { $0.contains("\(parent) read to SHARD_END") })
        #expect(events.contains { $0.contains("split from \(parent)") })
    }

    @Test func creatingAndUpdatingStreamsAreLookedAtEveryTwoSeconds() throws {
        var delays = StatusDelays.immediate
        delays.create = .seconds(5)
        delays.update = .seconds(5)
        let rig = Rig(delays: delays)
        try rig.create(shards: 1)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording)
        w.step(now: rig.now)
        let creating = try #require(w.sample(now: rig.now))
        #expect(creating.status == .creating && creating.shards.isEmpty)
        #expect(w.state == .connected)
        #expect(recording.calls("ListShards").isEmpty) // AWS would answer ResourceInUse
        try rig.run(w, seconds: 10) { i in if i >= 6 { try rig.put(key: "k", count: 2) } }
        let active = try #require(w.sample(now: rig.now))
        #expect(active.status == .active && active.shards.count == 1)
        // Shards listed after attach are read from their start: nothing written once ACTIVE is missed.
        #expect(recording.calls("GetShardIterator").map(\.detail) == ["TRIM_HORIZON"])
        #expect(w.readerReport?.records == 8)
        let describeTimes = recording.calls("DescribeStreamSummary").map { ($0.time - rig.now).milliseconds / 1000 }
        #expect(Array(describeTimes.prefix(4)) == [-10, -8, -6, -4], "\(describeTimes)")
        // UpdateShardCount: UPDATING for 5 s, looked at every 2 s, then every 10 s again.
        _ = try rig.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 2))
        w.refreshSoon()
        let from = rig.now
        rig.run(w, seconds: 20)
        let during = recording.calls("DescribeStreamSummary").filter { $0.time >= from }
            .map { ($0.time - from).milliseconds / 1000 }
        #expect(during == [0, 2, 4, 6, 16], "\(during)")
        #expect(try #require(w.sample(now: rig.now)).shards.filter(\.isOpen).count == 2)
    }

    @Test func controlPlaneCallsStayWithinQuotasWhateverRefreshSoonAsks() throws {
        let rig = Rig()
        try rig.create(shards: 3)
        _ = try rig.k.registerStreamConsumer(RegisterStreamConsumerInput(
            streamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/s", consumerName: "efo-app"))
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording)
        rig.run(w, seconds: 30, every: .milliseconds(100)) { _ in w.refreshSoon() }
        let quotas = KinesisLimits.aws.controlPlaneTPS
        for op in ["DescribeStreamSummary", "ListShards", "ListStreamConsumers"] {
            let perSecond = Dictionary(grouping: recording.calls(op), by: { $0.time.floorSecond }).values.map(\.count)
            #expect((perSecond.max() ?? 0) <= 1, "\(op): \(perSecond.max() ?? 0) calls in one second")
            #expect((perSecond.max() ?? 0) <= quotas[try #require(KinesisOperation(rawValue: op))]!.perSecond)
            #expect(perSecond.count >= 29, "\(op) refreshed once a second when asked")
        }
        #expect(w.state == .connected)
        // Without refreshSoon, the schedule is every 10 s.
        let before = recording.calls("DescribeStreamSummary").count
        rig.run(w, seconds: 30, every: .milliseconds(100))
        #expect(recording.calls("DescribeStreamSummary").count - before == 3)
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.consumers.map(\.name) == ["efo-app"])
        #expect(sample.consumers.first?.status == .active)
        #expect(sample.consumers.first?.shards.isEmpty == true)
    }

    @Test func limitExceededBacksOffExponentiallyAndSaysSo() throws {
        let rig = Rig()
        try rig.create(shards: 1)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording) { $0.refreshInterval = .seconds(1) }
        w.step(now: rig.now)
        #expect(w.state == .connected)
        _ = w.takeEvents()
        var throttle = true
        recording.fault = { op, _ in
            throttle && op == "DescribeStreamSummary" ? KinesisError(.limitExceeded, "Rate exceeded for account") : nil
        }
        try rig.run(w, seconds: 200, every: .milliseconds(100)) { _ in try rig.put(key: "k", count: 1) }
        let attempts = recording.calls("DescribeStreamSummary").dropFirst().map(\.time)
        let gaps = zip(attempts, attempts.dropFirst()).map { ($1 - $0).milliseconds / 1000 }
        // 1 s after the first failure, then 2, 4, 8 … capped at 60 s.
        #expect(Array(gaps.prefix(7)) == [1, 2, 4, 8, 16, 32, 60], "\(gaps)")
        #expect(gaps.dropFirst(6).allSatisfy { $0 == 60 })
        guard case .backingOff(let until, let reason) = w.state else {
            Issue.record("state \(w.state)")
            return
        }
        #expect(until > rig.now && reason == "LimitExceededException")
        // The reader went on meanwhile: its quota is separate.
        #expect(w.readerReport?.records == 200)
        let events = w.takeEvents()
        #expect(events.filter { $0.kind == .warning && $0.text.contains("throttled") }.count == attempts.count)
        throttle = false
        rig.run(w, seconds: 61)
        #expect(w.state == .connected)
        #expect(w.takeEvents().contains { $0.kind == .info && $0.text.contains("answering again") })
    }

    @Test func streamDeletedWhileWatchedKeepsTopologyAndRetriesSlowly() throws {
        let rig = Rig()
        try rig.create(shards: 2)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording)
        w.step(now: rig.now)
        try rig.run(w, seconds: 5) { _ in try rig.put(key: "k", count: 4) }
        _ = try rig.k.deleteStream(DeleteStreamInput(streamName: "s"))
        rig.engine.tick()
        _ = w.takeEvents()
        rig.run(w, seconds: 90)
        guard case .streamGone(let since, let retryAt) = w.state else {
            Issue.record("state \(w.state)")
            return
        }
        #expect(since <= rig.now && retryAt > rig.now)
        // The last topology is still there, with its counts.
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.shards.count == 2)
        #expect(sample.shards.reduce(0) { $0 + $1.counters.incomingRecords } == 20)
        // Retried slowly: 5 s, 10, 20, 40 … never more often than every 5 s.
        let tries = recording.calls("DescribeStreamSummary").filter { $0.time > since }.map(\.time)
        let gaps = zip(tries, tries.dropFirst()).map { ($1 - $0).milliseconds / 1000 }
        #expect(gaps.allSatisfy { $0 >= 5 }, "\(gaps)")
        #expect(tries.count >= 3 && tries.count <= 6, "\(tries.count) tries in 90 s")
        // No reads of a stream that is gone.
        let lastRead = try #require(recording.calls("GetRecords").last?.time)
        #expect(lastRead <= since + .seconds(1))
        let events = w.takeEvents()
        #expect(events.contains { $0.kind == .error && $0.text.contains("not found") })
        // Created again: back to connected, counting afresh.
        try rig.create(shards: 1)
        rig.run(w, seconds: 65)
        #expect(w.state == .connected)
        let again = try #require(w.sample(now: rig.now))
        #expect(again.shards.count == 1)
        #expect(again.shards[0].counters.incomingRecords == 0)
        #expect(w.takeEvents().contains { $0.text.contains("created again") })
    }

    @Test func transportErrorsDisconnectThenReconnect() throws {
        let rig = Rig()
        try rig.create(shards: 2)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording)
        w.step(now: rig.now)
        try rig.run(w, seconds: 3) { _ in try rig.put(key: "k", count: 5) }
        var down = true
        recording.fault = { _, _ in down ? unreachable : nil }
        let downAt = rig.now
        try rig.run(w, seconds: 40) { _ in try rig.put(key: "k", count: 5) }
        guard case .disconnected(let retryAt, let reason) = w.state else {
            Issue.record("state \(w.state)")
            return
        }
        #expect(retryAt > rig.now && reason.hasPrefix("cannot reach"))
        // While down: one probe per backoff step (1, 2, 4, 8, 16 s), no reads of every shard each second.
        let during = recording.calls.filter { $0.time >= downAt }
        #expect(during.count <= 8, "\(during.map(\.op))")
        let events = w.takeEvents()
        #expect(events.contains { $0.kind == .error && $0.text.contains("cannot reach") })
        let frozen = w.settledUntil
        down = false
        rig.run(w, seconds: 40)
        #expect(w.state == .connected)
        #expect(w.takeEvents().contains { $0.text.contains("Reconnected") })
        #expect(w.settledUntil! > frozen!)
        // The iterators were still valid (under 5 minutes): nothing was missed.
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.shards.reduce(0) { $0 + $1.counters.incomingRecords } == 43 * 5)
    }

    @Test func expiredIteratorResumesAfterTheLastRecordRead() throws {
        let rig = Rig()
        try rig.create(shards: 1)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording)
        w.step(now: rig.now)
        try rig.run(w, seconds: 3) { _ in try rig.put(key: "k", count: 7) }
        // Written after the last read, then the watcher is not stepped for 6 minutes
        // (a stalled thread, a laptop asleep): its iterator expires.
        try rig.put(key: "k", count: 9)
        rig.clock.advance(by: .minutes(6))
        try rig.put(key: "k", count: 2)
        _ = w.takeEvents()
        rig.run(w, seconds: 40)
        let iterators = recording.calls("GetShardIterator").map(\.detail)
        #expect(iterators == ["LATEST", "AFTER_SEQUENCE_NUMBER"])
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.shards[0].counters.incomingRecords == 21 + 9 + 2)
        #expect(w.takeEvents().contains { $0.text.contains("iterator expired") })
        // The 9 written before the pause came after their second was counted: counted late, and said so.
        #expect(sample.provenance.figures["incoming"]?.contains("9 records read after their second") == true)
    }

    @Test func readerThrottleIsCountedAndRetriedNextSecond() throws {
        let rig = Rig()
        try rig.create(shards: 2)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording)
        w.step(now: rig.now)
        rig.clock.advance(by: .seconds(1))
        let target = "shardId-000000000001"
        var refusals = 3
        recording.fault = { op, shard in
            guard op == "GetRecords", shard == target, refusals > 0 else { return nil }
            refusals -= 1
            return KinesisError(.provisionedThroughputExceeded, "Rate exceeded for shard \(target)")
        }
        try rig.run(w, seconds: 8) { _ in try rig.put(key: "k", count: 1) }
        let report = try #require(w.readerReport)
        #expect(report.throttled == 3)
        #expect(report.shards[target]?.throttled == 3)
        let tries = recording.calls("GetRecords").filter { $0.shard == target }.map(\.time)
        #expect(zip(tries, tries.dropFirst()).allSatisfy { $1 - $0 == .seconds(1) })
        #expect(w.takeEvents().filter { $0.text.contains("reader throttled") }.count == 1)
    }

    @Test func listsEveryStreamAcrossPagesWithinItsQuota() throws {
        let rig = Rig()
        for i in 0..<13 {
            try rig.create("stream-\(i < 10 ? "0" : "")\(i)", shards: 1)
            rig.clock.advance(by: .milliseconds(300)) // CreateStream: 5 TPS per account
        }
        let recording = RecordingClient(rig.k, clock: rig.clock)
        var paused: [Duration] = []
        let all = try recording.listAllStreams(pageSize: 2) { d in
            paused.append(d)
            rig.clock.advance(by: d)
        }
        #expect(all.map(\.name) == (0..<13).map { "stream-\($0 < 10 ? "0" : "")\($0)" })
        #expect(all.allSatisfy { $0.status == .active && $0.arn != nil })
        let perSecond = Dictionary(grouping: recording.calls("ListStreams"), by: { $0.time.floorSecond })
            .values.map(\.count)
        #expect(recording.calls("ListStreams").count == 7)
        #expect(perSecond.allSatisfy { $0 <= 4 })
        #expect(paused == [.seconds(1)])
        // Throttled by someone else's calls: pause, then carry on.
        var refusals = 2
        recording.fault = { op, _ in
            guard op == "ListStreams", refusals > 0 else { return nil }
            refusals -= 1
            return KinesisError(.limitExceeded, "Rate exceeded for account")
        }
        paused = []
        let again = try recording.listAllStreams { d in paused.append(d); rig.clock.advance(by: d) }
        #expect(again.count == 13)
        #expect(paused == [.seconds(1), .seconds(2)])
    }
}
