import Foundation
import Synchronization

/// A change that Kinesis applies asynchronously: the stream shows CREATING,
/// UPDATING or DELETING until `due`, then the change takes effect.
struct PendingChange: Sendable {
    enum Action: Sendable {
        case activate
        case split(shard: Int, at: UInt128)
        case merge(shard: Int, adjacent: Int)
        case updateShardCount(target: Int)
        /// On-demand scaling: split shards (hot ones first) until `target` are open.
        case scaleOnDemand(target: Int)
        case mode(StreamMode)
        case encryption(EncryptionType, keyId: String?)
        case delete
    }
    var due: Instant
    var action: Action
}

/// Where a stream's files are: the data directory and the stream's own folder in it.
struct StreamStorage: Sendable {
    let directory: DataDirectory
    let path: String

    /// A new shard's (empty) store.
    func store(forShard index: Int) -> ShardStore {
        let c = directory.configuration
        return ShardStore.create(directory: DataDirectory.shardDirectory(path, index: index), policy: c.fsync,
                                 segmentBytes: c.segmentBytes)
    }
}

/// A registered enhanced fan-out consumer.
struct ConsumerState: Sendable {
    var name: String
    var arn: String
    var createdAt: Instant
    var status: ConsumerStatus
    /// When CREATING becomes ACTIVE or DELETING ends.
    var statusDue: Instant?
    var tags: [String: String] = [:]
}

/// Everything about a stream except its records, guarded by the stream's
/// reader–writer lock.
struct StreamMeta: Sendable {
    var status: StreamStatus
    /// Every shard ever created, indexed by shard index (`shardId-%012d`).
    var shards: [ShardState]
    /// Open shards sorted by starting hash key: the routing table.
    var open: [ShardState]
    var mode: StreamMode
    var retentionHours: Int
    var tags: [String: String] = [:]
    var encryption: EncryptionType = .none
    var keyId: String?
    var shardLevelMetrics: [MetricsName] = []
    var maxRecordSizeKiB: Int
    var warmThroughputMiBps: Int?
    var consumers: [String: ConsumerState] = [:]
    var pending: PendingChange?
    var updateShardCountHistory: RollingWindowCounter
    var modeSwitchHistory: RollingWindowCounter
    var encryptionHistory: RollingWindowCounter
    /// On-demand capacity: the peak, the hot shards and the planned scaling.
    var onDemand = OnDemandScaling()
    /// DeleteStream came while the stream was CREATING: it never shows shards (kinesalite's
    /// AWS-run test: DELETING with `Shards: []`). Not kept on disk: it lasts the delete delay.
    var deletedWhileCreating = false
    /// Where the stream lives on disk (nil: memory only).
    var storage: StreamStorage?
    /// What `stream.json` holds now (nil: not yet written, or the last write failed).
    var persisted: StreamRecord?

    /// The open shard whose range contains `hash`. O(log n).
    func route(_ hash: UInt128) -> ShardState { open[routeIndex(hash)] }

