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
/// Map members (`Tags`) keep their keys verbatim.
struct JSONShapeEncoder {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let node = try ShapeEncoding.box(value, codingPath: [])
        var out: [UInt8] = []
        out.reserveCapacity(256)
        node.write(into: &out)
        return out
    }

    /// `1700000000.123` for a date, rounded to the millisecond.
    static func timestampText(_ date: Date) -> String {
        // Saturating: every date the engine holds fits, but a trap here would end the server.
        let ms = Int64(saturating: date.timeIntervalSince1970 * 1000)
        let magnitude = ms.magnitude
        let fraction = String(magnitude % 1000)
        return (ms < 0 ? "-" : "") + String(magnitude / 1000) + "." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// A value being encoded. A class, because a container handed out by the
/// `Encoder` protocol must be able to fill its node after the call returned.
final class JSONNode {
    enum Kind {
        case literal(String)  // numbers, true/false/null: already JSON text
        case string(String)
        case blob(Data)
        case array([JSONNode])
        case object(names: [String], values: [JSONNode])
    }

    var kind: Kind
    init(_ kind: Kind) { self.kind = kind }

    func append(_ node: JSONNode) {
        if case .array(var elements) = kind {
            kind = .literal("")  // release the array so the append below does not copy it
            elements.append(node)
            kind = .array(elements)
        }
    }

    func set(_ name: String, _ node: JSONNode) {
        guard case .object(var names, var values) = kind else { return }
        kind = .literal("")
        if let i = names.firstIndex(of: name) {
            values[i] = node
        } else {
            names.append(name)
            values.append(node)
        }
        kind = .object(names: names, values: values)
    }

    func write(into out: inout [UInt8]) {
        switch kind {
        case .literal(let text): out.append(contentsOf: text.utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .blob(let data):
            out.append(UInt8(ascii: "\""))
            Base64.encode(data, into: &out)
            out.append(UInt8(ascii: "\""))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, e) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                e.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let names, let values):
            out.append(UInt8(ascii: "{"))
            for i in names.indices {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(names[i], into: &out)
                out.append(UInt8(ascii: ":"))
                values[i].write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xF)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
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
    let node: JSONNode
    private var started = false

    init(codingPath: [any CodingKey], isMap: Bool, node: JSONNode = JSONNode(.object(names: [], values: []))) {
        self.codingPath = codingPath
        self.isMap = isMap
        self.node = node
    }

    /// Encodes one value, with the special cases every Kinesis shape needs.
    static func box<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> JSONNode {
        switch value {
        case let data as Data: return JSONNode(.blob(data))
        case let date as Date: return JSONNode(.literal(JSONShapeEncoder.timestampText(date)))
        case let string as String: return JSONNode(.string(string))
        default: break
        }
        let encoder = ShapeEncoding(codingPath: codingPath, isMap: value is JSONMapMarker)
        try value.encode(to: encoder)
        return encoder.node
    }

    private func start(_ kind: JSONNode.Kind) {
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

private func numberText<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F, _ path: [any CodingKey]) throws -> String {
    guard value.isFinite else {
        throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "JSON has no \(value)"))
    }
    // Whole numbers print without ".0"; no Kinesis shape has other floating members.
    if value.rounded() == value, value.magnitude < 1e15 { return String(Int64(value)) }
    return String(value)
}

private struct ShapeSingleValueEncoder: SingleValueEncodingContainer {
    let encoder: ShapeEncoding
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ kind: JSONNode.Kind) { encoder.node.kind = kind }

    func encodeNil() { set(.literal("null")) }
    func encode(_ value: Bool) { set(.literal(value ? "true" : "false")) }
    func encode(_ value: String) { set(.string(value)) }
    func encode(_ value: Double) throws { set(.literal(try numberText(value, codingPath))) }
    func encode(_ value: Float) throws { set(.literal(try numberText(value, codingPath))) }
    func encode(_ value: Int) { set(.literal(String(value))) }
    func encode(_ value: Int8) { set(.literal(String(value))) }
    func encode(_ value: Int16) { set(.literal(String(value))) }
    func encode(_ value: Int32) { set(.literal(String(value))) }
    func encode(_ value: Int64) { set(.literal(String(value))) }
    func encode(_ value: UInt) { set(.literal(String(value))) }
    func encode(_ value: UInt8) { set(.literal(String(value))) }
    func encode(_ value: UInt16) { set(.literal(String(value))) }
    func encode(_ value: UInt32) { set(.literal(String(value))) }
    func encode(_ value: UInt64) { set(.literal(String(value))) }
    func encode<T: Encodable>(_ value: T) throws {
        encoder.node.kind = try ShapeEncoding.box(value, codingPath: codingPath).kind
    }
}

