import Foundation
import Testing

@testable import StreamEngine

/// Hash ranges, MD5 routing and sequence numbers (KINESIS.md §4–§5).
@Suite struct TopologyTests {
    /// CreateStream's ranges, as AWS returns them (N=3 from kinesalite's live-AWS test).
    @Test(arguments: [
        (1, [("0", maxHash)]),
        (2, [("0", "170141183460469231731687303715884105727"), ("170141183460469231731687303715884105728", maxHash)]),
        (
            3,
            [
                ("0", "113427455640312821154458202477256070484"),
                ("113427455640312821154458202477256070485", "226854911280625642308916404954512140969"),
                ("226854911280625642308916404954512140970", maxHash),
            ]
        ),
        (
            4,
            [
                ("0", "85070591730234615865843651857942052863"),
                ("85070591730234615865843651857942052864", "170141183460469231731687303715884105727"),
                ("170141183460469231731687303715884105728", "255211775190703847597530955573826158591"),
                ("255211775190703847597530955573826158592", maxHash),
            ]
        ),
    ])
    func createStreamHashRanges(n: Int, ranges: [(String, String)]) throws {
        let h = Harness()
        try h.stream(shards: n)
        let shards = try h.k.describeStream(DescribeStreamInput(streamName: "s")).streamDescription.shards
        #expect(shards.map(\.shardId) == (0..<n).map(ShardID.string))
        #expect(shards.map(\.hashKeyRange.startingHashKey) == ranges.map(\.0))
        #expect(shards.map(\.hashKeyRange.endingHashKey) == ranges.map(\.1))
        #expect(shards.allSatisfy { $0.parentShardId == nil && $0.adjacentParentShardId == nil && $0.isOpen })
        // ListShards agrees, and UpdateShardCount to n from elsewhere lands on the same boundaries.
        #expect(try h.k.listShards(ListShardsInput(streamName: "s")).shards == shards)
        try h.stream("u", shards: n == 1 ? 2 : n - 1)
        _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "u", targetShardCount: n))
        h.advance(.seconds(1))
        let scaled = try h.listAllShards("u", filter: ShardFilter(type: .atLatest)).sorted { $0.start < $1.start }
        #expect(scaled.map(\.hashKeyRange.startingHashKey) == ranges.map(\.0))
        #expect(scaled.map(\.hashKeyRange.endingHashKey) == ranges.map(\.1))
    }

    @Test(arguments: [
        ("a", "16955237001963240173058271559858726497"),
        ("123", "42767516990368493138776584305024125808"),
        ("partitionKey-0", "283893945402358862714065952676399797471"),
        ("", "281949768489412648962353822266799178366"),  // MD5 of nothing: d41d8cd9…
    ])
    func md5Routing(key: String, hash: String) throws {
        #expect(String(HashKey.of(partitionKey: key)) == hash)
        // Routing by the key equals routing by its hash as an ExplicitHashKey, on 8 shards.
        let h = Harness()
        try h.stream(shards: 8)
        guard !key.isEmpty else { return }
        let byKey = try h.put(key: key)
        let byHash = try h.put(key: "other", hash: hash)
        #expect(byKey.shardId == byHash.shardId)
        let expected = Int(UInt128(hash)! / (UInt128(1) << 125))
        #expect(byKey.shardId == ShardID.string(expected))
    }

    @Test func md5OfMultiBlockAndUnicodeKeys() {
        // Known digests (RFC 1321 test suite and a UTF-8 key), read big-endian.
        #expect(String(HashKey.of(partitionKey: "abc"), radix: 16) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(
            String(
                HashKey.of(
                    partitionKey: "12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
                radix: 16)
                == "57edf4a22be3c955ac49da2e2107b67a")
        #expect(String(HashKey.of(partitionKey: "é"), radix: 16) == "66ddcd97cfdeabb2f6fb8a999b4bc76f")
        // 55 and 56 bytes straddle the padding boundary.
        #expect(
            String(HashKey.of(partitionKey: String(repeating: "a", count: 55)), radix: 16)
                == "ef1772b6dff9a122358552954ad0df65")
        #expect(
            String(HashKey.of(partitionKey: String(repeating: "a", count: 56)), radix: 16)
                == "3b0c8ac703f828b04c6c197006d17218")
    }

    @Test func sequenceNumberFormat() throws {
        let h = Harness()
        try h.stream(shards: 4)
        let created = UInt64(h.now.secondsSinceEpoch)
        h.advance(.seconds(3))
        let puts = try (0..<3).map { _ throws(KinesisError) in
            try h.put(hash: "255211775190703847597530955573826158592")
        }
        for (i, p) in puts.enumerated() {
            #expect(p.shardId == "shardId-000000000003")
            #expect(p.sequenceNumber.count == 56)
            #expect(p.sequenceNumber.allSatisfy { $0.isNumber })
            let seq = try #require(SequenceNumber(p.sequenceNumber))
            #expect(seq.shardIndex == 3)
            #expect(seq.shardId == "shardId-000000000003")
            #expect(seq.seqIndex == UInt64(i + 1))
            #expect(seq.shardCreateSeconds == created)
            #expect(seq.recordSeconds == created + 3)
            #expect(seq.description == p.sequenceNumber)
            // Version 2 in bits 184–187 and the shard index in bits 4–35, as the KCL reads them.
            let value = try #require(Self.decimalToBits(p.sequenceNumber))
            #expect(value.count == 186)
            #expect(Self.bits(value, 184..<188) == 2)
            #expect(Self.bits(value, 4..<36) == 3)
        }
        #expect(puts[0].sequenceNumber < puts[1].sequenceNumber && puts[1].sequenceNumber < puts[2].sequenceNumber)

        // StartingSequenceNumbers: seqIndex 0 at the create second; shards created in the same
        // second differ by exactly 22300745198530623141535718272648361505980432 (2^144 + 16).
        let starts = try h.k.describeStream(DescribeStreamInput(streamName: "s")).streamDescription.shards
            .map(\.sequenceNumberRange.startingSequenceNumber)
        for (a, b) in zip(starts, starts.dropFirst()) {
            #expect(Self.subtract(b, a) == "22300745198530623141535718272648361505980432")
        }
        let first = try #require(SequenceNumber(starts[0]))
        #expect(first.seqIndex == 0 && first.recordSeconds == created && first.shardCreateSeconds == created)
    }

    @Test func sequenceNumberRoundTripAndRejects() {
        let s = SequenceNumber(
            shardCreateSeconds: 1_421_279_230, shardIndex: 0, seqIndex: 469, recordSeconds: 1_421_279_386)
        // The AWS example of KINESIS.md §5 decodes to exactly these fields.
        #expect(s.description == "49546986683135544286507457936321625675700192471156785154")
        #expect(SequenceNumber("49546986683135544286507457936321625675700192471156785154") == s)
        for bad in ["", "0", "01", "12x", "21269319989900637946712965403778482371", String(repeating: "9", count: 57)] {
            #expect(SequenceNumber(bad) == nil, "\(bad)")
        }
    }

    @Test func closedShardGetsAnEndingSequenceNumber() throws {
        let h = Harness()
        try h.stream()
        let last = try h.put().sequenceNumber
        h.advance(.seconds(2))
        _ = try h.k.splitShard(
            SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        let shards = try h.describeAllShards()
        let parent = shards[0]
        let end = try #require(parent.sequenceNumberRange.endingSequenceNumber)
        #expect(end.count == 56)
        #expect(SequenceNumber(end)!.shardIndex == 0)
        #expect(last < end)
        // Children start at their own create time, with their own index.
        for child in shards.dropFirst() {
            let start = try #require(SequenceNumber(child.sequenceNumberRange.startingSequenceNumber))
            #expect(start.shardId == child.shardId && start.seqIndex == 0)
            #expect(child.sequenceNumberRange.endingSequenceNumber == nil)
        }
    }

    // MARK: helpers

    /// Bits of a decimal string, least significant first.
    static func decimalToBits(_ s: String) -> [Bool]? {
        var digits = s.compactMap { $0.wholeNumberValue }
        guard digits.count == s.count else { return nil }
        var bits: [Bool] = []
        while !digits.isEmpty {
            var rem = 0
            var next: [Int] = []
            for d in digits {
                let cur = rem * 10 + d
                if !(next.isEmpty && cur / 2 == 0) { next.append(cur / 2) }
                rem = cur % 2
            }
            bits.append(rem == 1)
            digits = next
        }
        return bits
    }

    static func bits(_ b: [Bool], _ r: Range<Int>) -> UInt64 {
        r.reversed().reduce(0) { $0 << 1 | ($1 < b.count && b[$1] ? 1 : 0) }
    }

    /// a − b for decimal strings with a ≥ b.
    static func subtract(_ a: String, _ b: String) -> String {
        var x = Array(a.reversed()).map { $0.wholeNumberValue! }
        let y = Array(b.reversed()).map { $0.wholeNumberValue! }
        var borrow = 0
        for i in x.indices {
            var d = x[i] - borrow - (i < y.count ? y[i] : 0)
            borrow = d < 0 ? 1 : 0
            if d < 0 { d += 10 }
            x[i] = d
        }
        while x.count > 1 && x.last == 0 { x.removeLast() }
        return String(x.reversed().map { Character(String($0)) })
    }
}
