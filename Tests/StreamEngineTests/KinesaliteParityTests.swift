import Foundation
import Testing
@testable import StreamEngine

/// Answers kinesalite's suite asserts from its runs against live Kinesis (KINESIS.md §0, [EMU])
/// and that ktop once gave differently (docs/emulator-differences.md).
@Suite struct KinesaliteParityTests {
    static let invalid = "Some tags contain invalid characters. Valid characters: Unicode letters, digits, "
        + "white space, _ . / = + - % @."

    @Test(arguments: ["abc;def", "abc\tdef", "abc\ndef", "abc,def"])
    func removeTagsFromStreamRefusesWhatAddTagsRefuses(key: String) throws {
        let h = Harness()
        try h.stream()
        _ = try h.k.addTagsToStream(AddTagsToStreamInput(streamName: "s", tags: ["keep": "1"]))
        expectError(.invalidArgument, Self.invalid) { () throws(KinesisError) in
            try h.k.removeTagsFromStream(RemoveTagsFromStreamInput(streamName: "s", tagKeys: ["keep", key]))
        }
        // Nothing was removed, and the characters Kinesis allows still pass.
        #expect(try h.k.listTagsForStream(ListTagsForStreamInput(streamName: "s")).tags.map(\.key) == ["keep"])
        let allowed = ["ü0 _.", "/=+-@", "keep"]
        _ = try h.k.removeTagsFromStream(RemoveTagsFromStreamInput(streamName: "s", tagKeys: allowed))
        #expect(try h.k.listTagsForStream(ListTagsForStreamInput(streamName: "s")).tags.isEmpty)
    }

    @Test func removeTagsFromStreamRefusesAPercentSignWithItsOwnMessage() throws {
        let h = Harness()
        try h.stream()
        expectError(.invalidArgument, "Failed to remove tags from stream s under account \(account) because some tags "
                    + "contained illegal characters. The allowed characters are Unicode letters, white-spaces, "
                    + "'_',',','/','=','+','-','@'.") { () throws(KinesisError) in
            try h.k.removeTagsFromStream(RemoveTagsFromStreamInput(streamName: "s", tagKeys: ["abc%def"]))
        }
    }

    @Test(arguments: ["2147483648", "shardId-002147483648", "ABKLFD8", "2.14E4", "shardId-"])
    func splitAndMergeReadTheShardIdBeforeTheStream(id: String) throws {
        let h = Harness()
        try h.stream(shards: 2)
        for stream in ["s", "nope"] {
            let message = "Could not find shard \(id) in stream \(stream) under account \(account)."
            expectError(.resourceNotFound, message) { () throws(KinesisError) in
                try h.k.splitShard(SplitShardInput(streamName: stream, shardToSplit: id, newStartingHashKey: "10"))
            }
            expectError(.resourceNotFound, message) { () throws(KinesisError) in
                try h.k.mergeShards(MergeShardsInput(streamName: stream, shardToMerge: id, adjacentShardToMerge: "x-1"))
            }
            expectError(.resourceNotFound, message) { () throws(KinesisError) in
                try h.k.mergeShards(MergeShardsInput(streamName: stream, shardToMerge: "x-0", adjacentShardToMerge: id))
            }
        }
        // The largest index Kinesis reads is a shard id: an unknown stream is then the error.
        expectError(.resourceNotFound, "Stream nope under account \(account) not found.") { () throws(KinesisError) in
            try h.k.splitShard(SplitShardInput(streamName: "nope", shardToSplit: "2147483647",
                                               newStartingHashKey: "10"))
        }
    }

    @Test func splitAndMergeOfAMissingShardSayCouldNotFind() throws {
        let h = Harness()
        try h.stream(shards: 2)
        let message = "Could not find shard shardId-000000000005 in stream s under account \(account)."
        expectError(.resourceNotFound, message) { () throws(KinesisError) in
            try h.k.splitShard(SplitShardInput(streamName: "s", shardToSplit: "shardId-5", newStartingHashKey: "10"))
        }
        expectError(.resourceNotFound, message) { () throws(KinesisError) in
            try h.k.mergeShards(MergeShardsInput(streamName: "s", shardToMerge: "shard-1",
                                                 adjacentShardToMerge: "shardId-5"))
        }
        // GetShardIterator keeps its own wording.
        let getShardIterator = "Shard shardId-000000000005 in stream s under account \(account) does not exist"
        expectError(.resourceNotFound, getShardIterator) { () throws(KinesisError) in
            try h.iterator(shard: "shardId-5")
        }
    }

    @Test func aStreamDeletedWhileCreatingNeverShowsItsShards() throws {
        let h = Harness(delays: StatusDelays())
        _ = try h.k.createStream(CreateStreamInput(streamName: "s", shardCount: 2))
        h.advance(.milliseconds(499))
        _ = try h.k.deleteStream(DeleteStreamInput(streamName: "s"))
        h.advance(.milliseconds(1)) // CREATING would have ended here
        let d = try h.k.describeStream(DescribeStreamInput(streamName: "s")).streamDescription
        #expect(d.streamStatus == .deleting)
        #expect(d.shards.isEmpty)
        let summary = try h.k.describeStreamSummary(StreamInput(streamName: "s")).streamDescriptionSummary
        #expect(summary.openShardCount == 0)
        #expect(try h.k.listShards(ListShardsInput(streamName: "s")).shards.isEmpty)
        // A stream deleted once ACTIVE still lists its shards while DELETING.
        _ = try h.k.createStream(CreateStreamInput(streamName: "t", shardCount: 2))
        h.advance(.milliseconds(500))
        _ = try h.k.deleteStream(DeleteStreamInput(streamName: "t"))
        #expect(try h.k.describeStream(DescribeStreamInput(streamName: "t")).streamDescription.shards.count == 2)
    }

    /// getShardIterator.js "should return InvalidArgumentException if shard mismatches simple sequence": a small
    /// number is read as the oldest sequence number format, whose low 16 bits name a shard.
    @Test(arguments: [
        ("5", 5), ("65541", 5), ("1", 1), ("65536", nil), ("0", nil),
        ("21267647932558653966460912964485513216", nil),  // 2^124: no longer small
    ])
    func aSmallStartingSequenceNumberEncodesAShard(text: String, encodes: Int?) throws {
        let h = Harness()
        try h.stream(shards: 2)
        let input = GetShardIteratorInput(
            streamName: "s", shardId: "shardId-000000000000", shardIteratorType: .atSequenceNumber,
            startingSequenceNumber: text)
        let e = expectError(.invalidArgument) { () throws(KinesisError) in _ = try h.k.getShardIterator(input) }
        if let encodes {
            #expect(e?.message == "Invalid StartingSequenceNumber. It encodes \(ShardID.string(encodes)), while it "
                + "was used in a call to a shard with shardId-000000000000")
        } else {
            #expect(e?.message == "StartingSequenceNumber \(text) used in GetShardIterator on shard "
                + "shardId-000000000000 in stream s under account \(account) is invalid.")
        }
    }
}
