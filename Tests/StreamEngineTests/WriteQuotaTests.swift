import Foundation
import Testing

@testable import StreamEngine

/// Per-shard write quotas of KINESIS.md §3: 1 MiB/s including partition keys,
/// and 1,000 records/s, on the manual clock.
@Suite struct WriteQuotaTests {
    static let throttled = "Rate exceeded for shard shardId-000000000000 in stream s under account 123456789012."

    @Test func bytesPerSecondExactlyAtLimitPassesOneByteOverThrottles() throws {
        let h = Harness()
        try h.stream()
        // data + partition key = exactly 1 MiB.
        _ = try h.put(data: bytes(MiB - 2), key: "pk")
        expectError(.provisionedThroughputExceeded, Self.throttled) { () throws(KinesisError) in
            try h.k.putRecord(PutRecordInput(streamName: "s", data: Data(), partitionKey: "k"))
        }
        let c = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(c.incomingBytes == Int64(MiB))
        #expect(c.incomingRecords == 1)
        #expect(c.writeThrottledRecords == 1)
        #expect(c.writeThrottledByBytes == 1)
        #expect(c.writeThrottledByRecords == 0)
    }

    @Test func partitionKeyBytesCountAgainstTheWriteQuota() throws {
        let h = Harness()
        try h.stream()
        let key = String(repeating: "k", count: 256)
        _ = try h.put(data: bytes(MiB - 256 - 10), key: key)
        // 10 bytes left: a record of 9 data bytes + 1 key byte fits, another 1-byte record does not.
        _ = try h.put(data: bytes(9), key: "k")
        expectError(.provisionedThroughputExceeded, Self.throttled) { () throws(KinesisError) in
            try h.put(data: Data(), key: "k")
        }
    }

    /// Records accepted out of `n` one-byte records sent now in PutRecords calls of up to 500.
    func accepted(_ h: Harness, _ n: Int) throws(KinesisError) -> Int {
        var left = n
        var ok = 0
        while left > 0 {
            let batch = (0..<min(left, 500)).map { i in
                PutRecordsRequestEntry(data: Data(), partitionKey: "k\(i % 10)")
            }
            let out = try h.k.putRecords(PutRecordsInput(records: batch, streamName: "s"))
            ok += batch.count - (out.failedRecordCount ?? 0)
            left -= batch.count
        }
        return ok
    }

    /// A one-byte record is refused with the shard's throttling message.
    func expectThrottled(_ h: Harness, sourceLocation: SourceLocation = #_sourceLocation) {
        expectError(.provisionedThroughputExceeded, Self.throttled, sourceLocation: sourceLocation) {
            () throws(KinesisError) in try h.put(data: Data(), key: "k")
        }
    }

    // The old token buckets started full and refilled continuously: a fresh shard took ~2,000
    // records (or ~2 MiB) in its first second. Now no trailing second holds more than the limit.

    @Test func aFreshShardsFirstSecondAcceptsExactlyOneThousandRecords() throws {
        let h = Harness()
        try h.stream()  // immediate: the shard is created at the harness's start instant
        #expect(try accepted(h, 1_000) == 1_000)
        expectError(.provisionedThroughputExceeded, Self.throttled) { () throws(KinesisError) in try h.put() }
        // One nanosecond before the first records leave the trailing second: still full.
        h.advance(.nanoseconds(999_999_999))
        #expect(try accepted(h, 1) == 0)
        h.advance(.nanoseconds(1))
        #expect(try accepted(h, 1_001) == 1_000)
        let c = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(c.incomingRecords == 2_000)
        #expect(c.writeThrottledRecords == 3)
        #expect(c.writeThrottledByRecords == 3)
        #expect(c.writeThrottledByBytes == 0)
    }

    @Test func aFreshShardsFirstSecondAcceptsExactlyOneMiB() throws {
        let h = Harness()
        try h.stream()
        _ = try h.put(data: bytes(MiB - 1), key: "k")
        expectThrottled(h)
        h.advance(.milliseconds(500))  // the old bucket gave 524,288 bytes back here
        expectThrottled(h)
        h.advance(.nanoseconds(499_999_999))
        expectThrottled(h)
        h.advance(.nanoseconds(1))
        // Exactly 1 MiB again, in two records, and not a byte more.
        _ = try h.put(data: bytes(MiB - 1_000 - 1), key: "k")
        _ = try h.put(data: bytes(1_000 - 1), key: "k")
        expectThrottled(h)
        let c = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(c.incomingBytes == Int64(2 * MiB))
        #expect(c.writeThrottledByBytes == 4)
        #expect(c.writeThrottledByRecords == 0)
    }

