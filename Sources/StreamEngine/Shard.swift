import DequeModule
import Foundation
import Synchronization

/// One retained data record. Its sequence number is implied by its position
/// in the shard (`seqIndex = position + 1`), so nothing per record is stored
/// beyond the caller's payload and key.
struct StoredRecord: Sendable {
    var arrivalMillis: Int64
    var data: Data
    var partitionKey: String
    var encrypted: Bool
    /// What the record counts against quotas: data + partition key bytes.
    var size: Int

    /// What the record holds in memory, which is what the memory budget counts:
    /// its slot in the shard's deque, the payload's storage object and exact
    /// allocation (14 bytes or fewer live inline) and the key's heap buffer (a key of
    /// 15 UTF-8 bytes or fewer lives inline). Measured against RSS: a 100-byte record
    /// holds about 270 bytes, a 10 KiB one about 10.4 KiB (BENCHMARKS.md).
    var residentBytes: Int {
        Self.residentBytes(dataCount: data.count, keyUTF8Count: partitionKey.utf8.count)
    }

    static func residentBytes(dataCount: Int, keyUTF8Count: Int) -> Int {
        let dataHeap = dataCount > 14 ? 128 + roundedToMallocChunk(dataCount) : 0
        let keyHeap = keyUTF8Count > 15 ? 32 + roundedToMallocChunk(keyUTF8Count) : 0
        return MemoryLayout<StoredRecord>.stride + dataHeap + keyHeap
    }

    /// glibc hands out 16-byte multiples with an 8-byte header.
    private static func roundedToMallocChunk(_ n: Int) -> Int { (n + 8 + 15) & ~15 }
}

/// Cumulative per-shard counters since the shard was created. Metrics samples
/// them every tick and differences consecutive samples, so the put and get
/// paths only ever add.
public struct ShardCounters: Sendable, Equatable {
    /// Accepted bytes (data + partition key) — CloudWatch IncomingBytes.
    public var incomingBytes: Int64 = 0
    /// Accepted records — CloudWatch IncomingRecords.
    public var incomingRecords: Int64 = 0
    /// Records rejected by the write quota — CloudWatch WriteProvisionedThroughputExceeded.
    public var writeThrottledRecords: Int64 = 0
    /// Bytes rejected by the write quota.
    public var writeThrottledBytes: Int64 = 0
    /// Which write limit rejected records: bytes/s or records/s.
    public var writeThrottledByBytes: Int64 = 0
    public var writeThrottledByRecords: Int64 = 0
    /// Bytes and records served by GetRecords. CloudWatch's shard-level
    /// OutgoingBytes/OutgoingRecords are these plus the fan-out figures below.
    public var outgoingBytes: Int64 = 0
    public var outgoingRecords: Int64 = 0
    /// Bytes and records pushed to enhanced fan-out consumers (all of them).
    public var fanOutBytes: Int64 = 0
    public var fanOutRecords: Int64 = 0
    public var getRecordsCalls: Int64 = 0
    /// GetRecords calls rejected — CloudWatch ReadProvisionedThroughputExceeded.
    public var readThrottledCalls: Int64 = 0
    public var getShardIteratorCalls: Int64 = 0
    public var getShardIteratorThrottled: Int64 = 0
    /// Age of the last record returned by GetRecords, at the time it was returned
    /// (0 when a call found the reader at the tip) — CloudWatch IteratorAgeMilliseconds.
    public var iteratorAgeMilliseconds: Int64 = 0
    /// User records inside accepted KPL aggregates (counted by their own keys in the hot-key sketches).
    public var aggregatedUserRecords: Int64 = 0
    /// Records dropped because they outlived the retention period.
    public var expiredRecords: Int64 = 0
    public var expiredBytes: Int64 = 0
    /// Records dropped early because the engine's memory budget was reached.
    public var evictedRecords: Int64 = 0
    public var evictedBytes: Int64 = 0
    /// Billing units of the accepted records (added for Metrics' cost model):
    /// PUT payload units, each record counted in 25 KiB chunks (provisioned
    /// pricing, KINESIS.md §8), and KiB with each record rounded up to a whole
    /// KiB (on-demand data-in). Both count data + partition key, as quotas do.
    public var putPayloadUnits: Int64 = 0
    public var billedKiB: Int64 = 0
    public init() {}

    /// Bytes of one PUT payload unit (25 KiB).
    public static let putPayloadUnitBytes = 25 * 1024
}

