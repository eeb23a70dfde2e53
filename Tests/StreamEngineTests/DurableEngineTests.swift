import Foundation
import Testing

@testable import StreamEngine

/// The engine on a data directory: what a restart keeps, what the memory window leaves on disk,
/// what retention deletes, and who may open the directory. Time comes from a manual clock.
@Suite struct DurableEngineTests {
    let dir = ScratchDirectory()
    let clock = ManualClock()

    func configuration(
        fsync: FsyncPolicy = .always, window: Int? = nil,
        segmentBytes: Int = 64 << 10
    ) -> EngineConfiguration {
        var c = EngineConfiguration()
        c.delays = .immediate
        c.limits = .off
        c.storage = StorageConfiguration(directory: dir.path, fsync: fsync, segmentBytes: segmentBytes)
        if let window { c.retainedBytesBudget = window }
        return c
    }

    func open(_ c: EngineConfiguration? = nil) throws -> (Harness, RecoveryReport) {
        let opened = try KinesisEngine.open(clock: clock, configuration: c ?? configuration())
        return (Harness(clock: clock, engine: opened.engine), opened.recovery)
    }

    /// Puts `count` records with distinct payloads; returns (sequence number, shard, data) of each ack.
    func put(_ h: Harness, count: Int, size: Int = 200, tag: String) throws -> [(String, String, Data)] {
        var acked: [(String, String, Data)] = []
        for start in stride(from: 0, to: count, by: 100) {
            let entries = (start..<min(count, start + 100)).map { i in
                PutRecordsRequestEntry(
                    data: Data("\(tag)-\(i)-".utf8) + Data(repeating: UInt8(i % 256), count: size),
                    explicitHashKey: nil, partitionKey: "key-\(i % 37)")
            }
            let out = try h.k.putRecords(PutRecordsInput(records: entries, streamName: "s"))
            #expect(out.failedRecordCount == 0)
            for (e, r) in zip(entries, out.records) { acked.append((r.sequenceNumber!, r.shardId!, e.data!)) }
            h.advance(ms: 10)
        }
        return acked
    }

    func readAll(_ h: Harness) throws -> [String: [Record]] {
        var out: [String: [Record]] = [:]
        for shard in try h.listAllShards() {
            var records: [Record] = []
            var it: String? = try h.iterator(shard: shard.shardId, .trimHorizon)
            while let current = it {
                let r = try h.get(current)
                records += r.records
                if r.records.isEmpty { break }
                it = r.nextShardIterator
            }
            out[shard.shardId] = records
        }
        return out
    }

    func expectAll(_ acked: [(String, String, Data)], in read: [String: [Record]]) {
        var bySequence: [String: Data] = [:]
        for (shard, records) in read {
            let numbers = records.map { SequenceNumber($0.sequenceNumber)! }
            #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count, "order within \(shard)")
            for r in records { bySequence[r.sequenceNumber] = r.data }
        }
        let missing = acked.filter { bySequence[$0.0] != $0.2 }
        #expect(missing.isEmpty, "\(missing.count) of \(acked.count) acked records not read back as acked")
    }

