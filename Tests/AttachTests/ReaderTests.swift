import Foundation
import Testing
import LoadGen
import Metrics
import StreamEngine
@testable import Attach

/// What the watcher measures from the records it reads, against the engine's exact counters.
@Suite struct ReaderTests {
    @Test func hotKeyShowsOnItsShardWithExactCounts() throws {
        let rig = Rig()
        try rig.create(shards: 4)
        let w = rig.watcher()
        w.step(now: rig.now) // attach: every open shard from LATEST
        let hot = rig.shard(of: "hot")
        var store = MetricsStore()
        var topAtSecond: [Int64: SpaceSaving] = [:]
        var lastSettled: Instant?
        func ingest() throws {
            let sample = try #require(w.sample(now: rig.now))
            let time = try #require(w.settledUntil)
            if let top = sample.shard(hot)?.topKeys { topAtSecond[time.floorSecond - 1] = top }
            guard time != lastSettled else { return }
            lastSettled = time
            store.ingest(EngineSample(time: time, limitsProfile: "aws", enforcesThroughput: true, clockSpeed: 1,
                                      retainedBytes: 0, retainedBytesBudget: 0, streams: [sample]),
                         consumers: w.readerReport.map { [$0] } ?? [])
        }
        try rig.run(w, seconds: 12) { i in
            if i < 8 {
                try rig.put(key: "hot", count: 800, size: 100)
                for k in 0..<20 { try rig.put(key: "cold-\(k)", count: 1, size: 10) }
            }
            try ingest()
        }
        let sample = try #require(w.sample(now: rig.now))
        // Every record was written after attach, and every second has settled: exact.
        for (id, truth) in rig.truth() {
            let seen = try #require(sample.shard(id))
            #expect(seen.counters.incomingRecords == truth.counters.incomingRecords, "\(id)")
            #expect(seen.counters.incomingBytes == truth.counters.incomingBytes, "\(id)")
            #expect(seen.counters.billedKiB == truth.counters.billedKiB, "\(id)")
            #expect(seen.hashKeyHistogram == truth.hashKeyHistogram, "\(id)")
        }
        let hotTruth = try #require(rig.truth()[hot])
        #expect(hotTruth.counters.incomingRecords >= 8 * 800)
        // The hot key is on top of its shard's sketch in every settled second that had traffic.
        #expect(topAtSecond.count >= 5)
        for (second, top) in topAtSecond {
            #expect(top.top.first?.partitionKey == "hot", "second \(second)")
            #expect(top.top.first?.records == 800, "second \(second)")
        }
        // Metrics sees the hot shard hot, the others cold, at the rates written.
        let streamSample = try #require(store.lastSample?.streams.first)
        let hotSeries = try #require(store.shardSeries(streamSample, hot))
        let writtenPerSecond = hotTruth.counters.incomingRecords / 8 // 800 "hot" and the cold keys that land there
        #expect(hotSeries.history(last: 15).map(\.incomingRecords).max() == Double(writtenPerSecond))
        #expect(hotSeries.history(last: 15).map(\.heat).max() == .hot)
        for id in rig.truth().keys where id != hot {
            #expect(store.shardSeries(streamSample, id)?.history(last: 15).map(\.heat).max() == .cold, "\(id)")
        }
        #expect(sample.provenance.kind == "foreign-endpoint")
        #expect(Set(sample.provenance.figures.keys) == ["topology", "incoming", "topKeys", "hashKeys", "consumers"])
    }

