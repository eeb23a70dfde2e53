import Foundation
import Testing

@testable import LoadGen
@testable import StreamEngine

/// The KPL aggregated record format of KINESIS.md §7.1, checked byte by byte.
@Suite struct KPLTests {
    @Test func encodesTheDocumentedLayoutByHand() {
        let data = KPLAggregation.encode([
            UserRecord(partitionKey: "a", data: Data([0x01, 0x02])),
            UserRecord(partitionKey: "b", explicitHashKey: "5", data: Data([0x03])),
            UserRecord(partitionKey: "a", data: Data()),
        ])
        let bytes = [UInt8](data)
        // magic
        #expect(Array(bytes[0..<4]) == [0xF3, 0x89, 0x9A, 0xC2])
        let body = Array(bytes[4..<(bytes.count - 16)])
        // partition_key_table = 1 ("a", "b"), explicit_hash_key_table = 2 ("5"), records = 3
        let expected: [UInt8] = [
            0x0A, 0x01, 0x61,  // field 1, len 1, "a"
            0x0A, 0x01, 0x62,  // field 1, len 1, "b"
            0x12, 0x01, 0x35,  // field 2, len 1, "5"
            0x1A, 0x06, 0x08, 0x00, 0x1A, 0x02, 0x01, 0x02,  // Record{pk 0, data 01 02}
            0x1A, 0x07, 0x08, 0x01, 0x10, 0x00, 0x1A, 0x01, 0x03,  // Record{pk 1, ehk 0, data 03}
            0x1A, 0x04, 0x08, 0x00, 0x1A, 0x00,  // Record{pk 0, data ""}
        ]
        #expect(body == expected)
        // trailer: MD5 of the protobuf bytes only
        #expect(Array(bytes[(bytes.count - 16)...]) == MD5.digest(body))
    }

    @Test func roundTripsUserRecords() {
        var rng = SeededRandom(seed: 3)
        let users = (0..<200).map { i in
            UserRecord(
                partitionKey: "key-\(i % 17)", explicitHashKey: i % 5 == 0 ? String(rng.next()) : nil,
                data: Data((0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }))
        }
        let decoded = KPLAggregation.decode(KPLAggregation.encode(users))
        #expect(decoded?.map(\.partitionKey) == users.map(\.partitionKey))
        #expect(decoded?.map(\.explicitHashKey) == users.map(\.explicitHashKey))
        #expect(decoded?.map(\.data) == users.map(\.data))
        #expect(decoded?.map(\.subSequenceNumber) == Array(0..<200))
    }

    @Test func notAnAggregatePassesThrough() {
        let plain = Record(
            sequenceNumber: "1", approximateArrivalTimestamp: nil, data: Data("hello".utf8), partitionKey: "k",
            encryptionType: nil)
        let (users, dropped) = KPLAggregation.deaggregate(plain)
        #expect(users == [UserRecord(partitionKey: "k", data: Data("hello".utf8))])
        #expect(dropped == 0)
        // Magic but a bad MD5: passed through, as the KCL does.
        var bad = [UInt8](KPLAggregation.encode([UserRecord(partitionKey: "a", data: Data([1]))]))
        bad[bad.count - 1] ^= 0xFF
        #expect(KPLAggregation.decode(Data(bad)) == nil)
        // Magic and nothing more than 16 bytes: not an aggregate.
        #expect(KPLAggregation.decode(Data(KPLAggregation.magic + [UInt8](repeating: 0, count: 16))) == nil)
    }

    @Test func recordsOutsideTheShardEndTheAggregate() {
        let ranges = HashKey.uniformRanges(count: 2)
        let inside = String(ranges[0].lowerBound + 1)
        let outside = String(ranges[1].lowerBound + 1)
        let agg = KPLAggregation.encode([
            UserRecord(partitionKey: "a", explicitHashKey: inside, data: Data([1])),
            UserRecord(partitionKey: "b", explicitHashKey: outside, data: Data([2])),
            UserRecord(partitionKey: "c", explicitHashKey: inside, data: Data([3])),
        ])
        let record = Record(
            sequenceNumber: "1", approximateArrivalTimestamp: nil, data: agg, partitionKey: "a", encryptionType: nil)
        let (users, dropped) = KPLAggregation.deaggregate(record, shardRange: ranges[0])
        #expect(users.map(\.data) == [Data([1])])
        #expect(dropped == 2)
    }

