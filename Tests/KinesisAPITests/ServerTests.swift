import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import KinesisAPI
@testable import StreamEngine

private let listStreams = KinesisOperation.listStreams.target

@Suite("HTTP front door: the protocol edge cases of KINESIS.md §1.5")
struct ServerProtocolTests {
    @Test func everyReplyCarriesRequestIds() throws {
        let r = try ServerHarness().send(target: listStreams)
        #expect(r.status == 200)
        #expect(r.header("content-type") == "application/x-amz-json-1.1")
        #expect(r.header("x-amzn-requestid")?.count == 36)
        // base64 of 72 random bytes
        #expect(r.header("x-amz-id-2").flatMap { Data(base64Encoded: $0) }?.count == 72)
        #expect(r.header("content-length") == String(r.body.count))
    }

    @Test(arguments: [HTTPMethod.GET, .PUT, .DELETE, .HEAD])
    func nonPostIsAccessDeniedXML(method: HTTPMethod) throws {
        let r = try ServerHarness().send(method: method, target: listStreams, body: "")
        #expect(r.status == 403)
        if method != .HEAD {
            #expect(
                r.text
                    == "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be "
                        + "authorized</Message>\n</AccessDeniedException>\n"
            )
        }
        #expect(r.header("content-type") == nil)
        #expect(r.header("x-amzn-requestid") != nil)
    }

    @Test func unknownTargetIsUnknownOperation() throws {
        let h = try ServerHarness()
        for target in [
            "Kinesis_20131202.NoSuchOperation", "Kinesis_20131202.", "DynamoDB_20120810.ListTables", "ListStreams",
        ] {
            let r = try h.send(target: target)
            #expect(r.status == 400)
            #expect(r.text == #"{"__type":"UnknownOperationException"}"#)
            #expect(r.header("content-type") == "application/x-amz-json-1.1")
        }
        #expect(try h.send(target: nil).text == #"{"__type":"UnknownOperationException"}"#)
    }

    @Test func malformedJSONIsSerializationExceptionBeforeAuth() throws {
        let h = try ServerHarness()
        let r = try h.send(target: listStreams, body: "hello", authorization: nil)
        #expect(r.status == 400)
        #expect(r.text == #"{"__type":"SerializationException"}"#)
        #expect(try h.send(target: listStreams, body: "{not json").text == #"{"__type":"SerializationException"}"#)
    }

    @Test func wrongMemberTypeIsSerializationExceptionWithCoralMessage() throws {
        let r = try ServerHarness().send(
            target: KinesisOperation.describeStream.target, body: #"{"StreamName": {"nested": 1}}"#)
        #expect(r.status == 400)
        #expect(
            r.text
                == #"{"__type":"SerializationException","Message":"Start of structure or map found where not expected"#
                    + #"."}"#
        )
    }

    @Test func missingAuthorizationIsMissingAuthenticationToken() throws {
        let h = try ServerHarness()
        let r = try h.send(target: listStreams, authorization: nil)
        #expect(r.status == 400)
        #expect(r.text == #"{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}"#)
        // Without a JSON content type the same refusal is Coral's XML, 403.
        let xml = try h.send(target: listStreams, contentType: nil, authorization: nil)
        #expect(xml.status == 403)
        #expect(
            xml.text
                == "<MissingAuthenticationTokenException>\n  <Message>Missing Authentication "
                    + "Token</Message>\n</MissingAuthenticationTokenException>\n"
        )
    }

    @Test func incompleteAuthorizationIsIncompleteSignature() throws {
        let r = try ServerHarness().send(
            target: listStreams, authorization: nil, extraHeaders: [("Authorization", "X")])
        #expect(r.status == 400)
        #expect(r.json["__type"] as? String == "IncompleteSignatureException")
        #expect(
            r.json["message"] as? String
                == "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
                    + "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header "
                        + "requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=X"
        )
    }

    @Test func headerAndQuerySignaturesTogetherAreInvalid() throws {
        let r = try ServerHarness().send(uri: "/?X-Amz-Algorithm", target: listStreams)
        #expect(r.json["__type"] as? String == "InvalidSignatureException")
        #expect(
            r.json["message"] as? String
                == "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
    }

    @Test func incompleteQuerySignature() throws {
        let r = try ServerHarness().send(uri: "/?X-Amz-Algorithm", target: listStreams, authorization: nil)
        #expect(
            r.json["message"] as? String
                == "AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string parameters must "
                    + "include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS "
                        + "query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters "
                            + "must include 'X-Amz-Date'. Re-examine the query-string parameters."
        )
    }

    @Test func authenticatedRequestWithOtherContentTypeCannotBeRouted() throws {
        let h = try ServerHarness()
        let unknown = try h.send(target: listStreams, contentType: "application/x-amz-json-1.0")
        #expect(unknown.status == 404)
        #expect(unknown.text == "<UnknownOperationException/>\n")
        let foreign = try h.send(target: "DynamoDB_20120810.ListTables", contentType: "text/plain")
        #expect(foreign.status == 403)
        #expect(
            foreign.text.contains(
                "No authorization strategy was found for service: DynamoDB_20120810, operation: ListTables"))
        let none = try h.send(target: nil, contentType: nil)
        #expect(none.status == 403)
        #expect(none.text.hasPrefix("<AccessDeniedException>"))
    }

    @Test func applicationJSONIsAcceptedToo() throws {
        let r = try ServerHarness().send(target: listStreams, contentType: "application/json; charset=utf-8")
        #expect(r.status == 200)
        #expect(r.header("content-type") == "application/x-amz-json-1.1")
    }

    @Test func engineErrorsUseTheEnvelopeAndStatus() throws {
        let r = try ServerHarness().send(
            target: KinesisOperation.describeStream.target, body: #"{"StreamName":"nope"}"#)
        #expect(r.status == 400)
        #expect(
            r.text
                == #"{"__type":"ResourceNotFoundException","message":"Stream nope under account 123456789012 not foun"#
                    + #"d."}"#
        )
    }

    @Test func corsPreflight() throws {
        let r = try ServerHarness().send(
            method: .OPTIONS, target: nil, body: "", authorization: nil,
            extraHeaders: [("Origin", "http://localhost"), ("Access-Control-Request-Method", "POST")])
        #expect(r.status == 200)
        #expect(r.header("access-control-allow-origin") == "*")
        #expect(r.header("access-control-allow-methods") == "POST")
        #expect(r.header("x-amz-id-2") == nil)
        #expect(r.body.isEmpty)
    }

    @Test func regionComesFromTheCredentialScope() {
        #expect(KinesisRequestProcessor.plausibleRegion("eu-west-1") == "eu-west-1")
        #expect(KinesisRequestProcessor.plausibleRegion("us-gov-west-1") == "us-gov-west-1")
        #expect(KinesisRequestProcessor.plausibleRegion("EU-WEST-1") == nil)
        #expect(KinesisRequestProcessor.plausibleRegion("local") == nil)
        #expect(KinesisRequestProcessor.plausibleRegion("eu-west-") == nil)
    }
}

