import Foundation
import Testing

@testable import StreamEngine

/// DescribeLimits (KINESIS.md §2.3, §3): the region's default shard quota and
/// the account's open provisioned shards in that region.
@Suite struct DescribeLimitsTests {
    @Test(arguments: [
        ("us-east-1", 20_000), ("us-west-2", 20_000), ("eu-west-1", 20_000),
        ("us-east-2", 1_000), ("eu-central-1", 1_000), ("ap-southeast-2", 1_000),
    ])
    func shardLimitIsTheRegionsDefault(region: String, limit: Int) throws {
        let h = Harness()
        let k = h.engine.service(region: region)
        #expect(try k.describeLimits().shardLimit == limit)
        // CreateStream enforces the same figure, in Kinesis's words.
        let message =
            "This request would exceed the shard limit for the account \(account) in \(region). Current shard count "
                + "for the account: 0. Limit: \(limit). Number of additional shards that would have resulted from "
                    + "this request: \(limit + 1). Refer to the AWS Service Limits page "
                        + "(http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits "
                            + "and how to request higher limits."
        expectError(.limitExceeded, message) { () throws(KinesisError) in
            try k.createStream(CreateStreamInput(streamName: "s", shardCount: limit + 1))
        }
        // Exactly the quota fits (where it is within the 10,000 shards a stream may have).
        if limit <= 10_000 { _ = try k.createStream(CreateStreamInput(streamName: "s", shardCount: limit)) }
    }

    @Test func aConfiguredQuotaOverridesTheRegionsDefault() throws {
        var limits = KinesisLimits.aws
        limits.shardLimitPerAccount = 7
        let h = Harness(limits: limits)
        #expect(try h.k.describeLimits().shardLimit == 7)
        #expect(try h.engine.service(region: "sa-east-1").describeLimits().shardLimit == 7)
    }

    @Test func openShardCountCountsOpenProvisionedShardsOfThisRegion() throws {
        var delays = StatusDelays.immediate
        delays.create = .seconds(3)
        let h = Harness(delays: delays)
        // DescribeLimits allows 1 call per second: each look waits a second first.
        func limits() throws(KinesisError) -> DescribeLimitsOutput {
            h.advance(.seconds(1))
            return try h.k.describeLimits()
        }
        #expect(try limits().openShardCount == 0)
        _ = try h.k.createStream(CreateStreamInput(streamName: "a", shardCount: 3))
        // A stream still CREATING already holds its shards.
        #expect(try limits().openShardCount == 3)
        #expect(try h.status("a") == .creating)
        try h.stream("b", shards: 2)
        // Another region's streams are not this region's.
        _ = try h.engine.service(region: "eu-west-1").createStream(CreateStreamInput(streamName: "x", shardCount: 5))
        // On-demand streams are outside the provisioned shard quota.
        _ = try h.k.createStream(
            CreateStreamInput(streamName: "o", streamModeDetails: StreamModeDetails(streamMode: .onDemand)))
        h.advance(.seconds(3))
        #expect(try limits().openShardCount == 5)
        // A split closes one shard and opens two: closed shards are not open.
        _ = try h.k.splitShard(
            SplitShardInput(streamName: "b", shardToSplit: "shardId-000000000000", newStartingHashKey: "1000"))
        #expect(try limits().openShardCount == 6)
        // A deleted stream's shards are released.
        _ = try h.k.deleteStream(DeleteStreamInput(streamName: "a"))
        let after = try limits()
        #expect(after.openShardCount == 3)
        #expect(after.onDemandStreamCount == 1)
        #expect(after.onDemandStreamCountLimit == 50)
    }
}
