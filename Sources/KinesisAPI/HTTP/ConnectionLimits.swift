#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import StreamEngine
import Synchronization

extension KinesisServer {
    /// How long and how many: the bounds that keep a few slow or hostile clients
    /// from starving or pinning the server.
    ///
    /// Kinesis documents none of these for its endpoints. AWS's load balancers are
    /// the model: a request that stops arriving gets `408 Request Timeout`, an idle
    /// connection is closed without a word, an overloaded front end answers `503`,
    /// which every SDK retries with backoff (KINESIS.md §3, "Client retry behaviour").
    public struct ConnectionLimits: Sendable, Equatable {
        /// The request head must be complete within this long of the connection
        /// opening, or of the first byte of a later request on a kept-alive connection;
        /// else `408` (or a silent close when nothing at all arrived). SDKs send a head
        /// in one write, so only a trickling (slowloris) client is ever cut.
        public var headerTimeout: Duration
        /// The whole request body must arrive within this long of its head; else `408`
        /// and the connection is closed. 60 s carries the largest body (16 MiB) at
        /// about 2 Mbit/s.
        public var bodyTimeout: Duration
        /// A kept-alive connection with no request in progress is closed after this
        /// long. The same bound applies to a client that takes none of a response's
        /// bytes (a stalled reader). SubscribeToShard streams are not idle: a stream
        /// that the client keeps reading lives its full 5 minutes. The default, 120 s,
        /// outlasts SDK pools' own idle limits (Java v2 60 s, Go 90 s), so the client,
        /// not the server, usually retires an idle connection.
        public var idleTimeout: Duration
        /// Open client connections served at once. The next one is answered
        /// at once with `503 ServiceUnavailableException` and `Connection: close`.
        public var maxConnections: Int
        /// Request-body bytes held in memory across all connections. A request whose
        /// declared length does not fit what is left, or whose body grows past it, is
        /// answered `503 ServiceUnavailableException` (its body is read and dropped);
        /// SDKs retry it. The 256 MiB default holds 38 concurrent 5 MiB PutRecords
        /// (6.7 MiB of base64 JSON each) or 16 bodies of the 16 MiB maximum.
        public var maxBufferedBodyBytes: Int

        public init(headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(60),
                    idleTimeout: Duration = .seconds(120),
                    maxConnections: Int = ConnectionLimits.defaultMaxConnections(),
                    maxBufferedBodyBytes: Int = 256 << 20) {
            self.headerTimeout = headerTimeout
            self.bodyTimeout = bodyTimeout
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
            self.maxBufferedBodyBytes = maxBufferedBodyBytes
        }

        /// The connection cap that fits the process's open-file limit (`ulimit -n`):
        /// the soft limit less an eighth (at least 32) kept for the listener, event
        /// loops, files and refusals, at most 10,000. A 1,024 limit gives 896.
        public static func defaultMaxConnections() -> Int {
            defaultMaxConnections(openFileLimit: openFileSoftLimit())
        }

        static func defaultMaxConnections(openFileLimit: Int?) -> Int {
            guard let limit = openFileLimit else { return 1_000 }
            let headroom = max(32, limit / 8)
            return min(10_000, max(1, limit - headroom))
        }

        /// `RLIMIT_NOFILE`'s soft limit, nil when unknown or unlimited.
        static func openFileSoftLimit() -> Int? {
            var limit = rlimit()
            #if os(Linux)
            let status = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            #else
            let status = getrlimit(RLIMIT_NOFILE, &limit)
            #endif
            // RLIM_INFINITY is all ones on Linux and 2^63-1 on Darwin: either way "unlimited".
            guard status == 0, limit.rlim_cur < rlim_t(Int.max) else { return nil }
            return Int(limit.rlim_cur)
        }

        var timeouts: ConnectionTimeouts {
            ConnectionTimeouts(header: TimeAmount(headerTimeout), body: TimeAmount(bodyTimeout),
                               idle: TimeAmount(idleTimeout))
        }
    }
}

/// The server-wide allowance of request-body bytes held in memory while requests
/// arrive, shared by every connection. Bytes are taken as they are buffered and
/// given back once the request has been answered, so the total never exceeds
/// `limit` however many clients declare large bodies and send them slowly.
final class RequestBodyBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Bytes currently held.
    var inUse: Int { used.load(ordering: .relaxed) }

    /// Whether `bytes` more would fit now (an early refusal for a declared length;
    /// ``reserve(_:)`` is the bound that holds).
    func wouldFit(_ bytes: Int) -> Bool { bytes <= limit - inUse }

    /// Takes `bytes` if they fit; on false nothing was taken.
    func reserve(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while bytes <= limit - current {
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + bytes,
                                                             ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.subtract(bytes, ordering: .relaxed)
    }
}

/// A line for the operator at most once a minute: the first time a limit is hit,
/// and again if it is still being hit a minute later, never once per connection.
final class RateLimitedNotice: Sendable {
    private let last = LockedValue<ContinuousClock.Instant?>(nil)
    private let interval: Duration
    private let sink: (@Sendable (String) -> Void)?

    init(interval: Duration = .seconds(60), sink: (@Sendable (String) -> Void)?) {
        self.interval = interval
        self.sink = sink
    }

    func post(_ message: @autoclosure () -> String) {
        guard let sink else { return }
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            if let previous = last, now - previous < interval { return false }
            last = now
            return true
        }
        if due { sink(message()) }
    }
}

/// The three read deadlines of one connection, as event-loop time.
struct ConnectionTimeouts: Sendable {
    var header: TimeAmount
    var body: TimeAmount
    var idle: TimeAmount
}
