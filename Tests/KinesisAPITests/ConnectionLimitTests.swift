import Foundation
@testable import KinesisAPI
import NIOCore
import NIOEmbedded
import NIOHTTP1
import StreamEngine
import Testing

/// One connection's real pipeline (deadlines, NIO's HTTP codec, the Kinesis handler)
/// on an `EmbeddedChannel`: raw bytes in, raw bytes out, event-loop time moved by the
/// test, the engine on a `ManualClock`.
final class WireHarness {
    let clock: ManualClock
    let engine: KinesisEngine
    let channel = EmbeddedChannel()
    var loop: EmbeddedEventLoop { channel.embeddedEventLoop }

    init(limits: KinesisServer.ConnectionLimits = .init(maxConnections: 10), budget: RequestBodyBudget? = nil,
         sharing other: WireHarness? = nil) throws {
        (clock, engine) = other.map { ($0.clock, $0.engine) } ?? testEngine()
        let dispatcher = EngineDispatcher(engine: { [engine] in engine }, account: nil)
        let processor = KinesisRequestProcessor(dispatcher: dispatcher, verifier: nil, defaultRegion: "us-east-1")
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(ConnectionDeadlineHandler(timeouts: limits.timeouts))
        try sync.configureHTTPServerPipeline(withErrorHandling: true)
        try sync.addHandler(KinesisHTTPHandler(
            processor: processor, maxBodyBytes: 16 << 20, polling: SubscriptionPolling(),
            bodyBudget: budget ?? RequestBodyBudget(limit: limits.maxBufferedBodyBytes)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4567)).wait()
    }

    deinit { _ = try? channel.finish(acceptAlreadyClosed: true) }

    var isOpen: Bool { channel.isActive }

    func send(_ text: String) throws { try channel.writeInbound(ByteBuffer(string: text)) }

    func advance(_ seconds: Double) { loop.advanceTime(by: .milliseconds(Int64((seconds * 1_000).rounded()))) }

    /// Everything written to the socket since the last call.
    func output() throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { throw WireError.fileRegion }
            text += String(buffer: buffer)
        }
        return text
    }

    /// A complete JSON 1.1 request as an SDK sends it.
    static func request(_ operation: KinesisOperation, _ body: String = "{}", extraHeaders: String = "") -> String {
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:4567\r\nContent-Type: application/x-amz-json-1.1\r\n"
            + "X-Amz-Target: \(operation.target)\r\nX-Amz-Date: 20261122T203517Z\r\n"
            + "Authorization: \(ServerHarness.authorization())\r\n\(extraHeaders)"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// Sends a request and reads back one complete response.
    @discardableResult
    func call(_ operation: KinesisOperation, _ body: String = "{}") throws -> WireResponse {
        try send(Self.request(operation, body))
        return try #require(WireResponse.parse(try output()).first)
    }

    enum WireError: Error { case fileRegion }
}

/// A response read back from raw bytes, framed by Content-Length.
struct WireResponse {
    var status: Int
    var headers: [String: String]
    var body: String

    static func parse(_ text: String) -> [WireResponse] {
        var rest = Substring(text)
        var out: [WireResponse] = []
        while let end = rest.range(of: "\r\n\r\n") {
            let lines = rest[..<end.lowerBound].components(separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ")[1]) ?? 0
            var headers: [String: String] = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                headers[line[..<colon].lowercased()] = value
            }
            rest = rest[end.upperBound...]
            let length = headers["content-length"].flatMap { Int($0) } ?? rest.utf8.count
            let bodyEnd = rest.utf8.index(rest.startIndex, offsetBy: min(length, rest.utf8.count))
            out.append(WireResponse(status: status, headers: headers, body: String(rest[..<bodyEnd])))
            rest = rest[bodyEnd...]
        }
        return out
    }
}

private func limits(header: Int64 = 10, body: Int64 = 60, idle: Int64 = 120) -> KinesisServer.ConnectionLimits {
    KinesisServer.ConnectionLimits(headerTimeout: .seconds(header), bodyTimeout: .seconds(body),
                                   idleTimeout: .seconds(idle), maxConnections: 10)
}

