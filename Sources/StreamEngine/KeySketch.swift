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
    public enum Weight: String, Sendable, Equatable, Codable { case records, bytes }

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
    // Struct-of-arrays, so the per-record scan reads 16 hashes and 16 weights
    // (6 cache lines) rather than 16 whole entries with their keys (16 lines).
    private var hashes: [UInt128] = []
    private var keys: [String] = []
    private var recordCounts: [Int64] = []
    private var byteCounts: [Int64] = []
    private var errors: [Int64] = []
    /// The tracked keys, in slot order.
    public var entries: [Entry] {
        hashes.indices.map {
            Entry(
                partitionKey: keys[$0], hashKey: hashes[$0], records: recordCounts[$0], bytes: byteCounts[$0],
                error: errors[$0])
        }
    }
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
        hashes.reserveCapacity(slots)
        keys.reserveCapacity(slots)
        recordCounts.reserveCapacity(slots)
        byteCounts.reserveCapacity(slots)
        errors.reserveCapacity(slots)
    }

    /// The guaranteed bound on any entry's overestimate, in the sketch's
    /// weight: n/k records or bytes/k bytes. Keys heavier than this are
    /// certainly tracked.
    public var errorBound: Int64 {
        guard slots > 0 else { return 0 }
        return (weight == .records ? total : totalBytes) / Int64(slots)
    }

    /// Counts one record of `size` bytes (data + partition key) under `key`, whose
    /// identity in the sketch is `hash`. Public for readers outside the engine
    /// (attach measures a remote stream's keys from the records it reads).
    public mutating func record(hash: UInt128, key: String, size: Int) {
        total += 1
        totalBytes += Int64(size)
        let size = Int64(size)
        // Find the key; else fill a free slot; else evict the lightest. One scan
        // over the hashes and the weights finds both the key and the lightest slot.
        let full = hashes.count >= slots
        let (found, min, minWeight) = hashes.withUnsafeBufferPointer { h in
            (weight == .records ? recordCounts : byteCounts).withUnsafeBufferPointer { w -> (Int, Int, Int64) in
                var min = 0
                var minWeight = Int64.max
                for i in 0..<h.count {
                    if h[i] == hash { return (i, 0, 0) }
                    if w[i] < minWeight {
                        minWeight = w[i]
                        min = i
                    }
                }
                return (-1, min, minWeight)
            }
        }
        if found >= 0 {
            recordCounts[found] += 1
            byteCounts[found] += size
            return
        }
        if !full {
            hashes.append(hash)
            keys.append(key)
            recordCounts.append(1)
            byteCounts.append(size)
            errors.append(0)
            return
        }
        hashes[min] = hash
        keys[min] = key
        errors[min] = minWeight
        switch weight {
        case .records:
            recordCounts[min] = minWeight + 1
            byteCounts[min] = size
        case .bytes:
            recordCounts[min] = 1
            byteCounts[min] = minWeight + size
        }
    }

    mutating func reset() {
        hashes.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        recordCounts.removeAll(keepingCapacity: true)
        byteCounts.removeAll(keepingCapacity: true)
        errors.removeAll(keepingCapacity: true)
        total = 0
        totalBytes = 0
    }

    /// A copy with its own storage (see `HashKeyHistogram.detached`).
    func detached() -> SpaceSaving {
        var copy = self
        copy.hashes = hashes.withUnsafeBufferPointer { Array($0) }
        copy.keys = keys.withUnsafeBufferPointer { Array($0) }
        copy.recordCounts = recordCounts.withUnsafeBufferPointer { Array($0) }
        copy.byteCounts = byteCounts.withUnsafeBufferPointer { Array($0) }
        copy.errors = errors.withUnsafeBufferPointer { Array($0) }
        return copy
    }

    /// Entries by estimated bytes, heaviest first (meaningful as a ranking
    /// with its error bound only for a bytes-weighted sketch).
    public var topByBytes: [Entry] { entries.sorted { $0.bytes > $1.bytes } }

    /// Entries by estimated records, heaviest first.
    public var top: [Entry] { entries.sorted { $0.records > $1.records } }
}

