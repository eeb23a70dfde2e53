import Foundation
import StreamEngine
import Testing

@testable import Metrics

@Suite struct NewStreamTests {
    /// A stream created between two samples, written to before the sample
    /// that first sees it has rates, must count those records (they all
    /// happened within the interval), not absorb them into a baseline.
    @Test func recordsOfAStreamBornMidIntervalAreCounted() throws {
        var rig = Rig()
        rig.store.ingest(rig.engine.sample())
        rig.clock.advance(by: .milliseconds(900))
        rig.store.ingest(rig.engine.sample())
        rig.clock.advance(by: .milliseconds(900))
        try rig.create("late", shards: 2)
        rig.clock.advance(by: .milliseconds(100))
        rig.store.ingest(rig.engine.sample())  // first sample with the stream
        rig.clock.advance(by: .milliseconds(300))
        for i in 0..<50 {
            _ = try rig.kinesis.putRecord(
                PutRecordInput(streamName: "late", data: Data("x".utf8), partitionKey: "k\(i)"))
        }
        rig.clock.advance(by: .milliseconds(700))
        let sample = rig.engine.sample()
        rig.store.ingest(sample)
        let stream = try #require(sample.streams.first { $0.name == "late" })
        let total = stream.shards.compactMap { rig.store.latest(stream, $0.shardId)?.incomingRecords }.reduce(0, +)
        #expect(abs(total - 50) < 0.01)
    }
}

@Suite struct PriceOverrideTests {
    @Test func namedOverridesChangeThePriceAndSaySo() throws {
        var t = PriceTable()
        try t.override(["shard-hour=0.03", "efo-per-gb=0.02"])
        #expect(t.shardHour == 0.03 && t.fanOutPerGB == 0.02)
        #expect(t.putPayloadUnitsPerMillion == PriceTable().putPayloadUnitsPerMillion)
        #expect(t.source.hasSuffix("overridden on the command line: shard-hour=0.03, efo-per-gb=0.02"))
        #expect(!t.confirmed)
    }

    @Test(arguments: ["shardhour=1", "shard-hour", "shard-hour=-1", "shard-hour=abc", "shard-hour=inf"])
    func badEntriesAreRefusedWithTheValidNames(_ entry: String) {
        var t = PriceTable()
        do {
            try t.override([entry])
            Issue.record("accepted \(entry)")
        } catch {
            #expect(error.description.contains("shard-hour, put-units-per-million"))
        }
        #expect(t == PriceTable())
    }
}
