import KinesisAPI
import LoadGen
import StreamEngine

// The HTTP client drives LoadGen exactly as the embedded engine does: it has
// KinesisService's method signatures, and SubscribeToShard's reply is a
// FanOutSubscription. (KinesisAPI does not depend on LoadGen; the conformance lives here.)

extension KinesisHTTPClient: KinesisClient {
    public func subscribe(_ input: SubscribeToShardInput) throws(KinesisError) -> any FanOutSubscription {
        try subscribeToShard(input)
    }
}

extension KinesisHTTPSubscription: FanOutSubscription {}
