import Dashboard
import Testing

/// Key handling is a pure function of (model, key) → (model, commands).
@Suite("Key handling")
struct KeyHandlingTests {
    let base = Fixtures.model()

    @Test("arrows and j/k move the selection within bounds")
    func selection() {
        var (m, cmds) = Fixtures.press(base, [.down])
        #expect(m.view.selectedShardId == "shardId-000000000002")
        (m, cmds) = Fixtures.press(m, [.char("j"), .char("j"), .char("j")])
        #expect(m.view.selectedShardId == "shardId-000000000003")
        (m, cmds) = Fixtures.press(m, [.up, .char("k"), .char("k"), .char("k")])
        #expect(m.view.selectedShardId == "shardId-000000000000")
        #expect(cmds.isEmpty)
    }

    @Test("s opens a split prompt with the advised key; Enter splits there")
    func splitAdvised() {
        let advised = base.data.shards[1].advisedSplitKey!
        let (m, none) = Fixtures.press(base, [.char("s")])
        guard case .prompt(let p) = m.view.overlay else {
            Issue.record("no prompt")
            return
        }
        #expect(p.text == String(advised))
        #expect(p.label.contains("advised"))
        #expect(none.isEmpty)
        let (after, cmds) = Fixtures.press(m, [.enter])
        #expect(cmds == [.splitShard(shardId: "shardId-000000000001", hashKey: String(advised))])
        #expect(after.view.overlay == .none)
    }

    @Test("without advice the split key is the midpoint, and it can be edited")
    func splitMidpoint() {
        var model = base
        model.view.selectedShardId = "shardId-000000000000"
        let shard = model.data.shards[0]
        let mid = shard.startingHashKey + (shard.endingHashKey - shard.startingHashKey) / 2 + 1
        var (m, _) = Fixtures.press(model, [.char("s")])
        guard case .prompt(let p) = m.view.overlay else {
            Issue.record("no prompt")
            return
        }
        #expect(p.text == String(mid))
        #expect(p.label.contains("midpoint"))
        // Clear it, type a key (letters are ignored), confirm.
        (m, _) = Fixtures.press(m, Array(repeating: .backspace, count: 60) + Fixtures.chars("12x3"))
        let (_, cmds) = Fixtures.press(m, [.enter])
        #expect(cmds == [.splitShard(shardId: "shardId-000000000000", hashKey: "123")])
    }

    @Test("Esc cancels a prompt without a command")
    func cancel() {
        let (m, cmds) = Fixtures.press(base, [.char("s"), .escape])
        #expect(m.view.overlay == .none)
        #expect(cmds.isEmpty)
    }

