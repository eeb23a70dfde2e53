import Attach
import Dashboard
import Foundation
import KinesisAPI
import Metrics
import StreamEngine

/// How an attached source measures the stream.
enum AttachMeasure {
    /// Another ktop: its engine's exact counters over `GET /ktop/v1/sample`.
    case ktop(KtopEndpointClient)
    /// Any endpoint: control plane, a reader, and CloudWatch when it has shard metrics.
    case api(StreamWatcher, CloudWatchPoller?)
}

/// What an `AttachMeasure` is built from: decided on the main thread (the probe),
/// built on the source's own thread (a `StreamWatcher` has one owner).
enum AttachMeasurePlan: Sendable {
    case ktop(KtopEndpointClient)
    case api(WatchOptions, cloudWatch: CloudWatchClient?, enableCommand: String)

    func make(_ kinesis: KinesisHTTPClient) -> AttachMeasure {
        switch self {
        case .ktop(let client): .ktop(client)
        case .api(let options, let cloudWatch, let enableCommand):
            .api(
                StreamWatcher(client: kinesis, options: options),
                cloudWatch.map { CloudWatchPoller(client: $0, enableCommand: enableCommand) })
        }
    }
}

/// A stream that lives elsewhere as a source: one sample a wall-clock second,
/// from a ktop endpoint's exact counters or from a foreign endpoint's API. The
/// dashboard's actions (split, merge, UpdateShardCount) reach the real stream
/// through the Kinesis API; the command line's one action (`--split hot --yes`)
/// is carried out once the stream shows traffic, at the key the same advice
/// engine as the embedded view gives. Errors of the remote become event lines
/// and a connection state; nothing here ends the console except the duration.
final class AttachSource: SampleSource {
    struct Settings {
        var endpoint: URL
        var region: String
        var stream: String
        /// Where the credentials came from ("environment", "profile ops in ~/.aws/credentials", ...).
        var credentialsSource: String
        var duration: Double?
        var action: AttachAction?
        var metrics: MetricsConfiguration
    }

    private let settings: Settings
    private let kinesis: KinesisHTTPClient
    private let measure: AttachMeasure
    private var pending: [SourceEvent]
    private var nextSample = Date()
    private var emitted = 0
    private let samplesWanted: Int?
    private var action: AttachAction?
    /// The source's own view of the samples, for the advice `--split hot` follows.
    private var store: MetricsStore
    private var limits: KinesisLimits = .aws
    private var lastEventId: UInt64 = 0
    private var failures = 0
    private var retryAt = Date.distantPast
    private var connection = "connected"
    private var saidConnection = "connected"
    /// A run with a duration ends by the wall clock too: a source that cannot reach its endpoint emits no samples.
    private let deadline: Date?
    private var lastSettled: Instant?
    static let samplesBeforeAction = 3
    /// `ktop sql`'s query over the attached stream, shown in the Firehose & SQL pane.
    private let queries: ScenarioQueries?

    init(settings: Settings, kinesis: KinesisHTTPClient, plan: AttachMeasurePlan, queries: ScenarioQueries? = nil) {
        self.settings = settings
        self.queries = queries
        self.kinesis = kinesis
        let measure = plan.make(kinesis)
        self.measure = measure
        self.action = settings.action
        samplesWanted = settings.duration.map { Int(Int64(saturating: max(1, $0.rounded(.up)))) }
        // The reader's samples lag 2 s behind; a few seconds more for the first control-plane calls.
        deadline = settings.duration.map { Date().addingTimeInterval(min($0, 1e9) + 10) }
        store = MetricsStore(configuration: settings.metrics)
        let how: String
        var notes: [String] = []
        switch measure {
        case .ktop:
            how = "exact counters of the ktop endpoint (GET /ktop/v1/sample)"
        case .api(let watcher, let cloud):
            how =
                "its API: ListShards, a reader at ≤\(StreamWatcher.callsPerShardPerSecond) GetRecords call/s "
                + "per shard"
                + (cloud == nil ? "" : ", CloudWatch shard metrics")
            notes = [
                "IncomingBytes/Records, top keys and the hash-key histogram come from the records the reader reads "
                    + "(by ApproximateArrivalTimestamp, \(watcher.options.settleDelay.components.seconds) s behind).",
                "Throttles are not visible from outside: only CloudWatch's shard-level metrics show them, per minute.",
            ]
            if let consumer = watcher.options.fanOutConsumer {
                notes.append("Reading with enhanced fan-out consumer \(consumer): registered now, deregistered at "
                    + "exit; "
                             + "on AWS it is billed per consumer-shard-hour and per GB read.")
            } else {
                notes.append("The reader takes at most 1 of each shard's 5 GetRecords calls a second: the stream's own "
                             + "consumers keep 4 (the consumers pane shows it as \(watcher.options.readerName)).")
            }
        }
        let kind: String = if case .ktop = measure { "ktop-endpoint" } else { "foreign-endpoint" }
        pending = [
            .started(
                SourceHeader(
                    scenario: nil, stream: settings.stream, seed: nil, clock: "wall", limits: .aws, notes: notes,
                    title:
                        "ktop: attached to stream \(settings.stream) at \(settings.endpoint.absoluteString) (region "
                            + "\(settings.region), "
                        + "credentials from \(settings.credentialsSource)); measured through \(how)",
                    kind: kind, endpoint: settings.endpoint.absoluteString))
        ]
    }

