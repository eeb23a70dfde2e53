import StreamEngine

/// Where a consumer added by a scenario starts, relative to the run.
public enum ScenarioStart: Sendable, Equatable {
    case latest
    case trimHorizon
    /// AT_TIMESTAMP at this offset from the start of the run (e.g. 10 s: replay from second 10).
    case atOffset(Duration)
}

/// Where SplitShard cuts a shard.
public enum SplitPoint: Sendable, Equatable {
    /// Halfway through the shard's hash key range (what the dashboard's split does).
    case midpoint
    /// An explicit NewStartingHashKey (decimal).
    case hashKey(String)
}

/// One thing a phase changes. Actions address producers and consumers by name.
public enum PhaseAction: Sendable, Equatable {
    case setRate(producer: String, recordsPerSecond: Double)
    case setByteRate(producer: String, bytesPerSecond: Double)
    /// Moves a producer's record rate linearly to `recordsPerSecond` over `over`.
    case ramp(producer: String, recordsPerSecond: Double, over: Duration)
    case setKeys(producer: String, keys: KeyDistribution)
    case setSize(producer: String, size: SizeDistribution)
    case addProducer(ProducerConfig)
    case removeProducer(String)
    case addPollingConsumer(name: String, start: ScenarioStart, pollInterval: Duration)
    case addFanOutConsumer(String)
    /// Removes a polling or fan-out consumer (the latter is deregistered) or a whole KCL application.
    case removeConsumer(String)
    case addKCLApplication(KCLConfig)
    case addKCLWorker(application: String, worker: String)
    /// Stops a worker abruptly: its leases expire and move, with duplicates since the last checkpoint.
    case removeKCLWorker(application: String, worker: String)
    case splitShard(shardId: String, at: SplitPoint)
    case mergeShards(shardId: String, adjacentShardId: String)
    case updateShardCount(Int)
    /// Switches injected faults (a `--faults` spec, e.g. `record-failure=0.1`; nil: off) from now on.
    /// Only the embedded engine can do this: it is no Kinesis call.
    case setFaults(String?)
}

/// A timed step of a scenario's story: at `at` after the run starts, apply
/// `actions` and show `narration`.
public struct Phase: Sendable, Equatable {
    public var name: String
    public var at: Duration
    public var actions: [PhaseAction]
    public var narration: [String]
    public init(name: String, at: Duration, actions: [PhaseAction] = [], narration: [String] = []) {
        self.name = name
        self.at = at
        self.actions = actions
        self.narration = narration
    }
}

/// Engine settings a scenario needs (applied to `EngineConfiguration` by whoever builds the engine).
public struct ScenarioEngineSettings: Sendable, Equatable {
    /// On-demand scaling delay in seconds: from the second the traffic first asks for more
    /// capacity to the new shards (``OnDemandPolicy/scalingDelay``; the scenario-file key keeps
    /// its first name). AWS takes up to 15 minutes; a classroom demo states a shorter time, and
    /// the screen says so.
    public var onDemandSustainSeconds: Int?
    /// On-demand split threshold in bytes per second per shard (AWS: 500 KB/s; ktop: half the limit).
    public var onDemandSplitThresholdBytesPerSecond: Int?
    public init(onDemandSustainSeconds: Int? = nil, onDemandSplitThresholdBytesPerSecond: Int? = nil) {
        self.onDemandSustainSeconds = onDemandSustainSeconds
        self.onDemandSplitThresholdBytesPerSecond = onDemandSplitThresholdBytesPerSecond
    }

    public func apply(to config: inout EngineConfiguration) {
        if let s = onDemandSustainSeconds { config.onDemand.scalingDelay = .seconds(max(0, s)) }
        if let t = onDemandSplitThresholdBytesPerSecond { config.onDemand.splitThresholdBytesPerSecond = t }
    }

    /// Departures from Kinesis's own numbers, for the screen to state.
    public var notes: [String] {
        var n: [String] = []
        if let s = onDemandSustainSeconds {
            n.append("on-demand scaling takes \(s) s (AWS: up to 15 minutes)")
        }
        if let t = onDemandSplitThresholdBytesPerSecond {
            n.append("on-demand split threshold \(t) B/s per shard (AWS: 500 KB/s)")
        }
        return n
    }
}

