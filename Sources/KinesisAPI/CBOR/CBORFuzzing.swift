import Foundation

/// CBOR for the libFuzzer target in `Fuzz/`: its wire contract reads CBOR replies as the
/// Foundation objects `JSONSerialization` gives for JSON ones, and its script mode turns a
/// JSON body into the CBOR a Java client would send, so that the fuzzer drives the CBOR
/// path with the same seeds as the JSON one.
///
/// Not API: it is spelled `@_spi(Fuzzing)` and may change with the fuzzer.
@_spi(Fuzzing)
public enum KinesisCBORFuzzing {
    /// One well-formed CBOR item as Foundation objects: maps with text keys as `[String: Any]`,
    /// arrays as `[Any]`, text as `String`, byte strings as `Data`, numbers as `NSNumber`,
    /// booleans as `Bool`, null and undefined as `NSNull`; a tag as the item it tags. Nil for
    /// bytes that are not one item, or a map key that is not text.
    public static func foundationObject(_ bytes: [UInt8]) -> Any? {
        guard let value = try? CBORValue.decode(bytes) else { return nil }
        return foundation(value)
    }

    private static func foundation(_ value: CBORValue) -> Any? {
        switch value {
        case .unsigned(let n): return NSNumber(value: n)
        case .negative(let n):
            return n <= UInt64(Int64.max) ? NSNumber(value: -1 - Int64(n)) : NSNumber(value: -Double(n) - 1)
        case .bytes(let b): return Data(b)
        case .text(let s): return s
        case .array(let elements):
            var out: [Any] = []
            for e in elements {
                guard let o = foundation(e) else { return nil }
                out.append(o)
            }
            return out
        case .map(let entries):
            var out: [String: Any] = [:]
            for e in entries {
                guard case .text(let key) = e.key, let o = foundation(e.value) else { return nil }
                out[key] = o
            }
            return out
        case .tagged(_, let item): return foundation(item)
        case .bool(let b): return b
        case .null, .undefined, .simple: return NSNull()
        case .float(let d): return NSNumber(value: d)
        }
    }

    /// A JSON body re-encoded as CBOR the way the Java SDK writes it (indefinite maps and
    /// arrays; integers as integers, other numbers as doubles); nil when `json` is not JSON.
    public static func cborBody(fromJSON json: [UInt8]) -> [UInt8]? {
        guard let document = try? JSONParser.parse(json) else { return nil }
        var writer = CBORWriter()
        write(document, into: &writer)
        return writer.bytes
    }

    private static func write(_ value: JSONValue, into writer: inout CBORWriter) {
        switch value {
        case .null: writer.writeNull()
        case .bool(let b): writer.writeBool(b)
        case .number(let lexeme):
            if let n = Int64(lexeme) { writer.writeInteger(n) } else { writer.writeDouble(Double(lexeme) ?? 0) }
        case .string(let s): writer.writeText(s)
        case .bytes(let b): writer.writeBytes(b)
        case .array(let elements):
            writer.beginIndefiniteArray()
            for e in elements { write(e, into: &writer) }
            writer.writeBreak()
        case .object(let members):
            writer.beginIndefiniteMap()
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                writer.writeText(name)
                write(member, into: &writer)
            }
            writer.writeBreak()
        }
    }
}
