import Foundation
import StreamEngine

/// Key bindings: a pure function of (model, key) → (new model, commands), so
/// every binding is unit-tested without a terminal or an engine.
extension DashboardModel {
    /// Clock speeds `f` cycles through.
    public static let clockSpeeds: [Double] = [1, 2, 5, 10, 60]
    /// Refresh interval bounds for `<` and `>`.
    public static let refreshRange: ClosedRange<Double> = 0.25...10
    /// Step of `+` and `-` on the producers' rate.
    public static let rateStep = 1.25

    public var layout: Layout {
        Layout(
            width: view.width, height: view.height, shardRows: visibleShards.count,
            serviceRows: ServicesPane.wantedRows(data))
    }

    /// Applies one key; returns the new model and what to ask of the engine.
    public func handle(_ key: Key) -> (DashboardModel, [DashboardCommand]) {
        var m = self
        var out: [DashboardCommand] = []
        if case .resize(let w, let h) = key {
            m.view.width = w
            m.view.height = h
            m.ensureSelectionVisible()
            return (m, [])
        }
        if key == .function(10) { return (m, [.quit]) }
        var confirmed = false
        switch m.view.overlay {
        case .help(let page): m.handleHelp(key, page: page, &out)
        case .prompt(let p): m.handlePrompt(key, p, &out)
        case .menu(let menu):
            confirmed = menu.isConfirmation
            m.handleMenu(key, menu, &out)
        case .none: m.handleNormal(key, &out)
        }
        if m.data.attachedTo != nil && !confirmed { out = out.compactMap { m.confirmOnRealStream($0) } }
        return (m, out)
    }

    /// Attached to a real stream, an action that changes it first asks, naming the
    /// operation, the stream and the account and endpoint; `--read-only` refuses it.
    private mutating func confirmOnRealStream(_ c: DashboardCommand) -> DashboardCommand? {
        guard c.changesStream, let endpoint = data.attachedTo else { return c }
        if data.readOnly {
            note(.error, "Attached read-only (--read-only): \(c.operation) was not sent")
            return nil
        }
        let account =
            data.streamARN.split(separator: ":", omittingEmptySubsequences: false).dropFirst(4).first.map(String.init)
            ?? "?"
        var menu = Menu(
            title: "\(c.operation) on stream \(data.streamName), account \(account) at \(endpoint)? (Esc cancels)",
            items: [Menu.Item("Yes: \(c.operation) on the real stream", c)])
        menu.isConfirmation = true
        view.overlay = .menu(menu)
        return nil
    }

    mutating func note(_ kind: EventLine.Kind, _ text: String) {
        log(EventLine(time: data.time, kind: kind, text: text))
    }

