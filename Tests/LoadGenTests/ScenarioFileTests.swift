import Foundation
import StreamEngine
import Testing

@testable import LoadGen

@Suite struct ScenarioFileTests {
    @Test(arguments: Scenario.builtIns.map(\.name))
    func builtInsRoundTripThroughTheFileFormat(_ name: String) throws {
        let s = try #require(Scenario.named(name))
        let json = try ScenarioFile.encode(s)
        #expect(try ScenarioFile.decode(json) == s)
    }

    @Test func readsAFileWithKeyAndSizeFilesAndRunsIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ktop-scenario-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "# tenants\nalpha\nbeta\ngamma\n".write(
            to: dir.appendingPathComponent("keys.txt"), atomically: true, encoding: .utf8)
        try "100\n200\n300\n".write(to: dir.appendingPathComponent("sizes.txt"), atomically: true, encoding: .utf8)
        let json = """
            {"name": "file-story", "durationSeconds": 12, "seed": 7,
             "stream": {"name": "fs", "shards": 2},
             "narration": ["From a file."],
             "producers": [{"name": "p", "recordsPerSecond": 300, "keys": {"type": "keys", "file": "keys.txt"},
                            "size": {"type": "samples", "file": "sizes.txt"}, "lingerMillis": 50}],
             "pollingConsumers": ["reader"],
             "phases": [{"name": "faster", "atSeconds": 5, "narration": ["Faster."],
                         "actions": [{"action": "setRate", "producer": "p", "recordsPerSecond": 600},
                                     {"action": "splitShard", "shardId": "shardId-000000000000"}]}],
             "expectations": [{"description": "three open shards after the split", "metric": "openShards",
                               "from": 0, "to": 12,
                               "comparison": "equal", "value": 3},
                              {"description": "the reader keeps up", "metric": "consumerRecords", "subject": "reader",
                               "from": 7, "to": 12, "comparison": "atLeast", "value": 0.9,
                               "relativeTo": {"metric": "incomingRecords", "from": 7, "to": 12}}]}
            """
        let path = dir.appendingPathComponent("story.json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let s = try ScenarioFile.load(path: path)
        #expect(s.producers[0].keys == .keySet(["alpha", "beta", "gamma"]))
        #expect(s.producers[0].size == .samples([100, 200, 300]))
        #expect(s.phases[0].at == .seconds(5))
        let sim = ScenarioSimulation(scenario: s, seed: s.seed!)
        sim.runToEnd()
        #expect(sim.runner.actionErrors.isEmpty)
        for r in sim.evaluate() { #expect(r.passed, "\(r)") }
    }

    @Test func errorsSayWhatIsWrong() {
        func error(_ json: String) -> String {
            do {
                _ = try ScenarioFile.decode(Data(json.utf8), source: "x.json")
                return ""
            } catch { return "\(error)" }
        }
        #expect(error(#"{"name": "a"}"#).contains("missing 'stream'"))
        #expect(
            error(
                #"{"name": "a", "stream": {"name": "s"}, "producers": [{"name": "p", "recordsPerSecond": 1, "#
                    + #""keys": {"type": "gauss"}}]}"#
            )
            .contains("unknown key distribution 'gauss'"))
        #expect(
            error(
                #"{"name": "a", "stream": {"name": "s"}, "phases": [{"name": "p", "atSeconds": 1, "#
                    + #""actions": [{"action": "explode"}]}]}"#
            )
            .contains("unknown action 'explode'"))
        #expect(
            error(
                #"{"name": "a", "stream": {"name": "s"}, "producers": [{"name": "p", "#
                    + #""keys": {"type": "uniform", "count": 3}}]}"#
            )
            .contains("needs 'recordsPerSecond' or 'bytesPerSecond'"))
        func faults(_ spec: String) -> String {
            error(
                #"{"name": "a", "stream": {"name": "s"}, "phases": [{"name": "p", "atSeconds": 1, "actions": "#
                    + #"[{"action": "setFaults", "faults": "\#(spec)"}]}]}"#)
        }
        #expect(faults("record-failure=1.5").contains("x.json: action 'setFaults': --faults 'record-failure=1.5'"))
        #expect(faults("explode=0.1").contains("unknown kind 'explode'"))
        #expect(faults("record-failure=0.1") == "")
        #expect(faults("off") == "")
        #expect(
            error(
                #"{"name": "a", "stream": {"name": "s"}, "phases": [{"name": "p", "atSeconds": 1, "actions": "#
                    + #"[{"action": "setFaults"}]}]}"#
            ).contains("action 'setFaults' needs 'faults"))
    }

    @Test func setFaultsOffRoundTrips() throws {
        let json =
            #"{"name": "a", "stream": {"name": "s"}, "phases": [{"name": "p", "atSeconds": 1, "actions": "#
            + #"[{"action": "setFaults", "faults": "record-failure=0.2"}, {"action": "setFaults", "faults": "off"}]}]}"#
        let s = try ScenarioFile.decode(Data(json.utf8))
        #expect(s.phases.first?.actions == [.setFaults("record-failure=0.2"), .setFaults(nil)])
        #expect(try ScenarioFile.decode(try ScenarioFile.encode(s)) == s)
    }
}
