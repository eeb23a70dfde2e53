import StreamEngine

/// What LoadGen needs from Kinesis. The embedded engine's `KinesisService`
/// implements it directly; the HTTP client of the API module implements it
/// for remote endpoints, so one load generator drives both.
public protocol KinesisClient: Sendable {
    func createStream(_ input: CreateStreamInput) throws(KinesisError) -> EmptyOutput
    func describeStreamSummary(_ input: StreamInput) throws(KinesisError) -> DescribeStreamSummaryOutput
    func listShards(_ input: ListShardsInput) throws(KinesisError) -> ListShardsOutput
    func putRecord(_ input: PutRecordInput) throws(KinesisError) -> PutRecordOutput
    func putRecords(_ input: PutRecordsInput) throws(KinesisError) -> PutRecordsOutput
    func getShardIterator(_ input: GetShardIteratorInput) throws(KinesisError) -> GetShardIteratorOutput
    func getRecords(_ input: GetRecordsInput) throws(KinesisError) -> GetRecordsOutput
    func registerStreamConsumer(
        _ input: RegisterStreamConsumerInput
    ) throws(KinesisError) -> RegisterStreamConsumerOutput
    func describeStreamConsumer(_ input: StreamConsumerInput) throws(KinesisError) -> DescribeStreamConsumerOutput
    func subscribe(_ input: SubscribeToShardInput) throws(KinesisError) -> any FanOutSubscription
    /// Resharding and consumer removal, for scenario phases. Clients that cannot
    /// (read-only endpoints) inherit defaults that fail with InvalidArgumentException.
    func splitShard(_ input: SplitShardInput) throws(KinesisError) -> EmptyOutput
    func mergeShards(_ input: MergeShardsInput) throws(KinesisError) -> EmptyOutput
    func updateShardCount(_ input: UpdateShardCountInput) throws(KinesisError) -> UpdateShardCountOutput
    func deregisterStreamConsumer(_ input: StreamConsumerInput) throws(KinesisError) -> EmptyOutput
}

extension KinesisClient {
    public func splitShard(_ input: SplitShardInput) throws(KinesisError) -> EmptyOutput {
        throw KinesisError(.invalidArgument, "SplitShard is not supported by this client.")
    }
    public func mergeShards(_ input: MergeShardsInput) throws(KinesisError) -> EmptyOutput {
        throw KinesisError(.invalidArgument, "MergeShards is not supported by this client.")
    }
    public func updateShardCount(_ input: UpdateShardCountInput) throws(KinesisError) -> UpdateShardCountOutput {
        throw KinesisError(.invalidArgument, "UpdateShardCount is not supported by this client.")
    }
    public func deregisterStreamConsumer(_ input: StreamConsumerInput) throws(KinesisError) -> EmptyOutput {
        throw KinesisError(.invalidArgument, "DeregisterStreamConsumer is not supported by this client.")
    }
}

/// A live SubscribeToShard, however it is delivered.
public protocol FanOutSubscription: Sendable {
    func nextEvent() throws(KinesisError) -> SubscribeToShardEvent?
}

extension ShardSubscription: FanOutSubscription {}

extension KinesisService: KinesisClient {
    public func subscribe(_ input: SubscribeToShardInput) throws(KinesisError) -> any FanOutSubscription {
        try subscribeToShard(input)
    }
}
