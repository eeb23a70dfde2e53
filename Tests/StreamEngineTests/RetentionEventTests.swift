import Foundation
import Testing

@testable import StreamEngine

@Suite struct RetentionEventTests {
    @Test func expiredRecordsAreReportedInTheEventLog() throws {
        let h = Harness()
        try h.stream()
        for i in 0..<3 { _ = try h.put(key: "k\(i)") }
        h.advance(.seconds(24 * 3600 + 1))
        h.engine.tick()
        let expired = h.engine.events.events().filter { $0.kind == .recordsExpired }
        #expect(expired.count == 1)
        #expect(expired.first?.message == "Retention (24 h): 3 records (9 bytes) of s expired")
        #expect(expired.first?.shards == ["shardId-000000000000"])
        // Nothing left to expire: no second event.
        h.engine.tick()
        #expect(h.engine.events.events().filter { $0.kind == .recordsExpired }.count == 1)
    }

    @Test func putRecordsAcceptsTenMiBOnlyOnStreamsWithLargeRecords() throws {
        let h = Harness(limits: .off)
        try h.stream("small")
        _ = try h.k.createStream(CreateStreamInput(streamName: "large", shardCount: 1, maxRecordSizeInKiB: 10_240))
        let sixMiB = (0..<6).map { _ in PutRecordsRequestEntry(data: Data(count: MiB - 10), partitionKey: "k") }
        #expect(throws: KinesisError.self) { try h.k.putRecords(PutRecordsInput(records: sixMiB, streamName: "small")) }
        let out = try h.k.putRecords(PutRecordsInput(records: sixMiB, streamName: "large"))
        #expect(out.failedRecordCount == 0)
        let tooBig = (0..<11).map { _ in PutRecordsRequestEntry(data: Data(count: MiB - 10), partitionKey: "k") }
        do {
            _ = try h.k.putRecords(PutRecordsInput(records: tooBig, streamName: "large"))
            Issue.record("11 MiB request accepted")
        } catch {
            #expect(error.type == .invalidArgument)
            #expect(error.message.hasPrefix("Records size exceeds 10 MB limit"))
        }
    }
}

@Suite struct AccountSettingsTests {
    /// Commitments last 24 h; disabling earlier schedules the end (model docs of
    /// MinimumThroughputBillingCommitmentInput).
    @Test func earlyDisableRunsUntilTheEarliestAllowedEnd() throws {
        let h = Harness()
        func update(
            _ s: MinimumThroughputBillingCommitmentStatus
        ) throws(KinesisError) -> MinimumThroughputBillingCommitmentOutput? {
            try h.k.updateAccountSettings(
                UpdateAccountSettingsInput(minimumThroughputBillingCommitment: .init(status: s))
            )
            .minimumThroughputBillingCommitment
        }
        #expect(try h.k.describeAccountSettings().minimumThroughputBillingCommitment?.status == .disabled)
        #expect(try update(.enabled)?.status == .enabled)
        h.advance(.seconds(3600))
        #expect(try update(.disabled)?.status == .enabledUntilEarliestAllowedEnd)
        h.advance(.seconds(23 * 3600))
        let after = try h.k.describeAccountSettings().minimumThroughputBillingCommitment
        #expect(after?.status == .disabled)
        #expect(after?.endedAt != nil)
        do {
            _ = try update(.enabledUntilEarliestAllowedEnd)
            Issue.record("output-only status accepted as input")
        } catch {
            #expect(error.type == .validation)
            #expect(error.message.hasSuffix("Member must satisfy enum value set: [ENABLED, DISABLED]"))
        }
    }
}
