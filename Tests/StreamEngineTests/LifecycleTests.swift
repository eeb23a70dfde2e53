import Foundation
import Testing

@testable import StreamEngine

/// Status transitions with their delays, on-demand mode, accounts and regions,
/// and the engine's memory budget.
@Suite struct LifecycleTests {
    func kinds(_ h: Harness) -> [EngineEvent.Kind] { h.engine.events.events().map(\.kind) }

    @Test func creatingActiveUpdatingActiveDeletingGone() throws {
        let h = Harness(delays: StatusDelays())
        _ = try h.k.createStream(CreateStreamInput(streamName: "s", shardCount: 2))
        #expect(try h.status() == .creating)
        #expect(
            try h.k.describeStreamSummary(StreamInput(streamName: "s")).streamDescriptionSummary.openShardCount == 0)
        h.advance(.milliseconds(499))
        #expect(try h.status() == .creating)
        expectError(.resourceNotFound, "Stream s under account 123456789012 not found.") { () throws(KinesisError) in
            try h.put()
        }
        h.advance(.milliseconds(1))
        #expect(try h.status() == .active)
        let d = try h.k.describeStream(DescribeStreamInput(streamName: "s")).streamDescription
        #expect(d.shards.count == 2)
        #expect(d.retentionPeriodHours == 24)
        #expect(d.encryptionType == EncryptionType.none)
        #expect(d.enhancedMonitoring == [EnhancedMetrics(shardLevelMetrics: [])])
        #expect(d.streamModeDetails == StreamModeDetails(streamMode: .provisioned))
        #expect(d.streamARN == "arn:aws:kinesis:us-east-1:123456789012:stream/s")
        #expect(d.hasMoreShards == false)

