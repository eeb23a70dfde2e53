import Foundation
import StreamEngine

/// A scenario file could not be read; the message says where and why.
public struct ScenarioFileError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// The scenario file format: JSON, read with Foundation's decoder (no
/// dependency). Durations are in seconds (`…Seconds`) or milliseconds
/// (`…Millis`); key and size distributions and phase actions carry a `type`
/// / `action` discriminator. `ktop scenarios --show NAME` prints any built-in
/// in this format as a starting point. Lists of keys, hash keys or sizes may
/// come from a file (`"file": "keys.txt"`, one value a line, relative to the
/// scenario file).
///
/// ```json
/// {"name": "my-hot-key", "durationSeconds": 30, "seed": 7,
///  "stream": {"name": "s", "shards": 4},
///  "producers": [{"name": "p", "recordsPerSecond": 2000,
///                 "keys": {"type": "hotKey", "key": "k", "share": 0.6, "count": 1000},
///                 "size": {"type": "fixed", "bytes": 700}}],
///  "pollingConsumers": ["reader"],
///  "phases": [{"name": "salt", "atSeconds": 15, "narration": ["Salting the key"],
///              "actions": [{"action": "setKeys", "producer": "p",
///                           "keys": {"type": "salted", "key": "k", "salts": 16}}]}],
///  "expectations": [{"description": "no throttling after salting", "metric": "writeThrottled",
///                    "from": 18, "to": 30, "comparison": "equal", "value": 0}]}
/// ```
public enum ScenarioFile {
    /// Reads a scenario file; relative `file` references resolve against its folder.
    public static func load(path: String) throws -> Scenario {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ScenarioFileError("Cannot read scenario file \(path): \(error.localizedDescription)")
        }
        return try decode(data, baseDirectory: url.deletingLastPathComponent().path, source: path)
    }

    public static func decode(_ data: Data, baseDirectory: String = ".", source: String = "scenario") throws -> Scenario
    {
        let spec: ScenarioSpec
        do { spec = try JSONDecoder().decode(ScenarioSpec.self, from: data) } catch let e as DecodingError {
            throw ScenarioFileError("\(source): \(describe(e))")
        }
        return try spec.model(Context(base: baseDirectory, source: source))
    }

    /// The scenario as JSON in this format (sorted keys, pretty-printed).
    public static func encode(_ scenario: Scenario) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(ScenarioSpec(scenario))
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ c: [any CodingKey]) -> String {
            c.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
        }
        switch e {
        case .keyNotFound(let k, let c):
            return "missing '\(k.stringValue)' at \(path(c.codingPath).isEmpty ? "top level" : path(c.codingPath))"
        case .typeMismatch(let t, let c): return "expected \(t) at \(path(c.codingPath)): \(c.debugDescription)"
        case .valueNotFound(let t, let c): return "expected \(t) at \(path(c.codingPath))"
        case .dataCorrupted(let c):
            return "invalid JSON at \(path(c.codingPath)): \(c.underlyingError.map { "\($0)" } ?? c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }

    struct Context {
        var base: String
        var source: String
        func lines(_ file: String) throws -> [String] {
            let path = file.hasPrefix("/") ? file : base + "/" + file
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ScenarioFileError("\(source): cannot read '\(file)' (looked at \(path))")
            }
            return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty && !$0.hasPrefix("#")
            }
        }
        func fail(_ m: String) -> ScenarioFileError { ScenarioFileError("\(source): \(m)") }
    }
}

private func secs(_ d: Duration) -> Double { Double(d.nanoseconds) / 1e9 }
private func millis(_ d: Duration) -> Double { Double(d.nanoseconds) / 1e6 }
private func fromSecs(_ s: Double) -> Duration { .nanoseconds(Int64((s * 1e9).rounded())) }
private func fromMillis(_ m: Double) -> Duration { .nanoseconds(Int64((m * 1e6).rounded())) }