/// A Firehose delivery stream a scenario starts, reading the scenario's stream (KinesisStreamAsSource)
/// into the local S3 folder. Firehose's BufferingHints: whichever of the two fills first flushes.
public struct DeliveryStreamSetup: Sendable, Equatable {
    public var name: String
    /// BufferingHints.SizeInMBs, 1…128.
    public var sizeInMBs: Int
    /// BufferingHints.IntervalInSeconds, 0…900.
    public var intervalInSeconds: Int
    /// UNCOMPRESSED, GZIP or ZIP.
    public var compression: String
    public init(name: String, sizeInMBs: Int = 5, intervalInSeconds: Int = 300, compression: String = "UNCOMPRESSED") {
        self.name = name
        self.sizeInMBs = sizeInMBs
        self.intervalInSeconds = intervalInSeconds
        self.compression = compression
    }
}

/// A continuous SQL query a scenario runs over its stream (`ktop sql`): its windows close live.
public struct QuerySetup: Sendable, Equatable {
    public var name: String
    public var sql: String
    /// `tumbling:10s` or `sliding:60s/10s`, for a query without a window function (nil: its own).
    public var window: String?
    public init(name: String, sql: String, window: String? = nil) {
        self.name = name
        self.sql = sql
        self.window = window
    }
}

/// A story told with load: a stream, producers and consumers, timed phases
/// that change them, the lines the dashboard narrates, and expectations that
/// say what the story shows (checked by the tests on a manual clock).
/// Built-ins are listed by `ktop scenarios`.
public struct Scenario: Sendable, Equatable {
    public struct StreamSetup: Sendable, Equatable {
        public var name: String
        public var shardCount: Int
        public var mode: StreamMode
        public init(name: String, shardCount: Int, mode: StreamMode = .provisioned) {
            self.name = name
            self.shardCount = shardCount
            self.mode = mode
        }
    }
    public var name: String
    public var summary: String
    public var stream: StreamSetup
    public var producers: [ProducerConfig]
    public var pollingConsumers: [String]
    public var fanOutConsumers: [String]
    /// Lines shown when the run starts.
    public var narration: [String]
    /// KCL-style applications (worker groups sharing a lease table).
    public var kclApplications: [KCLConfig] = []
    /// The story, in time order.
    public var phases: [Phase] = []
    /// What the story shows; `ScenarioSimulation` checks these on a manual clock.
    public var expectations: [Expectation] = []
    /// How long the story takes (nil: runs until stopped).
    public var duration: Duration?
    public var engine = ScenarioEngineSettings()
    /// Seed used when none is given (nil: a random one).
    public var seed: UInt64?
    /// Firehose delivery streams reading the stream, and SQL queries over it.
    public var deliveryStreams: [DeliveryStreamSetup] = []
    public var queries: [QuerySetup] = []

    public init(
        name: String, summary: String, stream: StreamSetup, producers: [ProducerConfig],
        pollingConsumers: [String] = [], fanOutConsumers: [String] = [], narration: [String] = [],
        kclApplications: [KCLConfig] = [], phases: [Phase] = [], expectations: [Expectation] = [],
        duration: Duration? = nil, engine: ScenarioEngineSettings = ScenarioEngineSettings(), seed: UInt64? = nil
    ) {
        self.name = name
        self.summary = summary
        self.stream = stream
        self.producers = producers
        self.pollingConsumers = pollingConsumers
        self.fanOutConsumers = fanOutConsumers
        self.narration = narration
        self.kclApplications = kclApplications
        self.phases = phases.sorted { $0.at < $1.at }
        self.expectations = expectations
        self.duration = duration
        self.engine = engine
        self.seed = seed
    }

    public static func named(_ name: String) -> Scenario? { builtIns.first { $0.name == name } }
}

/// A narration line with the moment it belongs to.
public struct NarrationLine: Sendable, Equatable {
    /// Offset from the start of the run.
    public var at: Duration
    public var phase: String
    public var text: String
}

