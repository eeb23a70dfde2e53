/// The heaviest partition keys of one shard in one second, by the
/// Space-Saving algorithm (Metwally et al.) with a fixed number of slots.
///
/// Any key whose true count in the window exceeds n/k (n records, k slots) is
/// guaranteed to be present, and each reported count overestimates the true
/// count by at most the slot's `error` (≤ n/k). Update is O(k) over a few
/// 128-bit compares with no allocation, cheap enough for the put path.
///
/// A sketch weighs keys either by records (the default) or by bytes
/// (`Weight.bytes`, the weighted Space-Saving variant: each record adds its
/// size). In bytes mode the eviction victim is the entry with the fewest
/// bytes, `error` is in bytes and bounded by `totalBytes / slots`, and
/// `records` counts records since the key entered its slot (a lower bound).
public struct SpaceSaving: Sendable, Equatable {
    /// What the sketch counts a key's weight in.
    public enum Weight: String, Sendable, Equatable { case records, bytes }

    /// One tracked key. `records - error` (records mode) or `bytes - error`
    /// (bytes mode) is a lower bound on its true weight.
    public struct Entry: Sendable, Equatable {
        public var partitionKey: String
        public var hashKey: UInt128
        public var records: Int64
        public var bytes: Int64
        public var error: Int64
    }

    public let slots: Int
    public private(set) var entries: [Entry] = []
    /// Records seen in the window.
    public private(set) var total: Int64 = 0
    /// Bytes (data + partition key) seen in the window.
    public private(set) var totalBytes: Int64 = 0
    /// What `error` and the eviction order are measured in.
    public let weight: Weight

    public init(slots: Int = 16) {
        self.init(slots: slots, weight: .records)
    }

    public init(slots: Int, weight: Weight) {
        self.slots = slots
        self.weight = weight
        entries.reserveCapacity(slots)
    }

    /// The guaranteed bound on any entry's overestimate, in the sketch's
    /// weight: n/k records or bytes/k bytes. Keys heavier than this are
    /// certainly tracked.
    public var errorBound: Int64 {
        guard slots > 0 else { return 0 }
        return (weight == .records ? total : totalBytes) / Int64(slots)
    }

    mutating func record(hash: UInt128, key: String, size: Int) {
        total += 1
        totalBytes += Int64(size)
        for i in entries.indices where entries[i].hashKey == hash {
            entries[i].records += 1
            entries[i].bytes += Int64(size)
            return
        }
        if entries.count < slots {
            entries.append(Entry(partitionKey: key, hashKey: hash, records: 1, bytes: Int64(size), error: 0))
            return
        }
        var min = 0
        switch weight {
        case .records:
            for i in entries.indices where entries[i].records < entries[min].records { min = i }
            let floor = entries[min].records
            entries[min] = Entry(partitionKey: key, hashKey: hash, records: floor + 1, bytes: Int64(size), error: floor)
        case .bytes:
            for i in entries.indices where entries[i].bytes < entries[min].bytes { min = i }
            let floor = entries[min].bytes
            entries[min] = Entry(partitionKey: key, hashKey: hash, records: 1, bytes: floor + Int64(size), error: floor)
        }
    }

    mutating func reset() {
        entries.removeAll(keepingCapacity: true)
        total = 0
        totalBytes = 0
    }

    /// A copy with its own storage (see `HashKeyHistogram.detached`).
    func detached() -> SpaceSaving {
        var copy = self
        copy.entries = entries.withUnsafeBufferPointer { Array($0) }
        return copy
    }

    /// Entries by estimated bytes, heaviest first (meaningful as a ranking
    /// with its error bound only for a bytes-weighted sketch).
    public var topByBytes: [Entry] { entries.sorted { $0.bytes > $1.bytes } }

    /// Entries by estimated records, heaviest first.
    public var top: [Entry] { entries.sorted { $0.records > $1.records } }
}

/// Per-shard key sketches for the current and the last complete second, so a
/// reader always has a full second to show.
struct KeyWindow: Sendable {
    var second: Int64 = .min
    var current = SpaceSaving()
    var previous = SpaceSaving()
    /// The same seconds weighed by bytes (added for Metrics' hot keys by bytes).
    var currentBytes = SpaceSaving(slots: 16, weight: .bytes)
    var previousBytes = SpaceSaving(slots: 16, weight: .bytes)
    var previousSecond: Int64 = .min

    mutating func record(hash: UInt128, key: String, size: Int, second now: Int64) {
        if now != second {
            if now == second + 1 {
                swap(&current, &previous); swap(&currentBytes, &previousBytes); previousSecond = second
            } else {
                previous.reset(); previousBytes.reset(); previousSecond = now - 1
            }
            current.reset()
            currentBytes.reset()
            second = now
        }
        current.record(hash: hash, key: key, size: size)
        currentBytes.record(hash: hash, key: key, size: size)
    }

    /// The bytes-weighted sketch of the last complete second before `now`.
    func lastCompleteByBytes(at now: Int64) -> SpaceSaving? {
        if second == now - 1 { return currentBytes.detached() }
        if second == now && previousSecond == now - 1 { return previousBytes.detached() }
        return nil
    }

    /// The sketch of the last complete second before `now`, if there was traffic in it.
    func lastComplete(at now: Int64) -> SpaceSaving? {
        if second == now - 1 { return current.detached() }
        if second == now && previousSecond == now - 1 { return previous.detached() }
        return nil
    }
}
