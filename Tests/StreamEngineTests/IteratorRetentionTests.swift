import Foundation
import Testing

@testable import StreamEngine

/// Shard iterator positions and lifetime, shard end, retention (KINESIS.md §2.3, §3).
@Suite struct IteratorTests {
    let h: Harness
    let t0: Instant
    let seqs: [String]

    /// Three records one second apart.
    init() throws {
        h = Harness()
        try h.stream()
        t0 = h.now
        var seqs: [String] = []
        for i in 0..<3 {
            seqs.append(try h.put(data: Data("r\(i)".utf8)).sequenceNumber)
            h.advance(.seconds(1))
        }
        self.seqs = seqs
    }

    func read(_ type: ShardIteratorType, sequence: String? = nil, at: Instant? = nil) throws(KinesisError) -> [String] {
        h.advance(.milliseconds(200))  // stay inside GetShardIterator's and GetRecords' 5/s
        return try h.get(h.iterator(shard: "shardId-000000000000", type, sequence: sequence, timestamp: at?.date))
            .records.map(\.sequenceNumber)
    }

    @Test func positions() throws {
        #expect(try read(.trimHorizon) == seqs)
        #expect(try read(.latest) == [])
        #expect(try read(.atSequenceNumber, sequence: seqs[1]) == Array(seqs[1...]))
        #expect(try read(.afterSequenceNumber, sequence: seqs[1]) == [seqs[2]])
        #expect(try read(.afterSequenceNumber, sequence: seqs[2]) == [])
        #expect(try read(.atSequenceNumber, sequence: seqs[0]) == seqs)
        let start = try h.k.describeStream(DescribeStreamInput(streamName: "s")).streamDescription.shards[0]
            .sequenceNumberRange.startingSequenceNumber
        #expect(try read(.atSequenceNumber, sequence: start) == seqs)
        #expect(try read(.afterSequenceNumber, sequence: start) == seqs)
        // AT_TIMESTAMP: the first record that arrived at or after the timestamp.
        #expect(try read(.atTimestamp, at: t0) == seqs)
        #expect(try read(.atTimestamp, at: t0 + .milliseconds(1)) == Array(seqs[1...]))
        #expect(try read(.atTimestamp, at: t0 + .seconds(1)) == Array(seqs[1...]))
        #expect(try read(.atTimestamp, at: t0 + .milliseconds(2_500)) == [])
        #expect(try read(.atTimestamp, at: t0 - .seconds(3_600)) == seqs)
        #expect(try read(.atTimestamp, at: h.now) == [])
    }

    @Test func latestSeesOnlyNewRecords() throws {
        let it = try h.iterator(shard: "shardId-000000000000", .latest)
        let r3 = try h.put().sequenceNumber
        let out = try h.get(it)
        #expect(out.records.map(\.sequenceNumber) == [r3])
        #expect(out.millisBehindLatest == 0)
        #expect(out.childShards == nil)
    }

    @Test func recordsCarryArrivalTimeAndLag() throws {
        let out = try h.get(h.iterator(), limit: 1)
        let r = try #require(out.records.first)
        #expect(r.approximateArrivalTimestamp == t0.date)
        #expect(r.data == Data("r0".utf8))
        #expect(r.partitionKey == "pk")
        #expect(r.encryptionType == EncryptionType.none)
        // Next unread record arrived at t0+1 s; the clock is at t0+3 s.
        #expect(out.millisBehindLatest == 2_000)
        h.advance(.milliseconds(1))  // the read's bytes are repaid (2 MiB/s) before the next call
        let rest = try h.get(out.nextShardIterator!)
        #expect(rest.records.count == 2)
        #expect(rest.millisBehindLatest == 0)
    }

    @Test func iteratorIsReusableForFiveMinutes() throws {
        let it = try h.iterator()
        let a = try h.get(it)
        h.advance(.seconds(150))
        let b = try h.get(it)
        #expect(a.records == b.records)
        h.advance(.seconds(150))  // exactly 300 000 ms after issue
        #expect(try h.get(it).records == a.records)
        // NextShardIterator is a fresh five minutes from when it was returned.
        let next = try #require(b.nextShardIterator)
        h.advance(.milliseconds(1))
        expectError(.expiredIterator) { () throws(KinesisError) in try h.get(it) }
        #expect(try h.get(next).records.isEmpty)
        h.advance(.seconds(150))
        expectError(.expiredIterator) { () throws(KinesisError) in try h.get(next) }
    }

