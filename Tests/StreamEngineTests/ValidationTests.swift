import Foundation
import Testing

@testable import StreamEngine

/// Coral-style ValidationExceptions (KINESIS.md §1.5): type, exact message,
/// errors counted and joined with `; ` in the order AWS lists the members
/// (kinesalite's tests, run against AWS, pin that order).
@Suite struct CoralValidationTests {
    let h: Harness
    init() throws {
        h = Harness()
        try h.stream()
    }

    static let name129 = String(repeating: "a", count: 129)

    /// `check(...)` hands back the required members as values: the collected ValidationException first, and a
    /// member that no check declared required is an InternalFailure, never a trap that stops the server.
    @Test func checkReturnsTheRequiredMembersOrAnErrorNeverATrap() throws {
        var v = Validator()
        let name: String? = "s"
        let count: Int? = 3
        let (n, c) = try v.check(name, count)
        #expect(n == "s" && c == 3)
        let missing: String? = nil
        let e = expectError(.internalFailure) { () throws(KinesisError) in _ = try v.check(name, missing) }
        #expect(e?.message.contains("not validated") == true)
        v.required(missing, "streamName")
        expectError(
            .validation,
            "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: "
                + "Member must not be null"
        ) { () throws(KinesisError) in _ = try v.check(missing) }
    }

    @Test func streamNameLongerThan128() {
        expectValidation([
            "Value '\(Self.name129)' at 'streamName' failed to satisfy constraint: Member must have length less than "
                + "or equal to 128"
        ]) { () throws(KinesisError) in
            try h.k.createStream(CreateStreamInput(streamName: Self.name129, shardCount: 1))
        }
        // 128 is fine.
        _ = try? h.k.createStream(CreateStreamInput(streamName: String(repeating: "a", count: 128), shardCount: 1))
        #expect(h.k.streamNames.contains(String(repeating: "a", count: 128)))
    }

