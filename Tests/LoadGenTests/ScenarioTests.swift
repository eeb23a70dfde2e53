import Foundation
import Testing
@testable import LoadGen
import StreamEngine

/// Every built-in scenario's story holds on the manual clock: 10 ms steps,
/// `engine.tick()` each simulated second, expectations checked at the end.
@Suite struct ScenarioTests {
    @Test(arguments: Scenario.builtIns.map(\.name))
    func builtInExpectationsHold(_ name: String) throws {
        let scenario = try #require(Scenario.named(name))
        #expect(!scenario.expectations.isEmpty, "every built-in states what it shows")
        let sim = ScenarioSimulation(scenario: scenario, seed: 42)
        if scenario.duration == nil { sim.run(until: 20) } else { sim.runToEnd() }
        #expect(sim.runner.setupError == nil)
        #expect(sim.runner.actionErrors.isEmpty, "\(sim.runner.actionErrors)")
        for result in sim.evaluate() {
            #expect(result.passed, "\(name): \(result)")
        }
    }

    @Test func narrationAppearsAtItsPhase() {
        let sim = ScenarioSimulation(scenario: .fixBySalting, seed: 1)
        sim.run(until: 10)
        let early = sim.runner.takeNarration()
        #expect(early.contains { $0.phase == "start" })
        #expect(early.contains { $0.phase == "hot" })
        #expect(!early.contains { $0.phase == "salt" })
        sim.run(until: 21)
        let later = sim.runner.takeNarration()
        #expect(later.allSatisfy { $0.phase == "salt" } && !later.isEmpty)
        #expect(later.first?.at == .seconds(20))
        #expect(sim.runner.producer("hot")?.config.keys == .salted(key: Scenario.hotKeyName, salts: 16))
    }

    @Test func builtInNamesAreUniqueAndListed() {
        let names = Scenario.builtIns.map(\.name)
        #expect(Set(names).count == names.count)
        for n in ["demo", "hot-key", "fix-by-salting", "split-the-hot-shard", "merge-cold-shards", "fan-out-starvation",
                  "on-demand-burst", "retention-replay", "resharding-with-kcl", "retries-under-faults",
                  "firehose-buffering", "sql-windows"] {
            #expect(Scenario.named(n) != nil, "\(n)")
        }
    }

    @Test func hotKeyLandsOnShard3() {
        #expect(KeyFinder.shardRange(3, of: 4).contains(HashKey.of(partitionKey: Scenario.hotKeyName)))
        #expect(Scenario.hotShardTenants.count == 20)
    }

    @Test func faultsAreOnOnlyBetweenTheirPhases() throws {
        let sim = ScenarioSimulation(scenario: .retriesUnderFaults, seed: 7)
        sim.run(until: 9)
        #expect(sim.engine.faults == nil, "no injector before the phase that asks for one")
        sim.run(until: 11)
        let injector = try #require(sim.engine.faults)
        #expect(injector.plan.rules == [FaultRule(kind: .recordFailure, probability: 0.1)])
        #expect(injector.total > 0)
        sim.run(until: 31)
        #expect(injector.plan.rules.isEmpty)
        let atOff = injector.total
        sim.runToEnd()
        #expect(injector.total == atOff, "nothing injected once off")
        #expect(sim.runner.producer("fire-and-forget")!.stats.dropped > 0)
        #expect(sim.runner.producer("retrying")!.stats.retried > 0)
    }

    @Test func withoutTheFaultsNeitherProducerDrops() throws {
        // The same story with the faults phase removed: the loss is the faults', not the load's.
        var calm = Scenario.retriesUnderFaults
        calm.phases = calm.phases.map { p in
            var p = p
            p.actions = []
            return p
        }
        let sim = ScenarioSimulation(scenario: calm, seed: 7)
        sim.runToEnd()
        #expect(sim.engine.faults == nil)
        #expect(sim.recorder.measure(MetricQuery(.producerDropped, from: 0, to: 45)) == 0)
        #expect(sim.recorder.measure(MetricQuery(.faultsInjected, from: 0, to: 45)) == 0)
    }

    @Test func setFaultsWithoutAnEngineIsAnActionError() {
        let sim = ScenarioSimulation(scenario: .retriesUnderFaults, seed: 1)
        sim.runner.setFaults = nil  // as on a remote endpoint
        sim.runner.apply(.setFaults("record-failure=0.1"), now: sim.clock.now())
        #expect(sim.runner.actionErrors.count == 1)
        #expect(sim.runner.actionErrors.first?.contains("only on the embedded engine") == true)
        #expect(sim.engine.faults == nil)
    }
}
