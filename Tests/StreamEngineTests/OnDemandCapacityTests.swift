import Foundation
import Testing
@testable import StreamEngine

/// On-demand capacity as Kinesis documents it (``OnDemandPolicy``, KINESIS.md §3): a new stream
/// takes 4 MiB/s and 4,000 records/s; it accommodates twice its 30-day peak; more is throttled
/// until the new shards arrive, a scaling delay later.
@Suite struct OnDemandCapacityTests {
    static let delay = Duration.seconds(10)

    func harness(update: Duration = .zero) -> Harness {
        var delays = StatusDelays.immediate
        delays.update = update
        return Harness(delays: delays) { $0.onDemand.scalingDelay = Self.delay }
    }

    /// An ACTIVE on-demand stream "s" and a baseline sample a second later.
    func onDemandStream(_ h: Harness) throws {
        let onDemand = StreamModeDetails(streamMode: .onDemand)
        _ = try h.k.createStream(CreateStreamInput(streamName: "s", streamModeDetails: onDemand))
        h.advance(.seconds(1))
        h.engine.tick()
    }

    func open(_ h: Harness) throws -> [Shard] { try h.listAllShards(filter: ShardFilter(type: .atLatest)) }

    /// The shard's `j`th hash key: records of different hash keys are what a split can separate
    /// (the sketch of hot keys counts hash keys, as routing does).
    func hashKey(_ shard: Shard, _ j: Int) -> String {
        String(UInt128(shard.hashKeyRange.startingHashKey)! + UInt128(j))
    }

    /// Sends each open shard `bytesPerShard` (data + key) in four records of four keys, no key
    /// near the split threshold, and `extra` more bytes to the first. Returns the records accepted.
    @discardableResult
    func sendEvenly(_ h: Harness, bytesPerShard: Int, extra: Int = 0) throws -> Int {
        var accepted = 0
        for (i, shard) in try open(h).sorted(by: { $0.start < $1.start }).enumerated() {
            let total = bytesPerShard + (i == 0 ? extra : 0)
            let sizes = [total / 4, total / 4, total / 4, total - 3 * (total / 4)]
            let entries = sizes.enumerated().map { j, size in
                PutRecordsRequestEntry(data: bytes(size - 2), explicitHashKey: hashKey(shard, j), partitionKey: "k\(j)")
            }
            let out = try h.k.putRecords(PutRecordsInput(records: entries, streamName: "s"))
            accepted += entries.count - (out.failedRecordCount ?? 0)
        }
        return accepted
    }

    /// Sends each open shard `records` one-byte records (keys spread over 1,000 names).
    func sendRecordsEvenly(_ h: Harness, perShard records: Int, extra: Int = 0) throws {
        for (i, shard) in try open(h).sorted(by: { $0.start < $1.start }).enumerated() {
            var left = records + (i == 0 ? extra : 0)
            while left > 0 {
                let batch = (0..<min(left, 500)).map { j in
                    PutRecordsRequestEntry(data: Data(), explicitHashKey: hashKey(shard, j), partitionKey: "k\(j)")
                }
                _ = try h.k.putRecords(PutRecordsInput(records: batch, streamName: "s"))
                left -= batch.count
            }
        }
    }

    func events(_ h: Harness, _ kind: EngineEvent.Kind) -> [EngineEvent] {
        h.engine.events.events().filter { $0.kind == kind }
    }

    @Test func aNewStreamTakesFourMiBAndFourThousandRecordsPerSecond() throws {
        let h = harness()
        try onDemandStream(h)
        #expect(try open(h).count == 4)
        // Exactly 1 MiB per shard passes, 4 MiB in all; one byte more on any shard is throttled.
        #expect(try sendEvenly(h, bytesPerShard: MiB) == 16)
        #expect(try sendEvenly(h, bytesPerShard: 8) == 0)
        h.advance(.seconds(1))
        try sendRecordsEvenly(h, perShard: 1_000)
        let c = h.engine.sample().streams[0].shards.reduce(ShardCounters()) { acc, s in
            var acc = acc
            acc.incomingRecords += s.counters.incomingRecords
            acc.writeThrottledRecords += s.counters.writeThrottledRecords
            return acc
        }
        #expect(c.incomingRecords == 16 + 4_000)
        #expect(c.writeThrottledRecords == 16)
        try sendRecordsEvenly(h, perShard: 0, extra: 1)
        #expect(h.engine.sample().streams[0].shards.map(\.counters.writeThrottledRecords).reduce(0, +) == 17)
    }

