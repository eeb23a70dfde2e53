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
                  "on-demand-burst", "retention-replay", "resharding-with-kcl"] {
            #expect(Scenario.named(n) != nil, "\(n)")
        }
    }

    @Test func hotKeyLandsOnShard3() {
        #expect(KeyFinder.shardRange(3, of: 4).contains(HashKey.of(partitionKey: Scenario.hotKeyName)))
        #expect(Scenario.hotShardTenants.count == 20)
    }
}
