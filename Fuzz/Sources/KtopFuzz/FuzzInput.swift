@_spi(Fuzzing) import KinesisAPI

/// How the fuzzer reads its input bytes (see Fuzz/README.md for examples).
///
/// Two modes, so that libFuzzer's byte mutations land mostly on what the
/// engine parses (JSON bodies) while the HTTP layer still gets raw bytes:
///
/// * **raw**: input `!<bytes>`. The bytes after `!` are sent as they are, as
///   one read from the client: any number of requests, malformed or not.
/// * **script**: anything else. Requests separated by a line `@@`. Each
///   request's first line is `<Target>[ <flags>]`, the rest is its JSON body.
///   The harness wraps the body in a well-formed, signed-looking HTTP/1.1 head.
///   `<Target>` is an operation name (`PutRecord` → `X-Amz-Target:
///   Kinesis_20131202.PutRecord`), a full target when it holds a `.`, or `-`
///   for no target header. In the body, `$IT`, `$NT`, `$SN`, `$CA`, `$SA`, `$SH`
///   become the last ShardIterator, NextToken, SequenceNumber, ConsumerARN,
///   StreamARN and ShardId the server returned on this connection, so a script
///   can chain calls (GetShardIterator then GetRecords).
enum FuzzInput {
    case raw([UInt8])
    case script([ScriptedRequest])

    /// More requests than this in one input are dropped: each costs time, and
    /// state across requests already builds up across inputs.
    static let maxRequests = 16

    init(_ bytes: [UInt8]) {
        if bytes.first == UInt8(ascii: "!") {
            self = .raw(Array(bytes.dropFirst()))
            return
        }
        var requests: [ScriptedRequest] = []
        for section in bytes.pieces(splitAt: Self.separator).prefix(Self.maxRequests) {
            requests.append(ScriptedRequest(Array(section)))
        }
        self = .script(requests)
    }

    /// `\n@@\n`.
    static let separator: [UInt8] = Array("\n@@\n".utf8)
}

