import Foundation
import Testing

@testable import StreamEngine

/// Numbers a client sends at their extremes: each becomes a Kinesis answer,
/// never an overflow trap. The values are the ones a fuzzer used to stop
/// `ktop serve` with (issue: GetShardIterator `Timestamp` above 9.2e9 s,
/// CreateStream `ShardCount` 2^63) and their neighbours.
@Suite struct ClientNumberTests {
    /// Seconds since the epoch at and around every edge the conversions have:
    /// nanoseconds in Int64 (±9.22e9 s), microseconds (±9.22e12 s), milliseconds
    /// (±9.22e15 s), Int64 itself, and Double's own extremes.
    static let extremeSeconds: [Double] = [
        0, 1, -1, 1.5, 1e-300, -1e-300, .leastNonzeroMagnitude,
        9.2e9, 9.3e9, -9.3e9, 9_223_372_036.854775807, 9_223_372_037, -9_223_372_037,
        1e12, -1e12, 9.3e12, -9.3e12, 9.3e15, -9.3e15, 9.3e18, -9.3e18,
        0x1p63, -0x1p63, 0x1p64, 0x1p200, 1e300, -1e300,
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .nan,
    ]

    @Test(arguments: extremeSeconds)
    func instantFromAnyDateIsTotalAndOrdered(seconds: Double) {
        let t = Instant(Date(timeIntervalSince1970: seconds))
        if seconds.isNaN {
            #expect(t == .distantPast)
        } else if seconds >= 9.3e9 {
            #expect(t == .distantFuture)
        } else if seconds <= -9.3e9 {
            #expect(t == .distantPast)
        } else if abs(seconds) < 1e6 {
            #expect(abs(t.secondsSinceEpochDouble - seconds) < 1e-5)
        }
        #expect(Instant(secondsSinceEpoch: seconds) == t || abs(seconds) < 9.2e9)
    }

    @Test func saturatingArithmetic() {
        #expect(Int64(saturating: 1e300) == .max)
        #expect(Int64(saturating: -1e300) == .min)
        #expect(Int64(saturating: 0x1p63) == .max)
        #expect(Int64(saturating: -0x1p63) == .min)
        #expect(Int64(saturating: 0x1p62) == 1 << 62)
        #expect(Int64(saturating: .nan) == .min)
        #expect(Int64(saturating: 2.5) == 3)
        #expect(Int64.max.saturatingAdded(1) == .max)
        #expect(Int64.min.saturatingAdded(-1) == .min)
        #expect(Int64.min.saturatingSubtracted(1) == .min)
        #expect(Int64.max.saturatingSubtracted(-1) == .max)
        #expect(Int64.max.saturatingMultiplied(by: -2) == .min)
        #expect(Int64.min.saturatingMultiplied(by: -1) == .max)
        #expect(Instant.distantFuture + .seconds(1) == .distantFuture)
        #expect(Instant.distantPast - .seconds(1) == .distantPast)
        #expect(Instant.distantFuture - Instant.distantPast == .nanoseconds(Int64.max))
        #expect(Instant(millisecondsSinceEpoch: .max) == .distantFuture)
        #expect(Instant(millisecondsSinceEpoch: .min) == .distantPast)
        #expect(Duration.seconds(Int64.max).nanoseconds == .max)
        #expect(Duration.seconds(Int64.min).nanoseconds == .min)
    }

    @Test(arguments: extremeSeconds.filter { !$0.isNaN && $0.isFinite })
    func atTimestampAtAnyTimeIsAnIteratorOrTheFutureError(seconds: Double) throws {
        let h = Harness()
        try h.stream()
        _ = try h.put()
        let date = Date(timeIntervalSince1970: seconds)
        if Instant(date) > h.now {
            let e = expectError(.invalidArgument) { () throws(KinesisError) in
                try h.iterator("s", .atTimestamp, timestamp: date)
            }
            #expect(
                e?.message.hasPrefix(
                    "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis.") == true)
        } else {
            // Before the trim horizon: the iterator starts at the oldest record.
            let it = try h.iterator("s", .atTimestamp, timestamp: date)
            #expect(try h.get(it).records.count == 1)
        }
    }

    @Test(arguments: [ShardFilterType.atTimestamp, .fromTimestamp], [1e300, -1e300, 9.3e9, -9.3e9, 0x1p200])
    func listShardsTimestampFiltersAtAnyTime(type: ShardFilterType, seconds: Double) throws {
        let h = Harness()
        try h.stream(shards: 2)
        let shards = try h.listAllShards(
            "s", filter: ShardFilter(type: type, timestamp: Date(timeIntervalSince1970: seconds)))
        // Both shards are open: open shards match every timestamp filter.
        #expect(shards.map(\.shardId) == ["shardId-000000000000", "shardId-000000000001"])
    }

    @Test(arguments: [1e300, -1e300, 9.3e9, -9.3e9])
    func subscribeToShardAtAnyTimestamp(seconds: Double) throws {
        let h = Harness()
        let arn = try h.stream()
        let c = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c")).consumer
            .consumerARN
        let start = StartingPosition(type: .atTimestamp, timestamp: Date(timeIntervalSince1970: seconds))
        let input = SubscribeToShardInput(consumerARN: c, shardId: "shardId-000000000000", startingPosition: start)
        if seconds > 0 {
            expectError(.invalidArgument) { () throws(KinesisError) in try h.k.subscribeToShard(input) }
        } else {
            _ = try h.k.subscribeToShard(input)
        }
    }

    @Test(arguments: [Int.max, Int.max - 1, Int.max / 2 + 1, 20_001, 1 << 40])
    func createStreamWithAHugeShardCountIsTheShardLimit(count: Int) {
        let h = Harness()
        let e = expectError(.limitExceeded) { () throws(KinesisError) in
            try h.k.createStream(CreateStreamInput(streamName: "s", shardCount: count))
        }
        #expect(
            e?.message.contains("Number of additional shards that would have resulted from this request: \(count).")
                == true)
    }

    @Test(arguments: [Int.max, Int.max - 1, Int.max / 2 + 1, Int.max / 2, 9])
    func updateShardCountWithAHugeTargetIsRefused(target: Int) throws {
        let h = Harness()
        try h.stream(shards: 4)
        let e = expectError(.invalidArgument) { () throws(KinesisError) in
            try h.k.updateShardCount(
                UpdateShardCountInput(streamName: "s", targetShardCount: target, scalingType: .uniformScaling))
        }
        #expect(
            e?.message.hasPrefix("UpdateShardCount cannot scale up over double your current open shard count.") == true)
    }

    @Test(arguments: [(4, 1, false), (4, 2, true), (5, 2, false), (5, 3, true), (1, 1, true)])
    func updateShardCountHalvingBound(current: Int, target: Int, allowed: Bool) throws {
        let h = Harness()
        try h.stream(shards: current)
        let input = UpdateShardCountInput(streamName: "s", targetShardCount: target, scalingType: .uniformScaling)
        if allowed {
            _ = try h.k.updateShardCount(input)
        } else {
            expectError(.invalidArgument) { () throws(KinesisError) in try h.k.updateShardCount(input) }
        }
    }
}

