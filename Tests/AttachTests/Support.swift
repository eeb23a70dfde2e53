import Foundation
import Testing
import LoadGen
import Metrics
import StreamEngine
@testable import Attach

/// An engine on a manual clock (status changes immediate, AWS quotas), and helpers
/// to write to it and to step a watcher second by second.
struct Rig {
    let clock: ManualClock
    let engine: KinesisEngine
    let k: KinesisService

    init(limits: KinesisLimits = .aws, delays: StatusDelays = .immediate) {
        var c = EngineConfiguration()
        c.delays = delays
        c.limits = limits
        clock = ManualClock()
        engine = KinesisEngine(clock: clock, configuration: c)
        k = engine.service()
    }

    var now: Instant { clock.now() }

    func create(_ name: String = "s", shards: Int) throws {
        _ = try k.createStream(CreateStreamInput(streamName: name, shardCount: shards))
    }

    func watcher(_ stream: String = "s", client: (any AttachClient)? = nil, maxReads: Int = 20,
                 configure: (inout WatchOptions) -> Void = { _ in }) -> StreamWatcher {
        var o = WatchOptions(stream: stream, endpoint: "embedded", maxReadsPerSecond: maxReads)
        configure(&o)
        return StreamWatcher(client: client ?? k, options: o)
    }

    /// Writes `count` records under `key` in PutRecords calls of at most 500.
    func put(_ stream: String = "s", key: String, count: Int, size: Int = 10) throws {
        var left = count
        while left > 0 {
            let n = min(left, 500)
            let out = try k.putRecords(PutRecordsInput(
                records: (0..<n).map { _ in
                    PutRecordsRequestEntry(data: Data(repeating: 0x61, count: size), partitionKey: key)
                },
                streamName: stream))
            #expect(out.failedRecordCount == 0, "throttled writes would make the expected counts wrong")
            left -= n
        }
    }

    /// Steps the watcher every `every` for `seconds`, calling `each` first at each whole second.
    func run(_ w: StreamWatcher, seconds: Int, every: Duration = .seconds(1)) {
        run(w, seconds: seconds, every: every) { (_: Int) in }
    }

    func run(_ w: StreamWatcher, seconds: Int, every: Duration = .seconds(1), each: (Int) throws -> Void) rethrows {
        let stepsPerSecond = max(1, Int(Duration.seconds(1).nanoseconds / every.nanoseconds))
        for i in 0..<seconds {
            try each(i)
            for _ in 0..<stepsPerSecond {
                w.step(now: now)
                clock.advance(by: every)
            }
        }
    }

    /// The engine's own view of a stream's shards (exact counters).
    func truth(_ stream: String = "s") -> [String: ShardSample] {
        let s = engine.sample().streams.first { $0.name == stream }!
        return Dictionary(uniqueKeysWithValues: s.shards.map { ($0.shardId, $0) })
    }

    /// The open shard whose range holds `key`'s MD5.
    func shard(of key: String, _ stream: String = "s") -> String {
        let h = HashKey.of(partitionKey: key)
        return truth(stream).values.first { $0.isOpen && $0.startingHashKey <= h && h <= $0.endingHashKey }!.shardId
    }
}

extension StreamSample {
    func shard(_ id: String) -> ShardSample? { shards.first { $0.shardId == id } }
}

/// A client that forwards to the engine and records every call (operation, time,
/// and the shard an iterator belongs to), and can be told to fail calls.
final class RecordingClient: AttachClient, @unchecked Sendable {
    // @unchecked: every field is guarded by `lock`; tests step the watcher on one thread.
    struct Call: Equatable { var op: String; var time: Instant; var shard: String?; var detail: String? }

    let inner: KinesisService
    let clock: ManualClock
    private let lock = NSLock()
    private var _calls: [Call] = []
    private var shardOfIterator: [String: String] = [:]
    /// Returns the error to throw instead of making a call, or nil to make it.
    var fault: (_ op: String, _ shard: String?) -> KinesisError? = { _, _ in nil }
    /// Rewrites GetRecords replies (arrival timestamps …).
    var rewrite: (GetRecordsOutput) -> GetRecordsOutput = { $0 }
    /// Replaces ListShards replies.
    var listing: ((ListShardsOutput) -> ListShardsOutput)?

