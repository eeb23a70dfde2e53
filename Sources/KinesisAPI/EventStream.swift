import Foundation
import StreamEngine

// The `application/vnd.amazon.eventstream` framing that carries SubscribeToShard
// (KINESIS.md §1.7). Every integer is big-endian:
//
//   total_length u32 | headers_length u32 | prelude_crc u32 | headers | payload | message_crc u32
//
// prelude_crc is the CRC-32 of the first 8 bytes, message_crc the CRC-32 of
// everything before it.

/// The value of one event-stream header, by wire type (0–9).
public enum EventStreamHeaderValue: Sendable, Hashable {
    case bool(Bool)  // types 0 (true) and 1 (false): no value bytes
    case byte(Int8)  // 2
    case short(Int16)  // 3
    case integer(Int32)  // 4
    case long(Int64)  // 5
    case bytes([UInt8])  // 6: u16 length + bytes
    case string(String)  // 7: u16 length + UTF-8
    /// Type 8: milliseconds since the Unix epoch.
    case timestamp(Int64)
    case uuid(UUID)  // 9: 16 bytes

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// One header of an event-stream message: a name of at most 255 UTF-8 bytes and a typed value.
public struct EventStreamHeader: Sendable, Hashable {
    public var name: String
    public var value: EventStreamHeaderValue

    public init(_ name: String, _ value: EventStreamHeaderValue) {
        self.name = name
        self.value = value
    }
}

/// One event-stream message: ordered headers and an opaque payload.
public struct EventStreamMessage: Sendable, Hashable {
    public var headers: [EventStreamHeader]
    public var payload: [UInt8]

    public init(headers: [EventStreamHeader], payload: [UInt8]) {
        self.headers = headers
        self.payload = payload
    }

    /// The first header with this name.
    public subscript(header name: String) -> EventStreamHeaderValue? {
        headers.first { $0.name == name }?.value
    }
}

/// Why bytes are not a valid event-stream message (botocore raises the same conditions).
public enum EventStreamError: Error, Hashable, Sendable {
    case preludeChecksumMismatch(expected: UInt32, calculated: UInt32)
    case messageChecksumMismatch(expected: UInt32, calculated: UInt32)
    /// Total length below the 16-byte minimum or headers longer than the message.
    case invalidLength(total: UInt32, headers: UInt32)
    case headersTooLong(UInt32)
    case payloadTooLong(UInt32)
    case invalidHeader(String)
}

/// Encodes messages into the `application/vnd.amazon.eventstream` wire format,
/// within botocore's limits (headers ≤ 128 KiB, payload ≤ 24 MiB).
public enum EventStreamEncoder {
    /// Larger values cannot be framed: names carry a u8 length, strings and bytes a u16.
    public static func encode(_ message: EventStreamMessage) throws(EventStreamError) -> [UInt8] {
        var headers: [UInt8] = []
        for header in message.headers {
            let name = Array(header.name.utf8)
            guard !name.isEmpty, name.count <= 255 else {
                throw .invalidHeader("header name must be 1...255 bytes: \(header.name)")
            }
            headers.append(UInt8(name.count))
            headers += name
            switch header.value {
            case .bool(let b): headers.append(b ? 0 : 1)
            case .byte(let v):
                headers.append(2)
                headers.append(UInt8(bitPattern: v))
            case .short(let v):
                headers.append(3)
                headers.appendBigEndian(UInt16(bitPattern: v))
            case .integer(let v):
                headers.append(4)
                headers.appendBigEndian(UInt32(bitPattern: v))
            case .long(let v):
                headers.append(5)
                headers.appendBigEndian(UInt64(bitPattern: v))
            case .bytes(let b):
                guard b.count <= Int(UInt16.max) else {
                    throw .invalidHeader("bytes header \(header.name) longer than 65535")
                }
                headers.append(6)
                headers.appendBigEndian(UInt16(b.count))
                headers += b
            case .string(let s):
                let utf8 = Array(s.utf8)
                guard utf8.count <= Int(UInt16.max) else {
                    throw .invalidHeader("string header \(header.name) longer than 65535")
                }
                headers.append(7)
                headers.appendBigEndian(UInt16(utf8.count))
                headers += utf8
            case .timestamp(let ms):
                headers.append(8)
                headers.appendBigEndian(UInt64(bitPattern: ms))
            case .uuid(let id):
                headers.append(9)
                withUnsafeBytes(of: id.uuid) { headers.append(contentsOf: $0) }
            }
        }
        guard headers.count <= EventStreamDecoder.maximumHeadersLength else {
            throw .headersTooLong(UInt32(headers.count))
        }
        guard message.payload.count <= EventStreamDecoder.maximumPayloadLength else {
            throw .payloadTooLong(UInt32(truncatingIfNeeded: message.payload.count))
        }
        let total = 12 + headers.count + message.payload.count + 4
        var out: [UInt8] = []
        out.reserveCapacity(total)
        out.appendBigEndian(UInt32(total))
        out.appendBigEndian(UInt32(headers.count))
        out.appendBigEndian(CRC32.checksum(out))
        out += headers
        out += message.payload
        out.appendBigEndian(CRC32.checksum(out))
        return out
    }
}

/// Decodes a byte stream into messages, however the bytes arrive (a client
/// reading a chunked SubscribeToShard body feeds whatever each read returned).
public struct EventStreamDecoder: Sendable {
    /// botocore's client-side limits.
    public static let maximumHeadersLength = 128 * 1024
    public static let maximumPayloadLength = 24 * 1024 * 1024

    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 {
            // Drop consumed messages; what remains is at most one partial message.
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, or nil when more bytes are needed.
    public mutating func next() throws(EventStreamError) -> EventStreamMessage? {
        let available = buffer.count - start
        guard available >= 12 else { return nil }
        let total = buffer.bigEndianUInt32(at: start)
        let headersLength = buffer.bigEndianUInt32(at: start + 4)
        let preludeCRC = buffer.bigEndianUInt32(at: start + 8)
        let calculatedPrelude = buffer.withUnsafeBytes {
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start..<start + 8]))
        }
        guard preludeCRC == calculatedPrelude else {
            throw .preludeChecksumMismatch(expected: preludeCRC, calculated: calculatedPrelude)
        }
        guard total >= 16, UInt64(headersLength) + 16 <= UInt64(total) else {
            throw .invalidLength(total: total, headers: headersLength)
        }
        guard headersLength <= Self.maximumHeadersLength else { throw .headersTooLong(headersLength) }
        let payloadLength = total - headersLength - 16
        guard payloadLength <= Self.maximumPayloadLength else { throw .payloadTooLong(payloadLength) }
        guard available >= Int(total) else { return nil }

