import Foundation
import StreamEngine
import Testing

@testable import Metrics

/// The per-bucket loads split advice reads: the lazily decayed store must give what decaying every bucket
/// every tick gives (`recent = recent × 2^(−dt/30) + last second`), clear the buckets a quiet second left
/// behind, and stay finite across the renormalisation of its scale.
@Suite struct BucketLoadTests {
    /// Feeds `seconds` of per-bucket record counts (bytes = 100 × records) and checks every tick against
    /// the eager computation. `gaps` gives each tick's elapsed seconds.
    private func check(seconds: [[Int64]], gaps: [Double]) throws {
        let range = UInt128(0)...UInt128.max
        var series = ShardSeries(shardId: "shardId-000000000000", secondsCapacity: 300, minutesCapacity: 180)
        var histogram = HashKeyHistogram(range: range)
        let n = histogram.bucketCount
        var eagerRecords = [Double](repeating: 0, count: n)
        var eagerBytes = eagerRecords
        var counters = ShardCounters()
        var time = Instant(millisecondsSinceEpoch: 1_000_000)
        series.ingest(counters: counters, histogram: histogram, at: time, elapsedSeconds: 1, limits: .aws)
        for (second, counts) in seconds.enumerated() {
            let dt = gaps[second % gaps.count]
            var last = [Double](repeating: 0, count: n)
            for (bucket, c) in counts.enumerated() where c > 0 {
                for _ in 0..<c { histogram.record(hash: histogram.range(ofBucket: bucket).lowerBound, size: 100) }
                last[bucket] = Double(c)
                counters.incomingRecords += c
                counters.incomingBytes += 100 * c
            }
            let decay = exp2(-dt / ShardSeries.loadHalfLifeSeconds)
            for i in 0..<n {
                eagerRecords[i] = eagerRecords[i] * decay + last[i]
                eagerBytes[i] = eagerBytes[i] * decay + 100 * last[i]
            }
            time = Instant(millisecondsSinceEpoch: time.millisecondsSinceEpoch + Int64(dt * 1000))
            series.ingest(counters: counters, histogram: histogram, at: time, elapsedSeconds: dt, limits: .aws)
            #expect(series.lastSecondRecordsByBucket == last)
            #expect(series.lastSecondBytesByBucket == last.map { $0 * 100 })
            let recent = series.recentRecordsByBucket
            let recentBytes = series.recentBytesByBucket
            try #require(recent.count == n)
            for i in 0..<n {
                #expect(abs(recent[i] - eagerRecords[i]) <= 1e-9 * max(1, eagerRecords[i]), "bucket \(i)")
                #expect(abs(recentBytes[i] - eagerBytes[i]) <= 1e-9 * max(1, eagerBytes[i]), "bucket \(i)")
                #expect(recent[i].isFinite && recent[i] >= 0)
            }
        }
    }

    @Test func matchesDecayingEveryBucketEveryTick() throws {
        let n = HashKeyHistogram(range: UInt128(0)...UInt128.max).bucketCount
        // Busy, then quiet (the last second's buckets must clear), then one bucket, then all of them.
        var seconds: [[Int64]] = []
        for s in 0..<40 { seconds.append((0..<n).map { Int64(($0 * 7 + s) % 5 == 0 ? 1 + $0 % 3 : 0) }) }
        seconds.append([Int64](repeating: 0, count: n))
        seconds.append((0..<n).map { $0 == n - 1 ? 1_000 : 0 })
        seconds.append([Int64](repeating: 0, count: n))
        seconds.append([Int64](repeating: 2, count: n))
        try check(seconds: seconds, gaps: [1, 0.5, 2.25])
    }

    @Test func staysExactAcrossTheScalesRenormalisation() throws {
        let n = HashKeyHistogram(range: UInt128(0)...UInt128.max).bucketCount
        // One tick of 20,000 s (667 half-lives) passes the 2^-600 threshold at once; ticks of 1,000 s pass it
        // in steps. Loads before it must have decayed to (almost) nothing, loads after it count in full.
        let busy = (0..<n).map { Int64($0 % 4 == 0 ? 50 : 0) }
        try check(seconds: [busy, busy, busy, [Int64](repeating: 0, count: n), busy, busy], gaps: [20_000])
        try check(seconds: Array(repeating: busy, count: 30), gaps: [1_000, 1])
        #expect(ShardSeries.renormalizeBelow == 0x1p-600)
    }
}

/// The store finds a shard's series by its position in the sample, checked by id: shards that move, appear
/// or vanish between samples must still get their own series.
@Suite struct ShardTableTests {
    private func series(_ id: String) -> ShardSeries {
        ShardSeries(shardId: id, secondsCapacity: 4, minutesCapacity: 2)
    }

    @Test func findsEachShardWhereverItIsListed() {
        var table = MetricsStore.ShardTable()
        var made: [String] = []
        func slot(_ id: String, _ position: Int) -> (Int, Bool) {
            table.slot(for: id, at: position) {
                made.append(id)
                return series(id)
            }
        }
        let a = slot("a", 0), b = slot("b", 1), c = slot("c", 2)
        #expect([a.1, b.1, c.1] == [true, true, true])
        #expect(made == ["a", "b", "c"])
        // Same order: same slots, nothing made.
        #expect(slot("a", 0) == (a.0, false) && slot("b", 1) == (b.0, false) && slot("c", 2) == (c.0, false))
        // Reordered, and a new shard in the middle.
        #expect(slot("c", 0) == (c.0, false))
        let d = slot("d", 1)
        #expect(d.1 && made == ["a", "b", "c", "d"])
        #expect(slot("a", 2) == (a.0, false) && slot("b", 3) == (b.0, false))
        for (id, s) in [("a", a.0), ("b", b.0), ("c", c.0), ("d", d.0)] { #expect(table[s].shardId == id) }
        // A position far past the last one (a sample that grew by many shards at once).
        let e = slot("e", 9)
        #expect(e.1 && table[e.0].shardId == "e")
        #expect(table.read("e") { $0.shardId } == "e")
        #expect(table.read("zzz") { $0.shardId } == nil)
    }

    @Test func keepDropsTheShardsASampleNoLongerHas() throws {
        var config = EngineConfiguration()
        config.delays = .immediate
        let clock = ManualClock()
        let engine = KinesisEngine(clock: clock, configuration: config)
        let kinesis = engine.service()
        _ = try kinesis.createStream(CreateStreamInput(streamName: "s", shardCount: 3))
        var store = MetricsStore()
        clock.advance(by: .seconds(1))
        store.ingest(engine.sample())
        #expect(store.shards.count == 3)
        let stream = try #require(engine.sample().streams.first)
        // The same shards listed in another order and one left out: the table follows the sample.
        var trimmed = stream
        trimmed.shards = [stream.shards[2], stream.shards[0]]
        var table = MetricsStore.ShardTable()
        for (j, shard) in stream.shards.enumerated() {
            _ = table.slot(for: shard.shardId, at: j) { series(shard.shardId) }
        }
        table.keep(trimmed.shards)
        #expect(table.series.map(\.shardId) == [stream.shards[2].shardId, stream.shards[0].shardId])
        #expect(table.read(stream.shards[1].shardId) { $0 } == nil)
        #expect(table.slot(for: stream.shards[0].shardId, at: 1) { series("new") } == (1, false))
        // Through the store: a deleted stream's shards go with it.
        _ = try kinesis.deleteStream(DeleteStreamInput(streamName: "s"))
        clock.advance(by: .seconds(60))
        store.ingest(engine.sample())
        #expect(store.shards.isEmpty)
    }
}
