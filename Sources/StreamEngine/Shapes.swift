import Foundation

// The Kinesis data model (botocore service-2.json, API version 2013-12-02):
// every input and output shape the engine accepts or returns, named as AWS
// names them. Property names are the model's member names with a lower-case
// first letter, so a JSON codec maps them one-to-one (`StreamARN` ↔
// `streamARN`). Inputs have every member optional, as on the wire: the engine
// itself reports a missing required member the way Kinesis does
// (`Member must not be null`).

/// An open string enum, as the AWS SDKs model Kinesis enums: known values are
/// static members, and an unknown value survives decoding so that the engine
/// can reject it with Kinesis's own ValidationException.
public protocol KinesisEnum: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible
where RawValue == String {
    static var allCases: [Self] { get }
    init(rawValue: String)
}

extension KinesisEnum {
    public var description: String { rawValue }
    public var isKnown: Bool { Self.allCases.contains(self) }
    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// A stream's lifecycle state.
public struct StreamStatus: KinesisEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let creating = Self(rawValue: "CREATING")
    public static let deleting = Self(rawValue: "DELETING")
    public static let active = Self(rawValue: "ACTIVE")
    public static let updating = Self(rawValue: "UPDATING")
    public static let allCases = [creating, deleting, active, updating]
}

/// A registered (enhanced fan-out) consumer's lifecycle state.
public struct ConsumerStatus: KinesisEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let creating = Self(rawValue: "CREATING")
    public static let deleting = Self(rawValue: "DELETING")
    public static let active = Self(rawValue: "ACTIVE")
    public static let allCases = [creating, deleting, active]
}

/// Capacity mode: shards you manage, or shards AWS scales for you.
public struct StreamMode: KinesisEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let provisioned = Self(rawValue: "PROVISIONED")
    public static let onDemand = Self(rawValue: "ON_DEMAND")
    public static let allCases = [provisioned, onDemand]
}

/// Server-side encryption of a stream.
public struct EncryptionType: KinesisEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let none = Self(rawValue: "NONE")
    public static let kms = Self(rawValue: "KMS")
    public static let allCases = [none, kms]
}

/// Where a shard iterator starts reading.
public struct ShardIteratorType: KinesisEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let atSequenceNumber = Self(rawValue: "AT_SEQUENCE_NUMBER")
    public static let afterSequenceNumber = Self(rawValue: "AFTER_SEQUENCE_NUMBER")
    public static let trimHorizon = Self(rawValue: "TRIM_HORIZON")
    public static let latest = Self(rawValue: "LATEST")
    public static let atTimestamp = Self(rawValue: "AT_TIMESTAMP")
    /// In the order Kinesis lists them in its enum validation message.
    public static let allCases = [afterSequenceNumber, latest, atTimestamp, atSequenceNumber, trimHorizon]
}

/// ListShards filters.
public struct ShardFilterType: KinesisEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let afterShardId = Self(rawValue: "AFTER_SHARD_ID")
    public static let atTrimHorizon = Self(rawValue: "AT_TRIM_HORIZON")
    public static let fromTrimHorizon = Self(rawValue: "FROM_TRIM_HORIZON")
    public static let atLatest = Self(rawValue: "AT_LATEST")
    public static let atTimestamp = Self(rawValue: "AT_TIMESTAMP")
    public static let fromTimestamp = Self(rawValue: "FROM_TIMESTAMP")
    public static let allCases = [afterShardId, atTrimHorizon, fromTrimHorizon, atLatest, atTimestamp, fromTimestamp]
}

/// UpdateShardCount's only scaling type.
public struct ScalingType: KinesisEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let uniformScaling = Self(rawValue: "UNIFORM_SCALING")
    public static let allCases = [uniformScaling]
}

