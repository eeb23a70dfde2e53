import Dashboard
import Foundation
import Metrics
import StreamEngine
import Testing

/// The first build after a tick reads each shard once (`MetricsStore.shardSummaries`) for its row and the
/// advisor, and picks each row's top keys without sorting the sketch: the same rows and advice as reading
/// every shard's series.
@Suite("Rows read from the shard summaries")
struct RowReadsTests {
    struct Rig {
        let clock = ManualClock()
        let engine: KinesisEngine
        let kinesis: KinesisService
        var store = MetricsStore()
        init(shards: Int) throws {
            var config = EngineConfiguration()
            config.delays = .immediate
            engine = KinesisEngine(clock: clock, configuration: config)
            kinesis = engine.service()
            _ = try kinesis.createStream(CreateStreamInput(streamName: "s", shardCount: shards))
            store.ingest(engine.sample())
        }
        mutating func tick(_ keys: [String]) throws {
            clock.advance(by: .seconds(1))
            for chunk in stride(from: 0, to: keys.count, by: 500) {
                let entries = keys[chunk..<min(chunk + 500, keys.count)].map {
                    PutRecordsRequestEntry(data: Data(repeating: 1, count: 20), partitionKey: $0)
                }
                _ = try kinesis.putRecords(PutRecordsInput(records: entries, streamName: "s"))
            }
            engine.tick()
            store.ingest(engine.sample())
        }
        func build() -> DashboardData {
            DashboardData.build(
                store: store, streamName: "s", scenario: "t", clockKind: "manual", limits: .aws, scenarios: ["s"])
        }
        var stream: StreamSample { store.lastSample!.streams.first { $0.name == "s" }! }
    }

    @Test("each row's top keys are the sketch's five heaviest, ties in the sketch's order")
    func topKeysAsTheSortedSketch() throws {
        var rig = try Rig(shards: 2)
        // Per second: a few keys of 9, 6 and 5 records and more of 3, 2 and 1, ties at and across the fifth;
        // fewer keys a shard than its sketch's 16 slots, so each count is exact and ties stay ties.
        var keys: [String] = []
        for (count, names) in [(9, 1), (6, 2), (5, 2), (3, 6), (2, 6), (1, 6)] {
            for n in 0..<names { keys += Array(repeating: "k\(count)-\(n)", count: count) }
        }
        var random = TestRandom(seed: 3)
        keys.shuffle(using: &random)
        // Two seconds of the same load: the first tick's sample carries no sketch yet.
        try rig.tick(keys)
        try rig.tick(keys)
        let d = rig.build()
        let stream = rig.stream
        #expect(d.shards.count == 2)
        var ties = 0
        for (row, shard) in zip(d.shards, stream.shards) {
            let sketch = try #require(shard.topKeys)
            let sorted = Array(sketch.top.prefix(5))
            #expect(row.topKeys.map(\.key) == sorted.map(\.partitionKey), "\(row.shardId)")
            #expect(row.topKeys.map(\.records) == sorted.map(\.records))
            #expect(row.topKeys.map(\.share) == sorted.map { Double($0.records) / Double(sketch.total) })
            // Equal weights among the sixteen entries: the order among them is the test.
            ties += Set(sketch.entries.map(\.records)).count < sketch.entries.count ? 1 : 0
        }
        #expect(ties > 0)
        // A shard without records has no top keys.
        var idle = try Rig(shards: 1)
        try idle.tick([])
        #expect(idle.build().shards.allSatisfy { $0.topKeys.isEmpty })
    }

    @Test("rows carry each shard's newest second, and the advice is the advisor's own")
    func rowsAndAdviceAsTheStoreHasThem() throws {
        var rig = try Rig(shards: 6)
        var random = TestRandom(seed: 9)
        for second in 0..<64 {
            // Cold everywhere (merges), but for a busy last seconds (a scale-up and its reasons).
            let n = second < 62 ? Int(random.next() % 60) : 7_000
            try rig.tick((0..<n).map { "p\($0)-\(second)" })
        }
        let d = rig.build()
        let stream = rig.stream
        for (row, shard) in zip(d.shards, stream.shards) {
            let latest = try #require(rig.store.latest(stream, shard.shardId))
            #expect(row.shardId == shard.shardId)
            #expect(row.incomingBytes == latest.incomingBytes && row.incomingRecords == latest.incomingRecords)
            #expect(row.utilization == latest.utilization && row.bindingLimit == latest.bindingLimit)
            #expect(row.writeThrottled == latest.writeProvisionedThroughputExceeded)
        }
        let advice = Advisor.advise(stream: stream, store: rig.store, limits: .aws)
        #expect(d.advice.map(\.reason) == advice.map(\.reason))
        #expect(d.advice.map(\.action) == advice.map(\.action.rawValue))
        #expect(advice.contains { $0.action == .scale })
        // Merge reasons read as before: the two shards, then the rule.
        let merge = try #require(advice.first { $0.action == .merge })
        #expect(
            merge.reason
                == "\(merge.shardId!) and \(merge.adjacentShardId!) are adjacent and both under 10% for a minute; "
                + "merge them to save a shard-hour each hour.")
    }
}

/// SplitMix64, seeded: the same load every run.
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
