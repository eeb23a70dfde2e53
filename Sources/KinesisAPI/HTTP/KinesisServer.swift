import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import StreamEngine
import Synchronization

/// The Kinesis Data Streams endpoint: an HTTP/1.1 and HTTP/2 server (TLS optional) speaking the
/// `awsJson1_1` protocol (`POST /` routed by `X-Amz-Target:
/// Kinesis_20131202.<Operation>`) in front of a ``StreamEngine/KinesisEngine``,
/// so boto3, the AWS CLI and other SDKs can use ktop as their endpoint.
///
/// The server holds no stream state. Requests are routed to the engine's
/// service for the region named in the SigV4 credential scope (falling back to
/// ``Configuration/defaultRegion``) and the configured account.
///
/// Beside Kinesis it answers two read-only, unauthenticated `GET`s of its own: `/metrics`
/// (when ``Configuration/metricsText`` is set) and `/ktop/v1/sample` and `/ktop/v1/events`,
/// the engine's sample and event log as JSON (see `KtopRoutes`), which ``KtopEndpointClient`` reads.
///
/// ```swift
/// let server = KinesisServer(engine: engine, configuration: .init(host: "127.0.0.1", port: 0))
/// let port = try await server.start()
/// …
/// try await server.shutdown()   // e.g. on SIGINT/SIGTERM
/// ```
public final class KinesisServer: Sendable {
    /// How the server listens and how strictly it checks requests.
    public struct Configuration: Sendable {
        /// Address to bind. `127.0.0.1` keeps the endpoint local; `0.0.0.0` exposes it.
        public var host: String
        /// Port to bind; 0 picks a free one (``KinesisServer/start()`` returns it).
        /// 4567 is kinesalite's default and ktop's.
        public var port: Int
        /// Largest request body accepted; larger ones get `413` and the connection
        /// is closed. Kinesis's largest legal request (PutRecords, 10 MiB records in
        /// base64) fits in the 16 MiB default.
        public var maxRequestBodyBytes: Int
        /// When set, every request must carry a valid SigV4 signature by one of
        /// these credentials (KINESIS.md §10). When nil (the default), any
        /// signature is accepted, but an `Authorization` header must still be
        /// present and complete, as AWS requires.
        public var verifySigV4: [AWSCredentials]?
        /// The account whose streams the endpoint serves; nil: the engine's default account.
        public var account: String?
        /// The region for requests without a usable credential scope; nil: the engine's default region.
        public var defaultRegion: String?
        /// Event-loop threads when the server makes its own group.
        public var threads: Int
        /// How long ``KinesisServer/shutdown()`` lets open connections finish
        /// (in-flight responses, event streams) before closing them.
        public var shutdownGracePeriod: Duration
        /// Pause between SubscribeToShard events after one that carried records.
        public var subscriptionPollAfterRecords: Duration
        /// Pause between SubscribeToShard events while the shard is idle.
        public var subscriptionPollWhenIdle: Duration
        /// Prometheus text exposition served on `GET /metrics`; nil: no such route.
        public var metricsText: (@Sendable () -> String)?
        /// Timeouts, the connection cap and the request-body memory budget.
        public var connectionLimits: ConnectionLimits
        /// The certificate and key when the port speaks TLS (HTTPS) only; nil: plain HTTP,
        /// where HTTP/1.1 and HTTP/2 with prior knowledge (h2c) share the port.
        public var tls: TLS?
        /// Where the server reports a limit being hit (at most once a minute each):
        /// out of file descriptors, the connection cap, the body budget. nil: silent.
        public var notices: (@Sendable (String) -> Void)?
        /// Other AWS JSON 1.1 services on the same port (Firehose), routed by their target prefix.
        public var jsonServices: [JSONService] = []

        public init(
            host: String = "127.0.0.1", port: Int = 4567, maxRequestBodyBytes: Int = 16 << 20,
            verifySigV4: [AWSCredentials]? = nil, account: String? = nil, defaultRegion: String? = nil,
            threads: Int = System.coreCount, shutdownGracePeriod: Duration = .seconds(5),
            subscriptionPollAfterRecords: Duration = .milliseconds(200),
            subscriptionPollWhenIdle: Duration = .seconds(1), connectionLimits: ConnectionLimits = ConnectionLimits()
        ) {
            self.host = host
            self.port = port
            self.maxRequestBodyBytes = maxRequestBodyBytes
            self.verifySigV4 = verifySigV4
            self.account = account
            self.defaultRegion = defaultRegion
            self.threads = threads
            self.shutdownGracePeriod = shutdownGracePeriod
            self.subscriptionPollAfterRecords = subscriptionPollAfterRecords
            self.subscriptionPollWhenIdle = subscriptionPollWhenIdle
            self.connectionLimits = connectionLimits
        }
    }

    /// Why ``start()`` refused.
    public enum ServerError: Error, Sendable {
        case alreadyStarted
        case shutDown
    }

