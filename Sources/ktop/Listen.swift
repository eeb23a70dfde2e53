import ArgumentParser
import Dispatch
import Foundation
import KinesisAPI
import StreamEngine
import Synchronization

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
    private let current: Mutex<KinesisEngine>
    private let server: Mutex<KinesisServer?> = Mutex(nil)
    private(set) var url: String { get { urlBox.withLock { $0 } } set { urlBox.withLock { $0 = newValue } } }
    private let urlBox = Mutex("")

    private init(engine: KinesisEngine) { current = Mutex(engine) }

    /// Binds and starts serving `engine`; throws a one-line error if it cannot bind.
    static func start(at address: ListenAddress, engine: KinesisEngine) throws -> APIListener {
        let listener = APIListener(engine: engine)
        let server = KinesisServer(engineProvider: { listener.current.withLock { $0 } },
                                   configuration: .init(host: address.host, port: address.port))
        listener.server.withLock { $0 = server }
        let result = Mutex<Result<Int, any Error>?>(nil)
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
            listener.url = "http://\(address.host):\(port)"
            return listener
        case .failure(let error):
            throw ValidationError("Cannot listen on \(address): \(error). Pick another port with --listen HOST:PORT.")
        }
    }

    func use(_ engine: KinesisEngine) { current.withLock { $0 = engine } }
}