/// The hand-written ARN matchers agree with a regex engine on every string
/// drawn, and stay linear on the crafted values that made the regex slow.
@Suite struct ARNPatternTests {
    static let templates = [
        "arn:aws:kinesis:us-east-1:123456789012:stream/s",
        "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c-1:1764000000",
        "arn:aws-cn:kinesis:x:123456789012:thing",
    ]
    static let pieces = [
        "arn", ":aws", ":kinesis:", ":", "123456789012", "1", "stream/", "/consumer/", "s", "/", " ",
        "\n", "\u{2028}", "é", ":0",
    ]

    /// Valid ARNs of each kind with a few random edits (insert a piece, cut a run,
    /// duplicate a run), so that both answers of every pattern are drawn often.
    @Test func agreesWithRegexOnRandomStrings() throws {
        var rng = SplitMix64(seed: 7)
        let patterns = [Validator.streamARNPattern, Validator.consumerARNPattern, Validator.resourceARNPattern]
        let regexes = try patterns.map { try Regex("^(?:\($0))$") }
        var answers = [[0, 0], [0, 0], [0, 0]]
        for _ in 0..<6_000 {
            var u = Array(Self.templates[Int(rng.next() % 3)].unicodeScalars)
            for _ in 0..<Int(rng.next() % 4) {
                let at = Int(rng.next() % UInt64(u.count + 1))
                switch rng.next() % 3 {
                case 0:
                    u.insert(
                        contentsOf: Self.pieces[Int(rng.next() % UInt64(Self.pieces.count))].unicodeScalars, at: at)
                case 1: u.removeSubrange(at..<min(u.count, at + Int(rng.next() % 6)))
                default: u.insert(contentsOf: u[at..<min(u.count, at + Int(rng.next() % 20))], at: at)
                }
            }
            var s = ""
            s.unicodeScalars.append(contentsOf: u)
            for (i, p) in patterns.enumerated() {
                let expected = s.wholeMatch(of: regexes[i]) != nil
                #expect(Validator.matches(s, p) == expected, "\(p) on \(s.debugDescription)")
                answers[i][expected ? 1 : 0] += 1
            }
        }
        // The draw reaches both answers for each pattern.
        #expect(answers.allSatisfy { $0[0] > 300 && $0[1] > 300 }, "\(answers)")
    }

    @Test func wellFormedARNs() {
        #expect(ARNPatterns.isStreamARN("arn:aws:kinesis:us-east-1:123456789012:stream/s"))
        #expect(!ARNPatterns.isStreamARN("arn:aws:kinesis:us-east-1:123456789012:stream/"))
        #expect(!ARNPatterns.isStreamARN("arn:aws:kinesis:us-east-1:123456789012:stream/a b"))
        #expect(ARNPatterns.isConsumerARN("arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1764000000"))
        #expect(!ARNPatterns.isConsumerARN("arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:"))
        #expect(ARNPatterns.isResourceARN("arn:aws:kinesis:us-east-1:123456789012:stream/s"))
        #expect(!ARNPatterns.isResourceARN("arn:aws:kinesis:us-east-1:12345678901:stream/s"))
    }

    @Test func craftedLongValuesAreAnswered() {
        // Each took 0.1–0.2 s through Swift's Regex; here they are one pass each.
        let crafted = [
            "arn:aws" + String(repeating: ":kinesis:", count: 227),
            "arn:aws:kinesis:" + String(repeating: ":123456789012", count: 150),
            "arn:aws" + String(repeating: ":kinesis:123456789012:stream/x/consumer/", count: 50),
            "arn:aws" + String(repeating: ":kinesis:", count: 100_000),
        ]
        for s in crafted {
            #expect(!ARNPatterns.isConsumerARN(s))
            _ = ARNPatterns.isStreamARN(s)
            _ = ARNPatterns.isResourceARN(s)
        }
        #expect(ARNPatterns.isResourceARN(crafted[1]))
    }
}