/// JSON: `{"slots": 16, "weight": "records", "total": n, "totalBytes": n, "entries": [{"partitionKey": "k",
/// "hashKey": "…", "records": n, "bytes": n, "error": n}, …]}`, entries in slot order, hash keys as
/// decimal strings. Decoding keeps the sketch's invariants: at most `slots` entries (and at most
/// ``maxDecodedSlots`` slots, so a remote cannot make a reader reserve memory it did not send), one
/// entry per hash key, every entry seen at least once, its error within its weight, and the entries'
/// records and bytes within the window's totals.
extension SpaceSaving: Codable {
    /// The most slots a decoded sketch may have (the engine's have 16).
    public static let maxDecodedSlots = 4096

    enum CodingKeys: String, CodingKey { case slots, weight, total, totalBytes, entries }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let slots = try c.decode(Int.self, forKey: .slots)
        guard (1...Self.maxDecodedSlots).contains(slots) else {
            throw c.corrupted(.slots, "must be 1…\(Self.maxDecodedSlots), got \(slots)")
        }
        self.init(slots: slots, weight: try c.decode(Weight.self, forKey: .weight))
        total = try c.decodeCount(.total)
        totalBytes = try c.decodeCount(.totalBytes)
        let entries = try c.decode([Entry].self, forKey: .entries)
        guard entries.count <= slots else {
            throw c.corrupted(.entries, "holds \(entries.count) entries for \(slots) slots")
        }
        guard !entries.hasDuplicate(by: \.hashKey) else { throw c.corrupted(.entries, "holds one hash key twice") }
        var records: Int64 = 0
        var bytes: Int64 = 0
        for e in entries {
            guard e.error <= (weight == .records ? e.records : e.bytes) else {
                throw c.corrupted(.entries, "holds an error above its entry's \(weight.rawValue)")
            }
            var overflow = false
            (records, overflow) = records.addingReportingOverflow(e.records)
            if overflow { throw c.corrupted(.entries, "hold more records than total") }
            (bytes, overflow) = bytes.addingReportingOverflow(e.bytes)
            if overflow { throw c.corrupted(.entries, "hold more bytes than totalBytes") }
            hashes.append(e.hashKey)
            keys.append(e.partitionKey)
            recordCounts.append(e.records)
            byteCounts.append(e.bytes)
            errors.append(e.error)
        }
        guard records <= total else { throw c.corrupted(.entries, "hold \(records) records, above total \(total)") }
        guard bytes <= totalBytes else {
            throw c.corrupted(.entries, "hold \(bytes) bytes, above totalBytes \(totalBytes)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(slots, forKey: .slots)
        try c.encode(weight, forKey: .weight)
        try c.encode(total, forKey: .total)
        try c.encode(totalBytes, forKey: .totalBytes)
        try c.encode(entries, forKey: .entries)
    }
}

extension SpaceSaving.Entry: Codable {
    enum CodingKeys: String, CodingKey { case partitionKey, hashKey, records, bytes, error }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        partitionKey = try c.decode(String.self, forKey: .partitionKey)
        hashKey = try c.decodeHashKey(.hashKey)
        records = try c.decodeCount(.records)
        guard records >= 1 else { throw c.corrupted(.records, "must be at least 1: an entry is a key seen") }
        bytes = try c.decodeCount(.bytes)
        error = try c.decodeCount(.error)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(partitionKey, forKey: .partitionKey)
        try c.encode(String(hashKey), forKey: .hashKey)
        try c.encode(records, forKey: .records)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(error, forKey: .error)
    }
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
                swap(&current, &previous)
                swap(&currentBytes, &previousBytes)
                previousSecond = second
            } else {
                previous.reset()
                previousBytes.reset()
                previousSecond = now - 1
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
