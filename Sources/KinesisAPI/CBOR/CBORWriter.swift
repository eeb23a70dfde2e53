/// Appends CBOR items (RFC 8949) to a byte buffer: the primitives the shape encoder
/// writes Kinesis replies with, and ``write(_:)`` for a whole ``CBORValue``.
///
/// Heads use the shortest argument (RFC 8949 §4.2.1 "preferred serialization"), and
/// ``write(_:)`` writes a float in the shortest of half, single and double that holds it
/// exactly. Containers come in both forms: definite (``beginArray(count:)``,
/// ``beginMap(count:)``) and indefinite (``beginIndefiniteArray()``,
/// ``beginIndefiniteMap()``, closed by ``writeBreak()``).
struct CBORWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func writeHead(_ major: CBORMajor, _ argument: UInt64) {
        let top = major.rawValue << 5
        switch argument {
        case 0..<24: bytes.append(top | UInt8(argument))
        case 24...0xFF: bytes.append(top | 24); bytes.append(UInt8(argument))
        case 0x100...0xFFFF: bytes.append(top | 25); appendBigEndian(argument, width: 2)
        case 0x1_0000...0xFFFF_FFFF: bytes.append(top | 26); appendBigEndian(argument, width: 4)
        default: bytes.append(top | 27); appendBigEndian(argument, width: 8)
        }
    }

    private mutating func appendBigEndian(_ value: UInt64, width: Int) {
        for shift in stride(from: (width - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }

    mutating func writeInteger(_ value: Int64) {
        if value >= 0 {
            writeHead(.unsigned, UInt64(value))
        } else {
            writeHead(.negative, UInt64(bitPattern: ~value))  // −1 − value, without overflow at Int64.min
        }
    }

    mutating func writeUnsigned(_ value: UInt64) { writeHead(.unsigned, value) }

    mutating func writeBytes(_ content: some Collection<UInt8>) {
        writeHead(.bytes, UInt64(content.count))
        bytes.append(contentsOf: content)
    }

    mutating func writeText(_ text: String) {
        let utf8 = text.utf8
        writeHead(.text, UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// A text string already in UTF-8.
    mutating func writeText(utf8: UnsafeRawBufferPointer) {
        writeHead(.text, UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func writeBool(_ value: Bool) { bytes.append(value ? 0xF5 : 0xF4) }
    mutating func writeNull() { bytes.append(0xF6) }
    mutating func writeTag(_ tag: UInt64) { writeHead(.tag, tag) }

    /// A double-precision float (`0xFB`), whatever its value.
    mutating func writeDouble(_ value: Double) {
        bytes.append(0xFB)
        appendBigEndian(value.bitPattern, width: 8)
    }

    /// The shortest float that holds `value` exactly.
    mutating func writeShortestFloat(_ value: Double) {
        if let half = HalfFloat.encode(exactly: value) {
            bytes.append(0xF9)
            appendBigEndian(UInt64(half), width: 2)
        } else if let single = Float(exactly: value) {
            bytes.append(0xFA)
            appendBigEndian(UInt64(single.bitPattern), width: 4)
        } else {
            writeDouble(value)
        }
    }

    mutating func beginArray(count: Int) { writeHead(.array, UInt64(count)) }
    mutating func beginMap(count: Int) { writeHead(.map, UInt64(count)) }
    mutating func beginIndefiniteArray() { bytes.append(0x9F) }
    mutating func beginIndefiniteMap() { bytes.append(0xBF) }
    mutating func writeBreak() { bytes.append(0xFF) }

    /// A whole item, containers with definite lengths.
    mutating func write(_ value: CBORValue) {
        switch value {
        case .unsigned(let n): writeHead(.unsigned, n)
        case .negative(let n): writeHead(.negative, n)
        case .bytes(let b): writeBytes(b)
        case .text(let s): writeText(s)
        case .array(let elements):
            beginArray(count: elements.count)
            for e in elements { write(e) }
        case .map(let entries):
            beginMap(count: entries.count)
            for e in entries {
                write(e.key)
                write(e.value)
            }
        case .tagged(let tag, let item):
            writeTag(tag)
            write(item)
        case .bool(let b): writeBool(b)
        case .null: writeNull()
        case .undefined: bytes.append(0xF7)
        case .simple(let v):
            if v < 24 { bytes.append(0xE0 | v) } else { bytes.append(0xF8); bytes.append(v) }
        case .float(let d): writeShortestFloat(d)
        }
    }
}

extension CBORValue {
    /// Reads exactly one item.
    static func decode(_ bytes: [UInt8]) throws(CBORSyntaxError) -> CBORValue {
        try CBORReader<CBORValueBuilder>.read(bytes)
    }

    /// The item's preferred serialization, containers definite.
    var encoded: [UInt8] {
        var writer = CBORWriter()
        writer.write(self)
        return writer.bytes
    }
}
