import Foundation
import StreamEngine
import Testing

@testable import LoadGen

/// A one-stream engine on a manual clock, stepped in 10 ms steps with a tick per simulated second.
final class Bench {
    let clock = ManualClock()
    let engine: KinesisEngine
    let service: KinesisService
    private var nextTick: Instant

    init(stream: String = "s", shards: Int = 1, configuration: EngineConfiguration = EngineConfiguration()) throws {
        engine = KinesisEngine(clock: clock, configuration: configuration)
        service = engine.service()
        _ = try service.createStream(CreateStreamInput(streamName: stream, shardCount: shards))
        clock.advance(by: .seconds(1))
        nextTick = clock.now() + .seconds(1)
    }

    func run(_ seconds: Double, _ step: (Instant) -> Void) {
        let end = clock.now() + .nanoseconds(Int64(seconds * 1e9))
        while clock.now() < end {
            clock.advance(by: .milliseconds(10))
            let now = clock.now()
            step(now)
            if now >= nextTick {
                nextTick = nextTick + .seconds(1)
                engine.tick()
            }
        }
    }

    var shardCounters: [ShardCounters] { engine.sample().streams.flatMap { $0.shards.map(\.counters) } }

    /// Every record of every shard, in shard then sequence order.
    func allRecords(stream: String = "s") throws -> [Record] { try readAll(service, clock, stream: stream) }
}

/// GetRecords, or nil after waiting a second when the read quota refuses the call.
func getRecordsWaiting(_ service: KinesisService, _ clock: ManualClock, _ iterator: String) throws -> GetRecordsOutput?
{
    let result = Result { () throws(KinesisError) -> GetRecordsOutput in
        try service.getRecords(GetRecordsInput(shardIterator: iterator))
    }
    if case .failure(let e) = result, e.type == .provisionedThroughputExceeded {
        clock.advance(by: .seconds(1))
        return nil
    }
    return try result.get()
}

/// Reads every shard of `stream` from TRIM_HORIZON, waiting (on the manual clock) whenever the read quota says so.
func readAll(_ service: KinesisService, _ clock: ManualClock, stream: String) throws -> [Record] {
    var out: [Record] = []
    for shard in try service.listShards(ListShardsInput(streamName: stream)).shards {
        clock.advance(by: .seconds(1))
        var it: String? = try service.getShardIterator(
            GetShardIteratorInput(streamName: stream, shardId: shard.shardId, shardIteratorType: .trimHorizon)
        ).shardIterator
        while let i = it {
            clock.advance(by: .milliseconds(300))
            guard let r = try getRecordsWaiting(service, clock, i) else { continue }
            out += r.records
            it = r.records.isEmpty ? nil : r.nextShardIterator
        }
    }
    return out
}

@Suite struct ProducerTests {
    @Test func throttledRecordsAreRetriedAndDropsEqualWhatTheEngineNeverAcked() throws {
        let bench = try Bench()
        // 1,500 records/s into one shard (limit 1,000/s): a third is throttled on each attempt.
        let p = Producer(
            config: ProducerConfig(
                name: "p", stream: "s", recordsPerSecond: 1_500, keys: .uniform(count: 100),
                size: .fixed(100), maxRetries: 3), client: bench.service, seed: 7)
        bench.run(10) { p.step(now: $0) }
        let s = p.stats
        let engineIn = bench.shardCounters.map(\.incomingRecords).reduce(0, +)
        let engineThrottled = bench.shardCounters.map(\.writeThrottledRecords).reduce(0, +)
        #expect(s.throttled > 0)
        #expect(s.retried > 0)
        #expect(s.dropped > 0)
        #expect(s.failed == 0)
        // Nothing is hidden: every generated record is acked, dropped or still in flight.
        #expect(s.generated == s.acked + s.dropped + s.failed + p.inFlight)
        // The engine stored exactly what the producer counts as acked and refused every throttled attempt.
        #expect(engineIn == s.acked)
        #expect(engineThrottled == s.throttled)
        // A record is dropped only after its last retry: throttled attempts = retries + drops.
        #expect(s.throttled == s.retried + s.dropped)
    }

