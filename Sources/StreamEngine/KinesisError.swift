/// The `__type` names Kinesis puts in its error envelope (KINESIS.md §1.4–§1.5).
public enum KinesisErrorType: String, Sendable, CaseIterable {
    case resourceNotFound = "ResourceNotFoundException"
    case resourceInUse = "ResourceInUseException"
    case invalidArgument = "InvalidArgumentException"
    case limitExceeded = "LimitExceededException"
    case provisionedThroughputExceeded = "ProvisionedThroughputExceededException"
    case expiredIterator = "ExpiredIteratorException"
    case expiredNextToken = "ExpiredNextTokenException"
    case validation = "ValidationException"
    case accessDenied = "AccessDeniedException"
    case kmsAccessDenied = "KMSAccessDeniedException"
    case kmsDisabled = "KMSDisabledException"
    case kmsInvalidState = "KMSInvalidStateException"
    case kmsNotFound = "KMSNotFoundException"
    case kmsOptInRequired = "KMSOptInRequired"
    case kmsThrottling = "KMSThrottlingException"
    case internalFailure = "InternalFailureException"
    case serialization = "SerializationException"
    case unknownOperation = "UnknownOperationException"
    case invalidSignature = "InvalidSignatureException"
    case incompleteSignature = "IncompleteSignatureException"
    case missingAuthenticationToken = "MissingAuthenticationTokenException"
    case unrecognizedClient = "UnrecognizedClientException"

    /// Every modelled Kinesis exception is a client error (400); only
    /// InternalFailure carries the model's `fault` flag (500).
    public var httpStatus: Int { self == .internalFailure ? 500 : 400 }
}

/// A Kinesis error: the exception type and the exact message Kinesis would send.
///
/// The one home for error texts: every message template the engine can produce
/// is a factory below, worded as KINESIS.md quotes AWS (or kinesalite's
/// AWS-derived tests where AWS publishes none).
public struct KinesisError: Error, Equatable, Sendable, CustomStringConvertible {
    public var type: KinesisErrorType
    public var message: String

    public init(_ type: KinesisErrorType, _ message: String) {
        self.type = type
        self.message = message
    }

    public var description: String { "\(type.rawValue): \(message)" }
}

extension KinesisError {
    // MARK: streams

    static func streamNotFound(_ stream: String, _ account: String) -> KinesisError {
        .init(.resourceNotFound, "Stream \(stream) under account \(account) not found.")
    }
    static func streamExists(_ stream: String, _ account: String) -> KinesisError {
        .init(.resourceInUse, "Stream \(stream) under account \(account) already exists.")
    }
    static func streamNotActive(_ stream: String, _ account: String, _ status: StreamStatus) -> KinesisError {
        .init(
            .resourceInUse, "Stream \(stream) under account \(account) not ACTIVE, instead in state \(status.rawValue)")
    }
    static func streamHasConsumers(_ stream: String, _ account: String) -> KinesisError {
        .init(
            .resourceInUse,
            "Stream \(stream) under account \(account) has registered consumers. Set EnforceConsumerDeletion to "
                + "delete the stream along with its consumers."
        )
    }
    static func shardNotFound(_ shard: String, _ stream: String, _ account: String) -> KinesisError {
        .init(.resourceNotFound, "Shard \(shard) in stream \(stream) under account \(account) does not exist")
    }
    /// A shard id with no digits to read after its last `-` (or too large an index).
    static func shardIdUnknown(_ shard: String, _ stream: String, _ account: String) -> KinesisError {
        .init(.resourceNotFound, "Could not find shard \(shard) in stream \(stream) under account \(account).")
    }
    static func streamNameOrARN() -> KinesisError {
        .init(.invalidArgument, "Either StreamName or StreamARN must be provided.")
    }
    static func arnMismatch(_ name: String, _ arn: String) -> KinesisError {
        .init(.invalidArgument, "StreamName \(name) and StreamARN \(arn) do not refer to the same stream.")
    }
    static func invalidARN(_ arn: String) -> KinesisError {
        .init(.invalidArgument, "Invalid ARN: \(arn)")
    }
    /// An operation of the other capacity mode: resharding on an on-demand stream, warm throughput on a
    /// provisioned one.
    static func notInCapacityMode(_ op: KinesisOperation, _ stream: String, _ mode: StreamMode) -> KinesisError {
        .init(
            .validation,
            "\(op.rawValue) is not supported for stream \(stream) because its capacity mode is \(mode.rawValue).")
    }
    static func shardCountForOnDemand() -> KinesisError {
        .init(.validation, "ShardCount is not expected when StreamMode=ON_DEMAND")
    }
    static func shardCountRequired() -> KinesisError {
        .init(.validation, "ShardCount is required when StreamMode=PROVISIONED")
    }

    // MARK: quotas

