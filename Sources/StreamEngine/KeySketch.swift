/// The heaviest partition keys of one shard in one second, by the
/// Space-Saving algorithm (Metwally et al.) with a fixed number of slots.
///
/// Any key whose true count in the window exceeds n/k (n records, k slots) is
/// guaranteed to be present, and each reported count overestimates the true
/// count by at most the slot's `error` (≤ n/k). Update is O(k) over a few
/// 128-bit compares with no allocation, cheap enough for the put path.
public struct SpaceSaving: Sendable, Equatable {
    /// One tracked key. `records - error` is a lower bound on its true count.
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

    public init(slots: Int = 16) {
        self.slots = slots
        entries.reserveCapacity(slots)
    }

    mutating func record(hash: UInt128, key: String, size: Int) {
        total += 1
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
        for i in entries.indices where entries[i].records < entries[min].records { min = i }
        let floor = entries[min].records
        entries[min] = Entry(partitionKey: key, hashKey: hash, records: floor + 1, bytes: Int64(size), error: floor)
    }

    mutating func reset() {
        entries.removeAll(keepingCapacity: true)
        total = 0
    }

    /// Entries by estimated records, heaviest first.
    public var top: [Entry] { entries.sorted { $0.records > $1.records } }
}

/// Per-shard key sketches for the current and the last complete second, so a
/// reader always has a full second to show.
struct KeyWindow: Sendable {
    var second: Int64 = .min
    var current = SpaceSaving()
    var previous = SpaceSaving()
    var previousSecond: Int64 = .min

    mutating func record(hash: UInt128, key: String, size: Int, second now: Int64) {
        if now != second {
            if now == second + 1 { swap(&current, &previous); previousSecond = second } else { previous.reset(); previousSecond = now - 1 }
            current.reset()
            second = now
        }
        current.record(hash: hash, key: key, size: size)
    }

    /// The sketch of the last complete second before `now`, if there was traffic in it.
    func lastComplete(at now: Int64) -> SpaceSaving? {
        if second == now - 1 { return current }
        if second == now && previousSecond == now - 1 { return previous }
        return nil
    }
}