struct KeysSpec: Codable {
    var type: String
    var count: Int?, s: Double?, key: String?, share: Double?, salts: Int?, granularityMillis: Int?
    var keys: [String]?, hashKeys: [String]?, file: String?

    init(type: String) { self.type = type }
    init(_ k: KeyDistribution) {
        switch k {
        case .uniform(let n):
            type = "uniform"
            count = n
        case .zipf(let n, let s):
            type = "zipf"
            count = n
            self.s = s
        case .hotKey(let key, let share, let n):
            type = "hotKey"
            self.key = key
            self.share = share
            count = n
        case .salted(let key, let salts):
            type = "salted"
            self.key = key
            self.salts = salts
        case .monotonic(let g):
            type = "monotonic"
            granularityMillis = g
        case .keySet(let keys):
            type = "keys"
            self.keys = keys
        case .explicitHashKeys(let h):
            type = "explicitHashKeys"
            hashKeys = h
        }
    }

    func model(_ c: ScenarioFile.Context) throws -> KeyDistribution {
        func need<T>(_ v: T?, _ name: String) throws -> T {
            guard let v else { throw c.fail("key distribution '\(type)' needs '\(name)'") }
            return v
        }
        switch type {
        case "uniform": return .uniform(count: try need(count, "count"))
        case "zipf": return .zipf(count: try need(count, "count"), s: try need(s, "s"))
        case "hotKey": return .hotKey(key: try need(key, "key"), share: try need(share, "share"), count: count ?? 1_000)
        case "salted": return .salted(key: try need(key, "key"), salts: try need(salts, "salts"))
        case "monotonic": return .monotonic(granularityMillis: granularityMillis ?? 1_000)
        case "keys":
            let list =
                try keys ?? file.map(c.lines) ?? { throw c.fail("key distribution 'keys' needs 'keys' or 'file'") }()
            return .keySet(list)
        case "explicitHashKeys":
            let list =
                try hashKeys ?? file.map(c.lines) ?? { throw c.fail("'explicitHashKeys' needs 'hashKeys' or 'file'") }()
            if let bad = list.first(where: { HashKey.parse($0) == nil }) {
                throw c.fail("'\(bad)' is not a hash key (a decimal in 0…2^128−1)")
            }
            return .explicitHashKeys(list)
        default:
            throw c.fail(
                "unknown key distribution '\(type)' (uniform, zipf, hotKey, salted, monotonic, keys, explicitHashKeys)")
        }
    }
}

struct SizeSpec: Codable {
    var type: String
    var bytes: Int?, min: Int?, max: Int?, mean: Double?, stddev: Double?, sizes: [Int]?, file: String?

    init(_ s: SizeDistribution) {
        switch s {
        case .fixed(let n):
            type = "fixed"
            bytes = n
        case .uniform(let r):
            type = "uniform"
            min = r.lowerBound
            max = r.upperBound
        case .normal(let m, let sd):
            type = "normal"
            mean = m
            stddev = sd
        case .samples(let s):
            type = "samples"
            sizes = s
        }
    }

    func model(_ c: ScenarioFile.Context) throws -> SizeDistribution {
        switch type {
        case "fixed":
            guard let bytes else { throw c.fail("size 'fixed' needs 'bytes'") }
            return .fixed(bytes)
        case "uniform":
            guard let lo = min, let hi = max, lo <= hi, lo >= 0 else {
                throw c.fail("size 'uniform' needs 0 ≤ 'min' ≤ 'max'")
            }
            return .uniform(lo...hi)
        case "normal":
            guard let mean, let stddev else { throw c.fail("size 'normal' needs 'mean' and 'stddev'") }
            return .normal(mean: mean, stddev: stddev)
        case "samples":
            if let sizes { return .samples(sizes) }
            guard let file else { throw c.fail("size 'samples' needs 'sizes' or 'file'") }
            let values = try c.lines(file).map { line -> Int in
                guard let v = Int(line), v >= 0 else { throw c.fail("'\(line)' in \(file) is not a size in bytes") }
                return v
            }
            return .samples(values)
        default: throw c.fail("unknown size distribution '\(type)' (fixed, uniform, normal, samples)")
        }
    }
}

