import Foundation
import StreamEngine

/// The body codec of Kinesis's CBOR variant (`application/x-amz-cbor-1.1`, KINESIS.md
/// §1.6): the wire the AWS SDK for Java (v1 since 1.11.71, v2 by default) and hence the
/// KCL speak. Same `X-Amz-Target`, operations, member names, shapes, errors and HTTP
/// statuses as ``KinesisJSON``; only the bytes differ. The document is read into the
/// same ``JSONValue`` tree and decoded by the same shape decoder, and replies are written
/// from the same ``ShapeNode`` tree as JSON replies.
///
/// The Java SDK's CBOR habits, each with its source (the emulators are kinesalite
/// `mhart/kinesalite@c76689da`, kinesis-mock `etspaceman/kinesis-mock@484f777c`,
/// LocalStack `localstack/localstack@8b9a79f0`):
///
/// 1. **Timestamps are epoch milliseconds**, not RFC 8949's seconds. The SDK writes
///    tag 1 + an integer (`SdkCborGenerator.writeValue(Instant)`: `writeTag(1)`,
///    `writeNumber(instant.toEpochMilli())`; captured off the wire as
///    `c1 1b 000001a013accc38` = 1787036486712 in floci-io/floci#2368; the RFC mismatch is
///    aws/aws-sdk-java-v2#4661, open). It reads a timestamp's number text with
///    `Long.parseLong` (`StringToInstant`, `UNIX_TIMESTAMP_MILLIS` from
///    `AwsCborProtocolFactory.getDefaultTimestampFormats`), so a reply must carry an
///    *integer*: a float such as 1.7E12 fails with "Unable to parse date". AWS answers the
///    same way (LocalStack's AWS-validated `test_subscribe_to_shard_with_at_timestamp_cbor`
///    asserts no `c1 fb` double; its `_patch_cbor2` writes tag 1 + `int(ms)`). ktop writes
///    tag 1 + integer milliseconds and reads a number, tagged or not, integer or float, as
///    milliseconds (LocalStack `CBOR_TIMESTAMP_FORMAT = "unixtimestampmillis"`, kinesis-mock
///    `instantLongCirceDecoder` and `epochDateTimeDecoder`).
/// 2. **Blobs are byte strings** (major type 2) both ways: `SimpleTypeJsonMarshaller.SDK_BYTES`
///    writes binary; `JsonProtocolUnmarshaller.unmarshallSdkBytes` takes the raw bytes ("Binary
///    protocols like CBOR may already have the raw bytes extracted") or else base64 text;
///    LocalStack's AWS-validated `test_cbor_blob_handling` gets `Data` back as bytes. A
///    base64 text string is accepted for a blob too, as kinesis-mock and LocalStack accept it.
/// 3. **Indefinite lengths.** Jackson's `CBORGenerator.writeStartObject()`/`writeStartArray()`
///    write `0xBF`/`0x9F` … `0xFF`, so every map and list the SDK sends is indefinite, and
///    a string over 3,996 characters goes out as chunked text (`_writeChunkedString`, `0x7F`).
///    Replies use indefinite maps and arrays too, as AWS does (LocalStack
///    `BaseCBORResponseSerializer`: "AWS, for both Kinesis and smithy-rpc-v2-cbor services,
///    is using indefinite data structures when returning responses").
/// 4. **Integers are integers.** The SDK reads Integer and Long members with
///    `Integer.parseInt`/`Long.parseLong` on the number's text, so they are written as CBOR
///    integers (shortest head), never floats. A request integer beyond Int64 (a 9-byte
///    magnitude, or a bignum, tags 2 and 3, that does not fit) is a SerializationException,
///    as is NaN or an infinity, which JSON cannot express.
/// 5. **Errors** are the same `{"__type": …, "message": …}` map (`Message` for a
///    SerializationException, as in JSON), CBOR-encoded, with the CBOR Content-Type and
///    the JSON status: LocalStack's AWS-validated `test_cbor_exceptions` recorded
///    `{"__type": "ResourceNotFoundException", "message": "Stream wrong-stream-name under
///    account 111111111111 not found."}`. Errors found before dispatch (not CBOR,
///    unknown operation, missing or incomplete signature) are CBOR too: kinesalite's
///    `sendError` answers in the request's content type (`index.js`, `test/connection.js`).
/// 6. **Output-less operations answer zero bytes**, as in JSON: the SDK parses no payload
///    for an output without payload members (`JsonProtocolUnmarshaller.unmarshall`);
///    kinesis-mock's `emptyOk` sends an empty CBOR reply.
/// 7. **SubscribeToShard's event payloads are CBOR** when the request was: the generated
///    client builds its `eventResponseHandler` from the same protocol factory
///    (`protocolFactory.createResponseHandler(JsonOperationMetadata…isPayloadJson(true))`),
///    so with CBOR on it parses each event with the CBOR parser. kinesis-mock writes JSON
///    events whatever the request (`SubscribeToShardRequest.scala`), which such a client
///    cannot read. See ``KinesisEventStream``.
/// 8. **Tags are transparent** except 1 (a timestamp) and 2/3 (bignums): Jackson's
///    `CBORParser` turns bignums into integers and otherwise hands over the tagged item.
///    `undefined` reads as null (kinesis-mock's `circeJsonAstDecoder`); a map key that is
///    not text, or another simple value, is a SerializationException.
public enum KinesisCBOR {
    /// The content type of every CBOR request and response.
    public static let contentType = "application/x-amz-cbor-1.1"

