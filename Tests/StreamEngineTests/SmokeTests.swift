import Foundation
import Testing

@testable import StreamEngine

@Suite struct SmokeTests {
    @Test func createPutGetSplit() throws {
        let clock = ManualClock()
        let engine = KinesisEngine(clock: clock)
        let k = engine.service()
        _ = try k.createStream(CreateStreamInput(streamName: "s", shardCount: 2))
        clock.advance(by: .seconds(1))
        let put = try k.putRecord(PutRecordInput(streamName: "s", data: Data("hello".utf8), partitionKey: "a"))
        #expect(put.shardId == "shardId-000000000000")
        #expect(put.sequenceNumber.count == 56)
        let it = try k.getShardIterator(
            GetShardIteratorInput(streamName: "s", shardId: put.shardId, shardIteratorType: .trimHorizon))
        let got = try k.getRecords(GetRecordsInput(shardIterator: it.shardIterator))
        #expect(got.records.map(\.data) == [Data("hello".utf8)])
        #expect(got.records.first?.sequenceNumber == put.sequenceNumber)
        _ = try k.splitShard(
            SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        clock.advance(by: .seconds(1))
        let d = try k.describeStream(DescribeStreamInput(streamName: "s"))
        #expect(d.streamDescription.shards.count == 4)
        #expect(d.streamDescription.streamStatus == .active)
        let after = try k.getRecords(GetRecordsInput(shardIterator: got.nextShardIterator!))
        #expect(after.nextShardIterator == nil)
        #expect(after.childShards?.map(\.shardId) == ["shardId-000000000002", "shardId-000000000003"])
        _ = try k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 5))
        clock.advance(by: .seconds(1))
        let open = try k.listShards(ListShardsInput(streamName: "s", shardFilter: ShardFilter(type: .atLatest)))
        #expect(open.shards.count == 5)
    }
}

@Suite struct SequenceNumberFormatTests {
    /// Real sequence numbers from AWS documentation (KINESIS.md §5) survive a
    /// parse → format round trip and decode to the shard index in bits 4–35.
    @Test(arguments: [
        ("49546986683135544286507457936321625675700192471156785154", 0),
        ("49546986683135544286507457935754639466300920667981217794", 0),
        ("49590338271490256608559692538361571095921575989136588898", 6),
    ])
    func awsExamplesRoundTrip(_ text: String, shard: UInt32) throws {
        let seq = try #require(SequenceNumber(text))
        #expect(seq.description == text)
        #expect(seq.shardIndex == shard)
    }

    @Test func extremesFormatAsFiftySixDigits() {
        let lo = SequenceNumber(shardCreateSeconds: 0, shardIndex: 0, seqIndex: 0, recordSeconds: 0)
        // The largest valid fields: shard indices stop at 2^31 − 1 and the counter's top
        // bit is 0 (AWS refuses numbers with either top bit set; see ErrorMessageTests).
        let hi = SequenceNumber(
            shardCreateSeconds: 0xF_FFFF_FFFF, shardIndex: UInt32(Int32.max), seqIndex: .max,
            recordSeconds: 0xF_FFFF_FFFF)
        #expect(lo.description.count == 56 && hi.description.count == 56)
        #expect(SequenceNumber(lo.description) == lo && SequenceNumber(hi.description) == hi)
        #expect(lo < hi && lo.description < hi.description)
    }

    /// The put and get paths format runs of numbers incrementally (+2^80 per
    /// record); every string must equal a from-scratch conversion, including
    /// carries across the 48-bit split of seqIndex and changes of second or shard.
    @Test func incrementalFormattingMatchesFullConversion() {
        var text = SequenceNumberText()
        var rng = SystemRandomNumberGenerator()
        let starts: [UInt64] = [
            0, 1, 9, 0xFFFF_FFFF_FFFF - 2, 0x00FF_FFFF_FFFF_FFFF - 2, UInt64(Int64.max) - 6, 999_999_999_999_999_990,
        ]
        for start in starts + (0..<20).map({ _ in UInt64.random(in: 0...UInt64(Int64.max) - 10, using: &rng) }) {
            let create = UInt64.random(in: 0...0xF_FFFF_FFFF, using: &rng)
            let shard = UInt32.random(in: 0...UInt32(Int32.max), using: &rng)
            var seconds = UInt64.random(in: 0...0xF_FFFF_FFFE, using: &rng)
            for i in 0..<6 {
                if i == 4 { seconds += 1 }
                let s = SequenceNumber(
                    shardCreateSeconds: create, shardIndex: shard, seqIndex: start + UInt64(i), recordSeconds: seconds)
                #expect(text.string(s) == Self.reference(s))
            }
        }
    }

    /// Decimal by long division of the 188-bit value, one digit at a time.
    static func reference(_ s: SequenceNumber) -> String {
        let (hi, lo) = s.limbs
        var words: [UInt64] = [hi, UInt64(truncatingIfNeeded: lo >> 64), UInt64(truncatingIfNeeded: lo)]
        var digits: [Character] = []
        while words.contains(where: { $0 != 0 }) {
            var r: UInt64 = 0
            for i in words.indices {
                let (q, rr) = UInt64(10).dividingFullWidth((high: r, low: words[i]))
                words[i] = q
                r = rr
            }
            digits.append(Character(String(r)))
        }
        return digits.isEmpty ? "0" : String(digits.reversed())
    }
}

/// A sample's hash key histogram: a copy the put path cannot change, shared by the samples of a shard that
/// took no record in between, and new as soon as one arrives (KPL aggregates included).
@Suite struct SampledHistogramTests {
    private func histogram(_ engine: KinesisEngine, shard: Int = 0) throws -> HashKeyHistogram {
        try #require(engine.sample().streams.first?.shards[shard].hashKeyHistogram)
    }

    private func address(_ h: HashKeyHistogram) -> UnsafeRawPointer? {
        h.records.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    @Test func quietSamplesShareOneCopyAndARecordMakesANewOne() throws {
        let clock = ManualClock()
        let engine = KinesisEngine(clock: clock)
        let k = engine.service()
        _ = try k.createStream(CreateStreamInput(streamName: "s", shardCount: 1))
        clock.advance(by: .seconds(1))
        let empty = try histogram(engine)
        #expect(empty.records.allSatisfy { $0 == 0 })
        _ = try k.putRecord(PutRecordInput(streamName: "s", data: Data("x".utf8), partitionKey: "a"))
        let one = try histogram(engine)
        #expect(one.records.reduce(0, +) == 1 && one.bytes.reduce(0, +) == 2)
        clock.advance(by: .seconds(1))
        let again = try histogram(engine)
        #expect(again == one)
        #expect(address(again) == address(one))
        // The next record: a new copy, and the one handed out before is unchanged.
        _ = try k.putRecord(PutRecordInput(streamName: "s", data: Data("yy".utf8), partitionKey: "b"))
        let two = try histogram(engine)
        #expect(two.records.reduce(0, +) == 2 && two.bytes.reduce(0, +) == 5)
        #expect(address(two) != address(one))
        #expect(one.records.reduce(0, +) == 1)
        // A refused record (the key too long) changes neither.
        #expect(throws: KinesisError.self) {
            try k.putRecord(
                PutRecordInput(streamName: "s", data: Data(), partitionKey: String(repeating: "k", count: 257)))
        }
        #expect(try histogram(engine) == two)
    }
}