struct ProducerSpec: Codable {
    var name: String
    var stream: String?
    var recordsPerSecond: Double?, bytesPerSecond: Double?
    var keys: KeysSpec
    var size: SizeSpec?
    var batchSize: Int?, maxBatchBytes: Int?, lingerMillis: Double?, maxRetries: Int?, backoffMillis: Double?
    var aggregation: AggregationSpec?
    /// "random" (default) or "json" (JSON events with `errorRate`, for SQL queries).
    var payload: String?
    var errorRate: Double?

    struct AggregationSpec: Codable {
        var maxBytes: Int?
        var maxRecords: Int?
    }

    init(_ p: ProducerConfig) {
        name = p.name
        stream = p.stream
        recordsPerSecond = p.recordsPerSecond
        bytesPerSecond = p.bytesPerSecond
        keys = KeysSpec(p.keys)
        size = SizeSpec(p.size)
        batchSize = p.batchSize
        maxBatchBytes = p.maxBatchBytes
        lingerMillis = millis(p.linger)
        maxRetries = p.maxRetries
        backoffMillis = millis(p.backoffBase)
        aggregation = p.aggregation.map { AggregationSpec(maxBytes: $0.maxBytes, maxRecords: $0.maxRecords) }
        if case .jsonEvents(let rate) = p.payload {
            payload = "json"
            errorRate = rate
        }
    }

    func model(_ c: ScenarioFile.Context, stream defaultStream: String) throws -> ProducerConfig {
        guard recordsPerSecond != nil || bytesPerSecond != nil else {
            throw c.fail("producer '\(name)' needs 'recordsPerSecond' or 'bytesPerSecond'")
        }
        if let b = batchSize, !(1...500).contains(b) {
            throw c.fail("producer '\(name)': batchSize must be 1…500 (PutRecords takes at most 500 records)")
        }
        var kind = PayloadKind.random
        switch payload ?? "random" {
        case "random": break
        case "json":
            let rate = errorRate ?? 0.01
            guard rate.isFinite, (0...1).contains(rate) else {
                throw c.fail("producer '\(name)': errorRate must be between 0 and 1")
            }
            kind = .jsonEvents(errorRate: rate)
        case let other: throw c.fail("producer '\(name)': unknown payload '\(other)' (random, json)")
        }
        var config = ProducerConfig(
            name: name, stream: stream ?? defaultStream, recordsPerSecond: recordsPerSecond ?? 0,
            keys: try keys.model(c),
            size: try size?.model(c) ?? .fixed(512), batchSize: batchSize ?? 500, maxRetries: maxRetries ?? 3,
            backoffBase: fromMillis(backoffMillis ?? 100), bytesPerSecond: bytesPerSecond,
            maxBatchBytes: maxBatchBytes ?? 5_242_880, linger: fromMillis(lingerMillis ?? 0),
            aggregation: aggregation.map {
                AggregationConfig(
                    maxBytes: $0.maxBytes ?? KPLAggregation.defaultMaxBytes, maxRecords: $0.maxRecords ?? 1_000)
            })
        config.payload = kind
        return config
    }
}

struct KCLSpec: Codable {
    var name: String
    var workers: [String]
    var initialPosition: String?
    var timestampSeconds: Double?
    var failoverSeconds: Double?, idleMillis: Double?, checkpointSeconds: Double?, shardSyncSeconds: Double?
    var maxRecords: Int?

