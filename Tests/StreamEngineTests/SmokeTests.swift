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
        let it = try k.getShardIterator(GetShardIteratorInput(streamName: "s", shardId: put.shardId, shardIteratorType: .trimHorizon))
        let got = try k.getRecords(GetRecordsInput(shardIterator: it.shardIterator))
        #expect(got.records.map(\.data) == [Data("hello".utf8)])
        #expect(got.records.first?.sequenceNumber == put.sequenceNumber)
        _ = try k.splitShard(SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
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
    @Test(arguments: [("49546986683135544286507457936321625675700192471156785154", 0),
                      ("49546986683135544286507457935754639466300920667981217794", 0),
                      ("49590338271490256608559692538361571095921575989136588898", 6)])
    func awsExamplesRoundTrip(_ text: String, shard: UInt32) throws {
        let seq = try #require(SequenceNumber(text))
        #expect(seq.description == text)
        #expect(seq.shardIndex == shard)
    }

    @Test func extremesFormatAsFiftySixDigits() {
        let lo = SequenceNumber(shardCreateSeconds: 0, shardIndex: 0, seqIndex: 0, recordSeconds: 0)
        // The largest valid fields: shard indices stop at 2^31 − 1 and the counter's top
        // bit is 0 (AWS refuses numbers with either top bit set; see ErrorMessageTests).
        let hi = SequenceNumber(shardCreateSeconds: 0xF_FFFF_FFFF, shardIndex: UInt32(Int32.max), seqIndex: .max, recordSeconds: 0xF_FFFF_FFFF)
        #expect(lo.description.count == 56 && hi.description.count == 56)
        #expect(SequenceNumber(lo.description) == lo && SequenceNumber(hi.description) == hi)
        #expect(lo < hi && lo.description < hi.description)
    }
}
