import Foundation
import StreamEngine
import Testing

@testable import Metrics

/// IteratorAgeMilliseconds per shard and MillisBehindLatest per consumer are
/// the engine's own figures, carried through unchanged.
@Suite struct LagTests {
    @Test func iteratorAgeAndMillisBehindLatestReachTheStore() throws {
        var rig = Rig()
        try rig.create("lag", shards: 1)
        let arn = try #require(rig.engine.sample().streams.first).arn
        _ = try rig.kinesis.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "slow"))
        rig.tick()
        let consumerARN = try rig.kinesis.describeStreamConsumer(
            StreamConsumerInput(streamARN: arn, consumerName: "slow")
        )
        .consumerDescription.consumerARN
        let iterator = try rig.kinesis.getShardIterator(
            GetShardIteratorInput(
                streamName: "lag", shardId: "shardId-000000000000",
                shardIteratorType: .trimHorizon)
        ).shardIterator
        let subscription = try rig.kinesis.subscribeToShard(
            SubscribeToShardInput(
                consumerARN: consumerARN, shardId: "shardId-000000000000",
                startingPosition: StartingPosition(type: .trimHorizon)))
        // Three seconds of 900 KB each, read by nobody.
        for second in 0..<3 {
            let entries = (0..<9).map {
                PutRecordsRequestEntry(data: payload(100_000), partitionKey: "s\(second)-\($0)")
            }
            _ = try rig.kinesis.putRecords(PutRecordsInput(records: entries, streamName: "lag"))
            rig.tick()
        }
        // A GetRecords of one record: the oldest, three seconds old.
        let got = try rig.kinesis.getRecords(GetRecordsInput(shardIterator: iterator, limit: 1))
        #expect(got.nextShardIterator != nil)
        let arrival = try #require(got.records.first?.approximateArrivalTimestamp)
        let age = rig.clock.now().millisecondsSinceEpoch - Int64((arrival.timeIntervalSince1970 * 1000).rounded())
        // The fan-out pipe (2 MiB) cannot carry 2.7 MB at once: the consumer falls behind.
        let event = try #require(try subscription.nextEvent())
        #expect(event.millisBehindLatest > 0)
        rig.tick()
        let stream = rig.stream("lag")
        let shard = try #require(rig.store.latest(stream, "shardId-000000000000"))
        #expect(shard.iteratorAgeMilliseconds == Double(age))
        #expect(rig.store.streamSeries(stream)?.metrics.lastSecond?[.getRecordsIteratorAgeMilliseconds] == Double(age))
        let pipe = try #require(rig.store.readBudgets[stream.arn]?.first?.fanOut.first)
        #expect(pipe.millisBehindLatest == Int64(event.millisBehindLatest))
        let consumer = try #require(rig.store.consumerSeries(stream).first { $0.name == "slow" }?.metrics.lastSecond)
        #expect(consumer[.millisBehindLatest] == Double(event.millisBehindLatest))
        #expect(
            rig.store.streamSeries(stream)?.metrics.lastSecond?[.subscribeToShardEventMillisBehindLatest]
                == Double(event.millisBehindLatest))
        #expect(
            rig.store.consumerRates[stream.arn + "#efo#slow"]?.millisBehindLatest == Int64(event.millisBehindLatest))
    }
}