    init(_ k: KCLConfig) {
        name = k.name
        workers = k.workers
        switch k.initialPosition {
        case .latest: initialPosition = "LATEST"
        case .trimHorizon: initialPosition = "TRIM_HORIZON"
        case .atTimestamp(let t):
            initialPosition = "AT_TIMESTAMP"
            timestampSeconds = t.secondsSinceEpochDouble
        }
        failoverSeconds = secs(k.failoverTime)
        idleMillis = millis(k.idleTimeBetweenReads)
        checkpointSeconds = secs(k.checkpointInterval)
        shardSyncSeconds = secs(k.shardSyncInterval)
        maxRecords = k.maxRecords
    }

    func model(_ c: ScenarioFile.Context, stream: String) throws -> KCLConfig {
        let start: StartPosition
        switch initialPosition ?? "TRIM_HORIZON" {
        case "LATEST": start = .latest
        case "TRIM_HORIZON": start = .trimHorizon
        case "AT_TIMESTAMP":
            guard let t = timestampSeconds else {
                throw c.fail("KCL application '\(name)': AT_TIMESTAMP needs 'timestampSeconds' (epoch seconds)")
            }
            start = .atTimestamp(Instant(secondsSinceEpoch: t))
        case let other:
            throw c.fail(
                "KCL application '\(name)': unknown initialPosition '\(other)' (LATEST, TRIM_HORIZON, AT_TIMESTAMP)")
        }
        return KCLConfig(
            name: name, stream: stream, workers: workers, initialPosition: start,
            failoverTime: fromSecs(failoverSeconds ?? 10), idleTimeBetweenReads: fromMillis(idleMillis ?? 1_000),
            checkpointInterval: fromSecs(checkpointSeconds ?? 5), shardSyncInterval: fromSecs(shardSyncSeconds ?? 10),
            maxRecords: maxRecords ?? 10_000)
    }
}

struct ActionSpec: Codable {
    var action: String
    var producer: String?, recordsPerSecond: Double?, bytesPerSecond: Double?, overSeconds: Double?
    var keys: KeysSpec?, size: SizeSpec?, spec: ProducerSpec?, kcl: KCLSpec?
    var name: String?, start: String?, timestampSeconds: Double?, pollMillis: Double?
    var application: String?, worker: String?
    var shardId: String?, hashKey: String?, adjacentShardId: String?, count: Int?
    /// setFaults: a `--faults` spec, or "off".
    var faults: String?

    init(action: String) { self.action = action }

    init(_ a: PhaseAction) {
        switch a {
        case .setRate(let p, let r):
            action = "setRate"
            producer = p
            recordsPerSecond = r
        case .setByteRate(let p, let b):
            action = "setByteRate"
            producer = p
            bytesPerSecond = b
        case .ramp(let p, let r, let over):
            action = "ramp"
            producer = p
            recordsPerSecond = r
            overSeconds = secs(over)
        case .setKeys(let p, let k):
            action = "setKeys"
            producer = p
            keys = KeysSpec(k)
        case .setSize(let p, let s):
            action = "setSize"
            producer = p
            size = SizeSpec(s)
        case .addProducer(let c):
            action = "addProducer"
            spec = ProducerSpec(c)
        case .removeProducer(let p):
            action = "removeProducer"
            producer = p
        case .addPollingConsumer(let n, let s, let i):
            action = "addPollingConsumer"
            name = n
            pollMillis = millis(i)
            switch s {
            case .latest: start = "LATEST"
            case .trimHorizon: start = "TRIM_HORIZON"
            case .atOffset(let d):
                start = "AT_TIMESTAMP"
                timestampSeconds = secs(d)
            }
        case .addFanOutConsumer(let n):
            action = "addFanOutConsumer"
            name = n
        case .removeConsumer(let n):
            action = "removeConsumer"
            name = n
        case .addKCLApplication(let k):
            action = "addKCLApplication"
            kcl = KCLSpec(k)
        case .addKCLWorker(let app, let w):
            action = "addKCLWorker"
            application = app
            worker = w
        case .removeKCLWorker(let app, let w):
            action = "removeKCLWorker"
            application = app
            worker = w
        case .splitShard(let s, let p):
            action = "splitShard"
            shardId = s
            if case .hashKey(let k) = p { hashKey = k }
        case .mergeShards(let a, let b):
            action = "mergeShards"
            shardId = a
            adjacentShardId = b
        case .updateShardCount(let n):
            action = "updateShardCount"
            count = n
        case .setFaults(let spec):
            action = "setFaults"
            faults = spec ?? "off"
        }
    }

