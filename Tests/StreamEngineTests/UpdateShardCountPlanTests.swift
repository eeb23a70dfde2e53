import Foundation
import Testing

@testable import StreamEngine

/// UpdateShardCount's UNIFORM_SCALING plan (KINESIS.md §2.3, §4): real splits
/// and merges, as few shards created as that allows (every created shard becomes
/// a KCL lease), and a uniform final layout.
@Suite struct UpdateShardCountPlanTests {
    /// Scales a fresh uniform stream of `from` shards to `to`; returns every shard
    /// after it and the UpdateShardCount answer.
    func scale(_ from: Int, _ to: Int) throws -> (shards: [Shard], output: UpdateShardCountOutput, h: Harness) {
        let h = Harness()
        try h.stream(shards: from)
        let out = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: to))
        h.advance(.seconds(1))
        #expect(try h.status() == .active)
        return (try h.describeAllShards(), out, h)
    }

    @Test(arguments: [
        // 4 → 5: none of 1/5 … 4/5 is in place and none of 1/4, 1/2, 3/4 stays: 4 splits (8) + 3 merges (3).
        (4, 5, 11),
        // 10 → 15: 2/10 = 3/15, 4/10 = 6/15 … stay; 10 new boundaries split (20), 5 old ones merge (5).
        (10, 15, 25),
        (8, 4, 4), (4, 8, 8), (1, 2, 2), (2, 1, 1), (3, 6, 6), (6, 3, 3), (5, 4, 10), (4, 4, 0),
    ])
    func shardsCreated(from: Int, to: Int, created: Int) throws {
        let (shards, out, _) = try scale(from, to)
        #expect(out.currentShardCount == from)
        #expect(out.targetShardCount == to)
        #expect(shards.count - from == created, "\(from) → \(to)")
        let open = shards.filter(\.isOpen)
        #expect(open.count == to)
        expectCoversHashSpace(open, "\(from) → \(to)")
        // Every created shard comes from a real split (one parent) or merge (two).
        for s in shards.dropFirst(from) {
            #expect(s.parentShardId != nil)
        }
    }

    @Test(arguments: [
        (4, 5), (10, 15), (8, 4), (4, 8), (1, 2), (3, 6), (6, 3), (15, 10), (7, 13), (100, 150), (150, 100),
    ])
    func finalLayoutIsUniform(from: Int, to: Int) throws {
        let (shards, _, _) = try scale(from, to)
        let open = shards.filter(\.isOpen).sorted { $0.start < $1.start }
        let ideal = HashKey.uniformRanges(count: to)
        #expect(open.count == ideal.count)
        // Each boundary is CreateStream's for `to` shards, or an old boundary kept
        // because it lies within from + to hash keys of it (the documented tolerance).
        let tolerance = UInt128(from + to)
        var moved = 0
        for (s, r) in zip(open, ideal) {
            let d = s.start >= r.lowerBound ? s.start - r.lowerBound : r.lowerBound - s.start
            #expect(d <= tolerance, "\(s.shardId) starts \(d) keys from \(r.lowerBound)")
            if d > 0 { moved += 1 }
        }
        // Powers of two and halvings/doublings land exactly on CreateStream's layout.
        if [(4, 5), (8, 4), (4, 8), (1, 2)].contains(where: { $0 == (from, to) }) { #expect(moved == 0) }
        // No sliver: every open shard is within 2·tolerance of floor(2^128/to) wide (the last one
        // also holds the remainder of 2^128/to, less than `to`).
        let step = ideal[0].upperBound + 1
        for s in open {
            let width = s.end - s.start + 1
            let d = width >= step ? width - step : step - width
            #expect(d <= 2 * tolerance + UInt128(to), "\(s.shardId) is \(width) wide")
        }
    }

    @Test func tenToFifteenKeepsTheFourSharedBoundaries() throws {
        let (shards, _, _) = try scale(10, 15)
        let old = HashKey.uniformRanges(count: 10).map(\.lowerBound)
        let open = shards.filter(\.isOpen).map(\.start)
        // 2/10, 4/10, 6/10, 8/10 stay exactly where CreateStream(10) put them.
        for j in [2, 4, 6, 8] { #expect(open.contains(old[j])) }
        #expect(open.filter { old.contains($0) }.count == 5)  // with 0
    }

    @Test func toTheSameCountOnAUniformLayoutCreatesNothing() throws {
        let (shards, out, h) = try scale(4, 4)
        #expect(out.currentShardCount == 4 && out.targetShardCount == 4)
        #expect(shards.count == 4 && shards.allSatisfy(\.isOpen))
        // It is still a scaling operation: it counts against the 10 per rolling 24 hours.
        for _ in 0..<9 {
            _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 4))
            h.advance(.seconds(1))
        }
        expectError(.limitExceeded) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 4))
        }
    }

    @Test func toTheSameCountAfterAManualSplitEvensTheLayoutOut() throws {
        let h = Harness()
        try h.stream(shards: 2)
        _ = try h.k.splitShard(
            SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        h.advance(.seconds(1))
        _ = try h.k.mergeShards(
            MergeShardsInput(
                streamName: "s", shardToMerge: "shardId-000000000003",
                adjacentShardToMerge: "shardId-000000000001"))
        h.advance(.seconds(1))
        // Open: [0, 999] and [1000, max]: two shards, far from uniform.
        let before = try h.describeAllShards().count
        _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 2))
        h.advance(.seconds(1))
        let shards = try h.describeAllShards()
        let open = shards.filter(\.isOpen).sorted { $0.start < $1.start }
        #expect(open.map { $0.start...$0.end } == HashKey.uniformRanges(count: 2))
        // One split at 2^127 (2 shards) and one merge across 1000 (1 shard).
        #expect(shards.count - before == 3)
    }
}
