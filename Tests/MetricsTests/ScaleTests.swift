import Foundation
import StreamEngine
import Testing

@testable import Metrics

/// The store at scale (issue 16): shards keep a shorter history than streams,
/// and what the dashboard reads every refresh straight from the rings equals
/// what the whole points say.
@Suite struct ScaleTests {
    /// A 2-shard stream under a load that crosses every heat level and throttles.
    func loaded(seconds: Int) throws -> Rig {
        var rig = Rig()
        try rig.create("wide", shards: 2)
        rig.tick()
        var random = TestRandom(seed: 16)
        for _ in 0..<seconds {
            // 0 … 1,400 records of 1 KB on one key: cold, warm, hot and throttled seconds.
            let n = Int(random.next() % 1_400)
            let entries = (0..<n).map { _ in PutRecordsRequestEntry(data: payload(1_000), partitionKey: "k") }
            for chunk in stride(from: 0, to: entries.count, by: 500) {
                let part = Array(entries[chunk..<min(chunk + 500, entries.count)])
                _ = try rig.kinesis.putRecords(PutRecordsInput(records: part, streamName: "wide"))
            }
            rig.engine.tick()
            rig.tick()
        }
        return rig
    }

    @Test func ringReadsEqualTheWholePoints() throws {
        let rig = try loaded(seconds: 90)
        let stream = rig.stream("wide")
        var heats = Set<Heat>()
        for shard in stream.shards {
            let series = try #require(rig.store.shardSeries(stream, shard.shardId))
            let points = series.history(last: 240)
            #expect(points.count == 90)
            heats.formUnion(points.map(\.heat))
            let fast = series.incomingHistory(last: 240)
            #expect(fast.bytesPerSecond == points.map(\.incomingBytes))
            #expect(fast.heat == points.map(\.heat))
            #expect(series.incomingHistory(last: 10).heat == points.suffix(10).map(\.heat))
            #expect(series.incomingHistory(last: 0).bytesPerSecond.isEmpty)
            #expect(series.latest == points.last)
            let minute = points.suffix(60).map(\.utilization).reduce(0, +) / 60
            #expect(series.meanUtilization(lastSeconds: 60) == minute)
            #expect(series.meanUtilization(lastSeconds: 91) == nil)
            #expect(series.meanUtilization(lastSeconds: 90) != nil)
        }
        // The load really crossed the levels the heat ring stores.
        #expect(heats == Set(Heat.allCases))
    }

    @Test func shardsKeepFiveMinutesAndStreamsFifteen() throws {
        let config = MetricsConfiguration()
        #expect(config.shardSecondsCapacity == 300 && config.shardMinutesCapacity == 180)
        #expect(config.secondsCapacity == 900 && config.minutesCapacity == 1_440)
        var rig = Rig()
        try rig.create("s", shards: 1)
        for _ in 0..<302 { rig.tick() }
        let stream = rig.stream("s")
        let shard = try #require(rig.store.shardSeries(stream, "shardId-000000000000"))
        #expect(shard.metrics.secondsCapacity == 300 && shard.metrics.secondCount == 300)
        #expect(shard.metrics.minutesCapacity == 180)
        #expect(shard.storedBytes <= MetricsStore.bytesPerShard())
        let series = try #require(rig.store.streamSeries(stream))
        #expect(series.metrics.secondCount == 301)
        // A store asked for less keeps no more per shard than it was asked for.
        #expect(MetricsStore(capacitySeconds: 60).configuration.shardSecondsCapacity == 60)
        #expect(MetricsStore(capacitySeconds: 3_600).configuration.shardSecondsCapacity == 300)
    }
}