/// Shard-level (enhanced monitoring) CloudWatch metrics.
public struct MetricsName: KinesisEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let incomingBytes = Self(rawValue: "IncomingBytes")
    public static let incomingRecords = Self(rawValue: "IncomingRecords")
    public static let outgoingBytes = Self(rawValue: "OutgoingBytes")
    public static let outgoingRecords = Self(rawValue: "OutgoingRecords")
    public static let writeProvisionedThroughputExceeded = Self(rawValue: "WriteProvisionedThroughputExceeded")
    public static let readProvisionedThroughputExceeded = Self(rawValue: "ReadProvisionedThroughputExceeded")
    public static let iteratorAgeMilliseconds = Self(rawValue: "IteratorAgeMilliseconds")
    public static let all = Self(rawValue: "ALL")
    public static let allCases = [
        incomingBytes, incomingRecords, outgoingBytes, outgoingRecords,
        writeProvisionedThroughputExceeded, readProvisionedThroughputExceeded,
        iteratorAgeMilliseconds, all,
    ]
}

/// Account-level billing commitment for On-demand Advantage.
public struct MinimumThroughputBillingCommitmentStatus: KinesisEnum {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let enabled = Self(rawValue: "ENABLED")
    public static let disabled = Self(rawValue: "DISABLED")
    public static let enabledUntilEarliestAllowedEnd = Self(rawValue: "ENABLED_UNTIL_EARLIEST_ALLOWED_END")
    public static let allCases = [enabled, disabled, enabledUntilEarliestAllowedEnd]
}

// MARK: - Common shapes

/// A shard's slice of the 128-bit hash key space, as decimal strings.
public struct HashKeyRange: Codable, Hashable, Sendable {
    public var startingHashKey: String
    public var endingHashKey: String
    public init(startingHashKey: String, endingHashKey: String) {
        self.startingHashKey = startingHashKey
        self.endingHashKey = endingHashKey
    }
}

/// A shard's sequence numbers: open shards have no ending number.
public struct SequenceNumberRange: Codable, Hashable, Sendable {
    public var startingSequenceNumber: String
    public var endingSequenceNumber: String?
    public init(startingSequenceNumber: String, endingSequenceNumber: String? = nil) {
        self.startingSequenceNumber = startingSequenceNumber
        self.endingSequenceNumber = endingSequenceNumber
    }
}

/// A shard as DescribeStream and ListShards show it.
public struct Shard: Codable, Hashable, Sendable {
    public var shardId: String
    public var parentShardId: String?
    public var adjacentParentShardId: String?
    public var hashKeyRange: HashKeyRange
    public var sequenceNumberRange: SequenceNumberRange
}

/// A child of a shard that has been closed, as GetRecords and SubscribeToShard report it at shard end.
public struct ChildShard: Codable, Hashable, Sendable {
    public var shardId: String
    public var parentShards: [String]
    public var hashKeyRange: HashKeyRange
}

public struct StreamModeDetails: Codable, Hashable, Sendable {
    public var streamMode: StreamMode?
    public init(streamMode: StreamMode?) { self.streamMode = streamMode }
}

public struct EnhancedMetrics: Codable, Hashable, Sendable {
    public var shardLevelMetrics: [MetricsName]
}

public struct Tag: Codable, Hashable, Sendable {
    public var key: String
    public var value: String?
    public init(key: String, value: String?) {
        self.key = key
        self.value = value
    }
}

/// A data record as GetRecords and SubscribeToShard return it.
public struct Record: Codable, Hashable, Sendable {
    /// The sequence number, formatted only when read (see ``LazySequenceNumber``).
    public var lazySequenceNumber: LazySequenceNumber
    public var approximateArrivalTimestamp: Date?
    public var data: Data
    public var partitionKey: String
    public var encryptionType: EncryptionType?

    /// The sequence number's text. Each read of an engine-issued number formats it anew:
    /// read it once per record.
    public var sequenceNumber: String {
        get { lazySequenceNumber.description }
        set { lazySequenceNumber = LazySequenceNumber(newValue) }
    }

    public init(
        sequenceNumber: LazySequenceNumber, approximateArrivalTimestamp: Date?, data: Data, partitionKey: String,
        encryptionType: EncryptionType?
    ) {
        self.lazySequenceNumber = sequenceNumber
        self.approximateArrivalTimestamp = approximateArrivalTimestamp
        self.data = data
        self.partitionKey = partitionKey
        self.encryptionType = encryptionType
    }