/// Runs a scenario against a Kinesis client: creates its stream, then on
/// every `step(now:)` applies the phases that are due and lets each producer
/// and consumer do what is due. Single-threaded and deterministic for a
/// given seed and step sequence.
/// Not `Sendable`: it and everything it steps belong to the thread that
/// created it (the dashboard's simulation thread, or a headless run's main one).
public final class LoadRunner {
    public let scenario: Scenario
    public private(set) var producers: [Producer] = []
    public private(set) var pollingConsumers: [PollingConsumer] = []
    public private(set) var fanOutConsumers: [FanOutConsumer] = []
    public private(set) var kclApplications: [KCLApplication] = []
    private let client: any KinesisClient
    private var streamReady = false
    public private(set) var setupError: KinesisError?
    /// When the stream became ACTIVE: the run's time zero, which phases count from.
    public private(set) var startTime: Instant?
    /// Every narration line shown so far, in order.
    public private(set) var narrationLog: [NarrationLine] = []
    /// Phase actions that failed (e.g. a split refused), with the Kinesis error.
    public private(set) var actionErrors: [String] = []
    /// The phase most recently applied.
    public private(set) var currentPhase: String?
    private var narrationRead = 0
    private var nextPhase = 0
    private var ramps: [(producer: String, from: Double, to: Double, start: Instant, over: Duration)] = []
    private var rng: SeededRandom
    /// Carries out `.setFaults` (the owner of the engine sets it; a remote endpoint has none).
    public var setFaults: ((FaultPlan?) -> Void)?

    public init(scenario: Scenario, client: any KinesisClient, seed: UInt64) {
        self.scenario = scenario
        self.client = client
        var rng = SeededRandom(seed: seed)
        producers = scenario.producers.map { Producer(config: $0, client: client, seed: rng.next()) }
        pollingConsumers = scenario.pollingConsumers.map {
            PollingConsumer(name: $0, stream: scenario.stream.name, client: client)
        }
        fanOutConsumers = scenario.fanOutConsumers.map {
            FanOutConsumer(name: $0, stream: scenario.stream.name, client: client)
        }
        kclApplications = scenario.kclApplications.map { KCLApplication(config: $0, client: client, seed: rng.next()) }
        self.rng = rng
    }

    /// Creates the scenario's stream unless it already exists.
    public func setUp() {
        let s = scenario.stream
        do {
            _ = try client.createStream(
                CreateStreamInput(
                    streamName: s.name, shardCount: s.mode == .onDemand ? nil : s.shardCount,
                    streamModeDetails: StreamModeDetails(streamMode: s.mode)))
        } catch  where error.type == .resourceInUse {
            // Already there (e.g. a second ktop attached to the same server): use it.
        } catch {
            setupError = error
        }
    }

    /// Time since the run started (zero before the stream is ACTIVE).
    public func elapsed(at now: Instant) -> Duration { startTime.map { now - $0 } ?? .zero }

    /// Narration lines not yet returned by this method (for a view that prints them as they come).
    public func takeNarration() -> [NarrationLine] {
        defer { narrationRead = narrationLog.count }
        return Array(narrationLog[narrationRead...])
    }

    public func step(now: Instant) {
        if !streamReady {
            let status = try? client.describeStreamSummary(StreamInput(streamName: scenario.stream.name))
                .streamDescriptionSummary.streamStatus
            guard status == .active else { return }
            streamReady = true
            startTime = now
            narrationLog += scenario.narration.map { NarrationLine(at: .zero, phase: "start", text: $0) }
            for p in producers { p.step(now: now) }  // starts their clocks
        }
        applyPhases(now)
        for p in producers { p.step(now: now) }
        for c in pollingConsumers { c.step(now: now) }
        for c in fanOutConsumers { c.step(now: now) }
        for a in kclApplications { a.step(now: now) }
    }

    // MARK: Phases

    private func applyPhases(_ now: Instant) {
        guard let startTime else { return }
        let elapsed = now - startTime
        while nextPhase < scenario.phases.count, scenario.phases[nextPhase].at <= elapsed {
            let phase = scenario.phases[nextPhase]
            nextPhase += 1
            currentPhase = phase.name
            narrationLog += phase.narration.map { NarrationLine(at: phase.at, phase: phase.name, text: $0) }
            for a in phase.actions { apply(a, now: now) }
        }
        ramps.removeAll { r in
            guard let p = producer(r.producer) else { return true }
            let f = min(1, Double((now - r.start).nanoseconds) / Double(max(r.over.nanoseconds, 1)))
            p.setRate(r.from + (r.to - r.from) * f)
            return f >= 1
        }
    }

