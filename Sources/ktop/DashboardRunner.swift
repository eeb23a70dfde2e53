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
    let scenario: Scenario
    let seed: UInt64
    let speed: Speed
    let configuration: EngineConfiguration
    let listen: ListenAddress?
    var metrics = MetricsConfiguration()

    /// Runs until q, F10, SIGINT or SIGTERM; returns the exit status.
    func run() -> Int32 {
        guard isatty(STDOUT_FILENO) != 0 else {
            FileHandle.standardError.write(Data("ktop: the dashboard needs a terminal and stdout is not one; use --headless for snapshots on stdout (e.g. ktop --headless --duration 10)\n".utf8))
            return 2
        }
        TerminalGuard.install()
        let channel = EventChannel<SimulationEvent>()
        let simulation = Simulation(scenario: scenario, seed: seed, speed: speed, configuration: configuration,
                                    listen: listen, outbox: channel)
        simulation.start()
        let backend = NcursesBackend()
        backend.start()
        defer {
            backend.stop()
            simulation.stop()
        }

        var model = DashboardModel()
        let (w, h) = backend.size
        model.view.width = w
        model.view.height = h
        model.view.capabilities = backend.capabilities
        var store = MetricsStore(configuration: metrics, limits: configuration.limits)
        var scenarioName = scenario.name
        var streamName = scenario.stream.name
        var nextRefresh = Date()
        var dirty = true
        let scenarios = Scenario.builtIns.map(\.name)

        func refresh() {
            let kind: String = {
                if case .max = speed { return "manual" }
                return (store.lastSample?.clockSpeed ?? 1) == 1 ? "wall" : "accelerated"
            }()
            model.update(data: DashboardData.build(store: store, streamName: streamName, scenario: scenarioName, clockKind: kind,
                                                   limits: configuration.limits, scenarios: scenarios))
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
                    simulation.send(c)
                }
                if case .resize = k { backend.invalidate() }
                key = backend.readKey()
            }
            for event in channel.drain() {
                switch event {
                case .started(let s, let stream):
                    scenarioName = s
                    streamName = stream
                    store = MetricsStore(configuration: metrics, limits: configuration.limits)
                    model.view.rateFactor = 1
                    model.view.keyStrategy = .scenario
                    model.view.selectedShardId = nil
                    refresh()
                case .sample(let sample, let consumers, let producers):
                    store.ingest(sample, consumers: consumers, producers: producers)
                case .log(let time, let kind, let text):
                    model.log(EventLine(time: time, kind: kind, text: text))
                    dirty = true
                }
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
