/// Every Kinesis quota the engine enforces, in one table (KINESIS.md §3).
///
/// `aws` is the default and is what a teacher can trust; `off` lifts the
/// throughput and control-plane rate quotas for benchmarks and bulk loads but
/// keeps the shape limits (record size, 500 records per call …), because those
/// are part of the API contract rather than capacity.
public struct KinesisLimits: Sendable, Equatable {
    /// One control-plane operation's rate: transactions per second, per account
    /// and region, or per stream when `perStream`.
    public struct ControlPlaneQuota: Sendable, Equatable {
        public var perSecond: Int
        public var perStream: Bool
        public init(_ perSecond: Int, perStream: Bool) {
            self.perSecond = perSecond
            self.perStream = perStream
        }
    }

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
    /// SubscribeToShard calls per second per consumer and shard; more is LimitExceeded (KINESIS.md §1.7, §3).
    public var subscribeToShardPerConsumerShardPerSecond = 1

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
    /// The account's provisioned-shard quota in a region; nil means Kinesis's
    /// default for that region, ``defaultShardLimit(region:)``.
    public var shardLimitPerAccount: Int?
    public var maxShardsPerStream = 10_000
    public var maxStreamsCreating = 5
    public var onDemandStreamsPerAccount = 50
    public var maxTagsPerStream = 50
    public var updateShardCountPerDay = 10
    public var streamModeSwitchesPerDay = 2
    public var encryptionChangesPerDay = 25

    // On-demand capacity: a new stream starts at 4 MiB/s and 4,000 records/s (4 shards).
    public var onDemandInitialShards = 4

    /// Control-plane transactions per second, per account and region unless
    /// the op is marked per stream (KINESIS.md §3 "Control-plane TPS").
    public var controlPlaneTPS: [KinesisOperation: ControlPlaneQuota] = [
        .addTagsToStream: .init(5, perStream: false), .createStream: .init(5, perStream: false),
        .decreaseStreamRetentionPeriod: .init(5, perStream: false), .deleteStream: .init(5, perStream: false),
        .deregisterStreamConsumer: .init(5, perStream: true), .describeLimits: .init(1, perStream: false),
        .describeStream: .init(10, perStream: false), .describeStreamConsumer: .init(20, perStream: true),
        .describeStreamSummary: .init(20, perStream: false), .disableEnhancedMonitoring: .init(5, perStream: false),
        .enableEnhancedMonitoring: .init(5, perStream: false),
        .increaseStreamRetentionPeriod: .init(5, perStream: false),
        .listShards: .init(1_000, perStream: true), .listStreamConsumers: .init(5, perStream: true),
        .listStreams: .init(5, perStream: false), .listTagsForStream: .init(5, perStream: false),
        .mergeShards: .init(5, perStream: false), .registerStreamConsumer: .init(5, perStream: false),
        .removeTagsFromStream: .init(5, perStream: false), .splitShard: .init(5, perStream: false),
        .updateShardCount: .init(10, perStream: false), .describeAccountSettings: .init(5, perStream: false),
        .updateAccountSettings: .init(5, perStream: false), .updateStreamWarmThroughput: .init(5, perStream: false),
    ]

    /// The operations with no entry in ``controlPlaneTPS``, and why (KINESIS.md §3 publishes no
    /// TPS for them): the data plane, whose quotas are per shard or per consumer and enforced by
    /// token buckets of their own, and the calls whose only published quota is something else.
    public static let withoutControlPlaneTPS: [KinesisOperation: String] = [
        .putRecord: "data plane: per-shard write throughput",
        .putRecords: "data plane: per-shard write throughput",
        .getRecords: "data plane: 5 calls/s and 2 MiB/s per shard",
        .getShardIterator: "data plane: 5/s per open shard",
        .subscribeToShard: "data plane: 1/s per consumer and shard",
        .startStreamEncryption: "25 successful key changes per rolling 24 h",
        .stopStreamEncryption: "25 successful key changes per rolling 24 h",
        .updateStreamMode: "2 capacity-mode switches per 24 h per stream",
        .updateMaxRecordSize: "no published TPS",
        .tagResource: "no published TPS",
        .untagResource: "no published TPS",
        .listTagsForResource: "no published TPS",
        .putResourcePolicy: "no published TPS",
        .getResourcePolicy: "no published TPS",
        .deleteResourcePolicy: "no published TPS",
    ]

    public static let aws = KinesisLimits(profile: "aws", enforcesThroughput: true)
    public static let off = KinesisLimits(profile: "off", enforcesThroughput: false)

    /// Look a profile up by the name used on the command line.
    public static func named(_ name: String) -> KinesisLimits? {
        switch name.lowercased() {
        case "aws": .aws
        case "off": .off
        default: nil
        }
    }
}

extension KinesisLimits {
    /// The targets UpdateShardCount accepts from `current` open shards: at least
    /// half of them (rounded up), at most double (KINESIS.md §2.3). The engine
    /// enforces it; advice and the dashboard's prompt stay within it.
    public static func updateShardCountTargets(current: Int) -> ClosedRange<Int> {
        let low = current - current / 2
        return low...max(low, current.multipliedReportingOverflow(by: 2).overflow ? .max : current * 2)
    }

    /// A shard's write quota as the screen says it, from the limits in force.
    public var shardWriteText: String {
        enforcesThroughput
            ? "\(Self.rateText(bytes: shardWriteBytesPerSecond)) and \(shardWriteRecordsPerSecond) records/s"
            : "unthrottled writes (--limits off)"
    }