    @Test func aSteadyThousandRecordsPerSecondIsAcceptedSecondAfterSecond() throws {
        let h = Harness()
        try h.stream()
        // One record every millisecond for five seconds: every trailing second holds exactly 1,000.
        for i in 0..<5_000 {
            if i > 0 { h.advance(.milliseconds(1)) }
            _ = try h.put()
        }
        // The 1,001st of the trailing second is refused, at any instant of the run.
        expectError(.provisionedThroughputExceeded, Self.throttled) { () throws(KinesisError) in try h.put() }
        h.advance(.microseconds(999))
        expectError(.provisionedThroughputExceeded, Self.throttled) { () throws(KinesisError) in try h.put() }
        h.advance(.microseconds(1))
        _ = try h.put()
        // Whole seconds at the limit: 1,000 at t, 1,000 at t + 1 s, 1,000 at t + 2 s.
        h.advance(.seconds(5))
        for _ in 0..<3 {
            #expect(try accepted(h, 1_001) == 1_000)
            h.advance(.seconds(1))
        }
        let c = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(c.incomingRecords == 8_001)
        #expect(c.writeThrottledRecords == 5)
    }

    @Test func aBurstAfterIdlingIsOneSecondsWorthNotTwo() throws {
        let h = Harness()
        try h.stream()
        for _ in 0..<3 {
            #expect(try accepted(h, 300) == 300)
            h.advance(.seconds(1))
        }
        h.advance(.seconds(60))
        #expect(try accepted(h, 1_000) == 1_000)
        // Half a second later the old bucket had refilled 500 records; nothing fits now.
        h.advance(.milliseconds(500))
        #expect(try accepted(h, 500) == 0)
        // The window slides: 600 at t + 1 s, the 400 left at t + 1.5 s, none at t + 1.999 s,
        // and at t + 2 s the 600 of t + 1 s are back.
        h.advance(.milliseconds(500))
        #expect(try accepted(h, 600) == 600)
        h.advance(.milliseconds(500))
        #expect(try accepted(h, 401) == 400)
        h.advance(.milliseconds(499))
        #expect(try accepted(h, 1) == 0)
        h.advance(.milliseconds(1))
        #expect(try accepted(h, 601) == 600)
        // Bytes behave the same: a megabyte-second after idling, then nothing until it leaves.
        h.advance(.seconds(60))
        _ = try h.put(data: bytes(MiB - 1), key: "k")
        h.advance(.milliseconds(999))
        expectThrottled(h)
        h.advance(.milliseconds(1))
        _ = try h.put(data: bytes(MiB - 1), key: "k")
    }

    @Test func recordsPerSecondExactlyAtLimitPassesOneOverThrottles() throws {
        let h = Harness()
        try h.stream()
        let batch = (0..<500).map { i in PutRecordsRequestEntry(data: Data([UInt8(i & 0xFF)]), partitionKey: "k\(i)") }
        for _ in 0..<2 {
            let out = try h.k.putRecords(PutRecordsInput(records: batch, streamName: "s"))
            #expect(out.failedRecordCount == 0)
            #expect(out.records.allSatisfy { $0.errorCode == nil && $0.sequenceNumber != nil })
        }
        expectError(.provisionedThroughputExceeded, Self.throttled) { () throws(KinesisError) in try h.put() }
        h.advance(.seconds(1))
        for _ in 0..<2 {
            #expect(try h.k.putRecords(PutRecordsInput(records: batch, streamName: "s")).failedRecordCount == 0)
        }
        let c = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(c.incomingRecords == 2_000)
        #expect(c.writeThrottledRecords == 1)
        #expect(c.writeThrottledByRecords == 1)
        #expect(c.writeThrottledByBytes == 0)
    }

    @Test func putRecordsReportsThrottledRecordsPerEntryWhileOtherShardsSucceed() throws {
        let h = Harness()
        try h.stream(shards: 2)
        let low = "0"
        let high = maxHash
        let fill = (0..<500).map { _ in
            PutRecordsRequestEntry(data: Data("x".utf8), explicitHashKey: low, partitionKey: "k")
        }
        #expect(try h.k.putRecords(PutRecordsInput(records: fill, streamName: "s")).failedRecordCount == 0)
        #expect(try h.k.putRecords(PutRecordsInput(records: fill, streamName: "s")).failedRecordCount == 0)
        // Shard 0 is out of records for this second; shard 1 is untouched.
        let mixed = [low, high, low, high, high].map {
            PutRecordsRequestEntry(data: Data("y".utf8), explicitHashKey: $0, partitionKey: "k")
        }
        let out = try h.k.putRecords(PutRecordsInput(records: mixed, streamName: "s"))
        #expect(out.failedRecordCount == 2)
        #expect(out.records.count == 5)
        for i in [0, 2] {
            #expect(out.records[i].errorCode == "ProvisionedThroughputExceededException")
            #expect(out.records[i].errorMessage == Self.throttled)
            #expect(out.records[i].sequenceNumber == nil)
            #expect(out.records[i].shardId == nil)
        }
        for i in [1, 3, 4] {
            #expect(out.records[i].errorCode == nil)
            #expect(out.records[i].errorMessage == nil)
            #expect(out.records[i].shardId == "shardId-000000000001")
            #expect(out.records[i].sequenceNumber?.count == 56)
        }
        // The accepted ones are readable, in request order, and nothing of the failed ones is.
        let read = try h.get(h.iterator(shard: "shardId-000000000001")).records
        #expect(read.map(\.sequenceNumber) == [1, 3, 4].map { out.records[$0].sequenceNumber! })
        let shard0 = try h.drain(h.iterator(shard: "shardId-000000000000")).records
        #expect(shard0.count == 1_000)
        #expect(!shard0.contains { $0.data == Data("y".utf8) })
    }

