/// A Kinesis sequence number in the current ("v2") format: a 188-bit integer
/// written as 56 decimal digits (KINESIS.md §5).
///
/// Layout, most significant first, in hex digits:
/// `2 | shard create secs (9) | shard index low nibble (1) | seqIndex (16) |
///  byte1 (2) | record secs (9) | shard index (8) | 2`.
/// Version 2 in bits 184–187 and the shard index in bits 4–35 are what the KCL
/// checks; the rest follows kinesalite's reverse-engineering. Within one shard
/// the prefix is fixed, so `seqIndex` orders records and numbers compare
/// correctly both as integers and as equal-length decimal strings.
public struct SequenceNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var shardCreateSeconds: UInt64
    public var shardIndex: UInt32
    /// Per-shard counter. 0 is the shard's StartingSequenceNumber; the n-th
    /// record (0-based) gets n + 1; `Int64.max` marks the EndingSequenceNumber.
    public var seqIndex: UInt64
    public var byte1: UInt8 = 0
    public var recordSeconds: UInt64

    public static let endIndex = UInt64(Int64.max)

    public init(shardCreateSeconds: UInt64, shardIndex: UInt32, seqIndex: UInt64, recordSeconds: UInt64) {
        self.shardCreateSeconds = shardCreateSeconds & 0xF_FFFF_FFFF
        self.shardIndex = shardIndex
        self.seqIndex = seqIndex & 0x7FFF_FFFF_FFFF_FFFF
        self.recordSeconds = recordSeconds & 0xF_FFFF_FFFF
    }

    /// The 188-bit value as (bits 128–191, bits 0–127).
    var limbs: (hi: UInt64, lo: UInt128) {
        var lo: UInt128 = 2
        lo |= UInt128(shardIndex) << 4
        lo |= UInt128(recordSeconds) << 36
        lo |= UInt128(byte1) << 72
        lo |= UInt128(seqIndex & 0xFFFF_FFFF_FFFF) << 80 // low 48 bits of seqIndex fit under bit 128
        var hi: UInt64 = seqIndex >> 48 // remaining 16 bits: bits 128–143
        hi |= UInt64(shardIndex & 0xF) << 16 // bits 144–147
        hi |= shardCreateSeconds << 20 // bits 148–183
        hi |= 2 << 56 // version: bits 184–187
        return (hi, lo)
    }

    public static func < (a: SequenceNumber, b: SequenceNumber) -> Bool {
        let x = a.limbs, y = b.limbs
        return x.hi != y.hi ? x.hi < y.hi : x.lo < y.lo
    }

    /// The 56-digit decimal string Kinesis puts on the wire. Written digit by
    /// digit into the string's own buffer: this runs once per record returned.
    public var description: String {
        let (hi, lo) = limbs
        var w0 = hi, w1 = UInt64(truncatingIfNeeded: lo >> 64), w2 = UInt64(truncatingIfNeeded: lo)
        // 188 bits < 10^57: at most 57 digits, produced 19 at a time from the right.
        return String(unsafeUninitializedCapacity: 57) { buf in
            var end = 57
            let base: UInt64 = 10_000_000_000_000_000_000
            while w0 != 0 || w1 != 0 || w2 != 0 {
                let (q0, r0) = base.dividingFullWidth((high: 0, low: w0))
                let (q1, r1) = base.dividingFullWidth((high: r0, low: w1))
                let (q2, r2) = base.dividingFullWidth((high: r1, low: w2))
                w0 = q0; w1 = q1; w2 = q2
                var chunk = r2
                let last = w0 == 0 && w1 == 0 && w2 == 0
                var digits = 0
                while digits < 19 && (!last || chunk != 0) {
                    end -= 1
                    buf[end] = UInt8(48 + chunk % 10)
                    chunk /= 10
                    digits += 1
                }
            }
            if end == 57 { end -= 1; buf[end] = 48 }
            let n = 57 - end
            if end > 0 { for i in 0..<n { buf[i] = buf[end + i] } }
            return n
        }
    }

    /// Parses a decimal sequence number; nil unless it is a well-formed v2
    /// number (188 bits, version nibble 2, trailing nibble 2).
    public init?(_ text: String) {
        guard Validator.matches(text, Validator.sequenceNumberPattern) else { return nil }
        var w: (UInt64, UInt64, UInt64) = (0, 0, 0) // hi, mid, lo
        for c in text.utf8 {
            let d = UInt64(c - 48)
            let lo = w.2.multipliedFullWidth(by: 10)
            let (lo2, c1) = lo.low.addingReportingOverflow(d)
            let mid = w.1.multipliedFullWidth(by: 10)
            let (mid2, c2) = mid.low.addingReportingOverflow(lo.high &+ (c1 ? 1 : 0))
            let hi = w.0.multipliedFullWidth(by: 10)
            let (hi2, c3) = hi.low.addingReportingOverflow(mid.high &+ (c2 ? 1 : 0))
            if hi.high != 0 || c3 { return nil }
            w = (hi2, mid2, lo2)
        }
        let hi = w.0, lo = UInt128(w.1) << 64 | UInt128(w.2)
        guard hi >> 56 == 2, lo & 0xF == 2 else { return nil }
        shardIndex = UInt32(truncatingIfNeeded: lo >> 4)
        recordSeconds = UInt64(truncatingIfNeeded: lo >> 36) & 0xF_FFFF_FFFF
        byte1 = UInt8(truncatingIfNeeded: lo >> 72)
        seqIndex = (UInt64(truncatingIfNeeded: lo >> 80) & 0xFFFF_FFFF_FFFF) | ((hi & 0xFFFF) << 48)
        shardCreateSeconds = (hi >> 20) & 0xF_FFFF_FFFF
        guard UInt32((hi >> 16) & 0xF) == shardIndex & 0xF else { return nil }
        // The counter and the shard index are non-negative Java numbers: their top bits are 0.
        guard seqIndex >> 63 == 0, shardIndex >> 31 == 0 else { return nil }
    }

    /// `shardId-%012d` of the shard this number was issued by.
    public var shardId: String { ShardID.string(Int(shardIndex)) }
}

/// Shard ids as Kinesis writes and reads them (KINESIS.md §2.2).
public enum ShardID {
    /// `shardId-` followed by the index zero-padded to 12 digits.
    public static func string(_ index: Int) -> String {
        let digits = String(index)
        return "shardId-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits
    }

    /// Kinesis normalises `shardId-0`, `foo-1`, `7` to an index by reading the
    /// digits after the last `-`; nil when there are none or they overflow.
    public static func index(_ s: String) -> Int? {
        let tail = s.split(separator: "-", omittingEmptySubsequences: false).last.map(String.init) ?? s
        guard !tail.isEmpty, tail.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = Int(tail), v <= 2_147_483_647 else {
            return nil
        }
        return v
    }
}
