import Foundation
import Testing

@testable import StreamEngine

/// Control-plane TPS and the account/stream quotas of KINESIS.md §3.
@Suite struct ControlPlaneQuotaTests {

    /// A control-plane operation with its TPS, and how to call it the i-th time.
    struct Op: CustomTestStringConvertible, Sendable {
        var name: String
        var tps: Int
        var perStream = false
        var testDescription: String { "\(name) \(tps)/s" }

        /// Prepares what `2 × tps + 2` calls need.
        func setUp(_ h: Harness) throws(KinesisError) {
            try h.stream("s", shards: 1)
            try h.stream("t", shards: 1)
            switch name {
            case "DecreaseStreamRetentionPeriod":
                _ = try h.k.increaseStreamRetentionPeriod(
                    StreamRetentionInput(streamName: "s", retentionPeriodHours: 100))
            case "MergeShards":
                _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 2))
                h.advance(.seconds(1))
                _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 4))
                h.advance(.seconds(1))
                _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 8))
                h.advance(.seconds(1))
                _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 16))
            case "DeleteStream":
                for i in 0..<12 {
                    try h.stream("d\(i)")
                    h.advance(.seconds(1))
                }
            case "DescribeStreamConsumer":
                _ = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn("s"), consumerName: "c"))
                _ = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn("t"), consumerName: "c"))
            case "DeregisterStreamConsumer":
                for i in 0..<12 {
                    _ = try h.k.registerStreamConsumer(
                        RegisterStreamConsumerInput(streamARN: arn("s"), consumerName: "c\(i)"))
                    h.advance(.seconds(1))
                }
                _ = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn("t"), consumerName: "c0"))
            default: break
            }
            h.advance(.seconds(2))  // every bucket full again
        }

        func arn(_ s: String) -> String { "arn:aws:kinesis:us-east-1:\(account):stream/\(s)" }

        func call(_ h: Harness, _ i: Int, stream: String = "s") throws(KinesisError) {
            let k = h.k
            switch name {
            case "DescribeStream": _ = try k.describeStream(DescribeStreamInput(streamName: stream))
            case "DescribeStreamSummary": _ = try k.describeStreamSummary(StreamInput(streamName: stream))
            case "ListStreams": _ = try k.listStreams(ListStreamsInput())
            case "DescribeLimits": _ = try k.describeLimits()
            case "ListTagsForStream": _ = try k.listTagsForStream(ListTagsForStreamInput(streamName: stream))
            case "AddTagsToStream":
                _ = try k.addTagsToStream(AddTagsToStreamInput(streamName: stream, tags: ["k\(i)": "v"]))
            case "RemoveTagsFromStream":
                _ = try k.removeTagsFromStream(RemoveTagsFromStreamInput(streamName: stream, tagKeys: ["k\(i)"]))
            case "EnableEnhancedMonitoring":
                _ = try k.enableEnhancedMonitoring(
                    EnhancedMonitoringInput(streamName: stream, shardLevelMetrics: [.incomingBytes]))
            case "DisableEnhancedMonitoring":
                _ = try k.disableEnhancedMonitoring(
                    EnhancedMonitoringInput(streamName: stream, shardLevelMetrics: [.incomingBytes]))
            case "IncreaseStreamRetentionPeriod":
                _ = try k.increaseStreamRetentionPeriod(
                    StreamRetentionInput(streamName: stream, retentionPeriodHours: 30 + i))
            case "DecreaseStreamRetentionPeriod":
                _ = try k.decreaseStreamRetentionPeriod(
                    StreamRetentionInput(streamName: stream, retentionPeriodHours: 90 - i))
            case "CreateStream": _ = try k.createStream(CreateStreamInput(streamName: "new\(i)", shardCount: 1))
            case "DeleteStream": _ = try k.deleteStream(DeleteStreamInput(streamName: "d\(i)"))
            case "SplitShard":
                // Always split the top open shard at the middle of its range.
                let top = try k.listShards(
                    ListShardsInput(streamName: stream, shardFilter: ShardFilter(type: .atLatest))
                )
                .shards.max { $0.start < $1.start }!
                _ = try k.splitShard(
                    SplitShardInput(
                        streamName: stream, shardToSplit: top.shardId,
                        newStartingHashKey: String(top.start + (top.end - top.start) / 2)))
            case "MergeShards":
                let open = try k.listShards(
                    ListShardsInput(streamName: stream, shardFilter: ShardFilter(type: .atLatest))
                )
                .shards.sorted { $0.start < $1.start }
                _ = try k.mergeShards(
                    MergeShardsInput(
                        streamName: stream, shardToMerge: open[0].shardId, adjacentShardToMerge: open[1].shardId))
            case "RegisterStreamConsumer":
                _ = try k.registerStreamConsumer(
                    RegisterStreamConsumerInput(streamARN: arn(stream), consumerName: "c\(i)"))
            case "DescribeStreamConsumer":
                _ = try k.describeStreamConsumer(StreamConsumerInput(streamARN: arn(stream), consumerName: "c"))
            case "DeregisterStreamConsumer":
                _ = try k.deregisterStreamConsumer(StreamConsumerInput(streamARN: arn(stream), consumerName: "c\(i)"))
            case "ListStreamConsumers": _ = try k.listStreamConsumers(ListStreamConsumersInput(streamARN: arn(stream)))
            case "ListShards": _ = try k.listShards(ListShardsInput(streamName: stream))
            case "DescribeAccountSettings": _ = try k.describeAccountSettings()
            case "UpdateAccountSettings":
                // Idempotent: enabling an enabled commitment changes nothing, so only the rate can refuse it.
                let enabled = MinimumThroughputBillingCommitmentInput(status: .enabled)
                _ = try k.updateAccountSettings(UpdateAccountSettingsInput(minimumThroughputBillingCommitment: enabled))
            default: Issue.record("unknown op \(name)")
            }
        }
    }

    static let ops: [Op] = [
        Op(name: "DescribeStream", tps: 10), Op(name: "DescribeStreamSummary", tps: 20),
        Op(name: "ListStreams", tps: 5),
        Op(name: "DescribeLimits", tps: 1), Op(name: "ListTagsForStream", tps: 5), Op(name: "AddTagsToStream", tps: 5),
        Op(name: "RemoveTagsFromStream", tps: 5), Op(name: "EnableEnhancedMonitoring", tps: 5),
        Op(name: "DisableEnhancedMonitoring", tps: 5), Op(name: "IncreaseStreamRetentionPeriod", tps: 5),
        Op(name: "DecreaseStreamRetentionPeriod", tps: 5), Op(name: "CreateStream", tps: 5),
        Op(name: "DeleteStream", tps: 5),
        Op(name: "SplitShard", tps: 5), Op(name: "MergeShards", tps: 5), Op(name: "RegisterStreamConsumer", tps: 5),
        Op(name: "DescribeAccountSettings", tps: 5), Op(name: "UpdateAccountSettings", tps: 5),
        Op(name: "DescribeStreamConsumer", tps: 20, perStream: true),
        Op(name: "DeregisterStreamConsumer", tps: 5, perStream: true),
        Op(name: "ListStreamConsumers", tps: 5, perStream: true), Op(name: "ListShards", tps: 1_000, perStream: true),
    ]

    @Test(arguments: ops)
    func controlPlaneTPS(op: Op) throws {
        let h = Harness()
        try op.setUp(h)
        for i in 0..<op.tps { try op.call(h, i) }
        let message =
            op.perStream
            ? "Rate exceeded for \(op.name) on stream s under account 123456789012."
            : "Rate exceeded for \(op.name) under account 123456789012."
        expectError(.limitExceeded, message) { () throws(KinesisError) in try op.call(h, op.tps) }
        if op.perStream {
            // Another stream has its own budget.
            try op.call(h, 0, stream: "t")
        }
        // The quota is per trailing second (CallQuota): no call comes back until the burst is a second old, however
        // long a token bucket would have needed to refill one call's worth.
        if op.tps > 1 {
            h.advance(.nanoseconds(1_000_000_000 / Int64(op.tps)))
            expectError(.limitExceeded, message) { () throws(KinesisError) in try op.call(h, op.tps) }
        }
        h.advance(.nanoseconds(1_000_000_000 - (op.tps > 1 ? 1_000_000_000 / Int64(op.tps) : 0) - 1))
        expectError(.limitExceeded, message) { () throws(KinesisError) in try op.call(h, op.tps) }
        h.advance(.nanoseconds(1))
        for i in 0..<op.tps { try op.call(h, op.tps + i) }
        expectError(.limitExceeded, message) { () throws(KinesisError) in try op.call(h, 2 * op.tps) }
    }

    /// A fresh account's first second is like every other: a token bucket that starts full would take twice the
    /// TPS within it (a full bucket at 0, then a second's refill).
    @Test func theFirstSecondTakesNoMoreThanTheTPS() throws {
        let h = Harness()
        var admitted = 0
        for _ in 0..<40 {
            if (try? h.k.listStreams(ListStreamsInput())) != nil { admitted += 1 }
            h.advance(.milliseconds(25))  // 40 calls over 0 ... 975 ms: one second
        }
        #expect(admitted == 5)
        // And a steady 5 calls a second is accepted second after second.
        h.advance(.milliseconds(25))
        for i in 0..<50 {
            #expect((try? h.k.listStreams(ListStreamsInput())) != nil, "call \(i)")
            h.advance(.milliseconds(200))
        }
    }

    @Test func atMostFiveStreamsCreatingAtOnce() throws {
        var delays = StatusDelays()
        delays.create = .milliseconds(1_500)  // CREATING outlasts CreateStream's 5 calls per second
        let h = Harness(delays: delays)
        for i in 0..<5 { _ = try h.k.createStream(CreateStreamInput(streamName: "c\(i)", shardCount: 1)) }
        h.advance(.milliseconds(1_300))
        let e = expectError(.limitExceeded) { () throws(KinesisError) in
            try h.k.createStream(CreateStreamInput(streamName: "c5", shardCount: 1))
        }
        #expect(
            e?.message == "This request would exceed the limit of 5 streams in CREATING state for account 123456789012."
        )
        // Once the first five are ACTIVE (nothing has looked at them since), a sixth may be created.
        h.advance(.milliseconds(200))
        _ = try h.k.createStream(CreateStreamInput(streamName: "c5", shardCount: 1))
        #expect(try h.status("c5") == .creating)
        #expect(try h.status("c0") == .active)
    }

    @Test func consumersAtMostTwentyAndFiveCreating() throws {
        var delays = StatusDelays()
        delays.consumerCreate = .milliseconds(1_500)  // CREATING outlasts RegisterStreamConsumer's 5 calls per second
        let h = Harness(delays: delays)
        let arn = try h.stream()
        func register(_ name: String) throws(KinesisError) {
            _ = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: name))
        }
        for i in 0..<5 { try register("c\(i)") }
        h.advance(.milliseconds(1_400))
        expectError(.limitExceeded, "Stream s already has 5 consumers in CREATING state.") { () throws(KinesisError) in
            try register("c5")
        }
        h.advance(.milliseconds(100))  // the first five are ACTIVE now
        for i in 5..<20 {
            try register("c\(i)")
            h.advance(.milliseconds(500))
        }
        expectError(.limitExceeded, "Stream s already has the maximum of 20 registered consumers.") {
            () throws(KinesisError) in try register("c20")
        }
        _ = try h.k.deregisterStreamConsumer(StreamConsumerInput(streamARN: arn, consumerName: "c0"))
        // Still counted while DELETING.
        expectError(.limitExceeded) { () throws(KinesisError) in try register("c20") }
        h.advance(.milliseconds(500))
        try register("c20")
        #expect(
            try h.k.describeStreamSummary(StreamInput(streamName: "s")).streamDescriptionSummary.consumerCount == 20)
    }

    @Test func updateShardCountBounds() throws {
        let h = Harness()
        try h.stream(shards: 4)
        expectError(
            .invalidArgument,
            "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 4 "
                + "Target shard count: 9"
        ) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 9))
        }
        let up = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 8))
        #expect(up.currentShardCount == 4)
        #expect(up.targetShardCount == 8)
        #expect(up.streamName == "s")
        #expect(up.streamARN == "arn:aws:kinesis:us-east-1:123456789012:stream/s")
        h.advance(.seconds(1))
        expectError(
            .invalidArgument,
            "UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: "
                + "8 Target shard count: 3"
        ) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 3))
        }
        _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 4))
        h.advance(.seconds(1))
        #expect(try h.listAllShards(filter: ShardFilter(type: .atLatest)).count == 4)
        // Odd counts round the way the bounds say: 3 → 1 is below half, 3 → 2 is fine, 3 → 6 fine, 3 → 7 not.
        try h.stream("o", shards: 3)
        expectError(.invalidArgument) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "o", targetShardCount: 1))
        }
        expectError(.invalidArgument) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "o", targetShardCount: 7))
        }
        _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "o", targetShardCount: 2))
    }

    @Test func updateShardCountTenPerRollingDay() throws {
        let h = Harness()
        try h.stream()
        let start = h.now
        for i in 0..<10 {
            if i == 3 {
                // A rejected call does not use up one of the ten.
                expectError(.invalidArgument) { () throws(KinesisError) in
                    try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 5))
                }
            }
            _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: i % 2 == 0 ? 2 : 1))
            h.advance(.hours(1))
        }
        let message =
            "Stream s under account 123456789012 has exceeded the limit of 10 UpdateShardCount operations in a "
                + "rolling 24-hour period."
        expectError(.limitExceeded, message) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 2))
        }
        h.clock.advance(to: start + .hours(24) - .milliseconds(1))
        expectError(.limitExceeded, message) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 2))
        }
        h.advance(.milliseconds(1))  // the first one has left the window
        _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 2))
        expectError(.limitExceeded, message) { () throws(KinesisError) in
            try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 1))
        }
    }

    @Test func retentionBoundsAndMessages() throws {
        let h = Harness()
        try h.stream()
        func inc(_ hours: Int) throws(KinesisError) {
            _ = try h.k.increaseStreamRetentionPeriod(
                StreamRetentionInput(streamName: "s", retentionPeriodHours: hours))
            h.advance(.seconds(1))
        }
        func dec(_ hours: Int) throws(KinesisError) {
            _ = try h.k.decreaseStreamRetentionPeriod(
                StreamRetentionInput(streamName: "s", retentionPeriodHours: hours))
            h.advance(.seconds(1))
        }
        let tooShort =
            "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short."
        expectError(.invalidArgument, tooShort) { () throws(KinesisError) in try inc(23) }
        expectError(.invalidArgument, tooShort) { () throws(KinesisError) in try dec(23) }
        let tooLong =
            "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long."
        expectError(.invalidArgument, tooLong) { () throws(KinesisError) in try inc(8761) }
        try inc(24)  // equal to the current period is allowed
        try inc(8760)
        #expect(
            try h.k.describeStreamSummary(StreamInput(streamName: "s")).streamDescriptionSummary.retentionPeriodHours
                == 8760)
        try dec(48)
        expectError(
            .invalidArgument,
            "Requested retention period (30 hours) for stream s can not be shorter than existing retention period "
                + "(48 hours). Use DecreaseRetentionPeriod API."
        ) { () throws(KinesisError) in try inc(30) }
        expectError(
            .invalidArgument,
            "Requested retention period (100 hours) for stream s can not be longer than existing retention period "
                + "(48 hours). Use IncreaseRetentionPeriod API."
        ) { () throws(KinesisError) in try dec(100) }
        try dec(48)
        try dec(24)
        #expect(
            try h.k.describeStream(DescribeStreamInput(streamName: "s")).streamDescription.retentionPeriodHours == 24)
    }

    @Test func atMostFiftyTagsPerStream() throws {
        let h = Harness()
        try h.stream()
        let fifty = Dictionary(uniqueKeysWithValues: (0..<50).map { ("key\($0)", "v\($0)") })
        _ = try h.k.addTagsToStream(AddTagsToStreamInput(streamName: "s", tags: fifty))
        h.advance(.seconds(1))
        let message =
            "Failed to add tags to stream s under account 123456789012 because a given stream cannot have more than "
                + "50 tags associated with it."
        expectError(.invalidArgument, message) { () throws(KinesisError) in
            try h.k.addTagsToStream(AddTagsToStreamInput(streamName: "s", tags: ["one-more": "x"]))
        }
        // Overwriting an existing key adds nothing.
        _ = try h.k.addTagsToStream(AddTagsToStreamInput(streamName: "s", tags: ["key0": "new"]))
        // TagResource on the stream obeys the same limit.
        expectError(.invalidArgument, message) { () throws(KinesisError) in
            try h.k.tagResource(
                TagResourceInput(
                    tags: ["one-more": "x"], resourceARN: "arn:aws:kinesis:us-east-1:123456789012:stream/s"))
        }
        let tags = try h.k.listTagsForStream(ListTagsForStreamInput(streamName: "s")).tags
        #expect(tags.count == 50)
        #expect(tags.first { $0.key == "key0" }?.value == "new")
        _ = try h.k.removeTagsFromStream(RemoveTagsFromStreamInput(streamName: "s", tagKeys: ["key1"]))
        _ = try h.k.addTagsToStream(AddTagsToStreamInput(streamName: "s", tags: ["one-more": "x"]))
        // CreateStream with more than 50 tags is refused the same way and creates nothing.
        h.advance(.seconds(1))
        let fiftyOne = fifty.merging(["key50": "v"]) { a, _ in a }
        expectError(
            .invalidArgument,
            "Failed to add tags to stream t under account 123456789012 because a given stream cannot have more than "
                + "50 tags associated with it."
        ) { () throws(KinesisError) in
            try h.k.createStream(CreateStreamInput(streamName: "t", shardCount: 1, tags: fiftyOne))
        }
        #expect(h.k.streamNames == ["s"])
        _ = try h.k.createStream(CreateStreamInput(streamName: "t", shardCount: 1, tags: fifty))
    }
}
