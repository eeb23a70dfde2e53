import Foundation

/// One HTTP/1.x response as read back from the server's output bytes.
struct WireResponse {
    var version: String
    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// False when the output ended inside the body (only a pumping event stream,
    /// cut off when the harness closed the connection, may end so).
    var complete: Bool
    /// The body ran to the end of the output: an HTTP/1.0 stream, which only a close can end.
    var delimitedByClose = false

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
    var closesConnection: Bool { header("connection")?.lowercased() == "close" }
}

/// Why the output is not a sequence of valid HTTP responses.
struct ContractViolation: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Reads the server's output as HTTP/1.x responses, independently of NIO's
/// encoder: status line, headers, and a body framed by Content-Length, chunked
/// encoding, or (only for HTTP/1.0 streams) the end of the connection.
struct HTTPResponseReader {
    private let bytes: [UInt8]
    private var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func responses(in bytes: [UInt8]) throws(ContractViolation) -> [WireResponse] {
        var reader = HTTPResponseReader(bytes)
        var out: [WireResponse] = []
        while reader.at < bytes.count {
            let r = try reader.next()
            out.append(r)
            if !r.complete { break }
        }
        return out
    }

    private mutating func line() throws(ContractViolation) -> String {
        var i = at
        while i + 1 < bytes.count, !(bytes[i] == 13 && bytes[i + 1] == 10) { i += 1 }
        guard i + 1 < bytes.count else { throw ContractViolation("response head cut off at byte \(at)") }
        defer { at = i + 2 }
        return String(decoding: bytes[at..<i], as: UTF8.self)
    }

    private mutating func next() throws(ContractViolation) -> WireResponse {
        let statusLine = try line()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0",
              parts[1].count == 3, let status = Int(parts[1]), (100...599).contains(status)
        else { throw ContractViolation("bad status line \(statusLine.debugDescription)") }
        var headers: [(name: String, value: String)] = []
        while true {
            let h = try line()
            if h.isEmpty { break }
            guard let colon = h.firstIndex(of: ":"), colon > h.startIndex else {
                throw ContractViolation("bad header line \(h.debugDescription)")
            }
            headers.append((String(h[..<colon]), h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = WireResponse(version: String(parts[0]), status: status, headers: headers, body: [],
                                    complete: true)
        let lengths = headers.filter { $0.name.lowercased() == "content-length" }
        let chunked = response.header("transfer-encoding")?.lowercased() == "chunked"
        if lengths.count > 1 || (chunked && !lengths.isEmpty) {
            throw ContractViolation("conflicting body framing in \(headers)")
        }
        if let length = lengths.first {
            guard let n = Int(length.value), n >= 0 else {
                throw ContractViolation("bad Content-Length \(length.value)")
            }
            guard at + n <= bytes.count else { throw ContractViolation("body shorter than Content-Length \(n)") }
            response.body = Array(bytes[at..<(at + n)])
            at += n
        } else if chunked {
            try readChunks(into: &response)
        } else {
            // Delimited by the end of the connection: legal only where nothing else can delimit it.
            guard response.version == "HTTP/1.0" || response.closesConnection else {
                throw ContractViolation("HTTP/1.1 response \(status) without Content-Length or chunking")
            }
            response.body = Array(bytes[at...])
            response.delimitedByClose = true
            at = bytes.count
        }
        return response
    }

    private mutating func readChunks(into response: inout WireResponse) throws(ContractViolation) {
        while true {
            guard at < bytes.count else {
                response.complete = false
                return
            }
            let sizeLine = try line()
            guard let size = Int(sizeLine, radix: 16), size >= 0 else {
                throw ContractViolation("bad chunk size \(sizeLine.debugDescription)")
            }
            if size == 0 {
                guard try line().isEmpty else { throw ContractViolation("trailers after the last chunk") }
                return
            }
            guard at + size + 2 <= bytes.count else { throw ContractViolation("chunk of \(size) bytes cut off") }
            response.body += bytes[at..<(at + size)]
            guard bytes[at + size] == 13, bytes[at + size + 1] == 10 else {
                throw ContractViolation("chunk of \(size) bytes not followed by CRLF")
            }
            at += size + 2
        }
    }
}