    /// Decodes an operation's input. An empty body means `{}`, as for JSON.
    public static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8]) throws(KinesisError) -> T {
        try KinesisBodyEncoding.cbor.decode(type, from: try parse(body))
    }

    /// Encodes an operation's output; `EmptyOutput` is an empty body (quirk 6).
    public static func encode<T: Encodable>(_ value: T) throws(KinesisError) -> [UInt8] {
        if value is EmptyOutput { return [] }
        do {
            var writer = CBORWriter(capacity: 256)
            var numbers = SequenceNumberText()
            write(try ShapeNode.make(value), into: &writer, numbers: &numbers)
            return writer.bytes
        } catch {
            throw KinesisError(.internalFailure, "Internal service failure.")
        }
    }

    /// The error envelope, with the same member names as ``KinesisJSON/errorBody(_:)``.
    public static func errorBody(_ error: KinesisError) -> [UInt8] {
        errorBody(type: error.type.rawValue, messageKey: error.type == .serialization ? "Message" : "message",
                  message: error.message)
    }

    static func errorBody(type: String, messageKey: String, message: String) -> [UInt8] {
        var writer = CBORWriter()
        writer.beginIndefiniteMap()
        writer.writeText("__type")
        writer.writeText(type)
        if !message.isEmpty {
            writer.writeText(messageKey)
            writer.writeText(message)
        }
        writer.writeBreak()
        return writer.bytes
    }

    // MARK: reading requests

    /// Phase one, before authentication: is the body one well-formed CBOR item that a
    /// Kinesis document can hold? Anything else is a bare SerializationException, as
    /// malformed JSON is.
    static func parse(_ body: UnsafeRawBufferPointer) throws(KinesisError) -> JSONValue {
        guard !body.isEmpty else { return .object([:]) }
        do {
            return try CBORReader.read(
                body, into: KinesisDocumentBuilder(), maximumItems: KinesisBodyEncoding.maximumItems)
        } catch {
            throw KinesisError(.serialization, "")
        }
    }

    static func parse(_ body: [UInt8]) throws(KinesisError) -> JSONValue {
        try body.withUnsafeBytes { raw in Result { () throws(KinesisError) in try parse(raw) } }.get()
    }

    // MARK: writing replies

    /// A shape as CBOR: maps and arrays indefinite (quirk 3), timestamps tag 1 + integer
    /// milliseconds (quirk 1), blobs byte strings (quirk 2), integers shortest (quirk 4).
    static func write(_ node: ShapeNode, into writer: inout CBORWriter, numbers: inout SequenceNumberText) {
        switch node.kind {
        case .null: writer.writeNull()
        case .bool(let b): writer.writeBool(b)
        case .integer(let n): writer.writeInteger(n)
        case .unsigned(let n): writer.writeUnsigned(n)
        case .double(let d): writer.writeDouble(d)  // as Jackson's writeNumber(double)
        case .timestamp(let date):
            writer.writeTag(1)
            writer.writeInteger(ShapeNode.epochMilliseconds(date))
        case .string(let s): writer.writeText(s)
        case .sequenceNumber(let n):
            if let issued = n.issued {
                numbers.withDigits(issued) { writer.writeText(utf8: $0) }
            } else {
                writer.writeText(n.description)
            }
        case .blob(let data): writer.writeBytes(data)
        case .array(let elements):
            writer.beginIndefiniteArray()
            for e in elements { write(e, into: &writer, numbers: &numbers) }
            writer.writeBreak()
        case .object(let names, let values):
            writer.beginIndefiniteMap()
            for i in names.indices {
                writer.writeText(names[i])
                write(values[i], into: &writer, numbers: &numbers)
            }
            writer.writeBreak()
        }
    }
}

