import Foundation
import LoadGen
import Metrics
import StreamEngine

/// One shard of the watched stream: its place in the topology (from ListShards,
/// or from a parent's ChildShards until the next listing) and the reader's
/// position in it.
struct WatchedShard {
    let shardId: String
    /// The index in `shardId-%012d`; shards of endpoints with other ids get their listing order.
    let index: Int
    var parentShardId: String?
    var adjacentParentShardId: String?
    let range: ClosedRange<UInt128>
    var createdAt: Instant
    var closedAt: Instant?
    /// Whether `createdAt` came from the shard's StartingSequenceNumber (else it is when ktop first saw it).
    var createdAtKnown: Bool

    // The reader.
    /// LATEST for shards open when ktop attached (AT_TIMESTAMP of the attach instant when first
    /// read after it); TRIM_HORIZON for shards that appeared later.
    let start: ShardIteratorType
    var iterator: String?
    var lastSequence: String?
    /// At SHARD_END, or closed before ktop attached: nothing more to read.
    var done: Bool
    var lastCall: Instant?
    /// No call before this instant (after a ResourceNotFound or an unexpected error).
    var pausedUntil: Instant?
    /// Every record that arrived before this instant has been read.
    var watermark: Instant
    var throttleStreak = 0
    /// The endpoint refused AT_TIMESTAMP of the attach instant: LATEST from then on.
    var refusedTimestamp = false
    /// Records older than the attach instant can reach the reader (its first iterator was
    /// TRIM_HORIZON or AT_TIMESTAMP), so they are skipped. A LATEST iterator holds none,
    /// whatever the endpoint's clock says, so nothing it returns is skipped.
    var skipsBeforeAttach: Bool
    var read = ShardReadReport(bytes: 0, records: 0, calls: 0, throttled: 0, millisBehindLatest: 0)

    // Enhanced fan-out mode.
    var subscription: (any FanOutSubscription)?
    var lastSubscribe: Instant?
    /// Where the last event said to resume (AFTER_SEQUENCE_NUMBER), records or not.
    var continuation: String?
    /// The consumer's pipe on this shard, as the engine counts one (bytes, events, subscriptions …).
    var fanOut = ConsumerShardCounters()
    var tally: ShardTally

    var isOpen: Bool { closedAt == nil }

    init(shardId: String, index: Int, parentShardId: String?, adjacentParentShardId: String?,
         range: ClosedRange<UInt128>, createdAt: Instant?, closedAt: Instant?, seenAt: Instant,
         start: ShardIteratorType, done: Bool, settledThrough: Int64) {
        self.shardId = shardId
        self.index = index
        self.parentShardId = parentShardId
        self.adjacentParentShardId = adjacentParentShardId
        self.range = range
        self.createdAt = createdAt ?? seenAt
        self.createdAtKnown = createdAt != nil
        self.closedAt = closedAt
        self.start = start
        self.done = done
        skipsBeforeAttach = start == .trimHorizon
        // A shard read from LATEST holds nothing ktop counts from before its first
        // iterator; one read from TRIM_HORIZON holds records since its creation.
        if done {
            watermark = .distantFuture
        } else if start == .trimHorizon {
            watermark = createdAt ?? seenAt
        } else {
            watermark = seenAt
        }
        tally = ShardTally(range: range, settledThrough: settledThrough)
    }

    /// A shard as ListShards describes it. Nil-safe on malformed replies: a hash key
    /// that does not parse reads as the end of the space, reversed bounds are put in order.
    init(_ shard: Shard, ordinal: Int, seenAt: Instant, start: ShardIteratorType, done: Bool, settledThrough: Int64) {
        let (created, closed) = Self.times(of: shard, seenAt: seenAt)
        self.init(shardId: shard.shardId, index: ShardID.index(shard.shardId) ?? ordinal,
                  parentShardId: shard.parentShardId, adjacentParentShardId: shard.adjacentParentShardId,
                  range: Self.range(shard.hashKeyRange), createdAt: created, closedAt: closed, seenAt: seenAt,
                  start: start, done: done, settledThrough: settledThrough)
    }

    /// When a listed shard was created and closed, read from its sequence numbers (a v2
    /// number holds the shard's creation second; the ending one, the second it closed,
    /// KINESIS.md §5). Nil creation when the endpoint's numbers are in another format;
    /// a closed shard whose ending number does not parse closed when ktop saw it.
    static func times(of shard: Shard, seenAt: Instant) -> (created: Instant?, closed: Instant?) {
        let created = SequenceNumber(shard.sequenceNumberRange.startingSequenceNumber)
            .map { Instant.fromSeconds($0.shardCreateSeconds) }
        let closed: Instant? = shard.sequenceNumberRange.endingSequenceNumber.map { ending in
            SequenceNumber(ending).map { Instant.fromSeconds($0.recordSeconds) } ?? seenAt
        }
        return (created, closed)
    }

    static func range(_ r: HashKeyRange) -> ClosedRange<UInt128> {
        let a = HashKey.parse(r.startingHashKey) ?? 0
        let b = HashKey.parse(r.endingHashKey) ?? HashKey.max
        return min(a, b)...max(a, b)
    }

    var sample: ShardSample {
        ShardSample(shardId: shardId, index: index, parentShardId: parentShardId,
                    adjacentParentShardId: adjacentParentShardId, startingHashKey: range.lowerBound,
                    endingHashKey: range.upperBound, createdAt: createdAt, closedAt: closedAt,
                    counters: tally.counters, topKeys: tally.topKeys, topKeysByBytes: tally.topKeysByBytes,
                    hashKeyHistogram: tally.histogram)
    }
}

extension Instant {
    /// Whole seconds since the epoch as an instant, saturating (a sequence number holds 36 bits of seconds).
    static func fromSeconds(_ s: UInt64) -> Instant {
        Instant(nanosecondsSinceEpoch: Int64(clamping: s).saturatingMultiplied(by: 1_000_000_000))
    }

    /// The whole second holding this instant, rounding towards the past (also before 1970).
    var floorSecond: Int64 {
        let n = nanosecondsSinceEpoch
        let q = n / 1_000_000_000
        return n % 1_000_000_000 < 0 ? q - 1 : q
    }

    /// The instant a whole second starts, saturating.
    static func startOf(second s: Int64) -> Instant {
        Instant(nanosecondsSinceEpoch: s.saturatingMultiplied(by: 1_000_000_000))
    }
}
