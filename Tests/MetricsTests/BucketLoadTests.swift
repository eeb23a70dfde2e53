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
        series.ingest(ShardSample.stub(counters, histogram), at: time, elapsedSeconds: 1, limits: .aws)
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
            series.ingest(ShardSample.stub(counters, histogram), at: time, elapsedSeconds: dt, limits: .aws)
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

extension ShardSample {
    /// A shard sample carrying only counters and a histogram.
    static func stub(_ counters: ShardCounters, _ histogram: HashKeyHistogram) -> ShardSample {
        ShardSample(
            shardId: "shardId-000000000000", index: 0, parentShardId: nil, adjacentParentShardId: nil,
            startingHashKey: histogram.lowerBound, endingHashKey: histogram.upperBound,
            createdAt: Instant(millisecondsSinceEpoch: 0), closedAt: nil, counters: counters,
            hashKeyHistogram: histogram)
    }
}
