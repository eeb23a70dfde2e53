import Dashboard
import Foundation
import Metrics
import StreamEngine
import Testing

/// The dashboard's model at 1,000 and 10,000 shards (issue 16): the listed
/// shards are sorted once, and a wide stream's data carries histories for a
/// screenful of shards only.
@Suite("Wide streams: the model")
struct WideStreamModelTests {
    @Test("the listed shards are sorted once, as sorting the rows gives, and follow the view")
    func listedShardsFollowTheView() {
        var model = Fixtures.model(width: 120, height: 40, shards: 300)
        func reference(_ m: DashboardModel) -> [String] {
            var rows = m.data.shards.filter { m.view.showClosed || $0.open }
            let f = m.view.filter.lowercased()
            if !f.isEmpty { rows = rows.filter { $0.shardId.lowercased().contains(f) || $0.heat.rawValue == f } }
            switch m.view.sortKey {
            case .incoming:
                rows.sort { a, b in
                    guard a.incomingBytes != b.incomingBytes else { return a.startingHashKey < b.startingHashKey }
                    return m.view.sortDescending ? a.incomingBytes > b.incomingBytes : a.incomingBytes < b.incomingBytes
                }
            default:
                rows.sort { ($0.startingHashKey, $0.shardId) < ($1.startingHashKey, $1.shardId) }
                if m.view.sortDescending { rows.reverse() }
            }
            return rows.map(\.shardId)
        }
        #expect(model.visibleShards.map(\.shardId) == reference(model))
        model.view.sortKey = .incoming
        model.view.sortDescending = true
        #expect(model.visibleShards.map(\.shardId) == reference(model))
        #expect(model.visibleShards.first?.shardId == "shardId-000000000001")
        model.view.filter = "hot"
        #expect(model.visibleShards.map(\.shardId) == reference(model))
        model.view.filter = ""
        model.data.shards[7].incomingBytes = 9e9
        #expect(model.visibleShards.first?.shardId == "shardId-000000000007")
        model.view.selectedShardId = "shardId-000000000007"
        #expect(model.selectedIndex == 0 && model.selectedShard?.shardId == "shardId-000000000007")
        model.view.selectedShardId = "no such shard"
        #expect(model.selectedIndex == nil && model.selectedShard?.shardId == "shardId-000000000007")
    }

    @Test("a wide stream's data carries a screenful of histories; scrolling past them asks for a rebuild")
    func historiesForAScreenful() throws {
        let clock = ManualClock()
        var config = EngineConfiguration()
        config.delays = .immediate
        let engine = KinesisEngine(clock: clock, configuration: config)
        _ = try engine.service().createStream(CreateStreamInput(streamName: "wide", shardCount: 1_000))
        var store = MetricsStore()
        for _ in 0..<3 {
            clock.advance(by: .seconds(1))
            store.ingest(engine.sample())
        }
        var model = DashboardModel()
        model.view.width = 120
        model.view.height = 40
        func build(_ ids: Set<String>?) -> DashboardData {
            DashboardData.build(
                store: store, streamName: "wide", scenario: "t", clockKind: "manual", limits: .aws, scenarios: [],
                historyFor: ids)
        }
        model.update(data: build(nil))
        #expect(model.data.shards.allSatisfy { $0.incomingHistory.count == 2 && $0.heatHistory.count == 2 })
        #expect(!model.needsHistory)
        let shown = try #require(model.shardIdsShown)
        #expect(shown.count < 200 && shown.contains("shardId-000000000000"))
        model.update(data: build(shown))
        #expect(model.data.historyShardIds == shown)
        #expect(model.data.shards.filter { !$0.heatHistory.isEmpty }.count == shown.count)
        #expect(model.data.shards.count == 1_000)
        #expect(!model.needsHistory)
        // Jump to the end: rows without a history are on screen.
        (model, _) = Fixtures.press(model, [.end])
        #expect(model.needsHistory)
        model.update(data: build(model.shardIdsShown))
        #expect(!model.needsHistory)
        #expect(model.data.shards.last?.heatHistory.count == 2)
        // A small stream gets every history.
        #expect(Fixtures.model(width: 120, height: 40, shards: 20).shardIdsShown == nil)
    }
}