    private enum CodingKeys: String, CodingKey {
        case sequenceNumber, approximateArrivalTimestamp, data, partitionKey, encryptionType
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lazySequenceNumber = try c.decode(LazySequenceNumber.self, forKey: .sequenceNumber)
        approximateArrivalTimestamp = try c.decodeIfPresent(Date.self, forKey: .approximateArrivalTimestamp)
        data = try c.decode(Data.self, forKey: .data)
        partitionKey = try c.decode(String.self, forKey: .partitionKey)
        encryptionType = try c.decodeIfPresent(EncryptionType.self, forKey: .encryptionType)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(lazySequenceNumber, forKey: .sequenceNumber)
        try c.encodeIfPresent(approximateArrivalTimestamp, forKey: .approximateArrivalTimestamp)
        try c.encode(data, forKey: .data)
        try c.encode(partitionKey, forKey: .partitionKey)
        try c.encodeIfPresent(encryptionType, forKey: .encryptionType)
    }
}

/// An enhanced fan-out consumer registered with a stream.
public struct Consumer: Codable, Hashable, Sendable {
    public var consumerName: String
    public var consumerARN: String
    public var consumerStatus: ConsumerStatus
    public var consumerCreationTimestamp: Date
}

public struct ConsumerDescription: Codable, Hashable, Sendable {
    public var consumerName: String
    public var consumerARN: String
    public var consumerStatus: ConsumerStatus
    public var consumerCreationTimestamp: Date
    public var streamARN: String
}

public struct ShardFilter: Codable, Hashable, Sendable {
    public var type: ShardFilterType?
    public var shardId: String?
    public var timestamp: Date?
    public init(type: ShardFilterType?, shardId: String? = nil, timestamp: Date? = nil) {
        self.type = type
        self.shardId = shardId
        self.timestamp = timestamp
    }
}

public struct StartingPosition: Codable, Hashable, Sendable {
    public var type: ShardIteratorType?
    public var sequenceNumber: String?
    public var timestamp: Date?
    public init(type: ShardIteratorType?, sequenceNumber: String? = nil, timestamp: Date? = nil) {
        self.type = type
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
    }
}

public struct StreamSummary: Codable, Hashable, Sendable {
    public var streamName: String
    public var streamARN: String
    public var streamStatus: StreamStatus
    public var streamModeDetails: StreamModeDetails?
    public var streamCreationTimestamp: Date?
}

public struct WarmThroughputObject: Codable, Hashable, Sendable {
    public var targetMiBps: Int?
    public var currentMiBps: Int?
}

public struct MinimumThroughputBillingCommitmentInput: Codable, Hashable, Sendable {
    public var status: MinimumThroughputBillingCommitmentStatus?
    public init(status: MinimumThroughputBillingCommitmentStatus?) { self.status = status }
}

public struct MinimumThroughputBillingCommitmentOutput: Codable, Hashable, Sendable {
    public var status: MinimumThroughputBillingCommitmentStatus
    public var startedAt: Date?
    public var endedAt: Date?
    public var earliestAllowedEndAt: Date?
}

public struct StreamDescription: Codable, Hashable, Sendable {
    public var streamName: String
    public var streamARN: String
    public var streamStatus: StreamStatus
    public var streamModeDetails: StreamModeDetails?
    public var shards: [Shard]
    public var hasMoreShards: Bool
    public var retentionPeriodHours: Int
    public var streamCreationTimestamp: Date
    public var enhancedMonitoring: [EnhancedMetrics]
    public var encryptionType: EncryptionType?
    public var keyId: String?
}

public struct StreamDescriptionSummary: Codable, Hashable, Sendable {
    public var streamName: String
    public var streamARN: String
    public var streamStatus: StreamStatus
    public var streamModeDetails: StreamModeDetails?
    public var retentionPeriodHours: Int
    public var streamCreationTimestamp: Date
    public var enhancedMonitoring: [EnhancedMetrics]
    public var encryptionType: EncryptionType?
    public var keyId: String?
    public var openShardCount: Int
    public var consumerCount: Int?
    public var warmThroughput: WarmThroughputObject?
    public var maxRecordSizeInKiB: Int?
}

