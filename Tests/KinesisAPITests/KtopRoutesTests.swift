import Foundation
@testable import KinesisAPI
import NIOHTTP1
import StreamEngine
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `GET /ktop/v1/sample` and `GET /ktop/v1/events` on the server's front door (an
/// `EmbeddedChannel` in front of a real engine on a `ManualClock`).
@Suite struct KtopRoutesTests {
    /// A stream `s` of two shards that took 1,100 records on shard 0 in one instant
    /// through the wire (100 throttled), and a stream `other` in eu-west-1.
    static func busyServer() throws -> ServerHarness {
        let h = try ServerHarness()
        try h.call(.createStream, #"{"StreamName":"s","ShardCount":2}"#)
        for batch in 0..<3 {
            let count = batch == 2 ? 100 : 500
            let records = (0..<count).map { i in #"{"Data":"eA==","PartitionKey":"k\#(i % 3)","ExplicitHashKey":"0"}"# }
            try h.call(.putRecords, #"{"StreamName":"s","Records":[\#(records.joined(separator: ","))]}"#)
        }
        try h.call(.createStream, #"{"StreamName":"other","ShardCount":1}"#, region: "eu-west-1")
        h.engine.tick()
        return h
    }

    @Test func theSampleIsTheEnginesExactCountersAsJSON() throws {
        let h = try Self.busyServer()
        let r = try h.get("/ktop/v1/sample")
        #expect(r.status == 200)
        #expect(r.header("Content-Type") == "application/json")
        #expect(r.header("x-ktop-api") == "1")
        #expect(r.header("x-amzn-RequestId") != nil)
        let sample = try JSONDecoder().decode(EngineSample.self, from: Data(r.body))
        #expect(sample == h.engine.sample())
        let shard = try #require(sample.streams.first { $0.name == "s" }?.shards.first)
        #expect(shard.counters.incomingRecords == 1000 && shard.counters.writeThrottledRecords == 100)
        #expect(sample.streams.map(\.name).sorted() == ["other", "s"])
    }

    @Test(arguments: [
        ("?stream=s", ["s"]), ("?stream=%73", ["s"]), ("?region=eu-west-1", ["other"]),
        ("?region=eu%2Dwest%2D1&stream=other", ["other"]), ("?account=123456789012&region=us-east-1", ["s"]),
        ("?stream=nope", []), ("?account=000000000000", []), ("?", ["other", "s"]), ("?&stream=s&", ["s"]),
    ])
    func parametersFilterTheStreams(_ query: String, _ names: [String]) throws {
        let h = try Self.busyServer()
        let r = try h.get("/ktop/v1/sample" + query)
        #expect(r.status == 200)
        let sample = try JSONDecoder().decode(EngineSample.self, from: Data(r.body))
        #expect(sample.streams.map(\.name).sorted() == names)
    }

    @Test(arguments: [
        "/ktop/v1/sample?streams=s", "/ktop/v1/sample?stream=", "/ktop/v1/sample?stream=s&stream=t",
        "/ktop/v1/sample?stream=%ZZ", "/ktop/v1/sample?stream=%", "/ktop/v1/sample?stream", "/ktop/v1/sample?after=1",
        "/ktop/v1/sample?stream=" + String(repeating: "a", count: 257),
        "/ktop/v1/events?after=-1", "/ktop/v1/events?after=%2B5", "/ktop/v1/events?after=abc",
        "/ktop/v1/events?after=18446744073709551616", "/ktop/v1/events?after=1.5", "/ktop/v1/events?region=",
    ])
    func badParametersAre400WithAJSONMessage(_ uri: String) throws {
        let h = try Self.busyServer()
        let r = try h.get(uri)
        #expect(r.status == 400)
        #expect(r.header("Content-Type") == "application/json" && r.header("x-ktop-api") == "1")
        #expect((r.json["message"] as? String)?.isEmpty == false)
        #expect(r.json.count == 1)
    }

    @Test(arguments: ["/ktop/", "/ktop/v1/", "/ktop/v1/samples", "/ktop/v2/sample", "/ktop/v1/sample/"])
    func otherKtopPathsAre404(_ uri: String) throws {
        let h = try ServerHarness()
        let r = try h.get(uri)
        #expect(r.status == 404 && r.header("x-ktop-api") == "1")
        #expect((r.json["message"] as? String)?.contains("/ktop/v1/sample") == true)
    }

    @Test func onlyGETIsKtopsAndPOSTStaysKinesis() throws {
        let h = try Self.busyServer()
        // The Kinesis protocol ignores the path: a POST there is still an operation.
        let listed = try h.send(method: .POST, uri: "/ktop/v1/sample", target: KinesisOperation.listStreams.target)
        #expect(listed.status == 200 && (listed.json["StreamNames"] as? [String]) == ["s"])
        let put = try h.send(method: .PUT, uri: "/ktop/v1/sample", target: nil, body: "", contentType: nil,
                             authorization: nil)
        #expect(put.status == 403 && put.header("x-ktop-api") == nil)
    }

    @Test func noSignatureIsAskedEvenWhenVerifying() throws {
        let verifier = SigV4Verifier(credentials: [AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret")])
        let h = try ServerHarness(verifier: verifier)
        let r = try h.get("/ktop/v1/sample")
        #expect(r.status == 200)
        // …while a Kinesis call without one is refused as before.
        let refused = try h.send(target: KinesisOperation.listStreams.target, authorization: nil)
        #expect(refused.status == 400 || refused.status == 403)
    }

    @Test func eventsAfterAnIdAreTheNewerOnes() throws {
        let h = try Self.busyServer()
        let all = try h.get("/ktop/v1/events")
        #expect(all.status == 200 && all.header("x-ktop-api") == "1")
        let reply = try JSONDecoder().decode(KtopRoutes.EventsReply.self, from: Data(all.body))
        #expect(reply.events == h.engine.events.events())
        #expect(reply.lastId == h.engine.events.lastId && reply.lastId == 4)
        #expect(reply.events.last?.kind == .streamActive && reply.events.last?.stream == "other"
                && reply.events.last?.region == "eu-west-1")

        let after = try h.get("/ktop/v1/events?after=\(reply.lastId - 1)&stream=other")
        let newer = try JSONDecoder().decode(KtopRoutes.EventsReply.self, from: Data(after.body))
        #expect(newer.lastId == reply.lastId && newer.events.map(\.id) == [reply.lastId])
        for id in ["0", String(reply.lastId), "18446744073709551615"] {
            let r = try h.get("/ktop/v1/events?after=\(id)&region=us-east-1")
            #expect(r.status == 200)
            let events = try JSONDecoder().decode(KtopRoutes.EventsReply.self, from: Data(r.body)).events
            #expect(events.allSatisfy { $0.region == "us-east-1" && $0.id > UInt64(id)! })
            #expect(events.isEmpty == (id != "0"))
        }
    }
}

extension ServerHarness {
    /// A bare `GET`, as a browser or curl sends one: no signature, no content type.
    func get(_ uri: String) throws -> TestResponse {
        try send(method: .GET, uri: uri, target: nil, body: "", contentType: nil, authorization: nil)
    }
}

// MARK: the client against real sockets

/// A stand-in for a server ktop does not run: nothing reaches an engine.
private struct NoEngine: OperationDispatcher {
    func dispatch(_ operation: KinesisOperation, region: String, input: RequestBody,
                  encoding: KinesisBodyEncoding) throws(KinesisError) -> OperationResult {
        throw KinesisError(.internalFailure, "no engine")
    }
}

/// A loopback HTTP server that answers every request with one canned reply (or,
/// with `reply: nil`, reads and never answers), as moto, AWS or a broken ktop might.
private final class CannedServer: @unchecked Sendable {  // @unchecked: `fd` is set once in init, then only read
    let port: Int
    private let fd: Int32

    init(reply: String?) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, p, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
        let listener = fd
        Thread.detachNewThread {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    close(listener)  // here, not in deinit: see there
                    return
                }
                var timeout = timeval(tv_sec: 30, tv_usec: 0)
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                var request: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while !request.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) {
                    let n = recv(client, &buffer, buffer.count, 0)
                    if n <= 0 { break }
                    request += buffer[0..<n]
                }
                guard let reply else {
                    // Hold the connection, answering nothing, until the client gives up (or 5 s pass).
                    while recv(client, &buffer, buffer.count, 0) > 0 {}
                    close(client)
                    continue
                }
                let bytes = Array(reply.utf8)
                _ = send(client, bytes, bytes.count, 0)
                close(client)
            }
        }
    }

    /// Wakes the accepting thread, which closes the listener itself. Closing it here raced that thread:
    /// another test's new listener could be given the same descriptor first, and this server's thread then
    /// took that test's connections (CI saw a silent server hold a connection meant for another one).
    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
    }
}

