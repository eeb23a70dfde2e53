import Dashboard
import Foundation
import LoadGen
import Metrics
import StreamEngine
import Synchronization

/// A bounded-latency mailbox between threads: senders append, the owner
/// drains everything at once. The main loop's one channel for work done
/// elsewhere (samples, engine events, results of commands).
/// Locks with `LockedValue` (pthread), which ThreadSanitizer can follow.
final class EventChannel<Element: Sendable>: Sendable {
    private let items = LockedValue<[Element]>([])
    func send(_ e: Element) { items.withLock { $0.append(e) } }
    func drain() -> [Element] { items.withLock { q in defer { q.removeAll(keepingCapacity: true) }; return q } }
}

/// What the simulation thread tells the main loop.
enum SimulationEvent: Sendable {
    /// A new scenario (re)started: forget the old stream's metrics.
    case started(scenario: String, stream: String)
    /// One second of engine counters, with the load generator's own counters.
    case sample(EngineSample, consumers: [ConsumerReport], producers: [ProducerReport])
    /// A line for the events pane, stamped with simulated time.
    case log(time: String, kind: EventLine.Kind, text: String)
}

/// Runs the engine and the load generator on their own thread: steps
/// producers and consumers every 10 ms, ticks the engine and samples it once
/// a simulated second, and carries out the dashboard's commands through the
/// engine's public Kinesis API. Owns every object it touches; the main loop
/// only talks to it through `send(_:)` and the event channel.
///
/// Sendable without `@unchecked`: every stored property is a constant or a
/// lock, and all that the thread mutates (the `World`: engine, load generator,
/// `--listen` server) is created and kept inside `run()`.
final class Simulation: Sendable {
    private let commands = LockedValue<[DashboardCommand]>([])
    private let stopped = Atomic<Bool>(false)
    private let finished = LockedValue<Bool>(false)
    let outbox: EventChannel<SimulationEvent>
    private let seed: UInt64
    private let speed: Speed
    private let configuration: EngineConfiguration
    private let initialScenario: Scenario
    private let listen: ListenAddress?

    init(scenario: Scenario, seed: UInt64, speed: Speed, configuration: EngineConfiguration, listen: ListenAddress? = nil,
         outbox: EventChannel<SimulationEvent>) {
        self.initialScenario = scenario; self.seed = seed; self.speed = speed; self.configuration = configuration
        self.listen = listen; self.outbox = outbox
    }

    func send(_ c: DashboardCommand) { commands.withLock { $0.append(c) } }

    func start() {
        let t = Thread { [self] in
            run()
            finished.withLock { $0 = true }
        }
        t.name = "ktop-simulation"
        t.start()
    }

