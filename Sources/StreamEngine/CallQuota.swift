import DequeModule

/// A per-second call quota: GetRecords' 5 calls per shard, GetShardIterator's 5 per shard,
/// SubscribeToShard's 1 per consumer and shard, and the control plane's TPS (KINESIS.md §3).
///
/// Why a trailing window and not a token bucket: a bucket that holds one second and refills
/// continuously admits twice the quota in a fresh shard's first second (a full bucket, then a
/// second's refill), and again after every idle spell. Kinesis states these quotas "per second"
/// and documents no burst for them, so a call is admitted only if fewer than `perSecond` calls were
/// admitted in the trailing second, (now − 1 s, now]: every second is like every other, the first
/// included (the write side's `ShardWriteQuota` makes the same choice for records and bytes).
///
/// Memory is at most `perSecond` instants; each call is O(1) amortized.
public struct CallQuota: Sendable {
    public let perSecond: Int
    /// Instants of the admitted calls still inside the trailing second, oldest first.
    private var admitted = Deque<Int64>()

    public init(perSecond: Int) {
        self.perSecond = max(perSecond, 0)
    }

    /// Admits one call now if the trailing second has room; otherwise admits nothing.
    public mutating func tryTake(_ now: Instant) -> Bool {
        guard used(now) < perSecond else { return false }
        admitted.append(now.nanosecondsSinceEpoch)
        return true
    }

    /// Calls admitted in the trailing second that ends now.
    public mutating func used(_ now: Instant) -> Int {
        let t = now.nanosecondsSinceEpoch
        // An instant within a second of Int64.min has nothing before it to forget (and must not trap).
        let (start, overflow) = t.subtractingReportingOverflow(1_000_000_000)
        if !overflow { while let first = admitted.first, first <= start { admitted.removeFirst() } }
        return admitted.count
    }
}
