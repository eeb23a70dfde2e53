import LoadGen
import Metrics
import StreamEngine

/// A `KinesisClient` that measures the wall time of the calls CloudWatch
/// publishes a latency for (PutRecord, PutRecords, GetRecords) and reports
/// them to Metrics. On the embedded engine this is the engine call's own
/// time (there is no network); on a remote endpoint it is the round trip.
struct TimedClient: KinesisClient {
    let base: any KinesisClient
    let recorder: LatencyRecorder
    /// Stream to file GetRecords under (its input names only an iterator).
    let stream: String

    private func timed<T>(
        _ op: LatencyOperation, _ name: String?, _ body: () throws(KinesisError) -> T
    ) throws(KinesisError) -> T {
        let clock = ContinuousClock()
        let start = clock.now
        defer { recorder.record(stream: name ?? stream, operation: op, duration: clock.now - start) }
        return try body()
    }

    func createStream(_ input: CreateStreamInput) throws(KinesisError) -> EmptyOutput { try base.createStream(input) }
    func describeStreamSummary(_ input: StreamInput) throws(KinesisError) -> DescribeStreamSummaryOutput {
        try base.describeStreamSummary(input)
    }
    func listShards(_ input: ListShardsInput) throws(KinesisError) -> ListShardsOutput { try base.listShards(input) }
    func putRecord(_ input: PutRecordInput) throws(KinesisError) -> PutRecordOutput {
        try timed(.putRecord, input.streamName) { () throws(KinesisError) in try base.putRecord(input) }
    }
    func putRecords(_ input: PutRecordsInput) throws(KinesisError) -> PutRecordsOutput {
        try timed(.putRecords, input.streamName) { () throws(KinesisError) in try base.putRecords(input) }
    }
    func getShardIterator(_ input: GetShardIteratorInput) throws(KinesisError) -> GetShardIteratorOutput {
        try base.getShardIterator(input)
    }
    func getRecords(_ input: GetRecordsInput) throws(KinesisError) -> GetRecordsOutput {
        try timed(.getRecords, nil) { () throws(KinesisError) in try base.getRecords(input) }
    }
    func registerStreamConsumer(
        _ input: RegisterStreamConsumerInput
    ) throws(KinesisError) -> RegisterStreamConsumerOutput {
        try base.registerStreamConsumer(input)
    }
    func describeStreamConsumer(_ input: StreamConsumerInput) throws(KinesisError) -> DescribeStreamConsumerOutput {
        try base.describeStreamConsumer(input)
    }
    func subscribe(_ input: SubscribeToShardInput) throws(KinesisError) -> any FanOutSubscription {
        try base.subscribe(input)
    }
    // Scenario phases reshard and deregister consumers through the same client.
    func splitShard(_ input: SplitShardInput) throws(KinesisError) -> EmptyOutput { try base.splitShard(input) }
    func mergeShards(_ input: MergeShardsInput) throws(KinesisError) -> EmptyOutput { try base.mergeShards(input) }
    func updateShardCount(_ input: UpdateShardCountInput) throws(KinesisError) -> UpdateShardCountOutput {
        try base.updateShardCount(input)
    }
    func deregisterStreamConsumer(_ input: StreamConsumerInput) throws(KinesisError) -> EmptyOutput {
        try base.deregisterStreamConsumer(input)
    }
}