    @Test func retriesLoseNothingUntilExhausted() throws {
        let bench = try Bench()
        // A 1-second burst at 3,000 records/s (the shard takes 1,000 banked + 1,000/s), then silence:
        // with enough retries everything lands.
        let p = Producer(
            config: ProducerConfig(
                name: "p", stream: "s", recordsPerSecond: 3_000, keys: .uniform(count: 100),
                size: .fixed(100), maxRetries: 10, backoffBase: .milliseconds(100)), client: bench.service, seed: 3)
        bench.run(1) { p.step(now: $0) }
        p.setRate(0)
        bench.run(20) { p.step(now: $0) }
        #expect(p.stats.throttled > 0)
        #expect(p.stats.dropped == 0)
        #expect(p.inFlight == 0)
        #expect(p.stats.acked == p.stats.generated)
        #expect(bench.shardCounters.map(\.incomingRecords).reduce(0, +) == p.stats.generated)
    }

    @Test func putRecordModeSendsOneRecordPerCall() throws {
        let bench = try Bench()
        let p = Producer(
            config: ProducerConfig(
                name: "p", stream: "s", recordsPerSecond: 100, keys: .uniform(count: 10), batchSize: 1),
            client: bench.service, seed: 1)
        bench.run(2) { p.step(now: $0) }
        #expect(p.stats.acked == p.stats.generated)
        #expect(p.stats.requests == p.stats.generated)
    }

    @Test func batchesRespectCountBytesAndLinger() throws {
        let bench = try Bench(
            configuration: {
                var c = EngineConfiguration()
                c.limits = .off
                return c
            }())
        // 100 KiB records: 5 MiB fits 51 of them (keys included), so batches are cut by bytes, not by count.
        let big = Producer(
            config: ProducerConfig(
                name: "big", stream: "s", recordsPerSecond: 500, keys: .uniform(count: 10),
                size: .fixed(102_400), batchSize: 500, linger: .seconds(1)), client: bench.service, seed: 1)
        bench.run(2.005) { big.step(now: $0) }
        #expect(big.stats.failed == 0, "\(big.stats.lastError ?? "")")
        #expect(big.stats.acked >= 500)
        #expect(big.stats.requests >= 10)  // ≥ 500 records / 51 per request
        // Linger: 100 records/s with a 500 ms linger go out in about two requests a second.
        let bench2 = try Bench()
        let slow = Producer(
            config: ProducerConfig(
                name: "slow", stream: "s", recordsPerSecond: 100, keys: .uniform(count: 10),
                linger: .milliseconds(500)), client: bench2.service, seed: 1)
        bench2.run(10) { slow.step(now: $0) }
        #expect((18...22).contains(slow.stats.requests), "\(slow.stats.requests)")
        #expect(slow.stats.acked + slow.inFlight == slow.stats.generated)
    }

    @Test func byteRateTargetsBytesPerSecond() throws {
        let bench = try Bench(shards: 2)
        let p = Producer(
            config: ProducerConfig(
                name: "p", stream: "s", recordsPerSecond: 0, keys: .uniform(count: 100),
                size: .uniform(100...900), bytesPerSecond: 200_000), client: bench.service, seed: 5)
        bench.run(10) { p.step(now: $0) }
        // Minus the keys ("user-NN" ≈ 7–8 bytes).
        let payload = bench.shardCounters.map(\.incomingBytes).reduce(0, +) - p.stats.acked * 8
        #expect(abs(Double(payload) / 10 - 200_000) < 10_000, "\(payload)")
    }