        let end = start + Int(total)
        let messageCRC = buffer.bigEndianUInt32(at: end - 4)
        let calculated = buffer.withUnsafeBytes {
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[start + 8..<end - 4]), continuing: preludeCRC)
        }
        guard messageCRC == calculated else {
            throw .messageChecksumMismatch(expected: messageCRC, calculated: calculated)
        }

        let headersStart = start + 12
        let headers = try Self.parseHeaders(buffer[headersStart..<headersStart + Int(headersLength)])
        let payload = Array(buffer[(headersStart + Int(headersLength))..<(end - 4)])
        start = end
        return EventStreamMessage(headers: headers, payload: payload)
    }

    private static func parseHeaders(_ bytes: ArraySlice<UInt8>) throws(EventStreamError) -> [EventStreamHeader] {
        var headers: [EventStreamHeader] = []
        var i = bytes.startIndex
        func need(_ n: Int) throws(EventStreamError) {
            guard bytes.endIndex - i >= n else { throw .invalidHeader("truncated header") }
        }
        func integer<I: FixedWidthInteger>(_: I.Type) throws(EventStreamError) -> I {
            try need(I.bitWidth / 8)
            var v: I = 0
            for _ in 0..<(I.bitWidth / 8) {
                v = v << 8 | I(bytes[i])
                i += 1
            }
            return v
        }
        while i < bytes.endIndex {
            let nameLength = Int(try integer(UInt8.self))
            try need(nameLength)
            guard let name = String(validating: bytes[i..<i + nameLength], as: UTF8.self) else {
                throw .invalidHeader("header name is not UTF-8")
            }
            i += nameLength
            let type = try integer(UInt8.self)
            let value: EventStreamHeaderValue
            switch type {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2: value = .byte(Int8(bitPattern: try integer(UInt8.self)))
            case 3: value = .short(Int16(bitPattern: try integer(UInt16.self)))
            case 4: value = .integer(Int32(bitPattern: try integer(UInt32.self)))
            case 5: value = .long(Int64(bitPattern: try integer(UInt64.self)))
            case 6, 7:
                let n = Int(try integer(UInt16.self))
                try need(n)
                let raw = bytes[i..<i + n]
                i += n
                if type == 6 {
                    value = .bytes(Array(raw))
                } else {
                    guard let s = String(validating: raw, as: UTF8.self) else {
                        throw .invalidHeader("header \(name) is not UTF-8")
                    }
                    value = .string(s)
                }
            case 8: value = .timestamp(Int64(bitPattern: try integer(UInt64.self)))
            case 9:
                try need(16)
                let b = Array(bytes[i..<i + 16])
                i += 16
                value = .uuid(
                    UUID(
                        uuid: (
                            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                            b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
                        )))
            default: throw .invalidHeader("unknown header value type \(type)")
            }
            headers.append(EventStreamHeader(name, value))
        }
        return headers
    }
}

