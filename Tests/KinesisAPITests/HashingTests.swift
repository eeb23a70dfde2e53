@testable import KinesisAPI
import StreamEngine
import Testing

@Suite("SHA-256, HMAC-SHA256 and CRC-32 against published vectors")
struct HashingTests {
    // FIPS 180-2 appendix B / NIST CAVP short-message examples.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256Vectors(message: String, digest: String) {
        #expect(SHA256.hash(Array(message.utf8)).hexString == digest)
    }

    @Test func sha256MillionAsFedInUnevenPieces() {
        var h = SHA256()
        var fed = 0
        var step = 1
        while fed < 1_000_000 {
            let n = min(step, 1_000_000 - fed)
            h.update([UInt8](repeating: UInt8(ascii: "a"), count: n))
            fed += n
            step = step % 97 + 13  // crosses block boundaries at varying offsets
        }
        #expect(h.finalize().hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func sha256PaddingBoundaries() {
        // 55, 56 and 64 bytes are where the length field does or does not fit the last block.
        // Expected digests produced with python3 hashlib.sha256(b"a" * n).hexdigest().
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 55)).hexString
            == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 56)).hexString
            == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 64)).hexString
            == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }

    // RFC 4231 test cases 1, 2 and 6 (key longer than the block size).
    @Test func hmacRFC4231() {
        #expect(HMACSHA256.authenticate(key: [UInt8](repeating: 0x0b, count: 20), message: "Hi There").hexString
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(HMACSHA256.authenticate(key: Array("Jefe".utf8), message: "what do ya want for nothing?").hexString
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(HMACSHA256.authenticate(key: [UInt8](repeating: 0xaa, count: 131),
                                        message: "Test Using Larger Than Block-Size Key - Hash Key First").hexString
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test func crc32CheckValueAndContinuation() {
        // 0xCBF43926 is the catalogued check value of CRC-32/ISO-HDLC for "123456789".
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        // Continuing equals zlib.crc32(b"56789", zlib.crc32(b"1234")).
        #expect(CRC32.checksum(Array("56789".utf8), continuing: CRC32.checksum(Array("1234".utf8))) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }
}
