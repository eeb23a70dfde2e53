import ArgumentParser
import Dispatch
import Firehose
import Foundation
import KinesisAPI
import Metrics
import StreamEngine

/// `ktop serve`: the Kinesis API alone, for SDK apps, tests and benchmarks.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Kinesis API server alone: point any AWS SDK's endpoint at it.",
        discussion: """
            Speaks the Kinesis JSON 1.1 protocol, and its CBOR variant (application/x-amz-cbor-1.1, the \
            Java SDK's default), on POST / (and Prometheus text on GET /metrics, the \
            engine's exact counters as JSON on GET /ktop/v1/sample, both unauthenticated),
            enforcing Kinesis's quotas unless --limits off. Any credentials are accepted unless
            --verify-sigv4 is given. Ctrl-C (or SIGTERM) stops it gracefully.

            HTTP/1.1 and HTTP/2 with prior knowledge (h2c) share the port. With --tls-cert/--tls-key or \
            --tls-self-signed the port speaks TLS (https://) only, offering HTTP/2 and HTTP/1.1 by ALPN, \
            as the Java SDK v2 and the KCL expect for SubscribeToShard.

            Connections are bounded so that no client can starve or pin the server. A request head \
            must arrive within 10 s and its body within 60 s of the head, else 408 Request Timeout; a \
            kept-alive connection idle for 120 s, or whose client stops reading, is closed (a \
            SubscribeToShard stream that is being read is not idle). Connections beyond the cap (by \
            default the open-file limit less an eighth: 896 at ulimit -n 1024, at most 10000) are \
            answered 503 ServiceUnavailableException with Connection: close, and so are requests once \
            the bodies being received hold 256 MiB; SDKs retry both. The connection-limit flags below \
            change each bound.

            Example:
              ktop serve --port 4567 &
              aws kinesis create-stream --stream-name s --shard-count 1 --endpoint-url http://127.0.0.1:4567
            """)

    @Option(help: "Address to listen on (0.0.0.0 exposes the server beyond this machine).")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on; 4567 is kinesalite's default, 0 picks a free one.")
    var port: Int = 4567

    @OptionGroup var engineOptions: EngineOptions

    @Option(help: "Seed for --faults: the same seed draws the same sequence of faults (default: random).")
    var seed: UInt64?

    @OptionGroup var priceOptions: PriceOptions

    @Flag(
        name: .customLong("verify-sigv4"),
        help: "Check SigV4 signatures and clock skew (±5 min) as AWS does; needs --credentials.")
    var verifySigV4 = false

    @Option(
        help: ArgumentHelp(
            "File of accepted credentials, one ACCESS_KEY_ID:SECRET_ACCESS_KEY per line.", valueName: "file"))
    var credentials: String?

    @OptionGroup(title: "Connection limits") var connectionOptions: ConnectionOptions

    @OptionGroup(title: "TLS (HTTPS)") var tlsOptions: TLSOptions

    @OptionGroup(title: "Firehose") var firehoseOptions: FirehoseOptions

    func validate() throws {
        guard (0...65_535).contains(port) else {
            throw ValidationError("--port must be between 0 and 65535, e.g. --port 4567.")
        }
        if verifySigV4 && credentials == nil {
            throw ValidationError(
                "--verify-sigv4 needs --credentials FILE with one ACCESS_KEY_ID:SECRET_ACCESS_KEY per line.")
        }
        _ = try engineOptions.engineConfiguration()
        _ = try priceOptions.metricsConfiguration()
        _ = try firehoseOptions.processorCommands()
    }

    func run() async throws {
        let config = try engineOptions.engineConfiguration(faultSeed: seed ?? UInt64.random(in: 1...999_999))
        let tls: (tls: KinesisServer.TLS, notes: [String])?
        do { tls = try tlsOptions.load() } catch {
            Self.say(error.description)
            throw ExitCode(1)
        }
        let accepted = try credentials.map(Self.loadCredentials)
        let engine: KinesisEngine
        do {
            let opened = try KinesisEngine.open(clock: WallClock(), configuration: config)
            engine = opened.engine
            if let storage = config.storage {
                let r = opened.recovery
                let ms = r.elapsed.components.seconds * 1000 + r.elapsed.components.attoseconds / 1_000_000_000_000_000
                Self.say(
                    "data dir \(storage.directory) (fsync \(storage.fsync)): recovered \(r.streams) "
                        + "stream\(r.streams == 1 ? "" : "s"), \(r.shards) shard\(r.shards == 1 ? "" : "s"), "
                        + "\(r.records) records (\(r.bytes) bytes) in \(ms) ms")
                for damage in r.damage { Self.say("storage: " + damage.message) }
            }
        } catch {
            Self.say("\(error)")
            throw ExitCode(1)
        }
        let metrics = LockedValue(
            MetricsStore(configuration: try priceOptions.metricsConfiguration(), limits: config.limits))
        var serverConfig = KinesisServer.Configuration(
            host: host, port: port, verifySigV4: verifySigV4 ? accepted : nil)
        serverConfig.connectionLimits = try connectionOptions.connectionLimits()
        serverConfig.tls = tls?.tls
        let firehose = try firehoseOptions.service(engine: engine, clock: engine.clock)
        serverConfig.jsonServices = [firehose.jsonService]
        serverConfig.metricsText = {
            PrometheusText.render(metrics.withLock { $0 }) + FirehosePrometheus.render(firehose.sample())
        }
        serverConfig.notices = { FileHandle.standardError.write(Data("ktop serve: \($0)\n".utf8)) }
        // A scrape in the first second, before the ticker's first sample, must not get an empty body.
        metrics.withLock { $0.ingest(engine.sample()) }
        let server = KinesisServer(engine: engine, configuration: serverConfig)
        let bound: Int
        do {
            bound = try await server.start()
        } catch {
            FileHandle.standardError.write(Data("ktop serve: cannot listen on \(host):\(port): \(error)\n".utf8))
            throw ExitCode(1)
        }
        let notes = (verifySigV4 ? ", SigV4 verified" : "") + (config.faults == nil ? "" : ", FAULTS ON")
        for note in tls?.notes ?? [] { Self.say(note) }
        let url = tls == nil ? "http://\(host):\(bound) (HTTP/1.1, h2c)" : "https://\(host):\(bound) (HTTP/2, HTTP/1.1)"
        Self.say("Kinesis API on \(url) (limits \(config.limits.profile)\(notes)); Ctrl-C stops")
        FileHandle.standardError.write(Data("ktop serve: \(serverConfig.connectionLimits.summary)\n".utf8))

        // Time-driven rules (retention, transitions, on-demand scaling) and the
        // metrics behind /metrics advance once a second.
        let ticker = Task.detached {
            var seen = engine.events.lastId
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                engine.tick()
                let sample = engine.sample()
                metrics.withLock { $0.ingest(sample) }
                // Storage trouble is for the operator's log too, not only the event feed.
                let storage: [EngineEvent.Kind] = [.storageFailed, .storageDamaged]
                for event in engine.events.events(after: seen) where storage.contains(event.kind) {
                    Self.say("storage: " + event.message)
                }
                seen = engine.events.lastId
            }
        }
        // Firehose's delivery loop (source reads, due buffers, objects written) on its own task: a slow
        // --processor must not hold back the engine's tick. Four turns a second keep IntervalInSeconds close.
        let deliveries = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                firehose.tick()
            }
        }
        let signal = await Signals.wait(for: [SIGINT, SIGTERM])
        ticker.cancel()
        deliveries.cancel()
        _ = await deliveries.value
        FileHandle.standardError.write(
            Data("ktop serve: \(signal == SIGINT ? "SIGINT" : "SIGTERM"), shutting down\n".utf8))
        try await server.shutdown()
        firehose.flushAll()
        engine.close()
    }

    static func say(_ line: String) {
        FileHandle.standardError.write(Data("ktop serve: \(line)\n".utf8))
    }

    /// Reads the accepted credentials (`ACCESS_KEY_ID:SECRET_ACCESS_KEY` per line).
    static func loadCredentials(_ path: String) throws -> [AWSCredentials] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("Cannot read --credentials file '\(path)'.")
        }
        let list: [AWSCredentials]
        do { list = try AWSCredentials.list(parsing: text) } catch {
            throw ValidationError("'\(path)' \(error.description).")
        }
        guard !list.isEmpty else {
            throw ValidationError("'\(path)' holds no credentials (one ACCESS_KEY_ID:SECRET_ACCESS_KEY per line).")
        }
        return list
    }
}

/// Waits for one of a set of signals without the default action (so a server
/// can shut down gracefully).
enum Signals {
    /// Keeps the dispatch sources alive for the life of the process; only
    /// touched on `queue`.
    // @unchecked: `all` is only read and written on `queue` (serial), and signal sources are not Sendable.
    private final class Sources: @unchecked Sendable { var all: [any DispatchSourceSignal] = [] }
    private static let sources = Sources()
    private static let queue = DispatchQueue(label: "ktop.signals")

    static func wait(for signals: [Int32]) async -> Int32 {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let resumed = LockedValue(false)
            queue.sync {
                for sig in signals {
                    signal(sig, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                    source.setEventHandler {
                        let first = resumed.withLock { done in
                            defer { done = true }
                            return !done
                        }
                        if first { continuation.resume(returning: sig) }
                    }
                    source.resume()
                    sources.all.append(source)
                }
            }
        }
    }
}