    @Test func aggregatingProducerPacksManyUserRecordsPerKinesisRecord() throws {
        let bench = try Bench(shards: 2)
        let p = Producer(
            config: ProducerConfig(
                name: "kpl", stream: "s", recordsPerSecond: 2_000, keys: .uniform(count: 1_000), size: .fixed(100),
                linger: .milliseconds(100), aggregation: AggregationConfig()),
            client: bench.service, seed: 11)
        bench.run(5) { p.step(now: $0) }
        let kinesisRecords = bench.shardCounters.map(\.incomingRecords).reduce(0, +)
        #expect(p.stats.acked > 9_000)
        #expect(kinesisRecords == p.stats.kinesisRecordsAcked)
        #expect(kinesisRecords * 20 < p.stats.acked, "aggregates of ~50 KB hold hundreds of 100-byte records")
        // Every Kinesis record de-aggregates on its own shard with nothing discarded.
        var users = 0
        let shards = try bench.service.listShards(ListShardsInput(streamName: "s")).shards
        for shard in shards {
            let range =
                HashKey.parse(shard.hashKeyRange.startingHashKey)!...HashKey.parse(shard.hashKeyRange.endingHashKey)!
            bench.clock.advance(by: .seconds(1))
            var it: String? = try bench.service.getShardIterator(
                GetShardIteratorInput(streamName: "s", shardId: shard.shardId, shardIteratorType: .trimHorizon)
            ).shardIterator
            while let i = it {
                bench.clock.advance(by: .milliseconds(300))
                guard let out = try getRecordsWaiting(bench.service, bench.clock, i) else { continue }
                for r in out.records {
                    let (u, dropped) = KPLAggregation.deaggregate(r, shardRange: range)
                    #expect(dropped == 0)
                    users += u.count
                }
                it = out.records.isEmpty ? nil : out.nextShardIterator
            }
        }
        #expect(Int64(users) == p.stats.acked)
    }
}

/// KCL-style workers: leases, balance, checkpoints, parent-first, duplicates.
@Suite struct KCLTests {
    @Test func leasesAreBalancedAndShapedLikeTheKCLTable() throws {
        let scenario = Scenario(
            name: "kcl", summary: "", stream: .init(name: "k", shardCount: 4),
            producers: [ProducerConfig(name: "p", stream: "k", recordsPerSecond: 200, keys: .uniform(count: 500))],
            kclApplications: [KCLConfig(name: "app", stream: "k", workers: ["w1", "w2"])],
            phases: [
                Phase(
                    name: "w3", at: .seconds(10),
                    actions: [
                        .addKCLWorker(application: "app", worker: "w3"),
                        .addKCLWorker(application: "app", worker: "w4"),
                    ])
            ])
        let sim = ScenarioSimulation(scenario: scenario, seed: 1)
        sim.run(until: 8)
        let app = sim.runner.kclApplications[0]
        #expect(app.leaseCounts == ["w1": 2, "w2": 2])
        sim.run(until: 20)
        #expect(app.leaseCounts == ["w1": 1, "w2": 1, "w3": 1, "w4": 1])
        let lease = try #require(app.table.leases["shardId-000000000000"])
        #expect(lease.leaseOwner != nil)
        #expect(lease.leaseCounter > 10)  // renewed every cycle
        #expect(lease.parentShardId.isEmpty && lease.childShardIds.isEmpty)
        #expect(lease.checkpoint.count == 56)  // a real sequence number once records are processed
        #expect(lease.startingHashKey == "0")
        #expect(app.stats.records > 0)
        #expect(app.stats.parentOrderViolations == 0)
    }

