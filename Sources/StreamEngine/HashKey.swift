/// The 128-bit hash key space every shard slices (KINESIS.md §4).
///
/// A record's hash key is MD5(partition key as UTF-8) read as a big-endian
/// unsigned 128-bit integer, unless the producer gives an ExplicitHashKey.
public enum HashKey {
    /// 2^128 − 1, the top of the space.
    public static let max = UInt128.max

    /// The share (0…1) of the whole key space, 2^128 keys, that `start...end` covers.
    public static func spaceShare(_ start: UInt128, _ end: UInt128) -> Double {
        (Double(end - start) + 1) / 0x1p128
    }

    /// MD5 of the partition key's UTF-8 bytes as a big-endian integer.
    /// Allocation-free for keys Swift stores contiguously (all native strings).
    @inlinable
    public static func of(partitionKey: String) -> UInt128 {
        var key = partitionKey
        return key.withUTF8 { MD5.hash128($0) }
    }

    /// Parses a decimal hash key as Kinesis accepts it (`0|([1-9]\d{0,38})`),
    /// returning nil when malformed or above 2^128 − 1.
    public static func parse(_ s: String) -> UInt128? {
        guard !s.isEmpty, s.utf8.count <= 39, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        if s.utf8.count > 1 && s.utf8.first == 48 { return nil }
        return UInt128(s)
    }

    /// The boundaries CreateStream and UpdateShardCount use for N even shards:
    /// step = floor(2^128 / N); shard i starts at i·step; the last shard ends at 2^128 − 1.
    public static func uniformRanges(count n: Int) -> [ClosedRange<UInt128>] {
        precondition(n >= 1)
        // One shard owns the whole space; its step, 2^128, does not fit in UInt128.
        if n == 1 { return [0...UInt128.max] }
        // floor(2^128 / n) computed without 2^128: (max / n) is floor((2^128-1)/n),
        // which is one less exactly when n divides 2^128 (a power of two).
        let nn = UInt128(n)
        var step = UInt128.max / nn
        if UInt128.max % nn == nn - 1 { step += 1 }
        return (0..<n).map { i in
            let start = UInt128(i) * step
            let end = i == n - 1 ? UInt128.max : UInt128(i + 1) * step - 1
            return start...end
        }
    }
}