    @Test func twiceThePeakIsTheBoundaryInBytes() throws {
        let h = harness()
        try onDemandStream(h)
        // 2 MiB/s, evenly: a 4 MiB/s stream already accommodates twice that. Nothing is planned.
        for _ in 0..<5 {
            try sendEvenly(h, bytesPerShard: MiB / 2)
            h.advance(.seconds(1))
            h.engine.tick()
        }
        #expect(events(h, .onDemandScalingPlanned).isEmpty)
        // One byte more in a second: twice the peak needs a fifth shard, and shard 0 is above half its limit.
        try sendEvenly(h, bytesPerShard: MiB / 2, extra: 1)
        h.advance(.seconds(1))
        h.engine.tick()
        let planned = try #require(events(h, .onDemandScalingPlanned).first)
        #expect(planned.shards == ["shardId-000000000000"])
        #expect(planned.message.contains("grows from 4 to 5 shards"))
        #expect(planned.message.contains("10 s from now"))
        #expect(planned.message.contains("AWS: within 15 minutes"))
        // Not before the delay.
        h.advance(Self.delay - .seconds(1))
        h.engine.tick()
        #expect(try open(h).count == 4)
        h.advance(.seconds(1))
        h.engine.tick()
        let shards = try open(h)
        #expect(shards.count == 5)
        expectCoversHashSpace(shards)
        #expect(shards.filter { $0.parentShardId == "shardId-000000000000" }.count == 2)
        #expect(events(h, .onDemandScaled).count == 1)
        #expect(try h.status() == .active)
    }

    @Test func twiceThePeakIsTheBoundaryInRecords() throws {
        let h = harness()
        try onDemandStream(h)
        try sendRecordsEvenly(h, perShard: 500) // 2,000 records/s: 4,000 accommodates twice that
        h.advance(.seconds(1))
        h.engine.tick()
        #expect(events(h, .onDemandScalingPlanned).isEmpty)
        try sendRecordsEvenly(h, perShard: 500, extra: 1)
        h.advance(.seconds(1))
        h.engine.tick()
        #expect(events(h, .onDemandScalingPlanned).count == 1)
        h.advance(Self.delay)
        h.engine.tick()
        #expect(try open(h).count == 5)
    }

    /// Sends each open shard 1.5 MiB in six records of 256 KiB and six keys: four are accepted,
    /// two throttled. Returns the records refused.
    func overload(_ h: Harness) throws -> Int {
        var refused = 0
        for shard in try open(h) {
            let records = (0..<6).map { j in
                PutRecordsRequestEntry(data: bytes(MiB / 4 - 2), explicitHashKey: hashKey(shard, j),
                                       partitionKey: "k\(j)")
            }
            refused += try h.k.putRecords(PutRecordsInput(records: records, streamName: "s")).failedRecordCount ?? 0
        }
        return refused
    }

    @Test func aBurstAboveCapacityIsThrottledUntilTheNewShardsArrive() throws {
        let h = harness(update: .milliseconds(500))
        try onDemandStream(h)
        // 6 MiB/s sent evenly to a 4 MiB/s stream: 2 MiB/s is throttled, and the peak sent is 6 MiB/s,
        // so the stream must grow to 12 shards: each quarter split, then four of the eighths.
        // Planned at the first tick, due ten seconds later: throttled every second until then.
        for _ in 0...10 {
            #expect(try overload(h) == 8)
            h.advance(.seconds(1))
            h.engine.tick()
        }
        #expect(try open(h).count == 4)
        #expect(try h.status() == .updating)
        h.advance(.milliseconds(500))
        h.engine.tick()
        #expect(try open(h).count == 8)
        h.advance(.milliseconds(500))
        h.engine.tick()
        let shards = try open(h)
        #expect(shards.count == 12)
        expectCoversHashSpace(shards)
        #expect(try h.status() == .active)
        let scaled = events(h, .onDemandScaled)
        #expect(scaled.count == 2)
        #expect(scaled.last?.message.contains("12 open shards: 12 MiB/s and 12000 records/s") == true)
        // Now 12 MiB in one second is accommodated: 1 MiB on every shard.
        h.advance(.seconds(1))
        var refused = 0
        for shard in shards {
            let entry = PutRecordsRequestEntry(data: bytes(MiB - 1),
                                               explicitHashKey: shard.hashKeyRange.startingHashKey, partitionKey: "k")
            refused += try h.k.putRecords(PutRecordsInput(records: [entry], streamName: "s")).failedRecordCount ?? 0
        }
        #expect(refused == 0)
    }