    @Test func childWaitsForItsParentToReachShardEnd() {
        let sim = ScenarioSimulation(scenario: .reshardingWithKCL, seed: 5)
        sim.run(until: 32)
        let app = sim.runner.kclApplications[0]
        let t = app.table.leases
        #expect(t["shardId-000000000000"]?.checkpoint == Lease.shardEnd)
        #expect(t["shardId-000000000000"]?.childShardIds == ["shardId-000000000002", "shardId-000000000003"])
        #expect(t["shardId-000000000002"]?.parentShardId == ["shardId-000000000000"])
        #expect(
            Set(t["shardId-000000000004"]?.parentShardId ?? []) == ["shardId-000000000003", "shardId-000000000001"])
        #expect(app.stats.parentOrderViolations == 0)
        #expect(app.stats.shardsCompleted == 3)
    }

    @Test func aWorkerCrashCausesDuplicatesNotLoss() {
        let sim = ScenarioSimulation(scenario: .reshardingWithKCL, seed: 8)
        sim.run(until: 44)
        let before = sim.runner.kclApplications[0].stats.duplicates
        sim.runToEnd()
        let app = sim.runner.kclApplications[0]
        #expect(app.stats.duplicates > before)
        #expect(app.workers.map(\.id).sorted() == ["w2", "w3"])
        #expect(app.leaseCounts.keys.sorted() == ["w2", "w3"])
        #expect(app.stats.discardedByDeaggregation == 0 || sim.runner.producer("kpl")!.stats.wrongShard > 0)
    }
}

/// Plain consumers across resharding: nothing missed, children after parents.
@Suite struct ConsumerTests {
    @Test func pollingAndFanOutConsumersFollowSplitsAndMerges() {
        let scenario = Scenario(
            name: "reshard", summary: "", stream: .init(name: "r", shardCount: 2),
            producers: [ProducerConfig(name: "p", stream: "r", recordsPerSecond: 300, keys: .uniform(count: 1_000))],
            pollingConsumers: ["poll"], fanOutConsumers: ["efo"],
            phases: [
                Phase(
                    name: "split", at: .seconds(5),
                    actions: [.splitShard(shardId: "shardId-000000000000", at: .midpoint)]),
                Phase(
                    name: "merge", at: .seconds(10),
                    actions: [.mergeShards(shardId: "shardId-000000000003", adjacentShardId: "shardId-000000000001")]),
            ])
        let sim = ScenarioSimulation(scenario: scenario, seed: 3)
        // Both consumers start at LATEST; the EFO one only once registered (ACTIVE after 0.5 s), so it
        // counts from the first record after that.
        sim.run(until: 3)
        let startIncoming = sim.engine.sample().streams[0].shards.map(\.counters.incomingRecords).reduce(0, +)
        let startEFO = sim.runner.fanOutConsumers[0].stats.records
        sim.run(until: 20)
        sim.runner.producer("p")!.setRate(0)
        sim.run(until: 25)
        let total = sim.engine.sample().streams[0].shards.map(\.counters.incomingRecords).reduce(0, +)
        #expect(sim.runner.actionErrors.isEmpty)
        #expect(sim.engine.sample().streams[0].openShardCount == 2)
        #expect(sim.runner.pollingConsumers[0].stats.records == total)
        // The EFO consumer was caught up at second 3, so from then on it must see every record written.
        #expect(sim.runner.fanOutConsumers[0].stats.records - startEFO >= total - startIncoming)
        #expect(sim.runner.fanOutConsumers[0].stats.records <= total)
        #expect(sim.runner.pollingConsumers[0].stats.millisBehindLatest == 0)
    }

