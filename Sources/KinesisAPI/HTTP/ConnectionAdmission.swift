#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import StreamEngine
import Synchronization

/// The open client connections: counted against the cap as they are accepted, and
/// listed so that shutdown can quiesce them.
final class ConnectionRegistry: Sendable {
    private let channels = LockedValue<[ObjectIdentifier: any Channel]>([:])

    /// Registers `channel` unless `limit` connections are already open.
    func admit(_ channel: any Channel, limit: Int) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = channels.withLock { open -> Bool in
            guard open.count < limit else { return false }
            open[id] = channel
            return true
        }
        guard admitted else { return false }
        channel.closeFuture.whenComplete { [self] _ in
            _ = channels.withLock { $0.removeValue(forKey: id) }
        }
        return true
    }

    var all: [any Channel] { channels.withLock { Array($0.values) } }
    var count: Int { channels.withLock { $0.count } }
}

/// Answers a connection over the cap: `503 ServiceUnavailableException` with
/// `Connection: close` at once (before any request is read, so a refusal costs no
/// parsing and no buffer), then closes the server's side and reads the request to
/// drop it, so the client is not reset before it reads the reply (RFC 9112 §9.6).
/// The drain lasts until the client closes or `linger` passes.
final class ConnectionRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let reply: String
    private let linger: TimeAmount
    private var answered = false
    private var lingerTask: Scheduled<Void>?

    init(maxConnections: Int, linger: TimeAmount = .seconds(2)) {
        reply = ServiceUnavailable.response(
            message: "The server is serving its maximum of \(maxConnections) connections. Retry shortly.",
            close: true)
        self.linger = linger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { answer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        answer(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}  // the request is not read, only drained

    func channelInactive(context: ChannelHandlerContext) {
        lingerTask?.cancel()
        lingerTask = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func answer(context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: reply)))
            .assumeIsolated().whenComplete { _ in channel.close(mode: .output, promise: nil) }
        lingerTask = context.eventLoop.assumeIsolated().scheduleTask(in: linger) {
            channel.close(promise: nil)
        }
    }
}

/// `503 ServiceUnavailableException`: the answer of a server short of capacity
/// (connections, body memory). The shape is the AWS JSON error envelope (KINESIS.md
/// §1.4); SDKs retry a 503 with backoff.
enum ServiceUnavailable {
    static let type = "ServiceUnavailableException"

    static func body(message: String) -> [UInt8] {
        var out: [UInt8] = Array(#"{"__type":""#.utf8) + Array(type.utf8) + Array(#"","message":"#.utf8)
        JSONNode.writeString(message, into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The complete response as raw HTTP/1.1, for writing below the HTTP codec.
    static func response(message: String, close: Bool) -> String {
        let body = String(decoding: Self.body(message: message), as: UTF8.self)
        return "HTTP/1.1 503 Service Unavailable\r\nx-amzn-RequestId: \(UUIDString.random())\r\n"
            + "x-amz-id-2: \(KinesisRequestProcessor.extendedRequestId())\r\n"
            + "Content-Type: \(KinesisJSON.contentType)\r\nContent-Length: \(body.utf8.count)\r\n"
            + (close ? "Connection: close\r\n" : "") + "\r\n" + body
    }
}

/// Pauses accepting after an accept error, chiefly EMFILE/ENFILE (out of file
/// descriptors), and reports it at most once a minute. The pause starts at 10 ms and
/// doubles up to 1 s while accepts keep failing; a connection accepted resets it.
///
/// NIO's `AcceptBackoffHandler` cannot do this for a `ServerSocketChannel`: a failed
/// accept leaves the channel's read pending, so no new `read()` ever reaches the
/// handler to delay, the listener stays registered for readability, and a
/// level-triggered epoll wakes the loop at once to fail again (observed with strace:
/// `epoll_wait`, `accept4 = EMFILE` alternating, a core busy). Switching `autoRead`
/// off deregisters the listener until the pause ends.
final class AcceptBackoff: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    static let firstPause = TimeAmount.milliseconds(10)
    static let longestPause = TimeAmount.seconds(1)

    private let notice: RateLimitedNotice
    private let maxConnections: Int
    private var pause = AcceptBackoff.firstPause
    private var resume: Scheduled<Void>?

    init(notice: RateLimitedNotice, maxConnections: Int) {
        self.notice = notice
        self.maxConnections = maxConnections
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pause = Self.firstPause
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let io = error as? IOError else {
            context.fireErrorCaught(error)
            return
        }
        report(io)
        guard resume == nil, let options = context.channel.syncOptions else { return }
        try? options.setOption(.autoRead, value: false)
        let channel = context.channel
        resume = context.eventLoop.assumeIsolated().scheduleTask(in: pause) { [self] in
            resume = nil
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
        pause = min(pause * 2, Self.longestPause)
    }

    private func report(_ io: IOError) {
        switch io.errnoCode {
        case EMFILE, ENFILE:
            notice.post("""
                out of file descriptors accepting a connection (\(io.errnoCode == EMFILE ? "EMFILE" : "ENFILE")\
                \(ConnectionLimitsDescription.openFiles())); accepting pauses until some close. Raise the limit \
                (ulimit -n) or lower the connection cap (now \(maxConnections)).
                """)
        default:
            notice.post("accepting a connection failed: \(io); accepting pauses briefly.")
        }
    }
}

enum ConnectionLimitsDescription {
    /// ", open-file limit N" when known.
    static func openFiles() -> String {
        KinesisServer.ConnectionLimits.openFileSoftLimit().map { ", open-file limit \($0)" } ?? ""
    }
}
