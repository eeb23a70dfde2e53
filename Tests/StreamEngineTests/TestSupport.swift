import Foundation
import Testing

@testable import StreamEngine

/// The default account of `EngineConfiguration`, as Kinesis quotes it in messages.
let account = "123456789012"
/// 2^128 − 1, the top of the hash key space.
let maxHash = "340282366920938463463374607431768211455"
let MiB = 1_048_576

/// One engine on a manual clock, with its default-account service.
struct Harness {
    let clock: ManualClock
    let engine: KinesisEngine
    let k: KinesisService

    init(
        limits: KinesisLimits = .aws, delays: StatusDelays = .immediate, start: Instant? = nil,
        configure: (inout EngineConfiguration) -> Void = { _ in }
    ) {
        var config = EngineConfiguration()
        config.limits = limits
        config.delays = delays
        configure(&config)
        clock = start.map { ManualClock(start: $0) } ?? ManualClock()
        engine = KinesisEngine(clock: clock, configuration: config)
        k = engine.service()
    }

    /// A harness around an engine made elsewhere (an engine opened on a data directory).
    init(clock: ManualClock, engine: KinesisEngine) {
        self.clock = clock
        self.engine = engine
        k = engine.service()
    }

    var now: Instant { clock.now() }

    func advance(_ d: Duration) { clock.advance(by: d) }
    func advance(seconds s: Double) { clock.advance(by: .nanoseconds(Int64((s * 1e9).rounded()))) }
    func advance(ms: Int64) { clock.advance(by: .milliseconds(ms)) }

    /// Creates a provisioned stream and waits (on the clock) until it is ACTIVE.
    @discardableResult
    func stream(_ name: String = "s", shards: Int = 1) throws(KinesisError) -> String {
        _ = try k.createStream(CreateStreamInput(streamName: name, shardCount: shards))
        if engine.configuration.delays.create > .zero { clock.advance(by: engine.configuration.delays.create) }
        return "arn:aws:kinesis:us-east-1:\(account):stream/\(name)"
    }

    func put(
        _ stream: String = "s", data: Data = Data("x".utf8), key: String = "pk", hash: String? = nil
    ) throws(KinesisError) -> PutRecordOutput {
        try k.putRecord(PutRecordInput(streamName: stream, data: data, partitionKey: key, explicitHashKey: hash))
    }

    func iterator(
        _ stream: String = "s", shard: String = "shardId-000000000000", _ type: ShardIteratorType = .trimHorizon,
        sequence: String? = nil, timestamp: Date? = nil
    ) throws(KinesisError) -> String {
        try k.getShardIterator(
            GetShardIteratorInput(
                streamName: stream, shardId: shard, shardIteratorType: type,
                startingSequenceNumber: sequence, timestamp: timestamp)
        ).shardIterator
    }

    func get(_ iterator: String, limit: Int? = nil) throws(KinesisError) -> GetRecordsOutput {
        try k.getRecords(GetRecordsInput(shardIterator: iterator, limit: limit))
    }

    func status(_ stream: String = "s") throws(KinesisError) -> StreamStatus {
        try k.describeStreamSummary(StreamInput(streamName: stream)).streamDescriptionSummary.streamStatus
    }

    /// Every shard of DescribeStream, following `HasMoreShards`.
    func describeAllShards(_ stream: String = "s") throws(KinesisError) -> [Shard] {
        var shards: [Shard] = []
        var after: String?
        while true {
            let d = try k.describeStream(DescribeStreamInput(streamName: stream, exclusiveStartShardId: after))
                .streamDescription
            shards += d.shards
            guard d.hasMoreShards, let last = d.shards.last else { return shards }
            after = last.shardId
        }
    }

    /// Every shard of ListShards with a filter, following `NextToken`.
    func listAllShards(_ stream: String = "s", filter: ShardFilter? = nil) throws(KinesisError) -> [Shard] {
        var out = try k.listShards(ListShardsInput(streamName: stream, shardFilter: filter))
        var shards = out.shards
        while let token = out.nextToken {
            out = try k.listShards(ListShardsInput(nextToken: token))
            shards += out.shards
        }
        return shards
    }

