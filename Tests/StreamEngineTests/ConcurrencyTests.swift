import Dispatch
import Foundation
import Synchronization
import Testing

@testable import StreamEngine

/// Many threads writing (and resharding) at once: nothing acked is lost or
/// duplicated, sequence numbers stay unique and ordered, counters add up.
@Suite struct ConcurrencyTests {
    struct Ack: Hashable {
        var seq: String
        var shard: String
        var size: Int
        var data: Data
    }

    /// Each of `threads` workers puts `perThread` records in PutRecords batches of 500.
    static func write(_ h: Harness, threads: Int, perThread: Int, also extra: (@Sendable () -> Void)? = nil) -> [Ack] {
        let acks = LockedValue<[Ack]>([])
        let failures = LockedValue<[String]>([])
        DispatchQueue.concurrentPerform(iterations: threads + (extra == nil ? 0 : 1)) { t in
            if t == threads {
                extra?()
                return
            }
            var mine: [Ack] = []
            mine.reserveCapacity(perThread)
            for batchStart in stride(from: 0, to: perThread, by: 500) {
                let entries = (batchStart..<min(batchStart + 500, perThread)).map { i in
                    PutRecordsRequestEntry(data: Data("t\(t)-r\(i)".utf8), partitionKey: "key-\(t)-\(i % 251)")
                }
                do {
                    let out = try h.k.putRecords(PutRecordsInput(records: entries, streamName: "s"))
                    if out.failedRecordCount != 0 {
                        failures.withLock { $0.append("\(out.failedRecordCount ?? -1) failed") }
                    }
                    for (e, r) in zip(entries, out.records) {
                        guard let seq = r.sequenceNumber, let shard = r.shardId else { continue }
                        mine.append(
                            Ack(seq: seq, shard: shard, size: e.data!.count + e.partitionKey!.utf8.count, data: e.data!)
                        )
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            acks.withLock { $0 += mine }
        }
        for f in failures.withLock({ $0 }) { Issue.record("writer failed: \(f)") }
        return acks.withLock { $0 }
    }

    static func check(_ h: Harness, acks: [Ack], roots: [String], expected: Int) throws {
        #expect(acks.count == expected)
        #expect(Set(acks.map(\.seq)).count == acks.count, "duplicate sequence numbers")
        let read = try h.readByLineage(roots: roots)
        let all = read.values.flatMap { $0 }
        #expect(all.count == expected)
        #expect(Set(all.map(\.sequenceNumber)).count == all.count, "a record was read twice")
        let bySeq = Dictionary(uniqueKeysWithValues: acks.map { ($0.seq, $0) })
        for (shard, records) in read {
            for r in records {
                let ack = bySeq[r.sequenceNumber]
                #expect(ack?.shard == shard)
                #expect(ack?.data == r.data)
            }
            let seqs = records.map { SequenceNumber($0.sequenceNumber)! }
            #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 }, "\(shard) not in sequence order")
        }
        // Per-shard counters equal what was acked.
        let shards = try #require(h.engine.sample().streams.first { $0.name == "s" }?.shards)
        for shard in shards {
            let mine = acks.filter { $0.shard == shard.shardId }
            #expect(shard.counters.incomingRecords == Int64(mine.count), "\(shard.shardId)")
            #expect(shard.counters.incomingBytes == Int64(mine.reduce(0) { $0 + $1.size }), "\(shard.shardId)")
            #expect(shard.counters.writeThrottledRecords == 0)
        }
        #expect(
            h.engine.retainedPayloadBytes
                == acks.reduce(0) {
                    $0 + resident($1.data.count, key: String(repeating: "k", count: $1.size - $1.data.count))
                })
    }

    @Test func eightThreadsPutTenThousandRecordsEach() throws {
        let h = Harness(limits: .off)
        try h.stream(shards: 4)
        let acks = Self.write(h, threads: 8, perThread: 10_000)
        try Self.check(h, acks: acks, roots: (0..<4).map(ShardID.string), expected: 80_000)
    }

    @Test func writersRacingReshardsLoseNothing() throws {
        let h = Harness(limits: .off)
        try h.stream(shards: 2)
        let k = h.k
        let acks = Self.write(h, threads: 4, perThread: 5_000) {
            // Meanwhile: split the widest open shard or merge the first pair, over and over.
            for i in 0..<30 {
                do {
                    let open = try k.listShards(
                        ListShardsInput(streamName: "s", shardFilter: ShardFilter(type: .atLatest))
                    )
                    .shards.sorted { $0.start < $1.start }
                    if i % 3 == 2, open.count > 1 {
                        _ = try k.mergeShards(
                            MergeShardsInput(
                                streamName: "s", shardToMerge: open[0].shardId,
                                adjacentShardToMerge: open[1].shardId))
                    } else {
                        let w = open.max { $0.end - $0.start < $1.end - $1.start }!
                        _ = try k.splitShard(
                            SplitShardInput(
                                streamName: "s", shardToSplit: w.shardId,
                                newStartingHashKey: String(w.start + (w.end - w.start) / 2)))
                    }
                } catch {
                    Issue.record("reshard \(i) failed: \(error)")
                }
            }
        }
        let open = try h.listAllShards(filter: ShardFilter(type: .atLatest))
        expectCoversHashSpace(open)
        #expect(try h.describeAllShards().count == 2 + 20 * 2 + 10)
        try Self.check(h, acks: acks, roots: ["shardId-000000000000", "shardId-000000000001"], expected: 20_000)
    }

    @Test func concurrentWritersShareOneShardsQuotaExactly() throws {
        // With the AWS limits on, concurrent writers to one shard share 1,000 records/s:
        // exactly 1,000 of 2,000 simultaneous records are accepted, the rest throttled.
        let h = Harness()
        try h.stream()
        let accepted = Atomic<Int>(0)
        let throttled = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            let entries = (0..<250).map { i in
                PutRecordsRequestEntry(data: Data([UInt8(t), UInt8(i)]), partitionKey: "k")
            }
            guard let out = try? h.k.putRecords(PutRecordsInput(records: entries, streamName: "s")) else { return }
            accepted.add(out.records.filter { $0.sequenceNumber != nil }.count, ordering: .relaxed)
            throttled.add(out.failedRecordCount ?? 0, ordering: .relaxed)
        }
        #expect(accepted.load(ordering: .relaxed) == 1_000)
        #expect(throttled.load(ordering: .relaxed) == 1_000)
        let c = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(c.incomingRecords == 1_000)
        #expect(c.writeThrottledRecords == 1_000)
        #expect(try h.drain(h.iterator()).records.count == 1_000)
    }
}
