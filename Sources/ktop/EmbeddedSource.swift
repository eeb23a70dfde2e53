import Dashboard
import Foundation
import LoadGen
import Metrics
import StreamEngine

/// The embedded engine as a source: a scenario's load generator on a
/// `KinesisEngine`, stepped every 10 ms (a `ScenarioRun`, the same stepping
/// the scenario tests use), one sample each second. Carries out the
/// dashboard's commands through the engine's public Kinesis API, as an SDK
/// app would. Single owner (the thread of `SourceDriver`).
final class EmbeddedSource: SampleSource {
    private let seed: UInt64
    private let speed: Speed
    private let configuration: EngineConfiguration
    private let listen: ListenAddress?
    /// The folder standing in for S3, where a scenario's Firehose delivery streams write (`--s3-dir`).
    private let s3Directory: URL
    /// Stop after this many one-second samples (nil: until stopped).
    private let samples: Int?
    private var emitted = 0
    /// Whether the run ends by printing the scenario's expectations checked (headless text).
    private let checkExpectations: Bool
    private var world: World
    private var pending: [SourceEvent] = []

    /// One scenario running on one engine.
    private struct World {
        var run: ScenarioRun
        var clock: any StreamEngine.Clock
        var manual: ManualClock?
        var accelerated: AcceleratedClock?
        /// The `--listen` server; a new world keeps it and points it at its own engine.
        var listener: APIListener?
        var latencies: LatencyRecorder
        var baseRates: [Double]
        var lastEventId: UInt64 = 0
        var added = 0
        var created: Instant
        /// Samples start with a baseline at the run's time zero (the stream ACTIVE), so that every
        /// interval is one second and the first second's traffic shows as rates.
        var baselineTaken = false
        /// The scenario's SQL queries, reading the stream through the engine's Kinesis API.
        var queries: ScenarioQueries
        /// The scenario's Firehose delivery streams, reading the stream into the local S3 folder.
        var firehose: ScenarioFirehose
        var scenario: Scenario { run.scenario }
        var engine: KinesisEngine { run.engine }
        var runner: LoadRunner { run.runner }
        var stream: String { scenario.stream.name }
    }

    init(
        scenario: Scenario, seed: UInt64, speed: Speed, configuration: EngineConfiguration,
        listen: ListenAddress? = nil, s3Directory: URL = URL(fileURLWithPath: "ktop-s3", isDirectory: true),
        duration: Double? = nil, checkExpectations: Bool = false
    ) {
        self.seed = seed
        self.speed = speed
        self.configuration = configuration
        self.listen = listen
        self.s3Directory = s3Directory
        self.samples = duration.map { Int(Int64(saturating: max(1, $0.rounded(.up)))) }
        self.checkExpectations = checkExpectations
        var events: [SourceEvent] = []
        world = Self.makeWorld(
            scenario, seed: seed, speed: speed, configuration: configuration, listen: listen,
            listener: nil, s3Directory: s3Directory, events: &events)
        pending = events
    }

    var clockName: String {
        switch speed {
        case .max: "manual"
        case .factor(let f) where f == 1: "wall"
        case .factor: "accelerated"
        }
    }

    private static func makeWorld(
        _ scenario: Scenario, seed: UInt64, speed: Speed, configuration: EngineConfiguration,
        listen: ListenAddress?, listener: APIListener?, s3Directory: URL, events: inout [SourceEvent]
    ) -> World {
        var listener = listener
        let manual: ManualClock?
        let accelerated: AcceleratedClock?
        let clock: any StreamEngine.Clock
        switch speed {
        case .max:
            let wall = WallClock().now()
            let m = ManualClock(start: Instant(nanosecondsSinceEpoch: wall.secondsSinceEpoch * 1_000_000_000))
            manual = m
            accelerated = nil
            clock = m
        case .factor(let f):
            // Always accelerated (×1 is real time) so that the dashboard's `f` can change the speed.
            let a = AcceleratedClock(speed: f)
            manual = nil
            accelerated = a
            clock = a
        }
        // A scenario may state engine settings (e.g. a shortened on-demand wait); the notes say so.
        var config = configuration
        scenario.engine.apply(to: &config)
        let engine: KinesisEngine
        do { engine = try KinesisEngine.open(clock: clock, configuration: config).engine } catch {
            // `ktop run` opened the data directory once before the screen started: this is rare.
            fail("\(error)")
        }
        let firehose = ScenarioFirehose(
            scenario.deliveryStreams, stream: scenario.stream.name, engine: engine, clock: clock,
            s3Directory: s3Directory)
        let stamp = time(clock.now())
        if let listener {
            listener.use(engine, firehose: firehose.service)
        } else if let listen {
            do {
                let l = try APIListener.start(at: listen, engine: engine, firehose: firehose.service)
                listener = l
                events.append(
                    .log(
                        time: stamp, kind: .narration,
                        text:
                            "Kinesis API on \(l.url): point your SDK's endpoint_url here and its streams appear on "
                                + "this screen"
                    ))
            } catch {
                events.append(.failed("\(error)"))
            }
        }
        let latencies = LatencyRecorder()
        let run = ScenarioRun(
            scenario: scenario, seed: seed, engine: engine,
            client: TimedClient(base: engine.service(), recorder: latencies, stream: scenario.stream.name))
        let clockNote: String =
            switch speed {
            case .max: ", clock: manual, stepped as fast as possible (not real time)"
            case .factor(let f) where f == 1: ""
            case .factor(let f): ", clock ×\(f) (accelerated)"
            }
        let clockName: String =
            switch speed {
            case .max: "manual"
            case .factor(let f) where f == 1: "wall"
            case .factor: "accelerated"
            }
        events.append(
            .started(
                SourceHeader(
                    scenario: scenario.name, stream: scenario.stream.name, seed: seed, clock: clockName,
                    limits: config.limits,
                    notes: scenario.engine.notes,
                    title: "ktop: scenario \(scenario.name), seed \(seed), limits \(config.limits.profile)\(clockNote)")
            ))
        if let error = run.runner.setupError {
            events.append(.failed("cannot create stream \(scenario.stream.name): \(error)"))
        }
        events.append(
            .log(time: stamp, kind: .narration, text: "Scenario \(scenario.name) (seed \(seed)): \(scenario.summary)"))
        for note in scenario.engine.notes { events.append(.log(time: stamp, kind: .narration, text: "Note: " + note)) }
        let queries = ScenarioQueries(scenario.queries, stream: scenario.stream.name, client: engine.service())
        let world = World(
            run: run, clock: clock, manual: manual, accelerated: accelerated, listener: listener,
            latencies: latencies, baseRates: scenario.producers.map(\.recordsPerSecond), created: clock.now(),
            queries: queries,
            firehose: firehose)
        return world
    }