/// JSON: an object of integers named as the properties, every one 0…2^63 − 1.
extension ShardCounters: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        incomingBytes = try c.decodeCount(.incomingBytes)
        incomingRecords = try c.decodeCount(.incomingRecords)
        writeThrottledRecords = try c.decodeCount(.writeThrottledRecords)
        writeThrottledBytes = try c.decodeCount(.writeThrottledBytes)
        writeThrottledByBytes = try c.decodeCount(.writeThrottledByBytes)
        writeThrottledByRecords = try c.decodeCount(.writeThrottledByRecords)
        outgoingBytes = try c.decodeCount(.outgoingBytes)
        outgoingRecords = try c.decodeCount(.outgoingRecords)
        fanOutBytes = try c.decodeCount(.fanOutBytes)
        fanOutRecords = try c.decodeCount(.fanOutRecords)
        getRecordsCalls = try c.decodeCount(.getRecordsCalls)
        readThrottledCalls = try c.decodeCount(.readThrottledCalls)
        getShardIteratorCalls = try c.decodeCount(.getShardIteratorCalls)
        getShardIteratorThrottled = try c.decodeCount(.getShardIteratorThrottled)
        iteratorAgeMilliseconds = try c.decodeCount(.iteratorAgeMilliseconds)
        aggregatedUserRecords = try c.decodeCount(.aggregatedUserRecords)
        expiredRecords = try c.decodeCount(.expiredRecords)
        expiredBytes = try c.decodeCount(.expiredBytes)
        evictedRecords = try c.decodeCount(.evictedRecords)
        evictedBytes = try c.decodeCount(.evictedBytes)
        putPayloadUnits = try c.decodeCount(.putPayloadUnits)
        billedKiB = try c.decodeCount(.billedKiB)
    }
}

/// The mutable part of a shard: its log of retained records, its quotas and
/// counters. Guarded by the shard's own lock so writers to different shards
/// never contend.
struct ShardLog: Sendable {
    var records = RecordLog()
    /// Position (0-based, since shard creation) of `records.first`.
    var firstPosition: Int64 = 0
    var nextPosition: Int64 { firstPosition + Int64(records.count) }
    var closedAt: Instant?
    /// Memory held by `records` (``StoredRecord/residentBytes``), against the engine's budget.
    var retainedBytes = 0
    var lastArrivalMillis: Int64 = 0
    var counters = ShardCounters()
    /// Records also live on disk: leaving memory (the budget) loses nothing.
    var durable = false
    var keys = KeyWindow()
    /// Where accepted records land in the shard's hash key range (for split advice).
    var hashKeys: HashKeyHistogram
    /// The last copy of `hashKeys` a sample took, and `counters.incomingRecords` then.
    private var sampledHashKeys: (records: Int64, histogram: HashKeyHistogram)?

    /// `hashKeys` as a sample hands it out: a copy detached from the one the put path writes (sharing it
    /// would make the next put copy it under the lock). A record changes the histogram and
    /// `counters.incomingRecords` together, so while the count stands the last copy is handed out again:
    /// a quiet shard's samples share one copy (issue 16: the tick at 10,000 shards is bound by memory).
    mutating func sampleHashKeys() -> HashKeyHistogram {
        if let sampled = sampledHashKeys, sampled.records == counters.incomingRecords { return sampled.histogram }
        let copy = hashKeys.detached()
        sampledHashKeys = (counters.incomingRecords, copy)
        return copy
    }

    var write: ShardWriteQuota
    var readBytes: TokenBucket
    var readCalls: CallQuota
    var iteratorCalls: CallQuota

    init(limits: KinesisLimits, now: Instant, range: ClosedRange<UInt128> = 0...UInt128.max) {
        hashKeys = HashKeyHistogram(range: range)
        write = ShardWriteQuota(
            bytesPerSecond: limits.shardWriteBytesPerSecond,
            recordsPerSecond: limits.shardWriteRecordsPerSecond, now: now)
        // Reads bank no credit: a call may be served into debt and later calls
        // fail until it is repaid, so 10 MiB in one call blocks the shard for
        // 5 s and 2 MiB for 1 s, as the GetRecords documentation describes.
        readBytes = TokenBucket(
            capacity: 0, ratePerSecond: Int64(limits.shardReadBytesPerSecond), now: now, startFull: false)
        readCalls = CallQuota(perSecond: limits.shardReadCallsPerSecond)
        iteratorCalls = CallQuota(perSecond: limits.getShardIteratorPerShardPerSecond)
    }