    @Test("m offers the adjacent neighbours and merges the lower range first")
    func merge() {
        var (m, _) = Fixtures.press(base, [.char("m")])
        guard case .menu(let menu) = m.view.overlay else {
            Issue.record("no menu")
            return
        }
        #expect(menu.items.count == 2)
        var cmds: [DashboardCommand]
        (m, cmds) = Fixtures.press(m, [.down, .enter])
        #expect(cmds == [.mergeShards(shardId: "shardId-000000000001", adjacentShardId: "shardId-000000000002")])
        (m, cmds) = Fixtures.press(base, [.char("m"), .char("1")])
        #expect(cmds == [.mergeShards(shardId: "shardId-000000000000", adjacentShardId: "shardId-000000000001")])
        // The first shard has only an upper neighbour.
        var first = base
        first.view.selectedShardId = "shardId-000000000000"
        (m, _) = Fixtures.press(first, [.char("m")])
        guard case .menu(let only) = m.view.overlay else {
            Issue.record("no menu")
            return
        }
        #expect(
            only.items.map(\.command) == [
                .mergeShards(shardId: "shardId-000000000000", adjacentShardId: "shardId-000000000001")
            ])
    }

    @Test("u asks for a shard count")
    func updateShardCount() {
        let (m, _) = Fixtures.press(base, [.char("u")])
        guard case .prompt(let p) = m.view.overlay else {
            Issue.record("no prompt")
            return
        }
        #expect(p.text == "4")
        let (_, cmds) = Fixtures.press(m, [.backspace, .char("8"), .enter])
        #expect(cmds == [.updateShardCount(target: 8)])
    }

    @Test("+ and - scale the producers' rate")
    func rate() {
        let (m, cmds) = Fixtures.press(base, [.char("+"), .char("+"), .char("-")])
        #expect(cmds == [.setRateFactor(1.25), .setRateFactor(1.5625), .setRateFactor(1.25)])
        #expect(m.view.rateFactor == 1.25)
    }

    @Test("K cycles the key strategy: uniform, zipf, hot key, salted")
    func keyStrategy() {
        let (m, cmds) = Fixtures.press(base, Array(repeating: .char("K"), count: 5))
        #expect(
            cmds == [
                .setKeyStrategy(.uniform), .setKeyStrategy(.zipf), .setKeyStrategy(.hotKey), .setKeyStrategy(.salted),
                .setKeyStrategy(.uniform),
            ])
        #expect(m.view.keyStrategy == .uniform)
    }

    @Test("c adds or removes consumers")
    func consumers() {
        var (m, cmds) = Fixtures.press(base, [.char("c")])
        guard case .menu(let menu) = m.view.overlay else {
            Issue.record("no menu")
            return
        }
        #expect(
            menu.items.map(\.command) == [
                .addConsumer(.polling), .addConsumer(.efo),
                .removeConsumer(name: "alerts", kind: .efo), .removeConsumer(name: "analytics", kind: .polling),
            ])
        (m, cmds) = Fixtures.press(m, [.char("2")])
        #expect(cmds == [.addConsumer(.efo)])
        (m, cmds) = Fixtures.press(base, [.char("c"), .escape])
        #expect(cmds.isEmpty && m.view.overlay == .none)
    }

    @Test("o switches the capacity mode after a confirmation")
    func mode() {
        let (_, cmds) = Fixtures.press(base, [.char("o"), .enter])
        #expect(cmds == [.setStreamMode("ON_DEMAND")])
        var onDemand = base
        onDemand.data.mode = "ON_DEMAND"
        #expect(Fixtures.press(onDemand, [.char("o"), .enter]).1 == [.setStreamMode("PROVISIONED")])
    }

    @Test("space pauses the view and says the engine keeps running")
    func pause() {
        let (m, cmds) = Fixtures.press(base, [.char(" ")])
        #expect(m.view.paused && cmds.isEmpty)
        #expect(m.events.last?.text.contains("engine keeps running") == true)
        #expect(Renderer.render(m).text.contains("PAUSED"))
        #expect(!Fixtures.press(m, [.char(" ")]).0.view.paused)
    }

    @Test("< and > change the refresh interval within bounds")
    func refresh() {
        #expect(Fixtures.press(base, [.char("<")]).0.view.refreshInterval == 0.5)
        #expect(Fixtures.press(base, Array(repeating: .char("<"), count: 9)).0.view.refreshInterval == 0.25)
        #expect(Fixtures.press(base, [.char(">")]).0.view.refreshInterval == 2)
        #expect(Fixtures.press(base, Array(repeating: .char(">"), count: 9)).0.view.refreshInterval == 10)
    }

    @Test("f steps the clock speed; a manual clock refuses")
    func clockSpeed() {
        #expect(Fixtures.press(base, [.char("f")]).1 == [.setClockSpeed(2)])
        var fast = base
        fast.data.clockSpeed = 60
        #expect(Fixtures.press(fast, [.char("f")]).1 == [.setClockSpeed(1)])
        var manual = base
        manual.data.clockKind = "manual"
        let (m, cmds) = Fixtures.press(manual, [.char("f")])
        #expect(cmds.isEmpty)
        #expect(m.events.last?.kind == .error)
    }

    @Test("n picks a scenario")
    func scenario() {
        #expect(Fixtures.press(base, [.char("n"), .enter]).1 == [.runScenario("demo")])
    }

    @Test("q and F10 quit; in help, q only closes help")
    func quit() {
        #expect(Fixtures.press(base, [.char("q")]).1 == [.quit])
        #expect(Fixtures.press(base, [.function(10)]).1 == [.quit])
        let (m, cmds) = Fixtures.press(base, [.function(1), .char("q")])
        #expect(cmds.isEmpty && m.view.overlay == .none)
        #expect(Fixtures.press(base, [.char("?"), .function(10)]).1 == [.quit])
    }

    @Test("F1, ? and h open help; Tab turns to the Kafka page")
    func help() {
        for key in [Key.function(1), .char("?"), .char("h")] {
            #expect(Fixtures.press(base, [key]).0.view.overlay == .help(page: 0))
        }
        #expect(Fixtures.press(base, [.char("?"), .tab]).0.view.overlay == .help(page: 1))
    }

    @Test("/ filters the table as you type; Esc clears")
    func filter() {
        var (m, _) = Fixtures.press(base, [.char("/")] + Fixtures.chars("0003"))
        #expect(m.visibleShards.map(\.shardId) == ["shardId-000000000003"])
        (m, _) = Fixtures.press(m, [.enter])
        #expect(m.view.filter == "0003" && m.view.overlay == .none)
        #expect(Fixtures.press(m, [.escape]).0.visibleShards.count == 4)
        // Heat names and top keys match too.
        #expect(
            Fixtures.press(base, [.char("/")] + Fixtures.chars("throttled")).0.visibleShards.map(\.shardId) == [
                "shardId-000000000001"
            ])
        #expect(
            Fixtures.press(base, [.char("/")] + Fixtures.chars("user-22")).0.visibleShards.map(\.shardId) == [
                "shardId-000000000002"
            ])
    }

    @Test("Tab sorts by the next column, hottest first; r reverses")
    func sort() {
        var (m, _) = Fixtures.press(base, [.tab])
        #expect(m.view.sortKey == .incoming)
        #expect(m.visibleShards.first?.shardId == "shardId-000000000001")
        (m, _) = Fixtures.press(m, [.char("r")])
        #expect(m.visibleShards.last?.shardId == "shardId-000000000001")
    }

    @Test("paging through 1,000 shards keeps the selection on screen")
    func paging() {
        var m = Fixtures.model(width: 80, height: 24, shards: 1000)
        (m, _) = Fixtures.press(m, [.pageDown, .pageDown])
        let rows = m.visibleShards
        let index = rows.firstIndex { $0.shardId == m.view.selectedShardId }!
        #expect(index > 1)
        #expect(index >= m.view.scroll && index < m.view.scroll + m.layout.tableBodyRows)
        (m, _) = Fixtures.press(m, [.home])
        #expect(m.view.selectedShardId == "shardId-000000000000" && m.view.scroll == 0)
    }

    @Test("a click on a table row or the hash key bar selects that shard")
    func mouse() {
        let l = base.layout
        var (m, _) = Fixtures.press(base, [.click(x: 3, y: l.table.y + 4)])
        #expect(m.view.selectedShardId == "shardId-000000000003")
        (m, _) = Fixtures.press(base, [.click(x: l.hashBar.x + 1, y: l.hashBar.y + 1)])
        #expect(m.view.selectedShardId == "shardId-000000000000")
        (m, _) = Fixtures.press(base, [.wheelDown])
        #expect(m.view.selectedShardId == "shardId-000000000002")
    }

    @Test("a resize below 80x24 shows the too-small screen, where only q works")
    func resize() {
        var (m, cmds) = Fixtures.press(base, [.resize(width: 70, height: 20), .char("s")])
        #expect(m.layout.tooSmall && m.view.overlay == .none && cmds.isEmpty)
        #expect(Fixtures.press(m, [.char("q")]).1 == [.quit])
        (m, _) = Fixtures.press(m, [.resize(width: 200, height: 60)])
        #expect(!m.layout.tooSmall)
    }

    @Test("closed shards cannot be split and are hidden until a")
    func closed() {
        var model = base
        model.data.shards[0].open = false
        #expect(model.visibleShards.count == 3)
        var (m, _) = Fixtures.press(model, [.char("a")])
        #expect(m.visibleShards.count == 4)
        m.view.selectedShardId = "shardId-000000000000"
        var cmds: [DashboardCommand]
        (m, cmds) = Fixtures.press(m, [.char("s")])
        #expect(m.view.overlay == .none && cmds.isEmpty)
        #expect(m.events.last?.text.contains("CLOSED") == true)
    }

    @Test("when the selected shard is split, the selection moves to its first child")
    func selectionFollowsSplit() {
        var m = base
        var d = m.data
        d.shards[1].open = false
        var lower = Fixtures.shard(1, of: 4, incoming: 1)
        lower.shardId = "shardId-000000000004"
        lower.parentShardId = "shardId-000000000001"
        lower.endingHashKey = lower.startingHashKey + (lower.endingHashKey - lower.startingHashKey) / 2
        d.shards.append(lower)
        m.update(data: d)
        #expect(m.view.selectedShardId == "shardId-000000000004")
    }

    @Test("new advice is logged once when data arrives")
    func adviceLogged() {
        var m = DashboardModel()
        m.update(data: Fixtures.data())
        m.update(data: Fixtures.data())
        #expect(m.events.filter { $0.kind == .advice }.count == 1)
        #expect(m.view.selectedShardId == "shardId-000000000000")
    }
}