    @Test func putRecordsByteQuotaFailsOnlyTheRecordsThatDoNotFit() throws {
        let h = Harness()
        try h.stream()
        // Three records of 400 KiB (with key): the third would exceed 1 MiB in this second.
        let entry = PutRecordsRequestEntry(data: bytes(400 * 1024 - 1), partitionKey: "k")
        let small = PutRecordsRequestEntry(data: bytes(100), partitionKey: "k")
        let out = try h.k.putRecords(PutRecordsInput(records: [entry, entry, entry, small], streamName: "s"))
        #expect(out.failedRecordCount == 1)
        #expect(out.records.map { $0.errorCode == nil } == [true, true, false, true])
        #expect(out.records[2].errorMessage == Self.throttled)
    }

    @Test func largeRecordsSpendABurstAllowanceAndRepayIt() throws {
        let h = Harness()
        let arn = try h.stream()
        _ = try h.k.updateMaxRecordSize(UpdateMaxRecordSizeInput(streamARN: arn, maxRecordSizeInKiB: 2_048))
        // A 2 MiB record is let through from a full bucket, leaving it 1 MiB in debt.
        _ = try h.put(data: bytes(2 * MiB - 1), key: "k")
        expectError(.provisionedThroughputExceeded, Self.throttled) { () throws(KinesisError) in
            try h.put(data: Data(), key: "k")
        }
        h.advance(.seconds(1))  // debt repaid, nothing banked yet
        expectError(.provisionedThroughputExceeded, Self.throttled) { () throws(KinesisError) in
            try h.put(data: Data(), key: "k")
        }
        h.advance(.milliseconds(1))
        _ = try h.put(data: Data(), key: "k")
        // A second large record needs a full bucket again.
        expectError(.provisionedThroughputExceeded, Self.throttled) { () throws(KinesisError) in
            try h.put(data: bytes(2 * MiB - 1), key: "k")
        }
        h.advance(.seconds(1))
        _ = try h.put(data: bytes(2 * MiB - 1), key: "k")
    }

    @Test func limitsOffLiftsThroughputButKeepsShapeLimits() throws {
        let h = Harness(limits: .off)
        try h.stream()
        let batch = (0..<500).map { _ in PutRecordsRequestEntry(data: bytes(1_000), partitionKey: "k") }
        for _ in 0..<4 {
            #expect(try h.k.putRecords(PutRecordsInput(records: batch, streamName: "s")).failedRecordCount == 0)
        }
        for _ in 0..<3 { _ = try h.put(data: bytes(MiB - 1), key: "k") }
        let c = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(c.incomingRecords == 2_003)
        #expect(c.writeThrottledRecords == 0)
        for _ in 0..<20 { _ = try h.get(h.iterator()) }  // 20 GetShardIterator and 20 GetRecords in one instant
        for _ in 0..<50 { _ = try h.k.describeStream(DescribeStreamInput(streamName: "s")) }
        #expect(h.engine.sample().limitsProfile == "off")
        // Shape limits stay: 500 records per call, 1 MiB per record.
        let tooMany = (0..<501).map { _ in PutRecordsRequestEntry(data: Data(), partitionKey: "k") }
        let e = expectError(.validation) { () throws(KinesisError) in
            try h.k.putRecords(PutRecordsInput(records: tooMany, streamName: "s"))
        }
        #expect(
            e?.message.hasSuffix(
                "at 'records' failed to satisfy constraint: Member must have length less than or equal to 500") == true)
        expectError(.validation) { () throws(KinesisError) in try h.put(data: bytes(MiB), key: "k") }
        expectError(.validation) { () throws(KinesisError) in
            try h.k.putRecords(
                PutRecordsInput(records: [PutRecordsRequestEntry(data: bytes(MiB), partitionKey: "k")], streamName: "s")
            )
        }
        expectError(.validation) { () throws(KinesisError) in try h.get(h.iterator(), limit: 10_001) }
    }
}
