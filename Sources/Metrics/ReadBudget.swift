/// How one shard's read capacity was used in the last interval.
///
/// Kinesis gives polling (GetRecords) consumers one shared budget per shard —
/// 2 MiB/s and 5 calls/s for all of them together — while each enhanced
/// fan-out consumer gets its own 2 MiB/s pipe per shard (KINESIS.md §3).
public struct ReadBudget: Sendable, Equatable {
    public var shardId: String
    public var open: Bool
    /// GetRecords bytes of all polling consumers, against the shared 2 MiB/s.
    public var pollingBytesPerSecond: Double
    public var pollingBytesBudget: Double
    /// GetRecords calls attempted (served + refused), against the shared 5/s.
    public var pollingCallsPerSecond: Double
    public var pollingCallsBudget: Double
    /// Calls refused by the read quota — ReadProvisionedThroughputExceeded.
    public var throttledCallsPerSecond: Double
    /// max(bytes / 2 MiB, served calls / 5).
    public var pollingUtilization: Double
    /// IteratorAgeMilliseconds of the shard (age of the last record GetRecords returned).
    public var iteratorAgeMilliseconds: Int64
    /// Each polling consumer's part, when its reader reports per-shard
    /// counters (`ConsumerReport.shards`); empty otherwise — the engine itself
    /// cannot tell polling readers apart.
    public var pollingConsumers: [PollingShare]
    /// Each enhanced fan-out consumer's own pipe on this shard.
    public var fanOut: [FanOutPipe]
}

/// One polling consumer's use of a shard's shared read budget.
public struct PollingShare: Sendable, Equatable {
    public var consumer: String
    public var bytesPerSecond: Double
    public var callsPerSecond: Double
    /// Its calls refused by the shared quota: who got throttled.
    public var throttledPerSecond: Double
    /// Its bytes as a share of the shard's 2 MiB/s.
    public var shareOfBytesBudget: Double
    public var millisBehindLatest: Int64
}

/// One enhanced fan-out consumer's dedicated 2 MiB/s pipe on one shard.
public struct FanOutPipe: Sendable, Equatable {
    public var consumer: String
    public var bytesPerSecond: Double
    public var recordsPerSecond: Double
    public var budgetBytesPerSecond: Double
    public var utilization: Double
    /// MillisBehindLatest of the last SubscribeToShardEvent on this shard.
    public var millisBehindLatest: Int64
    /// SubscribeToShard calls refused (in use / too frequent) — SubscribeToShard.RateExceeded.
    public var rejectedSubscriptionsPerSecond: Double
}
