import Foundation
import StreamEngine

/// The two encodings of a Kinesis request body and of its reply, chosen by the request's
/// `Content-Type` (KINESIS.md §1.1, §1.6): JSON 1.1, which boto3, the CLI and every SDK
/// but Java's speak, and CBOR, the AWS SDK for Java's default (``KinesisCBOR``).
///
/// They are two doors into the same operations: one document model (``JSONValue``),
/// one shape decoder, one shape encoder (``ShapeNode``), one dispatch table; only the
/// bytes differ. A reply, an error and SubscribeToShard's event payloads are written in
/// the encoding of the request.
public enum KinesisBodyEncoding: Sendable, Hashable {
    case json
    case cbor

    /// Data items (object members, array elements and scalars) one request body may hold, in
    /// either encoding. The largest real input, PutRecords with 500 records, holds about 3,500;
    /// a million keeps a hostile 16 MiB body of one-byte items (16 million tree nodes, hundreds
    /// of megabytes) from being built at all.
    static let maximumItems = 1 << 20

    /// The encoding of a request with this `Content-Type` header (case and parameters
    /// aside); nil for a content type Kinesis does not route (answered in XML).
    init?(contentType header: String?) {
        guard let header else { return nil }
        let mediaType = header.split(separator: ";", omittingEmptySubsequences: false).first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        self.init(mediaType: mediaType)
    }

    /// The encoding of a request with this media type (lower-cased, parameters removed).
    init?(mediaType: String) {
        switch mediaType {
        case KinesisJSON.contentType, "application/json": self = .json
        case KinesisCBOR.contentType: self = .cbor
        default: return nil
        }
    }

    /// The `Content-Type` of replies (and, for JSON, of `application/json` requests too).
    public var contentType: String {
        switch self {
        case .json: KinesisJSON.contentType
        case .cbor: KinesisCBOR.contentType
        }
    }

    /// Phase one, before authentication: is the body a document of this encoding at all?
    func parse(_ body: UnsafeRawBufferPointer) throws(KinesisError) -> JSONValue {
        switch self {
        case .json: try KinesisJSON.parse(body)
        case .cbor: try KinesisCBOR.parse(body)
        }
    }

    /// Phase two, once the operation is known: the document as the operation's input shape.
    func decode<T: Decodable>(_ type: T.Type, from document: JSONValue) throws(KinesisError) -> T {
        guard case .object = document else { throw KinesisError(.serialization, "") }
        return try JSONShapeDecoder.decode(type, from: document, encoding: self)
    }

    /// An operation's output. `EmptyOutput` is an empty body in both encodings: Kinesis
    /// answers its 17 output-less operations with zero bytes (§1.3).
    func encode<T: Encodable>(_ value: T) throws(KinesisError) -> [UInt8] {
        switch self {
        case .json: try KinesisJSON.encode(value)
        case .cbor: try KinesisCBOR.encode(value)
        }
    }

    /// The error envelope, `{"__type": …, "message": …}` in either encoding.
    func errorBody(_ error: KinesisError) -> [UInt8] {
        switch self {
        case .json: KinesisJSON.errorBody(error)
        case .cbor: KinesisCBOR.errorBody(error)
        }
    }

    /// The 503 ServiceUnavailableException envelope (a type outside ``KinesisErrorType``).
    func serviceUnavailableBody(message: String) -> [UInt8] {
        switch self {
        case .json: ServiceUnavailable.body(message: message)
        case .cbor: KinesisCBOR.errorBody(type: ServiceUnavailable.type, messageKey: "message", message: message)
        }
    }
}