/// Reads a CBOR request straight into Kinesis's document (``JSONValue``), refusing what a
/// Kinesis request cannot hold (``KinesisCBOR`` quirks 1, 4 and 8): integers outside
/// Int64, NaN and infinities, map keys that are not text, simple values other than
/// false/true/null/undefined, tag 1 on anything but a number, bignums beyond Int64.
/// Numbers become their decimal lexeme, so the shape decoder truncates and saturates them
/// exactly as it does JSON numbers.
struct KinesisDocumentBuilder: CBORTreeBuilder {
    func integer(negative: Bool, _ n: UInt64) throws(CBORRefusal) -> JSONValue {
        guard n <= UInt64(Int64.max) else { throw CBORRefusal(reason: "integer beyond the range of a long") }
        return .number(negative ? String(-1 - Int64(n)) : String(n))
    }

    func bytes(_ bytes: [UInt8]) -> JSONValue { .bytes(bytes) }
    func text(_ text: String) -> JSONValue { .string(text) }
    func array(_ elements: [JSONValue]) -> JSONValue { .array(elements) }

    func map(_ entries: [(key: JSONValue, value: JSONValue)]) throws(CBORRefusal) -> JSONValue {
        var members: [String: JSONValue] = [:]
        members.reserveCapacity(entries.count)
        for entry in entries {
            guard case .string(let name) = entry.key else { throw CBORRefusal(reason: "a map key that is not text") }
            members[name] = entry.value  // a repeated member: the last one wins, as in JSON
        }
        return .object(members)
    }

    func tagged(_ tag: UInt64, _ item: JSONValue) throws(CBORRefusal) -> JSONValue {
        switch tag {
        case 1:
            guard case .number = item else { throw CBORRefusal(reason: "tag 1 (epoch time) on something not a number") }
            return item
        case 2, 3:
            guard case .bytes(let magnitude) = item else {
                throw CBORRefusal(reason: "a bignum tag on something not bytes")
            }
            let significant = magnitude.drop { $0 == 0 }
            guard significant.count <= 8 else { throw CBORRefusal(reason: "bignum beyond the range of a long") }
            let n = significant.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return try integer(negative: tag == 3, n)
        default:
            return item
        }
    }

    func simple(_ value: UInt8) throws(CBORRefusal) -> JSONValue {
        switch value {
        case 20: return .bool(false)
        case 21: return .bool(true)
        case 22, 23: return .null
        default: throw CBORRefusal(reason: "simple value \(value)")
        }
    }

    func float(_ value: Double) throws(CBORRefusal) -> JSONValue {
        guard value.isFinite else { throw CBORRefusal(reason: "\(value) has no JSON equivalent") }
        return .number(String(value))
    }
}
