import NIOCore
import NIOHTTP1
import NIOHTTP2

/// The HTTP/2 settings ktop serves with: bounded for hostile clients, roomy for SDKs.
enum HTTP2Limits {
    /// Streams a client may have open at once. 100 is what NIO, Netty and most servers
    /// send; the Java SDK opens another connection past it.
    static let maxConcurrentStreams = 100
    /// Largest decoded header list (HPACK's 16 KiB default); SigV4 headers take about 1 KiB.
    static let maxHeaderListSize = 16 << 10
    /// Per-stream receive window: 1 MiB lets a 5 MiB PutRecords arrive in a few round trips
    /// (the 64 KiB default needs eighty). A stream's body is read as it comes, within the
    /// server's request-body budget, so the window is not memory held per stream.
    static let streamWindow = 1 << 20
    /// Connection receive window: enough for a few streams' windows at once.
    static let connectionWindow = 4 << 20

    static var connection: NIOHTTP2Handler.ConnectionConfiguration {
        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
        configuration.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: maxHeaderListSize),
            HTTP2Setting(parameter: .initialWindowSize, value: streamWindow),
        ]
        configuration.targetWindowSize = connectionWindow
        return configuration
    }

    static var stream: NIOHTTP2Handler.StreamConfiguration {
        var configuration = NIOHTTP2Handler.StreamConfiguration()
        configuration.targetWindowSize = streamWindow
        return configuration
    }
}

extension KinesisServer {
    /// An HTTP/2 connection (h2c after the preface, or h2 chosen by ALPN): NIO's HTTP/2
    /// handler and stream multiplexer, and on each stream NIO's HTTP/2-to-HTTP/1 codec in
    /// front of the same ``KinesisHTTPHandler`` an HTTP/1.1 connection has, so every
    /// operation, the body limits and budget, and SubscribeToShard's event stream behave
    /// alike on both. Called on the connection's event loop, after the handlers in front.
    static func configureHTTP2(
        _ pipeline: ChannelPipeline.SynchronousOperations, handler: @escaping @Sendable () -> KinesisHTTPHandler,
        bodyTimeout: TimeAmount, idleTimeout: TimeAmount
    ) throws {
        let tracker = HTTP2StreamTracker()
        let failed = { @Sendable in tracker.streamFailed() }
        _ = try pipeline.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: HTTP2Limits.connection,
            streamConfiguration: HTTP2Limits.stream, streamDelegate: tracker
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let sync = stream.pipeline.syncOperations
                try sync.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try sync.addHandler(
                    HTTP2StreamDeadlineHandler(bodyTimeout: bodyTimeout, idleTimeout: idleTimeout, failed: failed))
                try sync.addHandler(handler())
            }
        }
        try pipeline.addHandler(tracker)
    }
}

/// Counts an HTTP/2 connection's open streams for its ``ConnectionDeadlineHandler``
/// (``HTTP2ConnectionTurn``) and carries the server's shutdown (``KinesisServerQuiesce``)
/// to each stream, closing the connection once the last one ends.
///
/// @unchecked Sendable: NIO calls the stream delegate on the connection's event loop, the
/// only place its state is touched (NIOHTTP2StreamDelegate must be Sendable).
final class HTTP2StreamTracker: ChannelInboundHandler, NIOHTTP2StreamDelegate, @unchecked Sendable {
    typealias InboundIn = Never
    typealias OutboundOut = HTTP2Frame