private func http(_ status: String, _ headers: [String], _ body: String) -> String {
    (["HTTP/1.1 \(status)", "Content-Length: \(body.utf8.count)", "Connection: close"] + headers)
        .joined(separator: "\r\n") + "\r\n\r\n" + body
}

@Suite struct KtopEndpointClientTests {
    func url(_ port: Int) -> URL { URL(string: "http://127.0.0.1:\(port)")! }

    @Test func readsAServersSampleAndEventsExactly() async throws {
        let (_, engine) = testEngine()
        let server = KinesisServer(engine: engine, configuration: .init(host: "127.0.0.1", port: 0, threads: 1))
        let port = try await server.start()
        defer { Task { try? await server.shutdown() } }
        let kinesis = KinesisHTTPClient(endpoint: url(port), region: "us-east-1",
                                        credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"))
        _ = try kinesis.createStream(CreateStreamInput(streamName: "s", shardCount: 1))
        let entries = (0..<1100).map { i in
            PutRecordsRequestEntry(data: Data([UInt8(i & 0xFF)]), partitionKey: "k\(i % 4)")
        }
        var failed = 0
        for chunk in stride(from: 0, to: 1100, by: 500) {
            failed += try kinesis.putRecords(PutRecordsInput(records: Array(entries[chunk..<min(chunk + 500, 1100)]),
                                                             streamName: "s")).failedRecordCount ?? 0
        }
        #expect(failed == 100)

        let client = KtopEndpointClient(endpoint: URL(string: "http://127.0.0.1:\(port)/")!, timeout: .seconds(30))
        let probed = try #require(try client.probe(stream: "s"))
        var expected = engine.sample(stream: "s")
        expected.streams[0].provenance = .ktopEndpoint("http://127.0.0.1:\(port)/")
        #expect(probed == expected)
        #expect(probed.streams[0].provenance.kind == "ktop-endpoint")
        #expect(probed.streams[0].shards[0].counters.writeThrottledRecords == 100)
        #expect(probed.streams[0].shards[0].counters.incomingRecords == 1000)
        #expect(try client.sample(region: "eu-west-1").streams.isEmpty)
        #expect(try client.sample(stream: "a b/&=?#%").streams.isEmpty)  // encoded, so it reaches the filter intact

        let events = try client.events()
        #expect(events.events == engine.events.events() && events.lastId == engine.events.lastId)
        #expect(try client.events(after: events.lastId).events.isEmpty)
        try await server.shutdown()
    }

    @Test func aServerWithoutTheRoutesIsNotAKtop() async throws {
        // What a ktop older than these routes answers: Coral's XML 403 to a GET.
        let server = KinesisServer(dispatcher: NoEngine(), defaultRegion: "us-east-1",
                                   configuration: .init(host: "127.0.0.1", port: 0, threads: 1), eventLoopGroup: nil)
        let port = try await server.start()
        #expect(try KtopEndpointClient(endpoint: url(port), timeout: .seconds(30)).probe() == nil)
        try await server.shutdown()
    }

    @Test(arguments: [
        http("404 Not Found", ["Content-Type: text/html"], "<h1>Not Found</h1>"),  // moto, LocalStack
        http("403 Forbidden", [], "<AccessDeniedException/>"),
        http("200 OK", ["Content-Type: application/json"], #"{"streams": []}"#),  // JSON, but no x-ktop-api
        http("500 Internal Server Error", [], ""),
    ])
    func foreignEndpointsProbeAsNil(_ reply: String) throws {
        let foreign = try CannedServer(reply: reply)
        #expect(try KtopEndpointClient(endpoint: url(foreign.port), timeout: .seconds(30)).probe() == nil)
    }

    // The timeouts of these happy paths are far above their few milliseconds: a 5 s one once expired in CI's
    // ThreadSanitizer run (645 tests in parallel on two cores, each slowed several times).
    @Test func aKtopThatRefusesOrSendsGarbageIsAnError() throws {
        let refusing = try CannedServer(reply: http("400 Bad Request", ["x-ktop-api: 1"], #"{"message": "no"}"#))
        #expect(throws: KtopEndpointError.refused(status: 400, message: "no")) {
            _ = try KtopEndpointClient(endpoint: url(refusing.port), timeout: .seconds(30)).probe()
        }
        let hostile = #"{"time": 0, "limitsProfile": "aws", "enforcesThroughput": true, "clockSpeed": 1, "#
            + #""retainedBytes": -1, "retainedBytesBudget": 0, "streams": []}"#
        let garbage = try CannedServer(reply: http("200 OK", ["x-ktop-api: 1"], hostile))
        do {
            _ = try KtopEndpointClient(endpoint: url(garbage.port), timeout: .seconds(30)).sample()
            Issue.record("a negative retainedBytes decoded")
        } catch {
            guard case .badReply(let why) = error else { Issue.record("\(error)"); return }
            #expect(why.contains("retainedBytes"))
        }
    }

    @Test func nothingListeningOrNoAnswerIsUnreachableWithinTheTimeout() throws {
        // A port just bound and released: nothing listens there.
        let port = try { () throws -> Int in
            let server = try CannedServer(reply: "")
            return server.port
        }()
        #expect {
            _ = try KtopEndpointClient(endpoint: url(port), timeout: .seconds(2)).probe()
        } throws: { error in
            if case .unreachable = error as? KtopEndpointError { return true } else { return false }
        }
        let silent = try CannedServer(reply: nil)
        let start = ContinuousClock.now
        #expect {
            _ = try KtopEndpointClient(endpoint: url(silent.port), timeout: .milliseconds(500)).probe()
        } throws: { error in
            guard case .unreachable(let why) = error as? KtopEndpointError else { return false }
            return why.contains("within")
        }
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func parameterValuesArePercentEncoded() {
        let client = KtopEndpointClient(endpoint: URL(string: "http://h:1/base/")!)
        let url = client.url("/ktop/v1/sample", [("stream", "a b/&=?#%é"), ("region", nil), ("account", "1")])
        #expect(url?.absoluteString == "http://h:1/base/ktop/v1/sample?stream=a%20b%2F%26%3D%3F%23%25%C3%A9&account=1")
    }
}