    private static func stamp(_ date: Date) -> String { stamp(Instant(date)) }
    private static func stamp(_ t: Instant) -> String { t.timeOfDay }

    func turn() -> SourceTurn {
        var out = SourceTurn()
        out.events = pending
        pending = []
        let now = Date()
        if let queries {
            queries.step(now: Instant(now))
            for message in queries.takeMessages() {
                out.events.append(.log(time: Self.stamp(now), kind: .engine, text: message))
            }
        }
        switch measure {
        case .ktop(let client):
            if now >= nextSample, now >= retryAt {
                nextSample = max(nextSample.addingTimeInterval(1), now)
                out.events += sampleKtop(client, now)
            }
        case .api(let watcher, let cloud):
            watcher.step(now: Instant(now))
            for e in watcher.takeEvents() {
                out.events.append(
                    .log(time: Self.stamp(e.time), kind: e.kind == .info ? .engine : .error, text: e.text))
            }
            if now >= nextSample {
                nextSample = max(nextSample.addingTimeInterval(1), now)
                let coverage = watcher.coverage(now: Instant(now))
                connection =
                    Self.describe(watcher.state, now: Instant(now))
                    + (coverage.shardsToRead > coverage.maxReadsPerSecond
                        ? "; \(coverage.shardsToRead) shards, \(coverage.maxReadsPerSecond) reads a second: read in "
                            + "rotation"
                        : "")
                // Samples are stamped with the second the reader has settled up to, so that each
                // interval holds exactly the records that arrived in it; no new second, no sample.
                let settled = watcher.settledUntil ?? Instant(now)
                if settled != lastSettled, var stream = watcher.sample(now: Instant(now)) {
                    lastSettled = settled
                    if let cloud {
                        out.events += cloud.poll(
                            stream: settings.stream, shardIds: stream.shards.map(\.shardId), now: now)
                        cloud.annotate(&stream)
                    }
                    out.events += emit(
                        EngineSample(
                            time: settled, limitsProfile: limits.profile, enforcesThroughput: true,
                            clockSpeed: 1, retainedBytes: 0, retainedBytesBudget: 0, streams: [stream]),
                        consumers: watcher.readerReport.map { [$0] } ?? [])
                }
            }
        }
        if connection != saidConnection {
            saidConnection = connection
            out.events.append(.connection(connection))
        }
        if let samplesWanted, emitted >= samplesWanted || deadline.map({ now >= $0 }) == true {
            out.finished = true
            if let action {
                out.events.append(
                    .failed("\(describe(action)) was not done: the stream showed no traffic to act on in \(emitted) s"))
            } else {
                out.events.append(
                    .finished(
                        summary: emitted >= samplesWanted
                            ? []
                            : [
                                "ktop: \(emitted) of \(samplesWanted) samples in \(Int(settings.duration ?? 0)) s; "
                                    + "last state: \(connection)"
                            ]))
            }
        }
        out.wait = .milliseconds(20)
        return out
    }