// MARK: - Operation inputs and outputs

/// Output of the operations Kinesis answers with an empty body.
public struct EmptyOutput: Codable, Hashable, Sendable { public init() {} }

public struct AddTagsToStreamInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var tags: [String: String]?
    public var streamARN: String?
    public init(streamName: String? = nil, tags: [String: String]? = nil, streamARN: String? = nil) {
        self.streamName = streamName
        self.tags = tags
        self.streamARN = streamARN
    }
}

public struct CreateStreamInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var shardCount: Int?
    public var streamModeDetails: StreamModeDetails?
    public var tags: [String: String]?
    public var warmThroughputMiBps: Int?
    public var maxRecordSizeInKiB: Int?
    public init(
        streamName: String? = nil, shardCount: Int? = nil, streamModeDetails: StreamModeDetails? = nil,
        tags: [String: String]? = nil, warmThroughputMiBps: Int? = nil, maxRecordSizeInKiB: Int? = nil
    ) {
        self.streamName = streamName
        self.shardCount = shardCount
        self.streamModeDetails = streamModeDetails
        self.tags = tags
        self.warmThroughputMiBps = warmThroughputMiBps
        self.maxRecordSizeInKiB = maxRecordSizeInKiB
    }
}

/// Input of Increase- and DecreaseStreamRetentionPeriod.
public struct StreamRetentionInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var retentionPeriodHours: Int?
    public var streamARN: String?
    public init(streamName: String? = nil, retentionPeriodHours: Int? = nil, streamARN: String? = nil) {
        self.streamName = streamName
        self.retentionPeriodHours = retentionPeriodHours
        self.streamARN = streamARN
    }
}

public struct ResourceARNInput: Codable, Hashable, Sendable {
    public var resourceARN: String?
    public init(resourceARN: String? = nil) { self.resourceARN = resourceARN }
}

public struct DeleteStreamInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var enforceConsumerDeletion: Bool?
    public var streamARN: String?
    public init(streamName: String? = nil, enforceConsumerDeletion: Bool? = nil, streamARN: String? = nil) {
        self.streamName = streamName
        self.enforceConsumerDeletion = enforceConsumerDeletion
        self.streamARN = streamARN
    }
}

/// Addresses a consumer by ARN, or by stream ARN and name (Deregister/DescribeStreamConsumer).
public struct StreamConsumerInput: Codable, Hashable, Sendable {
    public var streamARN: String?
    public var consumerName: String?
    public var consumerARN: String?
    public init(streamARN: String? = nil, consumerName: String? = nil, consumerARN: String? = nil) {
        self.streamARN = streamARN
        self.consumerName = consumerName
        self.consumerARN = consumerARN
    }
}

public struct DescribeAccountSettingsOutput: Codable, Hashable, Sendable {
    public var minimumThroughputBillingCommitment: MinimumThroughputBillingCommitmentOutput?
}

public struct DescribeLimitsOutput: Codable, Hashable, Sendable {
    public var shardLimit: Int
    public var openShardCount: Int
    public var onDemandStreamCount: Int
    public var onDemandStreamCountLimit: Int
}

public struct DescribeStreamInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var limit: Int?
    public var exclusiveStartShardId: String?
    public var streamARN: String?
    public init(
        streamName: String? = nil, limit: Int? = nil, exclusiveStartShardId: String? = nil, streamARN: String? = nil
    ) {
        self.streamName = streamName
        self.limit = limit
        self.exclusiveStartShardId = exclusiveStartShardId
        self.streamARN = streamARN
    }
}

public struct DescribeStreamOutput: Codable, Hashable, Sendable {
    public var streamDescription: StreamDescription
}

public struct DescribeStreamConsumerOutput: Codable, Hashable, Sendable {
    public var consumerDescription: ConsumerDescription
}

/// Addresses a stream by name or ARN (DescribeStreamSummary and friends).
public struct StreamInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var streamARN: String?
    public init(streamName: String? = nil, streamARN: String? = nil) {
        self.streamName = streamName
        self.streamARN = streamARN
    }
}

