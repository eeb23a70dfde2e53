import Foundation
import Testing

@testable import StreamEngine

/// `--faults` (``FaultPlan``, ``FaultInjector``): the spec's boundaries, rates within
/// statistical bounds for a fixed seed, and injected PutRecords failures that store nothing.
@Suite struct FaultTests {
    func parse(_ spec: String) throws(FaultSpecError) -> FaultPlan {
        try FaultPlan.parse(spec)
    }

    @Test func parsesEveryKind() throws {
        let plan = try parse(
            "record-failure=0.1, internal-error:GetRecords=0.01,unavailable=0,latency=1@200ms,"
                + "latency:PutRecords=0.5@50ms-2s,reset=0.001,subscribe-end=1")
        #expect(plan.rules.count == 7)
        #expect(plan.rules[0] == FaultRule(kind: .recordFailure, probability: 0.1))
        #expect(plan.rules[1] == FaultRule(kind: .internalError, operation: .getRecords, probability: 0.01))
        #expect(plan.rules[3].latency == .milliseconds(200) ... .milliseconds(200))
        #expect(plan.rules[4].latency == .milliseconds(50) ... .seconds(2))
        #expect(plan.rule(.latency, .putRecords)?.probability == 0.5)  // the named operation wins
        #expect(plan.rule(.latency, .getRecords)?.probability == 1)
        #expect(plan.rule(.internalError, .putRecords) == nil)
    }

    @Test(arguments: [
        ("", "empty"), ("bogus=0.1", "unknown kind 'bogus'"), ("record-failure", "expected KIND"),
        ("record-failure=-0.000001", "'-0.000001'"), ("record-failure=1.000001", "'1.000001'"),
        ("reset=nan", "'nan'"), ("reset=inf", "'inf'"), ("reset=", "''"), ("reset=0.1,", "empty part"),
        ("internal-error:=0.1", "empty operation"), ("internal-error:Nope=0.1", "unknown operation 'Nope'"),
        ("record-failure:GetRecords=0.1", "PutRecords only"), ("subscribe-end:PutRecords=0.1", "SubscribeToShard only"),
        ("latency=0.1", "needs a duration"), ("latency=0.1@200", "'200'"), ("latency=0.1@-1ms", "''"),
        ("latency=0.1@nanms", "'nanms'"), ("latency=0.1@60.001s", "'60.001s'"), ("latency=0.1@2s-1s", "backwards"),
        ("reset=0.1@1ms", "only latency"), ("reset=0.1,reset=0.2", "twice"),
    ])
    func rejectsNamingTheBadPart(_ spec: String, _ names: String) {
        do {
            _ = try parse(spec)
            Issue.record("'\(spec)' was accepted")
        } catch {
            #expect(error.description.contains(names), "\(error.description)")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func boundaryValuesAreAccepted() throws {
        #expect(try parse("reset=0").rules[0].probability == 0)
        #expect(try parse("reset=1").rules[0].probability == 1)
        #expect(try parse("latency=1@0ms").rules[0].latency == .zero ... .zero)
        #expect(try parse("latency=1@60s").rules[0].latency == .seconds(60) ... .seconds(60))
        #expect(try parse("latency=1@1.5s").rules[0].latency == .milliseconds(1500) ... .milliseconds(1500))
    }

    @Test func ratesStayWithinFiveSigmaAndRepeatForASeed() throws {
        let plan = try parse("record-failure=0.1,unavailable=0.02,latency=0.3@10ms-20ms")
        let a = FaultInjector(plan: plan, seed: 42)
        let b = FaultInjector(plan: plan, seed: 42)
        var failedA: [Bool] = []
        var failedB: [Bool] = []
        for _ in 0..<4 {  // 2,000 entries in four PutRecords calls of 500
            failedA += a.failedRecords(count: 500) ?? Array(repeating: false, count: 500)
            failedB += b.failedRecords(count: 500) ?? Array(repeating: false, count: 500)
        }
        #expect(failedA == failedB, "the same seed draws the same faults")
        func within(_ n: Int, trials: Double, p: Double) -> Bool {
            abs(Double(n) - trials * p) <= 5 * (trials * p * (1 - p)).squareRoot()
        }
        let failed = failedA.filter { $0 }.count
        #expect(within(failed, trials: 2_000, p: 0.1), "\(failed) of 2000")
        #expect(failed > 0 && failed < 2_000)
        var unavailable = 0
        var slow: [Duration] = []
        for _ in 0..<10_000 {
            if a.callFault(operation: .getRecords) == .unavailable { unavailable += 1 }
            if let d = a.latency(operation: .getRecords) { slow.append(d) }
        }
        #expect(within(unavailable, trials: 10_000, p: 0.02), "\(unavailable)")
        #expect(within(slow.count, trials: 10_000, p: 0.3), "\(slow.count)")
        #expect(slow.allSatisfy { $0 >= .milliseconds(10) && $0 <= .milliseconds(20) })
        #expect(slow.contains { $0 < .milliseconds(11) } && slow.contains { $0 > .milliseconds(19) })
        let counts = Dictionary(
            uniqueKeysWithValues: a.counts().map { ("\($0.kind.rawValue)/\($0.operation.rawValue)", $0.count) })
        #expect(
            counts == [
                "record-failure/PutRecords": failed, "unavailable/GetRecords": unavailable,
                "latency/GetRecords": slow.count,
            ])
        #expect(a.total == failed + unavailable + slow.count)
    }