    /// Position in `open` of the shard whose range contains `hash`. O(log n).
    func routeIndex(_ hash: UInt128) -> Int {
        var lo = 0, hi = open.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if open[mid].range.lowerBound <= hash { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Whether DescribeStream, DescribeStreamSummary and ListShards show the shards: not while
    /// CREATING (KINESIS.md §2.3), nor while deleting a stream that never became ACTIVE.
    var shardsVisible: Bool { status != .creating && !deletedWhileCreating }

    func shard(_ index: Int) -> ShardState? { index >= 0 && index < shards.count ? shards[index] : nil }

    func children(of index: Int) -> [ShardState] {
        shards.filter { $0.parentIndex == index || $0.adjacentParentIndex == index }
    }
}

/// One Kinesis data stream: identity, metadata and shards.
///
/// Lock order is always stream, then shard; the put path holds the stream's
/// read lock while appending so a reshard (write lock) sees no half-routed batch.
final class StreamState: Sendable {
    let name: String
    let arn: String
    let account: String
    let region: String
    let createdAt: Instant
    /// Distinguishes a re-created stream of the same name (iterators and tokens
    /// of the old one must not work on the new one).
    let incarnation: UInt64
    let meta: ReadWriteLock<StreamMeta>
    /// Nanoseconds of the pending change's due time, or Int64.max: a lock-free
    /// check on the hot paths for "is there something to apply first?".
    let nextDue = Atomic<Int64>(Int64.max)
    /// Set once the deleted stream's retained bytes have been returned to the budget.
    let released = Atomic<Bool>(false)
    /// Per (consumer, shard) subscription slots.
    let subscriptions = LockedValue<[SubscriptionKey: SubscriptionSlot]>([:])
    /// Per-call counters that no shard can hold (PutRecord vs PutRecords);
    /// updated once per call, after the shard locks are released.
    let counters = LockedValue(StreamCounters())

    init(name: String, account: String, region: String, createdAt: Instant, incarnation: UInt64, meta: StreamMeta) {
        self.name = name
        self.account = account
        self.region = region
        self.arn = "arn:aws:kinesis:\(region):\(account):stream/\(name)"
        self.createdAt = createdAt
        self.incarnation = incarnation
        self.meta = ReadWriteLock(meta)
        if let due = meta.pending?.due { nextDue.store(due.nanosecondsSinceEpoch, ordering: .relaxed) }
    }

    /// Changes the metadata under the write lock and, with a data directory, writes
    /// `stream.json` before the lock is released: no put can reach a shard the file lacks.
    func update<R, E: Error>(_ body: (inout StreamMeta) throws(E) -> R) throws(E) -> R {
        try meta.write { (m: inout StreamMeta) throws(E) -> R in
            let result = try body(&m)
            persist(&m)
            return result
        }
    }

    /// Writes `stream.json` if the metadata differs from what it holds. A failed write leaves
    /// `persisted` stale: puts fail until a later write (the next change or tick) succeeds.
    func persist(_ m: inout StreamMeta) {
        guard let storage = m.storage else { return }
        let record = StreamRecord(self, m)
        guard record != m.persisted else { return }
        do {
            try storage.directory.write(record)
            m.persisted = record
            metadataFailure.withLock { $0 = nil }
        } catch {
            m.persisted = nil
            metadataFailure.withLock { $0 = error }
        }
    }

    /// Why the stream's metadata is not on disk as it is in memory, if it is not.
    let metadataFailure = LockedValue<StorageError?>(nil)

    func schedule(_ change: PendingChange?, in meta: inout StreamMeta) {
        meta.pending = change
        nextDue.store(change?.due.nanosecondsSinceEpoch ?? Int64.max, ordering: .relaxed)
    }
}

struct SubscriptionKey: Hashable, Sendable {
    var consumerName: String
    var shardIndex: Int
}

/// The live subscription of one consumer on one shard, and that pair's
/// dedicated 2 MiB/s pipe (kept across re-subscriptions, as the pipe belongs
/// to the consumer–shard pair).
struct SubscriptionSlot: Sendable {
    var generation: UInt64
    var startedAt: Instant
    var consumerCreatedAt: Instant
    var pipe: TokenBucket
    /// SubscribeToShard calls admitted: one per second per consumer and shard.
    var calls: CallQuota
    var counters = ConsumerShardCounters()
}

/// Cumulative per-call counters of a stream, for CloudWatch's stream-level
/// PutRecord.* and PutRecords.* metrics (KINESIS.md §6), which count calls
/// and split bytes by operation — facts no single shard sees.
public struct StreamCounters: Sendable, Equatable {
    /// PutRecord calls that stored their record — PutRecord.Success.
    public var putRecordSuccess: Int64 = 0
    /// PutRecord calls refused by the write quota.
    public var putRecordThrottled: Int64 = 0
    /// Bytes (data + partition key) stored by PutRecord — PutRecord.Bytes.
    public var putRecordBytes: Int64 = 0
    /// PutRecords calls (that passed validation).
    public var putRecordsCalls: Int64 = 0
    /// PutRecords calls with at least one stored record — PutRecords.Success.
    public var putRecordsSuccess: Int64 = 0
    /// Bytes stored by PutRecords — PutRecords.Bytes.
    public var putRecordsBytes: Int64 = 0
    /// PutRecords.TotalRecords / SuccessfulRecords / FailedRecords (internal
    /// failures: the engine has none) / ThrottledRecords.
    public var putRecordsTotalRecords: Int64 = 0
    public var putRecordsSuccessfulRecords: Int64 = 0
    public var putRecordsFailedRecords: Int64 = 0
    public var putRecordsThrottledRecords: Int64 = 0
    public init() {}
}

/// JSON: an object of integers named as the properties, every one 0…2^63 − 1.
extension StreamCounters: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        putRecordSuccess = try c.decodeCount(.putRecordSuccess)
        putRecordThrottled = try c.decodeCount(.putRecordThrottled)
        putRecordBytes = try c.decodeCount(.putRecordBytes)
        putRecordsCalls = try c.decodeCount(.putRecordsCalls)
        putRecordsSuccess = try c.decodeCount(.putRecordsSuccess)
        putRecordsBytes = try c.decodeCount(.putRecordsBytes)
        putRecordsTotalRecords = try c.decodeCount(.putRecordsTotalRecords)
        putRecordsSuccessfulRecords = try c.decodeCount(.putRecordsSuccessfulRecords)
        putRecordsFailedRecords = try c.decodeCount(.putRecordsFailedRecords)
        putRecordsThrottledRecords = try c.decodeCount(.putRecordsThrottledRecords)
    }
}

/// Cumulative counters of one enhanced fan-out consumer on one shard.
public struct ConsumerShardCounters: Sendable, Equatable {
    public var bytes: Int64 = 0
    public var records: Int64 = 0
    public var events: Int64 = 0
    public var subscriptions: Int64 = 0
    /// SubscribeToShard calls rejected (in use or rate) — SubscribeToShard.RateExceeded.
    public var rejectedSubscriptions: Int64 = 0
    public var millisBehindLatest: Int64 = 0
    public init() {}
}

/// JSON: an object of integers named as the properties, every one 0…2^63 − 1.
extension ConsumerShardCounters: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        bytes = try c.decodeCount(.bytes)
        records = try c.decodeCount(.records)
        events = try c.decodeCount(.events)
        subscriptions = try c.decodeCount(.subscriptions)
        rejectedSubscriptions = try c.decodeCount(.rejectedSubscriptions)
        millisBehindLatest = try c.decodeCount(.millisBehindLatest)
    }
}
