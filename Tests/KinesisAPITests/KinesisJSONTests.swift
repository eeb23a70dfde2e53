import Foundation
import Testing

@testable import KinesisAPI
@testable import StreamEngine

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
private func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

private func serializationMessage<T: Decodable>(_ type: T.Type, _ body: String) -> String? {
    do {
        _ = try KinesisJSON.decode(type, from: bytes(body))
        return nil
    } catch {
        return error.type == .serialization ? error.message : "\(error)"
    }
}

@Suite("Kinesis JSON 1.1 body codec (KINESIS.md §1.2–§1.5)")
struct KinesisJSONTests {
    // MARK: decoding inputs

    @Test func decodesTheCapturedBoto3PutRecord() throws {
        let input = try KinesisJSON.decode(
            PutRecordInput.self,
            from: bytes(
                #"{"StreamName": "s", "Data": "aGVsbG8=", "PartitionKey": "pk", "ExplicitHashKey": "5"}"#))
        #expect(
            input == PutRecordInput(streamName: "s", data: Data("hello".utf8), partitionKey: "pk", explicitHashKey: "5")
        )
    }

    /// A million values at most, as in CBOR: `[0,0,…]` is two bytes an item on the wire and a tree node of tens
    /// of bytes in memory, so a 16 MiB body once built a tree of hundreds of megabytes. The object and the
    /// array count as two.
    @Test func itemCountIsBounded() throws {
        let limit = KinesisBodyEncoding.maximumItems
        func body(elements: Int) -> [UInt8] {
            var b = Array(#"{"Whatever":["#.utf8)
            b.reserveCapacity(2 * elements + 16)
            for i in 0..<elements { b += i == 0 ? [UInt8(ascii: "0")] : [UInt8(ascii: ","), UInt8(ascii: "0")] }
            b += Array("]}".utf8)
            return b
        }
        guard case .object(let fields) = try KinesisJSON.parse(body(elements: limit - 2)),
            case .array(let elements)? = fields["Whatever"]
        else {
            Issue.record("not an object holding an array")
            return
        }
        #expect(elements.count == limit - 2)
        #expect(throws: KinesisError(.serialization, "")) { try KinesisJSON.parse(body(elements: limit - 1)) }
        #expect(throws: KinesisError(.serialization, "")) { try KinesisJSON.parse(body(elements: 8 * limit)) }
    }

    @Test func timestampsAcceptIntegersAndFractions() throws {
        let whole = try KinesisJSON.decode(
            GetShardIteratorInput.self,
            from: bytes(
                #"{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1"#
                    + #"459799926}"#
            ))
        #expect(whole.timestamp == Date(timeIntervalSince1970: 1_459_799_926))
        #expect(whole.shardIteratorType == .atTimestamp)
        let fractional = try KinesisJSON.decode(
            GetShardIteratorInput.self, from: bytes(#"{"Timestamp":1459799926.48}"#))
        #expect(fractional.timestamp == Date(timeIntervalSince1970: 1_459_799_926.48))
        let exponent = try KinesisJSON.decode(GetShardIteratorInput.self, from: bytes(#"{"Timestamp":1.459799926E9}"#))
        #expect(exponent.timestamp == Date(timeIntervalSince1970: 1_459_799_926))
    }

    @Test func memberNamesMapButMapKeysStayVerbatim() throws {
        let input = try KinesisJSON.decode(
            CreateStreamInput.self,
            from: bytes(
                #"{"StreamName":"s","ShardCount":2,"StreamModeDetails":{"StreamMode":"PROVISIONED"},"Tags":{"Env":"pr"#
                    + #"od","team":"x"},"MaxRecordSizeInKiB":2048}"#
            ))
        #expect(input.streamModeDetails == StreamModeDetails(streamMode: .provisioned))
        #expect(input.tags == ["Env": "prod", "team": "x"])
        #expect(input.maxRecordSizeInKiB == 2048)
        // Member names are case-sensitive, unknown members ignored: "streamName" is not StreamName.
        let lower = try KinesisJSON.decode(StreamInput.self, from: bytes(#"{"streamName":"s","Whatever":[1,{}]}"#))
        #expect(lower.streamName == nil)
    }

    @Test func nestedShapesListsAndNulls() throws {
        let input = try KinesisJSON.decode(
            PutRecordsInput.self,
            from: bytes(
                #"{"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s","StreamName":null,"Records":[{"Data""#
                    + #":"","PartitionKey":"a"},{"Data":"AQID","PartitionKey":"b","ExplicitHashKey":"7"}]}"#
            ))
        #expect(input.streamName == nil)
        #expect(input.streamARN == "arn:aws:kinesis:us-east-1:123456789012:stream/s")
        #expect(
            input.records == [
                PutRecordsRequestEntry(data: Data(), partitionKey: "a"),
                PutRecordsRequestEntry(data: Data([1, 2, 3]), explicitHashKey: "7", partitionKey: "b"),
            ])
        let filter = try KinesisJSON.decode(
            ListShardsInput.self, from: bytes(#"{"ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":1.5}}"#))
        #expect(filter.shardFilter == ShardFilter(type: .atTimestamp, timestamp: Date(timeIntervalSince1970: 1.5)))
    }

    @Test func emptyBodyIsAnEmptyObject() throws {
        #expect(try KinesisJSON.decode(ListStreamsInput.self, from: []) == ListStreamsInput())
        #expect(try KinesisJSON.decode(ListStreamsInput.self, from: bytes("{}")) == ListStreamsInput())
    }

    @Test func unknownEnumValuesSurviveForTheEngineToReject() throws {
        let input = try KinesisJSON.decode(
            GetShardIteratorInput.self, from: bytes(#"{"ShardIteratorType":"SOMEWHERE"}"#))
        #expect(input.shardIteratorType?.rawValue == "SOMEWHERE")
        #expect(input.shardIteratorType?.isKnown == false)
    }

    @Test func integersTruncateLikeCoral() throws {
        #expect(try KinesisJSON.decode(CreateStreamInput.self, from: bytes(#"{"ShardCount":2.9}"#)).shardCount == 2)
        #expect(try KinesisJSON.decode(CreateStreamInput.self, from: bytes(#"{"ShardCount":3e0}"#)).shardCount == 3)
        #expect(
            try KinesisJSON.decode(CreateStreamInput.self, from: bytes(#"{"ShardCount":1e40}"#)).shardCount == Int.max)
    }

    // MARK: decoding failures

    @Test(arguments: [
        "hello", "{", #"{"StreamName":}"#, "[1,]", #"{"a":"\x"}"#, "{} {}", "\u{FEFF}{}", #"{"a":01}"#, "nul",
    ])
    func malformedJSONIsABareSerializationException(body: String) {
        #expect(serializationMessage(ListStreamsInput.self, body) == "")
    }

    @Test func topLevelMustBeAnObject() {
        #expect(serializationMessage(ListStreamsInput.self, "[]") == "")
        #expect(serializationMessage(ListStreamsInput.self, "null") == "")
        #expect(serializationMessage(ListStreamsInput.self, "7") == "")
    }

    @Test func deepNestingIsRejectedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(serializationMessage(ListStreamsInput.self, #"{"X":"# + deep + "}") == "")
    }

    @Test func wrongTypesGetCoralMessages() {
        #expect(
            serializationMessage(StreamInput.self, #"{"StreamName":1}"#)
                == "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String")
        #expect(
            serializationMessage(StreamInput.self, #"{"StreamName":true}"#)
                == "class java.lang.Boolean can not be converted to an String")
        #expect(
            serializationMessage(StreamInput.self, #"{"StreamName":{}}"#)
                == "Start of structure or map found where not expected.")
        #expect(
            serializationMessage(StreamInput.self, #"{"StreamName":[]}"#) == "Start of list found where not expected")
        #expect(
            serializationMessage(CreateStreamInput.self, #"{"ShardCount":"2"}"#)
                == "class java.lang.String can not be converted to an Integer")
        #expect(serializationMessage(CreateStreamInput.self, #"{"StreamModeDetails":"x"}"#) == "Expected null")
        #expect(
            serializationMessage(CreateStreamInput.self, #"{"Tags":[]}"#) == "Start of list found where not expected")
        #expect(serializationMessage(CreateStreamInput.self, #"{"Tags":1}"#) == "Expected map or null")
        #expect(
            serializationMessage(PutRecordsInput.self, #"{"Records":{}}"#)
                == "Start of structure or map found where not expected.")
        #expect(serializationMessage(PutRecordsInput.self, #"{"Records":"x"}"#) == "Expected list or null")
        #expect(
            serializationMessage(DeleteStreamInput.self, #"{"EnforceConsumerDeletion":"maybe"}"#)
                == "'MAYBE' can not be converted to an Boolean")
        #expect(
            serializationMessage(PutRecordInput.self, #"{"Data":5}"#)
                == "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to a Blob")
        // kinesalite's AWS-derived test/helpers.js: a timestamp is "milliseconds since epoch" to Coral.
        #expect(
            serializationMessage(GetShardIteratorInput.self, #"{"Timestamp":"23"}"#)
                == "class java.lang.String can not be converted to milliseconds since epoch")
        #expect(
            serializationMessage(GetShardIteratorInput.self, #"{"Timestamp":true}"#)
                == "class java.lang.Boolean can not be converted to milliseconds since epoch")
    }

    @Test func booleanSpellingsCoralCoerces() throws {
        #expect(
            try KinesisJSON.decode(DeleteStreamInput.self, from: bytes(#"{"EnforceConsumerDeletion":"yes"}"#))
                .enforceConsumerDeletion == true)
        #expect(
            try KinesisJSON.decode(DeleteStreamInput.self, from: bytes(#"{"EnforceConsumerDeletion":false}"#))
                .enforceConsumerDeletion == false)
    }

    @Test func badBase64IsASerializationException() {
        #expect(
            serializationMessage(PutRecordInput.self, #"{"Data":"aGVsbG8"}"#)
                == "'aGVsbG8' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes "
                    + "but found: 7"
        )
        #expect(
            serializationMessage(PutRecordInput.self, #"{"Data":"aGVs*G8="}"#)
                == "'aGVs*G8=' can not be converted to a Blob: Invalid Base64 character: '*'")
        #expect(
            serializationMessage(PutRecordInput.self, #"{"Data":"aG=sbG8="}"#)
                == "'aG=sbG8=' can not be converted to a Blob: Invalid Base64 character: '='")
        #expect(
            serializationMessage(PutRecordInput.self, #"{"Data":"aGVsbG9="}"#)
                == "'aGVsbG9=' can not be converted to a Blob: Invalid last non-pad Base64 character dectected")
        #expect(
            serializationMessage(PutRecordInput.self, #"{"Data":"a==="}"#)
                == "'a===' can not be converted to a Blob: Invalid last non-pad Base64 character dectected")
    }

    @Test func stringEscapesAndUnicode() throws {
        let input = try KinesisJSON.decode(
            PutRecordInput.self, from: bytes(#"{"PartitionKey":"\u00e9\ud83d\ude00\n\"\/é"}"#))
        #expect(input.partitionKey == "é😀\n\"/é")
        #expect(serializationMessage(PutRecordInput.self, "{\"PartitionKey\":\"a\u{1}\"}") == "")
    }

    // MARK: encoding outputs

    @Test func timestampsArePlainDecimalsWithMilliseconds() {
        #expect(JSONShapeEncoder.timestampText(Date(timeIntervalSince1970: 1_700_000_000.123)) == "1700000000.123")
        #expect(JSONShapeEncoder.timestampText(Date(timeIntervalSince1970: 1_700_000_000)) == "1700000000.000")
        #expect(JSONShapeEncoder.timestampText(Date(timeIntervalSince1970: 1_700_000_000.1)) == "1700000000.100")
        #expect(JSONShapeEncoder.timestampText(Date(timeIntervalSince1970: 1_441_215_410.867)) == "1441215410.867")
        #expect(JSONShapeEncoder.timestampText(Date(timeIntervalSince1970: -1.5)) == "-1.500")
        // Every millisecond of a whole day survives Date's reference-date arithmetic.
        let base: Int64 = 1_764_000_000_000
        for ms in stride(from: base, to: base + 86_400_000, by: 1_234_567) {
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(JSONShapeEncoder.timestampText(date) == "\(ms / 1000).\(String(ms % 1000).leftPadded(to: 3))")
        }
    }

    @Test func getRecordsOutputHasAWSMemberNamesAndOrder() throws {
        let output = GetRecordsOutput(
            records: [
                Record(
                    sequenceNumber: "49590338271490256608559692538361571095921575989136588898",
                    approximateArrivalTimestamp: Date(timeIntervalSince1970: 1_700_000_000.1),
                    data: Data("hello".utf8), partitionKey: "pk/1", encryptionType: EncryptionType.none)
            ],
            nextShardIterator: "AAAAAAAAAAE=", millisBehindLatest: 0, childShards: nil)
        #expect(
            text(try KinesisJSON.encode(output))
                == #"{"Records":[{"SequenceNumber":"49590338271490256608559692538361571095921575989136588898","Approx"#
                    + #"imateArrivalTimestamp":1700000000.100,"Data":"aGVsbG8=","PartitionKey":"pk/1","EncryptionType"#
                        + #"":"NONE"}],"NextShardIterator":"AAAAAAAAAAE=","MillisBehindLatest":0}"#
        )
    }

    /// The engine's numbers reach the encoders unformatted and are written in place from one
    /// formatter per reply: the bytes must equal those of the same reply built from strings, in
    /// both encodings, across consecutive numbers, jumps, a failed entry and a foreign text.
    @Test func unformattedSequenceNumbersEncodeAsTheirText() throws {
        func n(_ i: UInt64, shard: UInt32 = 1) -> SequenceNumber {
            SequenceNumber(
                shardCreateSeconds: 1_700_000_000, shardIndex: shard, seqIndex: i, recordSeconds: 1_700_000_009)
        }
        let numbers = [n(1), n(2), n(3), n(0xFFFF_FFFF_FFFF), n(0xFFFF_FFFF_FFFF + 1), n(4, shard: 2), n(5)]
        var lazy = numbers.map { PutRecordsResultEntry(sequenceNumber: LazySequenceNumber($0), shardId: $0.shardId) }
        lazy.insert(PutRecordsResultEntry(errorCode: "InternalFailure", errorMessage: "m"), at: 2)
        lazy.append(PutRecordsResultEntry(sequenceNumber: "odd \"text\"", shardId: "x"))
        var strings = lazy
        for i in strings.indices where strings[i].lazySequenceNumber != nil {
            strings[i].sequenceNumber = strings[i].sequenceNumber  // the same number as text
        }
        #expect(lazy[0].lazySequenceNumber?.issued != nil && strings[0].lazySequenceNumber?.issued == nil)
        let a = PutRecordsOutput(failedRecordCount: 1, records: lazy, encryptionType: EncryptionType.none)
        let b = PutRecordsOutput(failedRecordCount: 1, records: strings, encryptionType: EncryptionType.none)
        let json = text(try KinesisJSON.encode(a))
        #expect(json == text(try KinesisJSON.encode(b)))
        #expect(json.contains(#""SequenceNumber":"\#(numbers[4])""#))
        #expect(json.contains(#""SequenceNumber":"odd \"text\"""#))
        #expect(json == text(try JSONShapeEncoder.encode(a)))  // the reply's own writer against the generic one
        #expect(try KinesisCBOR.encode(a) == KinesisCBOR.encode(b))
        #expect(try KinesisJSON.decode(PutRecordsOutput.self, from: KinesisJSON.encode(a)) == a)
        #expect(try KinesisCBOR.decode(PutRecordsOutput.self, from: KinesisCBOR.encode(a)) == a)
    }

    /// PutRecords' reply has a writer of its own (the server's hottest path); it must write what the
    /// generic shape encoder writes for every shape of reply.
    @Test func putRecordsReplyWriterMatchesTheShapeEncoder() throws {
        let issued = SequenceNumber(
            shardCreateSeconds: 1, shardIndex: 0, seqIndex: 0xFFFF_FFFF_FFFF, recordSeconds: 0xF_FFFF_FFFF)
        let entries: [PutRecordsResultEntry] = [
            PutRecordsResultEntry(),
            PutRecordsResultEntry(sequenceNumber: LazySequenceNumber(issued), shardId: "shardId-000000000000"),
            PutRecordsResultEntry(sequenceNumber: LazySequenceNumber(issued)),
            PutRecordsResultEntry(shardId: "s"),
            PutRecordsResultEntry(
                errorCode: "ProvisionedThroughputExceededException",
                errorMessage: "Rate exceeded for shard shardId-000000000001 in stream \"s\" / é \u{1} \\ \n"),
            PutRecordsResultEntry(sequenceNumber: "", shardId: "", errorCode: "", errorMessage: ""),
        ]
        for failed in [nil, 0, 1, Int.max, Int.min] as [Int?] {
            for type in [nil, EncryptionType.none, EncryptionType.kms, EncryptionType(rawValue: "X\"Y")] {
                for records in [[], entries, Array(entries.reversed()), [entries[1], entries[1]]] {
                    let output = PutRecordsOutput(failedRecordCount: failed, records: records, encryptionType: type)
                    let fast = try KinesisJSON.encode(output)
                    #expect(fast == (try JSONShapeEncoder.encode(output)))
                    #expect(try KinesisJSON.decode(PutRecordsOutput.self, from: fast) == output)
                }
            }
        }
    }

    /// PutRecords' input has a reader of its own for plain documents; where it takes a document it must
    /// read what the generic decoder reads, and it must leave to that decoder every document it rejects.
    @Test func putRecordsReaderAgreesWithTheShapeDecoder() throws {
        let bodies = [
            #"{"StreamName":"s","Records":[{"Data":"YWFh","PartitionKey":"k"}]}"#,
            #"{"StreamARN":"arn","Records":[{"Data":"","PartitionKey":"","ExplicitHashKey":"5"},{}]}"#,
            #"{"StreamName":null,"Records":[{"Data":null,"PartitionKey":null,"ExplicitHashKey":null,"X":[1]}]}"#,
            #"{"Records":null,"Other":{"a":1}}"#, #"{}"#, #"{"Records":[]}"#,
            #"{"StreamName":"s","Records":[{"Data":"YWF","PartitionKey":"k"}]}"#,  // bad base64
            #"{"StreamName":"s","Records":[{"Data":"YWFh!","PartitionKey":"k"}]}"#,
            #"{"StreamName":1,"Records":[]}"#, #"{"StreamARN":true}"#, #"{"StreamName":["s"]}"#,
            #"{"Records":{}}"#, #"{"Records":"x"}"#, #"{"Records":[null]}"#, #"{"Records":[1]}"#,
            #"{"Records":[[]]}"#, #"{"Records":[{"Data":1}]}"#, #"{"Records":[{"Data":{}}]}"#,
            #"{"Records":[{"PartitionKey":2}]}"#, #"{"Records":[{"ExplicitHashKey":false}]}"#,
            #"{"Records":[{"PartitionKey":"a\u0000\"é"}]}"#, #"[]"#, #"null"#, #""s""#,
        ]
        var taken = 0
        for body in bodies {
            let document = try #require(try? JSONParser.parse(Array(body.utf8)), "\(body)")
            let generic = Result { () throws(KinesisError) in
                try JSONShapeDecoder.decode(PutRecordsInput.self, from: document)
            }
            switch (PutRecordsRequestReader.read(document), generic) {
            case (let fast?, .success(let slow)):
                #expect(fast == slow, "\(body)")
                taken += 1
            case (nil, _): break  // the generic decoder answers, errors and all
            case (_?, .failure(let e)): Issue.record("reader took \(body), which the decoder refuses: \(e)")
            }
        }
        #expect(taken == 7)
        // A CBOR document may carry the blob as a byte string.
        let entry = JSONValue.object(["Data": .bytes([1, 2]), "PartitionKey": .string("k")])
        #expect(
            PutRecordsRequestReader.read(.object(["Records": .array([entry])]))?.records
                == [PutRecordsRequestEntry(data: Data([1, 2]), partitionKey: "k")])
    }

    @Test func streamDescriptionNestsAndKeepsAcronyms() throws {
        let summary = DescribeStreamSummaryOutput(
            streamDescriptionSummary: StreamDescriptionSummary(
                streamName: "s", streamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/s", streamStatus: .active,
                streamModeDetails: StreamModeDetails(streamMode: .onDemand), retentionPeriodHours: 24,
                streamCreationTimestamp: Date(timeIntervalSince1970: 1_764_000_000),
                enhancedMonitoring: [EnhancedMetrics(shardLevelMetrics: [])],
                encryptionType: EncryptionType.none, keyId: nil, openShardCount: 4, consumerCount: 0,
                warmThroughput: WarmThroughputObject(targetMiBps: nil, currentMiBps: 4), maxRecordSizeInKiB: 1024))
        #expect(
            text(try KinesisJSON.encode(summary))
                == #"{"StreamDescriptionSummary":{"StreamName":"s","StreamARN":"arn:aws:kinesis:us-east-1:12345678901"#
                    + #"2:stream/s","StreamStatus":"ACTIVE","StreamModeDetails":{"StreamMode":"ON_DEMAND"},"Retention"#
                        + #"PeriodHours":24,"StreamCreationTimestamp":1764000000.000,"EnhancedMonitoring":[{"ShardLev"#
                            + #"elMetrics":[]}],"EncryptionType":"NONE","OpenShardCount":4,"ConsumerCount":0,"WarmThr"#
                                + #"oughput":{"CurrentMiBps":4},"MaxRecordSizeInKiB":1024}}"#
        )
    }

    @Test func emptyOutputIsAnEmptyBody() throws {
        #expect(try KinesisJSON.encode(EmptyOutput()) == [])
    }

    @Test func inputsRoundTripForTheClient() throws {
        let input = CreateStreamInput(
            streamName: "s", shardCount: 3, streamModeDetails: StreamModeDetails(streamMode: .provisioned),
            tags: ["env": "prod"])
        let body = try KinesisJSON.encode(input)
        #expect(
            text(body)
                == #"{"StreamName":"s","ShardCount":3,"StreamModeDetails":{"StreamMode":"PROVISIONED"},"Tags":{"env":"#
                    + #""prod"}}"#
        )
        #expect(try KinesisJSON.decode(CreateStreamInput.self, from: body) == input)
    }

    @Test func stringsAreEscapedMinimally() throws {
        let body = try KinesisJSON.encode(StreamInput(streamName: "a\"b\\c\n\u{1}/é\t"))
        #expect(text(body) == #"{"StreamName":"a\"b\\c\n\u0001/é\t"}"#)
    }

    @Test func errorEnvelopes() {
        #expect(
            text(
                KinesisJSON.errorBody(
                    KinesisError(.resourceNotFound, "Stream foo under account 123456789012 not found.")))
                == #"{"__type":"ResourceNotFoundException","message":"Stream foo under account 123456789012 not found"#
                    + #"."}"#
        )
        #expect(
            text(KinesisJSON.errorBody(KinesisError(.serialization, ""))) == #"{"__type":"SerializationException"}"#)
        #expect(
            text(KinesisJSON.errorBody(KinesisError(.serialization, "Expected null")))
                == #"{"__type":"SerializationException","Message":"Expected null"}"#)
    }
}