    static func shardLimit(account: String, region: String, current: Int, limit: Int, additional: Int) -> KinesisError {
        .init(
            .limitExceeded,
            "This request would exceed the shard limit for the account \(account) in \(region). Current shard count "
                + "for the account: \(current). Limit: \(limit). Number of additional shards that would have "
                    + "resulted from this request: \(additional). Refer to the AWS Service Limits page "
                        + "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits "
                            + "and how to request higher limits."
        )
    }
    static func tooManyCreating(_ account: String, _ limit: Int) -> KinesisError {
        .init(
            .limitExceeded,
            "This request would exceed the limit of \(limit) streams in CREATING state for account \(account).")
    }
    static func onDemandStreamLimit(_ account: String, _ limit: Int) -> KinesisError {
        .init(
            .limitExceeded, "This request would exceed the limit of \(limit) on-demand streams for account \(account).")
    }
    /// Control-plane throttling (LimitExceededException), worded as Kinesis
    /// words it in client logs; boto3 retries it for Kinesis.
    static func controlPlaneRate(_ op: KinesisOperation, stream: String?, account: String) -> KinesisError {
        if let stream {
            let on = "on stream \(stream) under account \(account)"
            return .init(.limitExceeded, "Rate exceeded for \(op.rawValue) \(on).")
        }
        return .init(.limitExceeded, "Rate exceeded for \(op.rawValue) under account \(account).")
    }
    static func shardRate(_ shard: String, _ stream: String, _ account: String) -> KinesisError {
        .init(
            .provisionedThroughputExceeded,
            "Rate exceeded for shard \(shard) in stream \(stream) under account \(account).")
    }
    static func getShardIteratorRate(_ shard: String, _ stream: String, _ account: String) -> KinesisError {
        .init(
            .provisionedThroughputExceeded,
            "Rate exceeded for shard \(shard) in stream \(stream) under account \(account).")
    }
    static let internalFailureMessage = "Internal service failure."
    /// A write the data directory could not take (disk full, read-only, a failed sync): Kinesis's
    /// own error for a failure on its side. The file and the reason go to the event log.
    static func storageFailure() -> KinesisError { .init(.internalFailure, internalFailureMessage) }

    static func tooManyTags(_ stream: String, _ account: String, _ limit: Int) -> KinesisError {
        .init(
            .invalidArgument,
            "Failed to add tags to stream \(stream) under account \(account) because a given stream cannot have more "
                + "than \(limit) tags associated with it."
        )
    }

    // MARK: records

    static func invalidExplicitHashKey(_ v: String) -> KinesisError {
        .init(
            .invalidArgument,
            "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was \(v)")
    }
    static func invalidSequenceNumberForOrdering(_ v: String, _ stream: String, _ account: String) -> KinesisError {
        .init(
            .invalidArgument,
            "ExclusiveMinimumSequenceNumber \(v) used in PutRecord on stream \(stream) under account \(account) is "
                + "invalid."
        )
    }
    static func recordTooLarge(index: Int?, size: Int, limit: Int) -> KinesisError {
        let at = index.map { "records.\($0 + 1).member.data" } ?? "data"
        return .init(
            .validation,
            "1 validation error detected: Value at '\(at)' failed to satisfy constraint: Member must have length "
                + "less than or equal to \(limit) (record size including partition key: \(size) bytes)"
        )
    }
    static func putRecordsTooLarge(size: Int, limit: Int) -> KinesisError {
        .init(
            .invalidArgument,
            "Records size exceeds \(limit / 1_048_576) MB limit: the total size of the records in the request, "
                + "including partition keys, is \(size) bytes."
        )
    }

    // MARK: iterators