private struct ShapeKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: JSONNode
    let codingPath: [any CodingKey]
    let isMap: Bool

    private func name(_ key: Key) -> String { isMap ? key.stringValue : key.stringValue.upperFirst }
    private func put(_ kind: JSONNode.Kind, _ key: Key) { node.set(name(key), JSONNode(kind)) }

    mutating func encodeNil(forKey key: Key) { put(.literal("null"), key) }
    mutating func encode(_ value: Bool, forKey key: Key) { put(.literal(value ? "true" : "false"), key) }
    mutating func encode(_ value: String, forKey key: Key) { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(.literal(try numberText(value, codingPath + [key])), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(.literal(try numberText(value, codingPath + [key])), key) }
    mutating func encode(_ value: Int, forKey key: Key) { put(.literal(String(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) { put(.literal(String(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) { put(.literal(String(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) { put(.literal(String(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) { put(.literal(String(value)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) { put(.literal(String(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) { put(.literal(String(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) { put(.literal(String(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) { put(.literal(String(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) { put(.literal(String(value)), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        node.set(name(key), try ShapeEncoding.box(value, codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = JSONNode(.object(names: [], values: []))
        node.set(name(key), child)
        return KeyedEncodingContainer(ShapeKeyedEncoder<NestedKey>(node: child, codingPath: codingPath + [key], isMap: false))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = JSONNode(.array([]))
        node.set(name(key), child)
        return ShapeUnkeyedEncoder(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let child = JSONNode(.object(names: [], values: []))
        node.set(name(key), child)
        return ShapeEncoding(codingPath: codingPath + [key], isMap: false, node: child)
    }
}

private struct ShapeUnkeyedEncoder: UnkeyedEncodingContainer {
    let node: JSONNode
    let codingPath: [any CodingKey]
    var count: Int {
        if case .array(let elements) = node.kind { return elements.count }
        return 0
    }

    private func add(_ kind: JSONNode.Kind) { node.append(JSONNode(kind)) }
    private var nextPath: [any CodingKey] { codingPath + [IndexKey(intValue: count)] }

    mutating func encodeNil() { add(.literal("null")) }
    mutating func encode(_ value: Bool) { add(.literal(value ? "true" : "false")) }
    mutating func encode(_ value: String) { add(.string(value)) }
    mutating func encode(_ value: Double) throws { add(.literal(try numberText(value, nextPath))) }
    mutating func encode(_ value: Float) throws { add(.literal(try numberText(value, nextPath))) }
    mutating func encode(_ value: Int) { add(.literal(String(value))) }
    mutating func encode(_ value: Int8) { add(.literal(String(value))) }
    mutating func encode(_ value: Int16) { add(.literal(String(value))) }
    mutating func encode(_ value: Int32) { add(.literal(String(value))) }
    mutating func encode(_ value: Int64) { add(.literal(String(value))) }
    mutating func encode(_ value: UInt) { add(.literal(String(value))) }
    mutating func encode(_ value: UInt8) { add(.literal(String(value))) }
    mutating func encode(_ value: UInt16) { add(.literal(String(value))) }
    mutating func encode(_ value: UInt32) { add(.literal(String(value))) }
    mutating func encode(_ value: UInt64) { add(.literal(String(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        node.append(try ShapeEncoding.box(value, codingPath: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = JSONNode(.object(names: [], values: []))
        let path = nextPath
        node.append(child)
        return KeyedEncodingContainer(ShapeKeyedEncoder<NestedKey>(node: child, codingPath: path, isMap: false))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = JSONNode(.array([]))
        let path = nextPath
        node.append(child)
        return ShapeUnkeyedEncoder(node: child, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let child = JSONNode(.object(names: [], values: []))
        let path = nextPath
        node.append(child)
        return ShapeEncoding(codingPath: path, isMap: false, node: child)
    }
}
