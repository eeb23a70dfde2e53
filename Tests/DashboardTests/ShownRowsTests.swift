import Dashboard
import Foundation
import Metrics
import StreamEngine
import Testing

/// The shards a wide stream's screen shows (issue 16): the dashboard lists its shards through their positions
/// and builds the costly parts of a row (its history) only for the shards a screenful can show. For those shards
/// everything on screen must be what full rows give: the listed order under every sort and filter, the selected
/// shard, the rows in the table's window, the heat map, the hash key space, the advice and the whole frame.
@Suite("Wide streams: the rows shown equal full rows")
struct ShownRowsTests {
    /// A stream of `shards` shards fed the same records every run (no randomness), a few keys hot.
    static func rig(shards: Int) throws -> WideStreamRig {
        try WideStreamRig(shards: shards, recordsPerTick: 1_500, keysPerTick: 700, sizeSpread: 300)
    }

    static func view(_ sort: SortKey, descending: Bool, filter: String = "") -> ViewState {
        var view = ViewState()
        view.width = 120
        view.height = 40
        view.sortKey = sort
        view.sortDescending = descending
        view.filter = filter
        return view
    }

    /// What the screen shows of `shown` (rows built for a screenful) is what it shows of `full` (every row built).
    static func expectSameScreen(
        _ shown: DashboardModel, _ full: DashboardModel, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            shown.visibleShards.map(\.shardId) == full.visibleShards.map(\.shardId), sourceLocation: sourceLocation)
        #expect(shown.selectedIndex == full.selectedIndex, sourceLocation: sourceLocation)
        #expect(shown.view == full.view, sourceLocation: sourceLocation)
        #expect(shown.selectedShard == full.selectedShard, sourceLocation: sourceLocation)
        let body = shown.layout.tableBodyRows
        let window = min(shown.view.scroll, shown.visibleShards.count)..<min(
            shown.visibleShards.count, shown.view.scroll + body)
        for i in window {
            #expect(shown.visibleShards[i] == full.visibleShards[i], sourceLocation: sourceLocation)
        }
        #expect(shown.data.advice == full.data.advice, sourceLocation: sourceLocation)
        #expect(Renderer.render(shown).text == Renderer.render(full).text, sourceLocation: sourceLocation)
    }

    /// A refresh as `DashboardRunner` makes it: a build for the screenful shown, and another when the new
    /// order (a tick re-sorts) or a scroll moved the screen past the shards built in full.
    static func refresh(_ model: inout DashboardModel, _ rig: WideStreamRig) {
        model.update(data: rig.build(model.shardIdsShown, previous: model.data))
        if model.needsHistory { model.update(data: rig.build(model.shardIdsShown, previous: model.data)) }
        #expect(!model.needsHistory)
    }

    /// The model as the main loop keeps it: the first build shows everything, later ones a screenful,
    /// rebuilt when scrolling moves past it; against a model over full rows given the same keys.
    static func compare(_ rig: WideStreamRig, _ view: ViewState, keys: [[Key]]) throws {
        var shown = DashboardModel(view: view)
        shown.update(data: rig.build(nil))
        shown.update(data: rig.build(shown.shardIdsShown))
        var full = DashboardModel(view: view)
        full.update(data: rig.build(nil))
        expectSameScreen(shown, full)
        for k in keys {
            (shown, _) = Fixtures.press(shown, k)
            (full, _) = Fixtures.press(full, k)
            if shown.needsHistory { refresh(&shown, rig) }
            expectSameScreen(shown, full)
        }
        // The next tick: built anew for the screenful shown.
        try rig.tick()
        refresh(&shown, rig)
        full.update(data: rig.build(nil, previous: full.data))
        expectSameScreen(shown, full)
    }

    static let scrolls: [[Key]] = [
        [.pageDown, .pageDown, .down], [.end], [.up, .up], [.home], [.pageDown], [.char("r")], [.end, .down],
    ]

    @Test(
        "1,200 shards: every sort, both ways, scrolled to the middle and the end",
        arguments: SortKey.allCases.flatMap { [($0, false), ($0, true)] })
    func everySort(sort: (SortKey, Bool)) throws {
        let rig = try Self.rig(shards: 1_200)
        for _ in 0..<2 { try rig.tick() }
        try rig.tick(hot: 950)
        try Self.compare(rig, Self.view(sort.0, descending: sort.1), keys: Self.scrolls)
    }

    @Test(
        "1,200 shards: filtered by id, heat, top key, and by nothing that matches",
        arguments: ["shardId-0000000011", "cold", "hot", "user-3-1", "the-hot-key", "no such shard"])
    func filters(filter: String) throws {
        let rig = try Self.rig(shards: 1_200)
        for _ in 0..<2 { try rig.tick() }
        try rig.tick(hot: 950)
        try Self.compare(rig, Self.view(.incoming, descending: true, filter: filter), keys: Self.scrolls)
        if filter == "no such shard" {
            var m = DashboardModel(view: Self.view(.incoming, descending: true, filter: filter))
            m.update(data: rig.build(nil))
            #expect(m.visibleShards.isEmpty && m.selectedIndex == nil && m.shardIdsShown == nil)
        }
    }

    @Test("one shard, and a stream not there yet (no shards)")
    func boundaries() throws {
        let one = try Self.rig(shards: 1)
        for _ in 0..<3 { try one.tick() }
        try Self.compare(one, Self.view(.hashKey, descending: false), keys: Self.scrolls)
        try Self.compare(one, Self.view(.utilization, descending: true, filter: "user"), keys: Self.scrolls)
        let none = DashboardData.build(
            store: MetricsStore(), streamName: "wide", scenario: "t", clockKind: "manual", limits: .aws,
            scenarios: [], historyFor: [])
        var m = DashboardModel(view: Self.view(.hashKey, descending: false))
        m.update(data: none)
        #expect(m.visibleShards.isEmpty && m.selectedShard == nil && m.visibleShards.index(ofShard: "x") == nil)
        (m, _) = Fixtures.press(m, [.end, .pageDown, .up])
        #expect(m.view.scroll == 0 && !Renderer.render(m).text.isEmpty)
    }

    @Test("the listed shards read the data's rows in listed order, and compare as the rows do")
    func listedShardsAreTheRows() throws {
        var m = Fixtures.model(width: 120, height: 40, shards: 300)
        m.view.sortKey = .incoming
        m.view.sortDescending = true
        let listed = Array(m.visibleShards)
        #expect(listed.count == 300 && m.visibleShards.count == 300)
        #expect(listed.map(\.shardId) == m.visibleShards.map(\.shardId))
        for (i, row) in listed.enumerated() {
            #expect(m.visibleShards.index(ofShard: row.shardId) == i)
            #expect(m.data.shards.contains(row))
        }
        var other = m
        other.data.shards[0].incomingBytes += 1
        #expect(other.visibleShards != m.visibleShards)
        #expect(m.visibleShards.index(ofShard: nil) == nil)
    }
}