public struct DescribeStreamSummaryOutput: Codable, Hashable, Sendable {
    public var streamDescriptionSummary: StreamDescriptionSummary
}

/// Input of Enable- and DisableEnhancedMonitoring.
public struct EnhancedMonitoringInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var shardLevelMetrics: [MetricsName]?
    public var streamARN: String?
    public init(streamName: String? = nil, shardLevelMetrics: [MetricsName]? = nil, streamARN: String? = nil) {
        self.streamName = streamName
        self.shardLevelMetrics = shardLevelMetrics
        self.streamARN = streamARN
    }
}

public struct EnhancedMonitoringOutput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var currentShardLevelMetrics: [MetricsName]?
    public var desiredShardLevelMetrics: [MetricsName]?
    public var streamARN: String?
}

public struct GetRecordsInput: Codable, Hashable, Sendable {
    public var shardIterator: String?
    public var limit: Int?
    public var streamARN: String?
    public init(shardIterator: String? = nil, limit: Int? = nil, streamARN: String? = nil) {
        self.shardIterator = shardIterator
        self.limit = limit
        self.streamARN = streamARN
    }
}

public struct GetRecordsOutput: Codable, Hashable, Sendable {
    public var records: [Record]
    public var nextShardIterator: String?
    public var millisBehindLatest: Int?
    public var childShards: [ChildShard]?
}

public struct GetResourcePolicyOutput: Codable, Hashable, Sendable {
    public var policy: String
}

public struct GetShardIteratorInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var shardId: String?
    public var shardIteratorType: ShardIteratorType?
    public var startingSequenceNumber: String?
    public var timestamp: Date?
    public var streamARN: String?
    public init(
        streamName: String? = nil, shardId: String? = nil, shardIteratorType: ShardIteratorType? = nil,
        startingSequenceNumber: String? = nil, timestamp: Date? = nil, streamARN: String? = nil
    ) {
        self.streamName = streamName
        self.shardId = shardId
        self.shardIteratorType = shardIteratorType
        self.startingSequenceNumber = startingSequenceNumber
        self.timestamp = timestamp
        self.streamARN = streamARN
    }
}

public struct GetShardIteratorOutput: Codable, Hashable, Sendable {
    public var shardIterator: String
}

public struct ListShardsInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var nextToken: String?
    public var exclusiveStartShardId: String?
    public var maxResults: Int?
    public var streamCreationTimestamp: Date?
    public var shardFilter: ShardFilter?
    public var streamARN: String?
    public init(
        streamName: String? = nil, nextToken: String? = nil, exclusiveStartShardId: String? = nil,
        maxResults: Int? = nil, streamCreationTimestamp: Date? = nil, shardFilter: ShardFilter? = nil,
        streamARN: String? = nil
    ) {
        self.streamName = streamName
        self.nextToken = nextToken
        self.exclusiveStartShardId = exclusiveStartShardId
        self.maxResults = maxResults
        self.streamCreationTimestamp = streamCreationTimestamp
        self.shardFilter = shardFilter
        self.streamARN = streamARN
    }
}

public struct ListShardsOutput: Codable, Hashable, Sendable {
    public var shards: [Shard]
    public var nextToken: String?
}

public struct ListStreamConsumersInput: Codable, Hashable, Sendable {
    public var streamARN: String?
    public var nextToken: String?
    public var maxResults: Int?
    public var streamCreationTimestamp: Date?
    public init(
        streamARN: String? = nil, nextToken: String? = nil, maxResults: Int? = nil, streamCreationTimestamp: Date? = nil
    ) {
        self.streamARN = streamARN
        self.nextToken = nextToken
        self.maxResults = maxResults
        self.streamCreationTimestamp = streamCreationTimestamp
    }
}

public struct ListStreamConsumersOutput: Codable, Hashable, Sendable {
    public var consumers: [Consumer]
    public var nextToken: String?
}

