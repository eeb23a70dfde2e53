/// Every Kinesis quota the engine enforces, in one table (KINESIS.md §3).
///
/// `aws` is the default and is what a teacher can trust; `off` lifts the
/// throughput and control-plane rate quotas for benchmarks and bulk loads but
/// keeps the shape limits (record size, 500 records per call …), because those
/// are part of the API contract rather than capacity.
public struct KinesisLimits: Sendable, Equatable {
    /// Name shown on screens and in `/metrics`.
    public var profile: String
    /// Whether throughput and control-plane rate quotas are enforced at all.
    public var enforcesThroughput: Bool

    // Per-shard write (PutRecord/PutRecords), including partition keys.
    public var shardWriteBytesPerSecond = 1_048_576
    public var shardWriteRecordsPerSecond = 1_000

    // Per-shard shared read (GetRecords).
    public var shardReadBytesPerSecond = 2_097_152
    public var shardReadCallsPerSecond = 5
    public var getRecordsMaxBytes = 10_485_760
    public var getRecordsMaxRecords = 10_000
    /// GetShardIterator: 5 TPS per account per open shard.
    public var getShardIteratorPerShardPerSecond = 5

    // Enhanced fan-out.
    public var efoBytesPerSecondPerConsumerShard = 2_097_152
    public var maxConsumersPerStream = 20
    public var maxConsumersCreating = 5
    public var subscriptionLifetimeSeconds: Int64 = 300
    /// A second SubscribeToShard within this window of a successful one is ResourceInUse.
    public var subscribeTakeoverSeconds: Int64 = 5

    // Record and request shapes.
    public var defaultMaxRecordSizeKiB = 1_024
    public var maxRecordSizeKiBRange = 1_024...10_240
    public var putRecordsMaxRecords = 500
    public var putRecordsMaxBytes = 5_242_880
    public var partitionKeyMaxLength = 256

    // Lifetimes.
    public var shardIteratorLifetimeMilliseconds: Int64 = 300_000
    public var nextTokenLifetimeMilliseconds: Int64 = 300_000

    // Retention.
    public var defaultRetentionHours = 24
    public var retentionHoursRange = 24...8_760

    // Account and stream quotas.
    public var shardLimitPerAccount = 20_000
    public var maxShardsPerStream = 10_000
    public var maxStreamsCreating = 5
    public var onDemandStreamsPerAccount = 50
    public var maxTagsPerStream = 50
    public var updateShardCountPerDay = 10
    public var streamModeSwitchesPerDay = 2
    public var encryptionChangesPerDay = 25

    // On-demand capacity: a new stream starts at 4 MiB/s (4 shards).
    public var onDemandInitialShards = 4

    /// Control-plane transactions per second, per account and region unless
    /// the op is marked per stream (KINESIS.md §3 "Control-plane TPS").
    public var controlPlaneTPS: [String: (perSecond: Int, perStream: Bool)] = [
        "AddTagsToStream": (5, false), "CreateStream": (5, false),
        "DecreaseStreamRetentionPeriod": (5, false), "DeleteStream": (5, false),
        "DeregisterStreamConsumer": (5, true), "DescribeLimits": (1, false),
        "DescribeStream": (10, false), "DescribeStreamConsumer": (20, true),
        "DescribeStreamSummary": (20, false), "DisableEnhancedMonitoring": (5, false),
        "EnableEnhancedMonitoring": (5, false), "IncreaseStreamRetentionPeriod": (5, false),
        "ListShards": (1_000, true), "ListStreamConsumers": (5, true), "ListStreams": (5, false),
        "ListTagsForStream": (5, false), "MergeShards": (5, false), "RegisterStreamConsumer": (5, false),
        "RemoveTagsFromStream": (5, false), "SplitShard": (5, false), "UpdateShardCount": (10, false),
        "DescribeAccountSettings": (5, false), "UpdateAccountSettings": (5, false),
        "UpdateStreamWarmThroughput": (5, false),
    ]

    public static let aws = KinesisLimits(profile: "aws", enforcesThroughput: true)
    public static let off = KinesisLimits(profile: "off", enforcesThroughput: false)

    public static func == (a: KinesisLimits, b: KinesisLimits) -> Bool {
        a.profile == b.profile && a.enforcesThroughput == b.enforcesThroughput
            && a.shardWriteBytesPerSecond == b.shardWriteBytesPerSecond
            && a.shardWriteRecordsPerSecond == b.shardWriteRecordsPerSecond
            && a.shardReadBytesPerSecond == b.shardReadBytesPerSecond
            && a.shardReadCallsPerSecond == b.shardReadCallsPerSecond
    }

    /// Look a profile up by the name used on the command line.
    public static func named(_ name: String) -> KinesisLimits? {
        switch name.lowercased() {
        case "aws": .aws
        case "off": .off
        default: nil
        }
    }
}

/// How long the asynchronous state changes take (CREATING, UPDATING, DELETING).
/// AWS takes seconds to minutes; the defaults match kinesalite's 500 ms so SDK
/// waiters finish quickly, and a demo can slow them down to be visible.
public struct StatusDelays: Sendable, Equatable {
    public var create: Duration = .milliseconds(500)
    public var delete: Duration = .milliseconds(500)
    public var update: Duration = .milliseconds(500)
    public var consumerCreate: Duration = .milliseconds(500)
    public var consumerDelete: Duration = .milliseconds(500)
    public init() {}
    /// Every transition immediate: handy in unit tests about something else.
    public static var immediate: StatusDelays {
        var d = StatusDelays()
        d.create = .zero; d.delete = .zero; d.update = .zero
        d.consumerCreate = .zero; d.consumerDelete = .zero
        return d
    }
}

/// How the engine simulates on-demand scaling. AWS documents only "a shard
/// above 500 KB/s is split within 15 minutes"; ktop splits after
/// `sustainSeconds` above the threshold so that a demo shows it happening.
public struct OnDemandPolicy: Sendable, Equatable {
    public var splitThresholdBytesPerSecond = 512_000
    public var sustainSeconds = 60
    public init() {}
}

/// Everything configurable about an engine instance.
public struct EngineConfiguration: Sendable {
    public var limits: KinesisLimits = .aws
    public var delays = StatusDelays()
    public var onDemand = OnDemandPolicy()
    /// Budget for the memory retained records hold (payload plus per-record
    /// bookkeeping, ``StoredRecord/residentBytes``) across all streams. When
    /// reached, the oldest records are trimmed early and the engine reports it.
    /// Default: a quarter of the machine's memory (or of its cgroup's limit),
    /// ``SystemMemory/defaultBudget``; `--memory-budget` sets it.
    public var retainedBytesBudget: Int = SystemMemory.defaultBudget
    /// The account used when a caller does not name one.
    public var defaultAccount = "123456789012"
    public var defaultRegion = "us-east-1"
    public init() {}
}