    static func iteratorTypeMismatch(_ type: ShardIteratorType, hasSequence: Bool) -> KinesisError {
        .init(
            .invalidArgument,
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) "
                + "TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified \(type.rawValue) "
                    + "and \(hasSequence ? "also a" : "no") StartingSequenceNumber."
        )
    }
    static func missingTimestamp() -> KinesisError {
        .init(
            .invalidArgument,
            "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no "
                + "timestamp parameter."
        )
    }
    static func futureTimestamp(_ t: Int64, _ now: Int64) -> KinesisError {
        .init(
            .invalidArgument,
            "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                + "timestampInMillis: \(t), currentTimestampInMillis: \(now)"
        )
    }
    static func timestampWithWrongType(_ type: ShardIteratorType) -> KinesisError {
        .init(
            .invalidArgument,
            "Must specify timestampInMillis parameter only for iterator of type AT_TIMESTAMP. Current request has "
                + "type \(type.rawValue)."
        )
    }
    static func sequenceFromOtherShard(encoded: String, used: String) -> KinesisError {
        .init(
            .invalidArgument,
            "Invalid StartingSequenceNumber. It encodes \(encoded), while it was used in a call to a shard with \(used)"
        )
    }
    static func sequenceFromOtherStream(
        _ seq: String, shard: String, _ stream: String, _ account: String
    ) -> KinesisError {
        .init(
            .invalidArgument,
            "StartingSequenceNumber \(seq) used in GetShardIterator on shard \(shard) in stream \(stream) under "
                + "account \(account) is invalid because it did not come from this stream."
        )
    }
    static func invalidShardIterator() -> KinesisError { .init(.invalidArgument, "Invalid ShardIterator.") }
    static func iteratorExpired(created: Instant, now: Instant) -> KinesisError {
        .init(
            .expiredIterator,
            "Iterator expired. The iterator was created at time \(created.javaDateString) while right now it "
                + "is \(now.javaDateString) which is further in the future than the tolerated delay of 300000 "
                    + "milliseconds."
        )
    }

    // MARK: resharding

    static func invalidSplitKey(
        _ key: String, shard: String, _ stream: String, _ account: String, start: String, end: String
    ) -> KinesisError {
        .init(
            .invalidArgument,
            "NewStartingHashKey \(key) used in SplitShard() on shard \(shard) in stream \(stream) under "
                + "account \(account) is not both greater than one plus the shard's StartingHashKey \(start) and "
                    + "less than the shard's EndingHashKey \(end)."
        )
    }
    static func notAdjacent(_ a: String, _ b: String, _ stream: String, _ account: String) -> KinesisError {
        .init(
            .invalidArgument,
            "Shards \(a) and \(b) in stream \(stream) under account \(account) are not an adjacent pair of shards "
                + "eligible for merging"
        )
    }
    static func shardClosed(_ shard: String, _ stream: String, _ account: String) -> KinesisError {
        .init(
            .resourceInUse,
            "Shard \(shard) in stream \(stream) under account \(account) has already been merged or split, and thus "
                + "is not eligible for merging or splitting."
        )
    }

    // MARK: retention

    static func retentionTooShort(_ h: Int) -> KinesisError {
        .init(
            .invalidArgument,
            "Minimum allowed retention period is 24 hours. Requested retention period (\(h) hours) is too short.")
    }
    static func retentionTooLong(_ h: Int) -> KinesisError {
        .init(
            .invalidArgument,
            "Maximum allowed retention period is 8760 hours. Requested retention period (\(h) hours) is too long.")
    }
    static func retentionNotIncrease(_ h: Int, _ stream: String, current: Int) -> KinesisError {
        .init(
            .invalidArgument,
            "Requested retention period (\(h) hours) for stream \(stream) can not be shorter than existing retention "
                + "period (\(current) hours). Use DecreaseRetentionPeriod API."
        )
    }
    static func retentionNotDecrease(_ h: Int, _ stream: String, current: Int) -> KinesisError {
        .init(
            .invalidArgument,
            "Requested retention period (\(h) hours) for stream \(stream) can not be longer than existing retention "
                + "period (\(current) hours). Use IncreaseRetentionPeriod API."
        )
    }

    // MARK: pagination

    static func nextTokenWithStreamName() -> KinesisError {
        .init(.invalidArgument, "NextToken and StreamName cannot be provided together.")
    }
    static func nextTokenOrStreamName() -> KinesisError {
        .init(.invalidArgument, "Either NextToken or StreamName should be provided.")
    }
    static func invalidNextToken() -> KinesisError { .init(.invalidArgument, "Invalid NextToken.") }
    static func expiredNextToken() -> KinesisError {
        .init(.expiredNextToken, "The timestamp of the NextToken has expired. NextToken is valid for 300 seconds.")
    }

    // MARK: consumers

    static func consumerNotFound(_ what: String, _ account: String) -> KinesisError {
        .init(.resourceNotFound, "Consumer \(what) under account \(account) not found.")
    }
    static func consumerExists(_ name: String, _ stream: String, _ account: String) -> KinesisError {
        .init(.resourceInUse, "Consumer \(name) under stream \(stream) under account \(account) already exists.")
    }
    static func consumerNotActive(_ arn: String, _ status: ConsumerStatus) -> KinesisError {
        .init(.resourceInUse, "Consumer \(arn) is not ACTIVE, instead in state \(status.rawValue).")
    }
    static func consumerLimit(_ stream: String, _ limit: Int) -> KinesisError {
        .init(.limitExceeded, "Stream \(stream) already has the maximum of \(limit) registered consumers.")
    }
    static func consumersCreating(_ stream: String, _ limit: Int) -> KinesisError {
        .init(.limitExceeded, "Stream \(stream) already has \(limit) consumers in CREATING state.")
    }
    static func subscriptionInUse(_ consumer: String, _ shard: String) -> KinesisError {
        .init(.resourceInUse, "Another active subscription exists for consumer \(consumer) and shard \(shard).")
    }
    static func subscriptionTakenOver(_ consumer: String, _ shard: String) -> KinesisError {
        .init(
            .resourceInUse,
            "Subscription for consumer \(consumer) and shard \(shard) was replaced by a newer subscription.")
    }
    static func subscribeRate(_ consumer: String, _ shard: String) -> KinesisError {
        .init(.limitExceeded, "Rate exceeded for SubscribeToShard by consumer \(consumer) on shard \(shard).")
    }
}