    public func producer(_ name: String) -> Producer? { producers.first { $0.config.name == name } }

    private func instant(_ start: ScenarioStart) -> StartPosition {
        switch start {
        case .latest: .latest
        case .trimHorizon: .trimHorizon
        case .atOffset(let d): .atTimestamp((startTime ?? Instant(nanosecondsSinceEpoch: 0)) + d)
        }
    }

    /// Applies one action now (phases call this; so can a dashboard key binding).
    public func apply(_ action: PhaseAction, now: Instant) {
        let stream = scenario.stream.name
        do {
            switch action {
            case .setRate(let name, let r):
                ramps.removeAll { $0.producer == name }
                producer(name)?.setRate(r)
            case .setByteRate(let name, let b): producer(name)?.setByteRate(b)
            case .ramp(let name, let to, let over):
                guard let p = producer(name) else { break }
                ramps.removeAll { $0.producer == name }
                ramps.append((name, p.config.effectiveRecordsPerSecond, to, now, over))
            case .setKeys(let name, let k): producer(name)?.setKeys(k)
            case .setSize(let name, let s): producer(name)?.setSize(s)
            case .addProducer(let config):
                let p = Producer(config: config, client: client, seed: rng.next())
                p.step(now: now)
                producers.append(p)
            case .removeProducer(let name): producers.removeAll { $0.config.name == name }
            case .addPollingConsumer(let name, let start, let interval):
                pollingConsumers.append(
                    PollingConsumer(
                        name: name, stream: stream, client: client, pollInterval: interval,
                        start: instant(start), seed: rng.next()))
            case .addFanOutConsumer(let name):
                fanOutConsumers.append(FanOutConsumer(name: name, stream: stream, client: client))
            case .removeConsumer(let name):
                pollingConsumers.removeAll { $0.name == name }
                kclApplications.removeAll { $0.name == name }
                if let c = fanOutConsumers.first(where: { $0.name == name }) {
                    fanOutConsumers.removeAll { $0 === c }
                    if let arn = c.consumerARN {
                        _ = try client.deregisterStreamConsumer(StreamConsumerInput(consumerARN: arn))
                    }
                }
            case .addKCLApplication(let config):
                kclApplications.append(KCLApplication(config: config, client: client, seed: rng.next()))
            case .addKCLWorker(let app, let worker): kclApplications.first { $0.name == app }?.addWorker(worker)
            case .removeKCLWorker(let app, let worker): kclApplications.first { $0.name == app }?.removeWorker(worker)
            case .splitShard(let shardId, let point):
                let key: String
                switch point {
                case .hashKey(let k): key = k
                case .midpoint:
                    let shards = try client.listShards(
                        ListShardsInput(streamName: stream, shardFilter: ShardFilter(type: .atLatest))
                    ).shards
                    guard let s = shards.first(where: { $0.shardId == shardId }),
                        let lo = HashKey.parse(s.hashKeyRange.startingHashKey),
                        let hi = HashKey.parse(s.hashKeyRange.endingHashKey)
                    else {
                        throw KinesisError(.resourceNotFound, "Shard \(shardId) is not open in stream \(stream).")
                    }
                    key = String(lo + (hi - lo) / 2 + 1)
                }
                _ = try client.splitShard(
                    SplitShardInput(streamName: stream, shardToSplit: shardId, newStartingHashKey: key))
            case .mergeShards(let a, let b):
                _ = try client.mergeShards(
                    MergeShardsInput(streamName: stream, shardToMerge: a, adjacentShardToMerge: b))
            case .updateShardCount(let n):
                _ = try client.updateShardCount(UpdateShardCountInput(streamName: stream, targetShardCount: n))
            case .setFaults(let spec):
                guard let setFaults else {
                    actionErrors.append("\(action): faults can be set only on the embedded engine")
                    break
                }
                do {
                    setFaults(try spec.map { spec throws(FaultSpecError) in try FaultPlan.parse(spec) })
                } catch {
                    actionErrors.append("\(action): \(error)")
                }
            }
        } catch {
            actionErrors.append("\(action): \(error)")
        }
    }
}

// Single-owner types: sharing one between threads is a compile error, not a race.
@available(*, unavailable) extension LoadRunner: Sendable {}
