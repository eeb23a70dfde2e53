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
        lo |= UInt128(seqIndex & 0xFFFF_FFFF_FFFF) << 80  // low 48 bits of seqIndex fit under bit 128
        var hi: UInt64 = seqIndex >> 48  // remaining 16 bits: bits 128–143
        hi |= UInt64(shardIndex & 0xF) << 16  // bits 144–147
        hi |= shardCreateSeconds << 20  // bits 148–183
        hi |= 2 << 56  // version: bits 184–187
        return (hi, lo)
    }

    public static func < (a: SequenceNumber, b: SequenceNumber) -> Bool {
        let x = a.limbs
        let y = b.limbs
        return x.hi != y.hi ? x.hi < y.hi : x.lo < y.lo
    }

    /// The 56-digit decimal string Kinesis puts on the wire.
    public var description: String {
        var text = SequenceNumberText()
        return text.string(self)
    }

    /// Parses a decimal sequence number; nil unless it is a well-formed v2
    /// number (188 bits, version nibble 2, trailing nibble 2).
    public init?(_ text: String) {
        guard Validator.matches(text, Validator.sequenceNumberPattern) else { return nil }
        var w: (UInt64, UInt64, UInt64) = (0, 0, 0)  // hi, mid, lo
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
        let hi = w.0
        let lo = UInt128(w.1) << 64 | UInt128(w.2)
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

/// Writes runs of sequence numbers as decimal strings, the way the put and
/// get paths meet them: consecutive records of one shard in the same second
/// differ only by `seqIndex + 1`, which is exactly `+ 2^80` of the 188-bit
/// value, so the next number's digits are the last one's plus a 25-digit
/// constant — a short decimal add instead of nine 128-by-64-bit divisions.
/// Any other number is converted in full. The output is the same as
/// `SequenceNumber.description` for every input.
public struct SequenceNumberText {
    private var last: SequenceNumber?
    /// 57 ASCII digits, most significant first, zero padded (188 bits < 10^57).
    private var digits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    public init() {}

    public mutating func string(_ s: SequenceNumber) -> String {
        withDigits(s) { text in
            String(unsafeUninitializedCapacity: text.count) { out in
                _ = out.initialize(from: text)
                return text.count
            }
        }
    }

    /// Calls `body` with the number's ASCII digits (no leading zeros), allocating nothing:
    /// what the wire encoders write straight into a response.
    public mutating func withDigits<R>(_ s: SequenceNumber, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    {
        if let l = last, s.seqIndex == l.seqIndex &+ 1, l.recordSeconds == s.recordSeconds,
            l.shardIndex == s.shardIndex,
            l.shardCreateSeconds == s.shardCreateSeconds, l.byte1 == s.byte1
        {
            addPow80()
        } else {
            fill(s)
        }
        last = s
        return try withUnsafeBytes(of: &digits) { raw in
            var first = 0
            while first < 56 && raw[first] == 48 { first += 1 }
            return try body(UnsafeRawBufferPointer(rebasing: raw[first..<57]))
        }
    }

    private mutating func addPow80() {
        // 2^80 = 1208925819614629174706176, least significant digit first.
        let add:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) = (6, 7, 1, 6, 0, 7, 4, 7, 1, 9, 2, 6, 4, 1, 6, 9, 1, 8, 5, 2, 9, 8, 0, 2, 1)
        withUnsafeBytes(of: add) { a in
            withUnsafeMutableBytes(of: &digits) { d in
                // ASCII digits: x runs from "0" (48) to 48 + 9 + 9 + 1; above "9" (57) it carries.
                var carry: UInt8 = 0
                for k in 0..<25 {
                    let x = d[56 - k] &+ a[k] &+ carry
                    carry = x > 57 ? 1 : 0
                    d[56 - k] = x &- carry &* 10
                }
                var j = 31
                while carry == 1 && j >= 0 {
                    if d[j] == 57 {
                        d[j] = 48
                        j -= 1
                    } else {
                        d[j] &+= 1
                        carry = 0
                    }
                }
            }
        }
    }

    private mutating func fill(_ s: SequenceNumber) {
        let (hi, lo) = s.limbs
        var w0 = hi
        var w1 = UInt64(truncatingIfNeeded: lo >> 64)
        var w2 = UInt64(truncatingIfNeeded: lo)
        let base: UInt64 = 10_000_000_000_000_000_000
        withUnsafeMutableBytes(of: &digits) { d in
            // Three chunks of 19 digits, from the right.
            var end = 57
            for _ in 0..<3 {
                let (q0, r0) = base.dividingFullWidth((high: 0, low: w0))
                let (q1, r1) = base.dividingFullWidth((high: r0, low: w1))
                let (q2, r2) = base.dividingFullWidth((high: r1, low: w2))
                w0 = q0
                w1 = q1
                w2 = q2
                var chunk = r2
                for _ in 0..<19 {
                    end -= 1
                    d[end] = UInt8(truncatingIfNeeded: 48 &+ chunk % 10)
                    chunk /= 10
                }
            }
        }
    }
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
        guard !tail.isEmpty, tail.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = Int(tail), v <= 2_147_483_647
        else {
            return nil
        }
        return v
    }
}
