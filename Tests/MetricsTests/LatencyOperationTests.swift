import StreamEngine
import Testing
@testable import Metrics

/// ``LatencyOperation`` names its metrics through ``KinesisOperation``, so CloudWatch's
/// `<Operation>.Latency` names cannot drift from the wire names (KINESIS.md §6).
@Suite struct LatencyOperationTests {
    @Test func metricNamesAreTheWireNamesPlusLatency() {
        #expect(LatencyOperation.allCases.map(\.metricName)
            == ["PutRecord.Latency", "PutRecords.Latency", "GetRecords.Latency"])
        #expect(LatencyOperation.allCases.map(\.operation) == [.putRecord, .putRecords, .getRecords])
        #expect(LatencyOperation.allCases.allSatisfy { $0.operation.isDataPlane })
    }
}