    /// One sample of a ktop endpoint, and its engine's events since the last.
    private func sampleKtop(_ client: KtopEndpointClient, _ now: Date) -> [SourceEvent] {
        var events: [SourceEvent] = []
        do {
            let sample = try client.sample(stream: settings.stream, region: settings.region)
            let (lastId, engineEvents) = try client.events(
                after: lastEventId, stream: settings.stream, region: settings.region)
            if failures > 0 {
                events.append(
                    .log(
                        time: Self.stamp(now), kind: .engine, text: "Reconnected to \(settings.endpoint.absoluteString)"
                    ))
            }
            failures = 0
            connection = sample.streams.isEmpty ? "stream \(settings.stream) not found (deleted?)" : "connected"
            limits = KinesisLimits.named(sample.limitsProfile) ?? .aws
            if lastEventId > 0 || engineEvents.count < 50 {
                events += engineEvents.map { .log(time: Self.stamp($0.time), kind: .engine, text: $0.message) }
            }
            lastEventId = lastId
            events += emit(sample, consumers: [])
        } catch {
            // Back off 1, 2, 4 ... 30 s; the header says so and the events pane says why.
            failures += 1
            let delay = min(30, 1 << min(failures - 1, 5))
            retryAt = now.addingTimeInterval(Double(delay))
            connection = "disconnected: retrying in \(delay) s"
            events.append(
                .log(time: Self.stamp(now), kind: .error, text: "\(settings.endpoint.absoluteString): \(error)"))
        }
        return events
    }

    private func emit(_ sample: EngineSample, consumers: [ConsumerReport]) -> [SourceEvent] {
        let consumers = consumers + (queries?.consumerReports ?? [])
        store.ingest(sample, consumers: consumers)
        emitted += 1
        var events: [SourceEvent] = [
            .sample(
                SourceSample(
                    engine: sample, consumers: consumers, connection: connection, queries: queries?.rows ?? []))
        ]
        // The command line's action waits for three seconds of samples, so the run shows the stream before it.
        if let action, emitted >= Self.samplesBeforeAction, let ready = resolve(action, sample) {
            self.action = nil
            events += carryOut(ready, fatal: true)
            if case .api(let watcher, _) = measure { watcher.refreshSoon() }
        }
        return events
    }

    /// The command an action becomes once the samples allow it (nil: not yet).
    private func resolve(_ action: AttachAction, _ sample: EngineSample) -> DashboardCommand? {
        guard let stream = sample.streams.first(where: { $0.name == settings.stream }), stream.status == .active else {
            return nil
        }
        switch action {
        case .merge(let a, let b): return .mergeShards(shardId: a, adjacentShardId: b)
        case .updateShardCount(let n): return .updateShardCount(target: n)
        case .split(let shard, let key):
            let open = stream.shards.filter(\.isOpen)
            let target: ShardSample?
            if shard == "hot" {
                // The busiest open shard of the last second, once there is traffic.
                let busiest = open.max {
                    (store.latest(stream, $0.shardId)?.incomingBytes ?? 0)
                        < (store.latest(stream, $1.shardId)?.incomingBytes ?? 0)
                }
                target = busiest.flatMap { (store.latest(stream, $0.shardId)?.incomingBytes ?? 0) > 0 ? $0 : nil }
            } else {
                target = open.first { $0.shardId == shard }
            }
            guard let target else { return nil }
            if let key { return .splitShard(shardId: target.shardId, hashKey: key) }
            let advised = Advisor.advise(stream: stream, store: store, limits: limits)
                .first { $0.action == .split && $0.shardId == target.shardId }?.hashKey
            let mid = target.startingHashKey + (target.endingHashKey - target.startingHashKey) / 2 + 1
            return .splitShard(shardId: target.shardId, hashKey: String(advised ?? mid))
        }
    }

    private func describe(_ action: AttachAction) -> String {
        switch action {
        case .split(let shard, _): "SplitShard \(shard)"
        case .merge(let a, let b): "MergeShards \(a) + \(b)"
        case .updateShardCount(let n): "UpdateShardCount to \(n)"
        }
    }