    @Test func createStreamNullEmptyAndRange() {
        expectValidation(["Value null at 'streamName' failed to satisfy constraint: Member must not be null"]) {
            () throws(KinesisError) in
            try h.k.createStream(CreateStreamInput(shardCount: 1))
        }
        expectValidation([
            "Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1",
            "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                + "[a-zA-Z0-9_.-]+",
            "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ]) { () throws(KinesisError) in
            try h.k.createStream(CreateStreamInput(streamName: "", shardCount: 0))
        }
        expectValidation([
            "Value 'a b' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression "
                + "pattern: [a-zA-Z0-9_.-]+"
        ]) { () throws(KinesisError) in
            try h.k.createStream(CreateStreamInput(streamName: "a b", shardCount: 1))
        }
        expectValidation([
            "Value 'SIDEWAYS' at 'streamModeDetails.streamMode' failed to satisfy constraint: Member must satisfy "
                + "enum value set: [PROVISIONED, ON_DEMAND]"
        ]) { () throws(KinesisError) in
            try h.k.createStream(
                CreateStreamInput(
                    streamName: "x", streamModeDetails: StreamModeDetails(streamMode: StreamMode(rawValue: "SIDEWAYS")))
            )
        }
    }

    @Test func putRecordNullMembers() {
        expectValidation([
            "Value null at 'partitionKey' failed to satisfy constraint: Member must not be null",
            "Value null at 'data' failed to satisfy constraint: Member must not be null",
        ]) { () throws(KinesisError) in
            try h.k.putRecord(PutRecordInput(streamName: "s"))
        }
        expectValidation(["Value null at 'partitionKey' failed to satisfy constraint: Member must not be null"]) {
            () throws(KinesisError) in
            try h.k.putRecord(PutRecordInput(streamName: "s", data: Data()))
        }
    }

    @Test func putRecordEmptyMembers() {
        // kinesalite's AWS-run test, in AWS's member order.
        expectValidation([
            "Value '' at 'sequenceNumberForOrdering' failed to satisfy constraint: Member must satisfy regular "
                + "expression pattern: 0|([1-9]\\d{0,128})",
            "Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal "
                + "to 1",
            "Value '' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression "
                + "pattern: 0|([1-9]\\d{0,38})",
            "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                + "[a-zA-Z0-9_.-]+",
            "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ]) { () throws(KinesisError) in
            try h.k.putRecord(
                PutRecordInput(
                    streamName: "", data: Data(), partitionKey: "", explicitHashKey: "", sequenceNumberForOrdering: ""))
        }
    }

    @Test func putRecordTooLongMembers() {
        let key = String(repeating: "a", count: 257)
        let data = bytes(10 * MiB + 1)
        expectValidation([
            "Value '\(key)' at 'partitionKey' failed to satisfy constraint: Member must have length less than or "
                + "equal to 256",
            "Value '' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression "
                + "pattern: 0|([1-9]\\d{0,38})",
            "Value 'java.nio.HeapByteBuffer[pos=0 lim=10485761 cap=10485761]' at 'data' failed to satisfy "
                + "constraint: Member must have length less than or equal to 10485760",
            "Value '\(Self.name129)' at 'streamName' failed to satisfy constraint: Member must have length less than "
                + "or equal to 128",
        ]) { () throws(KinesisError) in
            try h.k.putRecord(
                PutRecordInput(streamName: Self.name129, data: data, partitionKey: key, explicitHashKey: ""))
        }
        // A partition key of 256 characters is fine; length counts characters, not bytes.
        _ = try? h.put(key: String(repeating: "é", count: 256))
        #expect(h.engine.sample().streams.first?.shards.first?.counters.incomingRecords == 1)
    }

    @Test func putRecordsCountsAndMemberPaths() {
        expectValidation([
            "Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1"
        ]) { () throws(KinesisError) in
            try h.k.putRecords(PutRecordsInput(records: [], streamName: "s"))
        }
        expectValidation(["Value null at 'records' failed to satisfy constraint: Member must not be null"]) {
            () throws(KinesisError) in
            try h.k.putRecords(PutRecordsInput(streamName: "s"))
        }
        let e = expectError(.validation) { () throws(KinesisError) in
            try h.k.putRecords(
                PutRecordsInput(
                    records: Array(repeating: PutRecordsRequestEntry(data: Data(), partitionKey: "k"), count: 501),
                    streamName: "s"))
        }
        #expect(e?.message.hasPrefix("1 validation error detected: Value '[") == true)
        #expect(
            e?.message.hasSuffix(
                "]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500")
                == true)
        // 500 is fine.
        let ok = try? h.k.putRecords(
            PutRecordsInput(
                records: Array(repeating: PutRecordsRequestEntry(data: Data(), partitionKey: "k"), count: 500),
                streamName: "s"))
        #expect(ok?.failedRecordCount == 0)
        // Entries are addressed with 1-based indices; several errors are counted and joined.
        let records = [
            PutRecordsRequestEntry(data: Data(), partitionKey: "k"),
            PutRecordsRequestEntry(data: Data(), partitionKey: nil),
            PutRecordsRequestEntry(data: nil, explicitHashKey: "01", partitionKey: "k"),
        ]
        expectValidation([
            "Value null at 'records.2.member.partitionKey' failed to satisfy constraint: Member must not be null",
            "Value null at 'records.3.member.data' failed to satisfy constraint: Member must not be null",
            "Value '01' at 'records.3.member.explicitHashKey' failed to satisfy constraint: Member must satisfy "
                + "regular expression pattern: 0|([1-9]\\d{0,38})",
        ]) { () throws(KinesisError) in
            try h.k.putRecords(PutRecordsInput(records: records, streamName: "s"))
        }
    }

    @Test func getRecordsLimitRange() throws {
        let it = try h.iterator()
        expectValidation([
            "Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"
        ]) { () throws(KinesisError) in
            try h.get(it, limit: 10_001)
        }
        expectValidation([
            "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ]) { () throws(KinesisError) in
            try h.get(it, limit: 0)
        }
        expectValidation([
            "Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
            "Value null at 'shardIterator' failed to satisfy constraint: Member must not be null",
        ]) { () throws(KinesisError) in
            try h.k.getRecords(GetRecordsInput(limit: 0))
        }
        _ = try h.get(it, limit: 10_000)
    }

    @Test func getShardIteratorEnumNullAndEmpty() {
        let enumSet = "[AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
        expectValidation([
            "Value 'OLDEST' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value "
                + "set: \(enumSet)"
        ]) { () throws(KinesisError) in
            try h.iterator(shard: "shardId-000000000000", ShardIteratorType(rawValue: "OLDEST"))
        }
        expectValidation([
            "Value null at 'shardId' failed to satisfy constraint: Member must not be null",
            "Value null at 'shardIteratorType' failed to satisfy constraint: Member must not be null",
        ]) { () throws(KinesisError) in
            try h.k.getShardIterator(GetShardIteratorInput(streamName: "s"))
        }
        expectValidation([
            "Value '' at 'shardId' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                + "[a-zA-Z0-9_.-]+",
            "Value '' at 'shardId' failed to satisfy constraint: Member must have length greater than or equal to 1",
            "Value '' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value "
                + "set: \(enumSet)",
            "Value '' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular "
                + "expression pattern: 0|([1-9]\\d{0,128})",
            "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                + "[a-zA-Z0-9_.-]+",
            "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ]) { () throws(KinesisError) in
            try h.k.getShardIterator(
                GetShardIteratorInput(
                    streamName: "", shardId: "", shardIteratorType: ShardIteratorType(rawValue: ""),
                    startingSequenceNumber: ""))
        }
        expectValidation([
            "Value '\(Self.name129)' at 'shardId' failed to satisfy constraint: Member must have length less than or "
                + "equal to 128",
            "Value '\(Self.name129)' at 'streamName' failed to satisfy constraint: Member must have length less than "
                + "or equal to 128",
        ]) { () throws(KinesisError) in
            try h.k.getShardIterator(
                GetShardIteratorInput(streamName: Self.name129, shardId: Self.name129, shardIteratorType: .latest))
        }
    }

    @Test func splitAndMergeMemberOrder() {
        expectValidation([
            "Value null at 'newStartingHashKey' failed to satisfy constraint: Member must not be null",
            "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                + "[a-zA-Z0-9_.-]+",
            "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
            "Value null at 'shardToSplit' failed to satisfy constraint: Member must not be null",
        ]) { () throws(KinesisError) in
            try h.k.splitShard(SplitShardInput(streamName: ""))
        }
        expectValidation([
            "Value null at 'shardToMerge' failed to satisfy constraint: Member must not be null",
            "Value null at 'adjacentShardToMerge' failed to satisfy constraint: Member must not be null",
            "Value '\(Self.name129)' at 'streamName' failed to satisfy constraint: Member must have length less than "
                + "or equal to 128",
        ]) { () throws(KinesisError) in
            try h.k.mergeShards(MergeShardsInput(streamName: Self.name129))
        }
        expectValidation([
            "Value '-1' at 'newStartingHashKey' failed to satisfy constraint: Member must satisfy regular expression "
                + "pattern: 0|([1-9]\\d{0,38})"
        ]) { () throws(KinesisError) in
            try h.k.splitShard(
                SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "-1"))
        }
    }

    @Test func otherRanges() {
        expectValidation([
            "Value '0' at 'targetShardCount' failed to satisfy constraint: Member must have value greater than or "
                + "equal to 1"
        ]) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 0))
        }
        expectValidation([
            "Value 'UNEVEN' at 'scalingType' failed to satisfy constraint: Member must satisfy enum value set: "
                + "[UNIFORM_SCALING]"
        ]) { () throws(KinesisError) in
            try h.k.updateShardCount(
                UpdateShardCountInput(
                    streamName: "s", targetShardCount: 2, scalingType: ScalingType(rawValue: "UNEVEN")))
        }
        expectValidation([
            "Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"
        ]) { () throws(KinesisError) in
            try h.k.describeStream(DescribeStreamInput(streamName: "s", limit: 10_001))
        }
        expectValidation([
            "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ]) { () throws(KinesisError) in
            try h.k.listShards(ListShardsInput(streamName: "s", maxResults: 0))
        }
        expectValidation([
            "Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50"
        ]) { () throws(KinesisError) in
            try h.k.listTagsForStream(ListTagsForStreamInput(streamName: "s", limit: 51))
        }
        expectValidation([
            "Value '1023' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value greater than "
                + "or equal to 1024"
        ]) { () throws(KinesisError) in
            try h.k.updateMaxRecordSize(
                UpdateMaxRecordSizeInput(
                    streamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/s", maxRecordSizeInKiB: 1_023))
        }
        expectValidation(["Value null at 'streamARN' failed to satisfy constraint: Member must not be null"]) {
            () throws(KinesisError) in
            try h.k.listStreamConsumers(ListStreamConsumersInput())
        }
    }
}