    @Test func explicitHashKeysRouteByHashNotKey() throws {
        let bench = try Bench(shards: 4)
        let ranges = HashKey.uniformRanges(count: 4)
        // Every record aimed at shard 2 by its explicit hash key, whatever its partition key.
        let target = String(ranges[2].lowerBound + 12_345)
        let p = Producer(
            config: ProducerConfig(name: "p", stream: "s", recordsPerSecond: 200, keys: .explicitHashKeys([target])),
            client: bench.service, seed: 1)
        bench.run(2) { p.step(now: $0) }
        let perShard = bench.engine.sample().streams[0].shards.map(\.counters.incomingRecords)
        #expect(perShard[2] == p.stats.acked && p.stats.acked > 0)
        #expect(perShard[0] + perShard[1] + perShard[3] == 0)
    }

    @Test func monotonicKeysPutEachSecondOnOneShard() throws {
        let bench = try Bench(shards: 4)
        let p = Producer(
            config: ProducerConfig(
                name: "p", stream: "s", recordsPerSecond: 100, keys: .monotonic(granularityMillis: 1_000)),
            client: bench.service, seed: 1)
        bench.run(3) { p.step(now: $0) }
        let records = try bench.allRecords()
        let byKey = Dictionary(grouping: records, by: \.partitionKey)
        #expect(byKey.count >= 3 && byKey.count <= 4)
        #expect(byKey.keys.allSatisfy { Int64($0).map { $0 % 1_000 == 0 } ?? false })
    }

    @Test func sizeDistributions() {
        var rng = SeededRandom(seed: 9)
        let normal = (0..<20_000).map { _ in SizeDistribution.normal(mean: 1_000, stddev: 100).next(&rng) }
        let mean = Double(normal.reduce(0, +)) / Double(normal.count)
        let sd = (normal.map { pow(Double($0) - mean, 2) }.reduce(0, +) / Double(normal.count)).squareRoot()
        #expect(abs(mean - 1_000) < 5 && abs(sd - 100) < 5, "\(mean) \(sd)")
        let samples = (0..<1_000).map { _ in SizeDistribution.samples([10, 20, 30]).next(&rng) }
        #expect(Set(samples) == [10, 20, 30])
        #expect(SizeDistribution.samples([10, 20, 30]).mean == 20)
        let zipf = KeySampler(.zipf(count: 100, s: 1.2))
        let keys = (0..<10_000).map { _ in zipf.next(&rng) }
        #expect(keys.filter { $0 == "user-0" }.count > keys.filter { $0 == "user-50" }.count * 20)
        let salted = KeySampler(.salted(key: "k", salts: 4))
        #expect(Set((0..<1_000).map { _ in salted.next(&rng) }) == ["k#0", "k#1", "k#2", "k#3"])
    }
}

/// A seed repeats a run record for record on the manual clock; another seed does not.
@Suite struct DeterminismTests {
    func records(seed: UInt64) throws -> [Record] {
        let sim = ScenarioSimulation(scenario: .demo, seed: seed)
        sim.run(until: 5)
        return try readAll(sim.engine.service(), sim.clock, stream: "demo")
    }

    @Test func sameSeedSameRecords() throws {
        let a = try records(seed: 1234)
        let b = try records(seed: 1234)
        #expect(a.count > 1_000)
        #expect(a == b)
    }

    @Test func differentSeedsDiffer() throws {
        let a = try records(seed: 1234)
        let b = try records(seed: 4321)
        #expect(a.map(\.partitionKey) != b.map(\.partitionKey))
        #expect(a.map(\.data) != b.map(\.data))
    }
}

extension DeterminismTests {
    @Test func kclStoryRepeatsForTheSameSeed() {
        func run(_ seed: UInt64) -> (KCLStats, [ProducerStats], [Lease]) {
            let sim = ScenarioSimulation(scenario: .reshardingWithKCL, seed: seed)
            sim.run(until: 50)
            let app = sim.runner.kclApplications[0]
            return (app.stats, sim.runner.producers.map(\.stats), app.table.sortedLeases)
        }
        let a = run(9)
        let b = run(9)
        let c = run(10)
        #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2)
        #expect(a.1 != c.1)
    }
}
