import Foundation
import Testing

@testable import KinesisAPI

/// The one-pass decoder the PutRecords reader uses against the strict decoder that reports Coral's reasons:
/// the same bytes for every text the strict one takes, nil for every text it refuses.
@Suite struct Base64Tests {
    private func strict(_ text: [UInt8]) -> Data? {
        text.withUnsafeBytes { raw in
            if case .success(let data) = Base64.decode(raw) { return data }
            return nil
        }
    }

    private func onePass(_ text: [UInt8]) -> Data? { text.withUnsafeBytes { Base64.decodeIfValid($0) } }

    @Test func everyEncodingDecodesToItsBytes() {
        var random = UInt64(3)
        for length in 0...64 {
            let bytes = (0..<length).map { _ -> UInt8 in
                random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: random >> 56)
            }
            var text: [UInt8] = []
            Base64.encode(Data(bytes), into: &text)
            #expect(onePass(text) == Data(bytes), "\(length) bytes")
            #expect(strict(text) == Data(bytes))
        }
    }

    @Test func itRefusesWhatTheStrictDecoderRefuses() {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        // Mostly alphabet and padding, with what must be refused: '-', '_', space, quote, backslash, NUL, 0xFF.
        let pool = alphabet + Array("====AQgw-_ \"\\".utf8) + [0, 0xFF]
        var random = UInt64(11)
        func roll(_ n: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(n))
        }
        var accepted = 0
        for _ in 0..<100_000 {
            let length = roll(4) == 0 ? roll(14) : 4 * (1 + roll(3))
            // Texts ending in padding often, where the canonical-bits rule bites.
            var text = (0..<length).map { _ in pool[roll(pool.count)] }
            if length >= 4, roll(2) == 0 { text[length - 1] = UInt8(ascii: "=") }
            if length >= 4, roll(3) == 0 { text[length - 2] = UInt8(ascii: "=") }
            let expected = strict(text)
            #expect(onePass(text) == expected, "\(String(decoding: text, as: UTF8.self))")
            if expected != nil { accepted += 1 }
        }
        // Both sides of the comparison are exercised.
        #expect(accepted > 5_000 && accepted < 95_000)
        for text in ["", "====", "A===", "AA=A", "AB==", "AAB=", "AA==AA==", "AAAA", "AA==", "AAA="] {
            #expect(onePass(Array(text.utf8)) == strict(Array(text.utf8)), "\(text)")
        }
    }
}