    /// Reads one shard from an iterator until its end (closed) or until caught up (open).
    /// Returns the records and the child shards reported at the end, if any.
    /// Like a polite consumer, it backs off (on the clock) when read-throttled.
    func drain(_ iterator: String) throws(KinesisError) -> (records: [Record], children: [ChildShard]?) {
        var records: [Record] = []
        var it: String? = iterator
        while let current = it {
            let out: GetRecordsOutput
            do { out = try get(current) } catch  where error.type == .provisionedThroughputExceeded {
                clock.advance(by: .milliseconds(200))
                continue
            }
            records += out.records
            if out.nextShardIterator == nil { return (records, out.childShards ?? []) }
            if out.records.isEmpty { return (records, nil) }
            it = out.nextShardIterator
        }
        return (records, nil)
    }

    /// Every record of a stream, read by walking lineage from TRIM_HORIZON of the
    /// root shards through ChildShards (each shard read once), keyed by shard id.
    func readByLineage(_ stream: String = "s", roots: [String]) throws(KinesisError) -> [String: [Record]] {
        var queue = roots
        var seen = Set(roots)
        var out: [String: [Record]] = [:]
        while !queue.isEmpty {
            let shard = queue.removeFirst()
            let (records, children) = try drain(try iterator(stream, shard: shard, .trimHorizon))
            out[shard] = records
            for c in children ?? [] where !seen.contains(c.shardId) {
                seen.insert(c.shardId)
                queue.append(c.shardId)
            }
        }
        return out
    }
}

/// Runs `body`, expecting a KinesisError of `type` (and `message`, when given).
@discardableResult
func expectError<T>(
    _ type: KinesisErrorType, _ message: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(KinesisError) -> T
) -> KinesisError? {
    do {
        _ = try body()
        Issue.record(
            "expected \(type.rawValue)\(message.map { ": " + $0 } ?? "") but the call succeeded",
            sourceLocation: sourceLocation)
        return nil
    } catch {
        #expect(error.type == type, "\(error)", sourceLocation: sourceLocation)
        if let message { #expect(error.message == message, sourceLocation: sourceLocation) }
        return error
    }
}

/// Expects a Coral-style ValidationException listing exactly `errors`.
func expectValidation<T>(
    _ errors: [String], sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(KinesisError) -> T
) {
    let n = errors.count
    let message = "\(n) validation error\(n > 1 ? "s" : "") detected: " + errors.joined(separator: "; ")
    expectError(.validation, message, sourceLocation: sourceLocation, body)
}

/// What the memory budget counts for one record of `dataCount` payload bytes under `key`.
func resident(_ dataCount: Int, key: String = "pk") -> Int {
    StoredRecord.residentBytes(dataCount: dataCount, keyUTF8Count: key.utf8.count)
}

/// SplitMix64: a tiny seeded generator so property tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uint128() -> UInt128 { UInt128(next()) << 64 | UInt128(next()) }
    /// Uniform-enough value in `range` (modulo bias is irrelevant here).
    mutating func uint128(in range: ClosedRange<UInt128>) -> UInt128 {
        let span = range.upperBound - range.lowerBound
        if span == UInt128.max { return uint128() }
        return range.lowerBound + uint128() % (span + 1)
    }
}

extension Shard {
    var start: UInt128 { UInt128(hashKeyRange.startingHashKey)! }
    var end: UInt128 { UInt128(hashKeyRange.endingHashKey)! }
    var isOpen: Bool { sequenceNumberRange.endingSequenceNumber == nil }
}

/// Checks that `shards` tile 0…2^128−1 exactly: sorted, no gap, no overlap.
func expectCoversHashSpace(_ shards: [Shard], _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation)
{
    let sorted = shards.sorted { $0.start < $1.start }
    guard let first = sorted.first, let last = sorted.last else {
        Issue.record("no open shards \(context)", sourceLocation: sourceLocation)
        return
    }
    #expect(first.start == 0, "\(context)", sourceLocation: sourceLocation)
    #expect(last.end == UInt128.max, "\(context)", sourceLocation: sourceLocation)
    for (a, b) in zip(sorted, sorted.dropFirst()) where a.end == UInt128.max || a.end + 1 != b.start {
        Issue.record(
            "gap or overlap between \(a.shardId) [..\(a.end)] and \(b.shardId) [\(b.start)..] \(context)",
            sourceLocation: sourceLocation)
    }
    for s in sorted where s.start > s.end {
        Issue.record("\(s.shardId) has an empty range \(context)", sourceLocation: sourceLocation)
    }
}

func bytes(_ n: Int, _ fill: UInt8 = 0x61) -> Data { Data(repeating: fill, count: n) }

extension Duration {
    static func hours(_ h: Int64) -> Duration { .seconds(h * 3_600) }
    static func minutes(_ m: Int64) -> Duration { .seconds(m * 60) }
}