    func model(_ c: ScenarioFile.Context, stream: String) throws -> PhaseAction {
        func need<T>(_ v: T?, _ field: String) throws -> T {
            guard let v else { throw c.fail("action '\(action)' needs '\(field)'") }
            return v
        }
        switch action {
        case "setRate":
            return .setRate(
                producer: try need(producer, "producer"),
                recordsPerSecond: try need(recordsPerSecond, "recordsPerSecond"))
        case "setByteRate":
            return .setByteRate(
                producer: try need(producer, "producer"), bytesPerSecond: try need(bytesPerSecond, "bytesPerSecond"))
        case "ramp":
            return .ramp(
                producer: try need(producer, "producer"),
                recordsPerSecond: try need(recordsPerSecond, "recordsPerSecond"),
                over: fromSecs(try need(overSeconds, "overSeconds")))
        case "setKeys": return .setKeys(producer: try need(producer, "producer"), keys: try need(keys, "keys").model(c))
        case "setSize": return .setSize(producer: try need(producer, "producer"), size: try need(size, "size").model(c))
        case "addProducer": return .addProducer(try need(spec, "spec").model(c, stream: stream))
        case "removeProducer": return .removeProducer(try need(producer, "producer"))
        case "addPollingConsumer":
            let s: ScenarioStart
            switch start ?? "LATEST" {
            case "LATEST": s = .latest
            case "TRIM_HORIZON": s = .trimHorizon
            case "AT_TIMESTAMP":
                s = .atOffset(fromSecs(try need(timestampSeconds, "timestampSeconds (seconds since the run started)")))
            case let other: throw c.fail("unknown start '\(other)' (LATEST, TRIM_HORIZON, AT_TIMESTAMP)")
            }
            return .addPollingConsumer(
                name: try need(name, "name"), start: s, pollInterval: fromMillis(pollMillis ?? 200))
        case "addFanOutConsumer": return .addFanOutConsumer(try need(name, "name"))
        case "removeConsumer": return .removeConsumer(try need(name, "name"))
        case "addKCLApplication": return .addKCLApplication(try need(kcl, "kcl").model(c, stream: stream))
        case "addKCLWorker":
            return .addKCLWorker(application: try need(application, "application"), worker: try need(worker, "worker"))
        case "removeKCLWorker":
            return .removeKCLWorker(
                application: try need(application, "application"), worker: try need(worker, "worker"))
        case "splitShard":
            return .splitShard(shardId: try need(shardId, "shardId"), at: hashKey.map { .hashKey($0) } ?? .midpoint)
        case "mergeShards":
            return .mergeShards(
                shardId: try need(shardId, "shardId"), adjacentShardId: try need(adjacentShardId, "adjacentShardId"))
        case "updateShardCount": return .updateShardCount(try need(count, "count"))
        case "setFaults":
            let spec = try need(faults, "faults (a --faults spec such as record-failure=0.1, or off)")
            if spec == "off" { return .setFaults(nil) }
            // A bad spec fails the load, not the run halfway through.
            do { _ = try FaultPlan.parse(spec) } catch { throw c.fail("action 'setFaults': \(error)") }
            return .setFaults(spec)
        default:
            throw c.fail(
                "unknown action '\(action)' (setRate, setByteRate, ramp, setKeys, setSize, addProducer, "
                    + "removeProducer, addPollingConsumer, addFanOutConsumer, removeConsumer, addKCLApplication, "
                        + "addKCLWorker, removeKCLWorker, splitShard, mergeShards, updateShardCount, setFaults)"
            )
        }
    }
}