    @Test func closedShardEndsWithChildShards() throws {
        _ = try h.k.splitShard(
            SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        h.advance(.seconds(1))
        let first = try h.get(h.iterator(), limit: 2)
        #expect(first.records.map(\.sequenceNumber) == Array(seqs[0..<2]))
        #expect(first.childShards == nil)
        h.advance(.milliseconds(1))
        let last = try h.get(try #require(first.nextShardIterator))
        #expect(last.records.map(\.sequenceNumber) == [seqs[2]])
        #expect(last.nextShardIterator == nil)
        #expect(last.millisBehindLatest == 0)
        let children = try #require(last.childShards)
        #expect(children.map(\.shardId) == ["shardId-000000000001", "shardId-000000000002"])
        #expect(children.map(\.parentShards) == [["shardId-000000000000"], ["shardId-000000000000"]])
        #expect(
            children.map(\.hashKeyRange) == [
                HashKeyRange(startingHashKey: "0", endingHashKey: "999"),
                HashKeyRange(startingHashKey: "1000", endingHashKey: maxHash),
            ])
        // LATEST on a closed shard sits at its end.
        h.advance(.seconds(1))
        let end = try h.get(h.iterator(shard: "shardId-000000000000", .latest))
        #expect(end.records.isEmpty)
        #expect(end.nextShardIterator == nil)
        #expect(end.childShards?.count == 2)
        // A merge child lists both parents.
        _ = try h.k.mergeShards(
            MergeShardsInput(
                streamName: "s", shardToMerge: "shardId-000000000001", adjacentShardToMerge: "shardId-000000000002"))
        h.advance(.seconds(1))
        let tail = try h.get(h.iterator(shard: "shardId-000000000002", .trimHorizon))
        #expect(
            tail.childShards == [
                ChildShard(
                    shardId: "shardId-000000000003",
                    parentShards: ["shardId-000000000001", "shardId-000000000002"],
                    hashKeyRange: HashKeyRange(startingHashKey: "0", endingHashKey: maxHash))
            ])
    }

    @Test func iteratorOfADeletedAndRecreatedStreamIsRefused() throws {
        let it = try h.iterator()
        _ = try h.k.deleteStream(DeleteStreamInput(streamName: "s"))
        h.advance(.seconds(1))
        try h.stream()
        _ = try h.put()
        expectError(
            .resourceNotFound, "Shard shardId-000000000000 in stream s under account 123456789012 does not exist"
        ) { () throws(KinesisError) in
            try h.get(it)
        }
    }
}