/// MD5 (RFC 1321), only for partition-key routing: Kinesis's choice, not a
/// security primitive. Hand-written and fully unrolled so the put path needs no
/// crypto package and no heap allocation.
public enum MD5 {
    /// The 16-byte digest.
    public static func digest(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let (a, b, c, d) = state(bytes)
        var out = [UInt8]()
        out.reserveCapacity(16)
        for w in [a, b, c, d] { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: w >> (8 * UInt32(i)))) } }
        return out
    }

    public static func digest(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { digest($0) } }

    /// The digest read as a big-endian unsigned 128-bit integer.
    @usableFromInline
    static func hash128(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt128 {
        let (a, b, c, d) = state(UnsafeRawBufferPointer(bytes))
        // Digest bytes are the words in little-endian order; byte-swap each word
        // to read the 16 bytes as one big-endian number.
        return UInt128(a.byteSwapped) << 96 | UInt128(b.byteSwapped) << 64
            | UInt128(c.byteSwapped) << 32 | UInt128(d.byteSwapped)
    }

    @inline(__always)
    private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }

    private static func state(_ msg: UnsafeRawBufferPointer) -> (UInt32, UInt32, UInt32, UInt32) {
        var h = (UInt32(0x6745_2301), UInt32(0xefcd_ab89), UInt32(0x98ba_dcfe), UInt32(0x1032_5476))
        let count = msg.count
        let full = count / 64
        for blk in 0..<full {
            compress(&h, UnsafeRawBufferPointer(rebasing: msg[(blk * 64)..<(blk * 64 + 64)]))
        }
        // Tail: remaining bytes, 0x80, zero pad, 64-bit little-endian bit length.
        var tail: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                   UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &tail) { t in
            let rem = count - full * 64
            if rem > 0 { t.baseAddress!.copyMemory(from: msg.baseAddress! + full * 64, byteCount: rem) }
            t[rem] = 0x80
            let tailLength = rem + 9 <= 64 ? 64 : 128
            t.storeBytes(of: (UInt64(count) &* 8).littleEndian, toByteOffset: tailLength - 8, as: UInt64.self)
            compress(&h, UnsafeRawBufferPointer(rebasing: t[0..<64]))
            if tailLength == 128 { compress(&h, UnsafeRawBufferPointer(rebasing: t[64..<128])) }
        }
        return h
    }

    @inline(__always)
    private static func compress(_ h: inout (UInt32, UInt32, UInt32, UInt32), _ block: UnsafeRawBufferPointer) {
        func w(_ i: Int) -> UInt32 { UInt32(littleEndian: block.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) }
        let m0 = w(0), m1 = w(1), m2 = w(2), m3 = w(3), m4 = w(4), m5 = w(5), m6 = w(6), m7 = w(7)
        let m8 = w(8), m9 = w(9), m10 = w(10), m11 = w(11), m12 = w(12), m13 = w(13), m14 = w(14), m15 = w(15)
        var a = h.0, b = h.1, c = h.2, d = h.3
        a = b &+ rotl(a &+ ((b & c) | (~b & d)) &+ 0xd76aa478 &+ m0, 7)
        d = a &+ rotl(d &+ ((a & b) | (~a & c)) &+ 0xe8c7b756 &+ m1, 12)
        c = d &+ rotl(c &+ ((d & a) | (~d & b)) &+ 0x242070db &+ m2, 17)
        b = c &+ rotl(b &+ ((c & d) | (~c & a)) &+ 0xc1bdceee &+ m3, 22)
        a = b &+ rotl(a &+ ((b & c) | (~b & d)) &+ 0xf57c0faf &+ m4, 7)
        d = a &+ rotl(d &+ ((a & b) | (~a & c)) &+ 0x4787c62a &+ m5, 12)
        c = d &+ rotl(c &+ ((d & a) | (~d & b)) &+ 0xa8304613 &+ m6, 17)
        b = c &+ rotl(b &+ ((c & d) | (~c & a)) &+ 0xfd469501 &+ m7, 22)
        a = b &+ rotl(a &+ ((b & c) | (~b & d)) &+ 0x698098d8 &+ m8, 7)
        d = a &+ rotl(d &+ ((a & b) | (~a & c)) &+ 0x8b44f7af &+ m9, 12)
        c = d &+ rotl(c &+ ((d & a) | (~d & b)) &+ 0xffff5bb1 &+ m10, 17)
        b = c &+ rotl(b &+ ((c & d) | (~c & a)) &+ 0x895cd7be &+ m11, 22)
        a = b &+ rotl(a &+ ((b & c) | (~b & d)) &+ 0x6b901122 &+ m12, 7)
        d = a &+ rotl(d &+ ((a & b) | (~a & c)) &+ 0xfd987193 &+ m13, 12)
        c = d &+ rotl(c &+ ((d & a) | (~d & b)) &+ 0xa679438e &+ m14, 17)
        b = c &+ rotl(b &+ ((c & d) | (~c & a)) &+ 0x49b40821 &+ m15, 22)
        a = b &+ rotl(a &+ ((d & b) | (~d & c)) &+ 0xf61e2562 &+ m1, 5)
        d = a &+ rotl(d &+ ((c & a) | (~c & b)) &+ 0xc040b340 &+ m6, 9)
        c = d &+ rotl(c &+ ((b & d) | (~b & a)) &+ 0x265e5a51 &+ m11, 14)
        b = c &+ rotl(b &+ ((a & c) | (~a & d)) &+ 0xe9b6c7aa &+ m0, 20)
        a = b &+ rotl(a &+ ((d & b) | (~d & c)) &+ 0xd62f105d &+ m5, 5)
        d = a &+ rotl(d &+ ((c & a) | (~c & b)) &+ 0x02441453 &+ m10, 9)
        c = d &+ rotl(c &+ ((b & d) | (~b & a)) &+ 0xd8a1e681 &+ m15, 14)
        b = c &+ rotl(b &+ ((a & c) | (~a & d)) &+ 0xe7d3fbc8 &+ m4, 20)
        a = b &+ rotl(a &+ ((d & b) | (~d & c)) &+ 0x21e1cde6 &+ m9, 5)
        d = a &+ rotl(d &+ ((c & a) | (~c & b)) &+ 0xc33707d6 &+ m14, 9)
        c = d &+ rotl(c &+ ((b & d) | (~b & a)) &+ 0xf4d50d87 &+ m3, 14)
        b = c &+ rotl(b &+ ((a & c) | (~a & d)) &+ 0x455a14ed &+ m8, 20)
        a = b &+ rotl(a &+ ((d & b) | (~d & c)) &+ 0xa9e3e905 &+ m13, 5)
        d = a &+ rotl(d &+ ((c & a) | (~c & b)) &+ 0xfcefa3f8 &+ m2, 9)
        c = d &+ rotl(c &+ ((b & d) | (~b & a)) &+ 0x676f02d9 &+ m7, 14)
        b = c &+ rotl(b &+ ((a & c) | (~a & d)) &+ 0x8d2a4c8a &+ m12, 20)
        a = b &+ rotl(a &+ (b ^ c ^ d) &+ 0xfffa3942 &+ m5, 4)
        d = a &+ rotl(d &+ (a ^ b ^ c) &+ 0x8771f681 &+ m8, 11)
        c = d &+ rotl(c &+ (d ^ a ^ b) &+ 0x6d9d6122 &+ m11, 16)
        b = c &+ rotl(b &+ (c ^ d ^ a) &+ 0xfde5380c &+ m14, 23)
        a = b &+ rotl(a &+ (b ^ c ^ d) &+ 0xa4beea44 &+ m1, 4)
        d = a &+ rotl(d &+ (a ^ b ^ c) &+ 0x4bdecfa9 &+ m4, 11)
        c = d &+ rotl(c &+ (d ^ a ^ b) &+ 0xf6bb4b60 &+ m7, 16)
        b = c &+ rotl(b &+ (c ^ d ^ a) &+ 0xbebfbc70 &+ m10, 23)
        a = b &+ rotl(a &+ (b ^ c ^ d) &+ 0x289b7ec6 &+ m13, 4)
        d = a &+ rotl(d &+ (a ^ b ^ c) &+ 0xeaa127fa &+ m0, 11)
        c = d &+ rotl(c &+ (d ^ a ^ b) &+ 0xd4ef3085 &+ m3, 16)
        b = c &+ rotl(b &+ (c ^ d ^ a) &+ 0x04881d05 &+ m6, 23)
        a = b &+ rotl(a &+ (b ^ c ^ d) &+ 0xd9d4d039 &+ m9, 4)
        d = a &+ rotl(d &+ (a ^ b ^ c) &+ 0xe6db99e5 &+ m12, 11)
        c = d &+ rotl(c &+ (d ^ a ^ b) &+ 0x1fa27cf8 &+ m15, 16)
        b = c &+ rotl(b &+ (c ^ d ^ a) &+ 0xc4ac5665 &+ m2, 23)
        a = b &+ rotl(a &+ (c ^ (b | ~d)) &+ 0xf4292244 &+ m0, 6)
        d = a &+ rotl(d &+ (b ^ (a | ~c)) &+ 0x432aff97 &+ m7, 10)
        c = d &+ rotl(c &+ (a ^ (d | ~b)) &+ 0xab9423a7 &+ m14, 15)
        b = c &+ rotl(b &+ (d ^ (c | ~a)) &+ 0xfc93a039 &+ m5, 21)
        a = b &+ rotl(a &+ (c ^ (b | ~d)) &+ 0x655b59c3 &+ m12, 6)
        d = a &+ rotl(d &+ (b ^ (a | ~c)) &+ 0x8f0ccc92 &+ m3, 10)
        c = d &+ rotl(c &+ (a ^ (d | ~b)) &+ 0xffeff47d &+ m10, 15)
        b = c &+ rotl(b &+ (d ^ (c | ~a)) &+ 0x85845dd1 &+ m1, 21)
        a = b &+ rotl(a &+ (c ^ (b | ~d)) &+ 0x6fa87e4f &+ m8, 6)
        d = a &+ rotl(d &+ (b ^ (a | ~c)) &+ 0xfe2ce6e0 &+ m15, 10)
        c = d &+ rotl(c &+ (a ^ (d | ~b)) &+ 0xa3014314 &+ m6, 15)
        b = c &+ rotl(b &+ (d ^ (c | ~a)) &+ 0x4e0811a1 &+ m13, 21)
        a = b &+ rotl(a &+ (c ^ (b | ~d)) &+ 0xf7537e82 &+ m4, 6)
        d = a &+ rotl(d &+ (b ^ (a | ~c)) &+ 0xbd3af235 &+ m11, 10)
        c = d &+ rotl(c &+ (a ^ (d | ~b)) &+ 0x2ad7d2bb &+ m2, 15)
        b = c &+ rotl(b &+ (d ^ (c | ~a)) &+ 0xeb86d391 &+ m9, 21)
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
