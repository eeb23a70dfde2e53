import DequeModule

/// A shard's write quota: 1 MiB/s including partition keys and 1,000 records/s (KINESIS.md §3),
/// with the replenishing burst allowance that lets a stream whose MaxRecordSizeInKiB is above 1024
/// take a record larger than one second's bytes.
///
/// Why a trailing window and not only a token bucket: Kinesis states the quota per shard and per
/// second ("up to 1,000 records per second for writes, up to a maximum total data write rate of
/// 1 MB per second", KDS-DG `service-sizes-and-limits.md`), and AWS's throttling guide explains
/// throttling that per-minute metrics hide by the quotas being "determined per shard and per
/// second" (repost.aws knowledge-center/kinesis-data-stream-throttling). AWS documents no burst
/// above that for records of 1 MiB or less; the one burst it documents is for large records
/// (KDS-LARGE: the stream "accommodates large records by temporarily bursting beyond its sustained
/// write throughput", a capacity "continuously replenished"). A bucket that holds one second and
/// refills continuously lets a fresh shard take about 2,000 records in its first second, and any
/// shard that idled take a second's burst plus a second's refill within one second. So a record
/// is admitted only if what the shard accepted in the trailing second, the window (now − 1 s, now],
/// stays within both limits with it: every second is like every other, the first included, and a
/// steady 1,000 records/s is still accepted second after second.
///
/// The bucket stays for the large records alone. A record larger than the bytes limit passes only
/// from a full bucket and leaves it in debt, which later records must wait out (a 2 MiB record
/// blocks the shard's bytes for 2 s); for records within the limit the bucket never refuses what
/// the window admits, so it changes nothing for them.
struct ShardWriteQuota: Sendable {
    /// What the window refused, if anything.
    struct Verdict: Equatable {
        var bytesOK: Bool
        var recordsOK: Bool
        var admitted: Bool { bytesOK && recordsOK }
    }

    let bytesPerSecond: Int64
    let recordsPerSecond: Int64
    /// Accepted writes in the trailing second, one entry per instant (a PutRecords call's records
    /// share one), oldest first. At most `recordsPerSecond` entries: each holds a record or more.
    private var window = Deque<Entry>()
    private(set) var windowBytes: Int64 = 0
    private(set) var windowRecords: Int64 = 0
    /// The large-record burst allowance: one second of bytes, refilled at the bytes limit.
    private var allowance: TokenBucket

    private struct Entry {
        var nanos: Int64
        var records: Int64
        var bytes: Int64
    }

    private static let second: Int64 = 1_000_000_000

    init(bytesPerSecond: Int, recordsPerSecond: Int, now: Instant) {
        self.bytesPerSecond = Int64(bytesPerSecond)
        self.recordsPerSecond = Int64(recordsPerSecond)
        allowance = TokenBucket(capacity: Int64(bytesPerSecond), ratePerSecond: Int64(bytesPerSecond), now: now)
    }

    /// Charges one record of `size` bytes (data + partition key) if both limits allow it now;
    /// otherwise charges nothing and says which limit refused it.
    mutating func admit(size: Int, now: Instant) -> Verdict {
        prune(now)
        let cost = Int64(size)
        let recordsOK = windowRecords < recordsPerSecond
        let bytesOK: Bool
        if cost <= bytesPerSecond {
            bytesOK = windowBytes <= bytesPerSecond - cost && allowance.available(now) >= cost
        } else {
            bytesOK = allowance.available(now) >= allowance.capacity
        }
        let verdict = Verdict(bytesOK: bytesOK, recordsOK: recordsOK)
        guard verdict.admitted else { return verdict }
        allowance.spend(cost, now)
        let t = now.nanosecondsSinceEpoch
        if let last = window.last, last.nanos == t {
            window[window.count - 1].records += 1
            window[window.count - 1].bytes += cost
        } else {
            window.append(Entry(nanos: t, records: 1, bytes: cost))
        }
        windowRecords += 1
        windowBytes += cost
        return verdict
    }

    /// Drops what was accepted a second or more ago: the window is half-open, so 1,000 records
    /// at t and 1,000 more at t + 1 s are two seconds at the limit, not one over it.
    private mutating func prune(_ now: Instant) {
        let cutoff = now.nanosecondsSinceEpoch.saturatingSubtracted(Self.second)
        while let first = window.first, first.nanos <= cutoff {
            window.removeFirst()
            windowRecords -= first.records
            windowBytes -= first.bytes
        }
    }
}
