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
