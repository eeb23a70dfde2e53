import Foundation
import StreamEngine
import Testing

@testable import Metrics

/// The minute's mean utilisation kept at the tick (`ShardSeries.minuteMeanUtilization`) against the plain
/// mean of the same 60 seconds, and the per-shard summaries a refresh reads (`MetricsStore.shardSummaries`).
@Suite struct MinuteUtilizationTests {
    /// One interval fed to a series: its counter differences and length.
    struct Fed {
        var bytes: Int64
        var records: Int64
        var millis: Int64
    }

    /// A series fed interval by interval from counters, keeping what it was fed.
    struct Feeder {
        var series: ShardSeries
        var counters = ShardCounters()
        var timeMillis: Int64 = 1_700_000_000_000
        var fed: [Fed] = []

        init(capacity: Int, limits: KinesisLimits = .aws) {
            series = ShardSeries(shardId: "shardId-000000000000", secondsCapacity: capacity, minutesCapacity: 3)
            // The first sample: no point yet.
            series.ingest(
                counters: counters, histogram: nil, at: Instant(millisecondsSinceEpoch: timeMillis),
                elapsedSeconds: 1, limits: limits)
        }

        mutating func feed(bytes: Int64, records: Int64, millis: Int64 = 1_000, limits: KinesisLimits = .aws) {
            counters.incomingBytes += bytes
            counters.incomingRecords += records
            timeMillis += millis
            series.ingest(
                counters: counters, histogram: nil, at: Instant(millisecondsSinceEpoch: timeMillis),
                elapsedSeconds: Double(millis) / 1000, limits: limits)
            fed.append(Fed(bytes: bytes, records: records, millis: millis))
        }

        /// The plain mean of the newest 60 intervals' utilisations against `limits`, from what was fed.
        func plainMinute(_ limits: KinesisLimits = .aws) -> Double? {
            guard fed.count >= 60, series.metrics.secondsCapacity >= 60 else { return nil }
            let minute = fed.suffix(60).map { f in
                max(
                    Double(f.bytes) * 1000 / Double(f.millis) / Double(limits.shardWriteBytesPerSecond),
                    Double(f.records) * 1000 / Double(f.millis) / Double(limits.shardWriteRecordsPerSecond))
            }
            return minute.reduce(0, +) / 60
        }
    }

    @Test("the kept mean equals the plain minute through ring wraps, gaps and a change of quotas")
    func keptMeanEqualsThePlainMinute() throws {
        var halved = KinesisLimits.aws
        halved.shardWriteBytesPerSecond /= 2
        halved.shardWriteRecordsPerSecond = 700
        var feeder = Feeder(capacity: 75)
        var random = TestRandom(seed: 16)
        var checked = 0
        for tick in 0..<400 {
            let limits = (200..<300).contains(tick) ? halved : .aws
            // Gaps of 5 s, short intervals, and every level from idle to well past the quota.
            let millis: Int64 = tick % 17 == 16 ? 5_000 : tick % 11 == 10 ? 250 : 1_000
            let records = Int64(random.next() % 1_500)
            feeder.feed(bytes: records * Int64(random.next() % 1_400), records: records, millis: millis, limits: limits)
            let kept = feeder.series.minuteMeanUtilization
            guard let plain = feeder.plainMinute(limits) else {
                #expect(kept == nil, "tick \(tick): fewer than 60 seconds")
                continue
            }
            let mean = try #require(kept, "tick \(tick)")
            #expect(abs(mean - plain) <= 1e-9, "tick \(tick)")
            #expect(abs(mean - feeder.series.meanUtilization(lastSeconds: 60)!) <= 1e-9, "tick \(tick)")
            checked += 1
        }
        #expect(checked == 400 - 59)
        #expect(feeder.series.metrics.secondCount == 75)  // the ring wrapped five times over
        // A quiet minute after all that is exactly zero: nothing is left over from the seconds taken back.
        for _ in 0..<60 { feeder.feed(bytes: 0, records: 0) }
        #expect(feeder.series.minuteMeanUtilization == 0)
        feeder.feed(bytes: 0, records: 60)
        #expect(abs(feeder.series.minuteMeanUtilization! - feeder.plainMinute()!) <= 1e-12)
        #expect(feeder.series.minuteMeanUtilization != 0)
    }

    @Test("a ring of exactly a minute keeps the mean; a shorter one never has a minute")
    func ringsOfAMinuteAndLess() {
        var minute = Feeder(capacity: 60)
        var short = Feeder(capacity: 59)
        var random = TestRandom(seed: 7)
        for tick in 0..<200 {
            let records = Int64(random.next() % 1_200)
            minute.feed(bytes: records * 500, records: records)
            short.feed(bytes: records * 500, records: records)
            #expect(short.series.minuteMeanUtilization == nil)
            if tick >= 59 {
                #expect(abs(minute.series.minuteMeanUtilization! - minute.plainMinute()!) <= 1e-9, "tick \(tick)")
            } else {
                #expect(minute.series.minuteMeanUtilization == nil)
            }
        }
        for _ in 0..<60 { short.feed(bytes: 0, records: 0) }
        #expect(short.series.minuteMeanUtilization == nil)
    }

