import Dashboard
import Foundation
import Metrics
import StreamEngine
import Testing

/// Refreshes between metrics ticks (issue 16): a build given the data of the
/// same tick as `previous` borrows its rows and advice and reads only the
/// histories the screen now asks for; what the dashboard shows is what a
/// fresh build shows, and the next tick computes everything anew.
@Suite("Wide streams: refreshes between ticks")
struct TickReuseTests {
    /// A 300-shard stream (wide enough that the model asks for a screenful of histories), every key new each second.
    static func rig() throws -> WideStreamRig {
        try WideStreamRig(shards: 300, recordsPerTick: 900, keysPerTick: 900, sizeSpread: 200)
    }

    static func model(_ data: DashboardData, sortKey: SortKey = .hashKey, descending: Bool = false) -> DashboardModel {
        var view = ViewState()
        view.width = 120
        view.height = 40
        view.sortKey = sortKey
        view.sortDescending = descending
        var model = DashboardModel(view: view)
        model.update(data: data)
        return model
    }

    @Test(
        "a refresh between ticks shows what a fresh build shows: rows, histories, order, selection, screen",
        arguments: [(SortKey.hashKey, false), (.incoming, true), (.utilization, false)])
    func borrowedEqualsFresh(sort: (SortKey, Bool)) throws {
        let rig = try Self.rig()
        for _ in 0..<3 { try rig.tick() }
        try rig.tick(hot: 950)
        var model = Self.model(rig.build(nil), sortKey: sort.0, descending: sort.1)
        model.update(data: rig.build(model.shardIdsShown, previous: model.data))
        let events = model.events.count
        #expect(events == 1)  // the hot shard's advice, logged once
        // Scroll past the built histories (the end of the list, then select a row in the middle).
        for keys in [[Key.end], [.home, .pageDown, .pageDown, .down]] {
            (model, _) = Fixtures.press(model, keys)
            #expect(model.needsHistory)
            let borrowed = rig.build(model.shardIdsShown, previous: model.data)
            let fresh = rig.build(model.shardIdsShown)
            #expect(borrowed == fresh)
            #expect(borrowed.shards.filter { !$0.heatHistory.isEmpty }.count == model.shardIdsShown?.count)
            var shown = model
            shown.update(data: borrowed)
            #expect(!shown.needsHistory)
            #expect(shown.events.count == events)  // the tick's advice is not logged again
            // The model that lists the fresh data from scratch.
            var reference = DashboardModel(data: fresh, view: model.view)
            for e in shown.events { reference.log(e) }
            reference.ensureSelectionVisible()
            #expect(shown.visibleShards == reference.visibleShards)
            #expect(shown.selectedIndex == reference.selectedIndex && shown.view == reference.view)
            #expect(Renderer.render(shown).text == Renderer.render(reference).text)
            model = shown
        }
    }

    @Test("the rows and advice of the tick's earlier build are borrowed, and only from the same tick")
    func borrowsOnlyFromTheSameTick() throws {
        let rig = try Self.rig()
        for _ in 0..<3 { try rig.tick() }
        let first = rig.build(nil)
        let tick = try #require(first.tick)
        #expect(tick.shardCount == 300 && tick.historySeconds == 240)
        // A stand-in the advisor never gives: borrowed within the tick, gone after it.
        var marked = first
        marked.advice = [AdviceRow(action: "split", shardId: "marker", reason: "borrowed")]
        marked.shards[5].incomingBytes = -1
        let same = rig.build(nil, previous: marked)
        #expect(same.advice == marked.advice && same.shards[5].incomingBytes == -1)
        // Other limits or another history length are another tick: built anew.
        #expect(rig.build(nil, previous: marked, limits: .off) == rig.build(nil, limits: .off))
        let longer = DashboardData.build(
            store: rig.store, streamName: "wide", scenario: "t", clockKind: "manual", limits: .aws, scenarios: [],
            historySeconds: 241, previous: marked)
        #expect(longer.advice != marked.advice && longer.shards[5].incomingBytes >= 0)
        // The next tick: built anew.
        try rig.tick()
        let next = rig.build(nil, previous: marked)
        #expect(next.tick != tick && next.tick?.time == tick.time + .seconds(1))
        #expect(next == rig.build(nil))
        #expect(!next.advice.contains { $0.shardId == "marker" } && next.shards[5].incomingBytes >= 0)
    }

    @Test("advice borrowed within a tick is computed anew when the tick changes, and logged once")
    func adviceFollowsTheTick() throws {
        let rig = try Self.rig()
        for _ in 0..<3 { try rig.tick() }
        var model = Self.model(rig.build(nil))
        let quiet = model.data.advice
        #expect(!quiet.contains { $0.action == "split" })
        model.update(data: rig.build(model.shardIdsShown, previous: model.data))
        #expect(model.data.advice == quiet)
        // One key goes hot: the next tick's build advises splitting its shard, though given the quiet tick's data.
        try rig.tick(hot: 950)
        model.update(data: rig.build(model.shardIdsShown, previous: model.data))
        let split = model.data.advice.filter { $0.action == "split" }
        let hot = try #require(split.first?.shardId)
        #expect(split.count == 1 && split.first?.reason.contains("\(hot) is hot") == true)
        #expect(model.data.advice == rig.build(nil).advice)
        #expect(model.data.shards.first { $0.shardId == hot }?.advisedSplitKey != nil)
        func logged(_ m: DashboardModel) -> Int {
            m.events.filter { $0.kind == .advice && $0.text.hasPrefix("Advice (split): \(hot) is hot") }.count
        }
        #expect(logged(model) == 1)
        // Refreshes before the next tick neither recompute nor log it again.
        model.update(data: rig.build(model.shardIdsShown, previous: model.data))
        #expect(logged(model) == 1)
        // The hot shard leads the list by IncomingBytes.
        model.view.sortKey = .incoming
        model.view.sortDescending = true
        #expect(model.visibleShards.first?.shardId == hot)
    }
}
