import Foundation

/// What a shard iterator points at. Kinesis iterators are opaque base64
/// strings that begin `AAAAAAAAAA…` (eight bytes 00…01) and expire 5 minutes
/// after they are issued; ours carry the position in the clear plus an
/// HMAC-SHA256 under the engine's secret key, so that any edit makes them
/// `Invalid ShardIterator.` Zero padding before the MAC gives them the length
/// AWS's have (at least 152 bytes, then whole 16-byte cipher blocks: kinesalite's
/// suite, run against live Kinesis, asserts both), so a test that checks the
/// shape of an iterator passes here too.
struct ShardIteratorToken: Equatable {
    var issuedAtMillis: Int64
    var incarnation: UInt64
    var shardIndex: Int
    /// Next position to read in the shard (0-based since shard creation).
    var position: Int64
    var account: String
    var region: String
    var stream: String

    private static let header: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1]
    /// AWS's shortest iterator in bytes; longer ones grow by whole 16-byte blocks.
    static let minimumByteCount = 152

    func encode(key: [UInt8]) -> String {
        var b = Self.header
        b.reserveCapacity(96 + stream.utf8.count)
        b.appendBigEndian(UInt64(bitPattern: issuedAtMillis))
        b.appendBigEndian(incarnation)
        b.appendBigEndian(UInt64(shardIndex))
        b.appendBigEndian(UInt64(bitPattern: position))
        for s in [account, region, stream] {
            let u = Array(s.utf8.prefix(255))
            b.append(UInt8(u.count))
            b.append(contentsOf: u)
        }
        let unpadded = b.count + HMACSHA256.byteCount
        let total = max(Self.minimumByteCount, unpadded + (16 - (unpadded - Self.minimumByteCount) % 16) % 16)
        b.append(contentsOf: repeatElement(0, count: total - unpadded))
        b.append(contentsOf: HMACSHA256.authenticate(key: key, message: b))
        return Data(b).base64EncodedString()
    }

    static func decode(_ s: String, key: [UInt8]) -> ShardIteratorToken? {
        let mac = HMACSHA256.byteCount
        guard let data = Data(base64Encoded: s), data.count > 8 + 32 + 3 + mac else { return nil }
        let b = [UInt8](data)
        let body = b[..<(b.count - mac)]
        guard HMACSHA256.constantTimeEqual(b[(b.count - mac)...], HMACSHA256.authenticate(key: key, message: body)),
            Array(body[..<8]) == header
        else { return nil }
        var r = ByteReader(bytes: Array(body), offset: 8)
        guard let issued = r.uint64(), let inc = r.uint64(), let shard = r.uint64(), let pos = r.uint64(),
            let account = r.string(), let region = r.string(), let stream = r.string(), shard <= UInt64(Int32.max)
        else { return nil }
        return ShardIteratorToken(
            issuedAtMillis: Int64(bitPattern: issued), incarnation: inc, shardIndex: Int(shard),
            position: Int64(bitPattern: pos), account: account, region: region, stream: stream)
    }
}

/// Pagination tokens (ListShards, ListStreamConsumers, ListStreams): a JSON
/// payload with its issue time and an HMAC-SHA256, base64-encoded. Kinesis
/// expires ListShards/ListStreamConsumers tokens after 300 s.
struct PageToken: Codable, Equatable {
    /// The listing the token continues: a token of another listing is refused.
    var kind: KinesisOperation
    var issuedAtMillis: Int64
    var stream: String?
    var incarnation: UInt64?
    /// Resume after this key (shard index, consumer name or stream name).
    var after: String
    var filterType: String?
    var filterShardId: String?
    var filterTimestampMillis: Int64?

    func encode(key: [UInt8]) -> String {
        let json = (try? JSONEncoder().encode(self)) ?? Data()
        let body = [UInt8](json)
        return Data(body + HMACSHA256.authenticate(key: key, message: body)).base64EncodedString()
    }

    static func decode(_ s: String, key: [UInt8]) -> PageToken? {
        let mac = HMACSHA256.byteCount
        guard let data = Data(base64Encoded: s), data.count > mac else { return nil }
        let b = [UInt8](data)
        let body = b[..<(b.count - mac)]
        guard HMACSHA256.constantTimeEqual(b[(b.count - mac)...], HMACSHA256.authenticate(key: key, message: body))
        else {
            return nil
        }
        return try? JSONDecoder().decode(PageToken.self, from: Data(body))
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var offset: Int

    mutating func uint64() -> UInt64? {
        guard offset + 8 <= bytes.count else { return nil }
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return v
    }

    mutating func string() -> String? {
        guard offset < bytes.count else { return nil }
        let n = Int(bytes[offset])
        offset += 1
        guard offset + n <= bytes.count else { return nil }
        defer { offset += n }
        return String(decoding: bytes[offset..<(offset + n)], as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian(_ v: UInt64) {
        for i in (0..<8).reversed() { append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
}

/// Stream and consumer ARNs as AWS forms them (KINESIS.md §2.2).
enum ARN {
    struct StreamRef {
        var region: String
        var account: String
        var stream: String
    }
    struct ConsumerRef {
        var region: String
        var account: String
        var stream: String
        var consumer: String
        var createdSeconds: Int64
    }

    /// `arn:aws:kinesis:<region>:<account>:stream/<name>`
    static func stream(_ arn: String) -> StreamRef? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "kinesis",
            parts[5].hasPrefix("stream/")
        else { return nil }
        let name = String(parts[5].dropFirst("stream/".count))
        guard !name.isEmpty, !name.contains("/") else { return nil }
        return StreamRef(region: String(parts[3]), account: String(parts[4]), stream: name)
    }

    /// `arn:aws:kinesis:<region>:<account>:stream/<name>/consumer/<consumer>:<epoch seconds>`
    static func consumer(_ arn: String) -> ConsumerRef? {
        let parts = arn.split(separator: ":", maxSplits: 6, omittingEmptySubsequences: false)
        guard parts.count == 7, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "kinesis",
            let created = Int64(parts[6])
        else { return nil }
        let path = parts[5].split(separator: "/", omittingEmptySubsequences: false)
        guard path.count == 4, path[0] == "stream", path[2] == "consumer", !path[1].isEmpty, !path[3].isEmpty else {
            return nil
        }
        return ConsumerRef(
            region: String(parts[3]), account: String(parts[4]), stream: String(path[1]),
            consumer: String(path[3]), createdSeconds: created)
    }
}