    @Test("a second far past its quota saturates; a zero quota counts as idle; neither traps")
    func fixedPointBounds() throws {
        #expect(ShardSeries.units(0) == 0)
        #expect(ShardSeries.units(-1) == 0)
        #expect(ShardSeries.units(.nan) == 0)
        #expect(ShardSeries.units(1) == 1 << 32)
        #expect(ShardSeries.units(0.5) == 1 << 31)
        #expect(ShardSeries.units(.infinity) == ShardSeries.maxUtilizationUnits)
        #expect(ShardSeries.units(0x1p26) == ShardSeries.maxUtilizationUnits)
        #expect(ShardSeries.units(0x1p26 - 1) < ShardSeries.maxUtilizationUnits)
        // A full window of saturated seconds fits.
        let window = UInt64(ShardSeries.utilizationWindow)
        #expect(!ShardSeries.maxUtilizationUnits.multipliedReportingOverflow(by: window).overflow)

        // One byte a second of quota, 4 GiB in a millisecond: 2^42 times the quota, held at 2^26.
        var tiny = KinesisLimits.aws
        tiny.shardWriteBytesPerSecond = 1
        tiny.shardWriteRecordsPerSecond = 1
        var feeder = Feeder(capacity: 61, limits: tiny)
        for _ in 0..<70 { feeder.feed(bytes: 4_000_000_000, records: 1, millis: 1, limits: tiny) }
        #expect(feeder.series.minuteMeanUtilization == 0x1p26)
        // Back to AWS quotas: the window is measured anew against them (4 TB/s is 3.8 million times the
        // quota, under the cap). Taking back the second that leaves at the new quotas, from a sum kept at
        // the old ones, would be far off.
        feeder.feed(bytes: 0, records: 0, limits: .aws)
        let plain = try #require(feeder.plainMinute(.aws))
        #expect(plain > 3e6 && plain < 0x1p26)
        #expect(abs(feeder.series.minuteMeanUtilization! - plain) <= plain * 1e-12)
        var zero = KinesisLimits.aws
        zero.shardWriteBytesPerSecond = 0
        zero.shardWriteRecordsPerSecond = 0
        var idle = Feeder(capacity: 61, limits: zero)
        for _ in 0..<60 { idle.feed(bytes: 0, records: 0, limits: zero) }
        #expect(idle.series.minuteMeanUtilization == 0)
    }

    @Test("summaries follow the sample's order, new and closed shards, and shards the store has not seen")
    func summariesFollowTheSample() throws {
        var rig = Rig()
        try rig.create("s", shards: 3)
        rig.tick()
        for i in 0..<70 {
            let entries = (0..<(i * 7 % 150)).map { PutRecordsRequestEntry(data: payload(100), partitionKey: "k\($0)") }
            if !entries.isEmpty { _ = try rig.kinesis.putRecords(PutRecordsInput(records: entries, streamName: "s")) }
            rig.tick()
        }
        // The last shard: the first two stay a pair with a minute each, cold enough to merge.
        _ = try rig.kinesis.splitShard(
            SplitShardInput(
                streamName: "s", shardToSplit: "shardId-000000000002",
                newStartingHashKey: String(UInt128.max / 6 * 5)))
        for _ in 0..<3 {
            let entries = (0..<200).map { PutRecordsRequestEntry(data: payload(100), partitionKey: "k\($0)") }
            _ = try rig.kinesis.putRecords(PutRecordsInput(records: entries, streamName: "s"))
            rig.tick()
        }
        let stream = rig.stream("s")
        #expect(stream.shards.count == 5)
        func expected(_ s: StreamSample) -> [ShardSummary?] {
            s.shards.map { shard in
                rig.store.shardSeries(s, shard.shardId).map {
                    ShardSummary(latest: $0.latest, minuteMeanUtilization: $0.minuteMeanUtilization)
                }
            }
        }
        let summaries = rig.store.shardSummaries(stream)
        #expect(summaries == expected(stream))
        let byId = Dictionary(uniqueKeysWithValues: zip(stream.shards.map(\.shardId), summaries))
        // The closed parent keeps its minute; its children have seconds but not yet a minute.
        let parent = try #require(byId["shardId-000000000002"] ?? nil)
        #expect(parent.minuteMeanUtilization != nil && parent.latest != nil)
        var children = 0
        for child in stream.shards where child.parentShardId == "shardId-000000000002" {
            children += 1
            let s = try #require(byId[child.shardId] ?? nil)
            #expect(s.latest != nil && s.minuteMeanUtilization == nil)
        }
        #expect(children == 2)
        // Another order, and a shard the store has never seen: found by id, and nil.
        var reordered = stream
        reordered.shards.reverse()
        var unknown = stream.shards[0]
        unknown.shardId = "shardId-000000000099"
        reordered.shards.insert(unknown, at: 2)
        let other = rig.store.shardSummaries(reordered)
        #expect(other == expected(reordered))
        #expect(other[2] == nil && other.compactMap { $0 }.count == 5)
        // A stream the store does not know: nil for each shard.
        var stranger = stream
        stranger.arn += "-other"
        #expect(rig.store.shardSummaries(stranger) == [ShardSummary?](repeating: nil, count: 5))
        // The advisor gives the same advice from summaries read for it as from its own reads.
        let own = Advisor.advise(stream: stream, store: rig.store, limits: .aws)
        #expect(Advisor.advise(stream: stream, store: rig.store, limits: .aws, summaries: summaries) == own)
        #expect(own.contains { $0.action == .merge })
    }
}
