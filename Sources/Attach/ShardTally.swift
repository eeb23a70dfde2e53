import Foundation
import StreamEngine

/// What the reader measured of one shard from the records it read, attributed
/// to whole seconds by `ApproximateArrivalTimestamp`: cumulative
/// IncomingRecords and IncomingBytes (data + partition key bytes, as Kinesis
/// counts a record against its quotas, KINESIS.md §3), the heaviest partition
/// keys of the last settled second, and where the records fell in the shard's
/// hash key range.
///
/// A second's records can still be unread when the second ends (the shard is
/// read once a second, or less often in rotation), so counts wait in `pending`
/// until the watcher declares the second settled; only settled seconds reach
/// the cumulative counters, which Metrics differences. A record that arrives
/// for a second already settled is added at once and counted as late.
///
/// The hash key of a record is MD5 of its partition key (GetRecords does not
/// return an ExplicitHashKey). A key whose MD5 lies outside the shard's range
/// was routed by an ExplicitHashKey: it is counted, but not placed in the histogram.
/// KPL aggregates count as one Kinesis record; their user records are what the
/// key sketches and the histogram see, as in the engine's put path.
struct ShardTally {
    /// Counts of one arrival second not yet settled.
    struct Second {
        var records: Int64 = 0
        var bytes: Int64 = 0
        var putPayloadUnits: Int64 = 0
        var billedKiB: Int64 = 0
        var aggregatedUserRecords: Int64 = 0
        var keys = SpaceSaving(slots: 16, weight: .records)
        var keysByBytes = SpaceSaving(slots: 16, weight: .bytes)
        var histogram: HashKeyHistogram
    }

    let range: ClosedRange<UInt128>
    private(set) var counters = ShardCounters()
    private(set) var histogram: HashKeyHistogram
    private(set) var pending: [Int64: Second] = [:]
    /// Sketches of the last settled second, nil when it had no traffic.
    private(set) var topKeys: SpaceSaving?
    private(set) var topKeysByBytes: SpaceSaving?
    /// Records read after their second had been settled (and reported).
    private(set) var lateRecords: Int64 = 0
    /// Records (or user records) whose MD5 hash key lies outside the shard: sent with an ExplicitHashKey.
    private(set) var unplacedRecords: Int64 = 0

    /// The last second settled into the counters.
    private(set) var settledThrough: Int64

    init(range: ClosedRange<UInt128>, settledThrough: Int64) {
        self.range = range
        self.settledThrough = settledThrough
        histogram = HashKeyHistogram(range: range)
    }

    /// Counts one record that arrived in `second`.
    mutating func add(_ record: Record, second: Int64) {
        let size = record.data.count + record.partitionKey.utf8.count
        if second <= settledThrough {
            // Its second is already reported: into the cumulative counters at once.
            lateRecords += 1
            counters.incomingRecords += 1
            counters.incomingBytes += Int64(size)
            counters.putPayloadUnits += Self.putPayloadUnits(size)
            counters.billedKiB += Self.billedKiB(size)
            let users = Self.visit(record, size: size) { hash, _, userSize in
                if range.contains(hash) { histogram.record(hash: hash, size: userSize) } else { unplacedRecords += 1 }
            }
            counters.aggregatedUserRecords += users
            return
        }
        if pending[second] == nil { pending[second] = Second(histogram: HashKeyHistogram(range: range)) }
        // In place: a copy out of the dictionary would copy the second's arrays on every record.
        Self.count(record, size: size, into: &pending[second]!, range: range, unplaced: &unplacedRecords)
    }

    private static func count(_ record: Record, size: Int, into s: inout Second, range: ClosedRange<UInt128>,
                              unplaced: inout Int64) {
        s.records += 1
        s.bytes += Int64(size)
        s.putPayloadUnits += putPayloadUnits(size)
        s.billedKiB += billedKiB(size)
        let users = visit(record, size: size) { hash, key, userSize in
            s.keys.record(hash: hash, key: key, size: userSize)
            s.keysByBytes.record(hash: hash, key: key, size: userSize)
            if range.contains(hash) { s.histogram.record(hash: hash, size: userSize) } else { unplaced += 1 }
        }
        s.aggregatedUserRecords += users
    }

    /// Calls `body` with the hash key, partition key and size of each record the
    /// keys are about: the user records of a KPL aggregate (returning how many),
    /// else the record itself (returning 0). Hash keys as the engine's put path
    /// computes them: an aggregate's ExplicitHashKey when given, else MD5.
    private static func visit(_ record: Record, size: Int, _ body: (UInt128, String, Int) -> Void) -> Int64 {
        if KPLFormat.mayBeAggregate(record.data), let users = KPLFormat.decode(record.data) {
            for u in users {
                let hash = u.explicitHashKey.flatMap(HashKey.parse) ?? HashKey.of(partitionKey: u.partitionKey)
                body(hash, u.partitionKey, u.data.count + u.partitionKey.utf8.count)
            }
            return Int64(users.count)
        }
        body(HashKey.of(partitionKey: record.partitionKey), record.partitionKey, size)
        return 0
    }

    /// PUT payload units (25 KiB chunks) and on-demand billed KiB of one record (KINESIS.md §8).
    private static func putPayloadUnits(_ size: Int) -> Int64 {
        Int64((size + ShardCounters.putPayloadUnitBytes - 1) / ShardCounters.putPayloadUnitBytes)
    }
    private static func billedKiB(_ size: Int) -> Int64 { Int64((size + 1023) / 1024) }

    /// Moves every pending second up to `second` into the cumulative counters; the
    /// sketches shown become those of `second` itself (nil if it had no traffic).
    /// Seconds only move forward: an earlier `second` changes nothing.
    mutating func settle(through second: Int64) {
        guard second > settledThrough else { return }
        settledThrough = second
        var last: Second?
        for t in pending.keys.filter({ $0 <= second }).sorted() {
            let s = pending.removeValue(forKey: t)!
            counters.incomingRecords += s.records
            counters.incomingBytes += s.bytes
            counters.putPayloadUnits += s.putPayloadUnits
            counters.billedKiB += s.billedKiB
            counters.aggregatedUserRecords += s.aggregatedUserRecords
            histogram.add(s.histogram)
            if t == second { last = s }
        }
        topKeys = last?.keys
        topKeysByBytes = last?.keysByBytes
    }
}
