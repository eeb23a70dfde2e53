/// The 128-bit hash key space every shard slices (KINESIS.md §4).
///
/// A record's hash key is MD5(partition key as UTF-8) read as a big-endian
/// unsigned 128-bit integer, unless the producer gives an ExplicitHashKey.
public enum HashKey {
    /// 2^128 − 1, the top of the space.
    public static let max = UInt128.max

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
/// security primitive. Hand-written so the put path needs no crypto package and
/// no heap allocation.
public enum MD5 {
    private static let s: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                      5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                                      4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                      6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    private static let k: [UInt32] = (0..<64).map { i in
        UInt32(truncatingIfNeeded: Int64((abs(sin(Double(i + 1))) * 4_294_967_296.0).rounded(.down)))
    }

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

    private static func state(_ msg: UnsafeRawBufferPointer) -> (UInt32, UInt32, UInt32, UInt32) {
        var a0: UInt32 = 0x6745_2301, b0: UInt32 = 0xefcd_ab89, c0: UInt32 = 0x98ba_dcfe, d0: UInt32 = 0x1032_5476
        let count = msg.count
        let fullBlocks = count / 64
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { m in
            func block(_ m: UnsafeMutableBufferPointer<UInt32>) {
                var a = a0, b = b0, c = c0, d = d0
                for i in 0..<64 {
                    var f: UInt32
                    let g: Int
                    switch i {
                    case 0..<16: f = (b & c) | (~b & d); g = i
                    case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) & 15
                    case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) & 15
                    default: f = c ^ (b | ~d); g = (7 * i) & 15
                    }
                    f = f &+ a &+ k[i] &+ m[g]
                    a = d; d = c; c = b
                    b = b &+ ((f << s[i]) | (f >> (32 - s[i])))
                }
                a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
            }
            func load(_ bytes: UnsafeRawBufferPointer, into m: UnsafeMutableBufferPointer<UInt32>) {
                for i in 0..<16 { m[i] = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) }
            }
            for blk in 0..<fullBlocks {
                load(UnsafeRawBufferPointer(rebasing: msg[(blk * 64)..<(blk * 64 + 64)]), into: m)
                block(m)
            }
            // Tail: remaining bytes, 0x80, zero pad, 64-bit little-endian bit length.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { tail in
                tail.initialize(repeating: 0)
                let rem = count - fullBlocks * 64
                for i in 0..<rem { tail[i] = msg[fullBlocks * 64 + i] }
                tail[rem] = 0x80
                let tailLen = rem + 1 + 8 <= 64 ? 64 : 128
                let bits = UInt64(count) &* 8
                for i in 0..<8 { tail[tailLen - 8 + i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i))) }
                let raw = UnsafeRawBufferPointer(tail)
                load(UnsafeRawBufferPointer(rebasing: raw[0..<64]), into: m); block(m)
                if tailLen == 128 { load(UnsafeRawBufferPointer(rebasing: raw[64..<128]), into: m); block(m) }
            }
            return (a0, b0, c0, d0)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
