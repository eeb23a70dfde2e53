import Foundation
import StreamEngine

/// Decodes Kinesis input shapes from a parsed JSON document the way Coral's
/// JSON 1.1 front end does (KINESIS.md §1.2, §1.5):
///
/// * member `StreamARN` fills property `streamARN` (first letter lower-cased;
///   member names are case-sensitive, unknown members are ignored);
/// * `null` is the same as an absent member;
/// * an Integer given as `1.9` is truncated (Coral's `TruncatingBigNumber`);
/// * timestamps are epoch seconds, integer or fractional (in a CBOR document,
///   epoch milliseconds: see ``KinesisCBOR``);
/// * blobs are strict base64 (in a CBOR document also a byte string);
/// * a value of the wrong JSON type is a SerializationException with Coral's
///   Java-flavoured message (`class java.lang.String can not be converted to an Integer`).
///
/// Map members (`Tags`) keep their keys verbatim.
struct JSONShapeDecoder {
    /// - Parameter encoding: the body encoding `value` was read from, which decides the
    ///   unit of timestamps and whether byte strings are blobs.
    static func decode<T: Decodable>(
        _ type: T.Type, from value: JSONValue,
        encoding: KinesisBodyEncoding = .json
    ) throws(KinesisError) -> T {
        do {
            return try ShapeDecoding(value: value, codingPath: [], isMap: false, encoding: encoding).decodeValue(T.self)
        } catch let error as KinesisError {
            throw error
        } catch let error as DecodingError {
            throw KinesisError(.serialization, Self.describe(error))
        } catch {
            throw KinesisError(.serialization, "\(error)")
        }
    }

    /// Only reachable for shapes with required members (outputs decoded by a client or a test).
    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "Missing required member \(key.stringValue.upperFirst)"
        case .valueNotFound(_, let c), .typeMismatch(_, let c), .dataCorrupted(let c): c.debugDescription
        @unknown default: "\(error)"
        }
    }
}

/// Types decoded as a JSON object whose keys are data, not member names.
protocol JSONMapMarker {}
extension Dictionary: JSONMapMarker where Key == String {}

/// Coral's messages name the Java type it was asked to produce.
private enum CoralType: String {
    case string = "String"
    case boolean = "Boolean"
    case integer = "Integer"
    case double = "Double"
    case blob = "Blob"
    case timestamp = "Timestamp"

    /// What Coral's message says it could not convert to: "a Blob", but "an String",
    /// "an Integer" (sic) for the other scalars, and for a timestamp "milliseconds since
    /// epoch" (kinesalite's AWS-derived `test/helpers.js`).
    var phrase: String {
        switch self {
        case .blob: "a Blob"
        case .timestamp: "milliseconds since epoch"
        default: "an \(rawValue)"
        }
    }
}

private struct ShapeDecoding: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let isMap: Bool
    let encoding: KinesisBodyEncoding
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func typeError(_ message: String) -> KinesisError { KinesisError(.serialization, message) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        switch value {
        case .object(let members):
            return KeyedDecodingContainer(
                ShapeKeyedContainer<Key>(
                    members: members, codingPath: codingPath, isMap: isMap,
                    encoding: encoding))
        case .array: throw typeError("Start of list found where not expected")
        default: throw typeError(isMap ? "Expected map or null" : "Expected null")
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let elements):
            return ShapeUnkeyedContainer(elements: elements, codingPath: codingPath, encoding: encoding)
        case .object: throw typeError("Start of structure or map found where not expected.")
        default: throw typeError("Expected list or null")
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == Data.self { return try decodeBlob() as! T }
        if T.self == Date.self { return try decodeTimestamp() as! T }
        if T.self is JSONMapMarker.Type {
            return try T(from: ShapeDecoding(value: value, codingPath: codingPath, isMap: true, encoding: encoding))
        }
        return try T(from: self)
    }

    /// The message for a scalar/array/object that is not the scalar Coral wanted.
    private func mismatch(_ wanted: CoralType) -> KinesisError {
        switch value {
        case .object: typeError("Start of structure or map found where not expected.")
        case .array: typeError("Start of list found where not expected")
        case .bool: typeError("class java.lang.Boolean can not be converted to \(wanted.phrase)")
        case .number:
            typeError(
                "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to \(wanted.phrase)"
            )
        case .string: typeError("class java.lang.String can not be converted to \(wanted.phrase)")
        case .null: typeError("Unexpected null")
        // Not captured from Kinesis: Java's name for byte[], in Coral's pattern.
        case .bytes: typeError("class [B can not be converted to \(wanted.phrase)")
        }
    }

    func decodeString() throws -> String {
        guard case .string(let s) = value else { throw mismatch(.string) }
        return s
    }

    func decodeBool() throws -> Bool {
        switch value {
        case .bool(let b): return b
        case .string(let s):
            // Coral coerces a few spellings and quotes the rest upper-cased.
            switch s.uppercased() {
            case "TRUE", "YES", "1": return true
            case "FALSE", "NO", "0": return false
            default: throw typeError("'\(s.uppercased())' can not be converted to an Boolean")
            }
        default: throw mismatch(.boolean)
        }
    }

    func decodeInteger<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        guard case .number(let lexeme) = value else { throw mismatch(.integer) }
        if let exact = I(lexeme) { return exact }
        // Fractions and exponents truncate; out-of-range values saturate so the
        // engine's range check reports them.
        guard let d = Double(lexeme) else { throw mismatch(.integer) }
        let floored = d.rounded(.down)
        if floored >= Double(I.max) { return I.max }
        if floored <= Double(I.min) { return I.min }
        return I(floored)
    }

    func decodeDouble() throws -> Double {
        guard case .number(let lexeme) = value, let d = Double(lexeme) else { throw mismatch(.double) }
        return d
    }

    func decodeTimestamp() throws -> Date {
        guard case .number(let lexeme) = value, let number = Double(lexeme) else { throw mismatch(.timestamp) }
        switch encoding {
        case .json: return Date(timeIntervalSince1970: number)
        case .cbor: return Date(timeIntervalSince1970: number / 1000)  // epoch milliseconds, see KinesisCBOR
        }
    }

    func decodeBlob() throws -> Data {
        if case .bytes(let bytes) = value { return Data(bytes) }
        // A CBOR document may carry a blob as base64 text too, as kinesis-mock and LocalStack accept it.
        guard case .string(let s) = value else { throw mismatch(.blob) }
        switch Base64.decode(s) {
        case .success(let data): return data
        case .failure(let failure): throw typeError("'\(s)' can not be converted to a Blob: \(failure.reason)")
        }
    }
}