    /// Asks the thread to stop and waits (bounded) until it has.
    func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        for _ in 0..<200 where !finished.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.01) }
    }

    /// One scenario running on one engine.
    private struct World {
        var scenario: Scenario
        var engine: KinesisEngine
        var clock: any StreamEngine.Clock
        var manual: ManualClock?
        var accelerated: AcceleratedClock?
        var runner: LoadRunner
        /// The `--listen` server; a new world keeps it and points it at its own engine.
        var listener: APIListener?
        var polling: [PollingConsumer]
        var fanOut: [FanOutConsumer]
        var baseRates: [Double]
        var lastEventId: UInt64 = 0
        var nextSample: Instant
        var added = 0
        /// Consumers start once the stream is ACTIVE (ListShards of a CREATING stream lists no shards).
        var streamReady = false
        var stream: String { scenario.stream.name }
    }

    private func makeWorld(_ scenario: Scenario, listener: APIListener?) -> World {
        var listener = listener
        let manual: ManualClock?
        let accelerated: AcceleratedClock?
        let clock: any StreamEngine.Clock
        switch speed {
        case .max:
            let wall = WallClock().now()
            let m = ManualClock(start: Instant(nanosecondsSinceEpoch: wall.secondsSinceEpoch * 1_000_000_000))
            manual = m; accelerated = nil; clock = m
        case .factor(let f):
            // Always accelerated (×1 is real time) so that `f` can change the speed.
            let a = AcceleratedClock(speed: f)
            manual = nil; accelerated = a; clock = a
        }
        // A scenario may state engine settings (e.g. a shortened on-demand wait); the log says so.
        var config = configuration
        scenario.engine.apply(to: &config)
        let engine = KinesisEngine(clock: clock, configuration: config)
        let service = engine.service()
        if let listener {
            listener.use(engine)
        } else if let listen {
            do {
                let l = try APIListener.start(at: listen, engine: engine)
                listener = l
                outbox.send(.log(time: time(clock.now()), kind: .narration,
                                 text: "Kinesis API on \(l.url): point your SDK's endpoint_url here and its streams appear on this screen"))
            } catch {
                outbox.send(.log(time: time(clock.now()), kind: .error, text: "\(error)"))
            }
        }
        // The dashboard runs the scenario's consumers itself so that `c` can add and remove them.
        var load = scenario
        load.pollingConsumers = []
        load.fanOutConsumers = []
        let runner = LoadRunner(scenario: load, client: service, seed: seed)
        runner.setUp()
        if let error = runner.setupError {
            outbox.send(.log(time: time(clock.now()), kind: .error, text: "CreateStream \(scenario.stream.name): \(error)"))
        }
        let world = World(
            scenario: scenario, engine: engine, clock: clock, manual: manual, accelerated: accelerated, runner: runner,
            listener: listener,
            polling: scenario.pollingConsumers.map { PollingConsumer(name: $0, stream: scenario.stream.name, client: service) },
            fanOut: scenario.fanOutConsumers.map { FanOutConsumer(name: $0, stream: scenario.stream.name, client: service) },
            baseRates: scenario.producers.map(\.recordsPerSecond),
            nextSample: clock.now() + .seconds(1))
        outbox.send(.started(scenario: scenario.name, stream: scenario.stream.name))
        let now = time(clock.now())
        outbox.send(.log(time: now, kind: .narration, text: "Scenario \(scenario.name) (seed \(seed)): \(scenario.summary)"))
        for line in scenario.narration { outbox.send(.log(time: now, kind: .narration, text: line)) }
        for note in scenario.engine.notes { outbox.send(.log(time: now, kind: .narration, text: "Note: " + note)) }
        return world
    }

    private func time(_ t: Instant) -> String { String(t.iso8601.dropFirst(11).prefix(8)) }

    private func run() {
        var world = makeWorld(initialScenario, listener: nil)
        while !stopped.load(ordering: .sequentiallyConsistent) {
            for c in commands.withLock({ q in defer { q.removeAll() }; return q }) { apply(c, &world) }
            if let manual = world.manual { manual.advance(by: .milliseconds(10)) } else { Thread.sleep(forTimeInterval: 0.01) }
            let now = world.clock.now()
            world.runner.step(now: now)
            // Scenario phases narrate as they begin (the opening lines were logged at start).
            for line in world.runner.takeNarration() where line.phase != "start" {
                outbox.send(.log(time: time(now), kind: .narration, text: "[+\(line.at.components.seconds)s \(line.phase)] \(line.text)"))
            }
            if !world.streamReady {
                let status = try? world.engine.service().describeStreamSummary(StreamInput(streamName: world.stream)).streamDescriptionSummary.streamStatus
                world.streamReady = status == .active
            }
            if world.streamReady {
                for c in world.polling { c.step(now: now) }
                for c in world.fanOut { c.step(now: now) }
            }
            guard now >= world.nextSample else { continue }
            world.nextSample = max(world.nextSample + .seconds(1), now)
            world.engine.tick()
            let sample = world.engine.sample()
            // The dashboard's own polling consumers, those a scenario phase added, and KCL applications (which poll too).
            let consumers = (world.polling + world.runner.pollingConsumers).map(\.report) + world.runner.kclApplications.map(\.report)
            let producers = world.runner.producers.map(\.report)
            outbox.send(.sample(sample, consumers: consumers, producers: producers))
            for e in world.engine.events.events(after: world.lastEventId) {
                outbox.send(.log(time: time(e.time), kind: .engine, text: e.message))
                world.lastEventId = e.id
            }
        }
    }

    private func apply(_ command: DashboardCommand, _ w: inout World) {
        let service = w.engine.service()
        let stamp = time(w.clock.now())
        func ok(_ text: String) { outbox.send(.log(time: stamp, kind: .action, text: text)) }
        func fail(_ op: String, _ e: KinesisError) { outbox.send(.log(time: stamp, kind: .error, text: "\(op): \(e.description)")) }
        switch command {
        case .splitShard(let shard, let key):
            do {
                _ = try service.splitShard(SplitShardInput(streamName: w.stream, shardToSplit: shard, newStartingHashKey: key))
                ok("You: SplitShard \(shard) at \(key) accepted; the stream is UPDATING")
            } catch { fail("SplitShard \(shard)", error) }
        case .mergeShards(let a, let b):
            do {
                _ = try service.mergeShards(MergeShardsInput(streamName: w.stream, shardToMerge: a, adjacentShardToMerge: b))
                ok("You: MergeShards \(a) + \(b) accepted; the stream is UPDATING")
            } catch { fail("MergeShards \(a) + \(b)", error) }
        case .updateShardCount(let n):
            do {
                let out = try service.updateShardCount(UpdateShardCountInput(streamName: w.stream, targetShardCount: n, scalingType: .uniformScaling))
                ok("You: UpdateShardCount \(out.currentShardCount.map(String.init) ?? "?") -> \(out.targetShardCount.map(String.init) ?? "\(n)") accepted")
            } catch { fail("UpdateShardCount to \(n)", error) }
        case .setRateFactor(let f):
            for (p, base) in zip(w.runner.producers, w.baseRates) { p.setRate(base * f) }
            let total = w.runner.producers.reduce(0) { $0 + $1.config.recordsPerSecond }
            ok("You: producers at x\(Format.fixed(f, 2)) of the scenario's rate: \(Int(total)) records/s")
        case .setKeyStrategy(let s):
            for (p, original) in zip(w.runner.producers, w.scenario.producers) {
                p.setKeys(Self.distribution(s, original: original.keys))
            }
            ok("You: key strategy \(s.rawValue): \(w.runner.producers.first.map { $0.config.keys.description } ?? "")")
        case .addConsumer(let kind):
            w.added += 1
            switch kind {
            case .polling:
                let name = "poller-\(w.added)"
                w.polling.append(PollingConsumer(name: name, stream: w.stream, client: service))
                ok("You: added polling consumer \(name): it shares each shard's 2 MiB/s and 5 GetRecords/s")
            case .efo:
                let name = "efo-\(w.added)"
                w.fanOut.append(FanOutConsumer(name: name, stream: w.stream, client: service))
                ok("You: registering enhanced fan-out consumer \(name): its own 2 MiB/s per shard once ACTIVE")
            }
        case .removeConsumer(let name, let kind):
            switch kind {
            case .polling:
                w.polling.removeAll { $0.name == name }
                ok("You: stopped polling consumer \(name)")
            case .efo:
                w.fanOut.removeAll { $0.name == name }
                do {
                    let arn = try service.describeStreamSummary(StreamInput(streamName: w.stream)).streamDescriptionSummary.streamARN
                    _ = try service.deregisterStreamConsumer(StreamConsumerInput(streamARN: arn, consumerName: name))
                    ok("You: DeregisterStreamConsumer \(name) accepted")
                } catch { fail("DeregisterStreamConsumer \(name)", error) }
            }
        case .setStreamMode(let mode):
            do {
                let arn = try service.describeStreamSummary(StreamInput(streamName: w.stream)).streamDescriptionSummary.streamARN
                _ = try service.updateStreamMode(UpdateStreamModeInput(streamARN: arn, streamModeDetails: StreamModeDetails(streamMode: StreamMode(rawValue: mode))))
                ok("You: UpdateStreamMode to \(mode) accepted")
            } catch { fail("UpdateStreamMode to \(mode)", error) }
        case .setClockSpeed(let x):
            if let a = w.accelerated {
                a.setSpeed(x)
                ok("You: clock x\(Format.fixed(x, x == x.rounded() ? 0 : 1))\(x == 1 ? " (real time)" : ": simulated time runs faster than real time")")
            } else {
                outbox.send(.log(time: stamp, kind: .error, text: "The clock is manual (--speed max): its speed cannot change"))
            }
        case .runScenario(let name):
            guard let s = Scenario.named(name) else {
                outbox.send(.log(time: stamp, kind: .error, text: "No scenario named \(name)")); return
            }
            w = makeWorld(s, listener: w.listener)
        case .quit:
            break
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
