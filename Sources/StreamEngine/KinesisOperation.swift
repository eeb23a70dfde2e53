/// The 39 Kinesis operations (KINESIS.md §2.1), named as `X-Amz-Target:
/// Kinesis_20131202.<Operation>` names them.
///
/// The one list of operation names: the control-plane rate table
/// (``KinesisLimits/controlPlaneTPS``), the wire server's dispatch, `--faults` and the
/// latency metrics all key on it, so a misspelt name is a compile error rather than a
/// quota that silently never applies.
public enum KinesisOperation: String, CaseIterable, Codable, Sendable {
    case addTagsToStream = "AddTagsToStream"
    case createStream = "CreateStream"
    case decreaseStreamRetentionPeriod = "DecreaseStreamRetentionPeriod"
    case deleteResourcePolicy = "DeleteResourcePolicy"
    case deleteStream = "DeleteStream"
    case deregisterStreamConsumer = "DeregisterStreamConsumer"
    case describeAccountSettings = "DescribeAccountSettings"
    case describeLimits = "DescribeLimits"
    case describeStream = "DescribeStream"
    case describeStreamConsumer = "DescribeStreamConsumer"
    case describeStreamSummary = "DescribeStreamSummary"
    case disableEnhancedMonitoring = "DisableEnhancedMonitoring"
    case enableEnhancedMonitoring = "EnableEnhancedMonitoring"
    case getRecords = "GetRecords"
    case getResourcePolicy = "GetResourcePolicy"
    case getShardIterator = "GetShardIterator"
    case increaseStreamRetentionPeriod = "IncreaseStreamRetentionPeriod"
    case listShards = "ListShards"
    case listStreamConsumers = "ListStreamConsumers"
    case listStreams = "ListStreams"
    case listTagsForResource = "ListTagsForResource"
    case listTagsForStream = "ListTagsForStream"
    case mergeShards = "MergeShards"
    case putRecord = "PutRecord"
    case putRecords = "PutRecords"
    case putResourcePolicy = "PutResourcePolicy"
    case registerStreamConsumer = "RegisterStreamConsumer"
    case removeTagsFromStream = "RemoveTagsFromStream"
    case splitShard = "SplitShard"
    case startStreamEncryption = "StartStreamEncryption"
    case stopStreamEncryption = "StopStreamEncryption"
    case subscribeToShard = "SubscribeToShard"
    case tagResource = "TagResource"
    case untagResource = "UntagResource"
    case updateAccountSettings = "UpdateAccountSettings"
    case updateMaxRecordSize = "UpdateMaxRecordSize"
    case updateShardCount = "UpdateShardCount"
    case updateStreamMode = "UpdateStreamMode"
    case updateStreamWarmThroughput = "UpdateStreamWarmThroughput"

    /// Whether the model's `OperationType` context is `data` (KINESIS.md §2.1): the calls whose
    /// quotas are per shard or per consumer rather than a control-plane TPS.
    public var isDataPlane: Bool {
        switch self {
        case .getRecords, .getShardIterator, .putRecord, .putRecords, .subscribeToShard: true
        default: false
        }
    }

    /// The service name of the target header (the model's `targetPrefix`).
    public static let targetPrefix = "Kinesis_20131202"

    /// `Kinesis_20131202.PutRecord`.
    public var target: String { "\(Self.targetPrefix).\(rawValue)" }
}