    /// Carries out an action on the real stream (the dashboard confirmed it; the command line said --yes).
    private func carryOut(_ command: DashboardCommand, fatal: Bool = false) -> [SourceEvent] {
        let stamp = Self.stamp(Date())
        let stream = settings.stream
        func ok(_ text: String) -> [SourceEvent] { [.log(time: stamp, kind: .action, text: text)] }
        func fail(_ e: KinesisError) -> [SourceEvent] {
            let line = "\(command.operation) on \(stream): \(e.description)"
            // A refused command-line action ends a headless run with the reason; the dashboard shows it.
            return fatal ? [.failed(line)] : [.log(time: stamp, kind: .error, text: line)]
        }
        do {
            switch command {
            case .splitShard(let shard, let key):
                _ = try kinesis.splitShard(
                    SplitShardInput(streamName: stream, shardToSplit: shard, newStartingHashKey: key))
                return ok(
                    "You: SplitShard \(shard) at \(key) accepted on \(settings.endpoint.absoluteString); the stream "
                        + "is UPDATING"
                )
            case .mergeShards(let a, let b):
                _ = try kinesis.mergeShards(
                    MergeShardsInput(streamName: stream, shardToMerge: a, adjacentShardToMerge: b))
                return ok(
                    "You: MergeShards \(a) + \(b) accepted on \(settings.endpoint.absoluteString); the stream is "
                        + "UPDATING"
                )
            case .updateShardCount(let n):
                _ = try kinesis.updateShardCount(
                    UpdateShardCountInput(streamName: stream, targetShardCount: n, scalingType: .uniformScaling))
                return ok("You: UpdateShardCount to \(n) accepted on \(settings.endpoint.absoluteString)")
            case .setStreamMode(let mode):
                let arn = try kinesis.describeStreamSummary(StreamInput(streamName: stream)).streamDescriptionSummary
                    .streamARN
                _ = try kinesis.updateStreamMode(
                    UpdateStreamModeInput(
                        streamARN: arn, streamModeDetails: StreamModeDetails(streamMode: StreamMode(rawValue: mode))))
                return ok("You: UpdateStreamMode to \(mode) accepted on \(settings.endpoint.absoluteString)")
            case .removeConsumer(let name, _):
                let arn = try kinesis.describeStreamSummary(StreamInput(streamName: stream)).streamDescriptionSummary
                    .streamARN
                _ = try kinesis.deregisterStreamConsumer(StreamConsumerInput(streamARN: arn, consumerName: name))
                return ok("You: DeregisterStreamConsumer \(name) accepted on \(settings.endpoint.absoluteString)")
            default:
                return [
                    .log(
                        time: stamp, kind: .error,
                        text: "That key drives the embedded engine's load generator; "
                            + "attached to \(settings.endpoint.absoluteString) ktop only watches and reshards")
                ]
            }
        } catch {
            return fail(error)
        }
    }

    /// The watcher's state as the header says it: what is wrong and when the next try is.
    static func describe(_ state: WatchState, now: Instant) -> String {
        func secs(_ t: Instant) -> Int64 { max(0, (t - now).components.seconds) }
        return switch state {
        case .connecting: "connecting"
        case .connected: "connected"
        case .backingOff(let until, let reason): "backing off \(secs(until)) s: \(reason)"
        case .disconnected(let retryAt, let reason): "disconnected: retrying in \(secs(retryAt)) s (\(reason))"
        case .streamGone(_, let retryAt): "stream gone (deleted?): checking again in \(secs(retryAt)) s"
        case .failing(let retryAt, let reason): "failing: \(reason); retrying in \(secs(retryAt)) s"
        }
    }

    func apply(_ command: DashboardCommand) -> [SourceEvent] {
        let events = carryOut(command)
        if command.changesStream, case .api(let watcher, _) = measure { watcher.refreshSoon() }
        return events
    }

    func close() -> [SourceEvent] {
        let closed: [SourceEvent] = (queries?.close() ?? []).map {
            .log(time: Self.stamp(Date()), kind: .error, text: $0)
        }
        guard case .api(let watcher, _) = measure else { return closed }
        watcher.close(now: Instant(Date()))
        return closed
            + watcher.takeEvents().map {
                .log(time: Self.stamp($0.time), kind: $0.kind == .info ? .engine : .error, text: $0.text)
            }
    }
}
