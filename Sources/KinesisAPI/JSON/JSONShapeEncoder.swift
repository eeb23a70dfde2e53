import Foundation
import StreamEngine

/// Encodes Kinesis shapes as the JSON 1.1 protocol writes them (KINESIS.md §1.2):
///
/// * property `streamARN` becomes member `StreamARN` (first letter upper-cased),
///   in declaration order; nil members are left out (botocore drops nulls anyway);
/// * `Data` is standard padded base64;
/// * `Date` is epoch seconds as a plain decimal with exactly three fractional
///   digits (`1700000000.123`), never exponent notation, because some Java SDK
///   versions mis-parse `1.7E9`. Foundation's JSONEncoder cannot do this: it
///   prints `721692800.1229999` by default, `1700000000.1229999`-style drift
///   through `Double`, and drops trailing zeros through `Decimal`;
/// * strings are escaped minimally (`/` is left alone) and written as UTF-8.
///
/// Map members (`Tags`) keep their keys verbatim. The shape is first turned into a
/// ``ShapeNode`` tree, which ``KinesisCBOR`` writes as CBOR instead: one encoder of
/// shapes, two encodings.
struct JSONShapeEncoder {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let node = try ShapeNode.make(value)
        var out: [UInt8] = []
        out.reserveCapacity(256)
        var numbers = SequenceNumberText()
        node.writeJSON(into: &out, numbers: &numbers)
        return out
    }

    /// `1700000000.123` for a date, rounded to the millisecond.
    static func timestampText(_ date: Date) -> String {
        let ms = ShapeNode.epochMilliseconds(date)
        let magnitude = ms.magnitude
        let fraction = String(magnitude % 1000)
        return (ms < 0 ? "-" : "") + String(magnitude / 1000) + "." + String(repeating: "0", count: 3 - fraction.count)
            + fraction
    }
}

/// A shape being encoded, independent of the encoding: the tree ``JSONShapeEncoder``
/// writes as JSON and ``KinesisCBOR`` as CBOR. Scalars keep their type (a timestamp is a
/// `Date`, a blob `Data`) so that each encoding writes them its own way.
///
/// A class, because a container handed out by the `Encoder` protocol must be able to
/// fill its node after the call returned.
final class ShapeNode {
    enum Kind {
        case null
        case bool(Bool)
        case integer(Int64)
        case unsigned(UInt64)
        /// Always finite: the encoder refuses NaN and infinities, which JSON cannot carry.
        case double(Double)
        case timestamp(Date)
        case string(String)
        /// Kept as the engine's number until written: a reply of 500 records formats
        /// each from the last (``SequenceNumberText``) instead of allocating 500 strings.
        case sequenceNumber(LazySequenceNumber)
        case blob(Data)
        case array([ShapeNode])
        case object(names: [String], values: [ShapeNode])
    }

    var kind: Kind
    init(_ kind: Kind) { self.kind = kind }

    /// The tree of one shape.
    static func make<T: Encodable>(_ value: T) throws -> ShapeNode {
        try ShapeEncoding.box(value, codingPath: [])
    }

    /// Milliseconds since the epoch, rounded: both encodings carry timestamps at this precision.
    static func epochMilliseconds(_ date: Date) -> Int64 {
        // Saturating: every date the engine holds fits, but a trap here would end the server.
        Int64(saturating: date.timeIntervalSince1970 * 1000)
    }

    func append(_ node: ShapeNode) {
        if case .array(var elements) = kind {
            kind = .null  // release the array so the append below does not copy it
            elements.append(node)
            kind = .array(elements)
        }
    }

    func set(_ name: String, _ node: ShapeNode) {
        guard case .object(var names, var values) = kind else { return }
        kind = .null
        if let i = names.firstIndex(of: name) {
            values[i] = node
        } else {
            names.append(name)
            values.append(node)
        }
        kind = .object(names: names, values: values)
    }

