/// CRC-32/ISO-HDLC (IEEE 802.3, reflected polynomial 0xEDB88320, init and
/// final XOR 0xFFFFFFFF): zlib's `crc32`, which the AWS event-stream framing
/// uses for its prelude and message checksums (KINESIS.md §1.7), and which
/// guards every entry of a `--data-dir` segment file.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Continues a running checksum over `bytes`. Start with `0`; the value
    /// returned is the finished CRC of everything fed so far, exactly like
    /// `zlib.crc32(bytes, previous)`.
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes, continuing previous: UInt32 = 0) -> UInt32
    where Bytes.Element == UInt8 {
        if let fast = bytes.withContiguousStorageIfAvailable({
            checksum(UnsafeRawBufferPointer($0), continuing: previous)
        }) {
            return fast
        }
        return Array(bytes).withUnsafeBytes { checksum($0, continuing: previous) }
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        var crc = ~previous
        table.withUnsafeBufferPointer { t in
            for byte in bytes { crc = t[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return ~crc
    }
}
