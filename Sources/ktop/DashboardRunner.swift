import Dashboard
import Foundation
import LoadGen
import Metrics
import StreamEngine

/// The interactive dashboard: the main thread owns the terminal, the metrics
/// store and the view model; the simulation runs on its own thread and
/// reports through one channel. Each turn of the loop reads keys (waiting at
/// most 50 ms), folds in what the channel brought, refreshes the shown data
/// when the refresh interval is up, and draws if anything changed.
struct DashboardRunner {
    /// Builds the source on its own thread (sources are single-owner).
    let makeSource: @Sendable () -> any SampleSource
    var metrics = MetricsConfiguration()
    /// Attached with --read-only: the dashboard refuses actions on the stream.
    var readOnly = false
    /// Run with --faults: the header shows FAULTS ON (until a sample says otherwise: a scenario's setFaults).
    var faultsOn = false

    /// Runs until q, F10, SIGINT or SIGTERM; returns the exit status.
    func run() -> Int32 {
        guard isatty(STDOUT_FILENO) != 0 else {
            FileHandle.standardError.write(
                Data(
                    ("ktop: the dashboard needs a terminal and stdout is not one; use --headless for snapshots on "
                        + "stdout (e.g. ktop --headless --duration 10)\n").utf8))
            return 2
        }
        TerminalGuard.install()
        let channel = EventChannel<SourceEvent>()
        let source = SourceThread(outbox: channel)
        source.start(name: "ktop-source", makeSource)
        let backend = NcursesBackend()
        backend.start()
        defer {
            backend.stop()
            source.stop()
        }

        var model = DashboardModel()
        let (w, h) = backend.size
        model.view.width = w
        model.view.height = h
        model.view.capabilities = backend.capabilities
        var store = MetricsStore(configuration: metrics)
        var header: SourceHeader?
        var connection: String?
        var nextRefresh = Date()
        var dirty = true
        var faultsShown = faultsOn
        var services: (deliveryStreams: [DeliveryStreamRow], queries: [QueryRow]) = ([], [])
        let scenarios = Scenario.builtIns.map(\.name)

        func refresh() {
            guard let header else { return }
            // The speed can change while running (the `f` key): the kind follows the samples.
            let kind =
                header.clock == "manual" ? "manual" : (store.lastSample?.clockSpeed ?? 1) == 1 ? "wall" : "accelerated"
            var data = DashboardData.build(
                store: store, streamName: header.stream, scenario: header.scenario ?? "",
                clockKind: kind, limits: header.limits, scenarios: scenarios,
                historyFor: model.shardIdsShown, source: header.kind == "embedded" ? nil : header.endpoint,
                connection: connection, readOnly: readOnly, previous: model.data)
            data.faultsOn = faultsShown
            data.deliveryStreams = services.deliveryStreams
            data.queries = services.queries
            model.update(data: data)
        }

        loop: while true {
            if TerminalGuard.interrupted.load(ordering: .sequentiallyConsistent) != 0 { break }
            // Keys: wait up to 50 ms for the first, then take whatever else is queued.
            backend.setTimeout(milliseconds: dirty ? 0 : 50)
            var key = backend.readKey()
            backend.setTimeout(milliseconds: 0)
            while let k = key {
                let (next, commands) = model.handle(k)
                model = next
                dirty = true
                for c in commands {
                    if c == .quit { break loop }
                    source.send(c)
                }
                if case .resize = k { backend.invalidate() }
                key = backend.readKey()
            }
            for event in channel.drain() {
                switch event {
                case .started(let h):
                    header = h
                    store = MetricsStore(configuration: metrics, limits: h.limits)
                    model.view.rateFactor = 1
                    model.view.keyStrategy = .scenario
                    model.view.selectedShardId = nil
                    services = ([], [])
                    // An attached source says what it is and how it measures (the embedded engine logs its scenario).
                    if h.kind != "embedded" {
                        for line in [h.title] + h.notes { model.log(EventLine(time: "", kind: .narration, text: line)) }
                    }
                    refresh()
                case .sample(let s):
                    store.ingest(s.engine, consumers: s.consumers, producers: s.producers, latencies: s.latencies)
                    connection = s.connection
                    if let active = s.faultsActive { faultsShown = active }
                    services = (s.deliveryStreams, s.queries)
                case .log(let time, let kind, let text):
                    model.log(EventLine(time: time, kind: kind, text: text))
                    dirty = true
                case .narration(let seconds, let phase, let text):
                    let time = store.lastSample?.time.timeOfDay ?? ""
                    model.log(
                        EventLine(
                            time: time, kind: .narration,
                            text: phase == "start" ? text : "[+\(seconds)s \(phase)] \(text)"))
                    dirty = true
                case .connection(let state):
                    connection = state
                    dirty = true
                case .failed(let message):
                    model.log(EventLine(time: "", kind: .error, text: message))
                    dirty = true
                case .finished:
                    break
                }
            }
            // Scrolled past the shards the last build gave a history (wide streams build only a screenful's).
            if model.needsHistory && !model.view.paused {
                refresh()
                dirty = true
            }
            let now = Date()
            if now >= nextRefresh {
                nextRefresh = now.addingTimeInterval(model.view.refreshInterval)
                if !model.view.paused {
                    refresh()
                    dirty = true
                }
            }
            if dirty {
                backend.draw(Renderer.render(model))
                dirty = false
            }
        }
        // Killed by a signal: the conventional 128 + signal number, after restoring the terminal.
        let signal = TerminalGuard.interrupted.load(ordering: .sequentiallyConsistent)
        return signal != 0 ? 128 + signal : 0
    }
}