@Suite("Connection deadlines: header, body and idle timeouts")
struct ConnectionDeadlineTests {
    @Test func aTrickledHeadGets408AtTheHeaderTimeout() throws {
        let h = try WireHarness(limits: limits())
        try h.send("POST / HTTP/1.1\r\nHost: x\r\n")
        for _ in 0..<9 {
            h.advance(1)
            try h.send("X-Trickle: 1\r\n")  // bytes keep coming, the head never completes
        }
        h.advance(0.999)
        #expect(h.isOpen)
        #expect(try h.output().isEmpty)
        h.advance(0.001)
        let reply = try h.output()
        let response = try #require(WireResponse.parse(reply).first)
        #expect(response.status == 408)
        #expect(response.headers["connection"] == "close")
        #expect(response.headers["content-length"] == "0")
        #expect(response.headers["x-amzn-requestid"]?.count == 36)
        #expect(!h.isOpen)
    }

    @Test func aConnectionThatSendsNothingIsClosedWithoutAReply() throws {
        let h = try WireHarness(limits: limits())
        h.advance(9.999)
        #expect(h.isOpen)
        h.advance(0.001)
        #expect(!h.isOpen)
        #expect(try h.output().isEmpty)
    }

    @Test func aHeadJustInTimeStartsTheBodyClock() throws {
        let h = try WireHarness(limits: limits())
        h.advance(9.9)
        try h.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        h.advance(59.9)  // well past the header timeout: the head came in time
        #expect(h.isOpen)
        try h.send("0123456789")
        let response = try #require(WireResponse.parse(try h.output()).first)
        #expect(response.status != 408)
    }

