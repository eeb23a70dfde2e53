/// Where in its hash key range a shard's records land: a fixed number of
/// equal-width buckets over the shard's range, counting accepted records and
/// bytes since the shard was created (cumulative, like `ShardCounters`).
///
/// Metrics differences consecutive samples to get a window's histogram and
/// reads off the hash key that halves a shard's observed load — the
/// `NewStartingHashKey` of a SplitShard that balances the two children
/// (KINESIS.md §4: key k and higher go to one child, lower keys to the other).
///
/// Buckets are power-of-two wide so the put path finds one with a subtract
/// and a shift: O(1), no division, no allocation (storage is allocated once
/// when the shard is created). A shard uses between 65 and 128 buckets
/// (fewer only for ranges narrower than 128 keys).
public struct HashKeyHistogram: Sendable, Equatable {
    /// Upper bound on the number of buckets per shard.
    public static let maxBuckets = 128
    public let lowerBound: UInt128
    public let upperBound: UInt128
    /// Bucket i covers `lowerBound + i << shift … lowerBound + (i + 1) << shift − 1`,
    /// clipped to `upperBound`.
    public let shift: Int
    public private(set) var records: [Int64]
    public private(set) var bytes: [Int64]

    public init(range: ClosedRange<UInt128>) {
        lowerBound = range.lowerBound
        upperBound = range.upperBound
        let width = range.upperBound - range.lowerBound
        let bits = UInt128.bitWidth - width.leadingZeroBitCount
        shift = Swift.max(0, bits - 7) // (width >> shift) < 128
        let n = Int(truncatingIfNeeded: width >> UInt128(shift)) + 1
        records = [Int64](repeating: 0, count: n)
        bytes = [Int64](repeating: 0, count: n)
    }

    public var bucketCount: Int { records.count }

    /// Index of the bucket holding `hash` (which must lie in the range).
    @inline(__always)
    public func bucket(of hash: UInt128) -> Int {
        Int(truncatingIfNeeded: (hash &- lowerBound) >> UInt128(shift))
    }

    /// The hash keys of bucket `i`.
    public func range(ofBucket i: Int) -> ClosedRange<UInt128> {
        let lo = lowerBound + (UInt128(i) << UInt128(shift))
        let span = (UInt128(1) << UInt128(shift)) - 1
        let hi = upperBound - lo < span ? upperBound : lo + span
        return lo...hi
    }

    /// Counts one record of `size` bytes at `hash`, which must lie in the
    /// histogram's range (the put path routes it there; other callers check).
    @inline(__always)
    public mutating func record(hash: UInt128, size: Int) {
        let i = bucket(of: hash)
        guard i >= 0 && i < records.count else { return }
        records[i] &+= 1
        bytes[i] &+= Int64(size)
    }

    /// Adds another histogram's counts bucket by bucket; nothing when its range
    /// differs (its buckets would not line up). Attach settles a second's reads
    /// into a shard's cumulative histogram with it.
    public mutating func add(_ other: HashKeyHistogram) {
        guard other.lowerBound == lowerBound, other.upperBound == upperBound, other.shift == shift else { return }
        for i in records.indices {
            records[i] &+= other.records[i]
            bytes[i] &+= other.bytes[i]
        }
    }

    /// A copy with its own storage, made by readers under the shard lock so
    /// the writer's buffers stay uniquely referenced (no copy-on-write on the
    /// put path after a sample).
    func detached() -> HashKeyHistogram {
        var copy = self
        copy.records = records.withUnsafeBufferPointer { Array($0) }
        copy.bytes = bytes.withUnsafeBufferPointer { Array($0) }
        return copy
    }
}

/// JSON: `{"lowerBound": "0", "upperBound": "…", "shift": 121, "records": [n, …], "bytes": [n, …]}`,
/// the bounds as decimal strings. Decoding checks what the put path and Metrics rely on:
/// the shift and the bucket count are the ones ``init(range:)`` derives from the bounds,
/// and no count is negative.
extension HashKeyHistogram: Codable {
    enum CodingKeys: String, CodingKey { case lowerBound, upperBound, shift, records, bytes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let lower = try c.decodeHashKey(.lowerBound), upper = try c.decodeHashKey(.upperBound)
        guard lower <= upper else { throw c.corrupted(.upperBound, "must not be below lowerBound") }
        self.init(range: lower...upper)
        let shift = try c.decode(Int.self, forKey: .shift)
        guard shift == self.shift else {
            throw c.corrupted(.shift, "must be \(self.shift) for this range, got \(shift)")
        }
        for key in [CodingKeys.records, .bytes] {
            let counts = try c.decode([Int64].self, forKey: key)
            guard counts.count == bucketCount else {
                throw c.corrupted(key, "must hold \(bucketCount) buckets for this range, got \(counts.count)")
            }
            guard counts.allSatisfy({ $0 >= 0 }) else { throw c.corrupted(key, "must not hold a negative count") }
            if key == .records { records = counts } else { bytes = counts }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(String(lowerBound), forKey: .lowerBound)
        try c.encode(String(upperBound), forKey: .upperBound)
        try c.encode(shift, forKey: .shift)
        try c.encode(records, forKey: .records)
        try c.encode(bytes, forKey: .bytes)
    }
}