    /// On-demand capacity is earned: twice the 30-day peak. A restart must not take it back, so the per-day peaks
    /// are in `stream.json`, and a file without them (written before they were kept) still opens.
    @Test func anOnDemandStreamKeepsItsWritePeakAcrossARestart() throws {
        defer { dir.cleanup() }
        var c = configuration()
        c.limits = .aws
        var (h, _) = try open(c)
        _ = try h.k.createStream(
            CreateStreamInput(streamName: "s", streamModeDetails: StreamModeDetails(streamMode: .onDemand)))
        h.advance(.seconds(1))
        h.engine.tick()
        // 300 KiB to each of the four shards within one second: a peak of 1.2 MiB/s.
        for shard in try h.listAllShards() {
            let entries = (0..<3).map { j in
                PutRecordsRequestEntry(
                    data: bytes(100 * 1024 - 2), explicitHashKey: String(shard.start + UInt128(j)),
                    partitionKey: "k\(j)")
            }
            #expect(try h.k.putRecords(PutRecordsInput(records: entries, streamName: "s")).failedRecordCount == 0)
        }
        h.advance(.seconds(1))
        h.engine.tick()
        func peak(_ h: Harness) throws -> WriteRate {
            let now = h.clock.now()
            return try h.k.resolve(name: "s", arn: nil, now: now).meta.read {
                $0.onDemand.peak.peak(at: now, days: 30)
            }
        }
        let before = try peak(h)
        #expect(before.records == 12)
        #expect(before.bytes == Double(4 * 300 * 1024))
        h.engine.close()

        (h, _) = try open(c)
        #expect(try peak(h) == before)
        h.engine.close()

        // A stream.json of before the peaks were kept: the stream opens with no peak (capacity from its shards).
        let file = URL(fileURLWithPath: dir.path)
            .appendingPathComponent("services/\(account)/us-east-1/streams/s/stream.json")
        var json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        #expect(json["onDemandPeaks"] != nil)
        json["onDemandPeaks"] = nil
        try JSONSerialization.data(withJSONObject: json).write(to: file)
        (h, _) = try open(c)
        #expect(try peak(h) == WriteRate())
        h.engine.close()
    }

