import DequeModule
import StreamEngine

/// Something a scenario can measure over a window of its run.
public enum ScenarioMetric: String, Sendable, Equatable, CaseIterable {
    // Per shard (subject: a shard id, "!shardId-…" for every other shard, nil for all), summed over the window.
    case writeThrottled, incomingRecords, incomingBytes, readThrottled
    /// Open shards at the window's end.
    case openShards
    // Per consumer (subject: polling, fan-out or KCL application name; nil for all), over the window.
    case consumerRecords, consumerBytes, consumerBytesPerSecond, consumerThrottled
    /// MillisBehindLatest at the window's end (the largest, when several match).
    case consumerLag
    // Per producer (subject: producer name; nil for all), over the window; counts of user records.
    case producerAcked, producerThrottled, producerDropped, producerInFlight
    // Per KCL application (subject: application name), over the window.
    case kclDuplicates, kclParentOrderViolations, kclShardsCompleted
    /// Most leases held by one worker minus fewest, at the window's end.
    case kclLeaseSpread
    /// Faults the engine injected over the window (subject: a kind such as "record-failure"; nil for all).
    case faultsInjected
}

/// A measurement: a metric of a subject over [from, to) seconds of the run (to nil: the end).
public struct MetricQuery: Sendable, Equatable {
    public var metric: ScenarioMetric
    public var subject: String?
    public var from: Int
    public var to: Int?
    public init(_ metric: ScenarioMetric, _ subject: String? = nil, from: Int = 0, to: Int? = nil) {
        self.metric = metric
        self.subject = subject
        self.from = from
        self.to = to
    }
}

/// A claim a scenario makes about its run: `query` compared with `value`,
/// or with `value` × another measurement (`relativeTo`).
public struct Expectation: Sendable, Equatable {
    public enum Comparison: String, Sendable, Equatable { case atLeast, atMost, equal, greaterThan, lessThan }
    public var description: String
    public var query: MetricQuery
    public var comparison: Comparison
    public var value: Double
    public var relativeTo: MetricQuery?
    public init(
        _ description: String, _ query: MetricQuery, _ comparison: Comparison, _ value: Double,
        relativeTo: MetricQuery? = nil
    ) {
        self.description = description
        self.query = query
        self.comparison = comparison
        self.value = value
        self.relativeTo = relativeTo
    }
}

/// The outcome of one expectation.
public struct ExpectationResult: Sendable, Equatable, CustomStringConvertible {
    public var expectation: Expectation
    public var measured: Double
    public var threshold: Double
    public var passed: Bool
    public var description: String {
        let op: String
        switch expectation.comparison {
        case .atLeast: op = "≥"
        case .atMost: op = "≤"
        case .equal: op = "="
        case .greaterThan: op = ">"
        case .lessThan: op = "<"
        }
        return
            "\(passed ? "✓" : "✗") \(expectation.description) (\(expectation.query.metric.rawValue) = "
                + "\(fmt(measured)), expected \(op) \(fmt(threshold)))"
    }
    private func fmt(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format: "%.2f", v)
    }
}

/// Per-second frames of what a scenario run did, for its expectations:
/// cumulative shard counters from the engine and the runner's own stats.
/// Bounded: the last `capacity` seconds are kept.
public struct ScenarioRecorder: Sendable {
    struct Frame: Sendable {
        var second: Int
        var shards: [String: ShardCounters] = [:]
        var openShards = 0
        var consumers: [String: ConsumerStats] = [:]
        var producers: [String: ProducerStats] = [:]
        var producerInFlight: [String: Int64] = [:]
        var kcl: [String: KCLStats] = [:]
        var leaseSpread: [String: Int] = [:]
        var faults: [String: Int64] = [:]
    }
    private var frames = Deque<Frame>()
    public let capacity: Int
    public init(capacity: Int = 3_600) { self.capacity = capacity }

    /// The last second recorded.
    public var lastSecond: Int? { frames.last?.second }

    /// Records the state at `second` seconds into the run.
    public mutating func record(second: Int, sample: EngineSample, runner: LoadRunner, faults: [FaultCount] = []) {
        var f = Frame(second: second)
        for c in faults { f.faults[c.kind.rawValue, default: 0] += Int64(c.count) }
        if let s = sample.streams.first(where: { $0.name == runner.scenario.stream.name }) {
            for shard in s.shards { f.shards[shard.shardId] = shard.counters }
            f.openShards = s.openShardCount
        }
        for c in runner.pollingConsumers { f.consumers[c.name] = c.stats }
        for c in runner.fanOutConsumers { f.consumers[c.name] = c.stats }
        for a in runner.kclApplications {
            f.consumers[a.name] = ConsumerStats(
                records: a.stats.records, bytes: a.stats.bytes, calls: a.stats.getRecordsCalls,
                throttled: a.stats.throttled, millisBehindLatest: a.stats.millisBehindLatest)
            f.kcl[a.name] = a.stats
            let counts = a.workers.map { a.leaseCounts[$0.id] ?? 0 }
            f.leaseSpread[a.name] = (counts.max() ?? 0) - (counts.min() ?? 0)
        }
        for p in runner.producers {
            f.producers[p.config.name] = p.stats
            f.producerInFlight[p.config.name] = p.inFlight
        }
        frames.append(f)
        if frames.count > capacity { frames.removeFirst() }
    }

