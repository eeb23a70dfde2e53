import Foundation
import Testing

@testable import StreamEngine

/// Seeded random walks of SplitShard, MergeShards, UpdateShardCount, puts and
/// clock advances, checking after every step what KINESIS.md §4–§5 promise:
/// the open shards tile the hash key space, every acked record is read back
/// exactly once through the lineage, sequence numbers increase per shard, and
/// every record sits in a shard whose range holds its hash key.
@Suite struct ReshardingPropertyTests {
    struct Acked {
        var shardId: String
        var hash: UInt128
        var data: Data
    }

    /// A model of the topology the engine should show: open ranges now, and
    /// the ranges a pending change will leave once it is due.
    struct Model {
        var open: [ClosedRange<UInt128>]
        var pending: (due: Instant, open: [ClosedRange<UInt128>])?
        mutating func settle(_ now: Instant) {
            if let p = pending, now >= p.due {
                open = p.open
                pending = nil
            }
        }
        var updating: Bool { pending != nil }
    }

    static let delay = Duration.milliseconds(500)
    static let maxOpen = 16

    @Test(arguments: [1, 7, 42, 2_024, 0xDEAD_BEEF, 0x5EED_0F_CAFE] as [UInt64])
    func randomReshardingKeepsTopologyAndRecords(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let h = Harness(limits: .off, delays: StatusDelays())
        let initial = Int(rng.next() % 4) + 1
        try h.stream(shards: initial)
        _ = try h.k.increaseStreamRetentionPeriod(StreamRetentionInput(streamName: "s", retentionPeriodHours: 8_760))
        var model = Model(open: HashKey.uniformRanges(count: initial))
        var acked: [String: Acked] = [:]
        var lastSeq: [String: SequenceNumber] = [:]
        var scaleTimes: [Instant] = []
        var counts = (puts: 0, splits: 0, merges: 0, scales: 0, scaleLimited: 0, rejected: 0)

        for step in 0..<300 {
            model.settle(h.now)
            let context = "seed \(seed) step \(step)"
            let open = try h.listAllShards(filter: ShardFilter(type: .atLatest)).sorted { $0.start < $1.start }
            let roll = rng.next() % 100
            switch roll {
            case 0..<35:  // puts: PutRecord or a PutRecords batch, keys or explicit hash keys
                let n = rng.next() % 3 == 0 ? 1 : Int(rng.next() % 20) + 1
                var entries: [PutRecordsRequestEntry] = []
                var hashes: [UInt128] = []
                for i in 0..<n {
                    let data = Data("\(seed)-\(step)-\(i)".utf8)
                    switch rng.next() % 4 {
                    case 0:
                        let key = "pk-\(rng.next() % 500)"
                        entries.append(PutRecordsRequestEntry(data: data, partitionKey: key))
                        hashes.append(HashKey.of(partitionKey: key))
                    case 1:  // right at a boundary of an open shard
                        let s = open[Int(rng.next() % UInt64(open.count))]
                        let hash = rng.next() % 2 == 0 ? s.start : s.end
                        entries.append(
                            PutRecordsRequestEntry(data: data, explicitHashKey: String(hash), partitionKey: "b"))
                        hashes.append(hash)
                    default:
                        let hash = rng.uint128()
                        entries.append(
                            PutRecordsRequestEntry(data: data, explicitHashKey: String(hash), partitionKey: "r"))
                        hashes.append(hash)
                    }
                }
                let results: [(String, String)]
                if n == 1 {
                    let e = entries[0]
                    let out = try h.k.putRecord(
                        PutRecordInput(
                            streamName: "s", data: e.data, partitionKey: e.partitionKey,
                            explicitHashKey: e.explicitHashKey))
                    results = [(out.shardId, out.sequenceNumber)]
                } else {
                    let out = try h.k.putRecords(PutRecordsInput(records: entries, streamName: "s"))
                    #expect(out.failedRecordCount == 0, "\(context)")
                    results = out.records.map { ($0.shardId ?? "", $0.sequenceNumber ?? "") }
                }
                for (i, (shardId, seq)) in results.enumerated() {
                    counts.puts += 1
                    // Routed to the open shard whose range holds the hash key.
                    let target = open.first { $0.shardId == shardId }
                    #expect(
                        target.map { $0.start <= hashes[i] && hashes[i] <= $0.end } == true,
                        "\(context): hash \(hashes[i]) went to \(shardId)")
                    let parsed = try #require(SequenceNumber(seq), "\(context)")
                    #expect(seq.count == 56)
                    #expect(parsed.shardId == shardId)
                    if let previous = lastSeq[shardId] {
                        #expect(previous < parsed, "\(context): \(shardId) sequence went backwards")
                        #expect(previous.description < seq, "\(context): not increasing as strings")
                    }
                    lastSeq[shardId] = parsed
                    #expect(acked[seq] == nil, "\(context): duplicate sequence number \(seq)")
                    acked[seq] = Acked(shardId: shardId, hash: hashes[i], data: entries[i].data!)
                }

            case 35..<52:  // split a random open shard at a random valid key
                guard let shard = open.filter({ $0.end - $0.start >= 3 }).randomElement(using: &rng),
                    open.count < Self.maxOpen
                else { continue }
                let key = rng.uint128(in: (shard.start + 2)...(shard.end - 1))
                if model.updating {
                    expectNotActive(h) { () throws(KinesisError) in try split(h, shard.shardId, key) }
                    counts.rejected += 1
                } else if rng.next() % 8 == 0 {
                    // The two keys just outside the valid range are refused with Kinesis's message.
                    let bad = rng.next() % 2 == 0 ? shard.start + 1 : shard.end
                    expectError(
                        .invalidArgument,
                        "NewStartingHashKey \(bad) used in SplitShard() on shard \(shard.shardId) in stream s under "
                            + "account \(account) is not both greater than one plus the shard's "
                                + "StartingHashKey \(shard.start) and less than the shard's EndingHashKey \(shard.end)."
                    ) { () throws(KinesisError) in
                        try split(h, shard.shardId, bad)
                    }
                    counts.rejected += 1
                } else {
                    try split(h, shard.shardId, key)
                    var next = model.open.filter { $0 != shard.start...shard.end }
                    next += [shard.start...(key - 1), key...shard.end]
                    model.pending = (h.now + Self.delay, next.sorted { $0.lowerBound < $1.lowerBound })
                    counts.splits += 1
                }

            case 52..<68:  // merge a random adjacent pair
                guard open.count >= 2 else { continue }
                let i = Int(rng.next() % UInt64(open.count - 1))
                let (a, b) = (open[i], open[i + 1])
                if model.updating {
                    expectNotActive(h) { () throws(KinesisError) in try merge(h, a.shardId, b.shardId) }
                    counts.rejected += 1
                } else if rng.next() % 6 == 0 {
                    // Inverted order, or a pair that is not adjacent.
                    let (x, y) = open.count >= 3 && rng.next() % 2 == 0 ? (open[0], open[2]) : (b, a)
                    expectError(
                        .invalidArgument,
                        "Shards \(x.shardId) and \(y.shardId) in stream s under account \(account) are not an "
                            + "adjacent pair of shards eligible for merging"
                    ) { () throws(KinesisError) in
                        try merge(h, x.shardId, y.shardId)
                    }
                    counts.rejected += 1
                } else {
                    try merge(h, a.shardId, b.shardId)
                    var next = model.open.filter { $0 != a.start...a.end && $0 != b.start...b.end }
                    next.append(a.start...b.end)
                    model.pending = (h.now + Self.delay, next.sorted { $0.lowerBound < $1.lowerBound })
                    counts.merges += 1
                }

            case 68..<76:  // UpdateShardCount within the ×2 / ÷2 bounds
                let n = open.count
                let target = Int(rng.next() % UInt64(min(2 * n, Self.maxOpen) - (n + 1) / 2 + 1)) + (n + 1) / 2
                scaleTimes.removeAll { h.now - $0 >= .hours(24) }
                let input = UpdateShardCountInput(streamName: "s", targetShardCount: target)
                if model.updating {
                    expectNotActive(h) { () throws(KinesisError) in _ = try h.k.updateShardCount(input) }
                    counts.rejected += 1
                } else if scaleTimes.count >= 10 {
                    expectError(.limitExceeded) { () throws(KinesisError) in try h.k.updateShardCount(input) }
                    counts.scaleLimited += 1
                } else {
                    let out = try h.k.updateShardCount(input)
                    #expect(out.currentShardCount == n)
                    scaleTimes.append(h.now)
                    model.pending = (h.now + Self.delay, Self.uniformScaling(model.open, to: target))
                    counts.scales += 1
                }

            default:  // the clock moves on: mostly sub-second, sometimes seconds, rarely hours
                switch rng.next() % 20 {
                case 0: h.advance(.seconds(Int64(rng.next() % 3 + 1) * 3_600))
                case 1..<6: h.advance(.milliseconds(Int64(rng.next() % 10_000)))
                default: h.advance(.milliseconds(Int64(rng.next() % 1_500)))
                }
            }

            model.settle(h.now)
            try checkTopology(h, model, full: step % 10 == 0, context)
            if step == 150 { try checkRecords(h, roots: initial, acked: acked, context) }
        }
        try checkRecords(h, roots: initial, acked: acked, "seed \(seed) end")
        // The walk really exercised the engine.
        #expect(
            counts.puts > 100 && counts.splits > 5 && counts.merges > 5 && counts.scales > 2 && counts.rejected > 5,
            "\(counts)")
    }

    /// What UNIFORM_SCALING should leave: CreateStream's layout for `target`, except
    /// that a boundary already in place within (open + target) keys of one is kept.
    static func uniformScaling(_ open: [ClosedRange<UInt128>], to target: Int) -> [ClosedRange<UInt128>] {
        let existing = open.dropFirst().map(\.lowerBound)
        let tolerance = UInt128(open.count + target)
        let starts =
            [0]
            + HashKey.uniformRanges(count: target).dropFirst().map { r in
                existing.first { ($0 >= r.lowerBound ? $0 - r.lowerBound : r.lowerBound - $0) <= tolerance }
                    ?? r.lowerBound
            }
        return starts.indices.map { i in starts[i]...(i + 1 < starts.count ? starts[i + 1] - 1 : UInt128.max) }
    }

    func split(_ h: Harness, _ shard: String, _ key: UInt128) throws(KinesisError) {
        _ = try h.k.splitShard(SplitShardInput(streamName: "s", shardToSplit: shard, newStartingHashKey: String(key)))
    }

    func merge(_ h: Harness, _ a: String, _ b: String) throws(KinesisError) {
        _ = try h.k.mergeShards(MergeShardsInput(streamName: "s", shardToMerge: a, adjacentShardToMerge: b))
    }

    func expectNotActive(
        _ h: Harness, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws(KinesisError) -> Void
    ) {
        expectError(
            .resourceInUse, "Stream s under account \(account) not ACTIVE, instead in state UPDATING",
            sourceLocation: sourceLocation, body)
    }

    /// The open shards of ListShards(AT_LATEST) and of DescribeStream agree with
    /// the model and tile the whole space; every shard ever created is listed.
    func checkTopology(_ h: Harness, _ model: Model, full: Bool, _ context: String) throws {
        let latest = try h.listAllShards(filter: ShardFilter(type: .atLatest))
        expectCoversHashSpace(latest, "ListShards AT_LATEST, \(context)")
        #expect(latest.allSatisfy { $0.isOpen }, "\(context)")
        #expect(latest.sorted { $0.start < $1.start }.map { $0.start...$0.end } == model.open, "\(context)")

        let described = try h.describeAllShards()
        let describedOpen = described.filter(\.isOpen)
        expectCoversHashSpace(describedOpen, "DescribeStream, \(context)")
        #expect(Set(describedOpen.map(\.shardId)) == Set(latest.map(\.shardId)), "\(context)")
        let status = try h.status()
        #expect(status == (model.updating ? .updating : .active), "\(context)")
        guard full else { return }
        // Shard ids are the stream-wide counter: 0, 1, 2, … with none missing.
        #expect(described.map(\.shardId) == (0..<described.count).map(ShardID.string), "\(context)")
        #expect(try h.listAllShards().map(\.shardId) == described.map(\.shardId), "\(context)")
        // Children's ranges are their parents' ranges, split or joined.
        let byId = Dictionary(uniqueKeysWithValues: described.map { ($0.shardId, $0) })
        for s in described {
            guard let pid = s.parentShardId, let p = byId[pid] else { continue }
            if let aid = s.adjacentParentShardId, let a = byId[aid] {
                #expect(
                    s.start == p.start && s.end == a.end && p.end + 1 == a.start, "\(context): merge child \(s.shardId)"
                )
            } else {
                #expect(p.start <= s.start && s.end <= p.end, "\(context): split child \(s.shardId)")
            }
            #expect(!p.isOpen, "\(context): parent \(pid) of \(s.shardId) still open")
        }
    }

    /// Walks the lineage from TRIM_HORIZON of the root shards and finds every
    /// acked record exactly once, in its shard, in increasing order.
    func checkRecords(_ h: Harness, roots: Int, acked: [String: Acked], _ context: String) throws {
        let read = try h.readByLineage(roots: (0..<roots).map(ShardID.string))
        // Every shard is reachable from the roots.
        let all = try h.describeAllShards()
        #expect(Set(read.keys) == Set(all.map(\.shardId)), "\(context)")
        var seen = Set<String>()
        for (shardId, records) in read {
            let shard = try #require(all.first { $0.shardId == shardId })
            for (a, b) in zip(records, records.dropFirst()) {
                #expect(
                    SequenceNumber(a.sequenceNumber)! < SequenceNumber(b.sequenceNumber)!,
                    "\(context): \(shardId) out of order")
                #expect(a.sequenceNumber < b.sequenceNumber, "\(context)")
            }
            for r in records {
                #expect(seen.insert(r.sequenceNumber).inserted, "\(context): \(r.sequenceNumber) read twice")
                guard let ack = acked[r.sequenceNumber] else {
                    Issue.record("\(context): \(r.sequenceNumber) was never acked")
                    continue
                }
                #expect(ack.shardId == shardId, "\(context)")
                #expect(ack.data == r.data, "\(context)")
                #expect(
                    shard.start <= ack.hash && ack.hash <= shard.end, "\(context): record outside its shard's range")
            }
        }
        #expect(seen.count == acked.count, "\(context): read \(seen.count) of \(acked.count) acked records")
    }
}