public struct ListStreamsInput: Codable, Hashable, Sendable {
    public var limit: Int?
    public var exclusiveStartStreamName: String?
    public var nextToken: String?
    public init(limit: Int? = nil, exclusiveStartStreamName: String? = nil, nextToken: String? = nil) {
        self.limit = limit
        self.exclusiveStartStreamName = exclusiveStartStreamName
        self.nextToken = nextToken
    }
}

public struct ListStreamsOutput: Codable, Hashable, Sendable {
    public var streamNames: [String]
    public var hasMoreStreams: Bool
    public var nextToken: String?
    public var streamSummaries: [StreamSummary]
}

public struct ListTagsForResourceOutput: Codable, Hashable, Sendable {
    public var tags: [Tag]
}

public struct ListTagsForStreamInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var exclusiveStartTagKey: String?
    public var limit: Int?
    public var streamARN: String?
    public init(
        streamName: String? = nil, exclusiveStartTagKey: String? = nil, limit: Int? = nil, streamARN: String? = nil
    ) {
        self.streamName = streamName
        self.exclusiveStartTagKey = exclusiveStartTagKey
        self.limit = limit
        self.streamARN = streamARN
    }
}

public struct ListTagsForStreamOutput: Codable, Hashable, Sendable {
    public var tags: [Tag]
    public var hasMoreTags: Bool
}

public struct MergeShardsInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var shardToMerge: String?
    public var adjacentShardToMerge: String?
    public var streamARN: String?
    public init(
        streamName: String? = nil, shardToMerge: String? = nil, adjacentShardToMerge: String? = nil,
        streamARN: String? = nil
    ) {
        self.streamName = streamName
        self.shardToMerge = shardToMerge
        self.adjacentShardToMerge = adjacentShardToMerge
        self.streamARN = streamARN
    }
}

public struct PutRecordInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var data: Data?
    public var partitionKey: String?
    public var explicitHashKey: String?
    public var sequenceNumberForOrdering: String?
    public var streamARN: String?
    public init(
        streamName: String? = nil, data: Data? = nil, partitionKey: String? = nil, explicitHashKey: String? = nil,
        sequenceNumberForOrdering: String? = nil, streamARN: String? = nil
    ) {
        self.streamName = streamName
        self.data = data
        self.partitionKey = partitionKey
        self.explicitHashKey = explicitHashKey
        self.sequenceNumberForOrdering = sequenceNumberForOrdering
        self.streamARN = streamARN
    }
}

public struct PutRecordOutput: Codable, Hashable, Sendable {
    public var shardId: String
    /// The sequence number, formatted only when read (see ``LazySequenceNumber``).
    public var lazySequenceNumber: LazySequenceNumber
    public var encryptionType: EncryptionType?

    /// The sequence number's text (formatted on each read).
    public var sequenceNumber: String {
        get { lazySequenceNumber.description }
        set { lazySequenceNumber = LazySequenceNumber(newValue) }
    }

    public init(shardId: String, sequenceNumber: LazySequenceNumber, encryptionType: EncryptionType?) {
        self.shardId = shardId
        self.lazySequenceNumber = sequenceNumber
        self.encryptionType = encryptionType
    }

    private enum CodingKeys: String, CodingKey {
        case shardId, sequenceNumber, encryptionType
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        shardId = try c.decode(String.self, forKey: .shardId)
        lazySequenceNumber = try c.decode(LazySequenceNumber.self, forKey: .sequenceNumber)
        encryptionType = try c.decodeIfPresent(EncryptionType.self, forKey: .encryptionType)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(shardId, forKey: .shardId)
        try c.encode(lazySequenceNumber, forKey: .sequenceNumber)
        try c.encodeIfPresent(encryptionType, forKey: .encryptionType)
    }
}

public struct PutRecordsRequestEntry: Codable, Hashable, Sendable {
    public var data: Data?
    public var explicitHashKey: String?
    public var partitionKey: String?
    public init(data: Data? = nil, explicitHashKey: String? = nil, partitionKey: String? = nil) {
        self.data = data
        self.explicitHashKey = explicitHashKey
        self.partitionKey = partitionKey
    }
}