    private enum Lifecycle {
        case ready
        case running(any Channel)
        case stopped
    }

    public let configuration: Configuration
    private let processor: KinesisRequestProcessor
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let lifecycle = LockedValue(Lifecycle.ready)
    private let connections = ConnectionRegistry()

    /// - Parameter eventLoopGroup: an existing group to run on; by default the
    ///   server makes (and on shutdown stops) its own with `configuration.threads` threads.
    public convenience init(
        engine: KinesisEngine, configuration: Configuration = Configuration(),
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) {
        self.init(engineProvider: { engine }, configuration: configuration, eventLoopGroup: eventLoopGroup)
    }

    /// Serves whichever engine `engineProvider` returns at each request (it must
    /// be cheap and thread-safe): how `ktop --listen` follows the dashboard when
    /// the user switches scenarios.
    public convenience init(
        engineProvider: @escaping @Sendable () -> KinesisEngine, configuration: Configuration = Configuration(),
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) {
        self.init(
            dispatcher: EngineDispatcher(engine: engineProvider, account: configuration.account),
            defaultRegion: configuration.defaultRegion ?? engineProvider().configuration.defaultRegion,
            configuration: configuration, eventLoopGroup: eventLoopGroup)
    }

    init(
        dispatcher: any OperationDispatcher, defaultRegion: String, configuration: Configuration,
        eventLoopGroup: (any EventLoopGroup)?
    ) {
        self.configuration = configuration
        processor = Self.processor(
            dispatcher: dispatcher, defaultRegion: defaultRegion,
            configuration: configuration)
        if let eventLoopGroup {
            group = eventLoopGroup
            ownsGroup = false
        } else {
            group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
            ownsGroup = true
        }
    }