extension ShapeDecoding: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try decodeBool() }
    func decode(_ type: String.Type) throws -> String { try decodeString() }
    func decode(_ type: Double.Type) throws -> Double { try decodeDouble() }
    func decode(_ type: Float.Type) throws -> Float { Float(try decodeDouble()) }
    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(T.self) }
}

private struct ShapeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]
    let isMap: Bool
    let encoding: KinesisBodyEncoding

    private func memberName(_ key: Key) -> String { isMap ? key.stringValue : key.stringValue.upperFirst }

    var allKeys: [Key] {
        members.keys.compactMap { Key(stringValue: isMap ? $0 : $0.lowerFirst) }
    }

    func contains(_ key: Key) -> Bool { members[memberName(key)] != nil }

    func decodeNil(forKey key: Key) throws -> Bool { (members[memberName(key)] ?? .null) == .null }

    private func child(_ key: Key) throws -> ShapeDecoding {
        guard let value = members[memberName(key)], value != .null else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "missing"))
        }
        return ShapeDecoding(value: value, codingPath: codingPath + [key], isMap: false, encoding: encoding)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decodeBool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decodeString() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decodeDouble() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try child(key).decodeDouble()) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).decodeInteger(Int.self) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decodeInteger(Int8.self) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decodeInteger(Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decodeInteger(Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decodeInteger(Int64.self) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decodeInteger(UInt.self) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decodeInteger(UInt8.self) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decodeInteger(UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decodeInteger(UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decodeInteger(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(T.self) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }
    func superDecoder() throws -> any Decoder {
        ShapeDecoding(value: .object(members), codingPath: codingPath, isMap: isMap, encoding: encoding)
    }
    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

private struct ShapeUnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    let encoding: KinesisBodyEncoding
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey], encoding: KinesisBodyEncoding) {
        self.elements = elements
        self.codingPath = codingPath
        self.encoding = encoding
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> ShapeDecoding {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                Any.self, .init(codingPath: codingPath, debugDescription: "Unexpected end of list"))
        }
        defer { currentIndex += 1 }
        return ShapeDecoding(
            value: elements[currentIndex], codingPath: codingPath + [IndexKey(intValue: currentIndex)],
            isMap: false, encoding: encoding)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decodeBool() }
    mutating func decode(_ type: String.Type) throws -> String { try next().decodeString() }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decodeDouble() }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try next().decodeDouble()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decodeInteger(Int.self) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().decodeInteger(Int8.self) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().decodeInteger(Int16.self) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().decodeInteger(Int32.self) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().decodeInteger(Int64.self) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().decodeInteger(UInt.self) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().decodeInteger(UInt8.self) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().decodeInteger(UInt16.self) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().decodeInteger(UInt32.self) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().decodeInteger(UInt64.self) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(T.self) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> any Decoder { try next() }
}

/// A list position in a coding path.
struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { intValue.map(String.init) ?? "" }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

extension String {
    /// `streamARN` → `StreamARN`: a Swift property name to its AWS member name.
    var upperFirst: String { replacingFirstByte(from: UInt8(ascii: "a")...UInt8(ascii: "z"), adding: -32) }

    /// `StreamARN` → `streamARN`: an AWS member name to its Swift property name.
    var lowerFirst: String { replacingFirstByte(from: UInt8(ascii: "A")...UInt8(ascii: "Z"), adding: 32) }

    /// Runs once per member of every record, so it avoids the heap: names of up
    /// to 15 bytes become small (inline) strings.
    private func replacingFirstByte(from range: ClosedRange<UInt8>, adding delta: Int8) -> String {
        guard let first = utf8.first, range.contains(first) else { return self }
        var copy = self
        return copy.withUTF8 { source in
            String(unsafeUninitializedCapacity: source.count) { target in
                _ = target.initialize(from: source)
                target[0] = UInt8(truncatingIfNeeded: Int(first) + Int(delta))
                return source.count
            }
        }
    }
}