/// What the model logs of new advice turns on its action and shard alone (`DashboardModel.update`).
@Suite("Advice logged by action and shard")
struct AdviceLoggingTests {
    static func data(_ advice: [AdviceRow], second: Int) -> DashboardData {
        var d = DashboardData()
        d.time = "00:00:0\(second)"
        d.advice = advice
        return d
    }

    @Test("a reason reworded is not logged again; a new pair, a changed action or a shorter list is judged by pairs")
    func loggedByPair() {
        let merge = AdviceRow(action: "merge", shardId: "shardId-000000000001", reason: "cold for a minute")
        let split = AdviceRow(action: "split", shardId: "shardId-000000000002", reason: "hot at 90%")
        var m = DashboardModel()
        m.update(data: Self.data([merge], second: 1))
        #expect(m.events.map(\.text) == ["Advice (merge): cold for a minute"])
        var reworded = merge
        reworded.reason = "cold for two minutes"
        m.update(data: Self.data([reworded], second: 2))
        #expect(m.events.count == 1)
        m.update(data: Self.data([reworded, split], second: 3))
        #expect(m.events.map(\.text).last == "Advice (split): hot at 90%" && m.events.count == 2)
        var other = split
        other.action = "salt"
        m.update(data: Self.data([reworded, other], second: 4))
        #expect(m.events.map(\.text).last == "Advice (salt): hot at 90%" && m.events.count == 3)
        m.update(data: Self.data([reworded], second: 5))
        m.update(data: Self.data([], second: 6))
        #expect(m.events.count == 3)
    }
}