    private var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: any Channel] = [:]
    private var quiescing = false
    private var closing = false
    /// A stream just reported an error of its own (``streamFailed()``): NIO reports it on the
    /// connection next, and only that stream is reset.
    private var streamErrorPending = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        context.triggerUserOutboundEvent(HTTP2ConnectionTurn.started, promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
        streams[id] = channel
        announce()
        if quiescing { channel.pipeline.fireUserInboundEventTriggered(KinesisServerQuiesce()) }
    }

    func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
        streams[id] = nil
        announce()
        if quiescing && streams.isEmpty { closeGracefully() }
    }

    /// Called by a stream's ``HTTP2StreamDeadlineHandler`` when NIO reports an error on it.
    func streamFailed() { streamErrorPending = true }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is KinesisServerQuiesce else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        quiescing = true
        // GOAWAY without an error: the client opens no new streams and retries elsewhere.
        let goAway = HTTP2Frame(
            streamID: .rootStream, payload: .goAway(lastStreamID: .maxID, errorCode: .noError, opaqueData: nil))
        context.writeAndFlush(wrapOutboundOut(goAway), promise: nil)
        if streams.isEmpty {
            closeGracefully()
            return
        }
        for stream in streams.values { stream.pipeline.fireUserInboundEventTriggered(KinesisServerQuiesce()) }
    }

    /// Closes once what the streams wrote has reached the socket: a plain close would drop
    /// the last stream's end, still waiting in NIO's HTTP/2 handler for the flush.
    private func closeGracefully() {
        guard let context, !closing else { return }
        closing = true
        let channel = context.channel
        let ping = HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: 0), ack: false))
        context.writeAndFlush(wrapOutboundOut(ping)).assumeIsolated().whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// A connection error (NIO's HTTP/2 handler has sent GOAWAY with its code): the
    /// connection is unusable, so it closes, as an HTTP/1.1 connection does on a parse error.
    /// A stream's own error (reported on its stream first) resets that stream only.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if streamErrorPending {
            streamErrorPending = false
            return
        }
        context.close(promise: nil)
    }

    private func announce() {
        context?.triggerUserOutboundEvent(HTTP2ConnectionTurn.openStreams(streams.count), promise: nil)
    }
}

/// The deadlines of one HTTP/2 stream, which the connection's cannot see: a request whose
/// body does not end within the body timeout of its head is answered `408 Request Timeout`
/// and its stream closed, as on HTTP/1.1; a response the client takes none of (it grants
/// the stream no flow-control window) for the idle timeout is reset, so a stalled reader
/// cannot pin a large reply in memory while its connection's other streams go on. It takes the
/// ``HTTPTurn``s ``KinesisHTTPHandler`` announces (on HTTP/1.1 they go to the connection's
/// ``ConnectionDeadlineHandler``) and hands none on.
final class HTTP2StreamDeadlineHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let bodyTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// The 408 is the stream's last word: the rest of its request is dropped.
    private var expired = false
    /// Response writes not yet taken by the connection (held by flow control), and when one last was.
    private var pendingWrites = 0
    private var lastWriteProgress = NIODeadline.uptimeNanoseconds(0)
    private var stallCheck: Scheduled<Void>?

    private let failed: () -> Void

    /// - Parameter failed: told when NIO reports an error on this stream (``HTTP2StreamTracker/streamFailed()``).
    init(bodyTimeout: TimeAmount, idleTimeout: TimeAmount, failed: @escaping () -> Void = {}) {
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.failed = failed
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed()
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if pendingWrites == 0 { lastWriteProgress = context.eventLoop.now }
        pendingWrites += 1
        let promise = promise ?? context.eventLoop.makePromise()
        promise.futureResult.assumeIsolated().whenComplete { [self] _ in
            pendingWrites -= 1
            lastWriteProgress = context.eventLoop.now
        }
        if stallCheck == nil { scheduleStallCheck(context: context, at: lastWriteProgress + idleTimeout) }
        context.write(data, promise: promise)
    }

    private func scheduleStallCheck(context: ChannelHandlerContext, at deadline: NIODeadline) {
        stallCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            stallCheck = nil
            guard pendingWrites > 0 else { return }
            let due = lastWriteProgress + idleTimeout
            if due <= context.eventLoop.now {
                context.close(promise: nil)
            } else {
                scheduleStallCheck(context: context, at: due)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !expired { context.fireChannelRead(data) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
        stallCheck?.cancel()
        stallCheck = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        stallCheck?.cancel()
        stallCheck = nil
        context.fireChannelInactive()
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let turn = event as? HTTPTurn else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch turn {
        case .requestHead:
            cancel()
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: bodyTimeout) { [self] in
                timer = nil
                expire(context: context)
            }
        case .requestEnd, .responseEnd:
            cancel()
        }
        promise?.succeed(())
    }

    private func expire(context: ChannelHandlerContext) {
        expired = true
        var headers = HTTPHeaders()
        headers.add(name: "x-amzn-RequestId", value: UUIDString.random())
        headers.add(name: "x-amz-id-2", value: KinesisRequestProcessor.extendedRequestId())
        headers.add(name: "content-length", value: "0")
        let head = HTTPResponseHead(version: .http2, status: .requestTimeout, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }
}
