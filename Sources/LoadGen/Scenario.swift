import StreamEngine

/// A story told with load: a stream, producers and consumers, and the lines
/// the dashboard narrates. Built-ins are listed by `ktop scenarios`.
public struct Scenario: Sendable {
    public struct StreamSetup: Sendable {
        public var name: String
        public var shardCount: Int
        public var mode: StreamMode
        public init(name: String, shardCount: Int, mode: StreamMode = .provisioned) {
            self.name = name; self.shardCount = shardCount; self.mode = mode
        }
    }
    public var name: String
    public var summary: String
    public var stream: StreamSetup
    public var producers: [ProducerConfig]
    public var pollingConsumers: [String]
    public var fanOutConsumers: [String]
    public var narration: [String]

    /// The scenario `ktop` runs with no arguments: a lively 4-shard stream with
    /// mild skew (zipf keys make one shard warmer than the rest), one polling
    /// and one enhanced fan-out consumer.
    public static let demo = Scenario(
        name: "demo",
        summary: "A lively 4-shard stream with mild key skew, one polling and one enhanced fan-out consumer",
        stream: StreamSetup(name: "demo", shardCount: 4),
        producers: [
            ProducerConfig(name: "web", stream: "demo", recordsPerSecond: 900, keys: .zipf(count: 2_000, s: 0.9), size: .uniform(200...1_200)),
            ProducerConfig(name: "mobile", stream: "demo", recordsPerSecond: 600, keys: .uniform(count: 10_000), size: .uniform(100...600), batchSize: 100),
            ProducerConfig(name: "billing", stream: "demo", recordsPerSecond: 40, keys: .uniform(count: 50), size: .fixed(2_048), batchSize: 1),
        ],
        pollingConsumers: ["analytics"],
        fanOutConsumers: ["alerts"],
        narration: [
            "Three producers write to 4 shards; zipf-distributed user keys make some shards warmer than others.",
            "'analytics' polls GetRecords and shares each shard's 2 MiB/s; 'alerts' has its own 2 MiB/s pipe per shard.",
        ])

    public static let builtIns: [Scenario] = [.demo]

    public static func named(_ name: String) -> Scenario? { builtIns.first { $0.name == name } }
}

/// Runs a scenario against a Kinesis client: creates its stream, then on
/// every `step(now:)` lets each producer and consumer do what is due.
/// Single-threaded and deterministic for a given seed and step sequence.
public final class LoadRunner: @unchecked Sendable {
    public let scenario: Scenario
    public private(set) var producers: [Producer] = []
    public private(set) var pollingConsumers: [PollingConsumer] = []
    public private(set) var fanOutConsumers: [FanOutConsumer] = []
    private let client: any KinesisClient
    private var streamReady = false
    public private(set) var setupError: KinesisError?

    public init(scenario: Scenario, client: any KinesisClient, seed: UInt64) {
        self.scenario = scenario
        self.client = client
        var rng = SeededRandom(seed: seed)
        producers = scenario.producers.map { Producer(config: $0, client: client, seed: rng.next()) }
        pollingConsumers = scenario.pollingConsumers.map { PollingConsumer(name: $0, stream: scenario.stream.name, client: client) }
        fanOutConsumers = scenario.fanOutConsumers.map { FanOutConsumer(name: $0, stream: scenario.stream.name, client: client) }
    }

    /// Creates the scenario's stream unless it already exists.
    public func setUp() {
        let s = scenario.stream
        do {
            _ = try client.createStream(CreateStreamInput(
                streamName: s.name, shardCount: s.mode == .onDemand ? nil : s.shardCount,
                streamModeDetails: StreamModeDetails(streamMode: s.mode)))
        } catch where error.type == .resourceInUse {
            // Already there (e.g. a second ktop attached to the same server): use it.
        } catch {
            setupError = error
        }
    }

    public func step(now: Instant) {
        if !streamReady {
            let status = try? client.describeStreamSummary(StreamInput(streamName: scenario.stream.name)).streamDescriptionSummary.streamStatus
            guard status == .active else { return }
            streamReady = true
            for p in producers { p.step(now: now) } // starts their clocks
        }
        for p in producers { p.step(now: now) }
        for c in pollingConsumers { c.step(now: now) }
        for c in fanOutConsumers { c.step(now: now) }
    }
}