public struct PutRecordsInput: Codable, Hashable, Sendable {
    public var records: [PutRecordsRequestEntry]?
    public var streamName: String?
    public var streamARN: String?
    public init(records: [PutRecordsRequestEntry]? = nil, streamName: String? = nil, streamARN: String? = nil) {
        self.records = records
        self.streamName = streamName
        self.streamARN = streamARN
    }
}

public struct PutRecordsResultEntry: Codable, Hashable, Sendable {
    /// The sequence number of a stored record, formatted only when read (see ``LazySequenceNumber``).
    public var lazySequenceNumber: LazySequenceNumber?
    public var shardId: String?
    public var errorCode: String?
    public var errorMessage: String?

    /// The sequence number's text (formatted on each read); test `lazySequenceNumber` for nil instead.
    public var sequenceNumber: String? {
        get { lazySequenceNumber?.description }
        set { lazySequenceNumber = newValue.map { LazySequenceNumber($0) } }
    }

    public init(
        sequenceNumber: LazySequenceNumber? = nil, shardId: String? = nil, errorCode: String? = nil,
        errorMessage: String? = nil
    ) {
        self.lazySequenceNumber = sequenceNumber
        self.shardId = shardId
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }

    private enum CodingKeys: String, CodingKey {
        case sequenceNumber, shardId, errorCode, errorMessage
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lazySequenceNumber = try c.decodeIfPresent(LazySequenceNumber.self, forKey: .sequenceNumber)
        shardId = try c.decodeIfPresent(String.self, forKey: .shardId)
        errorCode = try c.decodeIfPresent(String.self, forKey: .errorCode)
        errorMessage = try c.decodeIfPresent(String.self, forKey: .errorMessage)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(lazySequenceNumber, forKey: .sequenceNumber)
        try c.encodeIfPresent(shardId, forKey: .shardId)
        try c.encodeIfPresent(errorCode, forKey: .errorCode)
        try c.encodeIfPresent(errorMessage, forKey: .errorMessage)
    }
}

public struct PutRecordsOutput: Codable, Hashable, Sendable {
    public var failedRecordCount: Int?
    public var records: [PutRecordsResultEntry]
    public var encryptionType: EncryptionType?
}

public struct PutResourcePolicyInput: Codable, Hashable, Sendable {
    public var resourceARN: String?
    public var policy: String?
    public init(resourceARN: String? = nil, policy: String? = nil) {
        self.resourceARN = resourceARN
        self.policy = policy
    }
}

public struct RegisterStreamConsumerInput: Codable, Hashable, Sendable {
    public var streamARN: String?
    public var consumerName: String?
    public var tags: [String: String]?
    public init(streamARN: String? = nil, consumerName: String? = nil, tags: [String: String]? = nil) {
        self.streamARN = streamARN
        self.consumerName = consumerName
        self.tags = tags
    }
}

public struct RegisterStreamConsumerOutput: Codable, Hashable, Sendable {
    public var consumer: Consumer
}

public struct RemoveTagsFromStreamInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var tagKeys: [String]?
    public var streamARN: String?
    public init(streamName: String? = nil, tagKeys: [String]? = nil, streamARN: String? = nil) {
        self.streamName = streamName
        self.tagKeys = tagKeys
        self.streamARN = streamARN
    }
}

public struct SplitShardInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var shardToSplit: String?
    public var newStartingHashKey: String?
    public var streamARN: String?
    public init(
        streamName: String? = nil, shardToSplit: String? = nil, newStartingHashKey: String? = nil,
        streamARN: String? = nil
    ) {
        self.streamName = streamName
        self.shardToSplit = shardToSplit
        self.newStartingHashKey = newStartingHashKey
        self.streamARN = streamARN
    }
}

/// Input of Start- and StopStreamEncryption.
public struct StreamEncryptionInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var encryptionType: EncryptionType?
    public var keyId: String?
    public var streamARN: String?
    public init(
        streamName: String? = nil, encryptionType: EncryptionType? = nil, keyId: String? = nil, streamARN: String? = nil
    ) {
        self.streamName = streamName
        self.encryptionType = encryptionType
        self.keyId = keyId
        self.streamARN = streamARN
    }
}