    private mutating func handleNormal(_ key: Key, _ out: inout [DashboardCommand]) {
        if layout.tooSmall {
            if key == .char("q") { out.append(.quit) }
            return
        }
        switch key {
        case .char("q"): out.append(.quit)
        case .function(1), .char("?"), .char("h"): view.overlay = .help(page: 0)
        case .up, .char("k"), .wheelUp: moveSelection(by: -1)
        case .down, .char("j"), .wheelDown: moveSelection(by: 1)
        case .pageUp: moveSelection(by: -max(1, layout.tableBodyRows - 1))
        case .pageDown: moveSelection(by: max(1, layout.tableBodyRows - 1))
        case .home, .char("g"): moveSelection(by: -Int.max / 2)
        case .end, .char("G"): moveSelection(by: Int.max / 2)
        case .tab:
            let all = SortKey.allCases
            view.sortKey = all[(all.firstIndex(of: view.sortKey)! + 1) % all.count]
            view.sortDescending = view.sortKey != .hashKey
            ensureSelectionVisible()
        case .backTab, .char("r"):
            view.sortDescending.toggle()
            ensureSelectionVisible()
        case .char("/"):
            view.overlay = .prompt(
                Prompt(
                    purpose: .filter, label: "Filter shards (id, top key or cold/warm/hot/throttled):",
                    text: view.filter))
        case .escape:
            if !view.filter.isEmpty {
                view.filter = ""
                ensureSelectionVisible()
            }
        case .char("a"):
            view.showClosed.toggle()
            ensureSelectionVisible()
        case .char(" "):
            view.paused.toggle()
            note(.action, view.paused ? "View paused (the engine keeps running); space resumes" : "View resumed")
        case .char("<"), .char(","):
            view.refreshInterval = max(Self.refreshRange.lowerBound, view.refreshInterval / 2)
        case .char(">"), .char("."):
            view.refreshInterval = min(Self.refreshRange.upperBound, view.refreshInterval * 2)
        case .char("b"): view.blockChart.toggle()
        case .char("s"): beginSplit()
        case .char("m"): beginMerge()
        case .char("u"):
            let target = data.advice.first { $0.action == "scale" }?.targetShardCount ?? data.openShards
            let allowed = KinesisLimits.updateShardCountTargets(current: data.openShards)
            let low = allowed.lowerBound
            let high = allowed.upperBound
            view.overlay = .prompt(
                Prompt(
                    purpose: .updateShardCount,
                    label: "UpdateShardCount of \(data.streamName) to (\(low)-\(high), UNIFORM_SCALING):",
                    text: String(max(target, 1))))
        case .char("+"), .char("="):
            view.rateFactor *= Self.rateStep
            out.append(.setRateFactor(view.rateFactor))
        case .char("-"), .char("_"):
            view.rateFactor = max(0.01, view.rateFactor / Self.rateStep)
            out.append(.setRateFactor(view.rateFactor))
        case .char("K"):
            view.keyStrategy = view.keyStrategy.next
            out.append(.setKeyStrategy(view.keyStrategy))
        case .char("c"): beginConsumers()
        case .char("o"):
            let target = data.mode == "ON_DEMAND" ? "PROVISIONED" : "ON_DEMAND"
            view.overlay = .menu(
                Menu(
                    title: "UpdateStreamMode (at most 2 switches per stream per 24 h)",
                    items: [
                        Menu.Item("Switch \(data.streamName) from \(data.mode) to \(target)", .setStreamMode(target))
                    ]))
        case .char("f"):
            if data.clockKind == "manual" {
                note(
                    .error,
                    "The clock is manual (--speed max): it runs as fast as the CPU allows and has no speed to change")
            } else {
                let speeds = Self.clockSpeeds
                let next = speeds.first { $0 > data.clockSpeed + 0.001 } ?? speeds[0]
                out.append(.setClockSpeed(next))
            }
        case .char("n"):
            view.overlay = .menu(
                Menu(
                    title: "Run a scenario (restarts the engine)",
                    items: data.scenarios.map { Menu.Item($0, .runScenario($0)) }))
        case .click(let x, let y): click(x: x, y: y)
        default: break
        }
    }

    private mutating func beginSplit() {
        guard let shard = selectedShard else {
            note(.error, "No shard selected to split")
            return
        }
        guard shard.open else {
            note(.error, "\(shard.shardId) is CLOSED: SplitShard needs an open shard")
            return
        }
        let advised = shard.advisedSplitKey != nil
        view.overlay = .prompt(
            Prompt(
                purpose: .split(shardId: shard.shardId),
                label: "SplitShard \(shard.shardId) at NewStartingHashKey (\(advised ? "advised" : "midpoint")):",
                text: String(shard.defaultSplitKey)))
    }

    /// Open shards whose hash ranges touch the selected one's.
    public func mergeNeighbours(of shard: ShardRow) -> (lower: ShardRow?, upper: ShardRow?) {
        let open = data.shards.filter(\.open)
        let lower = shard.startingHashKey == 0 ? nil : open.first { $0.endingHashKey == shard.startingHashKey - 1 }
        let upper =
            shard.endingHashKey == UInt128.max ? nil : open.first { $0.startingHashKey == shard.endingHashKey + 1 }
        return (lower, upper)
    }

    private mutating func beginMerge() {
        guard let shard = selectedShard else {
            note(.error, "No shard selected to merge")
            return
        }
        guard shard.open else {
            note(.error, "\(shard.shardId) is CLOSED: MergeShards needs two adjacent open shards")
            return
        }
        let (lower, upper) = mergeNeighbours(of: shard)
        var items: [Menu.Item] = []
        if let lower {
            items.append(
                Menu.Item(
                    "with \(lower.shardId) (the hash range below)",
                    .mergeShards(shardId: lower.shardId, adjacentShardId: shard.shardId)))
        }
        if let upper {
            items.append(
                Menu.Item(
                    "with \(upper.shardId) (the hash range above)",
                    .mergeShards(shardId: shard.shardId, adjacentShardId: upper.shardId)))
        }
        guard !items.isEmpty else {
            note(.error, "\(shard.shardId) has no adjacent open shard to merge with")
            return
        }
        view.overlay = .menu(Menu(title: "MergeShards \(shard.shardId) …", items: items))
    }