    /// Index of the first retained record that arrived at or after `millis`
    /// (arrival times never decrease within a shard). O(log n).
    func position(atOrAfter millis: Int64) -> Int64 {
        var lo = 0
        var hi = records.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if records[mid].arrivalMillis < millis { lo = mid + 1 } else { hi = mid }
        }
        return firstPosition + Int64(lo)
    }

    func record(at position: Int64) -> StoredRecord? {
        let i = position - firstPosition
        guard i >= 0, i < records.count else { return nil }
        return records[Int(i)]
    }

    /// Drops records that arrived before `cutoffMillis`. Returns the resident bytes freed.
    mutating func expire(before cutoffMillis: Int64) -> Int {
        var freed = 0
        while let first = records.first, first.arrivalMillis < cutoffMillis {
            records.removeFirst()
            firstPosition += 1
            freed += first.residentBytes
            counters.expiredRecords += 1
            counters.expiredBytes += Int64(first.size)
        }
        retainedBytes -= freed
        return freed
    }

    /// Drops the oldest records until at least `bytes` of resident memory are freed
    /// (memory budget), stopping early at the first record that arrived after `notAfter`.
    mutating func evict(bytes target: Int, notAfter: Int64 = .max) -> (records: Int, bytes: Int) {
        var freed = 0
        var n = 0
        var payload = 0
        while freed < target, let first = records.first, first.arrivalMillis <= notAfter {
            records.removeFirst()
            firstPosition += 1
            freed += first.residentBytes
            payload += first.size
            n += 1
        }
        retainedBytes -= freed
        if !durable {
            counters.evictedRecords += Int64(n)
            counters.evictedBytes += Int64(payload)
        }
        return (n, freed)
    }
}

/// A shard: an immutable identity (id, hash key range, lineage) and a locked log.
///
/// Models the Kinesis rules that a shard covers a fixed contiguous range of
/// the hash key space for life, is OPEN until a split or merge closes it, and
/// stays readable while CLOSED until its records pass the retention period.
final class ShardState: Sendable {
    let index: Int
    let shardId: String
    let range: ClosedRange<UInt128>
    let parentIndex: Int?
    let adjacentParentIndex: Int?
    let createdAt: Instant
    let log: LockedValue<ShardLog>
    /// The shard's segment files under `--data-dir`; nil keeps records in memory only.
    let store: ShardStore?

    init(
        index: Int, range: ClosedRange<UInt128>, parent: Int?, adjacentParent: Int?, createdAt: Instant,
        limits: KinesisLimits, store: ShardStore? = nil, recovered: (next: Int64, lastArrival: Int64)? = nil
    ) {
        self.index = index
        self.shardId = ShardID.string(index)
        self.range = range
        self.parentIndex = parent
        self.adjacentParentIndex = adjacentParent
        self.createdAt = createdAt
        self.store = store
        var log = ShardLog(limits: limits, now: createdAt, range: range)
        if let recovered {
            // Records of an earlier run stay on disk; memory holds what arrives from now on.
            log.firstPosition = recovered.next
            log.lastArrivalMillis = recovered.lastArrival
        }
        log.durable = store != nil
        self.log = LockedValue(log)
    }

    /// Where readers start when they ask for the oldest record: position 0 reaches the disk.
    func oldestReadablePosition(_ log: ShardLog) -> Int64 { store == nil ? log.firstPosition : 0 }

    /// The end of what readers may see: under `fsync always` only what is on disk.
    func readableEnd(_ log: ShardLog) -> Int64 {
        guard let store else { return log.nextPosition }
        return min(log.nextPosition, max(store.visibleEnd, log.firstPosition))
    }

    var createSeconds: UInt64 { UInt64(max(0, createdAt.secondsSinceEpoch)) }

    func sequenceNumber(position: Int64, arrivalMillis: Int64) -> SequenceNumber {
        SequenceNumber(
            shardCreateSeconds: createSeconds, shardIndex: UInt32(index), seqIndex: UInt64(position + 1),
            recordSeconds: UInt64(max(0, arrivalMillis / 1000)))
    }

    var startingSequenceNumber: SequenceNumber {
        SequenceNumber(
            shardCreateSeconds: createSeconds, shardIndex: UInt32(index), seqIndex: 0, recordSeconds: createSeconds)
    }

    func endingSequenceNumber(closedAt: Instant) -> SequenceNumber {
        SequenceNumber(
            shardCreateSeconds: createSeconds, shardIndex: UInt32(index), seqIndex: SequenceNumber.endIndex,
            recordSeconds: UInt64(max(0, closedAt.secondsSinceEpoch)))
    }

    var hashKeyRange: HashKeyRange {
        HashKeyRange(startingHashKey: String(range.lowerBound), endingHashKey: String(range.upperBound))
    }
}