    @Test func aRestartKeepsStreamsShardsLineageSettingsAndEveryAckedRecord() throws {
        defer { dir.cleanup() }
        var (h, _) = try open()
        try h.stream(shards: 2)
        var acked = try put(h, count: 300, tag: "a")
        _ = try h.k.splitShard(
            SplitShardInput(
                streamName: "s", shardToSplit: "shardId-000000000000",
                newStartingHashKey: "42535295865117307932921825928971026432"))
        h.advance(ms: 1)
        _ = try h.k.addTagsToStream(AddTagsToStreamInput(streamName: "s", tags: ["team": "data"]))
        _ = try h.k.increaseStreamRetentionPeriod(StreamRetentionInput(streamName: "s", retentionPeriodHours: 48))
        let consumer = try h.k.registerStreamConsumer(
            RegisterStreamConsumerInput(
                streamARN: "arn:aws:kinesis:us-east-1:\(account):stream/s", consumerName: "app"))
        acked += try put(h, count: 300, tag: "b")
        let shardsBefore = try h.listAllShards()
        h.engine.close()

        let (h2, report) = try open()
        h = h2
        #expect(report.streams == 1 && report.shards == 4 && report.records == 600)
        #expect(report.damage.isEmpty)
        #expect(try h.listAllShards() == shardsBefore, "same shards, ranges, lineage and sequence ranges")
        let summary = try h.k.describeStreamSummary(StreamInput(streamName: "s")).streamDescriptionSummary
        #expect(summary.retentionPeriodHours == 48 && summary.streamStatus == .active)
        #expect(try h.k.listTagsForStream(ListTagsForStreamInput(streamName: "s")).tags.map(\.key) == ["team"])
        #expect(
            try h.k.listStreamConsumers(
                ListStreamConsumersInput(
                    streamARN: consumer.consumer.consumerARN
                        .components(separatedBy: "/consumer/")[0])
            ).consumers.map(\.consumerName) == ["app"])
        expectAll(acked, in: try readAll(h))
        // New numbers continue above every number issued before the restart, shard by shard.
        let newer = try put(h, count: 100, tag: "c")
        for (sequence, shard, _) in newer {
            let before = acked.filter { $0.1 == shard }.map { SequenceNumber($0.0)! }.max()
            #expect(before.map { SequenceNumber(sequence)! > $0 } ?? true)
        }
        expectAll(acked + newer, in: try readAll(h))
        h.engine.close()
    }

    @Test func recordsOlderThanTheMemoryWindowAreReadFromDisk() throws {
        defer { dir.cleanup() }
        let (h, _) = try open(configuration(window: 1 << 20))
        try h.stream(shards: 1)
        let acked = try put(h, count: 3000, size: 1000, tag: "w")  // ~3 MiB into a 1 MiB window
        h.engine.tick()
        #expect(h.engine.retainedPayloadBytes <= 1 << 20)
        let first = h.engine.events.events().first { $0.kind == .recordsEvicted }
        #expect(first?.message.contains("read from disk") == true)
        let read = try readAll(h)
        #expect(read["shardId-000000000000"]?.count == 3000)
        expectAll(acked, in: read)
        // Evicted to disk is not lost: the counters of records trimmed early stay 0.
        #expect(h.engine.sample().streams[0].shards[0].counters.evictedRecords == 0)
        // AT_TIMESTAMP and AT_SEQUENCE_NUMBER of an early record start on disk.
        let early = try h.get(
            try h.iterator("s", shard: "shardId-000000000000", .atSequenceNumber, sequence: acked[10].0), limit: 1)
        #expect(early.records.first?.data == acked[10].2)
        let byTime = try h.get(
            try h.iterator(
                "s", shard: "shardId-000000000000", .atTimestamp,
                timestamp: Instant(secondsSinceEpoch: 1_764_000_000).date), limit: 1)
        #expect(byTime.records.first?.data == acked[0].2)
        h.engine.close()
    }

    @Test func retentionDeletesSegmentFilesOnceEveryRecordInThemExpired() throws {
        defer { dir.cleanup() }
        let (h, _) = try open()
        try h.stream(shards: 1)
        _ = try put(h, count: 1000, size: 500, tag: "old")
        let shardDirectory = "/services/\(account)/us-east-1/streams/s/shard-000000000000"
        let before = dir.segments(shardDirectory).count
        #expect(before > 3)
        h.advance(.seconds(23 * 3600))
        let fresh = try put(h, count: 10, tag: "new")
        h.engine.tick()
        #expect(dir.segments(shardDirectory).count >= before, "at 23 h nothing has expired yet")
        h.advance(.seconds(2 * 3600))
        h.engine.tick()
        let after = dir.segments(shardDirectory).count
        #expect(after < before, "segments of records past 24 h are deleted")
        #expect(
            h.engine.events.events().contains { $0.kind == .recordsExpired && $0.message.contains("segment files") })
        let read = try readAll(h)
        #expect(read["shardId-000000000000"]?.map(\.data) == fresh.map(\.2))
        h.engine.close()
    }

    @Test func theSampleSaysWhereTheStreamsAreAndHowMuchIsOnDisk() throws {
        defer { dir.cleanup() }
        let (h, _) = try open(configuration(fsync: .interval(milliseconds: 20)))
        try h.stream(shards: 2)
        _ = try put(h, count: 100, tag: "x")
        let storage = try #require(h.engine.sample().storage)
        #expect(storage.directory == dir.path && storage.fsync == "interval:20" && storage.failedShards == 0)
        #expect(storage.diskBytes > 100 * 200)
        let json = try JSONEncoder().encode(h.engine.sample())
        #expect(try JSONDecoder().decode(EngineSample.self, from: json).storage == storage)
        #expect(Harness().engine.sample().storage == nil, "no storage figures in memory")
        h.engine.close()
    }

    @Test func aSecondEngineOnTheSameDirectoryIsRefusedUntilTheFirstCloses() throws {
        defer { dir.cleanup() }
        let (h, _) = try open()
        #expect {
            _ = try KinesisEngine.open(clock: clock, configuration: configuration())
        } throws: { error in
            guard let e = error as? StorageError, case .inUse(let pid) = e.kind else { return false }
            return pid == getpid() && e.description.contains("in use by another ktop")
        }
        h.engine.close()
        let (again, _) = try open()
        again.engine.close()
    }

    @Test func aDirectoryHoldingOtherFilesIsRefused() throws {
        defer { dir.cleanup() }
        _ = FileManager.default.createFile(atPath: dir.path + "/notes.txt", contents: Data("mine".utf8))
        #expect(throws: StorageError.self) { _ = try open() }
        #expect(FileManager.default.fileExists(atPath: dir.path + "/notes.txt"))
    }

    @Test func intervalRestartsSkipAheadSoNoNumberIsIssuedTwice() throws {
        defer { dir.cleanup() }
        var (h, _) = try open(configuration(fsync: .interval(milliseconds: 50)))
        try h.stream(shards: 1)
        let first = try put(h, count: 50, tag: "i")
        // No flush and no close: what a killed process leaves (the page cache keeps the writes).
        (h, _) = try reopenAfterCrash(h, configuration(fsync: .interval(milliseconds: 50)))
        let second = try put(h, count: 1, tag: "j")
        let lastBefore = SequenceNumber(first.last!.0)!
        let firstAfter = SequenceNumber(second[0].0)!
        #expect(firstAfter.seqIndex >= lastBefore.seqIndex + UInt64(ShardStore.reservationBlock))
        expectAll(first + second, in: try readAll(h))
        h.engine.close()
    }

    @Test func aPutAcrossManyShardsIsDurableThroughOneFileSystemSync() throws {
        defer { dir.cleanup() }
        var (h, _) = try open()
        try h.stream(shards: 16)
        #expect(try h.engine.dataDirectory!.syncFileSystem(), "syncfs is there on Linux")
        let acked = try put(h, count: 500, tag: "wide") // 100 records a call over 16 shards
        let shards = try readAll(h).values.filter { !$0.isEmpty }.count
        #expect(shards >= 12, "most shards took records, so every call synced many")
        (h, _) = try reopenAfterCrash(h, configuration())
        expectAll(acked, in: try readAll(h))
        h.engine.close()
    }

    @Test(arguments: ["..", ".", ".hidden", "trash", "s"])
    func everyLegalStreamNameStaysInsideItsOwnFolder(name: String) throws {
        defer { dir.cleanup() }
        var (h, _) = try open()
        try h.stream("other", shards: 1)
        _ = try h.k.putRecord(PutRecordInput(streamName: "other", data: Data("kept".utf8), partitionKey: "k"))
        try h.stream(name, shards: 1)
        let out = try h.k.putRecord(PutRecordInput(streamName: name, data: Data("mine".utf8), partitionKey: "k"))
        h.engine.close()
        (h, _) = try open()
        #expect(h.k.streamNames == [name, "other"].sorted())
        let it = try h.iterator(name, shard: "shardId-000000000000", .trimHorizon)
        #expect(try h.get(it).records.map(\.sequenceNumber) == [out.sequenceNumber])
        _ = try h.k.deleteStream(DeleteStreamInput(streamName: name))
        h.engine.tick()
        h.engine.close()
        (h, _) = try open()
        #expect(h.k.streamNames == ["other"], "deleting \(name) removed only its own folder")
        let other = try h.get(try h.iterator("other", shard: "shardId-000000000000", .trimHorizon))
        #expect(other.records.map(\.data) == [Data("kept".utf8)])
        h.engine.close()
    }

    /// Drops the engine without closing it (its lock goes with the process in real life).
    func reopenAfterCrash(_ h: Harness, _ c: EngineConfiguration) throws -> (Harness, RecoveryReport) {
        h.engine.dataDirectory?.releaseLockForTests()
        return try open(c)
    }

    @Test func deletingAStreamRemovesItsFilesAndANewStreamOfTheNameStartsAfresh() throws {
        defer { dir.cleanup() }
        var (h, _) = try open()
        try h.stream(shards: 1)
        _ = try put(h, count: 20, tag: "gone")
        _ = try h.k.deleteStream(DeleteStreamInput(streamName: "s"))
        h.engine.tick()
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/services/\(account)/us-east-1/streams/s"))
        try h.stream(shards: 1)
        let kept = try put(h, count: 5, tag: "new")
        h.engine.close()
        (h, _) = try open()
        let read = try readAll(h)
        #expect(read["shardId-000000000000"]?.map(\.data) == kept.map(\.2))
        h.engine.close()
    }
}