    /// Kinesis's default shard quota per account (KINESIS.md §3, KDS-QUOTAS-NOW):
    /// 20,000 in US East (N. Virginia), US West (Oregon) and Europe (Ireland);
    /// "1,000 or 6,000" in every other region. Which regions get 6,000 is not
    /// in KINESIS.md, so every other region gets the lower figure, 1,000.
    public static func defaultShardLimit(region: String) -> Int {
        ["us-east-1", "us-west-2", "eu-west-1"].contains(region) ? 20_000 : 1_000
    }

    /// Most open shards an on-demand stream scales to: its write ceiling (KDS-QUOTAS-NOW: 10 GB/s in
    /// US East (N. Virginia), US West (Oregon) and Europe (Ireland), 200 MB/s elsewhere) in shards
    /// of 1 MB/s.
    public static func onDemandMaximumShards(region: String) -> Int {
        ["us-east-1", "us-west-2", "eu-west-1"].contains(region) ? 10_000 : 200
    }

    /// The shard quota in force in `region`.
    public func shardLimit(region: String) -> Int { shardLimitPerAccount ?? Self.defaultShardLimit(region: region) }

    /// A polling reader's shared per-shard budget as the screen says it, from the limits in force.
    public var sharedReadText: String {
        enforcesThroughput
            ? "\(Self.rateText(bytes: shardReadBytesPerSecond)) and \(shardReadCallsPerSecond) GetRecords/s"
            : "unthrottled reads (--limits off)"
    }

    /// An enhanced fan-out consumer's per-shard pipe as the screen says it.
    public var fanOutPipeText: String {
        enforcesThroughput ? Self.rateText(bytes: efoBytesPerSecondPerConsumerShard) : "unthrottled pipe (--limits off)"
    }

    static func rateText(bytes: Int) -> String {
        bytes % 1_048_576 == 0 ? "\(bytes / 1_048_576) MiB/s" : "\(bytes / 1_024) KiB/s"
    }

    /// Longest `NextToken` a list operation accepts (the model's length constraint).
    public static let nextTokenLength = 1...1_048_576
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
        d.create = .zero
        d.delete = .zero
        d.update = .zero
        d.consumerCreate = .zero
        d.consumerDelete = .zero
        return d
    }

    /// Longest delay a command line may set: an hour is already far past any SDK waiter's patience.
    public static let maximumMilliseconds: Double = 3_600_000

    /// A delay given in milliseconds (fractions allowed), or nil when it is negative, NaN or
    /// above ``maximumMilliseconds`` (a huge value would overflow the clock's arithmetic).
    public static func duration(milliseconds ms: Double) -> Duration? {
        guard (0...maximumMilliseconds).contains(ms) else { return nil }
        return .nanoseconds(Int64((ms * 1_000_000).rounded()))
    }
}

/// How an on-demand stream's write capacity follows its traffic, in Kinesis's words
/// (KDS-DG `how-do-i-size-a-stream.md`, KDS-QUOTAS-NOW; KINESIS.md §3):
///
/// - "new data streams created with the on-demand capacity mode have 4 MB/s of write": four
///   shards (``KinesisLimits/onDemandInitialShards``), so 4 MiB/s and 4,000 records/s.
/// - "A data stream in the on-demand mode accommodates up to double the peak write throughput
///   observed in the previous 30 days": the engine keeps enough open shards for twice the
///   highest per-second write throughput of the last 30 days, bytes and records alike. Capacity
///   is shards: each open shard adds 1 MiB/s and 1,000 records/s, the shard limits that stay in
///   force in on-demand mode. The throughput counted is what producers sent, accepted or
///   throttled: "if your incoming traffic exceeds twice your prior peak, you can experience ...
///   write exceptions for about 15 minutes", after which it is accommodated.
/// - "When the incoming traffic exceeds 500 KB/s per shard, it splits the shard within 15
///   minutes": a shard above half its limits (``splitThresholdBytesPerSecond``,
///   ``splitThresholdRecordsPerSecond``) is split at its middle. Half the limit is ktop's
///   reading of "500 KB/s": the ratio at which this shard rule and the stream's "double the peak"
///   agree, so traffic that doubles evenly finds every shard ready for it. Unless one partition
///   key alone is above the threshold: Kinesis "does not detect and isolate hash keys", and a
///   split could not help.
/// - Scaling takes time: the new shards arrive ``scalingDelay`` after the second the demand
///   first exceeded the capacity (AWS: within 15 minutes; ktop: 60 s by default,
///   `--on-demand-scaling-ms`), and the events say so when it is planned and when it lands.
///
/// Capacity never shrinks here: AWS documents no rule for scaling an on-demand stream down.
public struct OnDemandPolicy: Sendable, Equatable {
    public var splitThresholdBytesPerSecond = 524_288
    public var splitThresholdRecordsPerSecond = 500
    public var scalingDelay: Duration = .seconds(60)
    /// How far back the peak reaches ("the previous 30 days").
    public var peakDays = 30
    public init() {}

    /// Longest scaling delay a command line may set: AWS's own bound, 15 minutes.
    public static let maximumScalingDelayMilliseconds: Double = 900_000
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
    /// Faults injected on purpose (`--faults`): the engine fails PutRecords entries with
    /// `InternalFailure`; the wire server reads the rest. nil: none.
    public var faults: FaultInjector?
    /// Streams kept on disk (`--data-dir`); nil keeps everything in memory.
    /// ``KinesisEngine/open(clock:configuration:)`` opens it.
    public var storage: StorageConfiguration?
    public init() {}
}