    @Test func aBodySentSlowlyGets408AtTheBodyTimeout() throws {
        let h = try WireHarness(limits: limits())
        try h.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
                   + "Content-Length: 16777215\r\n\r\n")
        for _ in 0..<59 {
            h.advance(1)
            try h.send(String(repeating: "x", count: 1_000))
        }
        h.advance(0.999)
        #expect(h.isOpen)
        h.advance(0.001)
        let out = try h.output()
        #expect(WireResponse.parse(out).map(\.status) == [408], "\(out.debugDescription)")
        #expect(!h.isOpen)
    }

    @Test func anIdleKeptAliveConnectionClosesSilentlyAndEachResponseRestartsTheClock() throws {
        let h = try WireHarness(limits: limits())
        #expect(try h.call(.listStreams).status == 200)
        h.advance(100)
        #expect(try h.call(.listStreams).status == 200)
        h.advance(119.999)  // 219.999 s after the first response: the second restarted the clock
        #expect(h.isOpen)
        h.advance(0.001)
        #expect(!h.isOpen)
        #expect(try h.output().isEmpty)
    }

    @Test func theFirstByteOfANextRequestSwitchesToTheHeaderClock() throws {
        let h = try WireHarness(limits: limits())
        #expect(try h.call(.listStreams).status == 200)
        h.advance(100)
        try h.send("P")
        h.advance(9.999)
        #expect(h.isOpen)
        h.advance(0.001)  // 110 s: before the idle timeout, at the header timeout from the first byte
        #expect(WireResponse.parse(try h.output()).map(\.status) == [408])
        #expect(!h.isOpen)
    }

    @Test func pipelinedRequestsAreAllAnsweredThenTheIdleClockRuns() throws {
        let h = try WireHarness(limits: limits())
        try h.send(WireHarness.request(.listStreams) + WireHarness.request(.listStreams) + "POST / HT")
        #expect(WireResponse.parse(try h.output()).map(\.status) == [200, 200])
        // The start of a third request came in the same read as the two: the deadline handler
        // cannot tell it from theirs, so the idle timeout, not the header timeout, bounds it.
        h.advance(119.999)
        #expect(h.isOpen)
        h.advance(0.001)
        #expect(!h.isOpen)
    }

    /// Creates stream `s`, registers consumer `app` and sends SubscribeToShard from LATEST on shard 0.
    private func subscribe(_ h: WireHarness) throws {
        #expect(try h.call(.createStream, #"{"StreamName":"s","ShardCount":1}"#).status == 200)
        let registered = try h.call(.registerStreamConsumer,
            #"{"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s","ConsumerName":"app"}"#)
        let document = try JSONSerialization.jsonObject(with: Data(registered.body.utf8)) as? [String: Any]
        let arn = try #require((document?["Consumer"] as? [String: Any])?["ConsumerARN"] as? String)
        h.clock.advance(by: .seconds(1))
        try h.send(WireHarness.request(.subscribeToShard,
            #"{"ConsumerARN":"\#(arn)","ShardId":"shardId-000000000000","StartingPosition":{"Type":"LATEST"}}"#))
    }

    @Test func aRequestBegunDuringAnAnswerHasTheHeaderTimeoutFromTheAnswersEnd() throws {
        let h = try WireHarness(limits: limits(idle: 5))
        try subscribe(h)
        h.advance(30)
        try h.send("POST / HT")  // written while the stream runs
        h.clock.advance(by: .seconds(300))
        h.advance(1)  // the stream ends
        _ = try h.output()
        h.advance(9.999)  // past the 5 s idle timeout: a request is under way
        #expect(h.isOpen)
        h.advance(0.001)
        #expect(WireResponse.parse(try h.output()).map(\.status) == [408])
    }

    @Test func aSubscriptionIsNotCutByTheIdleTimeout() throws {
        let h = try WireHarness(limits: limits(idle: 5))
        try subscribe(h)
        #expect(try h.output().hasPrefix("HTTP/1.1 200 OK"))
        for _ in 0..<60 {  // a minute of loop time, twelve idle timeouts
            h.advance(1)
            #expect(try h.output().contains("SubscribeToShardEvent"))
        }
        #expect(h.isOpen)
        // When the stream ends, the connection is idle again and the idle clock applies.
        h.clock.advance(by: .seconds(300))
        h.advance(1)
        _ = try h.output()
        #expect(h.isOpen)
        h.advance(5)
        #expect(!h.isOpen)
    }
}

@Suite("Every request method gets a complete reply")
struct CompleteReplyTests {
    @Test func connectIsAnsweredAndTheConnectionCloses() throws {
        // NIO's decoder treats CONNECT as leaving HTTP and strips the body of its answer:
        // only closing tells the client where that answer ends.
        let h = try WireHarness(limits: limits())
        try h.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        let reply = try h.output()
        #expect(reply.hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        #expect(reply.contains("Connection: close\r\n"))
        #expect(!h.isOpen)
    }

    @Test func anUpgradeRequestIsAnsweredAndTheConnectionCloses() throws {
        let h = try WireHarness(limits: limits())
        try h.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        let response = try #require(WireResponse.parse(try h.output()).first)
        #expect(response.status == 403)
        #expect(response.headers["connection"] == "close")
        #expect(response.body.hasPrefix("<AccessDeniedException>"))
        #expect(!h.isOpen)
    }

    @Test func headIsAnsweredWithoutABodyAndTheConnectionStaysUsable() throws {
        let h = try WireHarness(limits: limits())
        try h.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        let reply = try h.output()
        #expect(reply.hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        #expect(reply.hasSuffix("\r\n\r\n"))  // the head only
        #expect(reply.contains("Content-Length: 130\r\n"))
        #expect(h.isOpen)
        #expect(try h.call(.listStreams).status == 200)
    }

    @Test func anUnknownMethodGets400AndClose() throws {
        let h = try WireHarness(limits: limits())
        try h.send("BREW / HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try #require(WireResponse.parse(try h.output()).first)
        #expect(response.status == 400)
        #expect(response.headers["connection"] == "close")
        #expect(!h.isOpen)
    }
}

@Suite("The request-body budget")
struct RequestBodyBudgetTests {
    @Test func reserveAndReleaseAtTheBoundary() {
        let budget = RequestBodyBudget(limit: 100)
        #expect(budget.reserve(60))
        #expect(budget.wouldFit(40))
        #expect(!budget.wouldFit(41))
        #expect(!budget.reserve(41))
        #expect(budget.inUse == 60)
        #expect(budget.reserve(40))
        #expect(!budget.reserve(1))
        budget.release(100)
        #expect(budget.inUse == 0)
        #expect(budget.reserve(100))
    }

    @Test func aDeclaredBodyThatDoesNotFitGets503AndTheConnectionStaysUsable() throws {
        let budget = RequestBodyBudget(limit: 100)
        let slow = try WireHarness(limits: limits(), budget: budget)
        try slow.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 90\r\n\r\n" + String(repeating: "a", count: 80))
        #expect(budget.inUse == 80)  // bytes held, not bytes declared

        let other = try WireHarness(limits: limits(), budget: budget, sharing: slow)
        let fits = #"{"StreamName":"s"}"#  // 18 bytes: 80 + 18 fits
        #expect(try other.call(.describeStreamSummary, fits).status == 400)  // served: ResourceNotFound
        #expect(budget.inUse == 80)  // given back once answered
        let overflows = #"{"StreamName":"s"}   "#  // 21 bytes: 80 + 21 > 100
        let response = try other.call(.describeStreamSummary, overflows)
        #expect(response.status == 503)
        #expect(response.headers["content-type"] == "application/x-amz-json-1.1")
        #expect(response.headers["x-amzn-requestid"] != nil)
        let document = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
        #expect(document?["__type"] as? String == "ServiceUnavailableException")
        #expect((document?["message"] as? String)?.isEmpty == false)
        #expect(other.isOpen)  // the refused body was read to its end: the connection is still in step

        try slow.send(String(repeating: "a", count: 10))  // the slow body ends and is answered
        _ = try slow.output()
        #expect(budget.inUse == 0)
        #expect(try other.call(.describeStreamSummary, overflows).status == 400)
    }

    @Test func aChunkedBodyThatGrowsPastTheBudgetGets503() throws {
        let budget = RequestBodyBudget(limit: 100)
        let h = try WireHarness(limits: limits(), budget: budget)
        try h.send(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n")
        try h.send("3c\r\n" + String(repeating: " ", count: 60) + "\r\n")
        #expect(budget.inUse == 60)
        try h.send("3c\r\n" + String(repeating: " ", count: 60) + "\r\n")
        #expect(budget.inUse == 0)  // refused: what it held is given back, the rest is dropped
        try h.send("0\r\n\r\n")
        #expect(WireResponse.parse(try h.output()).map(\.status) == [503])
    }

    @Test func closingMidBodyGivesTheBytesBack() throws {
        let budget = RequestBodyBudget(limit: 1_000)
        let h = try WireHarness(limits: limits(), budget: budget)
        try h.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + String(repeating: "a", count: 300))
        #expect(budget.inUse == 300)
        h.advance(60)  // body timeout
        #expect(!h.isOpen)
        #expect(budget.inUse == 0)
    }
}

@Suite("The connection cap")
struct ConnectionCapTests {
    @Test func theRegistryAdmitsUpToTheLimitAndFreesASlotOnClose() throws {
        let registry = ConnectionRegistry()
        let channels = (0..<3).map { _ in EmbeddedChannel() }
        #expect(registry.admit(channels[0], limit: 2))
        #expect(registry.admit(channels[1], limit: 2))
        #expect(!registry.admit(channels[2], limit: 2))
        #expect(registry.count == 2)
        _ = try channels[0].finish(acceptAlreadyClosed: true)
        #expect(registry.count == 1)
        #expect(registry.admit(channels[2], limit: 2))
        for channel in channels { _ = try? channel.finish(acceptAlreadyClosed: true) }
    }

    @Test func aRefusedConnectionGets503WithAKinesisBodyAtOnceThenCloses() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ConnectionRefusalHandler(maxConnections: 7, linger: .seconds(2)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4567)).wait()
        let reply = String(buffer: try #require(try channel.readOutbound(as: ByteBuffer.self)))
        let response = try #require(WireResponse.parse(reply).first)
        #expect(response.status == 503)
        #expect(response.headers["connection"] == "close")
        #expect(response.headers["content-type"] == "application/x-amz-json-1.1")
        #expect(response.body == #"{"__type":"ServiceUnavailableException","message":"#
                + #""The server is serving its maximum of 7 connections. Retry shortly."}"#)
        try channel.writeInbound(ByteBuffer(string: "POST / HTTP/1.1\r\n"))  // drained, not answered again
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    @Test(arguments: [(nil, 1_000), (1, 1), (33, 1), (64, 32), (1_024, 896), (65_536, 10_000), (1_048_576, 10_000)]
          as [(Int?, Int)])
    func theDefaultCapFollowsTheOpenFileLimit(limit: Int?, cap: Int) {
        #expect(KinesisServer.ConnectionLimits.defaultMaxConnections(openFileLimit: limit) == cap)
    }
}