        // Split: UPDATING for 500 ms; writes still go to the parent meanwhile.
        _ = try h.k.splitShard(
            SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        #expect(try h.status() == .updating)
        #expect(try h.put(hash: "0").shardId == "shardId-000000000000")
        h.advance(.milliseconds(499))
        #expect(try h.status() == .updating)
        h.advance(.milliseconds(1))
        #expect(try h.status() == .active)
        #expect(try h.put(hash: "0").shardId == "shardId-000000000002")

        // UpdateShardCount and encryption changes go through UPDATING too.
        _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 2))
        #expect(try h.status() == .updating)
        h.advance(.milliseconds(500))
        #expect(try h.status() == .active)
        _ = try h.k.startStreamEncryption(
            StreamEncryptionInput(streamName: "s", encryptionType: .kms, keyId: "alias/aws/kinesis"))
        #expect(try h.status() == .updating)
        #expect(try h.put().encryptionType == EncryptionType.none)
        h.advance(.milliseconds(500))
        #expect(try h.status() == .active)
        let encrypted = try h.put(hash: "0")
        #expect(encrypted.encryptionType == .kms)
        let summary = try h.k.describeStreamSummary(StreamInput(streamName: "s")).streamDescriptionSummary
        #expect(summary.encryptionType == .kms && summary.keyId == "alias/aws/kinesis")

        // Delete: DELETING for 500 ms, then gone.
        _ = try h.k.deleteStream(DeleteStreamInput(streamName: "s"))
        #expect(try h.status() == .deleting)
        h.advance(.milliseconds(499))
        #expect(
            try h.k.describeStream(DescribeStreamInput(streamName: "s")).streamDescription.streamStatus == .deleting)
        #expect(try h.k.listStreams(ListStreamsInput()).streamNames == ["s"])
        h.advance(.milliseconds(1))
        expectError(.resourceNotFound, "Stream s under account 123456789012 not found.") { () throws(KinesisError) in
            try h.status()
        }
        #expect(try h.k.listStreams(ListStreamsInput()).streamNames == [])
        h.engine.tick()
        #expect(h.engine.sample().streams.isEmpty)
        #expect(h.engine.retainedPayloadBytes == 0)
        let k = kinds(h)
        #expect(k.first == .streamCreating)
        #expect(
            k.contains(.streamActive) && k.contains(.shardSplit) && k.contains(.shardCountUpdated)
                && k.contains(.encryptionChanged))
        #expect(Array(k.suffix(2)) == [.streamDeleting, .streamDeleted])
        // The name can be used again.
        _ = try h.k.createStream(CreateStreamInput(streamName: "s", shardCount: 1))
    }

    @Test func configuredDelaysAreHonoured() throws {
        var delays = StatusDelays()
        delays.create = .seconds(3)
        delays.update = .seconds(10)
        delays.consumerCreate = .seconds(2)
        let h = Harness(delays: delays)
        let arn = try h.stream()
        #expect(try h.status() == .active)
        _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 2))
        h.advance(.milliseconds(9_999))
        #expect(try h.status() == .updating)
        expectError(.resourceInUse, "Stream s under account 123456789012 not ACTIVE, instead in state UPDATING") {
            () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 1))
        }
        h.advance(.milliseconds(1))
        #expect(try h.status() == .active)
        let c = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c")).consumer
        h.advance(.milliseconds(1_999))
        #expect(
            try h.k.describeStreamConsumer(StreamConsumerInput(consumerARN: c.consumerARN)).consumerDescription
                .consumerStatus == .creating)
        h.advance(.milliseconds(1))
        #expect(
            try h.k.describeStreamConsumer(StreamConsumerInput(consumerARN: c.consumerARN)).consumerDescription
                .consumerStatus == .active)
    }

    // MARK: on-demand

    @Test func onDemandStartsWithFourShardsAndRefusesManualResharding() throws {
        let h = Harness()
        _ = try h.k.createStream(
            CreateStreamInput(streamName: "s", streamModeDetails: StreamModeDetails(streamMode: .onDemand)))
        let d = try h.k.describeStream(DescribeStreamInput(streamName: "s")).streamDescription
        #expect(d.streamModeDetails?.streamMode == .onDemand)
        #expect(
            d.shards.map(\.hashKeyRange)
                == HashKey.uniformRanges(count: 4).map {
                    HashKeyRange(startingHashKey: String($0.lowerBound), endingHashKey: String($0.upperBound))
                })
        expectError(.validation, "ShardCount is not expected when StreamMode=ON_DEMAND") { () throws(KinesisError) in
            try h.k.createStream(
                CreateStreamInput(
                    streamName: "t", shardCount: 2, streamModeDetails: StreamModeDetails(streamMode: .onDemand)))
        }
        expectError(.validation) { () throws(KinesisError) in
            try h.k.splitShard(
                SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        }
        expectError(.validation) { () throws(KinesisError) in
            try h.k.mergeShards(
                MergeShardsInput(
                    streamName: "s", shardToMerge: "shardId-000000000000", adjacentShardToMerge: "shardId-000000000001")
            )
        }
        expectError(.validation) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 8))
        }
        #expect(try h.k.describeLimits().onDemandStreamCount == 1)
    }

    // On-demand capacity (twice the peak, the scaling delay): OnDemandCapacityTests.

    @Test func streamModeSwitchesTwicePerRollingDayKeepingShards() throws {
        let h = Harness()
        let arn = try h.stream(shards: 3)
        func switchTo(_ mode: StreamMode) throws(KinesisError) {
            _ = try h.k.updateStreamMode(
                UpdateStreamModeInput(streamARN: arn, streamModeDetails: StreamModeDetails(streamMode: mode)))
            h.advance(.seconds(1))
        }
        expectError(.invalidArgument) { () throws(KinesisError) in try switchTo(.provisioned) }
        try switchTo(.onDemand)
        #expect(
            try h.k.describeStreamSummary(StreamInput(streamName: "s")).streamDescriptionSummary.openShardCount == 3)
        expectError(.validation) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 4))
        }
        try switchTo(.provisioned)
        expectError(.limitExceeded) { () throws(KinesisError) in try switchTo(.onDemand) }
        h.advance(.hours(24))
        try switchTo(.onDemand)
        #expect(try h.listAllShards(filter: ShardFilter(type: .atLatest)).count == 3)
    }

    @Test func listStreamsPages() throws {
        let h = Harness()
        for name in ["d", "b", "a", "e", "c"] {
            try h.stream(name)
            h.advance(.milliseconds(200))
        }
        let first = try h.k.listStreams(ListStreamsInput(limit: 2))
        #expect(first.streamNames == ["a", "b"])
        #expect(first.hasMoreStreams)
        #expect(
            first.streamSummaries.map(\.streamARN) == [
                "arn:aws:kinesis:us-east-1:123456789012:stream/a",
                "arn:aws:kinesis:us-east-1:123456789012:stream/b",
            ])
        let token = try #require(first.nextToken)
        let second = try h.k.listStreams(ListStreamsInput(limit: 2, nextToken: token))
        #expect(second.streamNames == ["c", "d"])
        let third = try h.k.listStreams(ListStreamsInput(exclusiveStartStreamName: "d"))
        #expect(third.streamNames == ["e"])
        #expect(!third.hasMoreStreams && third.nextToken == nil)
    }

    // MARK: accounts and regions

    @Test func accountsAndRegionsAreSeparate() throws {
        let h = Harness()
        let a = h.engine.service(account: "111111111111")
        let b = h.engine.service(account: "222222222222")
        let eu = h.engine.service(region: "eu-west-1")
        #expect(h.engine.service() === h.k)
        #expect(h.engine.service(account: "111111111111") === a)
        for svc in [a, b, eu, h.k] {
            for i in 0..<5 {
                _ = try svc.createStream(CreateStreamInput(streamName: i == 0 ? "s" : "s\(i)", shardCount: 1))
            }
        }
        _ = try a.putRecord(PutRecordInput(streamName: "s", data: Data("a".utf8), partitionKey: "k"))
        #expect(
            try b.getRecords(
                GetRecordsInput(
                    shardIterator: b.getShardIterator(
                        GetShardIteratorInput(
                            streamName: "s", shardId: "shardId-000000000000", shardIteratorType: .trimHorizon)
                    ).shardIterator)
            ).records.isEmpty)
        #expect(
            try a.describeStream(DescribeStreamInput(streamName: "s")).streamDescription.streamARN
                == "arn:aws:kinesis:us-east-1:111111111111:stream/s")
        #expect(
            try eu.describeStream(DescribeStreamInput(streamName: "s")).streamDescription.streamARN
                == "arn:aws:kinesis:eu-west-1:123456789012:stream/s")
        expectError(.resourceNotFound, "Stream x under account 222222222222 not found.") { () throws(KinesisError) in
            try b.describeStream(DescribeStreamInput(streamName: "x"))
        }
        _ = try a.deleteStream(DeleteStreamInput(streamName: "s"))
        h.advance(.seconds(1))
        #expect(try b.describeStream(DescribeStreamInput(streamName: "s")).streamDescription.streamStatus == .active)
        #expect(a.streamNames.count == 4 && b.streamNames.count == 5)
        #expect(h.engine.sample().streams.count == 19)
    }

    // MARK: memory budget

    /// What one 999-byte record under key "k" holds against the memory budget.
    static let unit = resident(999, key: "k")

    @Test func memoryBudgetTrimsTheOldestRecordsAndSaysSo() throws {
        let h = Harness { $0.retainedBytesBudget = 10 * Self.unit }
        try h.stream(shards: 2)
        // Ten records of exactly 1,000 bytes, alternating shards, 10 ms apart.
        var seqs: [String] = []
        for i in 0..<10 {
            seqs.append(try h.put(data: bytes(999), key: "k", hash: i % 2 == 0 ? "0" : maxHash).sequenceNumber)
            h.advance(.milliseconds(10))
        }
        h.engine.tick()
        #expect(h.engine.retainedPayloadBytes == 10 * Self.unit)
        #expect(!kinds(h).contains(.recordsEvicted))
        // One more (within the 1/8 slack of the put path): the next tick trims the oldest.
        seqs.append(try h.put(data: bytes(999), key: "k", hash: maxHash).sequenceNumber)
        #expect(h.engine.retainedPayloadBytes == 11 * Self.unit)
        h.engine.tick()
        #expect(h.engine.retainedPayloadBytes == 10 * Self.unit)
        let evicted = h.engine.events.events().filter { $0.kind == .recordsEvicted }
        #expect(!evicted.isEmpty)
        #expect(evicted.allSatisfy { $0.stream == "s" && !$0.message.isEmpty })
        let sample = try #require(h.engine.sample().streams.first)
        let evictedRecords = sample.shards.reduce(0) { $0 + $1.counters.evictedRecords }
        #expect(evictedRecords == 1)
        #expect(sample.shards[0].counters.evictedRecords == 1 && sample.shards[0].counters.evictedBytes == 1_000)
        #expect(sample.shards.reduce(0) { $0 + $1.retainedRecords } == 10)
        #expect(evicted.first?.shards == ["shardId-000000000000"])
        // What is left is the newest ten: the oldest record (in shard 0) is gone.
        let left =
            try h.drain(h.iterator(shard: "shardId-000000000000")).records.map(\.sequenceNumber)
            + h.drain(h.iterator(shard: "shardId-000000000001")).records.map(\.sequenceNumber)
        #expect(Set(left) == Set(seqs.dropFirst(1)))
        #expect(h.engine.sample().retainedBytes == 10 * Self.unit)
    }

    @Test func putPathBackstopTrimsTheOldestRecordsFirst() throws {
        let h = Harness { $0.retainedBytesBudget = 10 * Self.unit }
        try h.stream(shards: 2)
        // Old records in shard 1, then a burst into shard 0 far over budget (no tick in between).
        var old: [String] = []
        for _ in 0..<8 { old.append(try h.put(data: bytes(999), key: "k", hash: maxHash).sequenceNumber) }
        h.advance(.seconds(10))
        let burst = try h.k.putRecords(
            PutRecordsInput(
                records: (0..<6).map { _ in
                    PutRecordsRequestEntry(data: bytes(999), explicitHashKey: "0", partitionKey: "k")
                }, streamName: "s"))
        #expect(burst.failedRecordCount == 0)
        // 14 units > budget + 1/8: trimmed at once, oldest first: four of the old records.
        #expect(h.engine.retainedPayloadBytes == 10 * Self.unit)
        #expect(kinds(h).contains(.recordsEvicted))
        let shard0 = try h.drain(h.iterator(shard: "shardId-000000000000")).records.map(\.sequenceNumber)
        let shard1 = try h.drain(h.iterator(shard: "shardId-000000000001")).records.map(\.sequenceNumber)
        #expect(shard0 == burst.records.map { $0.sequenceNumber! })
        #expect(shard1 == Array(old.suffix(4)))
    }

    @Test func aDeletedStreamsBytesLeaveTheBudgetEvenIfItsNameIsReused() throws {
        let h = Harness()
        try h.stream()
        _ = try h.put(data: bytes(98))  // 100 bytes with the key
        _ = try h.k.deleteStream(DeleteStreamInput(streamName: "s"))
        h.advance(.seconds(1))
        // Re-created before any tick removed the old one.
        try h.stream()
        _ = try h.put(data: bytes(8))
        h.engine.tick()
        #expect(h.engine.retainedPayloadBytes == resident(8))
        #expect(h.engine.sample().retainedBytes == resident(8))
    }

    @Test func nothingCrashesUnderATinyBudget() throws {
        let h = Harness(limits: .off) { $0.retainedBytesBudget = 1 }
        try h.stream(shards: 3)
        for i in 0..<50 {
            _ = try h.k.putRecords(
                PutRecordsInput(
                    records: (0..<20).map { j in
                        PutRecordsRequestEntry(data: bytes(100 + j), partitionKey: "k\(i)-\(j)")
                    }, streamName: "s"))
            if i % 7 == 0 { h.engine.tick() }
            if i % 11 == 0 { _ = try h.get(h.iterator(shard: ShardID.string(i % 3))) }
        }
        h.engine.tick()
        #expect(h.engine.retainedPayloadBytes <= 1)
        let sample = try #require(h.engine.sample().streams.first)
        #expect(sample.shards.reduce(0) { $0 + $1.counters.incomingRecords } == 1_000)
        #expect(
            sample.shards.reduce(0) { $0 + $1.counters.evictedRecords }
                + Int64(sample.shards.reduce(0) { $0 + $1.retainedRecords }) == 1_000)
        // Reads from any position still work.
        _ = try h.get(h.iterator(shard: "shardId-000000000000", .trimHorizon))
        _ = try h.get(h.iterator(shard: "shardId-000000000001", .latest))
    }
}