    /// `numbers` carries the last sequence number written, so consecutive ones cost a short add.
    func writeJSON(into out: inout [UInt8], numbers: inout SequenceNumberText) {
        switch kind {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .integer(let n): out.append(contentsOf: String(n).utf8)
        case .unsigned(let n): out.append(contentsOf: String(n).utf8)
        case .double(let d): out.append(contentsOf: JSONNode.numberText(d).utf8)
        case .timestamp(let date): out.append(contentsOf: JSONShapeEncoder.timestampText(date).utf8)
        case .string(let s): JSONNode.writeString(s, into: &out)
        case .sequenceNumber(let n): JSONNode.writeSequenceNumber(n, numbers: &numbers, into: &out)
        case .blob(let data):
            out.append(UInt8(ascii: "\""))
            Base64.encode(data, into: &out)
            out.append(UInt8(ascii: "\""))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, e) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                e.writeJSON(into: &out, numbers: &numbers)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let names, let values):
            out.append(UInt8(ascii: "{"))
            for i in names.indices {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONNode.writeString(names[i], into: &out)
                out.append(UInt8(ascii: ":"))
                values[i].writeJSON(into: &out, numbers: &numbers)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

/// JSON text of scalars, shared by the shape encoder and the hand-written envelopes
/// (error bodies, event-stream exceptions, 503 answers).
enum JSONNode {
    /// An engine-issued number's digits go in unescaped (decimal digits only) and unallocated; text as text.
    static func writeSequenceNumber(
        _ n: LazySequenceNumber, numbers: inout SequenceNumberText, into out: inout [UInt8]
    ) {
        guard let issued = n.issued else { return writeString(n.description, into: &out) }
        out.append(UInt8(ascii: "\""))
        numbers.withDigits(issued) { out.append(contentsOf: $0) }
        out.append(UInt8(ascii: "\""))
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = s
        text.withUTF8 { utf8 in
            // Most strings (shard ids, names, keys) need no escape: one copy, and no byte-by-byte append.
            if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                out.append(contentsOf: utf8)
            } else {
                for b in utf8 { writeEscaped(b, into: &out) }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeEscaped(_ b: UInt8, into out: inout [UInt8]) {
        switch b {
        case UInt8(ascii: "\""):
            out.append(UInt8(ascii: "\\"))
            out.append(b)
        case UInt8(ascii: "\\"):
            out.append(UInt8(ascii: "\\"))
            out.append(b)
        case 0x0A:
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "n"))
        case 0x0D:
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "r"))
        case 0x09:
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "t"))
        case 0..<0x20:
            out.append(contentsOf: "\\u00".utf8)
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0xF)])
        default: out.append(b)
        }
    }

    /// A finite double: whole numbers without ".0"; no Kinesis shape has other floating members.
    static func numberText(_ value: Double) -> String {
        if value.rounded() == value, value.magnitude < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

private struct NameKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

private final class ShapeEncoding: Encoder {
    let codingPath: [any CodingKey]
    let isMap: Bool
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// The value's node. It starts as an empty object, so a type that encodes
    /// nothing (EmptyOutput) is `{}`; the first container request sets its kind.
    let node: ShapeNode
    private var started = false

    init(codingPath: [any CodingKey], isMap: Bool, node: ShapeNode = ShapeNode(.object(names: [], values: []))) {
        self.codingPath = codingPath
        self.isMap = isMap
        self.node = node
    }

    /// Encodes one value, with the special cases every Kinesis shape needs.
    static func box<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> ShapeNode {
        switch value {
        case let data as Data: return ShapeNode(.blob(data))
        case let date as Date: return ShapeNode(.timestamp(date))
        case let string as String: return ShapeNode(.string(string))
        case let number as LazySequenceNumber: return ShapeNode(.sequenceNumber(number))
        default: break
        }
        let encoder = ShapeEncoding(codingPath: codingPath, isMap: value is JSONMapMarker)
        try value.encode(to: encoder)
        return encoder.node
    }

    private func start(_ kind: ShapeNode.Kind) {
        if !started { node.kind = kind }
        started = true
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        start(.object(names: [], values: []))
        return KeyedEncodingContainer(ShapeKeyedEncoder<Key>(node: node, codingPath: codingPath, isMap: isMap))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        start(.array([]))
        return ShapeUnkeyedEncoder(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        started = true
        return ShapeSingleValueEncoder(encoder: self)
    }
}

/// JSON has no NaN or infinity: such a value cannot be a Kinesis reply in either encoding.
private func finite<F: BinaryFloatingPoint>(_ value: F, _ path: [any CodingKey]) throws -> Double {
    guard value.isFinite else {
        throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "JSON has no \(value)"))
    }
    return Double(value)
}

