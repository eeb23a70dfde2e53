import Foundation
import Testing

@testable import StreamEngine

/// Per-shard read quotas of KINESIS.md §3: GetRecords 5 calls/s and 2 MiB/s
/// (served into debt), 10 MiB / 10,000 records per call, GetShardIterator 5/s.
@Suite struct ReadQuotaTests {
    static func throttled(_ shard: Int = 0) -> String {
        "Rate exceeded for shard \(ShardID.string(shard)) in stream s under account 123456789012."
    }

    /// Puts `count` records of exactly `size` bytes (data + 1-byte key), advancing
    /// the clock so that the write quota never throttles.
    static func fill(_ h: Harness, count: Int, size: Int) throws(KinesisError) -> [String] {
        var seqs: [String] = []
        for _ in 0..<count {
            seqs.append(try h.put(data: bytes(size - 1), key: "k").sequenceNumber)
            h.advance(.nanoseconds(Int64((Double(size) / Double(MiB) * 1e9).rounded(.up))))
        }
        return seqs
    }

    @Test func getRecordsFiveCallsPerSecondPerShard() throws {
        let h = Harness()
        try h.stream(shards: 2)
        let it = try h.iterator()
        for _ in 0..<5 { #expect(try h.get(it).records.isEmpty) }
        expectError(.provisionedThroughputExceeded, Self.throttled()) { () throws(KinesisError) in try h.get(it) }
        // The other shard has its own five.
        let other = try h.iterator(shard: "shardId-000000000001")
        for _ in 0..<5 { _ = try h.get(other) }
        // Five in every trailing second (CallQuota): nothing comes back until the first five are a second old.
        h.advance(.milliseconds(999))
        expectError(.provisionedThroughputExceeded, Self.throttled()) { () throws(KinesisError) in try h.get(it) }
        h.advance(.milliseconds(1))
        for _ in 0..<5 { _ = try h.get(it) }
        expectError(.provisionedThroughputExceeded, Self.throttled()) { () throws(KinesisError) in try h.get(it) }
        h.advance(.seconds(10))  // idling banks nothing: still five
        for _ in 0..<5 { _ = try h.get(it) }
        expectError(.provisionedThroughputExceeded, Self.throttled()) { () throws(KinesisError) in try h.get(it) }
        let shard0 = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(shard0.getRecordsCalls == 15)
        #expect(shard0.readThrottledCalls == 4)
    }

    @Test(arguments: [(1, 500), (2, 1_000), (4, 2_000)])
    func readingNMiBBlocksTheShardForNOverTwoSeconds(mib: Int, blockedMillis: Int64) throws {
        let h = Harness()
        try h.stream()
        let seqs = try Self.fill(h, count: mib + 1, size: MiB)
        let it = try h.iterator()
        let first = try h.get(it, limit: mib)
        #expect(first.records.count == mib)
        expectError(.provisionedThroughputExceeded, Self.throttled()) { () throws(KinesisError) in try h.get(it) }
        h.advance(.milliseconds(blockedMillis - 1))
        expectError(.provisionedThroughputExceeded, Self.throttled()) { () throws(KinesisError) in
            try h.get(first.nextShardIterator!)
        }
        h.advance(.milliseconds(1))
        let next = try h.get(first.nextShardIterator!, limit: 1)
        #expect(next.records.map(\.sequenceNumber) == [seqs[mib]])
        // Throttled calls did not spend call tokens.
        let c = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(c.getRecordsCalls == 2)
        #expect(c.readThrottledCalls == 2)
        #expect(c.outgoingBytes == Int64((mib + 1) * MiB))
    }

    @Test func tenMiBResponseIsTheMaximumAndBlocksFiveSeconds() throws {
        let h = Harness()
        try h.stream()
        let seqs = try Self.fill(h, count: 11, size: MiB)
        let out = try h.get(h.iterator())
        // Exactly 10 MiB fits in one response; the 11th MiB does not.
        #expect(out.records.count == 10)
        #expect(out.records.reduce(0) { $0 + $1.data.count + $1.partitionKey.utf8.count } == 10 * MiB)
        #expect(out.records.map(\.sequenceNumber) == Array(seqs.prefix(10)))
        h.advance(.milliseconds(4_999))
        expectError(.provisionedThroughputExceeded, Self.throttled()) { () throws(KinesisError) in
            try h.get(out.nextShardIterator!)
        }
        h.advance(.milliseconds(1))
        #expect(try h.get(out.nextShardIterator!).records.map(\.sequenceNumber) == [seqs[10]])
    }

    @Test func tenThousandRecordsIsTheMaximumPerCall() throws {
        let h = Harness()
        try h.stream()
        let batch = (0..<500).map { i in PutRecordsRequestEntry(data: Data([UInt8(i & 0xFF)]), partitionKey: "k") }
        for _ in 0..<20 {
            #expect(try h.k.putRecords(PutRecordsInput(records: batch, streamName: "s")).failedRecordCount == 0)
            h.advance(.milliseconds(500))
        }
        let last = try h.put(data: Data("last".utf8), key: "k").sequenceNumber
        let out = try h.get(h.iterator())
        #expect(out.records.count == 10_000)
        // 10,000 records of 2 bytes owe 20,000 bytes: about 9.5 ms at 2 MiB/s.
        h.advance(.milliseconds(10))
        let rest = try h.get(out.nextShardIterator!)
        #expect(rest.records.map(\.sequenceNumber) == [last])
        // And Limit narrows a call further.
        h.advance(.seconds(1))
        let three = try h.get(h.iterator(), limit: 3)
        #expect(three.records.count == 3)
        #expect(three.records.first?.sequenceNumber == out.records.first?.sequenceNumber)
    }

    @Test func getShardIteratorFivePerSecondPerShard() throws {
        let h = Harness()
        try h.stream(shards: 2)
        for _ in 0..<5 { _ = try h.iterator() }
        expectError(.provisionedThroughputExceeded, Self.throttled()) { () throws(KinesisError) in try h.iterator() }
        for _ in 0..<5 { _ = try h.iterator(shard: "shardId-000000000001") }
        expectError(.provisionedThroughputExceeded, Self.throttled(1)) { () throws(KinesisError) in
            try h.iterator(shard: "shardId-000000000001")
        }
        h.advance(.milliseconds(999))
        expectError(.provisionedThroughputExceeded, Self.throttled()) { () throws(KinesisError) in
            try h.iterator(shard: "shardId-000000000000", .latest)
        }
        h.advance(.milliseconds(1))
        _ = try h.iterator(shard: "shardId-000000000000", .latest)
        let c = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(c.getShardIteratorThrottled == 2)
    }
}
