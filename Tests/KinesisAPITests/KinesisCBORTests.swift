import Foundation
@testable import KinesisAPI
import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import StreamEngine
import Testing

private func hex(_ s: String) -> [UInt8] {
    let digits = Array(s.filter { !$0.isWhitespace }.utf8)
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
    }
}

private func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// A request body as the Java SDK writes it: an indefinite map (Jackson's `writeStartObject()`).
private func javaBody(_ members: [(String, CBORValue)]) -> [UInt8] {
    var w = CBORWriter()
    w.beginIndefiniteMap()
    for (name, value) in members {
        w.writeText(name)
        w.write(value)
    }
    w.writeBreak()
    return w.bytes
}

private func cborFailure<T: Decodable>(_ type: T.Type, _ body: [UInt8]) -> KinesisError? {
    do {
        _ = try KinesisCBOR.decode(type, from: body)
        return nil
    } catch {
        return error
    }
}

private func jsonFailure<T: Decodable>(_ type: T.Type, _ body: String) -> KinesisError? {
    do {
        _ = try KinesisJSON.decode(type, from: Array(body.utf8))
        return nil
    } catch {
        return error
    }
}

/// The floci-io/floci#2368 capture of an unmodified Java v2 `KinesisClient.getShardIterator(AT_TIMESTAMP)`:
/// `Timestamp` as tag 1 + an 8-byte integer of epoch milliseconds.
private let capturedTimestamp = hex("c11b000001a013accc38")

@Suite("Kinesis CBOR body codec: the Java SDK's wire (KINESIS.md §1.6)")
struct KinesisCBORTests {
    // MARK: requests