    private func frame(at second: Int) -> Frame? {
        guard let first = frames.first, let last = frames.last else { return nil }
        if second <= first.second { return second < first.second ? Frame(second: second) : first }
        if second >= last.second { return last }
        return frames[second - first.second]
    }

    private func matches(_ subject: String?, _ key: String) -> Bool {
        guard let subject else { return true }
        if subject.hasPrefix("!") { return key != subject.dropFirst() }
        return key == subject
    }

    /// The value of a query over the recorded run.
    public func measure(_ q: MetricQuery) -> Double {
        guard let last = frames.last else { return 0 }
        let end = q.to.map { min($0, last.second) } ?? last.second
        guard let a = frame(at: q.from), let b = frame(at: end) else { return 0 }
        func shardSum(_ value: (ShardCounters) -> Int64) -> Double {
            Double(
                b.shards.filter { matches(q.subject, $0.key) }.reduce(Int64(0)) { acc, kv in
                    acc + value(kv.value) - (a.shards[kv.key].map(value) ?? 0)
                })
        }
        func consumerSum(_ value: (ConsumerStats) -> Int64) -> Double {
            Double(
                b.consumers.filter { matches(q.subject, $0.key) }.reduce(Int64(0)) { acc, kv in
                    acc + value(kv.value) - (a.consumers[kv.key].map(value) ?? 0)
                })
        }
        func producerSum(_ value: (ProducerStats) -> Int64) -> Double {
            Double(
                b.producers.filter { matches(q.subject, $0.key) }.reduce(Int64(0)) { acc, kv in
                    acc + value(kv.value) - (a.producers[kv.key].map(value) ?? 0)
                })
        }
        func kclSum(_ value: (KCLStats) -> Int64) -> Double {
            Double(
                b.kcl.filter { matches(q.subject, $0.key) }.reduce(Int64(0)) { acc, kv in
                    acc + value(kv.value) - (a.kcl[kv.key].map(value) ?? 0)
                })
        }
        switch q.metric {
        case .writeThrottled: return shardSum(\.writeThrottledRecords)
        case .incomingRecords: return shardSum(\.incomingRecords)
        case .incomingBytes: return shardSum(\.incomingBytes)
        case .readThrottled: return shardSum(\.readThrottledCalls)
        case .openShards: return Double(b.openShards)
        case .consumerRecords: return consumerSum(\.records)
        case .consumerBytes: return consumerSum(\.bytes)
        case .consumerBytesPerSecond: return consumerSum(\.bytes) / Double(max(end - q.from, 1))
        case .consumerThrottled: return consumerSum(\.throttled)
        case .consumerLag:
            return Double(b.consumers.filter { matches(q.subject, $0.key) }.map(\.value.millisBehindLatest).max() ?? 0)
        case .producerAcked: return producerSum(\.acked)
        case .producerThrottled: return producerSum(\.throttled)
        case .producerDropped: return producerSum(\.dropped)
        case .producerInFlight:
            return Double(b.producerInFlight.filter { matches(q.subject, $0.key) }.map(\.value).reduce(0, +))
        case .kclDuplicates: return kclSum(\.duplicates)
        case .kclParentOrderViolations: return kclSum(\.parentOrderViolations)
        case .kclShardsCompleted: return kclSum(\.shardsCompleted)
        case .kclLeaseSpread: return Double(b.leaseSpread.filter { matches(q.subject, $0.key) }.map(\.value).max() ?? 0)
        case .faultsInjected:
            return Double(
                b.faults.filter { matches(q.subject, $0.key) }.reduce(Int64(0)) { acc, kv in
                    acc + kv.value - (a.faults[kv.key] ?? 0)
                })
        }
    }

    public func evaluate(_ e: Expectation) -> ExpectationResult {
        let measured = measure(e.query)
        let threshold = e.relativeTo.map { e.value * measure($0) } ?? e.value
        let passed: Bool
        switch e.comparison {
        case .atLeast: passed = measured >= threshold
        case .atMost: passed = measured <= threshold
        case .equal: passed = measured == threshold
        case .greaterThan: passed = measured > threshold
        case .lessThan: passed = measured < threshold
        }
        return ExpectationResult(expectation: e, measured: measured, threshold: threshold, passed: passed)
    }