struct QuerySpec: Codable {
    var metric: String
    var subject: String?
    var from: Int?
    var to: Int?
    init(_ q: MetricQuery) {
        metric = q.metric.rawValue
        subject = q.subject
        from = q.from
        to = q.to
    }
    func model(_ c: ScenarioFile.Context) throws -> MetricQuery {
        guard let m = ScenarioMetric(rawValue: metric) else {
            throw c.fail(
                "unknown metric '\(metric)' (\(ScenarioMetric.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return MetricQuery(m, subject, from: from ?? 0, to: to)
    }
}

struct ExpectationSpec: Codable {
    var description: String
    var metric: String
    var subject: String?
    var from: Int?
    var to: Int?
    var comparison: String
    var value: Double
    var relativeTo: QuerySpec?

    init(_ e: Expectation) {
        description = e.description
        metric = e.query.metric.rawValue
        subject = e.query.subject
        from = e.query.from
        to = e.query.to
        comparison = e.comparison.rawValue
        value = e.value
        relativeTo = e.relativeTo.map(QuerySpec.init)
    }

    func model(_ c: ScenarioFile.Context) throws -> Expectation {
        guard let cmp = Expectation.Comparison(rawValue: comparison) else {
            throw c.fail(
                "expectation '\(description)': unknown comparison '\(comparison)' (atLeast, atMost, equal, "
                    + "greaterThan, lessThan)"
            )
        }
        let q = try QuerySpec(metric: metric, subject: subject, from: from, to: to).model(c)
        return Expectation(description, q, cmp, value, relativeTo: try relativeTo?.model(c))
    }
}

extension QuerySpec {
    init(metric: String, subject: String?, from: Int?, to: Int?) {
        self.metric = metric
        self.subject = subject
        self.from = from
        self.to = to
    }
}

struct PhaseSpec: Codable {
    var name: String
    var atSeconds: Double
    var actions: [ActionSpec]?
    var narration: [String]?
    init(_ p: Phase) {
        name = p.name
        atSeconds = secs(p.at)
        actions = p.actions.map(ActionSpec.init)
        narration = p.narration
    }
}

struct ScenarioSpec: Codable {
    struct StreamSpec: Codable {
        var name: String
        var shards: Int?
        var mode: String?
    }
    struct EngineSpec: Codable {
        var onDemandSustainSeconds: Int?
        var onDemandSplitThresholdBytesPerSecond: Int?
    }
    var name: String
    var summary: String?
    var seed: UInt64?
    var durationSeconds: Double?
    var stream: StreamSpec
    var engine: EngineSpec?
    var narration: [String]?
    var producers: [ProducerSpec]?
    var pollingConsumers: [String]?
    var fanOutConsumers: [String]?
    var kcl: [KCLSpec]?
    var phases: [PhaseSpec]?
    var expectations: [ExpectationSpec]?
    var deliveryStreams: [DeliveryStreamSpec]?
    var queries: [SQLQuerySpec]?

    struct DeliveryStreamSpec: Codable {
        var name: String
        var sizeInMBs: Int?
        var intervalInSeconds: Int?
        var compression: String?
        func model(_ c: ScenarioFile.Context) throws -> DeliveryStreamSetup {
            let size = sizeInMBs ?? 5
            let interval = intervalInSeconds ?? 300
            guard (1...128).contains(size) else {
                throw c.fail("delivery stream '\(name)': sizeInMBs must be 1 to 128 (Firehose's BufferingHints)")
            }
            guard (0...900).contains(interval) else {
                throw c.fail(
                    "delivery stream '\(name)': intervalInSeconds must be 0 to 900 (Firehose's BufferingHints)")
            }
            let format = compression ?? "UNCOMPRESSED"
            guard ["UNCOMPRESSED", "GZIP", "ZIP"].contains(format) else {
                throw c.fail("delivery stream '\(name)': compression must be UNCOMPRESSED, GZIP or ZIP")
            }
            return DeliveryStreamSetup(name: name, sizeInMBs: size, intervalInSeconds: interval, compression: format)
        }
    }
    struct SQLQuerySpec: Codable {
        var name: String
        var sql: String
        var window: String?
    }

    init(_ s: Scenario) {
        name = s.name
        summary = s.summary
        seed = s.seed
        durationSeconds = s.duration.map(secs)
        stream = StreamSpec(name: s.stream.name, shards: s.stream.shardCount, mode: s.stream.mode.rawValue)
        engine =
            s.engine == ScenarioEngineSettings()
            ? nil
            : EngineSpec(
                onDemandSustainSeconds: s.engine.onDemandSustainSeconds,
                onDemandSplitThresholdBytesPerSecond: s.engine.onDemandSplitThresholdBytesPerSecond)
        narration = s.narration
        producers = s.producers.map(ProducerSpec.init)
        pollingConsumers = s.pollingConsumers
        fanOutConsumers = s.fanOutConsumers
        kcl = s.kclApplications.map(KCLSpec.init)
        phases = s.phases.map(PhaseSpec.init)
        expectations = s.expectations.map(ExpectationSpec.init)
        deliveryStreams =
            s.deliveryStreams.isEmpty
            ? nil
            : s.deliveryStreams.map {
                DeliveryStreamSpec(
                    name: $0.name, sizeInMBs: $0.sizeInMBs, intervalInSeconds: $0.intervalInSeconds,
                    compression: $0.compression)
            }
        queries =
            s.queries.isEmpty ? nil : s.queries.map { SQLQuerySpec(name: $0.name, sql: $0.sql, window: $0.window) }
    }

    func model(_ c: ScenarioFile.Context) throws -> Scenario {
        let mode: StreamMode
        switch stream.mode ?? "PROVISIONED" {
        case "PROVISIONED": mode = .provisioned
        case "ON_DEMAND": mode = .onDemand
        case let other: throw c.fail("unknown stream mode '\(other)' (PROVISIONED, ON_DEMAND)")
        }
        let shards = stream.shards ?? 4
        guard shards >= 1 else { throw c.fail("stream.shards must be at least 1") }
        let producers = try (self.producers ?? []).map { try $0.model(c, stream: stream.name) }
        let names = producers.map(\.name) + (pollingConsumers ?? []) + (fanOutConsumers ?? []) + (kcl ?? []).map(\.name)
        if let dup = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw c.fail("the name '\(dup)' is used twice (producers and consumers need distinct names)")
        }
        var scenario = Scenario(
            name: name, summary: summary ?? "",
            stream: Scenario.StreamSetup(name: stream.name, shardCount: shards, mode: mode),
            producers: producers, pollingConsumers: pollingConsumers ?? [], fanOutConsumers: fanOutConsumers ?? [],
            narration: narration ?? [], kclApplications: try (kcl ?? []).map { try $0.model(c, stream: stream.name) },
            phases: try (phases ?? []).map { p in
                Phase(
                    name: p.name, at: fromSecs(p.atSeconds),
                    actions: try (p.actions ?? []).map { try $0.model(c, stream: stream.name) },
                    narration: p.narration ?? [])
            },
            expectations: try (expectations ?? []).map { try $0.model(c) },
            duration: durationSeconds.map(fromSecs),
            engine: ScenarioEngineSettings(
                onDemandSustainSeconds: engine?.onDemandSustainSeconds,
                onDemandSplitThresholdBytesPerSecond: engine?.onDemandSplitThresholdBytesPerSecond),
            seed: seed)
        scenario.deliveryStreams = try (deliveryStreams ?? []).map { try $0.model(c) }
        scenario.queries = (queries ?? []).map { QuerySetup(name: $0.name, sql: $0.sql, window: $0.window) }
        return scenario
    }
}
