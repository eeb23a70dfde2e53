/// One CBOR data item (RFC 8949 §3), as ``CBORReader`` reads it and ``CBORWriter`` writes it.
///
/// The model keeps what the wire says and no more: integers as their major type and
/// magnitude (so that the full range −2^64 … 2^64 − 1 survives), floats widened to
/// `Double` whatever their width on the wire, indefinite-length strings joined, and
/// indefinite containers read as ordinary ones. Kinesis's own rules (which items a
/// request may hold) are applied later, by ``KinesisCBOR``.
enum CBORValue: Sendable, Equatable {
    /// Major type 0: the value itself.
    case unsigned(UInt64)
    /// Major type 1: the value is −1 − n, so `.negative(0)` is −1 and `.negative(UInt64.max)` is −2^64.
    case negative(UInt64)
    /// Major type 2.
    case bytes([UInt8])
    /// Major type 3 (valid UTF-8).
    case text(String)
    /// Major type 4.
    case array([CBORValue])
    /// Major type 5, in wire order; keys may be any item and may repeat.
    case map([CBORMapEntry])
    /// Major type 6: a tag number and the item it tags.
    indirect case tagged(UInt64, CBORValue)
    /// Major type 7, simple values 20 and 21.
    case bool(Bool)
    /// Major type 7, simple value 22.
    case null
    /// Major type 7, simple value 23.
    case undefined
    /// Major type 7, any other simple value (0…19 and 32…255).
    case simple(UInt8)
    /// Major type 7, a half-, single- or double-precision float.
    case float(Double)

    /// A signed integer in the model's terms.
    static func integer(_ value: Int64) -> CBORValue {
        value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-(value + 1)))
    }
}

/// One key/value pair of a CBOR map.
struct CBORMapEntry: Sendable, Equatable {
    var key: CBORValue
    var value: CBORValue

    init(_ key: CBORValue, _ value: CBORValue) {
        self.key = key
        self.value = value
    }
}

/// Why bytes are not one well-formed CBOR item. Kinesis answers every one of these with a
/// bare `SerializationException`; the detail is for logs and tests.
struct CBORSyntaxError: Error, Equatable {
    var offset: Int
    var reason: String
}

/// Major types, the initial byte's top three bits.
enum CBORMajor: UInt8 {
    case unsigned = 0, negative, bytes, text, array, map, tag, simple
}

/// IEEE 754 half precision (CBOR's `0xF9`), by hand: `Float16` is missing on some of
/// the platforms ktop builds for (macOS on Intel).
enum HalfFloat {
    /// RFC 8949 Appendix D.
    static func decode(_ half: UInt16) -> Double {
        let exponent = Int(half >> 10) & 0x1F
        let mantissa = Double(half & 0x3FF)
        let value: Double
        switch exponent {
        case 0: value = mantissa * 0x1p-24
        case 31: value = mantissa == 0 ? .infinity : .nan
        default: value = (mantissa + 1024) * Double(sign: .plus, exponent: exponent - 25, significand: 1)
        }
        return half & 0x8000 != 0 ? -value : value
    }

    /// The half that holds `value` exactly, if one does (NaN becomes the canonical `0x7E00`).
    static func encode(exactly value: Double) -> UInt16? {
        if value.isNaN { return 0x7E00 }
        let sign: UInt16 = value.sign == .minus ? 0x8000 : 0
        let magnitude = value.magnitude
        if magnitude == .infinity { return sign | 0x7C00 }
        if magnitude == 0 { return sign }
        // Subnormal halves are multiples of 2^-24 below 2^-14; normal ones carry 11 significant bits.
        if magnitude < 0x1p-14 {
            let units = magnitude * 0x1p24
            guard units == units.rounded(), units >= 1 else { return nil }
            return sign | UInt16(units)
        }
        let exponent = Int(magnitude.exponent)
        guard exponent <= 15 else { return nil }
        let scaled = magnitude * Double(sign: .plus, exponent: 10 - exponent, significand: 1)  // 1024 ..< 2048
        guard scaled == scaled.rounded() else { return nil }
        return sign | UInt16(exponent + 15) << 10 | (UInt16(scaled) - 1024)
    }
}
