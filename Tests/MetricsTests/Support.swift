import Foundation
import Histogram
import StreamEngine

@testable import Metrics

/// SplitMix64: a tiny seeded generator so every test run sees the same load.
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

/// An engine on a manual clock with immediate status changes, and a store.
struct Rig {
    let clock = ManualClock()
    let engine: KinesisEngine
    let kinesis: KinesisService
    var store: MetricsStore

    init(limits: KinesisLimits = .aws, configuration metrics: MetricsConfiguration = MetricsConfiguration()) {
        var c = EngineConfiguration()
        c.delays = .immediate
        c.limits = limits
        engine = KinesisEngine(clock: clock, configuration: c)
        kinesis = engine.service()
        store = MetricsStore(configuration: metrics, limits: limits)
    }

    func create(_ name: String, shards: Int) throws {
        _ = try kinesis.createStream(CreateStreamInput(streamName: name, shardCount: shards))
        clock.advance(by: .milliseconds(1))
    }

    /// Advances the clock one second, samples the engine and feeds the store.
    mutating func tick(consumers: [ConsumerReport] = [], latencies: [LatencyRecorder.Key: Histogram<UInt64>] = [:]) {
        clock.advance(by: .seconds(1))
        store.ingest(engine.sample(), consumers: consumers, latencies: latencies)
    }

    var sample: EngineSample { store.lastSample! }
    func stream(_ name: String) -> StreamSample { sample.streams.first { $0.name == name }! }

    /// Open shards' ranges of a stream.
    func ranges(_ name: String) throws -> [(id: String, range: ClosedRange<UInt128>)] {
        try kinesis.listShards(ListShardsInput(streamName: name, shardFilter: ShardFilter(type: .atLatest))).shards.map
        {
            (
                $0.shardId,
                HashKey.parse($0.hashKeyRange.startingHashKey)!...HashKey.parse($0.hashKeyRange.endingHashKey)!
            )
        }
    }
}

func payload(_ n: Int) -> Data { Data(repeating: 0x61, count: n) }
