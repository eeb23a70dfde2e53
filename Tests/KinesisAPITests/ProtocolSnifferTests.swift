@_spi(Fuzzing) @testable import KinesisAPI
import NIOCore
import NIOEmbedded
import StreamEngine
import Testing

/// The first-bytes protocol sniffer of the server's plain and TLS ports, and the real
/// connection pipeline it heads, on `EmbeddedChannel`s.
@Suite struct ProtocolSnifferTests {
    static let preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    static func classify(_ bytes: [UInt8]) -> SniffedProtocol? {
        SniffedProtocol.classify(ByteBuffer(bytes: bytes).readableBytesView)
    }

    @Test func toldFromTheFewestBytes() {
        #expect(Self.classify([]) == nil)
        #expect(Self.classify(Array("P".utf8)) == nil)  // POST or PRI: not yet
        #expect(Self.classify(Array("PO".utf8)) == .http1)
        #expect(Self.classify(Array("GET / HTTP/1.1\r\n".utf8)) == .http1)
        #expect(Self.classify(Array(Self.preface.utf8.dropLast())) == nil)
        #expect(Self.classify(Array(Self.preface.utf8)) == .http2)
        #expect(Self.classify(Array((Self.preface + "\0\0\0\u{4}").utf8)) == .http2)
        // An HTTP/1.1 request that looks like the preface up to its version is HTTP/1.1.
        #expect(Self.classify(Array("PRI * HTTP/1.1\r\n".utf8)) == .http1)
        #expect(Self.classify([0x16, 0x03, 0x01]) == .tls)
        #expect(Self.classify([0x17]) == .http1)
    }

    /// Records what reaches the handler after the sniffer.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var received = ByteBuffer()
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
        }
    }

    @Test func holdsAPrefaceSplitAcrossReadsThenHandsItAllOn() throws {
        let channel = EmbeddedChannel()
        let collector = Collector()
        var told: [SniffedProtocol] = []
        try channel.pipeline.syncOperations.addHandler(
            ProtocolSniffer { protocolTold, context in
                told.append(protocolTold)
                try context.pipeline.syncOperations.addHandler(collector)
                return true
            })
        let bytes = Array((Self.preface + "frames").utf8)
        try channel.writeInbound(ByteBuffer(bytes: bytes[..<5]))
        #expect(told.isEmpty && collector.received.readableBytes == 0)
        try channel.writeInbound(ByteBuffer(bytes: bytes[5..<20]))
        #expect(told.isEmpty)
        try channel.writeInbound(ByteBuffer(bytes: bytes[20...]))
        #expect(told == [.http2])
        #expect(Array(collector.received.readableBytesView) == bytes)
        // The sniffer is gone: later bytes go straight on.
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.handler(type: ProtocolSniffer.self) }
        try channel.writeInbound(ByteBuffer(string: "more"))
        #expect(String(buffer: collector.received).hasSuffix("framesmore"))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    /// The plain port's real pipeline: an HTTP/1.1 request is answered as before, and the
    /// HTTP/2 preface gets the server's SETTINGS frame.
    @Test(arguments: [false, true])
    func plainPortServesBothProtocols(http2: Bool) throws {
        let (_, engine) = testEngine()
        let harness = KinesisFuzzHarness(engine: engine, configuration: KinesisServer.Configuration())
        let channel = EmbeddedChannel()
        try harness.configureConnection(channel)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4567)).wait()
        if http2 {
            // The preface, then an empty SETTINGS frame (length 0, type 4, no flags, stream 0).
            try channel.writeInbound(ByteBuffer(bytes: Array(Self.preface.utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]))
            var out = ByteBuffer()
            while var part = try channel.readOutbound(as: IOData.self).flatMap({
                if case .byteBuffer(let b) = $0 { return b } else { return nil }
            }) {
                out.writeBuffer(&part)
            }
            let frame = Array(out.readableBytesView.prefix(9))
            #expect(frame.count == 9 && frame[3] == 4 && frame[4] == 0, "first frame is the server's SETTINGS")
            #expect(!String(buffer: out).contains("HTTP/1.1"))
        } else {
            try channel.writeInbound(ByteBuffer(string: WireHarness.request(.listStreams)))
            let response = try #require(WireResponse.parse(try WireHarnessOutput.read(channel)).first)
            #expect(response.status == 200)
            #expect(response.body.contains("StreamNames"))
        }
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    /// An HTTP/2 client that sends the preface and nothing more is closed after the header
    /// timeout, without the HTTP/1.1 408 bytes an HTTP/1.1 connection would get.
    @Test func http2StallAfterThePrefaceIsClosedWithoutA408() throws {
        let (_, engine) = testEngine()
        var configuration = KinesisServer.Configuration()
        configuration.connectionLimits = .init(headerTimeout: .seconds(2), idleTimeout: .seconds(5), maxConnections: 9)
        let harness = KinesisFuzzHarness(engine: engine, configuration: configuration)
        let channel = EmbeddedChannel()
        try harness.configureConnection(channel)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 4567)).wait()
        try channel.writeInbound(ByteBuffer(bytes: Array(Self.preface.utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]))
        // PINGs do not count as requests: the connection still closes on time.
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 8, 6, 0, 0, 0, 0, 0] + [UInt8](repeating: 1, count: 8)))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1_100))
        #expect(!channel.isActive)
        #expect(!(try WireHarnessOutput.read(channel)).contains("HTTP/1.1"))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}

/// Raw bytes an `EmbeddedChannel` wrote, as text.
enum WireHarnessOutput {
    static func read(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
        }
        return text
    }
}
