import Dashboard
import Foundation
import Histogram
import Metrics
import StreamEngine

/// A source of one sample a second for the console: the embedded engine with
/// its load generator, or a remote endpoint (another ktop's exact counters, or
/// a foreign endpoint read through its API and CloudWatch). The dashboard and
/// the headless output consume a source through `SourceDriver`; neither knows
/// which source it has. One thread owns a source: not `Sendable`.
protocol SampleSource: AnyObject {
    /// Does the work due now and returns what happened, and how long the
    /// driver may wait before the next turn (zero: at once, e.g. a manual clock).
    func turn() -> SourceTurn
    /// Carries out a dashboard command (split, merge, rate, ...).
    func apply(_ command: DashboardCommand) -> [SourceEvent]
    /// Releases what the source holds on the far side (e.g. an EFO consumer it registered).
    func close() -> [SourceEvent]
}

/// The result of one turn of a source.
struct SourceTurn {
    var events: [SourceEvent] = []
    var wait: Duration = .zero
    /// The source has nothing more to give (its duration is up).
    var finished = false
}

/// What a source tells its consumer (the dashboard's main loop or the headless printer).
enum SourceEvent: Sendable {
    /// A (new) run began: forget the previous stream's metrics.
    case started(SourceHeader)
    /// One second of counters.
    case sample(SourceSample)
    /// A line for the events pane, stamped with the source's time.
    case log(time: String, kind: EventLine.Kind, text: String)
    /// An attached source's connection state changed ("connected", "disconnected: retrying in 4 s", ...):
    /// said at once, since a source that cannot reach its endpoint has no samples to carry it.
    case connection(String)
    /// A scenario's narration as its phase begins.
    case narration(seconds: Int64, phase: String, text: String)
    /// The source cannot go on (a stream that cannot be created, an address in use): headless exits 1.
    case failed(String)
    /// The run is over; lines to print last (a scenario's expectations checked on this run).
    case finished(summary: [String])
}

/// What a source is, for the header and each JSON line.
struct SourceHeader: Sendable {
    /// The scenario for the embedded engine; nil when attached.
    var scenario: String?
    var stream: String
    var seed: UInt64?
    /// "wall", "accelerated" or "manual".
    var clock: String
    var limits: KinesisLimits
    /// Where the scenario departs from Kinesis (embedded) or what attach cannot see (attached).
    var notes: [String] = []
    /// The first line of the text output.
    var title: String
    /// "embedded", "ktop-endpoint" or "foreign-endpoint", and the endpoint.
    var kind: String = "embedded"
    var endpoint: String? = nil
}

/// One second from a source, with what the embedded load generator or an
/// attached reader measured alongside the engine-shaped counters.
struct SourceSample: Sendable {
    var engine: EngineSample
    var consumers: [ConsumerReport] = []
    var producers: [ProducerReport] = []
    var latencies: [LatencyRecorder.Key: Histogram<UInt64>] = [:]
    /// The scenario phase now running (embedded only).
    var phase: String? = nil
    /// An attached source's connection state, shown in the header ("connected", "backing off 8 s: ...").
    var connection: String? = nil
    /// Faults injected so far (embedded only; nil: the engine never injected any, no `--faults`, no `setFaults`).
    var faults: [FaultCount]? = nil
    /// Whether faults are being injected now (embedded only: a scenario's setFaults switches them).
    var faultsActive: Bool? = nil
    /// Firehose delivery streams and SQL queries running beside the stream (embedded scenarios).
    var deliveryStreams: [DeliveryStreamRow] = []
    var queries: [QueryRow] = []
}

/// Runs a source turn after turn until it finishes or `stop` says so:
/// inline on the main thread for `--headless`, on its own thread for the dashboard.
enum SourceDriver {
    static func run(
        _ source: some SampleSource, commands: () -> [DashboardCommand], stop: () -> Bool,
        emit: (SourceEvent) -> Void
    ) {
        while !stop() {
            for command in commands() { source.apply(command).forEach(emit) }
            let turn = source.turn()
            turn.events.forEach(emit)
            if turn.finished { break }
            if turn.wait > .zero { Thread.sleep(forTimeInterval: Double(turn.wait.nanoseconds) / 1e9) }
        }
        source.close().forEach(emit)
    }
}

/// A bounded-latency mailbox between threads: senders append, the owner
/// drains everything at once. The main loop's one channel for work done
/// elsewhere (samples, engine events, results of commands).
/// Locks with `LockedValue` (pthread), which ThreadSanitizer can follow.
final class EventChannel<Element: Sendable>: Sendable {
    private let items = LockedValue<[Element]>([])
    func send(_ e: Element) { items.withLock { $0.append(e) } }
    func drain() -> [Element] {
        items.withLock { q in
            defer { q.removeAll(keepingCapacity: true) }
            return q
        }
    }
}

/// A source on its own thread, for the dashboard: the main loop sends it
/// commands and drains its events from `outbox`.
///
/// Sendable without `@unchecked`: every stored property is a constant or a
/// lock; the source itself is created on the thread (by `make`) and never leaves it.
final class SourceThread: Sendable {
    private let commands = LockedValue<[DashboardCommand]>([])
    private let stopped = LockedValue<Bool>(false)
    private let finished = LockedValue<Bool>(false)
    let outbox: EventChannel<SourceEvent>

    init(outbox: EventChannel<SourceEvent>) { self.outbox = outbox }

    func send(_ c: DashboardCommand) { commands.withLock { $0.append(c) } }

    /// Starts the thread; `make` builds the source on it.
    func start(name: String, _ make: @escaping @Sendable () -> any SampleSource) {
        let t = Thread { [self] in
            let source = make()
            SourceDriver.run(
                source,
                commands: {
                    commands.withLock { q in
                        defer { q.removeAll() }
                        return q
                    }
                },
                stop: { stopped.withLock { $0 } }, emit: outbox.send)
            finished.withLock { $0 = true }
        }
        t.name = name
        t.start()
    }

    /// Asks the thread to stop and waits (bounded: 5 s, enough to deregister an EFO consumer) until it has.
    func stop() {
        stopped.withLock { $0 = true }
        for _ in 0..<500 where !finished.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.01) }
    }
}