private struct ShapeSingleValueEncoder: SingleValueEncodingContainer {
    let encoder: ShapeEncoding
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ kind: ShapeNode.Kind) { encoder.node.kind = kind }

    func encodeNil() { set(.null) }
    func encode(_ value: Bool) { set(.bool(value)) }
    func encode(_ value: String) { set(.string(value)) }
    func encode(_ value: Double) throws { set(.double(try finite(value, codingPath))) }
    func encode(_ value: Float) throws { set(.double(try finite(value, codingPath))) }
    func encode(_ value: Int) { set(.integer(Int64(value))) }
    func encode(_ value: Int8) { set(.integer(Int64(value))) }
    func encode(_ value: Int16) { set(.integer(Int64(value))) }
    func encode(_ value: Int32) { set(.integer(Int64(value))) }
    func encode(_ value: Int64) { set(.integer(Int64(value))) }
    func encode(_ value: UInt) { set(.unsigned(UInt64(value))) }
    func encode(_ value: UInt8) { set(.unsigned(UInt64(value))) }
    func encode(_ value: UInt16) { set(.unsigned(UInt64(value))) }
    func encode(_ value: UInt32) { set(.unsigned(UInt64(value))) }
    func encode(_ value: UInt64) { set(.unsigned(UInt64(value))) }
    func encode<T: Encodable>(_ value: T) throws {
        encoder.node.kind = try ShapeEncoding.box(value, codingPath: codingPath).kind
    }
}

private struct ShapeKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: ShapeNode
    let codingPath: [any CodingKey]
    let isMap: Bool

    private func name(_ key: Key) -> String { isMap ? key.stringValue : key.stringValue.upperFirst }
    private func put(_ kind: ShapeNode.Kind, _ key: Key) { node.set(name(key), ShapeNode(kind)) }

    mutating func encodeNil(forKey key: Key) { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        put(.double(try finite(value, codingPath + [key])), key)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        put(.double(try finite(value, codingPath + [key])), key)
    }
    mutating func encode(_ value: Int, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) { put(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) { put(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) { put(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) { put(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) { put(.unsigned(UInt64(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) { put(.unsigned(UInt64(value)), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        node.set(name(key), try ShapeEncoding.box(value, codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = ShapeNode(.object(names: [], values: []))
        node.set(name(key), child)
        return KeyedEncodingContainer(
            ShapeKeyedEncoder<NestedKey>(node: child, codingPath: codingPath + [key], isMap: false))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = ShapeNode(.array([]))
        node.set(name(key), child)
        return ShapeUnkeyedEncoder(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = ShapeNode(.object(names: [], values: []))
        node.set(name(key), child)
        return ShapeEncoding(codingPath: codingPath + [key], isMap: false, node: child)
    }
}

private struct ShapeUnkeyedEncoder: UnkeyedEncodingContainer {
    let node: ShapeNode
    let codingPath: [any CodingKey]
    var count: Int {
        if case .array(let elements) = node.kind { return elements.count }
        return 0
    }

    private func add(_ kind: ShapeNode.Kind) { node.append(ShapeNode(kind)) }
    private var nextPath: [any CodingKey] { codingPath + [IndexKey(intValue: count)] }

    mutating func encodeNil() { add(.null) }
    mutating func encode(_ value: Bool) { add(.bool(value)) }
    mutating func encode(_ value: String) { add(.string(value)) }
    mutating func encode(_ value: Double) throws { add(.double(try finite(value, nextPath))) }
    mutating func encode(_ value: Float) throws { add(.double(try finite(value, nextPath))) }
    mutating func encode(_ value: Int) { add(.integer(Int64(value))) }
    mutating func encode(_ value: Int8) { add(.integer(Int64(value))) }
    mutating func encode(_ value: Int16) { add(.integer(Int64(value))) }
    mutating func encode(_ value: Int32) { add(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) { add(.integer(Int64(value))) }
    mutating func encode(_ value: UInt) { add(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) { add(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt16) { add(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt32) { add(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt64) { add(.unsigned(UInt64(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        node.append(try ShapeEncoding.box(value, codingPath: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = ShapeNode(.object(names: [], values: []))
        let path = nextPath
        node.append(child)
        return KeyedEncodingContainer(ShapeKeyedEncoder<NestedKey>(node: child, codingPath: path, isMap: false))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = ShapeNode(.array([]))
        let path = nextPath
        node.append(child)
        return ShapeUnkeyedEncoder(node: child, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let child = ShapeNode(.object(names: [], values: []))
        let path = nextPath
        node.append(child)
        return ShapeEncoding(codingPath: path, isMap: false, node: child)
    }
}