@Suite struct RetentionTests {
    @Test func recordsOlderThanTheRetentionPeriodAreTrimmed() throws {
        let h = Harness()
        try h.stream()
        let t0 = h.now
        let r0 = try h.put(data: bytes(99)).sequenceNumber
        h.advance(.hours(1))
        let r1 = try h.put(data: bytes(99)).sequenceNumber
        h.clock.advance(to: t0 + .hours(24))  // exactly 24 h: still retained
        #expect(try h.get(h.iterator()).records.map(\.sequenceNumber) == [r0, r1])
        #expect(h.engine.retainedPayloadBytes == 2 * resident(99))
        h.advance(.milliseconds(1))
        h.engine.tick()
        #expect(h.engine.retainedPayloadBytes == resident(99))
        h.advance(.milliseconds(200))
        #expect(try h.get(h.iterator()).records.map(\.sequenceNumber) == [r1])
        let c = try #require(h.engine.sample().streams.first?.shards.first?.counters)
        #expect(c.expiredRecords == 1)
        #expect(c.expiredBytes == 101)
        // Positions before the trim horizon start at it.
        h.advance(.milliseconds(200))
        #expect(
            try h.get(h.iterator(shard: "shardId-000000000000", .atSequenceNumber, sequence: r0)).records.map(
                \.sequenceNumber) == [r1])
        h.advance(.milliseconds(200))
        #expect(
            try h.get(h.iterator(shard: "shardId-000000000000", .atTimestamp, timestamp: t0.date)).records.map(
                \.sequenceNumber) == [r1])
        // Trimming happens on read even without a tick.
        h.advance(.hours(1))
        #expect(try h.get(h.iterator()).records.isEmpty)
    }

    @Test func decreasingRetentionTrimsAtOnce() throws {
        let h = Harness()
        try h.stream()
        _ = try h.k.increaseStreamRetentionPeriod(StreamRetentionInput(streamName: "s", retentionPeriodHours: 48))
        let r0 = try h.put().sequenceNumber
        h.advance(.hours(30))
        let r1 = try h.put().sequenceNumber
        #expect(try h.get(h.iterator()).records.map(\.sequenceNumber) == [r0, r1])
        _ = try h.k.decreaseStreamRetentionPeriod(StreamRetentionInput(streamName: "s", retentionPeriodHours: 24))
        #expect(h.engine.sample().streams.first?.shards.first?.counters.expiredRecords == 1)
        #expect(h.engine.sample().streams.first?.shards.first?.retainedRecords == 1)
        h.advance(.milliseconds(200))
        #expect(try h.get(h.iterator()).records.map(\.sequenceNumber) == [r1])
        #expect(h.engine.events.events().contains { $0.kind == .retentionChanged })
    }

    @Test func closedShardsExpireFromListings() throws {
        let h = Harness()
        try h.stream()
        _ = try h.put()
        _ = try h.k.splitShard(
            SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        let closedAt = h.now
        h.advance(.seconds(1))
        #expect(try h.describeAllShards().count == 3)
        h.clock.advance(to: closedAt + .hours(24))
        #expect(try h.listAllShards().count == 3)
        h.advance(.milliseconds(1))
        #expect(try h.describeAllShards().map(\.shardId) == ["shardId-000000000001", "shardId-000000000002"])
        #expect(try h.listAllShards().map(\.shardId) == ["shardId-000000000001", "shardId-000000000002"])
        expectError(
            .resourceNotFound, "Shard shardId-000000000000 in stream s under account 123456789012 does not exist"
        ) { () throws(KinesisError) in
            try h.iterator()
        }
    }

    @Test func listShardsFilters() throws {
        let h = Harness()
        try h.stream()
        let t0 = h.now
        h.advance(.seconds(10))
        _ = try h.k.splitShard(
            SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        h.advance(.seconds(10))
        _ = try h.k.mergeShards(
            MergeShardsInput(
                streamName: "s", shardToMerge: "shardId-000000000001", adjacentShardToMerge: "shardId-000000000002"))
        h.advance(.seconds(10))
        func ids(_ type: ShardFilterType, shard: String? = nil, at: Instant? = nil) throws(KinesisError) -> [String] {
            try h.listAllShards(filter: ShardFilter(type: type, shardId: shard, timestamp: at?.date)).map(\.shardId)
        }
        let all = (0...3).map(ShardID.string)
        #expect(try ids(.atLatest) == ["shardId-000000000003"])
        #expect(try ids(.atTrimHorizon) == ["shardId-000000000000"])
        #expect(try ids(.fromTrimHorizon) == all)
        #expect(try h.listAllShards().map(\.shardId) == all)
        #expect(try ids(.atTimestamp, at: t0 + .seconds(5)) == ["shardId-000000000000"])
        #expect(try ids(.atTimestamp, at: t0 + .seconds(15)) == ["shardId-000000000001", "shardId-000000000002"])
        #expect(try ids(.atTimestamp, at: t0 + .seconds(25)) == ["shardId-000000000003"])
        #expect(try ids(.fromTimestamp, at: t0 + .seconds(15)) == Array(all.dropFirst()))
        #expect(try ids(.fromTimestamp, at: t0 + .seconds(25)) == ["shardId-000000000003"])
        #expect(
            try ids(.afterShardId, shard: "shardId-000000000001") == ["shardId-000000000002", "shardId-000000000003"])
        expectError(.invalidArgument) { () throws(KinesisError) in try ids(.afterShardId) }
        expectError(.invalidArgument) { () throws(KinesisError) in try ids(.atTimestamp) }
        #expect(
            try h.k.listShards(ListShardsInput(streamName: "s", exclusiveStartShardId: "shardId-000000000002")).shards
                .map(\.shardId)
                == ["shardId-000000000003"])
        // A day later the trim horizon has moved past the first split.
        h.clock.advance(to: t0 + .hours(24) + .seconds(15))
        #expect(try ids(.atTrimHorizon) == ["shardId-000000000001", "shardId-000000000002"])
        #expect(try ids(.fromTrimHorizon) == Array(all.dropFirst()))
    }
}