    private static func time(_ t: Instant) -> String { t.timeOfDay }

    func turn() -> SourceTurn {
        var out = SourceTurn()
        out.events = pending
        pending = []
        if let manual = world.manual { manual.advance(by: .milliseconds(10)) } else { out.wait = .milliseconds(10) }
        let now = world.clock.now()
        let ticked = world.run.step(now: now)
        for line in world.runner.takeNarration() {
            out.events.append(.narration(seconds: line.at.components.seconds, phase: line.phase, text: line.text))
        }
        // The services read the stream once the scenario runs on it (the stream is ACTIVE).
        if world.runner.startTime != nil {
            if !world.queries.isEmpty { world.queries.step(now: now) }
            world.firehose.step(now: now)
        }
        for message in world.queries.takeMessages() + world.firehose.takeMessages() {
            out.events.append(.log(time: Self.time(now), kind: .engine, text: message))
        }
        // A stream that never becomes ACTIVE still shows (as CREATING) after a few seconds.
        if !world.baselineTaken, world.runner.startTime != nil || now - world.created > .seconds(5) {
            world.baselineTaken = true
            out.events.append(.sample(SourceSample(engine: world.engine.sample())))
        } else if ticked, world.baselineTaken {
            out.events.append(
                .sample(
                    SourceSample(
                        engine: world.engine.sample(),
                        consumers: world.runner.pollingConsumers.map(\.report)
                            + world.runner.kclApplications.map(\.report) + world.queries.consumerReports
                            + world.firehose.consumerReports,
                        producers: world.runner.producers.map(\.report), latencies: world.latencies.drain(),
                        phase: world.runner.currentPhase, faults: world.engine.faults?.counts(),
                        faultsActive: world.engine.faults.map { !$0.plan.rules.isEmpty } ?? false,
                        deliveryStreams: world.firehose.rows, queries: world.queries.rows)))
            emitted += 1
            for e in world.engine.events.events(after: world.lastEventId) {
                out.events.append(.log(time: Self.time(e.time), kind: .engine, text: e.message))
                world.lastEventId = e.id
            }
        }
        if let samples, emitted >= samples {
            out.finished = true
            out.events.append(.finished(summary: checkExpectations ? expectationLines() : []))
        }
        return out
    }

    /// What the scenario claims, checked on this run (exact with --speed max; wall-clock runs may wobble).
    private func expectationLines() -> [String] {
        guard !world.scenario.expectations.isEmpty else { return [] }
        let recorded = world.run.recorder.lastSecond.map { "\($0 + 1)" } ?? "0"
        return ["Expectations (\(clockName) clock, \(recorded) s recorded):"]
            + world.run.evaluate().map { "  " + $0.description }
            + world.runner.actionErrors.map { "  action failed: " + $0 }
    }

    func close() -> [SourceEvent] {
        world.engine.close()
        return []
    }

