/// One `application/vnd.amazon.eventstream` message, as far as the contract
/// needs it: its string headers and payload (KINESIS.md §1.7).
struct EventFrame {
    var headers: [String: String]
    var payload: [UInt8]
}

/// Reads event-stream frames on its own (not through KinesisAPI's decoder, which
/// is under test): lengths, both CRC32s, and every header value type.
enum EventStreamFrames {
    /// The frames of a stream body. A last frame cut short is allowed only when
    /// the stream was cut off (`complete` false).
    static func frames(_ body: [UInt8], complete: Bool) throws(ContractViolation) -> [EventFrame] {
        var frames: [EventFrame] = []
        var at = 0
        while at < body.count {
            guard body.count - at >= 16 else {
                if complete { throw ContractViolation("event stream ends inside a prelude") }
                break
            }
            let total = Int(be32(body, at)), headersLength = Int(be32(body, at + 4))
            guard total >= 16, headersLength <= total - 16 else {
                throw ContractViolation("event frame lengths \(total)/\(headersLength)")
            }
            guard crc32(body[at..<(at + 8)]) == be32(body, at + 8) else { throw ContractViolation("prelude CRC") }
            guard body.count - at >= total else {
                if complete { throw ContractViolation("event stream ends inside a frame") }
                break
            }
            guard crc32(body[at..<(at + total - 4)]) == be32(body, at + total - 4) else {
                throw ContractViolation("message CRC")
            }
            let headers = try readHeaders(Array(body[(at + 12)..<(at + 12 + headersLength)]))
            let payload = Array(body[(at + 12 + headersLength)..<(at + total - 4)])
            frames.append(EventFrame(headers: headers, payload: payload))
            at += total
        }
        return frames
    }

    private static func readHeaders(_ b: [UInt8]) throws(ContractViolation) -> [String: String] {
        var out: [String: String] = [:]
        var i = 0
        func need(_ n: Int) throws(ContractViolation) {
            guard b.count - i >= n else { throw ContractViolation("event header cut off") }
        }
        while i < b.count {
            try need(1)
            let nameLength = Int(b[i])
            i += 1
            try need(nameLength + 1)
            let name = String(decoding: b[i..<(i + nameLength)], as: UTF8.self)
            let type = b[i + nameLength]
            i += nameLength + 1
            switch type {
            case 0, 1: break
            case 2: try need(1); i += 1
            case 3: try need(2); i += 2
            case 4: try need(4); i += 4
            case 5, 8: try need(8); i += 8
            case 9: try need(16); i += 16
            case 6, 7:
                try need(2)
                let n = Int(b[i]) << 8 | Int(b[i + 1])
                i += 2
                try need(n)
                if type == 7 {
                    guard let s = String(validating: b[i..<(i + n)], as: UTF8.self) else {
                        throw ContractViolation("event header \(name) not UTF-8")
                    }
                    out[name] = s
                }
                i += n
            default: throw ContractViolation("event header type \(type)")
            }
        }
        return out
    }

    private static func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
