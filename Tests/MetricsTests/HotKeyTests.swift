import Foundation
import StreamEngine
import Testing

@testable import Metrics

/// Zipf-distributed keys by inverse CDF over `n` ranks with exponent `s`.
struct Zipf {
    let cdf: [Double]
    init(n: Int, s: Double) {
        var acc = 0.0
        var c: [Double] = []
        for k in 1...n {
            acc += 1 / pow(Double(k), s)
            c.append(acc)
        }
        cdf = c.map { $0 / acc }
    }
    func rank(_ u: Double) -> Int {
        var lo = 0
        var hi = cdf.count - 1
        while lo < hi {
            let m = (lo + hi) / 2
            if cdf[m] < u { lo = m + 1 } else { hi = m }
        }
        return lo
    }
}

@Suite struct HotKeyTests {
    @Test func plantedHotKeyIsFoundWithinItsErrorBoundByRecordsAndByBytes() throws {
        var rig = Rig()
        try rig.create("zipf", shards: 1)
        rig.tick()
        var rng = TestRandom(seed: 7)
        let zipf = Zipf(n: 5_000, s: 0.9)
        var trueRecords: [String: Int64] = [:]
        var trueBytes: [String: Int64] = [:]
        var entries: [PutRecordsRequestEntry] = []
        // 950 records in one second (under the 1,000 records/s quota): a zipf
        // tail over 5,000 keys, a planted hot key with ~12 % of the records,
        // and a "whale" with few records but the most bytes.
        for i in 0..<950 {
            let key: String
            let size: Int
            if i % 8 == 0 {
                key = "planted-hot"
                size = 20
            } else if i % 95 == 1 {
                key = "whale"
                size = 9_000
            } else {
                key = "z-\(zipf.rank(Double.random(in: 0..<1, using: &rng)))"
                size = Int.random(in: 10...200, using: &rng)
            }
            entries.append(PutRecordsRequestEntry(data: payload(size), partitionKey: key))
            trueRecords[key, default: 0] += 1
            trueBytes[key, default: 0] += Int64(size + key.utf8.count)
        }
        for chunk in stride(from: 0, to: entries.count, by: 475) {
            let out = try rig.kinesis.putRecords(
                PutRecordsInput(records: Array(entries[chunk..<min(chunk + 475, entries.count)]), streamName: "zipf"))
            #expect(out.failedRecordCount == 0)
        }
        rig.tick()
        let stream = rig.stream("zipf")
        let keys = rig.store.hotKeys(stream, "shardId-000000000000")
        #expect(keys.windowRecords == 950)
        #expect(keys.windowBytes == trueBytes.values.reduce(0, +))
        #expect(keys.recordsErrorBound == 950 / 16)
        #expect(keys.bytesErrorBound == keys.windowBytes / 16)

        let top = try #require(keys.byRecords.first)
        #expect(top.partitionKey == "planted-hot")
        // Every listed estimate brackets the truth: true ∈ [estimate − maxError, estimate], maxError ≤ bound.
        for k in keys.byRecords {
            let truth = trueRecords[k.partitionKey]!
            #expect(k.guaranteedMinimum <= truth && truth <= k.records, "\(k.partitionKey)")
            #expect(k.maxError <= keys.recordsErrorBound)
        }
        // Every key above the bound is listed.
        for (key, n) in trueRecords where n > keys.recordsErrorBound {
            #expect(keys.byRecords.contains { $0.partitionKey == key })
        }

        let heaviest = try #require(keys.byBytes.first)
        #expect(heaviest.partitionKey == "whale")
        for k in keys.byBytes {
            let truth = trueBytes[k.partitionKey]!
            #expect(k.guaranteedMinimum <= truth && truth <= k.bytes, "\(k.partitionKey)")
            #expect(k.maxError <= keys.bytesErrorBound)
        }
        for (key, b) in trueBytes where b > keys.bytesErrorBound {
            #expect(keys.byBytes.contains { $0.partitionKey == key })
        }

        // The snapshot carries both orderings and their bounds.
        let snap = try #require(rig.store.snapshot(limits: .aws))
        let shard = try #require(snap.streams.first?.shards.first)
        #expect(shard.topKeys.first?.key == "planted-hot")
        #expect(shard.topKeysByBytes.first?.key == "whale")
        #expect(shard.topKeysErrorBound == keys.recordsErrorBound)
        #expect(shard.topKeysByBytesErrorBound == keys.bytesErrorBound)
    }
}