    /// Binds and starts accepting connections; returns the bound port. A
    /// server starts once. If binding fails (port in use), the error is thrown
    /// and `start()` may be tried again; call ``shutdown()`` to release the
    /// event loops either way.
    public func start() async throws -> Int {
        try lifecycle.withLock { state throws(ServerError) in
            switch state {
            case .ready: break
            case .running: throw ServerError.alreadyStarted
            case .stopped: throw ServerError.shutDown
            }
        }
        let processor = self.processor
        let connections = self.connections
        let maxBody = configuration.maxRequestBodyBytes
        let polling = Self.polling(configuration)
        let limits = configuration.connectionLimits
        let timeouts = limits.timeouts
        let budget = RequestBodyBudget(limit: limits.maxBufferedBodyBytes)
        let budgetNotice = RateLimitedNotice(sink: configuration.notices)
        let capNotice = RateLimitedNotice(sink: configuration.notices)
        let acceptNotice = RateLimitedNotice(sink: configuration.notices)
        let tls = configuration.tls
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Out of file descriptors, a listener stays readable and accept fails at once:
            // without a pause the loop spins (see AcceptBackoff for why NIO's own handler does not help).
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptBackoff(notice: acceptNotice, maxConnections: limits.maxConnections))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard connections.admit(channel, limit: limits.maxConnections) else {
                        capNotice.post(
                            "\(limits.maxConnections) connections open, the cap: new ones are answered 503 "
                                + "until some close.")
                        try channel.pipeline.syncOperations.addHandler(
                            ConnectionRefusalHandler(maxConnections: limits.maxConnections))
                        return
                    }
                    try Self.configureConnection(
                        channel.pipeline.syncOperations, processor: processor,
                        maxBodyBytes: maxBody, polling: polling, timeouts: timeouts,
                        bodyBudget: budget, budgetNotice: budgetNotice, tls: tls)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        let raced = lifecycle.withLock { state -> Bool in
            guard case .ready = state else { return true }
            state = .running(channel)
            return false
        }
        if raced {
            try? await channel.close()
            throw ServerError.alreadyStarted
        }
        return channel.localAddress?.port ?? configuration.port
    }

    /// The front door as `configuration` asks for it (verification, `/metrics`), with `/ktop/v1/…`
    /// when `dispatcher` is an engine's.
    static func processor(
        dispatcher: any OperationDispatcher, defaultRegion: String,
        configuration: Configuration
    ) -> KinesisRequestProcessor {
        var processor = KinesisRequestProcessor(
            dispatcher: dispatcher, verifier: configuration.verifySigV4.map { SigV4Verifier(credentials: $0) },
            defaultRegion: defaultRegion)
        processor.metricsText = configuration.metricsText
        processor.jsonServices = Dictionary(
            configuration.jsonServices.map { ($0.targetPrefix, $0) }, uniquingKeysWith: { _, last in last })
        // ktop's JSON routes read the engine the Kinesis operations go to.
        processor.ktopRoutes = (dispatcher as? EngineDispatcher).map { KtopRoutes(engine: $0.engine) }
        // --faults: one injector for the engine (per-record failures) and the front door (the rest).
        processor.faults = (dispatcher as? EngineDispatcher)?.engine().configuration.faults
        return processor
    }

    /// The SubscribeToShard pump's cadence from `configuration`.
    static func polling(_ configuration: Configuration) -> SubscriptionPolling {
        SubscriptionPolling(
            afterRecords: TimeAmount(configuration.subscriptionPollAfterRecords),
            whenIdle: TimeAmount(configuration.subscriptionPollWhenIdle))
    }

    /// The handlers of one admitted connection. On a plain port: deadlines, then a
    /// ``ProtocolSniffer`` that tells HTTP/2's preface (h2c with prior knowledge) from
    /// HTTP/1.1. With `tls`: the sniffer first (a client that does not start a TLS handshake
    /// is answered 400 and closed), then TLS, deadlines on the decrypted bytes, and ALPN's
    /// choice of `h2` or HTTP/1.1. HTTP/1.1 is NIO's codec, pipelining and protocol-error
    /// handlers, then Kinesis's; HTTP/2 is ``configureHTTP2(_:handler:bodyTimeout:idleTimeout:)``.
    /// Shared with ``KinesisFuzzHarness`` so the fuzzer drives exactly this pipeline.
    static func configureConnection(
        _ pipeline: ChannelPipeline.SynchronousOperations,
        processor: KinesisRequestProcessor, maxBodyBytes: Int,
        polling: SubscriptionPolling, timeouts: ConnectionTimeouts,
        bodyBudget: RequestBodyBudget, budgetNotice: RateLimitedNotice, tls: TLS? = nil
    ) throws {
        let handler = { @Sendable in
            KinesisHTTPHandler(
                processor: processor, maxBodyBytes: maxBodyBytes, polling: polling,
                bodyBudget: bodyBudget, budgetNotice: budgetNotice)
        }
        let http = { (sync: ChannelPipeline.SynchronousOperations, http2: Bool) throws in
            if http2 {
                try configureHTTP2(sync, handler: handler, bodyTimeout: timeouts.body, idleTimeout: timeouts.idle)
            } else {
                try sync.configureHTTPServerPipeline(withErrorHandling: true)
                try sync.addHandler(handler())
            }
        }
        guard let tls else {
            try pipeline.addHandler(ConnectionDeadlineHandler(timeouts: timeouts))
            try pipeline.addHandler(
                ProtocolSniffer { told, context in
                    try http(context.pipeline.syncOperations, told == .http2)
                    return true
                })
            return
        }
        try pipeline.addHandler(
            ProtocolSniffer { told, context in
                guard told == .tls else {
                    let channel = context.channel
                    let reply = channel.allocator.buffer(string: Self.plainOnTLSPort)
                    context.writeAndFlush(NIOAny(reply)).assumeIsolated().whenComplete { _ in
                        channel.close(promise: nil)
                    }
                    return false
                }
                let sync = context.pipeline.syncOperations
                try sync.addHandler(NIOSSLServerHandler(context: tls.context), position: .after(context.handler))
                try sync.addHandler(
                    ApplicationProtocolNegotiationHandler { result, channel in
                        channel.eventLoop.makeCompletedFuture {
                            try http(channel.pipeline.syncOperations, result == .negotiated("h2"))
                        }
                    })
                return true
            })
        try pipeline.addHandler(ConnectionDeadlineHandler(timeouts: timeouts))
    }

    /// The answer to a plain-HTTP (or h2c) client on a TLS port: says why, then closes.
    static let plainOnTLSPort = {
        let text = "This port speaks TLS: use an https:// endpoint URL.\n"
        return "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: \(text.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + text
    }()

    /// The bound port while running.
    public var port: Int? {
        lifecycle.withLock { state in
            if case .running(let channel) = state { return channel.localAddress?.port }
            return nil
        }
    }

    /// Stops accepting connections, lets open ones finish their current response
    /// (event streams are ended) for up to `shutdownGracePeriod`, then closes the
    /// rest and, if the server made its own event loops, stops them. Idempotent.
    public func shutdown() async throws {
        let previous = lifecycle.withLock { state -> Lifecycle in
            defer { state = .stopped }
            return state
        }
        if case .running(let listener) = previous {
            try? await listener.close()
            let open = connections.all
            for channel in open {
                channel.pipeline.fireUserInboundEventTriggered(KinesisServerQuiesce())
            }
            let deadline = group.next().scheduleTask(in: TimeAmount(configuration.shutdownGracePeriod)) {
                for channel in open { channel.close(promise: nil) }
            }
            for channel in open { try? await channel.closeFuture.get() }
            deadline.cancel()
        }
        if case .stopped = previous { return }
        if ownsGroup { try await group.shutdownGracefully() }
    }
}

extension TimeAmount {
    init(_ duration: Duration) { self = .nanoseconds(duration.nanoseconds) }
}