    private mutating func beginConsumers() {
        var items = [
            Menu.Item(
                "Add a polling consumer (GetRecords: shares each shard's \(Format.bytes(data.shardReadBytes))/s"
                    + " and \(data.shardReadCalls) calls/s)", .addConsumer(.polling)),
            Menu.Item(
                "Add an enhanced fan-out consumer (its own \(Format.bytes(data.shardReadBytes))/s per shard)",
                .addConsumer(.efo)),
        ]
        for c in data.consumers {
            items.append(
                Menu.Item(
                    "Remove \(c.name) (\(c.kind == .efo ? "enhanced fan-out" : "polling"))",
                    .removeConsumer(name: c.name, kind: c.kind)))
        }
        view.overlay = .menu(Menu(title: "Consumers", items: items))
    }

    private mutating func handleHelp(_ key: Key, page: Int, _ out: inout [DashboardCommand]) {
        switch key {
        case .tab, .right, .left, .backTab, .char("l"), .char("t"), .char(" "):
            view.overlay = .help(page: page == 0 ? 1 : 0)
        default: view.overlay = .none
        }
    }

    private mutating func handlePrompt(_ key: Key, _ prompt: Prompt, _ out: inout [DashboardCommand]) {
        var p = prompt
        switch key {
        case .escape:
            if p.purpose == .filter {
                view.filter = ""
                ensureSelectionVisible()
            }
            view.overlay = .none
            return
        case .enter:
            view.overlay = .none
            let text = p.text.trimmingCharacters(in: .whitespaces)
            switch p.purpose {
            case .filter:
                view.filter = text
                ensureSelectionVisible()
            case .split(let id):
                guard !text.isEmpty else { return }
                out.append(.splitShard(shardId: id, hashKey: text))
            case .updateShardCount:
                guard let n = Int(text) else {
                    note(.error, "UpdateShardCount needs a whole number of shards, not '\(text)'")
                    return
                }
                out.append(.updateShardCount(target: n))
            }
            return
        case .backspace:
            if !p.text.isEmpty { p.text.removeLast() }
        case .char(let c):
            switch p.purpose {
            case .filter: p.text.append(c)
            case .split, .updateShardCount: if c.isASCII && c.isNumber { p.text.append(c) }
            }
        default: return
        }
        if p.purpose == .filter {
            view.filter = p.text
            ensureSelectionVisible()
        }
        view.overlay = .prompt(p)
    }

    private mutating func handleMenu(_ key: Key, _ menu: Menu, _ out: inout [DashboardCommand]) {
        var m = menu
        switch key {
        case .escape, .char("q"):
            view.overlay = .none
            return
        case .up, .char("k"): m.selected = max(0, m.selected - 1)
        case .down, .char("j"): m.selected = min(m.items.count - 1, m.selected + 1)
        case .enter:
            view.overlay = .none
            if m.items.indices.contains(m.selected) { out.append(m.items[m.selected].command) }
            return
        case .char(let c):
            if let d = c.wholeNumberValue, d >= 1, d <= m.items.count {
                view.overlay = .none
                out.append(m.items[d - 1].command)
                return
            }
        default: break
        }
        view.overlay = .menu(m)
    }

    private mutating func moveSelection(by delta: Int) {
        let rows = visibleShards
        guard !rows.isEmpty else { return }
        let current = selectedIndex ?? 0
        let next = min(max(0, current + delta), rows.count - 1)
        view.selectedShardId = rows[next].shardId
        ensureSelectionVisible()
    }

    /// Scrolls the table so the selected row is shown.
    public mutating func ensureSelectionVisible() {
        let rows = visibleShards
        let body = max(1, layout.tableBodyRows)
        let index = selectedIndex ?? 0
        if index < view.scroll { view.scroll = index }
        if index >= view.scroll + body { view.scroll = index - body + 1 }
        view.scroll = max(0, min(view.scroll, max(0, rows.count - body)))
    }

    private mutating func click(x: Int, y: Int) {
        let l = layout
        let rows = visibleShards
        if l.table.contains(x: x, y: y), y > l.table.y {
            let i = view.scroll + (y - l.table.y - 1)
            if rows.indices.contains(i) { view.selectedShardId = rows[i].shardId }
        } else if l.heat.contains(x: x, y: y), y > l.heat.y {
            let i = view.scroll + (y - l.heat.y - 1)
            if rows.indices.contains(i) { view.selectedShardId = rows[i].shardId }
        } else if l.hashBar.contains(x: x, y: y), l.hashBar.width > 0 {
            let key = HashBar.key(atColumn: x - l.hashBar.x, width: l.hashBar.width)
            if let shard = data.shards.first(where: { $0.open && $0.startingHashKey <= key && key <= $0.endingHashKey })
            {
                view.selectedShardId = shard.shardId
            }
        }
        ensureSelectionVisible()
    }
}