    @Test func decodesAJavaStylePutRecord() throws {
        let body = javaBody([("StreamName", .text("s")), ("Data", .bytes(Array("hello".utf8))),
                             ("PartitionKey", .text("pk")), ("ExplicitHashKey", .text("5"))])
        #expect(body.first == 0xBF && body.last == 0xFF)
        let input = try KinesisCBOR.decode(PutRecordInput.self, from: body)
        #expect(input == PutRecordInput(streamName: "s", data: Data("hello".utf8), partitionKey: "pk",
                                        explicitHashKey: "5"))
    }

    @Test func timestampsAreEpochMillisecondsTaggedOrNot() throws {
        var body = Array(javaBody([("ShardIteratorType", .text("AT_TIMESTAMP"))]).dropLast())
        body += CBORValue.text("Timestamp").encoded + capturedTimestamp + [0xFF]
        let captured = try KinesisCBOR.decode(GetShardIteratorInput.self, from: body)
        #expect(captured.timestamp == Date(timeIntervalSince1970: 1_787_036_486.712))
        #expect(captured.shardIteratorType == .atTimestamp)
        // Untagged, negative, fractional (a float of milliseconds) and tagged float all mean milliseconds.
        let cases: [(CBORValue, Double)] = [
            (.unsigned(1_787_036_486_712), 1_787_036_486.712), (.integer(-1500), -1.5), (.float(1500.5), 1.5005),
            (.tagged(1, .float(2000)), 2), (.unsigned(0), 0),
        ]
        for (value, seconds) in cases {
            let input = try KinesisCBOR.decode(ListShardsInput.self,
                                               from: javaBody([("StreamCreationTimestamp", value)]))
            #expect(input.streamCreationTimestamp == Date(timeIntervalSince1970: seconds), "\(value)")
        }
        // The same instant in both encodings decodes to the same Date.
        let json = try KinesisJSON.decode(ListShardsInput.self,
                                          from: Array(#"{"StreamCreationTimestamp":1787036486.712}"#.utf8))
        let tagged = CBORValue.tagged(1, .unsigned(1_787_036_486_712))
        let cbor = try KinesisCBOR.decode(ListShardsInput.self, from: javaBody([("StreamCreationTimestamp", tagged)]))
        #expect(json.streamCreationTimestamp == cbor.streamCreationTimestamp)
    }

    @Test func nestedShapesIndefiniteListsAndChunkedStrings() throws {
        // PutRecords as Jackson writes it: indefinite map, indefinite list of indefinite maps, and a
        // partition key long enough to be chunked (Jackson chunks text over 3,996 characters).
        let longKey = String(repeating: "k", count: 5000)
        var w = CBORWriter()
        w.beginIndefiniteMap()
        w.writeText("Records")
        w.beginIndefiniteArray()
        for (data, key) in [([UInt8](), "a"), ([1, 2, 3], longKey)] {
            w.beginIndefiniteMap()
            w.writeText("Data")
            w.writeBytes(data)
            w.writeText("PartitionKey")
            if key.count > 3996 {
                w.bytes.append(0x7F)
                w.writeText(String(key.prefix(3996)))
                w.writeText(String(key.dropFirst(3996)))
                w.writeBreak()
            } else {
                w.writeText(key)
            }
            w.writeBreak()
        }
        w.writeBreak()
        w.writeText("StreamName")
        w.writeNull()
        w.writeBreak()
        let input = try KinesisCBOR.decode(PutRecordsInput.self, from: w.bytes)
        #expect(input.streamName == nil)
        #expect(input.records == [PutRecordsRequestEntry(data: Data(), partitionKey: "a"),
                                  PutRecordsRequestEntry(data: Data([1, 2, 3]), partitionKey: longKey)])
        let tags = try KinesisCBOR.decode(AddTagsToStreamInput.self, from: javaBody([
            ("Tags", .map([CBORMapEntry(.text("Env"), .text("prod")), CBORMapEntry(.text("team"), .text("x"))])),
        ]))
        #expect(tags.tags == ["Env": "prod", "team": "x"])
    }

    @Test func blobsMayAlsoBeBase64Text() throws {
        let input = try KinesisCBOR.decode(PutRecordInput.self, from: javaBody([("Data", .text("AQID"))]))
        #expect(input.data == Data([1, 2, 3]))
        #expect(cborFailure(PutRecordInput.self, javaBody([("Data", .text("AQI"))]))?.message
                == jsonFailure(PutRecordInput.self, #"{"Data":"AQI"}"#)?.message)
    }

    /// Integers are read through the same lexeme as JSON numbers, so they truncate and
    /// saturate exactly as JSON's do.
    @Test func numbersBehaveAsTheirJSONTwins() throws {
        let twins: [(CBORValue, String)] = [
            (.unsigned(2), "2"), (.float(1.9), "1.9"), (.float(-1.9), "-1.9"),
            (.unsigned(UInt64(Int64.max)), "9223372036854775807"),
            (.integer(Int64.min), "-9223372036854775808"), (.float(1e20), "1e20"), (.float(-1e20), "-1e20"),
            (.unsigned(4_294_967_296), "4294967296"), (.float(0.5), "0.5"),
        ]
        for (cbor, json) in twins {
            let a = try KinesisCBOR.decode(CreateStreamInput.self, from: javaBody([("ShardCount", cbor)]))
            let b = try KinesisJSON.decode(CreateStreamInput.self, from: Array(#"{"ShardCount":\#(json)}"#.utf8))
            #expect(a.shardCount == b.shardCount, "\(cbor) vs \(json)")
        }
        let bool = try KinesisCBOR.decode(DeleteStreamInput.self,
                                          from: javaBody([("EnforceConsumerDeletion", .bool(true))]))
        #expect(bool.enforceConsumerDeletion == true)
    }

    /// A value of the wrong kind gets the same SerializationException message as in JSON.
    @Test func typeErrorsMatchJSON() {
        let pairs: [(CBORValue, String)] = [
            (.unsigned(1), "1"), (.bool(true), "true"), (.array([]), "[]"), (.map([]), "{}"), (.float(1.5), "1.5"),
        ]
        for (cbor, json) in pairs {
            let a = cborFailure(DescribeStreamInput.self, javaBody([("StreamName", cbor)]))
            let b = jsonFailure(DescribeStreamInput.self, #"{"StreamName":\#(json)}"#)
            #expect(a != nil && a == b, "\(cbor)")
            let t = cborFailure(ListShardsInput.self, javaBody([("StreamCreationTimestamp", cbor)]))
            let u = jsonFailure(ListShardsInput.self, #"{"StreamCreationTimestamp":\#(json)}"#)
            #expect(t == u, "timestamp \(cbor)")
        }
        #expect(cborFailure(ListShardsInput.self, javaBody([("StreamCreationTimestamp", .text("x"))]))?.message
                == "class java.lang.String can not be converted to milliseconds since epoch")
        #expect(cborFailure(DescribeStreamInput.self, javaBody([("StreamName", .bytes([1]))]))
                == KinesisError(.serialization, "class [B can not be converted to an String"))
    }

    /// What a Kinesis document cannot hold is a bare SerializationException, as malformed JSON is.
    @Test func hostileItemsAreSerializationExceptions() {
        let bare = KinesisError(.serialization, "")
        let refused: [[UInt8]] = [
            javaBody([("ShardCount", .unsigned(UInt64(Int64.max) + 1))]),  // beyond a long
            javaBody([("ShardCount", .negative(UInt64(Int64.max) + 1))]),
            javaBody([("ShardCount", .unsigned(UInt64.max))]),
            javaBody([("ShardCount", .float(.nan))]), javaBody([("ShardCount", .float(.infinity))]),
            javaBody([("ShardCount", .float(-.infinity))]),
            javaBody([("Timestamp", .tagged(1, .text("2026-01-01T00:00:00Z")))]),  // tag 1 on text
            javaBody([("ShardCount", .tagged(2, .bytes([1, 0, 0, 0, 0, 0, 0, 0, 0])))]),  // bignum 2^64
            javaBody([("ShardCount", .tagged(2, .bytes([0x80, 0, 0, 0, 0, 0, 0, 0])))]),  // 2^63
            javaBody([("ShardCount", .tagged(2, .text("1")))]),
            javaBody([("ShardCount", .simple(16))]), javaBody([("ShardCount", .simple(255))]),
            CBORValue.map([CBORMapEntry(.unsigned(1), .text("x"))]).encoded,  // a key that is not text
            CBORValue.map([CBORMapEntry(.bytes(Array("StreamName".utf8)), .text("x"))]).encoded,
            hex("ff"), hex("bf"), hex("bf6161"), hex("a1"), hex("a0a0"), hex("62c328"),
        ]
        for body in refused {
            #expect(cborFailure(CreateStreamInput.self, body) == bare, "\(hexString(body))")
        }
        // A top-level item that is not a map: the JSON rule for a top level that is not an object.
        for body in [CBORValue.array([]).encoded, CBORValue.text("x").encoded, CBORValue.null.encoded, hex("00")] {
            #expect(cborFailure(ListStreamsInput.self, body) == bare)
        }
        // Within range, the same constructs are read.
        let edge = try? KinesisCBOR.decode(CreateStreamInput.self, from: javaBody([
            ("ShardCount", .tagged(2, .bytes([0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]))),
        ]))
        #expect(edge?.shardCount == Int.max)
        let negative = try? KinesisCBOR.decode(CreateStreamInput.self,
                                               from: javaBody([("ShardCount", .tagged(3, .bytes([4])))]))
        #expect(negative?.shardCount == -5)
        let undefined = try? KinesisCBOR.decode(CreateStreamInput.self, from: javaBody([("StreamName", .undefined)]))
        #expect(undefined != nil && undefined?.streamName == nil)
        let otherTag = try? KinesisCBOR.decode(CreateStreamInput.self,
                                               from: javaBody([("StreamName", .tagged(55799, .text("s")))]))
        #expect(otherTag?.streamName == "s")
    }

    /// A million items at most: a body of one-byte items would otherwise become a tree many
    /// times its size. The top-level map, the key and the list count as three.
    @Test func itemCountIsBounded() throws {
        let limit = KinesisBodyEncoding.maximumItems
        func body(elements: Int, definite: Bool) -> [UInt8] {
            var w = CBORWriter()
            w.beginIndefiniteMap()
            w.writeText("Whatever")
            if definite { w.beginArray(count: elements) } else { w.beginIndefiniteArray() }
            w.bytes += [UInt8](repeating: 0, count: elements)
            if !definite { w.writeBreak() }
            w.writeBreak()
            return w.bytes
        }
        #expect(try KinesisCBOR.decode(ListStreamsInput.self, from: body(elements: limit - 3, definite: true))
                == ListStreamsInput())
        for definite in [true, false] {
            #expect(cborFailure(ListStreamsInput.self, body(elements: limit - 2, definite: definite))
                    == KinesisError(.serialization, ""))
        }
    }

    @Test func emptyBodyIsAnEmptyInputAndTheLastRepeatedMemberWins() throws {
        #expect(try KinesisCBOR.decode(ListStreamsInput.self, from: []) == ListStreamsInput())
        let repeated = try KinesisCBOR.decode(DescribeStreamInput.self, from: javaBody([("StreamName", .text("a")),
                                                                                      ("StreamName", .text("b"))]))
        #expect(repeated.streamName == "b")
    }

    // MARK: replies

    @Test func repliesAreIndefiniteMapsWithTaggedMillisecondsAndByteStrings() throws {
        let record = Record(sequenceNumber: "1",
                            approximateArrivalTimestamp: Date(timeIntervalSince1970: 1_787_036_486.712),
                            data: Data([0, 1, 2]), partitionKey: "pk", encryptionType: EncryptionType.none)
        let output = GetRecordsOutput(records: [record], nextShardIterator: nil, millisBehindLatest: 0,
                                      childShards: nil)
        let bytes = try KinesisCBOR.encode(output)
        let expected = "bf" + "675265636f726473" + "9f" + "bf"
            + "6e53657175656e63654e756d626572" + "6131"
            + "781b417070726f78696d6174654172726976616c54696d657374616d70" + "c1" + "1b000001a013accc38"
            + "6444617461" + "43000102"
            + "6c506172746974696f6e4b6579" + "62706b"
            + "6e456e6372797074696f6e54797065" + "644e4f4e45"
            + "ff" + "ff"
            + "724d696c6c6973426568696e644c6174657374" + "00"
            + "ff"
        #expect(hexString(bytes) == expected)
        // And the shape reads back through the same decoder.
        #expect(try KinesisCBOR.decode(GetRecordsOutput.self, from: bytes) == output)
    }

    @Test func integersAreIntegersAtEveryWidth() throws {
        let name = CBORValue.text("MillisBehindLatest").encoded
        for n in [0, 23, 24, 255, 256, 65535, 65536, Int(Int32.max), Int(Int64.max), -1, Int(Int64.min)] {
            let bytes = try KinesisCBOR.encode(GetRecordsOutput(records: [], millisBehindLatest: n))
            let at = try #require((0...(bytes.count - name.count)).first { Array(bytes[$0..<$0 + name.count]) == name })
            let value = Array(bytes[(at + name.count)..<(bytes.count - 1)])
            #expect(value == CBORValue.integer(Int64(n)).encoded, "\(n): \(hexString(bytes))")
            guard case .object(let members) = try KinesisCBOR.parse(bytes) else { Issue.record("not a map"); continue }
            #expect(members["MillisBehindLatest"] == .number(String(n)))
        }
    }

    /// JSON and CBOR carry the same instant: JSON's seconds text and CBOR's milliseconds
    /// agree digit for digit, rounding included.
    @Test func timestampsAgreeWithJSONToTheMillisecond() throws {
        let instants = [0, 1_787_036_486.712, 1_787_036_486.7125, 1_787_036_486.7124999, -1.5, 1e-4,
                        253_402_300_799.999]
        for seconds in instants {
            let date = Date(timeIntervalSince1970: seconds)
            let json = JSONShapeEncoder.timestampText(date)
            let ms = ShapeNode.epochMilliseconds(date)
            let magnitude = ms.magnitude
            #expect(json == (ms < 0 ? "-" : "") + "\(magnitude / 1000)." + String(format: "%03d", magnitude % 1000))
            let consumer = Consumer(consumerName: "c", consumerARN: "a", consumerStatus: .active,
                                    consumerCreationTimestamp: date)
            let bytes = try KinesisCBOR.encode(ListStreamConsumersOutput(consumers: [consumer]))
            #expect(hexString(bytes).contains("c1" + hexString(CBORValue.integer(ms).encoded)), "\(seconds)")
        }
    }

    @Test func emptyOutputsAreEmptyBodies() throws {
        #expect(try KinesisCBOR.encode(EmptyOutput()) == [])
    }

    @Test func errorEnvelopes() throws {
        let notFound = "Stream s under account 123456789012 not found."
        #expect(hexString(KinesisCBOR.errorBody(KinesisError(.resourceNotFound, notFound)))
                == "bf" + "665f5f74797065" + "7819" + hexString(Array("ResourceNotFoundException".utf8))
                + "676d657373616765" + "782e" + hexString(Array(notFound.utf8)) + "ff")
        // SerializationException spells its member `Message`, as in JSON; an empty message is left out.
        let listError = "Start of list found where not expected"
        #expect(try CBORValue.decode(KinesisCBOR.errorBody(KinesisError(.serialization, listError)))
                == .map([CBORMapEntry(.text("__type"), .text("SerializationException")),
                         CBORMapEntry(.text("Message"), .text(listError))]))
        #expect(hexString(KinesisCBOR.errorBody(KinesisError(.unknownOperation, "")))
                == "bf665f5f74797065" + "7819" + hexString(Array("UnknownOperationException".utf8)) + "ff")
    }

    @Test func subscribeToShardEventsInCBOR() throws {
        let record = Record(sequenceNumber: "9", approximateArrivalTimestamp: Date(timeIntervalSince1970: 2),
                            data: Data([0xFF]), partitionKey: "p", encryptionType: nil)
        let event = SubscribeToShardEvent(records: [record], continuationSequenceNumber: "9", millisBehindLatest: 0,
                                          childShards: nil)
        let message = try KinesisEventStream.event(event, encoding: .cbor)
        #expect(message[header: ":content-type"] == .string("application/x-amz-cbor-1.1"))
        #expect(message[header: ":event-type"] == .string("SubscribeToShardEvent"))
        #expect(try KinesisCBOR.decode(SubscribeToShardEvent.self, from: message.payload) == event)
        let initial = KinesisEventStream.initialResponse(.cbor)
        #expect(initial.payload == [0xBF, 0xFF])
        #expect(initial[header: ":event-type"] == .string("initial-response"))
        let failure = KinesisEventStream.exception(KinesisError(.resourceInUse, "taken over"), encoding: .cbor)
        #expect(failure[header: ":exception-type"] == .string("ResourceInUseException"))
        #expect(try CBORValue.decode(failure.payload) == .map([CBORMapEntry(.text("message"), .text("taken over"))]))
        // JSON streams are unchanged.
        #expect(KinesisEventStream.initialResponse()[header: ":content-type"] == .string("application/json"))
    }
}

