import Foundation
import StreamEngine
import Testing

@testable import KinesisAPI

/// Every typed operation of `KinesisHTTPClient` once, against a loopback ktop:
/// each request must encode as the server expects and each reply decode into
/// its output shape (a shape the client could not read would surface as
/// InternalFailureException "cannot read the … reply").
@Suite("KinesisHTTPClient: all 39 operations")
struct HTTPClientOperationsTests {
    @Test func everyOperationRoundTrips() async throws {
        var configuration = EngineConfiguration()
        configuration.delays = .immediate
        let clock = ManualClock()
        let engine = KinesisEngine(clock: clock, configuration: configuration)
        let server = KinesisServer(
            engine: engine,
            configuration: .init(
                host: "127.0.0.1", port: 0, threads: 1,
                shutdownGracePeriod: .milliseconds(200)))
        let port = try await server.start()
        let client = KinesisHTTPClient(
            endpoint: URL(string: "http://127.0.0.1:\(port)")!, region: "us-east-1",
            credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"))
        let outcomes = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<[String: String], any Error>) in
            Thread.detachNewThread {
                continuation.resume(with: Result { try Self.exercise(client, clock) })
            }
        }
        try await server.shutdown()
        // All 39 succeed on the engine (warm throughput after the account's billing commitment is enabled).
        #expect(outcomes.count == KinesisOperation.allCases.count)
        #expect(outcomes.filter { $0.value != "ok" }.isEmpty, "\(outcomes.filter { $0.value != "ok" })")
    }

    private static func exercise(_ c: KinesisHTTPClient, _ clock: ManualClock) throws -> [String: String] {
        var outcomes: [String: String] = [:]
        func run(_ op: KinesisOperation, _ body: () throws(KinesisError) -> Void) {
            do {
                try body()
                outcomes[op.rawValue] = "ok"
            } catch {
                outcomes[op.rawValue] = error.description
            }
            clock.advance(by: .seconds(2))  // clear the control-plane rate limits
        }
        let s = "all"
        run(.createStream) { () throws(KinesisError) in
            _ = try c.createStream(CreateStreamInput(streamName: s, shardCount: 2))
        }
        let arn = try c.describeStreamSummary(StreamInput(streamName: s)).streamDescriptionSummary.streamARN
        run(.describeStream) { () throws(KinesisError) in
            let d = try c.describeStream(DescribeStreamInput(streamName: s)).streamDescription
            if d.shards.count != 2 { throw KinesisError(.internalFailure, "shards \(d.shards.count)") }
        }
        run(.describeStreamSummary) { () throws(KinesisError) in
            _ = try c.describeStreamSummary(StreamInput(streamARN: arn))
        }
        run(.listStreams) { () throws(KinesisError) in _ = try c.listStreams(ListStreamsInput(limit: 10)) }
        run(.listShards) { () throws(KinesisError) in _ = try c.listShards(ListShardsInput(streamName: s)) }
        run(.describeLimits) { () throws(KinesisError) in _ = try c.describeLimits() }
        run(.describeAccountSettings) { () throws(KinesisError) in _ = try c.describeAccountSettings() }
        run(.updateAccountSettings) { () throws(KinesisError) in
            _ = try c.updateAccountSettings(
                UpdateAccountSettingsInput(
                    minimumThroughputBillingCommitment: MinimumThroughputBillingCommitmentInput(status: .enabled)))
        }
        run(.addTagsToStream) { () throws(KinesisError) in
            _ = try c.addTagsToStream(AddTagsToStreamInput(streamName: s, tags: ["team": "ktop"]))
        }
        run(.listTagsForStream) { () throws(KinesisError) in
            let tags = try c.listTagsForStream(ListTagsForStreamInput(streamName: s)).tags
            if tags.first?.key != "team" { throw KinesisError(.internalFailure, "tags \(tags)") }
        }
        run(.removeTagsFromStream) { () throws(KinesisError) in
            _ = try c.removeTagsFromStream(RemoveTagsFromStreamInput(streamName: s, tagKeys: ["team"]))
        }
        run(.tagResource) { () throws(KinesisError) in
            _ = try c.tagResource(TagResourceInput(tags: ["a": "b"], resourceARN: arn))
        }
        run(.listTagsForResource) { () throws(KinesisError) in
            _ = try c.listTagsForResource(ResourceARNInput(resourceARN: arn))
        }
        run(.untagResource) { () throws(KinesisError) in
            _ = try c.untagResource(UntagResourceInput(tagKeys: ["a"], resourceARN: arn))
        }
        run(.increaseStreamRetentionPeriod) { () throws(KinesisError) in
            _ = try c.increaseStreamRetentionPeriod(StreamRetentionInput(streamName: s, retentionPeriodHours: 48))
        }
        run(.decreaseStreamRetentionPeriod) { () throws(KinesisError) in
            _ = try c.decreaseStreamRetentionPeriod(StreamRetentionInput(streamName: s, retentionPeriodHours: 24))
        }
        run(.enableEnhancedMonitoring) { () throws(KinesisError) in
            _ = try c.enableEnhancedMonitoring(
                EnhancedMonitoringInput(streamName: s, shardLevelMetrics: [.incomingBytes]))
        }
        run(.disableEnhancedMonitoring) { () throws(KinesisError) in
            _ = try c.disableEnhancedMonitoring(
                EnhancedMonitoringInput(streamName: s, shardLevelMetrics: [.incomingBytes]))
        }
        run(.startStreamEncryption) { () throws(KinesisError) in
            _ = try c.startStreamEncryption(
                StreamEncryptionInput(streamName: s, encryptionType: .kms, keyId: "alias/aws/kinesis"))
        }
        run(.stopStreamEncryption) { () throws(KinesisError) in
            _ = try c.stopStreamEncryption(
                StreamEncryptionInput(streamName: s, encryptionType: .kms, keyId: "alias/aws/kinesis"))
        }
        run(.putRecord) { () throws(KinesisError) in
            _ = try c.putRecord(PutRecordInput(streamName: s, data: Data("x".utf8), partitionKey: "k"))
        }
        run(.putRecords) { () throws(KinesisError) in
            _ = try c.putRecords(
                PutRecordsInput(
                    records: [PutRecordsRequestEntry(data: Data("y".utf8), partitionKey: "k")], streamName: s))
        }
        var iterator: String?
        run(.getShardIterator) { () throws(KinesisError) in
            iterator = try c.getShardIterator(
                GetShardIteratorInput(
                    streamName: s, shardId: "shardId-000000000000",
                    shardIteratorType: .atTimestamp, timestamp: Date(timeIntervalSince1970: 0))
            )
            .shardIterator
        }
        run(.getRecords) { () throws(KinesisError) in
            _ = try c.getRecords(GetRecordsInput(shardIterator: iterator, limit: 10))
        }
        run(.putResourcePolicy) { () throws(KinesisError) in
            _ = try c.putResourcePolicy(
                PutResourcePolicyInput(resourceARN: arn, policy: #"{"Version":"2012-10-17","Statement":[]}"#))
        }
        run(.getResourcePolicy) { () throws(KinesisError) in
            _ = try c.getResourcePolicy(ResourceARNInput(resourceARN: arn))
        }
        run(.deleteResourcePolicy) { () throws(KinesisError) in
            _ = try c.deleteResourcePolicy(ResourceARNInput(resourceARN: arn))
        }
        run(.splitShard) { () throws(KinesisError) in
            _ = try c.splitShard(
                SplitShardInput(
                    streamName: s, shardToSplit: "shardId-000000000000",
                    newStartingHashKey: "42535295865117307932921825928971026432"))
        }
        run(.mergeShards) { () throws(KinesisError) in
            _ = try c.mergeShards(
                MergeShardsInput(
                    streamName: s, shardToMerge: "shardId-000000000002",
                    adjacentShardToMerge: "shardId-000000000003"))
        }
        run(.updateShardCount) { () throws(KinesisError) in
            _ = try c.updateShardCount(UpdateShardCountInput(streamName: s, targetShardCount: 4))
        }
        var consumerARN: String?
        run(.registerStreamConsumer) { () throws(KinesisError) in
            consumerARN = try c.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c"))
                .consumer.consumerARN
        }
        run(.describeStreamConsumer) { () throws(KinesisError) in
            _ = try c.describeStreamConsumer(StreamConsumerInput(consumerARN: consumerARN))
        }
        run(.listStreamConsumers) { () throws(KinesisError) in
            _ = try c.listStreamConsumers(ListStreamConsumersInput(streamARN: arn))
        }
        run(.subscribeToShard) { () throws(KinesisError) in
            let shard = try c.listShards(ListShardsInput(streamName: s, shardFilter: ShardFilter(type: .atLatest)))
                .shards[0].shardId
            let sub = try c.subscribeToShard(
                SubscribeToShardInput(
                    consumerARN: consumerARN, shardId: shard,
                    startingPosition: StartingPosition(type: .trimHorizon)))
            _ = try sub.nextEvent()
            sub.cancel()
        }
        run(.deregisterStreamConsumer) { () throws(KinesisError) in
            _ = try c.deregisterStreamConsumer(StreamConsumerInput(consumerARN: consumerARN))
        }
        run(.updateMaxRecordSize) { () throws(KinesisError) in
            _ = try c.updateMaxRecordSize(UpdateMaxRecordSizeInput(streamARN: arn, maxRecordSizeInKiB: 2048))
        }
        run(.updateStreamMode) { () throws(KinesisError) in
            _ = try c.updateStreamMode(
                UpdateStreamModeInput(streamARN: arn, streamModeDetails: StreamModeDetails(streamMode: .onDemand)))
        }
        run(.updateStreamWarmThroughput) { () throws(KinesisError) in
            _ = try c.updateStreamWarmThroughput(
                UpdateStreamWarmThroughputInput(streamARN: arn, warmThroughputMiBps: 10))
        }
        run(.deleteStream) { () throws(KinesisError) in
            _ = try c.deleteStream(DeleteStreamInput(streamName: s, enforceConsumerDeletion: true))
        }
        return outcomes
    }
}
