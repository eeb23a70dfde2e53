import ArgumentParser
import Dispatch
import Foundation
import KinesisAPI
import StreamEngine

/// `--listen [HOST:]PORT`: where the Kinesis API server of a dashboard or
/// headless run listens (host defaults to 127.0.0.1).
struct ListenAddress: ExpressibleByArgument, Equatable, CustomStringConvertible {
    var host: String
    var port: Int

    init?(argument: String) {
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        let hostPart = parts.count > 1 ? parts.dropLast().joined(separator: ":") : "127.0.0.1"
        guard let last = parts.last, let port = Int(last), (0...65_535).contains(port), !hostPart.isEmpty else { return nil }
        self.host = hostPart
        self.port = port
    }

    var description: String { "\(host):\(port)" }
}

/// The Kinesis API beside a running scenario, so the user's own SDK apps
/// write to (and appear on) the same engine the screen shows. When the engine
/// is replaced (the dashboard's `n`), the listener serves the new one.
final class APIListener: Sendable {
    /// The engine requests go to: read on the server's event-loop threads, replaced on the simulation thread.
    private let current: LockedValue<KinesisEngine>
    /// Held so the server lives as long as the listener.
    private let server: KinesisServer
    let url: String

    private init(current: LockedValue<KinesisEngine>, server: KinesisServer, url: String) {
        self.current = current; self.server = server; self.url = url
    }

    /// Binds and starts serving `engine`; throws a one-line error if it cannot bind.
    static func start(at address: ListenAddress, engine: KinesisEngine) throws -> APIListener {
        let current = LockedValue(engine)
        let server = KinesisServer(engineProvider: { current.withLock { $0 } },
                                   configuration: .init(host: address.host, port: address.port))
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
            return APIListener(current: current, server: server, url: "http://\(address.host):\(port)")
        case .failure(let error):
            throw ValidationError("Cannot listen on \(address): \(error). Pick another port with --listen HOST:PORT.")
        }
    }

    func use(_ engine: KinesisEngine) { current.withLock { $0 = engine } }
}
