import NIOCore

/// Whose turn it is on a connection, as ``KinesisHTTPHandler`` announces it to the
/// ``ConnectionDeadlineHandler`` (an outbound user event, so the two share no state).
enum HTTPTurn: Sendable {
    /// A request head arrived: its body is due within the body timeout.
    case requestHead
    /// The request is complete: the server's turn (answering, streaming) has no read deadline.
    case requestEnd
    /// The response ended and the connection stays open: the next request is the client's.
    case responseEnd
}

/// What an HTTP/2 connection tells its ``ConnectionDeadlineHandler`` (an outbound user
/// event, as ``HTTPTurn`` is for HTTP/1.1): the connection's deadlines follow its streams,
/// not its bytes, since HTTP/2 clients send PINGs and SETTINGS between requests.
enum HTTP2ConnectionTurn: Sendable {
    /// The preface arrived: a first stream is due within the header timeout; a deadline
    /// missed from now on closes the connection (a 408 is HTTP/1.1 bytes).
    case started
    /// Streams in progress: with some, it is the server's turn (no read deadline); with
    /// none, the connection is idle and the idle timeout runs.
    case openStreams(Int)
}

/// The read and write deadlines of one client connection, first in its pipeline so
/// that it sees raw bytes: a request head must arrive within the header timeout, a
/// body within the body timeout of its head, a kept-alive connection must not sit
/// idle past the idle timeout, and a client must keep taking the bytes it is sent.
///
/// A request cut short is answered `408 Request Timeout` (ALB's answer when "the
/// client did not send data before the idle timeout period expired") with
/// `Connection: close`; a connection on which nothing of a request arrived is just
/// closed, as load balancers close idle connections. The 408 is written here as raw
/// bytes: it must also go out when the HTTP decoder holds only part of a head, where
/// NIO's pipelining handler would refuse a response.
///
/// On an HTTP/2 connection (``HTTP2ConnectionTurn``) the turns follow its streams: the
/// first stream is due within the header timeout of the preface, a connection with no
/// open stream is closed after the idle timeout, whatever PINGs it sends, and a missed
/// deadline closes it without a 408. Each stream's body timeout is its own
/// (``HTTP2StreamDeadlineHandler``).
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum Turn {
        /// Awaiting a request head since `since`. On a fresh connection the head is due
        /// within the header timeout of opening; on a kept-alive one the idle timeout
        /// runs until its first byte, then the header timeout from that byte.
        case client(since: NIODeadline, fresh: Bool, firstByte: NIODeadline?)
        /// Receiving the body of a request whose head arrived at `since`.
        case body(since: NIODeadline)
        /// Answering; `nextRequestStarted` notes bytes of a next request that came early.
        case server(nextRequestStarted: Bool)
    }

    private enum Expiry { case idle, header, body, stalled }

    private let timeouts: ConnectionTimeouts
    private var context: ChannelHandlerContext?
    private var turn: Turn?
    /// Writes handed on and not yet completed; while any are, the client must take
    /// some bytes within the idle timeout.
    private var pendingWrites = 0
    private var lastWriteProgress = NIODeadline.uptimeNanoseconds(0)
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var expired = false
    /// The connection speaks HTTP/2: raw bytes are frames, not requests.
    private var http2 = false

    init(timeouts: ConnectionTimeouts) { self.timeouts = timeouts }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        expired = true
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !expired else { return }  // a 408 is on its way: the rest of the request is moot
        switch http2 ? nil : turn {
        case .client(let since, let fresh, nil):
            turn = .client(since: since, fresh: fresh, firstByte: context.eventLoop.now)
            rearm()
        case .server(false):
            turn = .server(nextRequestStarted: true)
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !expired else {
            // The 408 was the last word: as the connection closes, NIO's decoder reports the
            // cut-off request and its error handler would write a 400 after it.
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if pendingWrites == 0 { lastWriteProgress = context.eventLoop.now }
        pendingWrites += 1
        let promise = promise ?? context.eventLoop.makePromise()
        promise.futureResult.assumeIsolated().whenComplete { [self] _ in writeCompleted() }
        if timer == nil { rearm() }
        context.write(data, promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        let now = context.eventLoop.now
        if let streams = event as? HTTP2ConnectionTurn {
            switch streams {
            case .started:
                http2 = true
                turn = .client(since: now, fresh: true, firstByte: now)
            case .openStreams(0):
                turn = .client(since: now, fresh: false, firstByte: nil)
            case .openStreams:
                turn = .server(nextRequestStarted: false)
            }
            rearm()
            promise?.succeed(())
            return
        }
        guard let announced = event as? HTTPTurn else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch (announced, turn) {
        case (.requestHead, _):
            turn = .body(since: now)
        case (.requestEnd, _):
            turn = .server(nextRequestStarted: false)
        case (.responseEnd, .server(true)):
            // A next request began while this one was answered (a pipelining client, or one
            // writing during a stream): its head is due within the header timeout from now.
            turn = .client(since: now, fresh: false, firstByte: now)
        case (.responseEnd, _):
            turn = .client(since: now, fresh: false, firstByte: nil)
        }
        rearm()
        promise?.succeed(())
    }

    // MARK: deadlines

    private func start(context: ChannelHandlerContext) {
        guard turn == nil else { return }
        turn = .client(since: context.eventLoop.now, fresh: true, firstByte: nil)
        rearm()
    }

    private func writeCompleted() {
        guard let context else { return }
        pendingWrites -= 1
        lastWriteProgress = context.eventLoop.now
        // The idle clock of a kept-alive connection starts once the response is out.
        if pendingWrites == 0, case .client(_, let fresh, nil) = turn, !fresh {
            turn = .client(since: lastWriteProgress, fresh: false, firstByte: nil)
        }
        // Deadlines only moved later: the armed timer re-evaluates when it fires.
    }

    private func nextDeadline() -> (at: NIODeadline, expiry: Expiry)? {
        var next: (at: NIODeadline, expiry: Expiry)?
        func consider(_ at: NIODeadline, _ expiry: Expiry) {
            if next == nil || at < next!.at { next = (at, expiry) }
        }
        if pendingWrites > 0 { consider(lastWriteProgress + timeouts.idle, .stalled) }
        switch turn {
        case .client(let since, true, let firstByte):
            consider(since + timeouts.header, firstByte == nil ? .idle : .header)
        case .client(_, false, let firstByte?):
            consider(firstByte + timeouts.header, .header)
        case .client(let since, false, nil):
            if pendingWrites == 0 { consider(since + timeouts.idle, .idle) }
        case .body(let since):
            consider(since + timeouts.body, .body)
        case .server, nil:
            break
        }
        return next
    }

    /// Schedules the timer for the earliest deadline unless one already fires no later.
    private func rearm() {
        guard let context, !expired, let next = nextDeadline() else { return }
        if let armed = timerDeadline, armed <= next.at { return }
        timer?.cancel()
        timerDeadline = next.at
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: next.at) { [self] in fire() }
    }

    private func fire() {
        timer = nil
        timerDeadline = nil
        guard let context, !expired, let next = nextDeadline() else { return }
        guard next.at <= context.eventLoop.now else {
            rearm()
            return
        }
        expired = true
        switch next.expiry {
        case _ where http2, .idle, .stalled:
            context.close(promise: nil)
        case .header, .body:
            let channel = context.channel
            let reply = context.channel.allocator.buffer(string: Self.requestTimeout())
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(reply))).assumeIsolated().whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    /// A bare 408, like the bare 413 for an oversized body: no Kinesis error type fits.
    static func requestTimeout() -> String {
        "HTTP/1.1 408 Request Timeout\r\nx-amzn-RequestId: \(UUIDString.random())\r\n"
            + "x-amz-id-2: \(KinesisRequestProcessor.extendedRequestId())\r\n"
            + "Content-Length: 0\r\nConnection: close\r\n\r\n"
    }
}
