import Foundation
import StreamEngine
import Testing

@testable import Metrics

/// Every per-second, per-shard figure equals what the engine accepted,
/// throttled and served under a random load; sums over shards equal the
/// stream-level figures.
@Suite struct GroundTruthTests {
    struct Truth {
        var inBytes = 0.0, inRecords = 0.0, writeThrottled = 0.0
        var getBytes = 0.0, getRecords = 0.0, getCalls = 0.0, readThrottled = 0.0
        var fanOutBytes = 0.0, fanOutRecords = 0.0
    }

    @Test func perSecondFiguresEqualWhatTheEngineDid() throws {
        var rig = Rig()
        try rig.create("truth", shards: 4)
        let ranges = try rig.ranges("truth")
        func shardOf(_ key: String) -> String {
            let h = HashKey.of(partitionKey: key)
            return ranges.first { $0.range.contains(h) }!.id
        }
        let arn = try #require(rig.engine.sample().streams.first { $0.name == "truth" }).arn
        _ = try rig.kinesis.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "fan"))
        rig.tick()
        let consumerARN = try rig.kinesis.describeStreamConsumer(
            StreamConsumerInput(streamARN: arn, consumerName: "fan")
        )
        .consumerDescription.consumerARN
        var iterators: [String: String] = [:]
        var subscriptions: [String: ShardSubscription] = [:]
        for (id, _) in ranges {
            iterators[id] = try rig.kinesis.getShardIterator(
                GetShardIteratorInput(streamName: "truth", shardId: id, shardIteratorType: .trimHorizon)
            ).shardIterator
            subscriptions[id] = try rig.kinesis.subscribeToShard(
                SubscribeToShardInput(
                    consumerARN: consumerARN, shardId: id, startingPosition: StartingPosition(type: .trimHorizon)))
        }
        rig.tick()
        var rng = TestRandom(seed: 42)
        // Some keys are hot, so some shards are throttled some seconds.
        let hot = ["hot-a", "hot-b"]
        for second in 0..<25 {
            var truth: [String: Truth] = [:]
            var putRecordOK = 0.0
            var putRecordBytes = 0.0
            var batches = 0.0
            var batchesWithSuccess = 0.0
            var total = 0.0
            var ok = 0.0
            var throttled = 0.0
            var batchBytes = 0.0
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let n = Int.random(in: 1...500, using: &rng)
                let entries = (0..<n).map { _ -> PutRecordsRequestEntry in
                    let key =
                        Bool.random(using: &rng) && second % 3 == 0
                        ? hot.randomElement(using: &rng)! : "k-\(UInt32.random(in: 0...100_000, using: &rng))"
                    return PutRecordsRequestEntry(
                        data: payload(Int.random(in: 1...(second % 5 == 0 ? 4_000 : 400), using: &rng)),
                        partitionKey: key)
                }
                let out = try rig.kinesis.putRecords(PutRecordsInput(records: entries, streamName: "truth"))
                batches += 1
                if out.failedRecordCount! < n { batchesWithSuccess += 1 }
                for (e, r) in zip(entries, out.records) {
                    let size = Double(e.data!.count + e.partitionKey!.utf8.count)
                    let shard = shardOf(e.partitionKey!)
                    total += 1
                    if r.errorCode == nil {
                        #expect(r.shardId == shard)
                        truth[shard, default: Truth()].inBytes += size
                        truth[shard, default: Truth()].inRecords += 1
                        ok += 1
                        batchBytes += size
                    } else {
                        #expect(r.errorCode == "ProvisionedThroughputExceededException")
                        truth[shard, default: Truth()].writeThrottled += 1
                        throttled += 1
                    }
                }
            }
            for _ in 0..<Int.random(in: 0...20, using: &rng) {
                let key = "single-\(UInt32.random(in: 0...1000, using: &rng))"
                let size = Int.random(in: 1...300, using: &rng)
                let total = Double(size + key.utf8.count)
                do {
                    _ = try rig.kinesis.putRecord(
                        PutRecordInput(streamName: "truth", data: payload(size), partitionKey: key))
                    truth[shardOf(key), default: Truth()].inBytes += total
                    truth[shardOf(key), default: Truth()].inRecords += 1
                    putRecordOK += 1
                    putRecordBytes += total
                } catch {
                    truth[shardOf(key), default: Truth()].writeThrottled += 1
                }
            }
            // Reads: up to 8 GetRecords per shard, so some hit the 5 calls/s quota.
            for (id, _) in ranges {
                for _ in 0..<Int.random(in: 0...8, using: &rng) {
                    do {
                        let out = try rig.kinesis.getRecords(
                            GetRecordsInput(shardIterator: iterators[id]!, limit: Int.random(in: 1...600, using: &rng)))
                        iterators[id] = out.nextShardIterator
                        truth[id, default: Truth()].getCalls += 1
                        truth[id, default: Truth()].getRecords += Double(out.records.count)
                        truth[id, default: Truth()].getBytes += Double(
                            out.records.reduce(0) { $0 + $1.data.count + $1.partitionKey.utf8.count })
                    } catch {
                        truth[id, default: Truth()].readThrottled += 1
                    }
                }
                if let event = try subscriptions[id]!.nextEvent() {
                    truth[id, default: Truth()].fanOutRecords += Double(event.records.count)
                    truth[id, default: Truth()].fanOutBytes += Double(
                        event.records.reduce(0) { $0 + $1.data.count + $1.partitionKey.utf8.count })
                }
            }
            rig.tick()
            let stream = rig.stream("truth")
            var sums = Truth()
            for (id, _) in ranges {
                let t = truth[id] ?? Truth()
                let s = try #require(rig.store.latest(stream, id))
                #expect(s.incomingBytes == t.inBytes, "second \(second) \(id)")
                #expect(s.incomingRecords == t.inRecords)
                #expect(s.writeProvisionedThroughputExceeded == t.writeThrottled)
                #expect(s.getRecordsBytes == t.getBytes)
                #expect(s.getRecordsRecords == t.getRecords)
                #expect(s.getRecordsSuccess == t.getCalls)
                #expect(s.readProvisionedThroughputExceeded == t.readThrottled)
                #expect(s.fanOutBytes == t.fanOutBytes)
                #expect(s.fanOutRecords == t.fanOutRecords)
                #expect(s.outgoingBytes == t.getBytes + t.fanOutBytes)
                #expect(s.outgoingRecords == t.getRecords + t.fanOutRecords)
                let u = max(t.inBytes / 1_048_576, t.inRecords / 1_000)
                #expect(abs(s.utilization - u) < 1e-12)
                sums.inBytes += t.inBytes
                sums.inRecords += t.inRecords
                sums.writeThrottled += t.writeThrottled
                sums.getBytes += t.getBytes
                sums.getRecords += t.getRecords
                sums.getCalls += t.getCalls
                sums.readThrottled += t.readThrottled
                sums.fanOutBytes += t.fanOutBytes
                sums.fanOutRecords += t.fanOutRecords
            }
            let p = try #require(rig.store.streamSeries(stream)?.metrics.lastSecond)
            #expect(p.intervalMillis == 1000)
            #expect(p[.incomingBytes] == sums.inBytes)
            #expect(p[.incomingRecords] == sums.inRecords)
            #expect(p[.writeProvisionedThroughputExceeded] == sums.writeThrottled)
            #expect(p[.getRecordsBytes] == sums.getBytes)
            #expect(p[.getRecordsRecords] == sums.getRecords)
            #expect(p[.getRecordsSuccess] == sums.getCalls)
            #expect(p[.readProvisionedThroughputExceeded] == sums.readThrottled)
            #expect(p[.subscribeToShardEventBytes] == sums.fanOutBytes)
            #expect(p[.subscribeToShardEventRecords] == sums.fanOutRecords)
            #expect(p[.subscribeToShardEventSuccess] == Double(ranges.count))
            #expect(p[.putRecordSuccess] == putRecordOK)
            #expect(p[.putRecordBytes] == putRecordBytes)
            #expect(p[.putRecordsSuccess] == batchesWithSuccess)
            #expect(p[.putRecordsTotalRecords] == total)
            #expect(p[.putRecordsSuccessfulRecords] == ok)
            #expect(p[.putRecordsRecords] == ok)
            #expect(p[.putRecordsThrottledRecords] == throttled)
            #expect(p[.putRecordsFailedRecords] == 0)
            #expect(p[.putRecordsBytes] == batchBytes)
            #expect(p[.putRecordBytes] + p[.putRecordsBytes] == p[.incomingBytes])
            #expect(batches > 0)
            // Consumer series of the EFO consumer agrees with the stream.
            let fan = try #require(rig.store.consumerSeries(stream).first { $0.name == "fan" }?.metrics.lastSecond)
            #expect(fan[.bytes] == sums.fanOutBytes)
            #expect(fan[.records] == sums.fanOutRecords)
            // Read budgets: the shared GetRecords quota per shard.
            for b in rig.store.readBudgets[stream.arn] ?? [] {
                let t = truth[b.shardId] ?? Truth()
                #expect(b.pollingBytesPerSecond == t.getBytes)
                #expect(b.pollingCallsPerSecond == t.getCalls + t.readThrottled)
                #expect(b.throttledCallsPerSecond == t.readThrottled)
                #expect(b.fanOut.map(\.bytesPerSecond) == [t.fanOutBytes])
                #expect(b.fanOut.first?.budgetBytesPerSecond == 2_097_152)
            }
        }
        // The load did exercise throttling on both sides.
        let stream = rig.stream("truth")
        let history = ranges.flatMap { rig.store.history(stream, $0.id, seconds: 30) }
        #expect(history.contains { $0.writeProvisionedThroughputExceeded > 0 })
        #expect(history.contains { $0.readProvisionedThroughputExceeded > 0 })
    }

    @Test func childShardsCountFromTheirFirstSecond() throws {
        var rig = Rig()
        try rig.create("split", shards: 1)
        rig.tick()
        rig.tick()
        _ = try rig.kinesis.splitShard(
            SplitShardInput(
                streamName: "split", shardToSplit: "shardId-000000000000",
                newStartingHashKey: String(UInt128.max / 2)))
        rig.clock.advance(by: .milliseconds(1))
        var accepted: [String: Double] = [:]
        for i in 0..<200 {
            let out = try rig.kinesis.putRecord(
                PutRecordInput(streamName: "split", data: payload(10), partitionKey: "p\(i)"))
            accepted[out.shardId, default: 0] += 1
        }
        rig.tick()
        let stream = rig.stream("split")
        #expect(accepted.count == 2)
        // Counts, not rates: this interval is 1.001 s long.
        for (id, n) in accepted {
            #expect(rig.store.shardSeries(stream, id)?.metrics.lastSecond?[.incomingRecords] == n)
            #expect(rig.store.shardSeries(stream, id)?.metrics.lastSecond?.intervalMillis == 1_001)
        }
        #expect(rig.store.streamSeries(stream)?.metrics.lastSecond?[.incomingRecords] == 200)
    }
}