    func apply(_ command: DashboardCommand) -> [SourceEvent] {
        let service = world.engine.service()
        let stamp = Self.time(world.clock.now())
        let stream = world.stream
        func ok(_ text: String) -> [SourceEvent] { [.log(time: stamp, kind: .action, text: text)] }
        func fail(_ op: String, _ e: KinesisError) -> [SourceEvent] {
            [.log(time: stamp, kind: .error, text: "\(op): \(e.description)")]
        }
        switch command {
        case .splitShard(let shard, let key):
            do {
                _ = try service.splitShard(
                    SplitShardInput(streamName: stream, shardToSplit: shard, newStartingHashKey: key))
                return ok("You: SplitShard \(shard) at \(key) accepted; the stream is UPDATING")
            } catch { return fail("SplitShard \(shard)", error) }
        case .mergeShards(let a, let b):
            do {
                _ = try service.mergeShards(
                    MergeShardsInput(streamName: stream, shardToMerge: a, adjacentShardToMerge: b))
                return ok("You: MergeShards \(a) + \(b) accepted; the stream is UPDATING")
            } catch { return fail("MergeShards \(a) + \(b)", error) }
        case .updateShardCount(let n):
            do {
                let out = try service.updateShardCount(
                    UpdateShardCountInput(
                        streamName: stream, targetShardCount: n,
                        scalingType: .uniformScaling))
                let from = out.currentShardCount.map(String.init) ?? "?"
                let to = out.targetShardCount.map(String.init) ?? "\(n)"
                return ok("You: UpdateShardCount \(from) -> \(to) accepted")
            } catch { return fail("UpdateShardCount to \(n)", error) }
        case .setRateFactor(let f):
            for (p, base) in zip(world.runner.producers, world.baseRates) { p.setRate(base * f) }
            let total = world.runner.producers.reduce(0) { $0 + $1.config.recordsPerSecond }
            return ok("You: producers at x\(Format.fixed(f, 2)) of the scenario's rate: \(Int(total)) records/s")
        case .setKeyStrategy(let s):
            for (p, original) in zip(world.runner.producers, world.scenario.producers) {
                p.setKeys(Self.distribution(s, original: original.keys))
            }
            return ok(
                "You: key strategy \(s.rawValue): "
                    + "\(world.runner.producers.first.map { $0.config.keys.description } ?? "")"
            )
        case .addConsumer(let kind):
            world.added += 1
            switch kind {
            case .polling:
                let name = "poller-\(world.added)"
                world.runner.apply(
                    .addPollingConsumer(name: name, start: .latest, pollInterval: PollingConsumer.defaultPollInterval),
                    now: world.clock.now())
                return ok(
                    "You: added polling consumer \(name): it shares each shard's \(world.engine.limits.sharedReadText)")
            case .efo:
                let name = "efo-\(world.added)"
                world.runner.apply(.addFanOutConsumer(name), now: world.clock.now())
                return ok(
                    "You: registering enhanced fan-out consumer \(name): its own "
                        + "\(world.engine.limits.fanOutPipeText) per shard once ACTIVE"
                )
            }
        case .removeConsumer(let name, let kind):
            let errors = world.runner.actionErrors.count
            world.runner.apply(.removeConsumer(name), now: world.clock.now())
            if world.runner.actionErrors.count > errors, let e = world.runner.actionErrors.last {
                return [.log(time: stamp, kind: .error, text: e)]
            }
            return ok(
                kind == .efo
                    ? "You: DeregisterStreamConsumer \(name) accepted" : "You: stopped polling consumer \(name)")
        case .setStreamMode(let mode):
            do {
                let arn = try service.describeStreamSummary(StreamInput(streamName: stream)).streamDescriptionSummary
                    .streamARN
                _ = try service.updateStreamMode(
                    UpdateStreamModeInput(
                        streamARN: arn, streamModeDetails: StreamModeDetails(streamMode: StreamMode(rawValue: mode))))
                return ok("You: UpdateStreamMode to \(mode) accepted")
            } catch { return fail("UpdateStreamMode to \(mode)", error) }
        case .setClockSpeed(let x):
            guard let a = world.accelerated else {
                return [
                    .log(time: stamp, kind: .error, text: "The clock is manual (--speed max): its speed cannot change")
                ]
            }
            a.setSpeed(x)
            let note = x == 1 ? " (real time)" : ": simulated time runs faster than real time"
            return ok("You: clock x\(Format.fixed(x, x == x.rounded() ? 0 : 1))\(note)")
        case .runScenario(let name):
            guard let s = Scenario.named(name) else {
                return [.log(time: stamp, kind: .error, text: "No scenario named \(name)")]
            }
            var events: [SourceEvent] = []
            world.engine.close() // releases the data directory for the new run
            world = Self.makeWorld(
                s, seed: seed, speed: speed, configuration: configuration, listen: listen,
                listener: world.listener, s3Directory: s3Directory, events: &events)
            return events
        case .quit:
            return []
        }
    }

    /// LoadGen's key distribution for a strategy.
    static func distribution(_ s: KeyStrategy, original: KeyDistribution) -> KeyDistribution {
        switch s {
        case .scenario: original
        case .uniform: .uniform(count: 10_000)
        case .zipf: .zipf(count: 2_000, s: 1.1)
        case .hotKey: .hotKey(key: "user-42", share: 0.5, count: 10_000)
        case .salted: .salted(key: "user-42", salts: 16)
        }
    }
}
