import Foundation
import Testing

@testable import KinesisAPI
@testable import StreamEngine

private func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var i = s.startIndex
    while i < s.endIndex {
        let j = s.index(i, offsetBy: 2)
        out.append(UInt8(s[i..<j], radix: 16)!)
        i = j
    }
    return out
}

// The expected frames below were built offline with python3 (struct.pack for
// the fields, zlib.crc32 for both checksums) and then read back with botocore
// 1.43.11's botocore.eventstream.EventStreamBuffer, which accepted them and
// reported the same headers, payloads and CRCs.
private enum Frames {
    /// initial-response, payload `{}`; message CRC 0xd591c62b.
    static let initialResponse = hex(
        "00000068000000564e6817240b3a6576656e742d74797065070010696e697469616c2d726573706f6e73650d3a636f6e74656e742d74"
            + "7970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b7dd591c62b"
    )
    /// One header of every type 0–9, payload `hi`; message CRC 0x1d91fffc.
    static let everyHeaderType = hex(
        "0000006300000051a7dcb396017400016601016202ff017303012c01690400011170016c050000010000000000017906000301020303"
            + "737472070002c3a9027473080000018bcfe5687b01750900112233445566778899aabbccddeeff68691d91fffc"
    )
    /// exception frame, ResourceInUseException, payload `{"message":"replaced"}`.
    static let exception = hex(
        "0000008a00000064d4abd21b0f3a657863657074696f6e2d747970650700165265736f75726365496e557365457863657074696f6e0d"
            + "3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700096578"
                + "63657074696f6e7b226d657373616765223a227265706c61636564227d603413ff"
    )

    static let everyHeaderTypeMessage = EventStreamMessage(
        headers: [
            EventStreamHeader("t", .bool(true)), EventStreamHeader("f", .bool(false)),
            EventStreamHeader("b", .byte(-1)), EventStreamHeader("s", .short(300)),
            EventStreamHeader("i", .integer(70000)), EventStreamHeader("l", .long(1 << 40)),
            EventStreamHeader("y", .bytes([1, 2, 3])), EventStreamHeader("str", .string("é")),
            EventStreamHeader("ts", .timestamp(1_700_000_000_123)),
            EventStreamHeader("u", .uuid(UUID(uuidString: "00112233-4455-6677-8899-AABBCCDDEEFF")!)),
        ], payload: Array("hi".utf8))
}

@Suite("Event-stream framing (KINESIS.md §1.7)")
struct EventStreamTests {
    @Test func initialResponseMatchesBotocoreBytes() throws {
        #expect(try EventStreamEncoder.encode(KinesisEventStream.initialResponse()) == Frames.initialResponse)
    }

    @Test func everyHeaderTypeMatchesBotocoreBytes() throws {
        #expect(try EventStreamEncoder.encode(Frames.everyHeaderTypeMessage) == Frames.everyHeaderType)
    }

    @Test func exceptionFrameMatchesBotocoreBytes() throws {
        let message = KinesisEventStream.exception(KinesisError(.resourceInUse, "replaced"))
        #expect(try EventStreamEncoder.encode(message) == Frames.exception)
    }

    @Test func decodesByteByByte() throws {
        var decoder = EventStreamDecoder()
        var messages: [EventStreamMessage] = []
        for byte in Frames.initialResponse + Frames.everyHeaderType + Frames.exception {
            decoder.append([byte])
            while let m = try decoder.next() { messages.append(m) }
        }
        #expect(messages.count == 3)
        #expect(messages[0] == KinesisEventStream.initialResponse())
        #expect(messages[1] == Frames.everyHeaderTypeMessage)
        #expect(messages[2][header: ":exception-type"] == .string("ResourceInUseException"))
        #expect(messages[2][header: ":message-type"] == .string("exception"))
    }

    @Test func subscribeToShardEventRoundTrips() throws {
        let event = SubscribeToShardEvent(
            records: [
                Record(
                    sequenceNumber: "1", approximateArrivalTimestamp: Date(timeIntervalSince1970: 1_764_000_000.5),
                    data: Data([0, 255]), partitionKey: "k", encryptionType: nil)
            ],
            continuationSequenceNumber: "2", millisBehindLatest: 0, childShards: nil)
        var decoder = EventStreamDecoder()
        decoder.append(try EventStreamEncoder.encode(try KinesisEventStream.event(event)))
        let message = try #require(try decoder.next())
        #expect(message[header: ":event-type"] == .string("SubscribeToShardEvent"))
        #expect(message[header: ":content-type"] == .string("application/json"))
        #expect(
            String(decoding: message.payload, as: UTF8.self)
                == #"{"Records":[{"SequenceNumber":"1","ApproximateArrivalTimestamp":1764000000.500,"Data":"AP8=","Pa"#
                    + #"rtitionKey":"k"}],"ContinuationSequenceNumber":"2","MillisBehindLatest":0}"#
        )
        #expect(try KinesisJSON.decode(SubscribeToShardEvent.self, from: message.payload) == event)
        #expect(try decoder.next() == nil)
    }

    @Test func corruptedChecksumsAreRejected() {
        var prelude = Frames.initialResponse
        prelude[3] ^= 1
        var decoder = EventStreamDecoder()
        decoder.append(prelude)
        #expect(throws: EventStreamError.self) { try decoder.next() }

        var payload = Frames.initialResponse
        payload[payload.count - 6] ^= 1
        var second = EventStreamDecoder()
        second.append(payload)
        #expect(
            throws: EventStreamError.messageChecksumMismatch(
                expected: 0xd591_c62b, calculated: CRC32.checksum(payload.dropLast(4)))
        ) {
            try second.next()
        }
    }

    @Test func oversizedHeaderValuesCannotBeFramed() {
        let long = EventStreamMessage(
            headers: [EventStreamHeader(String(repeating: "n", count: 256), .bool(true))], payload: [])
        #expect(throws: EventStreamError.self) { try EventStreamEncoder.encode(long) }
    }
}
