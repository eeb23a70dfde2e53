import StreamEngine

/// How unevenly write load is spread over a stream's open shards, by
/// utilisation (the binding write limit of each shard).
public struct Skew: Sendable, Equatable {
    public var openShards: Int
    /// Mean utilisation of the open shards.
    public var averageUtilization: Double
    /// Hottest shard's utilisation over the mean: 1 is perfectly even, N
    /// (the shard count) means one shard takes everything. 0 without load.
    public var peakToAverage: Double
    /// Standard deviation over mean of the shards' utilisations (population);
    /// 0 without load.
    public var coefficientOfVariation: Double
    public var hottestShardId: String?

    public init(utilizations: [(shardId: String, value: Double)]) {
        openShards = utilizations.count
        let n = Double(utilizations.count)
        let mean = n > 0 ? utilizations.reduce(0) { $0 + $1.value } / n : 0
        averageUtilization = mean
        let peak = utilizations.max { $0.value < $1.value }
        hottestShardId = mean > 0 ? peak?.shardId : nil
        peakToAverage = mean > 0 ? (peak?.value ?? 0) / mean : 0
        let variance = n > 0 ? utilizations.reduce(0) { $0 + ($1.value - mean) * ($1.value - mean) } / n : 0
        coefficientOfVariation = mean > 0 ? variance.squareRoot() / mean : 0
    }
}

/// A heavy partition key with the Space-Saving guarantee spelled out.
public struct HotKey: Sendable, Equatable {
    public var partitionKey: String
    public var hashKey: UInt128
    public var shardId: String
    /// Estimated records and bytes in the window (overestimates).
    public var records: Int64
    public var bytes: Int64
    /// The estimate's maximum overestimate, in the ordering's unit.
    public var maxError: Int64
    /// A certain lower bound on the key's true weight (records or bytes).
    public var guaranteedMinimum: Int64
}

/// The heaviest keys of one shard in the last complete second, by records
/// and by bytes, each from its own bounded Space-Saving sketch (16 slots).
///
/// Guarantees: every key with more than `recordsErrorBound` records (or
/// `bytesErrorBound` bytes) in the window is listed, and each listed count
/// exceeds the truth by at most its `maxError` ≤ that bound.
/// KPL-aggregated records are counted by their outer partition key: ktop's
/// load generator does not aggregate yet, so inner user-record keys are not
/// broken out (later work).
public struct HotKeys: Sendable, Equatable {
    public var byRecords: [HotKey]
    public var byBytes: [HotKey]
    public var windowRecords: Int64
    public var windowBytes: Int64
    public var recordsErrorBound: Int64
    public var bytesErrorBound: Int64

    public static let empty = HotKeys(
        byRecords: [], byBytes: [], windowRecords: 0, windowBytes: 0, recordsErrorBound: 0, bytesErrorBound: 0)

    public init(
        byRecords: [HotKey], byBytes: [HotKey], windowRecords: Int64, windowBytes: Int64, recordsErrorBound: Int64,
        bytesErrorBound: Int64
    ) {
        self.byRecords = byRecords
        self.byBytes = byBytes
        self.windowRecords = windowRecords
        self.windowBytes = windowBytes
        self.recordsErrorBound = recordsErrorBound
        self.bytesErrorBound = bytesErrorBound
    }

    public init(_ shard: ShardSample) {
        let r = shard.topKeys
        let b = shard.topKeysByBytes
        byRecords = (r?.top ?? []).map {
            HotKey(
                partitionKey: $0.partitionKey, hashKey: $0.hashKey, shardId: shard.shardId, records: $0.records,
                bytes: $0.bytes,
                maxError: $0.error, guaranteedMinimum: $0.records - $0.error)
        }
        byBytes = (b?.topByBytes ?? []).map {
            HotKey(
                partitionKey: $0.partitionKey, hashKey: $0.hashKey, shardId: shard.shardId, records: $0.records,
                bytes: $0.bytes,
                maxError: $0.error, guaranteedMinimum: $0.bytes - $0.error)
        }
        windowRecords = r?.total ?? b?.total ?? 0
        windowBytes = b?.totalBytes ?? r?.totalBytes ?? 0
        recordsErrorBound = r?.errorBound ?? 0
        bytesErrorBound = b?.errorBound ?? 0
    }
}

extension MetricsStore {
    /// Skew of the stream's open shards in the last second.
    public func skew(_ stream: StreamSample) -> Skew {
        Skew(
            utilizations: stream.shards.filter(\.isOpen).map {
                ($0.shardId, latest(stream, $0.shardId)?.utilization ?? 0)
            })
    }

    /// Hot keys of one shard (last complete second).
    public func hotKeys(_ stream: StreamSample, _ shardId: String) -> HotKeys {
        stream.shards.first { $0.shardId == shardId }.map(HotKeys.init) ?? .empty
    }

    /// Hot keys of the whole stream: a key lives in exactly one open shard,
    /// so the per-shard lists merge without double counting.
    public func hotKeys(_ stream: StreamSample, limit: Int = 10) -> (byRecords: [HotKey], byBytes: [HotKey]) {
        let all = stream.shards.filter(\.isOpen).map(HotKeys.init)
        return (
            Array(all.flatMap(\.byRecords).sorted { $0.records > $1.records }.prefix(limit)),
            Array(all.flatMap(\.byBytes).sorted { $0.bytes > $1.bytes }.prefix(limit))
        )
    }
}