public struct SubscribeToShardInput: Codable, Hashable, Sendable {
    public var consumerARN: String?
    public var shardId: String?
    public var startingPosition: StartingPosition?
    public init(consumerARN: String? = nil, shardId: String? = nil, startingPosition: StartingPosition? = nil) {
        self.consumerARN = consumerARN
        self.shardId = shardId
        self.startingPosition = startingPosition
    }
}

/// One event of a SubscribeToShard stream.
public struct SubscribeToShardEvent: Codable, Hashable, Sendable {
    public var records: [Record]
    /// Nil only in the last event of a closed shard (KCL reads that as SHARD_END).
    public var continuationSequenceNumber: String?
    public var millisBehindLatest: Int
    public var childShards: [ChildShard]?
}

public struct TagResourceInput: Codable, Hashable, Sendable {
    public var tags: [String: String]?
    public var resourceARN: String?
    public init(tags: [String: String]? = nil, resourceARN: String? = nil) {
        self.tags = tags
        self.resourceARN = resourceARN
    }
}

public struct UntagResourceInput: Codable, Hashable, Sendable {
    public var tagKeys: [String]?
    public var resourceARN: String?
    public init(tagKeys: [String]? = nil, resourceARN: String? = nil) {
        self.tagKeys = tagKeys
        self.resourceARN = resourceARN
    }
}

public struct UpdateAccountSettingsInput: Codable, Hashable, Sendable {
    public var minimumThroughputBillingCommitment: MinimumThroughputBillingCommitmentInput?
    public init(minimumThroughputBillingCommitment: MinimumThroughputBillingCommitmentInput? = nil) {
        self.minimumThroughputBillingCommitment = minimumThroughputBillingCommitment
    }
}

public struct UpdateAccountSettingsOutput: Codable, Hashable, Sendable {
    public var minimumThroughputBillingCommitment: MinimumThroughputBillingCommitmentOutput?
}

public struct UpdateMaxRecordSizeInput: Codable, Hashable, Sendable {
    public var streamARN: String?
    public var maxRecordSizeInKiB: Int?
    public init(streamARN: String? = nil, maxRecordSizeInKiB: Int? = nil) {
        self.streamARN = streamARN
        self.maxRecordSizeInKiB = maxRecordSizeInKiB
    }
}

public struct UpdateShardCountInput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var targetShardCount: Int?
    public var scalingType: ScalingType?
    public var streamARN: String?
    public init(
        streamName: String? = nil, targetShardCount: Int? = nil, scalingType: ScalingType? = .uniformScaling,
        streamARN: String? = nil
    ) {
        self.streamName = streamName
        self.targetShardCount = targetShardCount
        self.scalingType = scalingType
        self.streamARN = streamARN
    }
}

public struct UpdateShardCountOutput: Codable, Hashable, Sendable {
    public var streamName: String?
    public var currentShardCount: Int?
    public var targetShardCount: Int?
    public var streamARN: String?
}

public struct UpdateStreamModeInput: Codable, Hashable, Sendable {
    public var streamARN: String?
    public var streamModeDetails: StreamModeDetails?
    public var warmThroughputMiBps: Int?
    public init(streamARN: String? = nil, streamModeDetails: StreamModeDetails? = nil, warmThroughputMiBps: Int? = nil)
    {
        self.streamARN = streamARN
        self.streamModeDetails = streamModeDetails
        self.warmThroughputMiBps = warmThroughputMiBps
    }
}

public struct UpdateStreamWarmThroughputInput: Codable, Hashable, Sendable {
    public var streamARN: String?
    public var streamName: String?
    public var warmThroughputMiBps: Int?
    public init(streamARN: String? = nil, streamName: String? = nil, warmThroughputMiBps: Int? = nil) {
        self.streamARN = streamARN
        self.streamName = streamName
        self.warmThroughputMiBps = warmThroughputMiBps
    }
}

public struct UpdateStreamWarmThroughputOutput: Codable, Hashable, Sendable {
    public var streamARN: String?
    public var streamName: String?
    public var warmThroughput: WarmThroughputObject?
}
