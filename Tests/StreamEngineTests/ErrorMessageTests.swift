import Foundation
import Testing

@testable import StreamEngine

/// The InvalidArgument, ResourceNotFound, ResourceInUse and expiry messages of
/// KINESIS.md §2.3, byte for byte.
@Suite struct ErrorMessageTests {
    let h: Harness
    init() throws {
        h = Harness()
        try h.stream(shards: 3)
    }

    static let pre =
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) "
            + "TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified "

    @Test(arguments: KinesisErrorType.allCases)
    func everyErrorIsA400ExceptInternalFailure(type: KinesisErrorType) {
        #expect(type.httpStatus == (type == .internalFailure ? 500 : 400))
    }

    /// Resharding belongs to provisioned streams and warm throughput to on-demand ones; the message names the
    /// operation and the mode the stream is in (warm throughput on a provisioned stream once said ON_DEMAND).
    @Test func anOperationOfTheOtherCapacityModeNamesTheModeTheStreamIsIn() throws {
        let enabled = MinimumThroughputBillingCommitmentInput(status: .enabled)
        _ = try h.k.updateAccountSettings(UpdateAccountSettingsInput(minimumThroughputBillingCommitment: enabled))
        let mode = "because its capacity mode is"
        expectError(.validation, "UpdateStreamWarmThroughput is not supported for stream s \(mode) PROVISIONED.") {
            () throws(KinesisError) in
            _ = try h.k.updateStreamWarmThroughput(
                UpdateStreamWarmThroughputInput(streamName: "s", warmThroughputMiBps: 10))
        }
        let onDemand = StreamModeDetails(streamMode: .onDemand)
        _ = try h.k.createStream(CreateStreamInput(streamName: "od", streamModeDetails: onDemand))
        h.advance(.seconds(1))
        expectError(.validation, "UpdateShardCount is not supported for stream od \(mode) ON_DEMAND.") {
            () throws(KinesisError) in
            _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "od", targetShardCount: 8))
        }
    }

    @Test func subscribeToAMissingShardOrWhileCreating() throws {
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
        let c = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c")).consumer
            .consumerARN
        expectError(
            .resourceNotFound, "Shard shardId-000000000009 in stream s under account 123456789012 does not exist"
        ) { () throws(KinesisError) in
            try h.k.subscribeToShard(
                SubscribeToShardInput(
                    consumerARN: c, shardId: "shardId-000000000009",
                    startingPosition: StartingPosition(type: .latest)))
        }
        let slow = Harness(delays: StatusDelays())
        _ = try slow.k.createStream(CreateStreamInput(streamName: "s", shardCount: 1))
        expectError(.resourceInUse, "Stream s under account 123456789012 not ACTIVE, instead in state CREATING") {
            () throws(KinesisError) in
            try slow.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c"))
        }
    }

    // MARK: PutRecord(s)

    @Test func explicitHashKeyOutOfRange() throws {
        let tooBig = "340282366920938463463374607431768211456"  // 2^128
        let message =
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was \(tooBig)"
        expectError(.invalidArgument, message) { () throws(KinesisError) in try h.put(hash: tooBig) }
        expectError(.invalidArgument, message) { () throws(KinesisError) in
            try h.k.putRecords(
                PutRecordsInput(
                    records: [
                        PutRecordsRequestEntry(data: Data(), partitionKey: "a"),
                        PutRecordsRequestEntry(data: Data(), explicitHashKey: tooBig, partitionKey: "a"),
                    ],
                    streamName: "s"))
        }
        // Nothing of the refused batch was written.
        #expect(h.engine.sample().streams.first?.shards.allSatisfy { $0.counters.incomingRecords == 0 } == true)
        // The extremes of the space are fine and land in the first and last shard.
        #expect(try h.put(hash: "0").shardId == "shardId-000000000000")
        #expect(try h.put(hash: maxHash).shardId == "shardId-000000000002")
        // kinesalite's boundary pair: 2·floor(2^128/3) − 1 is shard 1, 2·floor(2^128/3) is shard 2.
        #expect(try h.put(hash: "226854911280625642308916404954512140969").shardId == "shardId-000000000001")
        #expect(try h.put(hash: "226854911280625642308916404954512140970").shardId == "shardId-000000000002")
    }

    @Test(arguments: [
        "49039857307708443467467104868809893875799651909875269632",  // version nibble 2 but trailing nibble 0
        "49039857307719593840066370180380661734935976090628259842",  // top bit of the sequence counter set
        "49039857307708443467467104868809893875799651944235008002",  // top bit of the shard index set
        "1234",  // not a v2 number at all
    ])
    func invalidSequenceNumberForOrdering(seq: String) {
        expectError(
            .invalidArgument,
            "ExclusiveMinimumSequenceNumber \(seq) used in PutRecord on stream s under account 123456789012 is invalid."
        ) { () throws(KinesisError) in
            try h.k.putRecord(
                PutRecordInput(streamName: "s", data: Data(), partitionKey: "a", sequenceNumberForOrdering: seq))
        }
    }

    @Test func validSequenceNumberForOrderingIsAccepted() throws {
        let first = try h.put(key: "a")
        let second = try h.k.putRecord(
            PutRecordInput(
                streamName: "s", data: Data(), partitionKey: "a",
                sequenceNumberForOrdering: first.sequenceNumber))
        #expect(first.sequenceNumber < second.sequenceNumber)
    }

    @Test func streamNotFoundAndAlreadyExists() {
        expectError(.resourceNotFound, "Stream nope under account 123456789012 not found.") { () throws(KinesisError) in
            try h.put("nope")
        }
        expectError(.resourceNotFound, "Stream nope under account 123456789012 not found.") { () throws(KinesisError) in
            try h.k.describeStream(DescribeStreamInput(streamName: "nope"))
        }
        expectError(.resourceNotFound, "Stream nope under account 123456789012 not found.") { () throws(KinesisError) in
            try h.k.putRecord(
                PutRecordInput(
                    data: Data(), partitionKey: "a", streamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/nope"))
        }
        expectError(.resourceInUse, "Stream s under account 123456789012 already exists.") { () throws(KinesisError) in
            try h.k.createStream(CreateStreamInput(streamName: "s", shardCount: 1))
        }
        expectError(.invalidArgument) { () throws(KinesisError) in
            try h.k.putRecord(PutRecordInput(data: Data(), partitionKey: "a"))
        }
    }

    @Test func notActiveWhileCreating() throws {
        let h = Harness(delays: StatusDelays())
        _ = try h.k.createStream(CreateStreamInput(streamName: "c", shardCount: 2))
        expectError(.resourceNotFound, "Stream c under account 123456789012 not found.") { () throws(KinesisError) in
            try h.put("c")
        }
        expectError(.resourceNotFound, "Stream c under account 123456789012 not found.") { () throws(KinesisError) in
            try h.k.putRecords(
                PutRecordsInput(records: [PutRecordsRequestEntry(data: Data(), partitionKey: "a")], streamName: "c"))
        }
        expectError(
            .resourceNotFound, "Shard shardId-000000000000 in stream c under account 123456789012 does not exist"
        ) { () throws(KinesisError) in
            try h.iterator("c")
        }
        expectError(.resourceInUse, "Stream c under account 123456789012 not ACTIVE, instead in state CREATING") {
            () throws(KinesisError) in
            try h.k.splitShard(
                SplitShardInput(streamName: "c", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        }
        expectError(.resourceInUse, "Stream c under account 123456789012 not ACTIVE, instead in state CREATING") {
            () throws(KinesisError) in
            try h.k.mergeShards(
                MergeShardsInput(
                    streamName: "c", shardToMerge: "shardId-000000000000", adjacentShardToMerge: "shardId-000000000001")
            )
        }
        let d = try h.k.describeStream(DescribeStreamInput(streamName: "c")).streamDescription
        #expect(d.streamStatus == .creating)
        #expect(d.shards.isEmpty)
        #expect(try h.k.listShards(ListShardsInput(streamName: "c")).shards.isEmpty)
    }

    // MARK: GetShardIterator

    @Test func iteratorTypeAndSequenceNumberCombinations() throws {
        let seq = try h.put(hash: "0").sequenceNumber
        expectError(.invalidArgument, Self.pre + "AT_SEQUENCE_NUMBER and no StartingSequenceNumber.") {
            () throws(KinesisError) in
            try h.iterator(shard: "shardId-000000000000", .atSequenceNumber)
        }
        expectError(.invalidArgument, Self.pre + "AFTER_SEQUENCE_NUMBER and no StartingSequenceNumber.") {
            () throws(KinesisError) in
            try h.iterator(shard: "shardId-000000000000", .afterSequenceNumber)
        }
        expectError(.invalidArgument, Self.pre + "LATEST and also a StartingSequenceNumber.") {
            () throws(KinesisError) in
            try h.iterator(shard: "shardId-000000000000", .latest, sequence: seq)
        }
        expectError(.invalidArgument, Self.pre + "TRIM_HORIZON and also a StartingSequenceNumber.") {
            () throws(KinesisError) in
            try h.iterator(shard: "shardId-000000000000", .trimHorizon, sequence: seq)
        }
        h.advance(.seconds(1))
        _ = try h.iterator(shard: "shardId-000000000000", .atSequenceNumber, sequence: seq)
        _ = try h.iterator(shard: "shardId-000000000000", .afterSequenceNumber, sequence: seq)
    }

    @Test func atTimestampNeedsAPastTimestamp() throws {
        expectError(
            .invalidArgument,
            "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no "
                + "timestamp parameter."
        ) { () throws(KinesisError) in
            try h.iterator(shard: "shardId-000000000000", .atTimestamp)
        }
        let now = h.now.millisecondsSinceEpoch
        let future = Date(timeIntervalSince1970: Double(now + 1_000) / 1000)
        expectError(
            .invalidArgument,
            "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                + "timestampInMillis: \(now + 1_000), currentTimestampInMillis: \(now)"
        ) { () throws(KinesisError) in
            try h.iterator(shard: "shardId-000000000000", .atTimestamp, timestamp: future)
        }
        _ = try h.iterator(shard: "shardId-000000000000", .atTimestamp, timestamp: h.now.date)
    }

    @Test func sequenceNumberFromAnotherShardOrStream() throws {
        let one = try h.put(hash: maxHash).sequenceNumber  // shard 2
        expectError(
            .invalidArgument,
            "Invalid StartingSequenceNumber. It encodes shardId-000000000002, while it was used in a call to a shard "
                + "with shardId-000000000000"
        ) { () throws(KinesisError) in
            try h.iterator(shard: "shardId-000000000000", .atSequenceNumber, sequence: one)
        }
        h.advance(.seconds(1))
        try h.stream("other", shards: 3)
        expectError(
            .invalidArgument,
            "StartingSequenceNumber \(one) used in GetShardIterator on shard shardId-000000000002 in stream other "
                + "under account 123456789012 is invalid because it did not come from this stream."
        ) { () throws(KinesisError) in
            try h.iterator("other", shard: "shardId-000000000002", .afterSequenceNumber, sequence: one)
        }
    }

    @Test func shardIdsAreNormalisedInMessages() {
        expectError(
            .resourceNotFound, "Shard shardId-000000000007 in stream s under account 123456789012 does not exist"
        ) { () throws(KinesisError) in
            try h.iterator(shard: "foo-7")
        }
        expectError(
            .resourceNotFound, "Shard shardId-002147483647 in stream nope under account 123456789012 does not exist"
        ) { () throws(KinesisError) in
            try h.iterator("nope", shard: "a-00002147483647")
        }
        for id in ["ABKLFD8", "2147483648", "shardId-002147483648", "2.14E4"] {
            expectError(.resourceNotFound, "Could not find shard \(id) in stream nope under account 123456789012.") {
                () throws(KinesisError) in
                try h.iterator("nope", shard: id)
            }
        }
        expectError(.resourceNotFound, "Could not find shard ABKLFD8 in stream s under account 123456789012.") {
            () throws(KinesisError) in
            try h.iterator(shard: "ABKLFD8")
        }
        #expect((try? h.iterator(shard: "shardId-1")) != nil)
        #expect((try? h.iterator(shard: "x-2")) != nil)
    }

    // MARK: GetRecords

    @Test func malformedAndForeignIterators() throws {
        let it = try h.iterator()
        for bad in ["AAAA", "not base64 at all", String(it.dropLast(4)) + "AAAA", String(it.prefix(20))] {
            expectError(.invalidArgument, "Invalid ShardIterator.") { () throws(KinesisError) in try h.get(bad) }
        }
        // An iterator of another account or region is not valid here.
        let other = h.engine.service(account: "111111111111")
        _ = try other.createStream(CreateStreamInput(streamName: "s", shardCount: 3))
        let foreign = try other.getShardIterator(
            GetShardIteratorInput(streamName: "s", shardId: "shardId-000000000000", shardIteratorType: .latest))
        expectError(.invalidArgument, "Invalid ShardIterator.") { () throws(KinesisError) in
            try h.get(foreign.shardIterator)
        }
        _ = try other.getRecords(GetRecordsInput(shardIterator: foreign.shardIterator))
    }

    @Test func expiredIteratorMessageUsesJavaDates() throws {
        let h = Harness(start: Instant(secondsSinceEpoch: 1_421_889_722))  // Thu Jan 22 01:22:02 UTC 2015
        try h.stream()
        let it = try h.iterator()
        h.advance(.seconds(300))
        _ = try h.get(it)  // still valid at exactly 5 minutes
        h.advance(.seconds(1))
        expectError(
            .expiredIterator,
            "Iterator expired. The iterator was created at time Thu Jan 22 01:22:02 UTC 2015 while right now it is "
                + "Thu Jan 22 01:27:03 UTC 2015 which is further in the future than the tolerated delay of 300000 "
                    + "milliseconds."
        ) { () throws(KinesisError) in
            try h.get(it)
        }
    }

    // MARK: resharding

    @Test func splitShardKeyBounds() throws {
        let start = "113427455640312821154458202477256070485"
        let end = "226854911280625642308916404954512140969"
        func split(_ key: String) throws(KinesisError) {
            h.advance(.milliseconds(200))  // SplitShard is 5 TPS; failed calls count too
            _ = try h.k.splitShard(
                SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000001", newStartingHashKey: key))
        }
        for bad in ["113427455640312821154458202477256070486", end, "0", maxHash] {
            expectError(
                .invalidArgument,
                "NewStartingHashKey \(bad) used in SplitShard() on shard shardId-000000000001 in stream s under "
                    + "account 123456789012 is not both greater than one plus the shard's StartingHashKey \(start) "
                        + "and less than the shard's EndingHashKey \(end)."
            ) { () throws(KinesisError) in
                try split(bad)
            }
        }
        expectError(.invalidArgument) { () throws(KinesisError) in try split("340282366920938463463374607431768211456")
        }
        try split("113427455640312821154458202477256070487")  // start + 2: the smallest valid key
        h.advance(.seconds(1))
        let children = try h.listAllShards(filter: ShardFilter(type: .atLatest)).filter {
            $0.parentShardId == "shardId-000000000001"
        }
        #expect(children.map(\.shardId) == ["shardId-000000000003", "shardId-000000000004"])
        #expect(
            children.map(\.hashKeyRange) == [
                HashKeyRange(startingHashKey: start, endingHashKey: "113427455640312821154458202477256070486"),
                HashKeyRange(startingHashKey: "113427455640312821154458202477256070487", endingHashKey: end),
            ])
        #expect(children.allSatisfy { $0.adjacentParentShardId == nil })
        // The parent is closed now, and cannot be split or merged again.
        let closed =
            "Shard shardId-000000000001 in stream s under account 123456789012 has already been merged or split, and "
                + "thus is not eligible for merging or splitting."
        expectError(.resourceInUse, closed) { () throws(KinesisError) in
            try split("200000000000000000000000000000000000000")
        }
        expectError(.resourceInUse, closed) { () throws(KinesisError) in
            try h.k.mergeShards(
                MergeShardsInput(
                    streamName: "s", shardToMerge: "shardId-000000000000", adjacentShardToMerge: "shardId-000000000001")
            )
        }
        // The largest valid key is EndingHashKey − 1 (shard 0 ends at …484).
        h.advance(.milliseconds(200))
        _ = try h.k.splitShard(
            SplitShardInput(
                streamName: "s", shardToSplit: "shardId-000000000000",
                newStartingHashKey: "113427455640312821154458202477256070483"))
    }

    @Test func mergeNeedsAnAdjacentPairInOrder() throws {
        func merge(_ a: Int, _ b: Int) throws(KinesisError) {
            h.advance(.milliseconds(200))  // MergeShards is 5 TPS; failed calls count too
            _ = try h.k.mergeShards(
                MergeShardsInput(
                    streamName: "s", shardToMerge: ShardID.string(a), adjacentShardToMerge: ShardID.string(b)))
        }
        for (a, b) in [(0, 2), (2, 0), (1, 0), (2, 1), (1, 1)] {
            expectError(
                .invalidArgument,
                "Shards \(ShardID.string(a)) and \(ShardID.string(b)) in stream s under account 123456789012 are not "
                    + "an adjacent pair of shards eligible for merging"
            ) { () throws(KinesisError) in
                try merge(a, b)
            }
        }
        // MergeShards says "Could not find shard" (kinesalite's AWS-run test), not GetShardIterator's "does not exist".
        expectError(
            .resourceNotFound, "Could not find shard shardId-000000000009 in stream s under account 123456789012."
        ) {
            () throws(KinesisError) in try merge(1, 9)
        }
        try merge(1, 2)
        h.advance(.seconds(1))
        let child = try #require(try h.listAllShards().last)
        #expect(child.shardId == "shardId-000000000003")
        #expect(child.parentShardId == "shardId-000000000001")
        #expect(child.adjacentParentShardId == "shardId-000000000002")
        #expect(
            child.hashKeyRange
                == HashKeyRange(startingHashKey: "113427455640312821154458202477256070485", endingHashKey: maxHash))
    }

    // MARK: ListShards pagination rules

    @Test func listShardsNextTokenRules() throws {
        expectError(.invalidArgument, "Either NextToken or StreamName should be provided.") { () throws(KinesisError) in
            try h.k.listShards(ListShardsInput())
        }
        let page = try h.k.listShards(ListShardsInput(streamName: "s", maxResults: 2))
        #expect(page.shards.map(\.shardId) == ["shardId-000000000000", "shardId-000000000001"])
        let token = try #require(page.nextToken)
        expectError(.invalidArgument, "NextToken and StreamName cannot be provided together.") {
            () throws(KinesisError) in
            try h.k.listShards(ListShardsInput(streamName: "s", nextToken: token))
        }
        expectError(.invalidArgument) { () throws(KinesisError) in
            try h.k.listShards(ListShardsInput(nextToken: "bm90IGEgdG9rZW4="))
        }
        h.advance(.seconds(300))
        let rest = try h.k.listShards(ListShardsInput(nextToken: token))
        #expect(rest.shards.map(\.shardId) == ["shardId-000000000002"])
        #expect(rest.nextToken == nil)
        h.advance(.milliseconds(1))
        let e = expectError(.expiredNextToken) { () throws(KinesisError) in
            try h.k.listShards(ListShardsInput(nextToken: token))
        }
        #expect(e?.type.httpStatus == 400)
    }

    @Test func listStreamConsumersTokenExpires() throws {
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
        for i in 0..<3 {
            _ = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c\(i)"))
            h.advance(.seconds(1))
        }
        let page = try h.k.listStreamConsumers(ListStreamConsumersInput(streamARN: arn, maxResults: 2))
        let token = try #require(page.nextToken)
        h.advance(.milliseconds(300_001))
        expectError(.expiredNextToken) { () throws(KinesisError) in
            try h.k.listStreamConsumers(ListStreamConsumersInput(streamARN: arn, nextToken: token))
        }
    }

    @Test func deleteStreamWithConsumersNeedsEnforceConsumerDeletion() throws {
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
        let c = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c")).consumer
        expectError(.resourceInUse) { () throws(KinesisError) in
            try h.k.deleteStream(DeleteStreamInput(streamName: "s"))
        }
        expectError(.resourceInUse) { () throws(KinesisError) in
            try h.k.deleteStream(DeleteStreamInput(streamName: "s", enforceConsumerDeletion: false))
        }
        #expect(try h.status() == .active)
        _ = try h.k.deleteStream(DeleteStreamInput(streamName: "s", enforceConsumerDeletion: true))
        h.advance(.seconds(1))
        expectError(.resourceNotFound) { () throws(KinesisError) in
            try h.k.describeStreamConsumer(StreamConsumerInput(consumerARN: c.consumerARN))
        }
        expectError(.resourceNotFound, "Stream s under account 123456789012 not found.") { () throws(KinesisError) in
            try h.status()
        }
        // Without consumers no flag is needed; a deregistered consumer no longer counts.
        try h.stream("t")
        let tarn = "arn:aws:kinesis:us-east-1:123456789012:stream/t"
        _ = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: tarn, consumerName: "c"))
        h.advance(.seconds(1))
        _ = try h.k.deregisterStreamConsumer(StreamConsumerInput(streamARN: tarn, consumerName: "c"))
        h.advance(.seconds(1))
        _ = try h.k.deleteStream(DeleteStreamInput(streamName: "t"))
    }
}