    @Test func capacityFollowsThePeakOfThirtyDaysNotTheLastSecond() throws {
        var peak = WritePeak()
        let day: Int64 = 86_400
        let t0 = Instant(nanosecondsSinceEpoch: 1_000 * day * 1_000_000_000)
        peak.record(WriteRate(bytes: 3_000_000, records: 3_000), at: t0, days: 30)
        peak.record(WriteRate(bytes: 10, records: 1), at: t0 + .seconds(day), days: 30)
        // Still the peak on the 30th day after it, gone on the 31st (one maximum per UTC day).
        #expect(peak.peak(at: t0 + .seconds(29 * day), days: 30) == WriteRate(bytes: 3_000_000, records: 3_000))
        #expect(peak.peak(at: t0 + .seconds(30 * day), days: 30) == WriteRate(bytes: 10, records: 1))
        #expect(peak.peak(at: t0 + .seconds(31 * day), days: 30) == WriteRate())
        // A month of traffic keeps at most 31 days of maxima.
        for d in 0..<365 {
            peak.record(WriteRate(bytes: Double(d), records: 0), at: t0 + .seconds(Int64(d) * day), days: 30)
        }
        #expect(peak.peak(at: t0 + .seconds(364 * day), days: 30).bytes == 364)

        // On a stream: once the traffic falls the shards stay, and twice the old peak and more
        // (1 MiB on each of 8 shards) is accepted in one second without waiting for anything.
        let h = harness()
        try onDemandStream(h)
        try sendEvenly(h, bytesPerShard: 3 * MiB / 4) // 3 MiB/s: every shard above half, grows to 8
        h.advance(.seconds(1))
        h.engine.tick()
        h.advance(Self.delay)
        h.engine.tick()
        #expect(try open(h).count == 8)
        h.advance(.hours(24 * 20))
        h.engine.tick()
        #expect(try open(h).count == 8)
        #expect(try sendEvenly(h, bytesPerShard: MiB) == 32)
    }

    @Test func oneHotPartitionKeyIsNotSplitForNothing() throws {
        let h = harness()
        try onDemandStream(h)
        // One key sends 600,000 B/s to shard 0: above half its limit, but a split cannot share one key.
        for _ in 0..<3 {
            _ = try h.put(data: bytes(600_000 - 3), key: "hot", hash: "0")
            h.advance(.seconds(1))
            h.engine.tick()
        }
        h.advance(Self.delay)
        h.engine.tick()
        #expect(try open(h).count == 4)
        #expect(events(h, .onDemandScaled).isEmpty)
        let said = events(h, .onDemandScalingPlanned)
        #expect(said.count == 1)
        #expect(said.first?.message.contains("one hash key (partition key 'hot')") == true)
    }

    @Test func switchingToProvisionedCancelsAPlannedScaling() throws {
        let h = harness()
        try onDemandStream(h)
        try sendEvenly(h, bytesPerShard: 3 * MiB / 4)
        h.advance(.seconds(1))
        h.engine.tick()
        #expect(events(h, .onDemandScalingPlanned).count == 1)
        let provisioned = StreamModeDetails(streamMode: .provisioned)
        _ = try h.k.updateStreamMode(UpdateStreamModeInput(streamARN: "arn:aws:kinesis:us-east-1:\(account):stream/s",
                                                           streamModeDetails: provisioned))
        h.advance(Self.delay)
        h.engine.tick()
        #expect(try open(h).count == 4)
        #expect(events(h, .onDemandScaled).isEmpty)
    }

    @Test func aScalingSurvivesARestartOnTheDataDirectoryAsAPendingChange() throws {
        let record = StreamRecord.PendingRecord(PendingChange(due: Instant(nanosecondsSinceEpoch: 5),
                                                              action: .scaleOnDemand(target: 12)))
        #expect(record.action == "scaleOnDemand")
        #expect(record.target == 12)
        guard case .scaleOnDemand(let target)? = record.change(shardCount: 4)?.action else {
            Issue.record("not read back as an on-demand scaling")
            return
        }
        #expect(target == 12)
        var bad = record
        bad.target = 0
        #expect(bad.change(shardCount: 4) == nil)
    }

    /// Peaks read back from a hand-edited `stream.json` cannot give a stream infinite or negative capacity.
    @Test func restoredPeaksKeepOnlyFiniteRatesInDayOrder() {
        let now = Instant(nanosecondsSinceEpoch: 100 * 86_400 * 1_000_000_000)
        let peak = WritePeak(dailyPeaks: [
            DayPeak(day: 95, bytesPerSecond: 1_000, recordsPerSecond: 10),
            DayPeak(day: 96, bytesPerSecond: .infinity, recordsPerSecond: 10),
            DayPeak(day: 97, bytesPerSecond: 5, recordsPerSecond: -1),
            DayPeak(day: 98, bytesPerSecond: .nan, recordsPerSecond: 1),
            DayPeak(day: 90, bytesPerSecond: 9_000, recordsPerSecond: 90),  // out of order
            DayPeak(day: 99, bytesPerSecond: 2_000, recordsPerSecond: 5),
        ])
        #expect(peak.dailyPeaks.map(\.day) == [95, 99])
        #expect(peak.peak(at: now, days: 30) == WriteRate(bytes: 2_000, records: 10))
        // Days older than the window do not count.
        #expect(peak.peak(at: now, days: 3) == WriteRate(bytes: 2_000, records: 5))
    }
}
