import Foundation
import LoadGen
import Metrics
import StreamEngine

/// Runs a scenario with no terminal UI and writes one snapshot per simulated
/// second to stdout: JSON Lines for scripts, or a compact text line per stream.
struct HeadlessRunner {
    enum Format { case json, text }
    let scenario: Scenario
    let seed: UInt64
    let speed: Speed
    let duration: Double?
    let format: Format
    let configuration: EngineConfiguration
    var listen: ListenAddress? = nil
    var metrics = MetricsConfiguration()

    func run() {
        let wall = WallClock().now()
        let start = Instant(nanosecondsSinceEpoch: wall.secondsSinceEpoch * 1_000_000_000)
        let manual: ManualClock?
        let clock: any StreamEngine.Clock
        switch speed {
        case .max:
            let m = ManualClock(start: start)
            manual = m
            clock = m
        case .factor(let f) where f == 1:
            manual = nil
            clock = WallClock()
        case .factor(let f):
            manual = nil
            clock = AcceleratedClock(speed: f)
        }
        let engine = KinesisEngine(clock: clock, configuration: configuration)
        var listener: APIListener?
        if let listen {
            do {
                listener = try APIListener.start(at: listen, engine: engine)
                FileHandle.standardError.write(Data("ktop: Kinesis API on \(listener!.url)\n".utf8))
            } catch {
                FileHandle.standardError.write(Data("ktop: \(error)\n".utf8))
                Foundation.exit(1)
            }
        }
        defer { withExtendedLifetime(listener) {} }
        let latencies = LatencyRecorder()
        let runner = LoadRunner(scenario: scenario, client: TimedClient(base: engine.service(), recorder: latencies, stream: scenario.stream.name),
                                seed: seed)
        runner.setUp()
        if let error = runner.setupError {
            FileHandle.standardError.write(Data("ktop: cannot create stream \(scenario.stream.name): \(error)\n".utf8))
            Foundation.exit(1)
        }
        var store = MetricsStore(configuration: metrics, limits: configuration.limits)
        let begin = clock.now()
        var nextSnapshot = begin + .seconds(1)
        let end = duration.map { begin + .nanoseconds(Int64($0 * 1e9)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        if format == .text {
            let header = ["ktop: scenario \(scenario.name), seed \(seed), limits \(configuration.limits.profile)\(speedNote)"]
                + scenario.engine.notes.map { "  note: " + $0 }
            FileHandle.standardOutput.write(Data(header.map { $0 + "\n" }.joined().utf8))
        }
        // A baseline at the start, so the first second's traffic shows as rates
        // (an SDK app on --listen may write before the first snapshot).
        store.ingest(engine.sample())
        var recorder = ScenarioRecorder()
        var narration: [NarrationLine] = []
        while true {
            if let manual { manual.advance(by: .milliseconds(10)) } else { Thread.sleep(forTimeInterval: 0.01) }
            let now = clock.now()
            // Expectation frames: the state at each whole second of the run, taken before
            // that instant's step so a phase due then is not yet in it (as in ScenarioSimulation).
            if let start = runner.startTime, !scenario.expectations.isEmpty {
                let second = Int((now - start).components.seconds)
                if second > (recorder.lastSecond ?? -1) { recorder.record(second: second, sample: engine.sample(), runner: runner) }
            }
            runner.step(now: now)
            // Narration is shown as its phase begins (text) or carried by the next snapshot (JSON).
            let said = runner.takeNarration()
            if format == .text, !said.isEmpty {
                FileHandle.standardOutput.write(Data(said.map { "  [+\($0.at.components.seconds)s \($0.phase)] \($0.text)\n" }.joined().utf8))
            }
            narration += said
            guard now >= nextSnapshot else { continue }
            nextSnapshot = nextSnapshot + .seconds(1)
            engine.tick()
            store.ingest(engine.sample(), consumers: consumerReports(runner), producers: producerReports(runner), latencies: latencies.drain())
            if let snap = store.snapshot(limits: configuration.limits) {
                switch format {
                case .json:
                    let line = HeadlessLine(seed: seed, clock: clockName, scenario: scenario.name, phase: runner.currentPhase,
                                            narration: narration.map(\.text), notes: scenario.engine.notes, snapshot: snap)
                    if let data = try? encoder.encode(line) {
                        FileHandle.standardOutput.write(data + Data("\n".utf8))
                    }
                    narration = []
                case .text:
                    FileHandle.standardOutput.write(Data(textLines(snap).map { $0 + "\n" }.joined().utf8))
                }
            }
            if let end, now >= end { break }
        }
        if format == .text, !scenario.expectations.isEmpty {
            // What the scenario claims, checked on this run (exact with --speed max; wall-clock runs may wobble).
            var lines = ["Expectations (\(clockName) clock, \(recorder.lastSecond.map { "\($0 + 1)" } ?? "0") s recorded):"]
            lines += recorder.evaluate(scenario.expectations).map { "  " + $0.description }
            lines += runner.actionErrors.map { "  action failed: " + $0 }
            FileHandle.standardOutput.write(Data(lines.map { $0 + "\n" }.joined().utf8))
        }
    }

    var clockName: String {
        switch speed {
        case .max: "manual"
        case .factor(let f) where f == 1: "wall"
        case .factor: "accelerated"
        }
    }

    var speedNote: String {
        switch speed {
        case .max: ", clock: manual, stepped as fast as possible (not real time)"
        case .factor(let f) where f == 1: ""
        case .factor(let f): ", clock ×\(f) (accelerated)"
        }
    }

    func consumerReports(_ runner: LoadRunner) -> [ConsumerReport] {
        runner.pollingConsumers.map(\.report) + runner.kclApplications.map(\.report)
    }

    func producerReports(_ runner: LoadRunner) -> [ProducerReport] { runner.producers.map(\.report) }

    func textLines(_ s: Snapshot) -> [String] {
        s.streams.map { st in
            let inBytes = st.shards.map(\.incomingBytes).reduce(0, +)
            let inRecords = st.shards.map(\.incomingRecords).reduce(0, +)
            let throttled = st.shards.map(\.writeProvisionedThroughputExceeded).reduce(0, +)
            let heat = st.shards.filter(\.open).map { "\($0.shardId.suffix(3)):\($0.heat)" }.joined(separator: " ")
            let advice = st.advice.first.map { " | advice: \($0.action) \($0.shardId ?? "")" } ?? ""
            return "\(s.time) \(st.name) \(st.status) \(st.openShards) open | in \(String(format: "%.1f", inBytes / 1024)) KiB/s \(Int(inRecords)) rec/s | throttled \(Int(throttled))/s | \(heat)\(advice)"
        }
    }
}

/// The snapshot plus the run's own facts (seed), as one JSON line.
struct HeadlessLine: Encodable {
    let seed: UInt64
    /// "wall", "accelerated" or "manual" (stepped as fast as possible: not real time).
    let clock: String
    /// The scenario, its current phase and the narration lines shown since the previous line.
    let scenario: String
    let phase: String?
    let narration: [String]
    /// Where the scenario departs from Kinesis's own numbers (e.g. a shortened on-demand wait).
    let notes: [String]
    let snapshot: Snapshot

    enum CodingKeys: String, CodingKey { case time, clockSpeed, clock, limits, seed, scenario, phase, narration, notes, retainedBytes, streams }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(snapshot.time, forKey: .time)
        try c.encode(snapshot.clockSpeed, forKey: .clockSpeed)
        try c.encode(clock, forKey: .clock)
        try c.encode(snapshot.limits, forKey: .limits)
        try c.encode(seed, forKey: .seed)
        try c.encode(scenario, forKey: .scenario)
        try c.encode(phase, forKey: .phase)
        try c.encode(narration, forKey: .narration)
        try c.encode(notes, forKey: .notes)
        try c.encode(snapshot.retainedBytes, forKey: .retainedBytes)
        try c.encode(snapshot.streams, forKey: .streams)
    }
}
