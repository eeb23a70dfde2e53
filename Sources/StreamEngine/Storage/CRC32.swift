/// CRC-32/ISO-HDLC (IEEE 802.3, reflected polynomial 0xEDB88320, init and
/// final XOR 0xFFFFFFFF): zlib's `crc32`, which the AWS event-stream framing
/// uses for its prelude and message checksums (KINESIS.md §1.7), and which
/// guards every entry of a `--data-dir` segment file.
///
/// Slicing-by-8: eight 256-entry tables let one step fold eight bytes, which is
/// what makes verifying a gigabyte of segments at start-up take seconds, not tens.
public enum CRC32 {
    /// Table k maps a byte to its CRC contribution k bytes further on; table 0 is the classic one.
    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 {
                let previous = t[(k - 1) * 256 + n]
                t[k * 256 + n] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()

    /// Continues a running checksum over `bytes`. Start with `0`; the value
    /// returned is the finished CRC of everything fed so far, exactly like
    /// `zlib.crc32(bytes, previous)`.
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes, continuing previous: UInt32 = 0) -> UInt32
    where Bytes.Element == UInt8 {
        let fast = bytes.withContiguousStorageIfAvailable { checksum(UnsafeRawBufferPointer($0), continuing: previous) }
        if let fast { return fast }
        return Array(bytes).withUnsafeBytes { checksum($0, continuing: previous) }
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        var crc = ~previous
        guard let base = bytes.baseAddress else { return previous }
        tables.withUnsafeBufferPointer { t in
            var i = 0
            let n = bytes.count
            while i + 8 <= n {
                let one = base.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian ^ crc
                let two = base.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self).littleEndian
                crc = t[7 * 256 + Int(one & 0xFF)] ^ t[6 * 256 + Int((one >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((one >> 16) & 0xFF)] ^ t[4 * 256 + Int(one >> 24)]
                    ^ t[3 * 256 + Int(two & 0xFF)] ^ t[2 * 256 + Int((two >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((two >> 16) & 0xFF)] ^ t[Int(two >> 24)]
                i += 8
            }
            while i < n {
                crc = t[Int((crc ^ UInt32(base.load(fromByteOffset: i, as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                i += 1
            }
        }
        return ~crc
    }
}
