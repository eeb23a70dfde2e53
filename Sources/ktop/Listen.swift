import ArgumentParser
import Dispatch
import Firehose
import Foundation
import KinesisAPI
import Metrics
import StreamEngine

/// `--listen [HOST:]PORT`: where the Kinesis API server of a dashboard or
/// headless run listens (host defaults to 127.0.0.1), the bounds of its
/// connections and its TLS (the connection and TLS flags, set after parsing).
struct ListenAddress: ExpressibleByArgument, Equatable, CustomStringConvertible {
    var host: String
    var port: Int
    var connectionLimits = KinesisServer.ConnectionLimits()
    /// The TLS flags' certificate (set after parsing); nil: plain HTTP/1.1 and h2c.
    var tls: KinesisServer.TLS?

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        let hostPart = parts.count > 1 ? parts.dropLast().joined(separator: ":") : "127.0.0.1"
        guard let last = parts.last, let port = Int(last), (0...65_535).contains(port), !hostPart.isEmpty else {
            return nil
        }
        self.host = hostPart
        self.port = port
    }

    var description: String { "\(host):\(port)" }
}

/// The Kinesis API beside a running scenario, so the user's own SDK apps
/// write to (and appear on) the same engine the screen shows. When the engine
/// is replaced (the dashboard's `n`), the listener serves the new one.
/// Firehose (`Firehose_20150804.*`) is served on the same port, by the run's own Firehose service,
/// so a delivery stream an SDK creates shows in the Firehose & SQL pane.
///
/// `GET /metrics` is rendered from the listener's own `MetricsStore`, fed
/// once a real second from the engine's counters (the screen's store belongs
/// to the main loop), so it lacks the load generator's polling readers and
/// latencies; a new engine starts a new store.
final class APIListener: Sendable {
    private let current: LockedValue<KinesisEngine>
    private let firehose: LockedValue<FirehoseService>
    private let metrics: LockedValue<MetricsStore>
    private let ticker: LockedValue<Task<Void, Never>?> = LockedValue(nil)
    private let server: LockedValue<KinesisServer?> = LockedValue(nil)
    private(set) var url: String {
        get { urlBox.withLock { $0 } }
        set { urlBox.withLock { $0 = newValue } }
    }
    private let urlBox = LockedValue("")

    private init(engine: KinesisEngine, firehose: FirehoseService) {
        current = LockedValue(engine)
        self.firehose = LockedValue(firehose)
        metrics = LockedValue(Self.store(engine))
    }

    deinit { ticker.withLock { $0?.cancel() } }

    /// A store that has seen one sample, so the first scrape is not empty.
    private static func store(_ engine: KinesisEngine) -> MetricsStore {
        var store = MetricsStore(limits: engine.limits)
        store.ingest(engine.sample())
        return store
    }

    /// Binds and starts serving `engine`; throws a one-line error if it cannot bind.
    static func start(
        at address: ListenAddress, engine: KinesisEngine, firehose: FirehoseService
    ) throws -> APIListener {
        let listener = APIListener(engine: engine, firehose: firehose)
        var configuration = KinesisServer.Configuration(
            host: address.host, port: address.port,
            connectionLimits: address.connectionLimits)
        configuration.tls = address.tls
        configuration.metricsText = { [weak listener] in
            listener.map { l in
                PrometheusText.render(l.metrics.withLock { $0 })
                    + FirehosePrometheus.render(l.firehose.withLock { $0 }.sample())
            } ?? ""
        }
        configuration.jsonServices = [
            JSONService(targetPrefix: FirehoseService.targetPrefix, signingName: FirehoseService.signingName) {
                [weak listener] operation, body, region in
                guard let service = listener?.firehose.withLock({ $0 }) else { return (503, []) }
                return service.handle(operation: operation, body: body, region: region)
            }
        ]
        let server = KinesisServer(engineProvider: { listener.current.withLock { $0 } }, configuration: configuration)
        listener.server.withLock { $0 = server }
        let result = LockedValue<Result<Int, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                let port = try await server.start()
                result.withLock { $0 = .success(port) }
            } catch {
                result.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        switch result.withLock({ $0 })! {
        case .success(let port):
            listener.url = "\(address.tls == nil ? "http" : "https")://\(address.host):\(port)"
            listener.ticker.withLock {
                $0 = Task.detached { [weak listener] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        guard let listener else { return }
                        let sample = listener.current.withLock { $0 }.sample()
                        listener.metrics.withLock { $0.ingest(sample) }
                    }
                }
            }
            return listener
        case .failure(let error):
            throw ValidationError("Cannot listen on \(address): \(error). Pick another port with --listen HOST:PORT.")
        }
    }

    func use(_ engine: KinesisEngine, firehose: FirehoseService) {
        let fresh = Self.store(engine)
        current.withLock { $0 = engine }
        self.firehose.withLock { $0 = firehose }
        metrics.withLock { $0 = fresh }
    }
}
