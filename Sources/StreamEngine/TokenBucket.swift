/// A token bucket on the injected clock, for the byte quotas Kinesis serves first and
/// charges afterwards: GetRecords' 2 MiB/s per shard (served into debt), each enhanced
/// fan-out pipe's 2 MiB/s, and the large-record burst allowance of writes. Call-count
/// quotas are ``CallQuota``s instead: a bucket that starts full doubles a fresh shard's
/// first second.
///
/// The level is kept in nano-tokens (tokens × 10⁹) so refill is exact integer
/// arithmetic at any rate: no drift, and "exactly at the limit passes, one over
/// throttles" holds to the token.
public struct TokenBucket: Sendable, Equatable {
    /// Largest level, in tokens: the burst allowed after idling.
    public let capacity: Int64
    /// Tokens added per second.
    public let ratePerSecond: Int64
    private var level: Int64
    private var last: Int64

    private static let scale: Int64 = 1_000_000_000

    /// - Parameters:
    ///   - capacity: burst size in tokens; 0 means no credit is ever banked and
    ///     callers may only spend into debt (the GetRecords model below).
    ///   - startFull: whether the bucket starts at capacity.
    public init(capacity: Int64, ratePerSecond: Int64, now: Instant, startFull: Bool = true) {
        self.capacity = capacity
        self.ratePerSecond = ratePerSecond
        self.level = startFull ? capacity * Self.scale : 0
        self.last = now.nanosecondsSinceEpoch
    }

    private mutating func refill(_ now: Instant) {
        let t = now.nanosecondsSinceEpoch
        guard t > last else { return }
        let cap = capacity * Self.scale
        if level >= cap { last = t; return }
        // Cap the elapsed time at what could fill the bucket from its current
        // level, so the product below cannot overflow.
        let needed = cap - level
        let elapsed = min(t - last, needed / max(ratePerSecond, 1) + 1)
        level = min(cap, level + elapsed * ratePerSecond)
        last = t
    }

    /// Whole tokens available now (negative while in debt).
    public mutating func available(_ now: Instant) -> Int64 {
        refill(now)
        return level >= 0 ? level / Self.scale : -((-level + Self.scale - 1) / Self.scale)
    }

    /// True while the bucket is not in debt.
    public mutating func isSolvent(_ now: Instant) -> Bool {
        refill(now)
        return level >= 0
    }

    /// Takes `n` tokens even if that leaves the bucket in debt. Used where
    /// Kinesis serves first and throttles afterwards (a 10 MiB GetRecords
    /// response makes the next 5 s of calls fail).
    public mutating func spend(_ n: Int64, _ now: Instant) {
        refill(now)
        level -= n * Self.scale
    }

    /// Gives back tokens taken for work that did not happen.
    public mutating func refund(_ n: Int64) {
        level = min(capacity * Self.scale, level + n * Self.scale)
    }

    /// Time until `n` tokens are available, for clients that want to wait.
    public mutating func timeUntil(_ n: Int64, _ now: Instant) -> Duration {
        refill(now)
        let missing = n * Self.scale - level
        if missing <= 0 { return .zero }
        return .nanoseconds((missing + ratePerSecond - 1) / max(ratePerSecond, 1))
    }
}

/// Sliding count of events in a rolling window (e.g. "10 UpdateShardCount
/// calls per rolling 24 hours").
struct RollingWindowCounter: Sendable {
    let window: Duration
    let limit: Int
    private(set) var times: [Instant] = []

    init(window: Duration, limit: Int, times: [Instant] = []) {
        self.window = window
        self.limit = limit
        self.times = times
    }

    mutating func prune(_ now: Instant) { times.removeAll { now - $0 >= window } }
    mutating func canRecord(_ now: Instant) -> Bool { prune(now); return times.count < limit }
    mutating func record(_ now: Instant) { times.append(now) }
}