    public func evaluate(_ expectations: [Expectation]) -> [ExpectationResult] { expectations.map(evaluate) }
}

/// One scenario on one engine, stepped by whoever owns the clock. The
/// console's embedded source (wall, accelerated or manual clock) and
/// `ScenarioSimulation` (tests) both step it, so what the screen shows, what
/// `--headless` prints and what the expectations check are one and the same run.
/// Not `Sendable`: owned by the thread that steps it.
public final class ScenarioRun {
    public let scenario: Scenario
    public let engine: KinesisEngine
    public let runner: LoadRunner
    public private(set) var recorder = ScenarioRecorder()
    private var nextTick: Instant

    /// - Parameter client: what the load generator calls (default: the engine's own service; the
    ///   console wraps it to time the calls).
    public init(scenario: Scenario, seed: UInt64, engine: KinesisEngine, client: (any KinesisClient)? = nil) {
        self.scenario = scenario
        self.engine = engine
        runner = LoadRunner(scenario: scenario, client: client ?? engine.service(), seed: seed)
        // A phase's setFaults changes what the engine injects; same seed, same faults.
        runner.setFaults = { [engine] plan in engine.setFaults(plan, seed: seed) }
        runner.setUp()
        nextTick = engine.clock.now() + .seconds(1)
    }

    /// Advances to `now` (callers step about every 10 ms). Each whole second,
    /// before that instant's step, the engine ticks and, once the stream is
    /// ACTIVE, a frame is recorded: frame `s` is the state just before the
    /// phases due at second `s` apply. Returns true when the engine ticked:
    /// a new per-second sample is due.
    @discardableResult
    public func step(now: Instant) -> Bool {
        var ticked = false
        if now >= nextTick {
            // A clock that jumped (a paused process, a manual step of several seconds) ticks once.
            nextTick = max(nextTick + .seconds(1), now)
            engine.tick()
            ticked = true
            if let start = runner.startTime {
                recorder.record(
                    second: Int((now - start).components.seconds), sample: engine.sample(), runner: runner,
                    faults: engine.faults?.counts() ?? [])
            }
        }
        let wasStarted = runner.startTime != nil
        runner.step(now: now)
        // Seconds count from the stream becoming ACTIVE, the run's time zero.
        if !wasStarted, let start = runner.startTime { nextTick = start + .seconds(1) }
        return ticked
    }

    public func evaluate() -> [ExpectationResult] { recorder.evaluate(scenario.expectations) }
}

/// A scenario on the embedded engine with a manual clock: the way tests
/// check what a scenario claims. Steps 10 ms at a time (see `ScenarioRun`).
/// Not `Sendable`: owned by the test or command that runs it.
public final class ScenarioSimulation {
    public let clock: ManualClock
    public let run: ScenarioRun
    public let step: Duration
    private let begin: Instant
    public var scenario: Scenario { run.scenario }
    public var engine: KinesisEngine { run.engine }
    public var runner: LoadRunner { run.runner }
    public var recorder: ScenarioRecorder { run.recorder }

    public init(
        scenario: Scenario, seed: UInt64, configuration: EngineConfiguration = EngineConfiguration(),
        start: Instant = Instant(secondsSinceEpoch: 1_764_000_000), step: Duration = .milliseconds(10)
    ) {
        self.step = step
        clock = ManualClock(start: start)
        var config = configuration
        scenario.engine.apply(to: &config)
        run = ScenarioRun(scenario: scenario, seed: seed, engine: KinesisEngine(clock: clock, configuration: config))
        begin = start
    }

    /// Simulated time since the run started (the stream became ACTIVE).
    public var elapsed: Duration { runner.elapsed(at: clock.now()) }

    /// Runs until `seconds` into the scenario (from the stream becoming ACTIVE).
    public func run(until seconds: Int) {
        while runner.startTime == nil || elapsed < .seconds(seconds) {
            clock.advance(by: step)
            run.step(now: clock.now())
            // The stream never became ACTIVE.
            if runner.startTime == nil && clock.now() - begin > .seconds(60) { return }
        }
    }

    /// Runs the scenario's whole story (its duration, or 60 s).
    public func runToEnd() { run(until: Int(scenario.duration?.components.seconds ?? 60)) }

    public func evaluate() -> [ExpectationResult] { run.evaluate() }
}

@available(*, unavailable) extension ScenarioRun: Sendable {}
// Single-owner types: sharing one between threads is a compile error, not a race.
@available(*, unavailable) extension ScenarioSimulation: Sendable {}
