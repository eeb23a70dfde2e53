import Foundation
import LoadGen
import StreamEngine
import Testing

@testable import Analytics

/// The job against the embedded engine on a manual clock, through the same KinesisClient API a remote
/// endpoint offers: it reads as a polling consumer, follows a split, and --into writes a readable stream.
@Suite struct ContinuousSQLJobTests {
    final class Bench {
        let clock = ManualClock(start: Instant(millisecondsSinceEpoch: 1_764_000_000_000))
        let engine: KinesisEngine
        let service: KinesisService
        var nextTick: Instant

        init() throws {
            engine = KinesisEngine(clock: clock, configuration: EngineConfiguration())
            service = engine.service()
            _ = try service.createStream(CreateStreamInput(streamName: "orders", shardCount: 2))
            _ = try service.createStream(CreateStreamInput(streamName: "derived", shardCount: 1))
            nextTick = clock.now()
            advance(.seconds(1))
        }

        func advance(_ d: Duration) {
            let end = clock.now() + d
            while clock.now() < end {
                clock.advance(by: .milliseconds(50))
                if clock.now() >= nextTick {
                    nextTick = nextTick + .seconds(1)
                    engine.tick()
                }
            }
        }

        func readAll(_ stream: String) throws -> [Record] {
            var out: [Record] = []
            for shard in try service.listShards(ListShardsInput(streamName: stream)).shards {
                var it: String? = try service.getShardIterator(
                    GetShardIteratorInput(streamName: stream, shardId: shard.shardId, shardIteratorType: .trimHorizon)
                ).shardIterator
                while let current = it {
                    advance(.milliseconds(250))
                    let page = try service.getRecords(GetRecordsInput(shardIterator: current))
                    out += page.records
                    if page.records.isEmpty { break }
                    it = page.nextShardIterator
                }
            }
            return out
        }
    }

    @Test(arguments: [false, true])
    func countsEveryRecordOnceAcrossASplitAndWritesTheResults(efo: Bool) throws {
        let bench = try Bench()
        let query = try ContinuousQuery(
            "SELECT user, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '5' SECOND)) "
                + "GROUP BY window_start, window_end, user", stream: "orders")
        let job = try ContinuousSQLJob(
            query: query, stream: "orders", client: bench.service, start: .trimHorizon,
            fanOutConsumer: efo ? "ktop-sql-test" : nil)
        let writer = ResultWriter(stream: "derived", client: bench.service)
        var results: [WindowResult] = []
        var expected: [String: Int64] = [:]
        var sent: [Data] = []
        for second in 0..<30 {
            if second == 12 {
                _ = try bench.service.splitShard(
                    SplitShardInput(
                        streamName: "orders", shardToSplit: "shardId-000000000000",
                        newStartingHashKey: "85070591730234615865843651857942052864"))
            }
            for i in 0..<5 {
                let user = "u\((second + i) % 3)"
                let data = Data("{\"user\":\"\(user)\",\"i\":\(second * 10 + i)}".utf8)
                do {
                    _ = try bench.service.putRecord(
                        PutRecordInput(streamName: "orders", data: data, partitionKey: "key-\(second)-\(i)"))
                    expected[user, default: 0] += 1
                    sent.append(data)
                } catch {
                    Issue.record("put refused: \(error)")
                }
            }
            for _ in 0..<10 {
                bench.advance(.milliseconds(100))
                let closed = job.step(now: bench.clock.now())
                writer.write(closed, partitionBy: query.groupByKeys)
                results += closed
            }
        }
        for _ in 0..<40 {
            bench.advance(.milliseconds(100))
            let closed = job.step(now: bench.clock.now())
            writer.write(closed, partitionBy: query.groupByKeys)
            results += closed
        }
        let last = job.finish()
        writer.write(last, partitionBy: query.groupByKeys)
        results += last
        #expect(job.runner.failure == nil)
        #expect(job.runner.stats.late == 0)
        #expect(results.allSatisfy { $0.error == nil })
        var got: [String: Int64] = [:]
        for w in results {
            for row in w.rows {
                if case .text(let u) = row[0], case .integer(let n) = row[1] { got[u, default: 0] += n }
            }
        }
        #expect(got == expected)
        #expect(job.runner.stats.records == 150)
        // The split happened (a closed parent, two children) and the reader followed it.
        #expect(try bench.service.listShards(ListShardsInput(streamName: "orders")).shards.count == 4)
        // The source is untouched; the derived stream holds one record per result row, as JSON.
        #expect(Set(try bench.readAll("orders").map(\.data)) == Set(sent))
        let derived = try bench.readAll("derived")
        #expect(derived.count == results.reduce(0) { $0 + $1.rows.count })
        #expect(writer.written == Int64(derived.count) && writer.failed == 0)
        let decoded = try derived.map { try JSONSerialization.jsonObject(with: $0.data) as? [String: Any] }
        #expect(decoded.allSatisfy { $0?["window_start"] is String && $0?["n"] is Int })
        #expect(Set(derived.map(\.partitionKey)) == Set(expected.keys))
        if case .fanOut = job.reader { #expect(job.readerStats.calls > 0) } else { #expect(!efo) }
        let status = job.status
        #expect(status.readsByFanOut == efo && status.stats.records == 150 && status.failure == nil)
        #expect(status.schema?.columns.map(\.name) == ["i", "user"] && status.window.sizeMillis == 5_000)
        #expect(job.close() == nil)
        let arn = try bench.service.describeStreamSummary(StreamInput(streamName: "orders")).streamDescriptionSummary
            .streamARN
        let consumers = try bench.service.listStreamConsumers(ListStreamConsumersInput(streamARN: arn)).consumers
        #expect(consumers.allSatisfy { $0.consumerStatus == .deleting }, "\(consumers)")
    }

    @Test func groupByKeysSkipWindowColumnsAndExpressions() throws {
        let q = try ContinuousQuery(
            "SELECT a FROM s GROUP BY window_start, s.tenant, lower(b), (SELECT 1 GROUP BY x), user HAVING 1",
            stream: "s", flagWindow: try .tumbling(millis: 10_000))
        #expect(q.groupByKeys == ["tenant", "user"])
    }
}

@Suite struct ArrivalTests {
    @Test func arrivalIsRoundedToTheMillisecondAndNeverTraps() {
        let t = Date(timeIntervalSince1970: 1_764_000_009.999_999_9)
        #expect(ContinuousSQLJob.arrival(t).millisecondsSinceEpoch == 1_764_000_010_000)
        #expect(ContinuousSQLJob.arrival(Date(timeIntervalSince1970: 1_764_000_000.123)).millisecondsSinceEpoch
            == 1_764_000_000_123)
        #expect(ContinuousSQLJob.arrival(Date(timeIntervalSince1970: 1e300)) == .distantFuture)
        #expect(ContinuousSQLJob.arrival(Date(timeIntervalSince1970: -1e300)) == .distantPast)
    }
}
