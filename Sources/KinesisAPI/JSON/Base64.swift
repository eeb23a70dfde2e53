import Foundation

/// Standard, padded base64 (RFC 4648 §4): the JSON encoding of Kinesis blobs
/// (`Data`). Decoding is strict and reports the reason in Coral's words,
/// because Kinesis rejects sloppy base64 with a SerializationException rather
/// than guessing.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    static func encode(_ data: Data, into out: inout [UInt8]) {
        let start = out.count
        let length = (data.count + 2) / 3 * 4
        out.append(contentsOf: repeatElement(0, count: length))
        out.withUnsafeMutableBufferPointer { buffer in
            data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                alphabet.withUnsafeBufferPointer { a in
                    var o = start
                    var i = 0
                    let n = raw.count
                    while i + 3 <= n {
                        let v = UInt32(raw[i]) << 16 | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2])
                        buffer[o] = a[Int(v >> 18 & 63)]
                        buffer[o + 1] = a[Int(v >> 12 & 63)]
                        buffer[o + 2] = a[Int(v >> 6 & 63)]
                        buffer[o + 3] = a[Int(v & 63)]
                        i += 3
                        o += 4
                    }
                    if n - i == 1 {
                        let v = UInt32(raw[i]) << 16
                        buffer[o] = a[Int(v >> 18 & 63)]
                        buffer[o + 1] = a[Int(v >> 12 & 63)]
                        buffer[o + 2] = UInt8(ascii: "=")
                        buffer[o + 3] = UInt8(ascii: "=")
                    } else if n - i == 2 {
                        let v = UInt32(raw[i]) << 16 | UInt32(raw[i + 1]) << 8
                        buffer[o] = a[Int(v >> 18 & 63)]
                        buffer[o + 1] = a[Int(v >> 12 & 63)]
                        buffer[o + 2] = a[Int(v >> 6 & 63)]
                        buffer[o + 3] = UInt8(ascii: "=")
                    }
                }
            }
        }
    }

    static func encode(_ data: Data) -> String {
        var out: [UInt8] = []
        encode(data, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Why a string is not a blob, worded as Coral words it (kinesalite's
    /// AWS-derived `validations/index.js`, including Coral's "dectected").
    enum Failure: Error, Equatable {
        case length(Int)
        case character(Character)
        case lastCharacter

        var reason: String {
            switch self {
            case .length(let n): "Base64 encoded length is expected a multiple of 4 bytes but found: \(n)"
            case .character(let c): "Invalid Base64 character: '\(c)'"
            case .lastCharacter: "Invalid last non-pad Base64 character dectected"
            }
        }
    }

    static func decode(_ string: String) -> Result<Data, Failure> {
        var s = string
        return s.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    static func decode(_ text: UnsafeRawBufferPointer) -> Result<Data, Failure> {
        // One pass over the table pointer: a static's lazy-init check per byte would dominate.
        reverse.withUnsafeBufferPointer { r in decode(text, table: r) }
    }

    private static func decode(
        _ text: UnsafeRawBufferPointer, table r: UnsafeBufferPointer<UInt8>
    ) -> Result<Data, Failure> {
        let n = text.count
        guard n % 4 == 0 else { return .failure(.length(n)) }
        // Checked in Coral's order: bad characters, then a '=' followed by data.
        var padding = 0
        for i in 0..<n {
            let c = text[i]
            if c == UInt8(ascii: "=") {
                if i + 1 < n && text[i + 1] != UInt8(ascii: "=") { return .failure(.character("=")) }
                padding += 1
            } else if r[Int(c)] == 0xFF {
                return .failure(.character(Character(Unicode.Scalar(c))))
            }
        }
        guard padding <= 2 else { return .failure(.lastCharacter) }
        let count = n / 4 * 3 - padding
        guard count > 0 else { return .success(Data()) }
        // An exact allocation handed to Data: `Data(count:)` rounds its capacity up
        // (10 KiB records held 12.7 KiB each), and retained records live for hours
        // against the memory budget.
        guard let raw = malloc(count) else { return .failure(.length(n)) }
        let dst = UnsafeMutableRawBufferPointer(start: raw, count: count)
        let ok = { () -> Bool in
            var o = 0
            var i = 0
            while i < n {
                let a = UInt32(r[Int(text[i])])
                let b = UInt32(r[Int(text[i + 1])])
                let cPad = text[i + 2] == UInt8(ascii: "=")
                let dPad = text[i + 3] == UInt8(ascii: "=")
                let c = cPad ? 0 : UInt32(r[Int(text[i + 2])])
                let d = dPad ? 0 : UInt32(r[Int(text[i + 3])])
                let v = a << 18 | b << 12 | c << 6 | d
                dst[o] = UInt8(truncatingIfNeeded: v >> 16)
                o += 1
                if cPad {
                    // Bits below the last full byte must be zero, or the text is not canonical.
                    if v & 0xFFFF != 0 { return false }
                } else {
                    dst[o] = UInt8(truncatingIfNeeded: v >> 8)
                    o += 1
                    if dPad {
                        if v & 0xFF != 0 { return false }
                    } else {
                        dst[o] = UInt8(truncatingIfNeeded: v)
                        o += 1
                    }
                }
                i += 4
            }
            return true
        }()
        guard ok else {
            free(raw)
            return .failure(.lastCharacter)
        }
        return .success(Data(bytesNoCopy: raw, count: count, deallocator: .free))
    }

    /// What ``decode(_:)-(UnsafeRawBufferPointer)`` gives a valid text, in one pass; nil for any text it
    /// refuses (without the reason). For the PutRecords reader, whose refusals take the general path,
    /// which decodes again and reports the reason in Coral's words. `Base64Tests` checks the two agree.
    static func decodeIfValid(_ text: UnsafeRawBufferPointer) -> Data? {
        reverse.withUnsafeBufferPointer { r -> Data? in
            let n = text.count
            guard n % 4 == 0 else { return nil }
            guard n > 0 else { return Data() }
            let pad = UInt8(ascii: "=")
            let padding = text[n - 1] == pad ? (text[n - 2] == pad ? 2 : 1) : 0
            let count = n / 4 * 3 - padding
            // An exact allocation, as `decode` makes (retained records count against the memory budget).
            guard let raw = malloc(count) else { return nil }
            let dst = raw.assumingMemoryBound(to: UInt8.self)
            var o = 0
            var i = 0
            // Every quad but the last: four alphabet characters (a table entry of 0xFF, '=' included, is not).
            while i < n - 4 {
                let a = r[Int(text[i])], b = r[Int(text[i + 1])], c = r[Int(text[i + 2])], d = r[Int(text[i + 3])]
                guard (a | b | c | d) & 0xC0 == 0 else {
                    free(raw)
                    return nil
                }
                let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                dst[o] = UInt8(truncatingIfNeeded: v >> 16)
                dst[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                dst[o + 2] = UInt8(truncatingIfNeeded: v)
                o += 3
                i += 4
            }
            // The last quad: its padding, and bits below the last whole byte zero (canonical, as `decode` wants).
            let a = r[Int(text[i])], b = r[Int(text[i + 1])]
            let c = padding == 2 ? 0 : r[Int(text[i + 2])]
            let d = padding >= 1 ? 0 : r[Int(text[i + 3])]
            let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
            let canonical = padding == 2 ? v & 0xFFFF == 0 : padding == 1 ? v & 0xFF == 0 : true
            guard (a | b | c | d) & 0xC0 == 0, canonical else {
                free(raw)
                return nil
            }
            dst[o] = UInt8(truncatingIfNeeded: v >> 16)
            if padding < 2 { dst[o + 1] = UInt8(truncatingIfNeeded: v >> 8) }
            if padding < 1 { dst[o + 2] = UInt8(truncatingIfNeeded: v) }
            return Data(bytesNoCopy: raw, count: count, deallocator: .free)
        }
    }
}