extension Array where Element == UInt8 {
    /// Splits at every occurrence of `separator` (a byte sequence), keeping empty pieces.
    func pieces(splitAt separator: [UInt8]) -> [ArraySlice<UInt8>] {
        var pieces: [ArraySlice<UInt8>] = []
        var start = startIndex
        var i = startIndex
        while i + separator.count <= endIndex {
            if self[i..<(i + separator.count)].elementsEqual(separator) {
                pieces.append(self[start..<i])
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        pieces.append(self[start..<endIndex])
        return pieces
    }
}

/// One request of a script: what to send and how to bend the HTTP head.
struct ScriptedRequest {
    /// The `X-Amz-Target` value, or nil for none.
    var target: [UInt8]?
    var flags: Set<UInt8>
    var body: [UInt8]

    init(_ section: [UInt8]) {
        let newline = section.firstIndex(of: UInt8(ascii: "\n")) ?? section.endIndex
        let line = section[..<newline]
        body = newline < section.endIndex ? Array(section[(newline + 1)...]) : []
        let space = line.firstIndex(of: UInt8(ascii: " ")) ?? line.endIndex
        let name = Array(line[..<space])
        flags = space < line.endIndex ? Set(line[(space + 1)...]) : []
        if name == [UInt8(ascii: "-")] {
            target = nil
        } else if name.contains(UInt8(ascii: ".")) {
            target = name
        } else {
            target = Array("Kinesis_20131202.".utf8) + name
        }
    }

    // The flags, one character each after the target and a space.
    static let noAuthorization = UInt8(ascii: "a")
    static let noDateHeader = UInt8(ascii: "d")
    static let otherRegion = UInt8(ascii: "r")
    static let textContentType = UInt8(ascii: "c")
    static let plainJSONContentType = UInt8(ascii: "j")
    static let methodGET = UInt8(ascii: "g")
    static let methodOPTIONS = UInt8(ascii: "O")
    static let origin = UInt8(ascii: "o")
    static let http10 = UInt8(ascii: "0")
    static let connectionClose = UInt8(ascii: "k")
    static let chunked = UInt8(ascii: "e")
    static let queryAuthorization = UInt8(ascii: "q")
    /// `application/x-amz-cbor-1.1`, the body (after substitution) re-encoded as the Java SDK's CBOR.
    static let cborBody = UInt8(ascii: "b")
    /// Advance the engine's clock by 1 s / 301 s before sending (rate limits refill; iterators and tokens expire).
    static let advanceSecond = UInt8(ascii: "s")
    static let advancePastIteratorLifetime = UInt8(ascii: "t")

    var isHTTP10: Bool { flags.contains(Self.http10) }

    /// The operation the target names, when it is Kinesis's service.
    var operation: String? {
        guard let target else { return nil }
        let prefix = Array("Kinesis_20131202.".utf8)
        guard target.starts(with: prefix) else { return nil }
        return String(decoding: target.dropFirst(prefix.count), as: UTF8.self)
    }

    /// The request on the wire, with `$XX` placeholders in the body replaced from `bindings`.
    func wireBytes(bindings: [String: [UInt8]]) -> [UInt8] {
        var body = Self.substitute(self.body, bindings)
        if flags.contains(Self.cborBody) { body = KinesisCBORFuzzing.cborBody(fromJSON: body) ?? body }
        let method = flags.contains(Self.methodOPTIONS) ? "OPTIONS" : flags.contains(Self.methodGET) ? "GET" : "POST"
        let uri = flags.contains(Self.queryAuthorization)
            ? "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261122%2Fus-east-1%2Fkinesis%2Faws4_request"
            : "/"
        var head = Array("\(method) \(uri) HTTP/1.\(isHTTP10 ? 0 : 1)\r\nHost: 127.0.0.1:4567\r\n".utf8)
        if let target { head += Array("X-Amz-Target: ".utf8) + target + [13, 10] }
        let contentType = flags.contains(Self.textContentType) ? "text/plain"
            : flags.contains(Self.plainJSONContentType) ? "application/json"
            : flags.contains(Self.cborBody) ? KinesisCBOR.contentType : "application/x-amz-json-1.1"
        head += Array("Content-Type: \(contentType)\r\n".utf8)
        if !flags.contains(Self.noAuthorization) {
            let region = flags.contains(Self.otherRegion) ? "eu-west-1" : "us-east-1"
            head += Array(("Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/\(region)/kinesis/"
                + "aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000\r\n").utf8)
            if !flags.contains(Self.noDateHeader) { head += Array("X-Amz-Date: 20261122T203517Z\r\n".utf8) }
        }
        if flags.contains(Self.origin) || flags.contains(Self.methodOPTIONS) {
            head += Array("Origin: http://localhost\r\nAccess-Control-Request-Headers: x-amz-target\r\n".utf8)
        }
        if flags.contains(Self.connectionClose) { head += Array("Connection: close\r\n".utf8) }
        if isHTTP10 && !flags.contains(Self.connectionClose) { head += Array("Connection: keep-alive\r\n".utf8) }
        if flags.contains(Self.chunked) {
            head += Array("Transfer-Encoding: chunked\r\n\r\n".utf8)
            // Two chunks, so the handler's body aggregation sees more than one part.
            let half = body.count / 2
            for chunk in [body[..<half], body[half...]] where !chunk.isEmpty {
                head += Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + [13, 10]
            }
            return head + Array("0\r\n\r\n".utf8)
        }
        head += Array("Content-Length: \(body.count)\r\n\r\n".utf8)
        return head + body
    }

    static func substitute(_ body: [UInt8], _ bindings: [String: [UInt8]]) -> [UInt8] {
        guard body.contains(UInt8(ascii: "$")) else { return body }
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = 0
        while i < body.count {
            if body[i] == UInt8(ascii: "$"), i + 2 < body.count,
               let value = bindings[String(decoding: body[(i + 1)...(i + 2)], as: UTF8.self)] {
                out += value
                i += 3
            } else {
                out.append(body[i])
                i += 1
            }
        }
        return out
    }
}
