import Dashboard
import Foundation
import Metrics
import StreamEngine

/// A stream of `shards` shards on a manual clock, fed the same records every run (no randomness), and the
/// dashboard data built from its metrics store: the wide-stream suites' rig (ShownRowsTests, TickReuseTests).
final class WideStreamRig {
    let clock = ManualClock()
    let engine: KinesisEngine
    var store = MetricsStore()
    var second = 0
    let shards: Int
    /// Each tick's records: sizes 10…10 + `sizeSpread` bytes (uneven across shards, so sorting by
    /// IncomingBytes means something), over `keysPerTick` keys new each second.
    let recordsPerTick: Int
    let keysPerTick: Int
    let sizeSpread: Int

    init(shards: Int, recordsPerTick: Int, keysPerTick: Int, sizeSpread: Int) throws {
        self.shards = shards
        self.recordsPerTick = recordsPerTick
        self.keysPerTick = keysPerTick
        self.sizeSpread = sizeSpread
        var config = EngineConfiguration()
        config.delays = .immediate
        engine = KinesisEngine(clock: clock, configuration: config)
        _ = try engine.service().createStream(CreateStreamInput(streamName: "wide", shardCount: shards))
        store.ingest(engine.sample())
    }

    /// One second of records, `hot` 1 KB records of one key, then a metrics tick.
    func tick(hot: Int = 0) throws {
        second += 1
        clock.advance(by: .seconds(1))
        var records = (0..<recordsPerTick).map { i in
            PutRecordsRequestEntry(
                data: Data(repeating: 1, count: 10 + (i * 37) % sizeSpread),
                partitionKey: "user-\(second)-\(i % keysPerTick)")
        }
        records += (0..<hot).map { _ in
            PutRecordsRequestEntry(data: Data(repeating: 2, count: 1_000), partitionKey: "the-hot-key")
        }
        for batch in stride(from: 0, to: records.count, by: 500) {
            let calls = Array(records[batch..<min(batch + 500, records.count)])
            _ = try engine.service().putRecords(PutRecordsInput(records: calls, streamName: "wide"))
        }
        engine.tick()
        store.ingest(engine.sample())
    }

    func build(_ historyFor: Set<String>?, previous: DashboardData? = nil, limits: KinesisLimits = .aws)
        -> DashboardData
    {
        DashboardData.build(
            store: store, streamName: "wide", scenario: "t", clockKind: "manual", limits: limits, scenarios: [],
            historyFor: historyFor, previous: previous)
    }
}