/// The SubscribeToShard messages Kinesis sends (KINESIS.md §1.7): the
/// mandatory `initial-response` first, then `SubscribeToShardEvent`s, and an
/// `exception` message when the subscription fails mid-stream.
///
/// Payloads are written in the encoding of the SubscribeToShard request, with a
/// matching `:content-type`: JSON (`application/json`, what botocore reads), or CBOR
/// for a CBOR request, whose Java client parses every event with its CBOR parser
/// (``KinesisCBOR``, quirk 7).
public enum KinesisEventStream {
    public static let contentType = "application/vnd.amazon.eventstream"

    /// botocore refuses a stream whose first event is anything else; the
    /// payload is SubscribeToShard's non-stream output members, i.e. none.
    public static func initialResponse(_ encoding: KinesisBodyEncoding = .json) -> EventStreamMessage {
        switch encoding {
        case .json: event(type: "initial-response", payload: Array("{}".utf8), encoding: encoding)
        case .cbor: event(type: "initial-response", payload: [0xBF, 0xFF], encoding: encoding)  // an empty map
        }
    }

    public static func event(
        _ event: SubscribeToShardEvent,
        encoding: KinesisBodyEncoding = .json
    ) throws(KinesisError) -> EventStreamMessage {
        self.event(type: "SubscribeToShardEvent", payload: try encoding.encode(event), encoding: encoding)
    }

    /// A modelled exception (ResourceInUseException when a newer subscription
    /// takes over, KMS errors, InternalFailure) as botocore expects it.
    public static func exception(_ error: KinesisError, encoding: KinesisBodyEncoding = .json) -> EventStreamMessage {
        let payload: [UInt8]
        switch encoding {
        case .json:
            var json: [UInt8] = Array(#"{"message":"#.utf8)
            JSONNode.writeString(error.message, into: &json)
            json.append(UInt8(ascii: "}"))
            payload = json
        case .cbor:
            var writer = CBORWriter()
            writer.beginIndefiniteMap()
            writer.writeText("message")
            writer.writeText(error.message)
            writer.writeBreak()
            payload = writer.bytes
        }
        return EventStreamMessage(
            headers: [
                EventStreamHeader(":exception-type", .string(error.type.rawValue)),
                EventStreamHeader(":content-type", .string(payloadContentType(encoding))),
                EventStreamHeader(":message-type", .string("exception")),
            ], payload: payload)
    }

    static func event(type: String, payload: [UInt8], encoding: KinesisBodyEncoding = .json) -> EventStreamMessage {
        EventStreamMessage(
            headers: [
                EventStreamHeader(":event-type", .string(type)),
                EventStreamHeader(":content-type", .string(payloadContentType(encoding))),
                EventStreamHeader(":message-type", .string("event")),
            ], payload: payload)
    }

    /// `application/json` for JSON (§1.7); the request's own content type for CBOR.
    static func payloadContentType(_ encoding: KinesisBodyEncoding) -> String {
        switch encoding {
        case .json: "application/json"
        case .cbor: KinesisCBOR.contentType
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<I: FixedWidthInteger>(_ value: I) {
        var v = value.bigEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }

    func bigEndianUInt32(at i: Int) -> UInt32 {
        UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3])
    }
}
