import Foundation
import Testing

@testable import StreamEngine

/// The shapes carry the engine's sequence numbers unformatted (issue 16); everything a
/// caller can observe must be what the formatted string would give.
@Suite struct LazySequenceNumberTests {
    private func number(_ seqIndex: UInt64, shard: UInt32 = 3, seconds: UInt64 = 1_700_000_000) -> SequenceNumber {
        SequenceNumber(shardCreateSeconds: 1_690_000_000, shardIndex: shard, seqIndex: seqIndex, recordSeconds: seconds)
    }

    @Test func issuedAndTextFormsOfOneNumberAreOneValue() {
        for n in [number(0), number(1), number(SequenceNumber.endIndex), number(0xFFFF_FFFF_FFFF, shard: 0x7FFF_FFFF)] {
            let issued = LazySequenceNumber(n)
            let text = LazySequenceNumber(n.description)
            #expect(issued.description == n.description)
            #expect(issued == text && text == issued)
            #expect(issued.hashValue == text.hashValue)
            #expect(Set([issued, text]).count == 1)
            #expect(issued.issued == n && text.issued == nil)
        }
    }

    @Test func differentNumbersDifferInEitherForm() {
        let a = LazySequenceNumber(number(7))
        let b = LazySequenceNumber(number(8))
        #expect(a != b)
        #expect(a != LazySequenceNumber(number(8).description))
        #expect(LazySequenceNumber(number(7).description) != b)
        // Same digits but one more leading character is another text.
        #expect(a != LazySequenceNumber("0" + number(7).description))
        // A foreign number is any text, kept verbatim.
        let foreign = LazySequenceNumber("49590338271490256608559692538361571095921575989136588898")
        #expect(foreign.description == "49590338271490256608559692538361571095921575989136588898")
        #expect(foreign != a)
    }

    /// The encoders share one formatter across a reply: consecutive numbers take the +2^80 path,
    /// a jump of shard, second or counter takes the full conversion. Each must equal the string.
    @Test func digitsThroughASharedFormatterMatchTheString() {
        var formatter = SequenceNumberText()
        let run: [SequenceNumber] =
            (0..<5).map { number($0) } + [number(0xFFFF_FFFF_FFFF - 1), number(0xFFFF_FFFF_FFFF), number(1 << 48)]
            + [number(9, shard: 4), number(10, shard: 4), number(11, seconds: 1_700_000_001), number(12)]
            + [number(SequenceNumber.endIndex - 1), number(SequenceNumber.endIndex)]
        for n in run {
            let lazy = LazySequenceNumber(n)
            let written = lazy.withDigits(&formatter) { String(decoding: $0, as: UTF8.self) }
            #expect(written == n.description)
            #expect(written.count == 56)
        }
        var f = SequenceNumberText()
        let text = LazySequenceNumber("x\"y")
        #expect(text.withDigits(&f) { Array($0) } == Array("x\"y".utf8))
    }

    @Test func theShapesReadTheSameAsBefore() throws {
        let clock = ManualClock()
        let engine = KinesisEngine(clock: clock)
        let k = engine.service()
        _ = try k.createStream(CreateStreamInput(streamName: "s", shardCount: 1))
        clock.advance(by: .seconds(1))
        let put = try k.putRecords(
            PutRecordsInput(
                records: (0..<3).map { PutRecordsRequestEntry(data: Data([UInt8($0)]), partitionKey: "k\($0)") },
                streamName: "s"))
        let one = try k.putRecord(PutRecordInput(streamName: "s", data: Data([9]), partitionKey: "k"))
        let it = try k.getShardIterator(
            GetShardIteratorInput(streamName: "s", shardId: one.shardId, shardIteratorType: .trimHorizon))
        let got = try k.getRecords(GetRecordsInput(shardIterator: it.shardIterator)).records
        #expect(got.map(\.sequenceNumber) == put.records.compactMap(\.sequenceNumber) + [one.sequenceNumber])
        #expect(got.allSatisfy { $0.lazySequenceNumber.issued != nil && $0.sequenceNumber.count == 56 })
        // Strictly increasing as equal-length decimal strings, as Kinesis promises within a shard.
        #expect(zip(got, got.dropFirst()).allSatisfy { $0.sequenceNumber < $1.sequenceNumber })
        // Setting the text replaces the number; a failed entry has none.
        var r = got[0]
        r.sequenceNumber = "12"
        #expect(r.lazySequenceNumber == "12" && r.lazySequenceNumber.issued == nil)
        #expect(PutRecordsResultEntry(errorCode: "X").sequenceNumber == nil)
    }

    @Test func codableRoundTripKeepsTheText() throws {
        let n = number(42)
        let record = Record(
            sequenceNumber: LazySequenceNumber(n), approximateArrivalTimestamp: nil, data: Data([1]),
            partitionKey: "p", encryptionType: nil)
        let json = try JSONEncoder().encode(record)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["sequenceNumber"] as? String == n.description)
        let back = try JSONDecoder().decode(Record.self, from: json)
        #expect(back == record)
        #expect(back.lazySequenceNumber.issued == nil)  // decoded text stays text
        let entry = PutRecordsResultEntry(sequenceNumber: LazySequenceNumber(n), shardId: "shardId-000000000003")
        #expect(try JSONDecoder().decode(PutRecordsResultEntry.self, from: JSONEncoder().encode(entry)) == entry)
        let failed = PutRecordsResultEntry(errorCode: "ProvisionedThroughputExceededException", errorMessage: "m")
        let failedJSON = try JSONEncoder().encode(failed)
        #expect(!String(decoding: failedJSON, as: UTF8.self).contains("sequenceNumber"))
        #expect(try JSONDecoder().decode(PutRecordsResultEntry.self, from: failedJSON) == failed)
    }
}