    init(_ inner: KinesisService, clock: ManualClock) { self.inner = inner; self.clock = clock }

    var calls: [Call] { lock.withLock { _calls } }
    func calls(_ op: String) -> [Call] { calls.filter { $0.op == op } }

    private func log(_ op: String, shard: String? = nil, detail: String? = nil) throws(KinesisError) {
        let f = lock.withLock { () -> KinesisError? in
            _calls.append(Call(op: op, time: clock.now(), shard: shard, detail: detail))
            return fault(op, shard)
        }
        if let f { throw f }
    }

    func createStream(_ input: CreateStreamInput) throws(KinesisError) -> EmptyOutput { try inner.createStream(input) }
    func describeStreamSummary(_ input: StreamInput) throws(KinesisError) -> DescribeStreamSummaryOutput {
        try log("DescribeStreamSummary")
        return try inner.describeStreamSummary(input)
    }
    func listShards(_ input: ListShardsInput) throws(KinesisError) -> ListShardsOutput {
        try log("ListShards")
        let out = try inner.listShards(input)
        return listing.map { $0(out) } ?? out
    }
    func listStreams(_ input: ListStreamsInput) throws(KinesisError) -> ListStreamsOutput {
        try log("ListStreams")
        return try inner.listStreams(input)
    }
    func listStreamConsumers(_ input: ListStreamConsumersInput) throws(KinesisError) -> ListStreamConsumersOutput {
        try log("ListStreamConsumers")
        return try inner.listStreamConsumers(input)
    }
    func putRecord(_ input: PutRecordInput) throws(KinesisError) -> PutRecordOutput { try inner.putRecord(input) }
    func putRecords(_ input: PutRecordsInput) throws(KinesisError) -> PutRecordsOutput { try inner.putRecords(input) }
    func getShardIterator(_ input: GetShardIteratorInput) throws(KinesisError) -> GetShardIteratorOutput {
        try log("GetShardIterator", shard: input.shardId, detail: input.shardIteratorType?.rawValue)
        let out = try inner.getShardIterator(input)
        lock.withLock { shardOfIterator[out.shardIterator] = input.shardId }
        return out
    }
    func getRecords(_ input: GetRecordsInput) throws(KinesisError) -> GetRecordsOutput {
        let shard = lock.withLock { input.shardIterator.flatMap { shardOfIterator[$0] } }
        try log("GetRecords", shard: shard)
        let out = rewrite(try inner.getRecords(input))
        if let next = out.nextShardIterator, let shard { lock.withLock { shardOfIterator[next] = shard } }
        return out
    }
    func registerStreamConsumer(_ input: RegisterStreamConsumerInput)
    throws(KinesisError) -> RegisterStreamConsumerOutput {
        try log("RegisterStreamConsumer", detail: input.consumerName)
        return try inner.registerStreamConsumer(input)
    }
    func describeStreamConsumer(_ input: StreamConsumerInput) throws(KinesisError) -> DescribeStreamConsumerOutput {
        try log("DescribeStreamConsumer")
        return try inner.describeStreamConsumer(input)
    }
    func deregisterStreamConsumer(_ input: StreamConsumerInput) throws(KinesisError) -> EmptyOutput {
        try log("DeregisterStreamConsumer")
        return try inner.deregisterStreamConsumer(input)
    }
    func subscribe(_ input: SubscribeToShardInput) throws(KinesisError) -> any FanOutSubscription {
        try log("SubscribeToShard", shard: input.shardId, detail: input.startingPosition?.type?.rawValue)
        return try inner.subscribe(input)
    }
}

/// The transport failure KinesisHTTPClient throws when the endpoint is down.
let unreachable = KinesisError(.internalFailure, "cannot reach http://127.0.0.1:1: connection refused")

extension Duration {
    static func minutes(_ m: Int64) -> Duration { .seconds(m * 60) }
}