@Suite("HTTP connection handling")
struct ServerConnectionTests {
    @Test func oversizedBodyIs413AndCloses() throws {
        let h = try ServerHarness(maxBodyBytes: 64)
        let r = try h.send(target: KinesisOperation.putRecord.target, body: String(repeating: "x", count: 65))
        #expect(r.status == 413)
        #expect(r.header("connection") == "close")
        #expect(!h.channel.isActive)
    }

    @Test func oversizedChunkedBodyIs413() throws {
        let h = try ServerHarness(maxBodyBytes: 64)
        var headers = HTTPHeaders()
        headers.add(name: "Transfer-Encoding", value: "chunked")
        try h.channel.writeInbound(
            HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/", headers: headers)))
        for _ in 0..<10 {
            try h.channel.writeInbound(
                HTTPServerRequestPart.body(ByteBuffer(string: String(repeating: "y", count: 20))))
        }
        try h.channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try h.readResponse().status == 413)
    }

    @Test func keepAliveServesManyRequestsOnOneConnection() throws {
        let h = try ServerHarness()
        for _ in 0..<3 { #expect(try h.send(target: listStreams).status == 200) }
        #expect(h.channel.isActive)
    }

    @Test func connectionCloseIsHonoured() throws {
        let h = try ServerHarness()
        let r = try h.send(target: listStreams, extraHeaders: [("Connection", "close")])
        #expect(r.status == 200)
        #expect(r.header("connection") == "close")
        #expect(!h.channel.isActive)
    }

    @Test func http10GetsKeepAliveOnlyWhenAsked() throws {
        let h = try ServerHarness()
        let r = try h.send(target: listStreams, extraHeaders: [("Connection", "keep-alive")], version: .http1_0)
        #expect(r.header("connection") == "keep-alive")
        #expect(h.channel.isActive)
    }

    @Test func quiesceClosesAnIdleConnection() throws {
        let h = try ServerHarness()
        #expect(try h.send(target: listStreams).status == 200)
        h.channel.pipeline.fireUserInboundEventTriggered(KinesisServerQuiesce())
        #expect(!h.channel.isActive)
    }
}

@Suite("Round trips through the server on an engine with a ManualClock")
struct ServerRoundTripTests {
    @Test func createPutGetShardIteratorGetRecords() throws {
        let h = try ServerHarness()
        let created = try h.send(
            target: KinesisOperation.createStream.target, body: #"{"StreamName":"s","ShardCount":1}"#)
        #expect(created.status == 200)
        #expect(created.body.isEmpty)  // an output-less operation answers with an empty body (§1.3)
        #expect(created.header("content-length") == "0")

        let put = try h.call(.putRecord, #"{"StreamName":"s","Data":"aGVsbG8=","PartitionKey":"pk"}"#)
        #expect(put["ShardId"] as? String == "shardId-000000000000")
        let sequence = try #require(put["SequenceNumber"] as? String)
        #expect(sequence.count == 56)

        let iterator =
            try h.call(
                .getShardIterator,
                #"{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"TRIM_HORIZON"}"#)[
                "ShardIterator"] as? String
        let records = try h.send(
            target: KinesisOperation.getRecords.target, body: #"{"ShardIterator":"\#(try #require(iterator))"}"#)
        #expect(records.status == 200)
        let record = try #require((records.json["Records"] as? [[String: Any]])?.first)
        #expect(record["Data"] as? String == "aGVsbG8=")
        #expect(record["PartitionKey"] as? String == "pk")
        #expect(record["SequenceNumber"] as? String == sequence)
        // The ManualClock starts at 1_764_000_000 s: arrival time is printed with milliseconds.
        #expect(records.text.contains(#""ApproximateArrivalTimestamp":1764000000.000"#))
        #expect(records.json["NextShardIterator"] is String)
        #expect(records.json["MillisBehindLatest"] as? Int == 0)
    }

    @Test func regionsAreSeparateEndpoints() throws {
        let h = try ServerHarness()
        try h.call(.createStream, #"{"StreamName":"eu","ShardCount":1}"#, region: "eu-west-1")
        #expect(try h.call(.listStreams, region: "eu-west-1")["StreamNames"] as? [String] == ["eu"])
        #expect(try h.call(.listStreams, region: "us-east-1")["StreamNames"] as? [String] == [])
        let arn = try h.call(.describeStreamSummary, #"{"StreamName":"eu"}"#, region: "eu-west-1")
        #expect(
            (arn["StreamDescriptionSummary"] as? [String: Any])?["StreamARN"] as? String
                == "arn:aws:kinesis:eu-west-1:123456789012:stream/eu")
    }

    @Test func everyOperationIsRouted() throws {
        // Each of the 39 targets reaches the engine: an empty body gets the
        // engine's own answer, never UnknownOperationException.
        let h = try ServerHarness()
        for operation in KinesisOperation.allCases {
            let r = try h.send(target: operation.target, body: "{}")
            #expect(r.json["__type"] as? String != "UnknownOperationException", "\(operation)")
            #expect(r.status == 200 || r.status == 400, "\(operation): \(r.text)")
        }
        #expect(KinesisOperation.allCases.count == 39)
    }
}

@Suite("SubscribeToShard over HTTP/1.1 (KINESIS.md §1.7)")
struct ServerSubscribeToShardTests {
    /// A stream with one shard and an ACTIVE consumer; returns the consumer ARN.
    private func consumer(_ h: ServerHarness) throws -> String {
        try h.call(.createStream, #"{"StreamName":"s","ShardCount":1}"#)
        let registered = try h.call(
            .registerStreamConsumer,
            #"{"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s","ConsumerName":"app"}"#)
        let arn = try #require((registered["Consumer"] as? [String: Any])?["ConsumerARN"] as? String)
        h.clock.advance(by: .seconds(1))
        return arn
    }

    private func subscribe(
        _ h: ServerHarness, _ arn: String, position: String = #"{"Type":"TRIM_HORIZON"}"#
    ) throws -> TestResponse {
        try h.send(
            target: KinesisOperation.subscribeToShard.target,
            body: #"{"ConsumerARN":"\#(arn)","ShardId":"shardId-000000000000","StartingPosition":\#(position)}"#)
    }

    private func events(_ messages: [EventStreamMessage]) throws -> [SubscribeToShardEvent] {
        try messages.filter { $0[header: ":event-type"] == .string("SubscribeToShardEvent") }
            .map { try KinesisJSON.decode(SubscribeToShardEvent.self, from: $0.payload) }
    }

    @Test func streamsInitialResponseThenEventsUntilTheLifetimeEnds() throws {
        let h = try ServerHarness()
        let arn = try consumer(h)
        try h.call(.putRecord, #"{"StreamName":"s","Data":"b25l","PartitionKey":"a"}"#)

        let r = try subscribe(h, arn)
        #expect(r.status == 200)
        #expect(r.header("content-type") == "application/vnd.amazon.eventstream")
        #expect(r.header("content-length") == nil)
        let first = try eventMessages(r.body)
        #expect(first.first == KinesisEventStream.initialResponse())
        let firstEvents = try events(first)
        #expect(firstEvents.count == 1)
        #expect(firstEvents.first?.records.map(\.data) == [Data("one".utf8)])
        #expect(firstEvents.first?.continuationSequenceNumber != nil)

        // Idle: the next poll comes a second later (loop time, no sleeping).
        h.channel.embeddedEventLoop.advanceTime(by: .milliseconds(199))
        #expect(try h.readBody().isEmpty)
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let idle = try events(eventMessages(h.readBody()))
        #expect(idle.count == 1)
        #expect(idle.first?.records.isEmpty == true)

        // A new record shows up in the next event.
        h.clock.advance(by: .seconds(1))
        _ = try h.engine.service().putRecord(PutRecordInput(streamName: "s", data: Data("two".utf8), partitionKey: "b"))
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let next = try events(eventMessages(h.readBody()))
        #expect(next.flatMap(\.records).map(\.data) == [Data("two".utf8)])

        // After 5 minutes the subscription ends and so does the response.
        h.clock.advance(by: .seconds(300))
        let ended = h.endedResponses
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        _ = try h.readBody()
        #expect(h.endedResponses == ended + 1)
        #expect(h.channel.isActive)  // keep-alive: the connection outlives the stream
    }

    @Test func takeoverEndsTheOldStreamWithAnExceptionFrame() throws {
        let h = try ServerHarness()
        let arn = try consumer(h)
        #expect(try subscribe(h, arn, position: #"{"Type":"LATEST"}"#).status == 200)

        h.clock.advance(by: .seconds(6))
        let second = try ServerHarness(sharing: h)
        #expect(try subscribe(second, arn, position: #"{"Type":"LATEST"}"#).status == 200)

        h.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let messages = try eventMessages(h.readBody())
        let last = try #require(messages.last)
        #expect(last[header: ":message-type"] == .string("exception"))
        #expect(last[header: ":exception-type"] == .string("ResourceInUseException"))
        #expect(String(decoding: last.payload, as: UTF8.self).hasPrefix(#"{"message":"#))
    }

    @Test func errorsBeforeTheStreamAreOrdinaryJSONErrors() throws {
        let h = try ServerHarness()
        let r = try subscribe(h, "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/none:1")
        #expect(r.status == 400)
        #expect(r.header("content-type") == "application/x-amz-json-1.1")
        #expect(r.json["__type"] as? String == "ResourceNotFoundException")
    }

    @Test func clientDisconnectStopsPolling() throws {
        let h = try ServerHarness()
        let arn = try consumer(h)
        #expect(try subscribe(h, arn).status == 200)
        _ = try h.channel.close().wait()
        h.channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(try h.channel.readOutbound(as: HTTPServerResponsePart.self) == nil)
    }

    @Test func quiesceEndsTheStreamAndCloses() throws {
        let h = try ServerHarness()
        let arn = try consumer(h)
        #expect(try subscribe(h, arn).status == 200)
        let ended = h.endedResponses
        h.channel.pipeline.fireUserInboundEventTriggered(KinesisServerQuiesce())
        _ = try h.readBody()
        #expect(h.endedResponses == ended + 1)
        #expect(!h.channel.isActive)
    }
}

@Suite("SigV4 verification in the server")
struct ServerSigV4Tests {
    static let credentials = AWSCredentials(
        accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let signedAt = Date(timeIntervalSince1970: 1_795_379_717)

    private func signed(
        _ body: String, key: AWSCredentials = credentials, at date: Date = signedAt
    ) -> [(name: String, value: String)] {
        SigV4Signer(credentials: key, region: "us-east-1").sign(
            headers: [
                ("Host", "127.0.0.1:4567"), ("Content-Type", "application/x-amz-json-1.1"),
                ("X-Amz-Target", listStreams),
            ],
            body: Array(body.utf8), date: date)
    }

    private func harness() throws -> ServerHarness {
        try ServerHarness(verifier: SigV4Verifier(credentials: [Self.credentials]), now: { Self.signedAt })
    }

    @Test func signedRequestPasses() throws {
        let r = try harness().send(target: listStreams, body: "{}", exactHeaders: signed("{}"))
        #expect(r.status == 200)
    }

    @Test func tamperedBodyFails() throws {
        let r = try harness().send(target: listStreams, body: #"{"Limit":6}"#, exactHeaders: signed(#"{"Limit":5}"#))
        #expect(r.status == 400)
        #expect(r.json["__type"] as? String == "InvalidSignatureException")
        #expect((r.json["message"] as? String)?.hasPrefix("The request signature we calculated does not match") == true)
    }

    @Test func unknownKeyIsUnrecognizedClient() throws {
        let stranger = AWSCredentials(accessKeyId: "AKIDSTRANGER", secretAccessKey: "x")
        let r = try harness().send(target: listStreams, body: "{}", exactHeaders: signed("{}", key: stranger))
        #expect(
            r.text
                == #"{"__type":"UnrecognizedClientException","message":"The security token included in the request is"#
                    + #" invalid."}"#
        )
    }

    @Test func staleSignatureIsExpired() throws {
        let r = try harness().send(target: listStreams, body: "{}", exactHeaders: signed("{}", at: Self.signedAt - 600))
        #expect(
            (r.json["message"] as? String)?.hasPrefix("Signature expired: 20261122T202517Z is now earlier than") == true
        )
    }

    @Test func withoutVerificationAnyCompleteSignatureIsAccepted() throws {
        let r = try ServerHarness().send(
            target: listStreams, body: "{}",
            exactHeaders: signed("{}", key: AWSCredentials(accessKeyId: "A", secretAccessKey: "B")))
        #expect(r.status == 200)
    }
}