    @Test func pollingBacksOffExponentiallyWhenThrottled() throws {
        // Ten consumers at 200 ms on one shard ask for 50 calls/s against a quota of 5.
        let scenario = Scenario(
            name: "crowd", summary: "", stream: .init(name: "c", shardCount: 1),
            producers: [ProducerConfig(name: "p", stream: "c", recordsPerSecond: 100, keys: .uniform(count: 10))],
            pollingConsumers: (1...10).map { "c\($0)" })
        let sim = ScenarioSimulation(scenario: scenario, seed: 1)
        sim.run(until: 30)
        let calls = sim.runner.pollingConsumers.map(\.stats.calls).reduce(0, +)
        let throttled = sim.runner.pollingConsumers.map(\.stats.throttled).reduce(0, +)
        // Successful calls cannot beat the quota; backoff keeps refused calls to a few per success.
        #expect(calls <= 5 * 31)
        #expect(calls >= 4 * 25)
        #expect(throttled < calls * 3, "\(throttled) refused for \(calls) served")
        #expect(
            sim.runner.pollingConsumers.allSatisfy { $0.stats.records > 0 },
            "\(sim.runner.pollingConsumers.map { ($0.stats.calls, $0.stats.throttled, $0.stats.records) })")
    }
}

@Suite struct FanOutReuseTests {
    /// A second application run finds its consumer already registered (consumers
    /// outlive the apps that registered them) and reads through it instead of
    /// retrying RegisterStreamConsumer for ever.
    @Test func aFanOutConsumerReusesAnExistingRegistration() throws {
        let clock = ManualClock()
        var config = EngineConfiguration()
        config.delays = .immediate
        let engine = KinesisEngine(clock: clock, configuration: config)
        let k = engine.service()
        _ = try k.createStream(CreateStreamInput(streamName: "s", shardCount: 1))
        let arn = try k.describeStreamSummary(StreamInput(streamName: "s")).streamDescriptionSummary.streamARN
        let existing = try k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "efo"))
            .consumer.consumerARN
        let consumer = FanOutConsumer(name: "efo", stream: "s", client: k)
        for _ in 0..<20 {
            clock.advance(by: .milliseconds(100))
            consumer.step(now: clock.now())
        }
        #expect(consumer.consumerARN == existing)
        _ = try k.putRecord(PutRecordInput(streamName: "s", data: Data("x".utf8), partitionKey: "k"))
        for _ in 0..<20 {
            clock.advance(by: .milliseconds(100))
            consumer.step(now: clock.now())
        }
        #expect(consumer.stats.records == 1)
    }
}

@Suite struct AggregatedHotKeyTests {
    /// Hot keys of a shard fed with KPL aggregates are the user records' keys,
    /// not the aggregate's outer partition key (issue 4: "KPL-aggregated records
    /// counted by their inner user-record keys").
    @Test func topKeysCountUserRecordsInsideAggregates() throws {
        let clock = ManualClock()
        var config = EngineConfiguration()
        config.delays = .immediate
        let engine = KinesisEngine(clock: clock, configuration: config)
        let k = engine.service()
        _ = try k.createStream(CreateStreamInput(streamName: "s", shardCount: 1))
        let users = (0..<10).map { i in
            UserRecord(partitionKey: i < 8 ? "inner-hot" : "inner-\(i)", data: Data(repeating: 1, count: 20))
        }
        for _ in 0..<3 {
            _ = try k.putRecord(
                PutRecordInput(streamName: "s", data: KPLAggregation.encode(users), partitionKey: "outer"))
        }
        // A plain record whose data merely starts like an aggregate counts under its own key.
        _ = try k.putRecord(
            PutRecordInput(
                streamName: "s", data: Data(KPLFormat.magic + Array(repeating: 0, count: 30)), partitionKey: "plain"))
        clock.advance(by: .seconds(1))
        let shard = try #require(engine.sample().streams.first?.shards.first)
        let top = try #require(shard.topKeys).top
        #expect(top.first?.partitionKey == "inner-hot")
        #expect(top.first?.records == 24)
        #expect(!top.contains { $0.partitionKey == "outer" })
        #expect(top.contains { $0.partitionKey == "plain" && $0.records == 1 })
        #expect(shard.counters.aggregatedUserRecords == 30)
        #expect(shard.counters.incomingRecords == 4)  // Kinesis counts the aggregates, not the user records
    }
}
