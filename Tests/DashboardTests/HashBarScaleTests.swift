import Dashboard
import Foundation
import Metrics
import StreamEngine
import Testing

/// The hash key space pane at 1,000 and 10,000 shards (issue 16): columns
/// aggregate the shards narrower than a column (the hottest shows),
/// boundaries and labels only where they fit, the selected shard labelled.
@Suite("Wide streams: the hash key space")
struct HashBarScaleTests {
    /// The hash bar row (below its title) of a model.
    func bar(_ model: DashboardModel) -> String {
        let grid = Renderer.render(model)
        let r = model.layout.hashBar
        return String(grid.text(of: Rect(x: r.x, y: r.y + 1, width: r.width, height: 1)))
    }

    @Test("1,000 and 10,000 shards: no boundary in every column, the hottest shard shows, the selection is labelled",
          arguments: [1_000, 10_000])
    func hashBarAggregates(_ n: Int) {
        var model = Fixtures.model(width: 200, height: 60, shards: n)
        let text = bar(model)
        // Shards of one column or less: no boundaries at all (before: one in every column).
        #expect(!text.contains("┃"))
        // Shard 1 is throttled among warm and cold neighbours: the hottest in its column wins.
        #expect(text.unicodeScalars.contains(Glyphs(unicode: true).heat(.throttled)))
        // The selected shard (shard 1) is labelled over its column though it is far narrower than its label.
        #expect(text.contains("0001"))
        // Select a shard in the middle: its label moves there.
        let middle = String(format: "shardId-%012d", n / 2)
        model.view.selectedShardId = middle
        let moved = bar(model)
        #expect(moved.contains(Format.shortShardId(middle)))
        #expect(!moved.contains("0001"))
        assertSnapshot(
            Renderer.render(model).text(of: model.layout.hashBar), named: "hashbar-\(n)-shards-200x60")
    }

    @Test("a few shards keep their boundaries and labels")
    func hashBarFewShards() {
        let model = Fixtures.model(width: 200, height: 60, shards: 30)
        let text = bar(model)
        // 30 shards in 200 columns: 6 or 7 columns each, so every boundary and label fits.
        #expect(text.filter { $0 == "┃" }.count == 29)
        #expect(text.contains("0001") && text.contains("0029"))
    }
}
