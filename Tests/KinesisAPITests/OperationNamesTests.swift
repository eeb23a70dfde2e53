@testable import KinesisAPI
@testable import StreamEngine
import Testing

/// ``KinesisOperation`` is the one list of operation names: the wire server dispatches on it and the
/// control-plane rate table is keyed by it, so no operation can lose its quota to a misspelling.
@Suite("Operation names: one enum for the wire and the rate table")
struct OperationNamesTests {
    /// KINESIS.md §2.1, spelt out independently of the enum.
    static let documented = """
        AddTagsToStream, CreateStream, DecreaseStreamRetentionPeriod, DeleteResourcePolicy, DeleteStream,
        DeregisterStreamConsumer, DescribeAccountSettings, DescribeLimits, DescribeStream, DescribeStreamConsumer,
        DescribeStreamSummary, DisableEnhancedMonitoring, EnableEnhancedMonitoring, GetRecords, GetResourcePolicy,
        GetShardIterator, IncreaseStreamRetentionPeriod, ListShards, ListStreamConsumers, ListStreams,
        ListTagsForResource, ListTagsForStream, MergeShards, PutRecord, PutRecords, PutResourcePolicy,
        RegisterStreamConsumer, RemoveTagsFromStream, SplitShard, StartStreamEncryption, StopStreamEncryption,
        SubscribeToShard, TagResource, UntagResource, UpdateAccountSettings, UpdateMaxRecordSize, UpdateShardCount,
        UpdateStreamMode, UpdateStreamWarmThroughput
        """.split(whereSeparator: { ", \n".contains($0) }).map(String.init)

    @Test func rawValuesAreTheDocumentedWireNames() {
        #expect(Self.documented.count == 39)
        #expect(KinesisOperation.allCases.map(\.rawValue) == Self.documented)
        for name in Self.documented {
            #expect(KinesisOperation(rawValue: name)?.target == "Kinesis_20131202.\(name)")
        }
    }

    @Test func theServerDispatchesExactlyTheRawValues() throws {
        let h = try ServerHarness()
        for name in Self.documented {
            let r = try h.send(target: "Kinesis_20131202.\(name)", body: "{}")
            #expect(r.status != 404 && r.text.contains("UnknownOperationException") == false, "\(name): \(r.text)")
        }
        // A name off by one letter or by case is not an operation.
        for name in ["ListStream", "listStreams", "LISTSTREAMS", "ListStreams ", "PutRecordss"] {
            let r = try h.send(target: "Kinesis_20131202.\(name)", body: "{}")
            #expect(r.text.contains("UnknownOperationException"), "\(name): \(r.status) \(r.text)")
        }
    }

    @Test(arguments: KinesisOperation.allCases)
    func everyOperationHasAQuotaOrADocumentedReason(_ op: KinesisOperation) {
        let quota = KinesisLimits.aws.controlPlaneTPS[op]
        let reason = KinesisLimits.withoutControlPlaneTPS[op]
        #expect((quota == nil) != (reason == nil), "\(op.rawValue): \(String(describing: quota)), \(reason ?? "-")")
        if op.isDataPlane {
            #expect(quota == nil && reason?.hasPrefix("data plane") == true, "\(op.rawValue)")
        } else {
            #expect(reason?.hasPrefix("data plane") != true, "\(op.rawValue)")
        }
    }

    @Test func theRateTableHoldsKinesisMdSection3() {
        // KINESIS.md §3 "Control-plane TPS": 24 operations, 4 of them per stream.
        let table = KinesisLimits.aws.controlPlaneTPS
        #expect(table.count == 24)
        #expect(Set(table.filter(\.value.perStream).keys) ==
            [.deregisterStreamConsumer, .describeStreamConsumer, .listShards, .listStreamConsumers])
        #expect(table[.describeLimits]?.perSecond == 1 && table[.describeStream]?.perSecond == 10)
        #expect(table[.listShards]?.perSecond == 1_000 && table[.updateShardCount]?.perSecond == 10)
        #expect(table[.describeStreamSummary]?.perSecond == 20 && table[.describeStreamConsumer]?.perSecond == 20)
    }
}
