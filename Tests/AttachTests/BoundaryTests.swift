import Foundation
import Testing
import LoadGen
import Metrics
import StreamEngine
@testable import Attach

/// Edges: nothing to read, nothing listed, nonsense from the endpoint, other errors.
@Suite struct BoundaryTests {
    @Test func emptyStreamSamplesZeroesAndNoKeys() throws {
        let rig = Rig()
        try rig.create(shards: 3)
        let w = rig.watcher()
        #expect(w.sample(now: rig.now) == nil) // nothing known before the first refresh
        rig.run(w, seconds: 10)
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.shards.count == 3)
        for s in sample.shards {
            #expect(s.counters == ShardCounters())
            #expect(s.topKeys == nil && s.topKeysByBytes == nil)
            #expect(s.hashKeyHistogram?.records.allSatisfy { $0 == 0 } == true)
        }
        let report = try #require(w.readerReport)
        #expect(report.calls == 30 && report.records == 0 && report.bytes == 0)
        let cov = w.coverage(now: rig.now)
        #expect(cov.shardsReadLastSecond == 3 && cov.openShards == 3)
        #expect(w.settledUntil == rig.now - .seconds(3))
    }

    @Test func zeroShardListingThenShardsAppear() throws {
        let rig = Rig()
        try rig.create(shards: 2)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        var hide = true
        recording.listing = { out in
            var out = out
            if hide { out.shards = [] }
            return out
        }
        let w = rig.watcher(client: recording)
        rig.run(w, seconds: 5)
        let empty = try #require(w.sample(now: rig.now))
        #expect(empty.shards.isEmpty)
        #expect(w.state == .connected)
        #expect(recording.calls("GetRecords").isEmpty)
        let cov = w.coverage(now: rig.now)
        #expect(cov.openShards == 0 && cov.shardsToRead == 0 && cov.shardsReadLastSecond == 0 && cov.longestWait == nil)
        // Shards listed later were created since, as far as ktop knows: read from their start,
        // counting what arrived since attach.
        hide = false
        w.refreshSoon()
        try rig.run(w, seconds: 8) { i in if i < 3 { try rig.put(key: "k", count: 4) } }
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.shards.count == 2)
        #expect(sample.shards.reduce(0) { $0 + $1.counters.incomingRecords } == 12)
        #expect(Set(recording.calls("GetShardIterator").map(\.detail)) == ["TRIM_HORIZON"])
    }

    @Test func arrivalTimestampsAtEveryExtremeDoNotTrap() throws {
        let rig = Rig()
        try rig.create(shards: 1)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let extremes: [Date?] = [
            Date(timeIntervalSince1970: 1e300), Date(timeIntervalSince1970: -1e300),
            Date(timeIntervalSince1970: .infinity), Date(timeIntervalSince1970: -.infinity),
            Date(timeIntervalSince1970: .nan), nil, Date(timeIntervalSince1970: 0),
            Date(timeIntervalSince1970: 1e12), Date(timeIntervalSince1970: -1e12),
            Date(timeIntervalSince1970: 9_223_372_036.854775807), Date(timeIntervalSince1970: -9_223_372_036.854775808),
        ]
        var next = 0
        recording.rewrite = { out in
            var out = out
            for i in out.records.indices {
                out.records[i].approximateArrivalTimestamp = extremes[next % extremes.count]
                next += 1
            }
            return out
        }
        let w = rig.watcher(client: recording)
        w.step(now: rig.now)
        try rig.run(w, seconds: 3) { _ in try rig.put(key: "k", count: extremes.count) }
        // Far-future arrivals are held at most a minute ahead, then counted.
        rig.run(w, seconds: 70)
        let sample = try #require(w.sample(now: rig.now))
        #expect(next == 3 * extremes.count)
        #expect(sample.shards[0].counters.incomingRecords == Int64(3 * extremes.count))
        #expect(w.settledUntil! <= rig.now)
    }

    @Test func malformedHashKeyRangesDoNotTrap() throws {
        let rig = Rig()
        try rig.create(shards: 2)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        recording.listing = { out in
            var out = out
            out.shards[0].hashKeyRange.startingHashKey = "not-a-number"
            let r = out.shards[1].hashKeyRange
            out.shards[1].hashKeyRange = HashKeyRange(startingHashKey: r.endingHashKey,
                                                      endingHashKey: r.startingHashKey)
            out.shards[1].sequenceNumberRange.startingSequenceNumber = String(repeating: "9", count: 59)
            return out
        }
        let w = rig.watcher(client: recording)
        w.step(now: rig.now)
        try rig.run(w, seconds: 6) { i in if i < 2 { try rig.put(key: "k\(i)", count: 3) } }
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.shards.count == 2)
        #expect(sample.shards.allSatisfy { $0.startingHashKey <= $0.endingHashKey })
        #expect(sample.shards.reduce(0) { $0 + $1.counters.incomingRecords } == 6)
    }

    @Test func otherControlPlaneErrorsFailWithRetryWhileReadingGoesOn() throws {
        let rig = Rig()
        try rig.create(shards: 1)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording)
        w.step(now: rig.now)
        var deny = true
        recording.fault = { op, _ in
            deny && op == "DescribeStreamSummary" ? KinesisError(.accessDenied, "User is not authorized") : nil
        }
        try rig.run(w, seconds: 20) { _ in try rig.put(key: "k", count: 1) }
        guard case .failing(let retryAt, let reason) = w.state else {
            Issue.record("state \(w.state)")
            return
        }
        #expect(retryAt > rig.now && reason.contains("AccessDeniedException"))
        #expect(w.readerReport?.records == 20)
        #expect(w.takeEvents().contains { $0.kind == .error && $0.text.contains("not authorized") })
        deny = false
        rig.run(w, seconds: 20)
        #expect(w.state == .connected)
    }

    @Test func consumersUnavailableDoNotFailTheRefreshButTheirThrottlingDoes() throws {
        let rig = Rig()
        try rig.create(shards: 1)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        var failure: KinesisError? = KinesisError(.unknownOperation, "ListStreamConsumers is not implemented")
        recording.fault = { op, _ in op == "ListStreamConsumers" ? failure : nil }
        let w = rig.watcher(client: recording)
        rig.run(w, seconds: 25)
        #expect(w.state == .connected)
        let sample = try #require(w.sample(now: rig.now))
        #expect(sample.consumers.isEmpty)
        #expect(sample.provenance.figures["consumers"]?.contains("not available") == true)
        #expect(w.takeEvents().filter { $0.text.contains("ListStreamConsumers failed") }.count == 1)
        failure = KinesisError(.limitExceeded, "Rate exceeded for stream s")
        rig.run(w, seconds: 10)
        guard case .backingOff = w.state else {
            Issue.record("state \(w.state)")
            return
        }
    }

    @Test func eventsAreBoundedAndSayWhatWasDropped() throws {
        let rig = Rig()
        try rig.create(shards: 1_200)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        recording.fault = { op, _ in op == "GetRecords" ? KinesisError(.kmsAccessDenied, "no key") : nil }
        let w = rig.watcher(client: recording, maxReads: 1_200)
        w.step(now: rig.now)
        let events = w.takeEvents()
        #expect(events.count == StreamWatcher.eventCapacity + 1)
        #expect(events.first?.text.contains("older events were dropped") == true)
        #expect(w.takeEvents().isEmpty)
    }
}
