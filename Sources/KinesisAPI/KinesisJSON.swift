import Foundation
import StreamEngine

/// The body codec of Kinesis's `awsJson1_1` protocol (KINESIS.md §1.1–§1.4):
/// shapes to and from JSON with AWS member names, base64 blobs and
/// epoch-second timestamps, plus the `{"__type": …, "message": …}` error envelope.
///
/// Every failure to read a body is a ``KinesisError`` of type
/// `SerializationException`, as Kinesis reports it: malformed JSON gets the bare
/// `{"__type":"SerializationException"}`, a value of the wrong type gets Coral's
/// message.
public enum KinesisJSON {
    /// The content type of every JSON request and response.
    public static let contentType = "application/x-amz-json-1.1"

    /// Decodes an operation's input. An empty body means `{}` (Smithy's
    /// "empty body serialization" rule, which SDKs rely on for input-less calls).
    public static func decode<T: Decodable>(_ type: T.Type, from body: [UInt8]) throws(KinesisError) -> T {
        try decode(type, from: try parse(body))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from body: UnsafeRawBufferPointer) throws(KinesisError) -> T
    {
        try decode(type, from: try parse(body))
    }

    /// Encodes an operation's output. `EmptyOutput` is an empty body: Kinesis
    /// answers its 17 output-less operations with zero bytes, not `{}` (§1.3).
    public static func encode<T: Encodable>(_ value: T) throws(KinesisError) -> [UInt8] {
        if value is EmptyOutput { return [] }
        if let put = value as? PutRecordsOutput { return PutRecordsReplyJSON.encode(put) }
        do {
            return try JSONShapeEncoder.encode(value)
        } catch {
            throw KinesisError(.internalFailure, "Internal service failure.")
        }
    }

    /// The error envelope. A SerializationException names its text `Message`
    /// (capital M) as Coral does for type errors (kinesalite's AWS-derived tests);
    /// an empty message is left out, as in `{"__type":"SerializationException"}`
    /// and `{"__type":"UnknownOperationException"}`.
    public static func errorBody(_ error: KinesisError) -> [UInt8] {
        var out: [UInt8] = Array(#"{"__type":"#.utf8)
        JSONNode.writeString(error.type.rawValue, into: &out)
        if !error.message.isEmpty {
            out.append(contentsOf: Array((error.type == .serialization ? #","Message":"# : #","message":"#).utf8))
            JSONNode.writeString(error.message, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    // MARK: two-phase decoding for the server

    /// Phase one, before authentication: is the body JSON at all? Kinesis
    /// answers malformed JSON before it looks at the signature (§1.5).
    static func parse(_ body: [UInt8]) throws(KinesisError) -> JSONValue {
        guard !body.isEmpty else { return .object([:]) }
        do {
            return try JSONParser.parse(body, maximumItems: KinesisBodyEncoding.maximumItems)
        } catch {
            throw KinesisError(.serialization, "")
        }
    }

    static func parse(_ body: UnsafeRawBufferPointer) throws(KinesisError) -> JSONValue {
        guard !body.isEmpty else { return .object([:]) }
        do {
            return try JSONParser.parse(body, maximumItems: KinesisBodyEncoding.maximumItems)
        } catch {
            throw KinesisError(.serialization, "")
        }
    }

    /// Phase two, once the operation is known: the document as the operation's input shape.
    static func decode<T: Decodable>(_ type: T.Type, from document: JSONValue) throws(KinesisError) -> T {
        guard case .object = document else { throw KinesisError(.serialization, "") }
        return try JSONShapeDecoder.decode(type, from: document)
    }
}
