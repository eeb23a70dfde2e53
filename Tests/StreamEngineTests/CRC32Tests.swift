import Testing
@testable import StreamEngine

/// The slicing-by-8 CRC against a bit-at-a-time reference at every length and alignment,
/// and against values zlib computes.
@Suite struct CRC32Tests {
    /// The definition, one bit at a time: slow and obviously right.
    func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    @Test func everyLengthAndAlignmentMatchesTheBitwiseDefinition() {
        let data = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for offset in 0..<9 {
            for length in 0...(data.count - offset - 1) where length < 40 || length % 17 == 0 {
                let slice = Array(data[offset..<(offset + length)])
                let fast = data.withUnsafeBytes {
                    CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + length)]))
                }
                #expect(fast == reference(slice), "offset \(offset) length \(length)")
            }
        }
    }

    @Test func zlibValues() {
        // python3 -c "import zlib; print(hex(zlib.crc32(bytes(range(256))*5)))"
        #expect(CRC32.checksum(Array((0..<1280).map { UInt8($0 % 256) })) == 0x1E7A_6D24)
        #expect(CRC32.checksum(Array((0..<1001).map { UInt8(($0 * 7 + 3) % 256) })) == 0xB113_3F7E)
    }
}