    @Test func readerReportMatchesWhatItRead() throws {
        let rig = Rig()
        try rig.create(shards: 2)
        let w = rig.watcher()
        w.step(now: rig.now)
        try rig.run(w, seconds: 6) { i in if i < 3 { try rig.put(key: "a", count: 10, size: 90) } }
        let report = try #require(w.readerReport)
        #expect(report.name == "ktop-attach (reader)")
        #expect(report.stream == "s")
        #expect(report.records == 30)
        #expect(report.bytes == 30 * (90 + 1))
        #expect(report.throttled == 0)
        // One call per shard per second; the engine counted the same calls.
        let truth = rig.truth()
        #expect(report.calls == truth.values.reduce(0) { $0 + $1.counters.getRecordsCalls })
        for (id, r) in report.shards { #expect(r.calls == truth[id]?.counters.getRecordsCalls, "\(id)") }
        #expect(report.shards.count == 2)
    }

    @Test func neverMoreThanOneGetRecordsPerShardPerSecond() throws {
        let rig = Rig()
        try rig.create(shards: 3)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording)
        // Steps every 50 ms, and refreshSoon() on every step: the reader must still space its calls.
        let before = rig.truth()
        try rig.run(w, seconds: 20, every: .milliseconds(50)) { _ in
            w.refreshSoon()
            try rig.put(key: "k", count: 5)
        }
        let seconds = 20
        for (id, t) in rig.truth() {
            let calls = t.counters.getRecordsCalls - (before[id]?.counters.getRecordsCalls ?? 0)
            #expect(calls <= Int64(seconds) + 1, "\(id): \(calls) GetRecords in \(seconds) s")
            #expect(calls >= Int64(seconds) - 1, "\(id): the reader should use its one call a second")
            #expect(t.counters.readThrottledCalls == 0)
        }
        var last: [String: Instant] = [:]
        for c in recording.calls("GetRecords") {
            let shard = try #require(c.shard)
            if let l = last[shard] { #expect(c.time - l >= .seconds(1), "\(shard) read twice within a second") }
            last[shard] = c.time
        }
    }

    @Test func aConsumerPollingFourTimesASecondIsNeverThrottled() throws {
        let rig = Rig()
        try rig.create(shards: 2)
        let w = rig.watcher()
        let app = PollingConsumer(name: "app", stream: "s", client: rig.k, pollInterval: .milliseconds(250))
        // The two never call at the same nanosecond: on a manual clock a read right after
        // another one at the same instant finds the shard's byte allowance in debt.
        // Both are stepped every 10 ms, so the app polls close to its interval (4 calls/s).
        for i in 0..<(30 * 100) {
            w.step(now: rig.now)
            rig.clock.advance(by: .milliseconds(5))
            app.step(now: rig.now)
            if i % 100 == 0 { try rig.put(key: "x", count: 20) }
            rig.clock.advance(by: .milliseconds(5))
        }
        #expect(app.stats.throttled == 0)
        #expect(w.readerReport?.throttled == 0)
        #expect(app.stats.records == 30 * 20)
        for t in rig.truth().values { #expect(t.counters.readThrottledCalls == 0) }
        #expect(w.coverage(now: rig.now).callsLeftPerShardPerSecond == 4)
    }

    @Test func rotationWithASmallBudgetCoversEveryShard() throws {
        let rig = Rig()
        try rig.create(shards: 12)
        let recording = RecordingClient(rig.k, clock: rig.clock)
        let w = rig.watcher(client: recording, maxReads: 4)
        w.step(now: rig.now) // attach: 4 shards read from LATEST, the 8 others later from AT_TIMESTAMP
        var coverage: [Int] = []
        try rig.run(w, seconds: 30) { i in
            for k in 0..<40 { try rig.put(key: "key-\(k)", count: 2) }
            if i > 0 { coverage.append(w.coverage(now: rig.now).shardsReadLastSecond) }
        }
        // 4 reads a second, never more; 12 shards take 3 seconds to go round.
        #expect(coverage.allSatisfy { $0 == 4 }, "\(coverage)")
        let reads = Dictionary(grouping: recording.calls("GetRecords"), by: { $0.shard ?? "?" })
        #expect(reads.count == 12)
        for (shard, calls) in reads {
            #expect(calls.count >= 9 && calls.count <= 11, "\(shard): \(calls.count) reads in 30 s")
            for (a, b) in zip(calls, calls.dropFirst()) { #expect(b.time - a.time == .seconds(3), "\(shard)") }
        }
        let perSecond = Dictionary(grouping: recording.calls("GetRecords"), by: { $0.time.floorSecond })
        #expect(perSecond.values.allSatisfy { $0.count <= 4 })
        let cov = w.coverage(now: rig.now)
        #expect(cov.openShards == 12 && cov.shardsToRead == 12 && cov.maxReadsPerSecond == 4)
        #expect(cov.longestWait == .seconds(3))
        let firstIterators = Dictionary(grouping: recording.calls("GetShardIterator"), by: { $0.shard ?? "?" })
            .mapValues { $0.first!.detail! }
        #expect(firstIterators.values.filter { $0 == "LATEST" }.count == 4)
        #expect(firstIterators.values.filter { $0 == "AT_TIMESTAMP" }.count == 8)
        // Lagging readers hold the counted seconds back, so nothing is late and, once quiet, all is exact.
        rig.run(w, seconds: 10)
        let sample = try #require(w.sample(now: rig.now))
        for (id, t) in rig.truth() {
            #expect(sample.shard(id)?.counters.incomingRecords == t.counters.incomingRecords, "\(id)")
        }
        #expect(sample.provenance.figures["incoming"]?.contains("after their second") == false)
    }

    @Test func countedSecondsStaySettleDelayBehind() throws {
        let rig = Rig()
        try rig.create(shards: 1)
        let w = rig.watcher()
        let start = rig.now
        w.step(now: rig.now)
        #expect(w.settledUntil == start) // the attach second is the first one counted
        try rig.run(w, seconds: 5) { _ in try rig.put(key: "k", count: 1) }
        // Last read at start + 4 s: seconds up to start + 1 are counted (2 s settle delay).
        #expect(w.settledUntil == start + .seconds(2))
        // At start + 5 s the reader has not read since: a sample cannot count further.
        #expect(try #require(w.sample(now: rig.now)).shards[0].counters.incomingRecords == 2)
        #expect(w.settledUntil == start + .seconds(2))
        w.step(now: rig.now)
        #expect(w.settledUntil == start + .seconds(3))
        #expect(try #require(w.sample(now: rig.now)).shards[0].counters.incomingRecords == 3)
    }

    @Test func kplAggregatesCountAsOneRecordAndTheirUserKeysAsKeys() throws {
        let rig = Rig()
        try rig.create(shards: 1)
        let w = rig.watcher()
        w.step(now: rig.now)
        let users = (0..<5).map { UserRecord(partitionKey: "user-\($0 % 2)", data: Data(repeating: 0x62, count: 20)) }
        let blob = KPLAggregation.encode(users)
        _ = try rig.k.putRecord(PutRecordInput(streamName: "s", data: blob, partitionKey: "agg"))
        rig.run(w, seconds: 1)
        // Find the sample whose counted second holds the aggregate.
        var top: SpaceSaving?
        for _ in 0..<4 {
            rig.run(w, seconds: 1)
            if let t = w.sample(now: rig.now)?.shards[0].topKeys { top = t }
        }
        let sample = try #require(w.sample(now: rig.now))
        let truth = try #require(rig.truth().values.first)
        #expect(sample.shards[0].counters.incomingRecords == 1)
        #expect(sample.shards[0].counters.aggregatedUserRecords == 5)
        #expect(sample.shards[0].counters.incomingBytes == truth.counters.incomingBytes)
        #expect(sample.shards[0].hashKeyHistogram == truth.hashKeyHistogram)
        #expect(Set(try #require(top).entries.map(\.partitionKey)) == ["user-0", "user-1"])
    }
}
