import Foundation
import StreamEngine
import Testing

@testable import KinesisAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One blocking HTTP exchange over a real loopback socket. Every read has a
/// 5 s timeout, so a broken server fails the test instead of hanging it.
private func exchange(port: Int, _ request: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    let bytes = Array(request.utf8)
    guard send(fd, bytes, bytes.count, 0) == bytes.count else { throw POSIXError(.EIO) }
    var reply: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {  // the requests say Connection: close, so EOF ends the reply
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        reply += buffer[0..<n]
    }
    return String(decoding: reply, as: UTF8.self)
}

@Suite("KinesisServer on a real loopback socket")
struct ServerLoopbackTests {
    @Test func servesOnAFreePortAndShutsDown() async throws {
        var configuration = EngineConfiguration()
        configuration.delays = .immediate
        let engine = KinesisEngine(clock: ManualClock(), configuration: configuration)
        let server = KinesisServer(engine: engine, configuration: .init(host: "127.0.0.1", port: 0, threads: 1))
        let port = try await server.start()
        #expect(port > 0)
        #expect(server.port == port)

        let body = #"{"StreamName":"loop","ShardCount":1}"#
        let created = try exchange(
            port: port,
            """
            POST / HTTP/1.1\r
            Host: 127.0.0.1:\(port)\r
            Content-Type: application/x-amz-json-1.1\r
            X-Amz-Target: Kinesis_20131202.CreateStream\r
            X-Amz-Date: 20261122T203517Z\r
            Authorization: \(ServerHarness.authorization())\r
            Content-Length: \(body.utf8.count)\r
            Connection: close\r
            \r
            \(body)
            """)
        #expect(created.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(created.lowercased().contains("content-length: 0\r\n"))
        #expect(engine.service().streamNames == ["loop"])

        // Malformed HTTP gets NIO's 400 and the server carries on.
        let garbage = try exchange(port: port, "GARBAGE GARBAGE\r\n\r\n")
        #expect(garbage.isEmpty || garbage.hasPrefix("HTTP/1.1 400"))
        let listed = try exchange(
            port: port,
            """
            POST / HTTP/1.1\r
            Host: 127.0.0.1\r
            Content-Type: application/x-amz-json-1.1\r
            X-Amz-Target: Kinesis_20131202.ListStreams\r
            X-Amz-Date: 20261122T203517Z\r
            Authorization: \(ServerHarness.authorization())\r
            Content-Length: 0\r
            Connection: close\r
            \r

            """)
        #expect(listed.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(listed.contains(#"{"StreamNames":["loop"],"HasMoreStreams":false,"#))

        try await server.shutdown()
        #expect(server.port == nil)
        try await server.shutdown()  // idempotent
        await #expect(throws: KinesisServer.ServerError.self) { _ = try await server.start() }
        // Nothing of ours answers on the old port. Other suites run in parallel and the kernel may hand
        // the freed port to one of their servers, so the check is "not our stream", not "refused".
        if let reply = try? exchange(
            port: port,
            """
            POST / HTTP/1.1\r
            Host: 127.0.0.1\r
            Content-Type: application/x-amz-json-1.1\r
            X-Amz-Target: Kinesis_20131202.ListStreams\r
            X-Amz-Date: 20261122T203517Z\r
            Authorization: \(ServerHarness.authorization())\r
            Content-Length: 0\r
            Connection: close\r
            \r

            """)
        {
            #expect(!reply.contains(#""StreamNames":["loop"]"#), "the shut-down server still answers: \(reply)")
        }
    }
}