    @Test func probabilityZeroNeverAndOneAlways() throws {
        let never = FaultInjector(plan: try parse("record-failure=0,reset=0"), seed: 1)
        let always = FaultInjector(plan: try parse("record-failure=1,reset=1,subscribe-end=1"), seed: 1)
        for _ in 0..<1_000 {
            #expect(never.failedRecords(count: 10) == nil && never.callFault(operation: .putRecord) == nil)
            #expect(always.callFault(operation: .putRecord) == .reset && always.endsSubscription())
        }
        #expect(always.failedRecords(count: 500) == Array(repeating: true, count: 500))
        #expect(never.total == 0)
    }

    @Test func failedEntriesAreNotStoredAndTakeNoSequenceNumber() throws {
        let faults = FaultInjector(plan: try parse("record-failure=0.5"), seed: 9)
        let h = Harness(limits: .off) { $0.faults = faults }
        try h.stream(shards: 2)
        let entries = (0..<500).map { PutRecordsRequestEntry(data: Data("r\($0)".utf8), partitionKey: "k\($0)") }
        let out = try h.k.putRecords(PutRecordsInput(records: entries, streamName: "s"))
        let failed = out.records.filter { $0.errorCode != nil }
        #expect(out.failedRecordCount == failed.count && failed.count == faults.total)
        #expect(
            failed.allSatisfy {
                $0.errorCode == "InternalFailure" && $0.errorMessage == "Internal service failure."
                    && $0.sequenceNumber == nil && $0.shardId == nil
            })
        var stored: [String] = []
        for shard in ["shardId-000000000000", "shardId-000000000001"] {
            stored += try h.drain(try h.iterator(shard: shard)).records.map { String(decoding: $0.data, as: UTF8.self) }
        }
        let accepted = zip(entries, out.records).filter { $0.1.errorCode == nil }.map {
            String(decoding: $0.0.data!, as: UTF8.self)
        }
        #expect(stored.sorted() == accepted.sorted())
        #expect(stored.count == 500 - failed.count)
        // The sequence numbers read back are exactly those returned to accepted entries.
        var read: [String] = []
        for shard in ["shardId-000000000000", "shardId-000000000001"] {
            read += try h.drain(try h.iterator(shard: shard)).records.map(\.sequenceNumber)
        }
        #expect(read.sorted() == out.records.compactMap(\.sequenceNumber).sorted())
    }

    @Test func engineSetFaultsSwitchesRecordFailuresOnAndOffAndKeepsCounting() throws {
        let h = Harness(limits: .off) { _ in }
        try h.stream(shards: 1)
        let entries = (0..<200).map { PutRecordsRequestEntry(data: Data("r\($0)".utf8), partitionKey: "k\($0)") }
        func failed() throws -> Int {
            try h.k.putRecords(PutRecordsInput(records: entries, streamName: "s")).failedRecordCount!
        }
        #expect(h.engine.faults == nil)
        #expect(try failed() == 0)
        h.engine.setFaults(nil, seed: 1)  // off with no injector: still none
        #expect(h.engine.faults == nil)
        h.engine.setFaults(try parse("record-failure=1"), seed: 1)
        let injector = try #require(h.engine.faults)
        #expect(try failed() == 200)
        h.engine.setFaults(nil, seed: 2)
        #expect(h.engine.faults === injector && injector.plan.rules.isEmpty)
        #expect(try failed() == 0)
        h.engine.setFaults(try parse("record-failure=0.5"), seed: 3)
        let some = try failed()
        #expect(some > 0 && some < 200)
        // One injector for the run: its count only grows, across every change of plan.
        #expect(injector.total == 200 + some)
        #expect(injector.counts() == [FaultCount(kind: .recordFailure, operation: .putRecords, count: 200 + some)])
    }

    @Test func setFaultsKeepsTheInjectorOfTheConfiguration() throws {
        let configured = FaultInjector(plan: try parse("record-failure=1"), seed: 5)
        let h = Harness(limits: .off) { $0.faults = configured }
        #expect(h.engine.faults === configured)
        let off = try parse("record-failure=0")
        h.engine.setFaults(off, seed: 99)
        #expect(h.engine.faults === configured && configured.plan == off)
    }
}