extension ServerHarness {
    /// Sends a binary body with the CBOR content type (or `contentType`).
    func sendCBOR(target: String?, body: [UInt8], contentType: String = KinesisCBOR.contentType,
                  authorization: String? = ServerHarness.authorization()) throws -> TestResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1:4567")
        headers.add(name: "Content-Type", value: contentType)
        if let target { headers.add(name: "X-Amz-Target", value: target) }
        if let authorization {
            headers.add(name: "Authorization", value: authorization)
            headers.add(name: "X-Amz-Date", value: "20261122T203517Z")
        }
        headers.add(name: "Content-Length", value: String(body.count))
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/",
                                                                           headers: headers)))
        if !body.isEmpty { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(bytes: body))) }
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        return try readResponse()
    }
}

@Suite("CBOR through the front door: the same checks, answered in CBOR")
struct ServerCBORTests {
    private func members(_ r: TestResponse) throws -> [String: JSONValue] {
        guard case .object(let m) = try KinesisCBOR.parse(r.body) else {
            throw ServerHarness.HarnessError.unexpectedPart
        }
        return m
    }

    @Test func operationsAnswerInCBOR() throws {
        let h = try ServerHarness()
        let created = try h.sendCBOR(target: KinesisOperation.createStream.target,
                                     body: javaBody([("StreamName", .text("s")), ("ShardCount", .unsigned(2))]))
        #expect(created.status == 200)
        #expect(created.body.isEmpty)
        #expect(created.header("content-type") == "application/x-amz-cbor-1.1")
        let put = try h.sendCBOR(target: KinesisOperation.putRecord.target, body: javaBody([
            ("StreamName", .text("s")), ("Data", .bytes([0, 0xFF])), ("PartitionKey", .text("a")),
        ]))
        #expect(put.status == 200)
        #expect(try members(put)["ShardId"] != nil)
        // The JSON door sees the record the CBOR door wrote.
        let summary = try h.call(.describeStreamSummary, #"{"StreamName":"s"}"#)
        #expect((summary["StreamDescriptionSummary"] as? [String: Any])?["OpenShardCount"] as? Int == 2)
        let described = try h.sendCBOR(target: KinesisOperation.describeStreamSummary.target,
                                       body: javaBody([("StreamName", .text("s"))]))
        let output = try KinesisCBOR.decode(DescribeStreamSummaryOutput.self, from: described.body)
        #expect(output.streamDescriptionSummary.openShardCount == 2)
        // Parameters after the media type do not change the encoding.
        let listed = try h.sendCBOR(target: KinesisOperation.listStreams.target, body: [0xA0],
                                    contentType: "Application/X-Amz-Cbor-1.1; charset=UTF-8")
        #expect(listed.header("content-type") == "application/x-amz-cbor-1.1")
        #expect(try members(listed)["StreamNames"] == .array([.string("s")]))
    }

    @Test func errorsAreCBORWithTheJSONStatus() throws {
        let h = try ServerHarness()
        let cases: [(String?, [UInt8], String?, String)] = [
            (KinesisOperation.describeStream.target, javaBody([("StreamName", .text("nope"))]),
             ServerHarness.authorization(), "ResourceNotFoundException"),
            (KinesisOperation.listStreams.target, hex("ff"), nil, "SerializationException"),  // before auth
            (KinesisOperation.listStreams.target, Array("{}".utf8), nil, "SerializationException"),  // JSON is not CBOR
            ("Kinesis_20131202.NoSuchOperation", [0xA0], nil, "UnknownOperationException"),
            (nil, [0xA0], nil, "UnknownOperationException"),
            (KinesisOperation.listStreams.target, [0xA0], nil, "MissingAuthenticationTokenException"),
            (KinesisOperation.createStream.target, javaBody([("StreamName", .text("s"))]),
             ServerHarness.authorization(), "ValidationException"),
        ]
        for (target, body, authorization, type) in cases {
            let r = try h.sendCBOR(target: target, body: body, authorization: authorization)
            #expect(r.status == 400, "\(type)")
            #expect(r.header("content-type") == "application/x-amz-cbor-1.1")
            #expect(try members(r)["__type"] == .string(type))
        }
        // The same refusal as JSON, word for word.
        let cbor = try h.sendCBOR(target: KinesisOperation.createStream.target,
                                  body: javaBody([("StreamName", .text("s"))]))
        let json = try h.send(target: KinesisOperation.createStream.target, body: #"{"StreamName":"s"}"#)
        #expect(try members(cbor)["message"] == .string(try #require(json.json["message"] as? String)))
        // Another CBOR version is not routed: Coral's XML, as for any unknown content type.
        let other = try h.sendCBOR(target: KinesisOperation.listStreams.target, body: [0xA0],
                                   contentType: "application/x-amz-cbor-1.0")
        #expect(other.status == 404)
        #expect(other.text == "<UnknownOperationException/>\n")
    }

    @Test func theBodyBudget503IsCBORForACBORRequest() throws {
        let budget = RequestBodyBudget(limit: 100)
        let h = try WireHarness(budget: budget)
        try h.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-cbor-1.1\r\n"
                   + "Transfer-Encoding: chunked\r\n\r\n")
        try h.send("3c\r\n" + String(repeating: "a", count: 60) + "\r\n")
        try h.send("3c\r\n" + String(repeating: "a", count: 60) + "\r\n0\r\n\r\n")
        let reply = try #require(WireResponse.parse(try h.output()).first)
        #expect(reply.status == 503)
        #expect(reply.headers["content-type"] == "application/x-amz-cbor-1.1")
        #expect(reply.body.contains("ServiceUnavailableException") && !reply.body.contains("{"))
    }

    @Test func subscribeToShardStreamsCBOREvents() throws {
        let h = try ServerHarness()
        try h.call(.createStream, #"{"StreamName":"s","ShardCount":1}"#)
        let registered = try h.call(.registerStreamConsumer,
            #"{"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s","ConsumerName":"app"}"#)
        let arn = try #require((registered["Consumer"] as? [String: Any])?["ConsumerARN"] as? String)
        h.clock.advance(by: .seconds(1))
        try h.call(.putRecord, #"{"StreamName":"s","Data":"b25l","PartitionKey":"a"}"#)

        let r = try h.sendCBOR(target: KinesisOperation.subscribeToShard.target, body: javaBody([
            ("ConsumerARN", .text(arn)), ("ShardId", .text("shardId-000000000000")),
            ("StartingPosition", .map([CBORMapEntry(.text("Type"), .text("TRIM_HORIZON"))])),
        ]))
        #expect(r.status == 200)
        #expect(r.header("content-type") == "application/vnd.amazon.eventstream")
        let messages = try eventMessages(r.body)
        #expect(messages.first == KinesisEventStream.initialResponse(.cbor))
        let events = messages.dropFirst()
        #expect(events.count == 1)
        for message in events {
            #expect(message[header: ":content-type"] == .string("application/x-amz-cbor-1.1"))
            let event = try KinesisCBOR.decode(SubscribeToShardEvent.self, from: message.payload)
            #expect(event.records.map(\.data) == [Data("one".utf8)])
            // The arrival time is tag 1 + integer milliseconds in the payload.
            #expect(hexString(message.payload).contains("c11b"))
        }
        // Next poll, still CBOR.
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        let idle = try eventMessages(h.readBody())
        #expect(!idle.isEmpty)
        #expect(idle.allSatisfy { $0[header: ":content-type"] == .string("application/x-amz-cbor-1.1") })
    }
}

/// SplitMix64: a seeded generator, so a failure names the case that made it (the mutation tests of this target).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    /// A number in `0..<n`.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("CBOR request bodies mutated at random never trap")
struct KinesisCBORMutationTests {
    /// Whether `body` decodes as `type`; a failure must be a SerializationException.
    private func attempt<T: Decodable>(_ type: T.Type, _ body: [UInt8]) -> Bool {
        do {
            _ = try KinesisCBOR.decode(type, from: body)
            return true
        } catch {
            #expect(error.type == .serialization)
            return false
        }
    }

    /// Valid Java-style bodies of several operations, each mutated 4,000 times (bytes flipped,
    /// set to boundary values, inserted, deleted, the body cut short) and decoded as every one of
    /// these input shapes. A trap would end the test process; every outcome must be a value or a
    /// Kinesis error.
    @Test func mutatedBodiesDecodeOrFailAsKinesisErrors() {
        let seeds: [[UInt8]] = [
            javaBody([("StreamName", .text("s")), ("Records", .array([
                .map([CBORMapEntry(.text("Data"), .bytes([0, 1, 2])), CBORMapEntry(.text("PartitionKey"), .text("k"))]),
                .map([CBORMapEntry(.text("Data"), .bytes(Array(repeating: 0xFF, count: 40))),
                      CBORMapEntry(.text("ExplicitHashKey"), .text("170141183460469231731687303715884105728"))]),
            ]))]),
            javaBody([("StreamName", .text("s")), ("ShardId", .text("shardId-000000000000")),
                      ("ShardIteratorType", .text("AT_TIMESTAMP")),
                      ("Timestamp", .tagged(1, .unsigned(1_787_036_486_712)))]),
            javaBody([("StreamName", .text("s")), ("ShardCount", .unsigned(4)), ("Tags", .map([
                CBORMapEntry(.text("a"), .text("b")), CBORMapEntry(.text("c"), .text("")),
            ])), ("StreamModeDetails", .map([CBORMapEntry(.text("StreamMode"), .text("ON_DEMAND"))]))]),
            javaBody([("ShardFilter", .map([CBORMapEntry(.text("Type"), .text("AT_TIMESTAMP")),
                                            CBORMapEntry(.text("Timestamp"), .float(1.5e12))])),
                      ("MaxResults", .unsigned(1000)), ("EnforceConsumerDeletion", .bool(true))]),
        ]
        var rng = SplitMix64(state: 0x5EED)
        let boundary: [UInt8] = [0x00, 0x17, 0x18, 0x1B, 0x1F, 0x3B, 0x5B, 0x5F, 0x7F, 0x9F, 0xBF, 0xC1, 0xC2,
                                 0xF7, 0xF8, 0xF9, 0xFB, 0xFF]
        var outcomes = [0, 0]  // [decoded, refused]
        for seed in seeds {
            for _ in 0..<4000 {
                var body = seed
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let at = Int.random(in: 0..<max(body.count, 1), using: &rng)
                    switch Int.random(in: 0..<5, using: &rng) {
                    case 0 where !body.isEmpty: body[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                    case 1 where !body.isEmpty: body[at] = boundary.randomElement(using: &rng)!
                    case 2: body.insert(boundary.randomElement(using: &rng)!, at: min(at, body.count))
                    case 3 where !body.isEmpty: body.remove(at: at)
                    default: body = Array(body.prefix(at))
                    }
                }
                for decoded in [attempt(PutRecordsInput.self, body), attempt(GetShardIteratorInput.self, body),
                                attempt(CreateStreamInput.self, body), attempt(ListShardsInput.self, body)] {
                    outcomes[decoded ? 0 : 1] += 1
                }
            }
        }
        // Both outcomes occur: the mutations reach the decoder, not just the reader.
        #expect(outcomes[0] > 1000 && outcomes[1] > 1000, "\(outcomes)")
    }
}
