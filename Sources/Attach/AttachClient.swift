import KinesisAPI
import LoadGen
import StreamEngine

/// What `ktop attach` needs from a Kinesis endpoint: everything the load
/// generator calls (`KinesisClient`: DescribeStreamSummary, ListShards,
/// GetShardIterator, GetRecords, the consumer calls, and SplitShard,
/// MergeShards, UpdateShardCount and DeregisterStreamConsumer for the screen's
/// actions), plus the two listings the watcher and the stream picker page
/// through. The embedded engine's `KinesisService` and the HTTP client share
/// these signatures, so a test drives the watcher on the engine exactly as
/// `ktop attach` drives it on AWS, LocalStack, moto or another ktop.
public protocol AttachClient: KinesisClient {
    /// ListStreams (5 TPS per account; pages by NextToken, or by ExclusiveStartStreamName on older endpoints).
    func listStreams(_ input: ListStreamsInput) throws(KinesisError) -> ListStreamsOutput
    /// ListStreamConsumers (5 TPS per stream; pages by NextToken).
    func listStreamConsumers(_ input: ListStreamConsumersInput) throws(KinesisError) -> ListStreamConsumersOutput
}

extension KinesisService: AttachClient {}

// The HTTP client drives LoadGen and the watcher exactly as the embedded engine
// does: it has KinesisService's method signatures, and SubscribeToShard's reply
// is a FanOutSubscription. (KinesisAPI does not depend on LoadGen, so the
// conformance lives here, in the one module that imports both.)

extension KinesisHTTPClient: KinesisClient {
    public func subscribe(_ input: SubscribeToShardInput) throws(KinesisError) -> any FanOutSubscription {
        try subscribeToShard(input)
    }
}

extension KinesisHTTPClient: AttachClient {}

extension KinesisHTTPSubscription: FanOutSubscription {}
