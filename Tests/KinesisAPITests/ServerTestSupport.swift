import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import StreamEngine
import Testing

@testable import KinesisAPI

/// What a test reads back from one exchange.
struct TestResponse {
    var head: HTTPResponseHead
    var body: [UInt8]
    var status: Int { Int(head.status.code) }
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { head.headers.first(name: name) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
}

/// A fresh engine for a server test: a `ManualClock`, every status change immediate.
func testEngine() -> (ManualClock, KinesisEngine) {
    let clock = ManualClock()
    var configuration = EngineConfiguration()
    configuration.delays = .immediate
    return (clock, KinesisEngine(clock: clock, configuration: configuration))
}

/// A `KinesisHTTPHandler` on an `EmbeddedChannel` in front of a real engine on
/// a `ManualClock`: requests go in as HTTP parts, responses come out as parts,
/// time moves only when the test moves it.
final class ServerHarness {
    static let account = "123456789012"
    /// Any complete header passes when verification is off.
    static func authorization(region: String = "us-east-1") -> String {
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/\(region)/kinesis/aws4_request, "
            + "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000"
    }

    let clock: ManualClock
    let engine: KinesisEngine
    let channel = EmbeddedChannel()

    /// - Parameter sharing: another harness whose engine and clock this one uses (a second client connection).
    init(
        maxBodyBytes: Int = 16 << 20, verifier: SigV4Verifier? = nil, now: @escaping @Sendable () -> Date = { Date() },
        sharing other: ServerHarness? = nil
    ) throws {
        (clock, engine) = other.map { ($0.clock, $0.engine) } ?? testEngine()
        var processor = KinesisRequestProcessor(
            dispatcher: EngineDispatcher(engine: { [engine] in engine }, account: nil),
            verifier: verifier, defaultRegion: "us-east-1")
        processor.now = now
        processor.ktopRoutes = KtopRoutes(engine: { [engine] in engine })  // as KinesisServer sets it
        try channel.pipeline.syncOperations.addHandler(
            KinesisHTTPHandler(processor: processor, maxBodyBytes: maxBodyBytes, polling: SubscriptionPolling()))
        // An embedded channel starts inactive.
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4567)).wait()
    }

    deinit { _ = try? channel.finish(acceptAlreadyClosed: true) }

    /// Sends one request; returns the head and whatever body parts were written so far.
    @discardableResult
    func send(
        method: HTTPMethod = .POST, uri: String = "/", target: String?, body: String = "{}",
        contentType: String? = "application/x-amz-json-1.1", authorization: String? = ServerHarness.authorization(),
        extraHeaders: [(String, String)] = [], exactHeaders: [(name: String, value: String)]? = nil,
        version: HTTPVersion = .http1_1
    ) throws -> TestResponse {
        var headers = HTTPHeaders()
        if let exactHeaders {
            headers.add(contentsOf: exactHeaders.map { ($0.name, $0.value) })
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            return try send(method: method, uri: uri, headers: headers, body: body, version: version)
        }
        headers.add(name: "Host", value: "127.0.0.1:4567")
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        if let target { headers.add(name: "X-Amz-Target", value: target) }
        if let authorization {
            headers.add(name: "Authorization", value: authorization)
            headers.add(name: "X-Amz-Date", value: "20261122T203517Z")
        }
        for (n, v) in extraHeaders { headers.add(name: n, value: v) }
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        return try send(method: method, uri: uri, headers: headers, body: body, version: version)
    }

    private func send(
        method: HTTPMethod, uri: String, headers: HTTPHeaders, body: String, version: HTTPVersion
    ) throws -> TestResponse {
        try channel.writeInbound(
            HTTPServerRequestPart.head(HTTPRequestHead(version: version, method: method, uri: uri, headers: headers)))
        if !body.isEmpty {
            try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: body)))
        }
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        return try readResponse()
    }

    func readResponse() throws -> TestResponse {
        guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            throw HarnessError.noResponseHead
        }
        var response = TestResponse(head: head, body: [])
        response.body = try readBody()
        return response
    }

    /// Body bytes written so far (for a stream, what has been pumped until now).
    func readBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            switch part {
            case .body(.byteBuffer(let b)): body += Array(b.readableBytesView)
            case .end:
                endedResponses += 1
                return body
            default: throw HarnessError.unexpectedPart
            }
        }
        return body
    }

    private(set) var endedResponses = 0

    /// Calls an operation as boto3 would and returns the parsed JSON (or throws the wire error).
    @discardableResult
    func call(
        _ operation: KinesisOperation, _ body: String = "{}", region: String = "us-east-1"
    ) throws -> [String: Any] {
        let r = try send(
            target: operation.target, body: body, authorization: ServerHarness.authorization(region: region))
        guard r.status == 200 else { throw WireError(status: r.status, body: r.text) }
        return r.json
    }

    enum HarnessError: Error { case noResponseHead, unexpectedPart }
    struct WireError: Error, CustomStringConvertible {
        var status: Int
        var body: String
        var description: String { "HTTP \(status): \(body)" }
    }
}

/// Reads every event-stream message out of a byte sequence.
func eventMessages(_ bytes: [UInt8]) throws -> [EventStreamMessage] {
    var decoder = EventStreamDecoder()
    decoder.append(bytes)
    var out: [EventStreamMessage] = []
    while let m = try decoder.next() { out.append(m) }
    return out
}
