import NIOCore
import NIOHTTP1
import StreamEngine

import struct Foundation.UUID

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Sent down every connection's pipeline when the server shuts down: finish
/// what is in flight, then close.
struct KinesisServerQuiesce: Sendable {}

/// Timing of the SubscribeToShard event pump.
struct SubscriptionPolling: Sendable {
    /// Next poll after an event that carried records (the consumer may be behind).
    var afterRecords: TimeAmount = .milliseconds(200)
    /// Next poll after an empty event. Kinesis's idle cadence is undocumented;
    /// kinesis-mock uses 1 s and Java's 10 s read timeout needs well under 10 s.
    var whenIdle: TimeAmount = .seconds(1)
}

/// One HTTP/1.1 connection, or one HTTP/2 stream, of the Kinesis server: aggregates each request up to
/// a size limit and within the server's request-body budget, hands it to the
/// ``KinesisRequestProcessor``, writes the reply, and for SubscribeToShard pumps
/// event-stream frames until the subscription ends or the client goes away.
///
/// Sits behind NIO's `configureHTTPServerPipeline`, whose pipelining handler
/// holds back a client's next request until this one's response has ended, and
/// announces each turn (``HTTPTurn``) to the ``ConnectionDeadlineHandler`` in front.
final class KinesisHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// Refused before its end: the rest of the body is read and dropped, then the refusal.
        case discarding(HTTPRequestHead, Refusal)
        case streaming(any EventSubscription, keepAlive: Bool)
        case closed
    }

    private enum Refusal {
        /// Over `maxBodyBytes`: 413.
        case tooLarge
        /// Past the server-wide body budget: 503, which SDKs retry.
        case overBudget
    }

    /// Response bodies are written in slices of this size (see ``respond(context:head:response:)``).
    static let bodySliceBytes = 256 << 10

    private let processor: KinesisRequestProcessor
    private let maxBodyBytes: Int
    private let polling: SubscriptionPolling
    private let bodyBudget: RequestBodyBudget?
    private let budgetNotice: RateLimitedNotice?
    private var state = State.idle
    private var quiescing = false
    private var pollTask: Scheduled<Void>?
    /// A reply held back by injected latency (`--faults latency`); cancelled if the client goes.
    private var delayedReply: Scheduled<Void>?
    /// Bytes of the current request's body taken from `bodyBudget`.
    private var reserved = 0
    /// The request asked to leave HTTP (CONNECT, or an Upgrade): NIO's decoder parses
    /// nothing after it, so the connection must close after the answer or the client hangs.
    private var closeAfterResponse = false
    /// The encoding of the SubscribeToShard request being streamed: its events are written in it.
    private var streamEncoding = KinesisBodyEncoding.json

    /// - Parameter bodyBudget: the server-wide allowance of buffered body bytes; nil: none.
    init(
        processor: KinesisRequestProcessor, maxBodyBytes: Int, polling: SubscriptionPolling,
        bodyBudget: RequestBodyBudget? = nil, budgetNotice: RateLimitedNotice? = nil
    ) {
        self.processor = processor
        self.maxBodyBytes = maxBodyBytes
        self.polling = polling
        self.bodyBudget = bodyBudget
        self.budgetNotice = budgetNotice
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .body(var bytes) = part, case .receiving = state {
            receive(&bytes)
            return
        }
        switch (part, state) {
        case (.head(let head), .idle):
            announce(.requestHead, context: context)
            closeAfterResponse = Self.leavesHTTP(head)
            let declared = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
            if declared > maxBodyBytes {
                state = .discarding(head, .tooLarge)
            } else if let bodyBudget, !bodyBudget.wouldFit(declared) {
                refuseOverBudget(head)
            } else {
                // The declared length at once: a body that grows by doubling leaves freed
                // halves behind in malloc's heap, and resident memory ends up near twice the
                // bytes held. Pages never written (a body declared but not sent) are not resident.
                state = .receiving(head, context.channel.allocator.buffer(capacity: declared))
            }
        case (.body, .discarding):
            break
        case (.end, .receiving(let head, let body)):
            announce(.requestEnd, context: context)
            state = .idle
            let request = KinesisRequest(method: head.method, uri: head.uri, headers: head.headers, body: body)
            let response = processor.process(request)
            releaseBody()
            if response.resetConnection {
                // An injected reset: no reply; SO_LINGER 0 makes the close a TCP RST, as a dropped connection.
                let channel = context.channel
                state = .closed
                if let socket = channel as? any SocketOptionProvider {
                    socket.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                        .whenComplete { _ in channel.close(promise: nil) }
                } else {
                    channel.close(promise: nil)
                }
            } else if response.delay > .zero {
                // Scheduled, never slept: the event loop serves other connections meanwhile. NIO's
                // pipelining handler holds this client's next request until the reply ends.
                let loop = context.eventLoop.assumeIsolated()
                delayedReply = loop.scheduleTask(in: TimeAmount(response.delay)) { [self] in
                    delayedReply = nil
                    respond(context: context, head: head, response: response)
                }
            } else {
                respond(context: context, head: head, response: response)
            }
        case (.end, .discarding(let head, .tooLarge)):
            announce(.requestEnd, context: context)
            state = .idle
            respondTooLarge(context: context, head: head)
        case (.end, .discarding(let head, .overBudget)):
            announce(.requestEnd, context: context)
            state = .idle
            respond(context: context, head: head, response: overBudgetResponse(head))
        default:
            // A part out of order (e.g. a pipelined request while streaming cannot
            // happen behind NIO's pipelining handler): the connection is unusable.
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is KinesisServerQuiesce else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        quiescing = true
        switch state {
        case .idle: if delayedReply == nil { context.close(promise: nil) }  // a delayed reply closes once written
        case .streaming: finishStream(context: context)
        case .receiving, .discarding, .closed: break  // closes once the response is written
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pollTask?.cancel()
        pollTask = nil
        delayedReply?.cancel()
        delayedReply = nil
        releaseBody()
        state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Parse errors were answered with 400 by NIO's protocol error handler; anything else ends the connection.
        context.close(promise: nil)
    }

    /// Appends a body part, within the size limit and the server's budget.
    ///
    /// Outside `channelRead`'s `switch (part, state)` on purpose: the switched tuple
    /// holds a second reference to the buffer for the whole switch, so every append
    /// there copied the buffer (copy-on-write), and resident memory grew to several
    /// times the bytes held.
    private func receive(_ part: inout ByteBuffer) {
        guard case .receiving(let head, var body) = state else { return }
        if body.readableBytes + part.readableBytes > maxBodyBytes {
            releaseBody()
            state = .discarding(head, .tooLarge)
        } else if let bodyBudget, !bodyBudget.reserve(part.readableBytes) {
            releaseBody()
            refuseOverBudget(head)
        } else {
            reserved += part.readableBytes
            state = .closed  // drop our reference so the append below does not copy the buffer
            body.writeBuffer(&part)
            state = .receiving(head, body)
        }
    }

    // MARK: request body budget

    private func releaseBody() {
        bodyBudget?.release(reserved)
        reserved = 0
    }

    private func refuseOverBudget(_ head: HTTPRequestHead) {
        state = .discarding(head, .overBudget)
        if let bodyBudget {
            budgetNotice?.post(
                "request bodies in memory reached the \(bodyBudget.limit >> 20) MiB budget: new ones "
                    + "are answered 503 until some complete.")
        }
    }

    /// In the request's encoding: a CBOR client's SDK parses error bodies as CBOR.
    private func overBudgetResponse(_ head: HTTPRequestHead) -> KinesisResponse {
        let encoding = KinesisBodyEncoding(contentType: head.headers.first(name: "content-type")) ?? .json
        let limit = bodyBudget.map { "\($0.limit >> 20) MiB" } ?? "its limit"
        var headers = HTTPHeaders()
        headers.add(name: "x-amzn-RequestId", value: UUIDString.random())
        headers.add(name: "x-amz-id-2", value: KinesisRequestProcessor.extendedRequestId())
        headers.add(name: "Content-Type", value: encoding.contentType)
        let message = "The request bodies being received fill the server's buffer of \(limit). Retry shortly."
        return KinesisResponse(
            status: .serviceUnavailable, headers: headers,
            body: .bytes(encoding.serviceUnavailableBody(message: message)), encoding: encoding)
    }

    // MARK: replies

    /// CONNECT and `Connection: upgrade` requests switch NIO's decoder off for the
    /// rest of the connection (llhttp treats both as leaving HTTP).
    private static func leavesHTTP(_ head: HTTPRequestHead) -> Bool {
        if head.method == .CONNECT { return true }
        guard head.headers.contains(name: "upgrade") else { return false }
        return head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }

    private func announce(_ turn: HTTPTurn, context: ChannelHandlerContext) {
        context.triggerUserOutboundEvent(turn, promise: nil)
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, response: KinesisResponse) {
        // An HTTP/2 stream carries one request; its connection stays (NIO's isKeepAlive knows HTTP/1 only).
        let keepAlive = (head.isKeepAlive || head.version.major >= 2) && !quiescing && !closeAfterResponse
        var headers = response.headers
        switch response.body {
        case .bytes(let bytes):
            headers.add(name: "Content-Length", value: String(bytes.count))
            setConnectionHeader(&headers, keepAlive: keepAlive, version: head.version)
            context.write(
                wrapOutboundOut(
                    .head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))),
                promise: nil)
            // HEAD and CONNECT answers carry no body (NIO's encoder would refuse one).
            if !bytes.isEmpty && head.method != .HEAD && head.method != .CONNECT {
                // In slices (views of one buffer, no copies): each slice taken by the client is
                // progress the ConnectionDeadlineHandler sees, so a slow but steady reader of a
                // 10 MiB GetRecords is not mistaken for one that stopped reading.
                var buffer = context.channel.allocator.buffer(bytes: bytes)
                while buffer.readableBytes > 0,
                    let slice = buffer.readSlice(length: min(buffer.readableBytes, Self.bodySliceBytes))
                {
                    context.write(wrapOutboundOut(.body(.byteBuffer(slice))), promise: nil)
                }
            }
            endResponse(context: context, keepAlive: keepAlive)
        case .eventStream(let subscription):
            // HTTP/1.0 has no chunked encoding: the stream is then delimited by closing.
            let streamKeepAlive = keepAlive && head.version.hasChunkedEncoding
            setConnectionHeader(&headers, keepAlive: streamKeepAlive, version: head.version)
            context.write(
                wrapOutboundOut(
                    .head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))),
                promise: nil)
            state = .streaming(subscription, keepAlive: streamKeepAlive)
            streamEncoding = response.encoding
            writeFrame(context: context, KinesisEventStream.initialResponse(streamEncoding))
            context.flush()
            poll(context: context)
        }
    }

    private func respondTooLarge(context: ChannelHandlerContext, head: HTTPRequestHead) {
        // Kinesalite (after AWS) answers an oversized request with a bare 413. The
        // connection is closed: the client may still be sending.
        var headers = HTTPHeaders()
        headers.add(name: "x-amzn-RequestId", value: UUIDString.random())
        headers.add(name: "x-amz-id-2", value: KinesisRequestProcessor.extendedRequestId())
        headers.add(name: "Content-Length", value: "0")
        headers.add(name: "Connection", value: "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .payloadTooLarge, headers: headers))),
            promise: nil)
        endResponse(context: context, keepAlive: false)
    }

    private func setConnectionHeader(_ headers: inout HTTPHeaders, keepAlive: Bool, version: HTTPVersion) {
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if !version.hasChunkedEncoding {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
    }

    private func endResponse(context: ChannelHandlerContext, keepAlive: Bool) {
        // Announced before the end is written: writing it lets NIO's pipelining handler
        // deliver the next request at once, whose head starts a new turn.
        if keepAlive && !quiescing { announce(.responseEnd, context: context) }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive || quiescing {
            let channel = context.channel
            written.assumeIsolated().whenComplete { _ in channel.close(promise: nil) }
        }
    }

    // MARK: SubscribeToShard

    private func poll(context: ChannelHandlerContext) {
        pollTask = nil
        guard case .streaming(let subscription, _) = state else { return }
        guard context.channel.isWritable else {
            // A slow reader: leave the records in the shard instead of in our buffers.
            schedulePoll(context: context, in: polling.whenIdle)
            return
        }
        if let faults = processor.faults, faults.endsSubscription() {
            // --faults subscribe-end: the stream ends as Kinesis ends one on an internal failure.
            let failure = KinesisError(.internalFailure, "Internal service failure.")
            writeFrame(context: context, KinesisEventStream.exception(failure, encoding: streamEncoding))
            finishStream(context: context)
            return
        }
        do {
            guard let event = try subscription.nextEvent() else {
                finishStream(context: context)
                return
            }
            writeFrame(context: context, try KinesisEventStream.event(event, encoding: streamEncoding))
            context.flush()
            schedulePoll(context: context, in: event.records.isEmpty ? polling.whenIdle : polling.afterRecords)
        } catch {
            writeFrame(context: context, KinesisEventStream.exception(error, encoding: streamEncoding))
            finishStream(context: context)
        }
    }

    private func schedulePoll(context: ChannelHandlerContext, in delay: TimeAmount) {
        pollTask = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            poll(context: context)
        }
    }

    private func writeFrame(context: ChannelHandlerContext, _ message: EventStreamMessage) {
        let bytes: [UInt8]
        do {
            bytes = try EventStreamEncoder.encode(message)
        } catch {
            // Only a frame over botocore's 24 MiB limit can fail; report it in-stream.
            let failure = KinesisEventStream.exception(
                KinesisError(.internalFailure, "Internal service failure."),
                encoding: streamEncoding)
            bytes = (try? EventStreamEncoder.encode(failure)) ?? []
        }
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))), promise: nil)
    }

    private func finishStream(context: ChannelHandlerContext) {
        guard case .streaming(_, let keepAlive) = state else { return }
        pollTask?.cancel()
        pollTask = nil
        state = .idle
        endResponse(context: context, keepAlive: keepAlive)
    }
}

extension HTTPVersion {
    /// HTTP/1.1 and later: chunked bodies and keep-alive by default.
    fileprivate var hasChunkedEncoding: Bool { major > 1 || (major == 1 && minor >= 1) }
}

/// Request ids as AWS prints them: a lower-case UUID.
enum UUIDString {
    static func random() -> String { UUID().uuidString.lowercased() }
}
