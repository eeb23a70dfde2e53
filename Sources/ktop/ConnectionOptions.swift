import ArgumentParser
import KinesisAPI

/// The bounds of the Kinesis API server's connections, shared by `ktop serve` and
/// `ktop --listen`: how long a client may take, how many may connect, how much
/// request-body memory they may hold (``KinesisServer/ConnectionLimits``).
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Seconds for a request head to arrive, from the connection opening or a later request's first byte; "
            + "else 408 (default 10).",
        valueName: "seconds"))
    var headerTimeout: Double?

    @Option(help: ArgumentHelp("Seconds for a whole request body to arrive after its head; else 408 (default 60).",
                               valueName: "seconds"))
    var bodyTimeout: Double?

    @Option(help: ArgumentHelp(
        "Seconds a kept-alive connection may sit idle, or a client leave a response unread, before it is closed "
            + "(default 120). SubscribeToShard streams are not idle.",
        valueName: "seconds"))
    var idleTimeout: Double?

    @Option(help: ArgumentHelp(
        "Open connections served at once; more are answered 503 ServiceUnavailableException "
            + "(default: the open-file limit less an eighth, at most 10000).",
        valueName: "n"))
    var maxConnections: Int?

    @Option(name: .customLong("max-buffered-body-mib"), help: ArgumentHelp(
        "MiB of request bodies held in memory across all connections; requests past it get 503, "
            + "which SDKs retry (default 256, at least 16).",
        valueName: "mib"))
    var maxBufferedBodyMiB: Int?

    /// Whether any of these flags was given.
    var given: Bool {
        headerTimeout != nil || bodyTimeout != nil || idleTimeout != nil || maxConnections != nil
            || maxBufferedBodyMiB != nil
    }

    func validate() throws { _ = try connectionLimits() }

    func connectionLimits() throws -> KinesisServer.ConnectionLimits {
        var limits = KinesisServer.ConnectionLimits()
        if let headerTimeout { limits.headerTimeout = try Self.seconds(headerTimeout, flag: "--header-timeout") }
        if let bodyTimeout { limits.bodyTimeout = try Self.seconds(bodyTimeout, flag: "--body-timeout") }
        if let idleTimeout { limits.idleTimeout = try Self.seconds(idleTimeout, flag: "--idle-timeout") }
        if let maxConnections {
            guard (1...1_000_000).contains(maxConnections) else {
                throw ValidationError("--max-connections must be between 1 and 1000000, e.g. --max-connections 1000.")
            }
            limits.maxConnections = maxConnections
        }
        if let mib = maxBufferedBodyMiB {
            // A budget below the largest request body (16 MiB) would refuse legal requests forever.
            guard (16...1_048_576).contains(mib) else {
                throw ValidationError("--max-buffered-body-mib must be between 16 (the largest request body) "
                                      + "and 1048576, e.g. --max-buffered-body-mib 256.")
            }
            limits.maxBufferedBodyBytes = mib << 20
        }
        return limits
    }

    /// 0.001 s to one day: finite, positive, and small enough to convert without overflow.
    private static func seconds(_ value: Double, flag: String) throws -> Duration {
        guard value.isFinite, value >= 0.001, value <= 86_400 else {
            throw ValidationError("\(flag) must be a number of seconds between 0.001 and 86400, e.g. \(flag) 30.")
        }
        return .milliseconds(Int64((value * 1_000).rounded()))
    }
}

extension KinesisServer.ConnectionLimits {
    /// One line for the startup banner.
    var summary: String {
        "at most \(maxConnections) connections; header timeout \(Self.seconds(headerTimeout)), "
            + "body \(Self.seconds(bodyTimeout)), idle \(Self.seconds(idleTimeout)); "
            + "request bodies in memory at most \(maxBufferedBodyBytes >> 20) MiB"
    }

    private static func seconds(_ d: Duration) -> String {
        let ms = d.components.seconds * 1_000 + d.components.attoseconds / 1_000_000_000_000_000
        return ms % 1_000 == 0 ? "\(ms / 1_000) s" : "\(Double(ms) / 1_000) s"
    }
}
