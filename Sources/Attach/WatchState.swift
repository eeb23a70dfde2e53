import StreamEngine

/// Where the watcher stands with the endpoint, for the screen's status line.
///
/// Kinesis answers an over-quota control-plane call with LimitExceededException,
/// a deleted stream with ResourceNotFoundException, and a network failure reaches
/// the HTTP client as an InternalFailureException whose message starts with
/// `cannot reach` (KinesisHTTPClient). Each has its own state so the screen can
/// say which one it is and when the next try comes.
public enum WatchState: Sendable, Equatable, CustomStringConvertible {
    /// No successful DescribeStreamSummary yet.
    case connecting
    /// The last control-plane refresh succeeded.
    case connected
    /// A control-plane call was throttled (LimitExceededException): no control-plane
    /// call before `until`. The reader goes on; its quota is separate.
    case backingOff(until: Instant, reason: String)
    /// The endpoint could not be reached: every call waits until `retryAt`.
    case disconnected(retryAt: Instant, reason: String)
    /// The stream does not exist (deleted while watched, or never created). The last
    /// topology stays on screen; DescribeStreamSummary is retried, slowly, from `retryAt`.
    case streamGone(since: Instant, retryAt: Instant)
    /// Any other control-plane error (AccessDenied, a bad signature, a malformed reply…).
    case failing(retryAt: Instant, reason: String)

    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .connected: "connected"
        case .backingOff(let until, let reason): "backing off until \(until) (\(reason))"
        case .disconnected(let retryAt, let reason): "disconnected, retry at \(retryAt) (\(reason))"
        case .streamGone(let since, let retryAt): "stream gone since \(since), retry at \(retryAt)"
        case .failing(let retryAt, let reason): "failing, retry at \(retryAt) (\(reason))"
        }
    }
}

/// One line for the screen's event pane: every state change and every error the
/// watcher met, with the time it happened (the watcher's clock).
public struct WatchEvent: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable { case info, warning, error }
    public var time: Instant
    public var kind: Kind
    public var text: String

    public init(time: Instant, kind: Kind, text: String) {
        self.time = time; self.kind = kind; self.text = text
    }

    public var description: String { "\(time) \(kind.rawValue): \(text)" }
}

/// How much of the stream the reader covers, for the screen: Kinesis gives all
/// polling readers of a shard 5 GetRecords calls a second together (KINESIS.md §3);
/// the watcher takes at most one of them per shard, and at most
/// `maxReadsPerSecond` shard reads a second in all, in rotation when the stream
/// has more shards than that.
public struct ReaderCoverage: Sendable, Equatable {
    /// Distinct shards read (one GetRecords each) in the last whole second.
    public var shardsReadLastSecond: Int
    /// Open shards of the stream.
    public var openShards: Int
    /// Shards the reader still reads: the open ones and closed ones not yet drained to SHARD_END.
    public var shardsToRead: Int
    public var maxReadsPerSecond: Int
    /// GetRecords calls per second the reader takes from each shard (1).
    public var callsPerShardPerSecond: Int
    /// What it leaves to the stream's own polling consumers (4 of Kinesis's 5).
    public var callsLeftPerShardPerSecond: Int
    /// How long the least recently read shard has waited (nil before the first read).
    public var longestWait: Duration?
}
