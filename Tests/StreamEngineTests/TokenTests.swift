import Foundation
import Testing

@testable import StreamEngine

/// Shard iterators and pagination tokens carry an HMAC-SHA256 under the
/// engine's secret key: any edit, or a token from another engine, is refused.
@Suite struct TokenTests {
    static let key = (0..<32).map { UInt8($0) }
    static let iterator = ShardIteratorToken(
        issuedAtMillis: 1_764_000_000_000, incarnation: 7, shardIndex: 3, position: 42,
        account: "123456789012", region: "us-east-1", stream: "s")

    @Test func roundTrip() {
        #expect(ShardIteratorToken.decode(Self.iterator.encode(key: Self.key), key: Self.key) == Self.iterator)
        let page = PageToken(kind: .listShards, issuedAtMillis: 5, stream: "s", incarnation: 1, after: "3")
        #expect(PageToken.decode(page.encode(key: Self.key), key: Self.key) == page)
    }

    /// kinesalite's `assertShardIterator` (run against live Kinesis): at least 152 bytes, then whole 16-byte
    /// blocks, beginning 00…01; the longest names still fit the 512-character limit on the wire.
    @Test(arguments: [0, 1, 3, 4, 5, 19, 20, 21, 36, 128])
    func iteratorsHaveAWSsShape(streamNameLength: Int) throws {
        var token = Self.iterator
        token.stream = String(repeating: "s", count: streamNameLength)
        token.region = "ap-southeast-2"
        let text = token.encode(key: Self.key)
        let bytes = try #require(Data(base64Encoded: text))
        #expect(bytes.count >= 152)
        #expect((bytes.count - 152) % 16 == 0)
        // Header 8, four integers 32, three length bytes, account 12, region 14, the name, MAC 32: the padding
        // is the least that reaches the shape.
        let unpadded = 8 + 32 + 3 + 12 + 14 + streamNameLength + 32
        #expect(bytes.count == (unpadded <= 152 ? 152 : 152 + (unpadded - 152 + 15) / 16 * 16))
        #expect(Array(bytes.prefix(8)) == [0, 0, 0, 0, 0, 0, 0, 1])
        #expect(text.count <= 512)
        #expect(ShardIteratorToken.decode(text, key: Self.key) == token)
    }

    @Test func everySingleBitFlipIsRefused() throws {
        let bytes = [UInt8](try #require(Data(base64Encoded: Self.iterator.encode(key: Self.key))))
        for i in bytes.indices {
            for bit in 0..<8 {
                var forged = bytes
                forged[i] ^= 1 << bit
                #expect(ShardIteratorToken.decode(Data(forged).base64EncodedString(), key: Self.key) == nil)
            }
        }
    }

    @Test func anotherKeyOrATruncatedTokenIsRefused() {
        let other = Self.key.map { $0 ^ 1 }
        let text = Self.iterator.encode(key: Self.key)
        #expect(ShardIteratorToken.decode(text, key: other) == nil)
        let page = PageToken(kind: .listShards, issuedAtMillis: 5, after: "3").encode(key: Self.key)
        #expect(PageToken.decode(page, key: other) == nil)
        let raw = [UInt8](Data(base64Encoded: text)!)
        for cut in [1, 16, 31, 32, raw.count - 1] {
            #expect(ShardIteratorToken.decode(Data(raw.dropLast(cut)).base64EncodedString(), key: Self.key) == nil)
        }
        #expect(PageToken.decode("", key: Self.key) == nil)
        #expect(PageToken.decode("AAAA", key: Self.key) == nil)
    }

    @Test func constantTimeEqualityIsEquality() {
        #expect(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(!HMACSHA256.constantTimeEqual([UInt8](), [0]))
        #expect(HMACSHA256.constantTimeEqual([UInt8](), [UInt8]()))
    }
}
