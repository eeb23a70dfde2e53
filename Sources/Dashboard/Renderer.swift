/// Draws a `DashboardModel` into a `CellGrid`: the only way anything reaches
/// the screen. Pure: no I/O, no clock, no engine; the same model always gives
/// the same grid.
public enum Renderer {
    public static func render(_ model: DashboardModel) -> CellGrid {
        let caps = model.view.capabilities
        var grid = CellGrid(width: model.view.width, height: model.view.height, unicode: caps.unicode)
        let ctx = RenderContext(theme: Theme(depth: caps.colors), glyphs: Glyphs(unicode: caps.unicode))
        let layout = model.layout
        if layout.tooSmall {
            TooSmallPane.draw(model, ctx, &grid)
            return grid
        }
        if case .help(let page) = model.view.overlay {
            HelpPane.draw(page: page, model, ctx, &grid)
            return grid
        }
        HeaderPane.draw(model, layout.header, ctx, &grid)
        ShardTablePane.draw(model, layout.table, ctx, &grid)
        HashBar.draw(model, layout.hashBar, ctx, &grid)
        ChartPane.draw(model, layout.chart, ctx, &grid)
        HeatMapPane.draw(model, layout.heat, ctx, &grid)
        FanOutPane.draw(model, layout.consumers, ctx, &grid)
        ServicesPane.draw(model, layout.services, ctx, &grid)
        EventsPane.draw(model, layout.events, ctx, &grid)
        FooterPane.draw(model, layout.footer, ctx, &grid)
        if case .menu(let menu) = model.view.overlay { MenuPane.draw(menu, ctx, &grid) }
        return grid
    }
}

/// Theme and glyph set of one render.
public struct RenderContext: Sendable {
    public var theme: Theme
    public var glyphs: Glyphs
    public func style(_ r: Role) -> Style { theme.style(r) }
}

extension CellGrid {
    /// A pane's title row: the title, then a rule to the right edge, then `right` text.
    mutating func titleRow(_ r: Rect, _ title: String, right: String = "", _ ctx: RenderContext) {
        guard r.height > 0, r.width > 0 else { return }
        fill(Rect(x: r.x, y: r.y, width: r.width, height: 1), ctx.glyphs.horizontal, ctx.style(.border))
        let n = put(" " + title + " ", x: r.x + 1, y: r.y, style: ctx.style(.title), maxWidth: r.width - 1)
        if !right.isEmpty {
            let len = right.unicodeScalars.count + 2
            let x = r.maxX - len - 1
            if x > r.x + n + 1 { put(" " + right + " ", x: x, y: r.y, style: ctx.style(.label), maxWidth: len) }
        }
    }

    /// A vertical separator down the left edge of `r` (for side-by-side panes).
    mutating func leftRule(_ r: Rect, _ ctx: RenderContext) {
        for y in r.y..<r.maxY { set(r.x, y, ctx.glyphs.vertical, ctx.style(.border)) }
    }

    /// A proportional bar of `width` cells, `fraction` 0…1 filled (eighths with Unicode).
    mutating func bar(x: Int, y: Int, width: Int, fraction: Double, style: Style, empty: Style, _ g: Glyphs) {
        guard width > 0 else { return }
        let f = min(max(fraction.isFinite ? fraction : 0, 0), 1)
        let eighths = Int((f * Double(width * 8)).rounded())
        for i in 0..<width {
            let filled = eighths - i * 8
            if filled >= 8 {
                set(x + i, y, g.barFull, style)
            } else if filled > 0 && g.unicode {
                set(x + i, y, g.horizontalEighths(filled), style)
            } else if filled >= 4 {
                set(x + i, y, g.barFull, style)
            } else {
                set(x + i, y, g.barEmpty, empty)
            }
        }
    }
}

enum TooSmallPane {
    static func draw(_ model: DashboardModel, _ ctx: RenderContext, _ grid: inout CellGrid) {
        let lines = [
            "Terminal too small",
            "\(model.view.width)x\(model.view.height), ktop needs at least \(Layout.minWidth)x\(Layout.minHeight)",
            "Enlarge the window, or press q to quit",
        ]
        let top = max(0, (grid.height - lines.count) / 2)
        for (i, line) in lines.enumerated() {
            let w = line.unicodeScalars.count
            grid.put(line, x: max(0, (grid.width - w) / 2), y: top + i, style: ctx.style(i == 0 ? .warning : .normal))
        }
    }
}

enum HeaderPane {
    static func draw(_ model: DashboardModel, _ r: Rect, _ ctx: RenderContext, _ grid: inout CellGrid) {
        let d = model.data
        let v = model.view
        let hs = ctx.style(.header)
        grid.fill(Rect(x: r.x, y: r.y, width: r.width, height: 1), " ", hs)
        let clock =
            d.clockKind == "manual"
            ? "clock manual (max, not real time)"
            : "clock \(Format.speed(d.clockSpeed))\(d.clockSpeed == 1 ? "" : " (accelerated)")"
        let scenario = d.scenario == d.streamName || d.scenario.isEmpty ? "" : "[\(d.scenario)] "
        let cost = d.hourlyCostUSD.map { " | \(Format.dollars($0))/h" } ?? ""
        let line1 =
            " ktop \(scenario)\(d.streamName) \(d.mode) \(d.status) | \(d.openShards) open, \(d.closedShards) closed"
            + " | \(d.consumers.count) consumer\(d.consumers.count == 1 ? "" : "s")\(cost)"
        let right =
            r.width >= 100
            ? "\(clock)  \(d.time) " : "\(d.clockKind == "manual" ? "manual" : Format.speed(d.clockSpeed)) \(d.time) "
        let rightWidth = right.unicodeScalars.count
        grid.put(
            line1, x: r.x, y: r.y, style: Style(fg: hs.fg, bg: hs.bg, attributes: hs.attributes.union(.bold)),
            maxWidth: max(0, r.width - rightWidth - 1))
        grid.put(right, x: max(r.x, r.maxX - rightWidth), y: r.y, style: hs)
        guard r.height > 1 else { return }
        var x = r.x
        let y = r.y + 1
        func banner(_ s: String) {
            x += grid.put(" " + s + " ", x: x, y: y, style: ctx.style(.banner), maxWidth: r.maxX - x) + 1
        }
        if v.paused { banner("PAUSED") }
        if let endpoint = d.attachedTo { banner("ATTACHED \(endpoint)") }
        if let state = d.connection, state != "connected" { banner(state) }
        if d.limitsOff { banner("LIMITS OFF: no throughput quotas") }
        if d.faultsOn { banner("FAULTS ON") }
        if let storage = d.storage { banner(storage) }
        if d.clockKind != "wall" && (d.clockSpeed != 1 || d.clockKind == "manual") {
            banner(d.clockKind == "manual" ? "CLOCK MANUAL" : "CLOCK \(Format.speed(d.clockSpeed))")
        }
        let inShare =
            d.writeCapacityBytes > 0 ? " (\(Format.percent(d.totalIncomingBytes / d.writeCapacityBytes)))" : ""
        var parts: [(String, Role)] = [
            ("in ", .label),
            ("\(Format.bytes(d.totalIncomingBytes))/s of \(Format.bytes(d.writeCapacityBytes))/s\(inShare)", .value),
            (", ", .label),
            ("\(Format.count(d.totalIncomingRecords))/\(Format.count(d.writeCapacityRecords)) rec/s", .value),
            ("  throttles ", .label),
            d.throttlesKnown
                ? ("\(Format.count(d.throttlesPerSecond))/s", d.throttlesPerSecond > 0 ? .error : .value)
                : ("n/a (CloudWatch)", .label),
            ("  out ", .label),
            ("\(Format.bytes(d.totalOutgoingBytes))/s of \(Format.bytes(d.readCapacityBytes))/s", .value),
            ("  load ", .label), ("\(Format.count(d.targetRecordsPerSecond))/s", .value),
            ("  keys ", .label), (v.keyStrategy == .scenario ? "default" : v.keyStrategy.rawValue, .value),
        ]
        if v.refreshInterval != 1 {
            parts.append(("  refresh ", .label))
            parts.append(
                (
                    v.refreshInterval < 1
                        ? "\(Int(v.refreshInterval * 1000))ms" : "\(Format.count(v.refreshInterval))s", .value
                ))
        }
        for (text, role) in parts where x < r.maxX {
            x += grid.put(text, x: x, y: y, style: ctx.style(role), maxWidth: r.maxX - x)
        }
    }
}

/// The shard table: one row per shard, columns chosen by priority for the width.
enum ShardTablePane {
    enum Column: CaseIterable {
        case id, share, incoming, records, util, writeThrottled, readThrottled, outgoing, age, topKey
        var title: String {
            switch self {
            case .id: "SHARD"
            case .share: "HASH%"
            case .incoming: "IN B/s"
            case .records: "REC/s"
            case .util: "WRITE UTIL (binding limit)"
            case .writeThrottled: "W-THR"
            case .readThrottled: "R-THR"
            case .outgoing: "OUT B/s"
            case .age: "AGE"
            case .topKey: "TOP KEY"
            }
        }
        var minWidth: Int {
            switch self {
            case .id: 20
            case .share: 5
            case .incoming: 7
            case .records: 6
            case .util: 12
            case .writeThrottled, .readThrottled: 5
            case .outgoing: 7
            case .age: 6
            case .topKey: 10
            }
        }
        var rightAligned: Bool { ![.id, .util, .topKey].contains(self) }
    }

    /// Columns shown at this width with their widths (one space between columns).
    static func columns(width: Int) -> [(Column, Int)] {
        let priority: [Column] = [
            .id, .util, .incoming, .records, .writeThrottled, .topKey, .share, .readThrottled, .outgoing, .age,
        ]
        var chosen: [Column] = []
        var used = 0
        for c in priority where used + c.minWidth + 1 <= width {
            chosen.append(c)
            used += c.minWidth + 1
        }
        var extra = width - used
        var widths = Dictionary(uniqueKeysWithValues: chosen.map { ($0, $0.minWidth) })
        // Spare width: the utilisation bar first (up to 30), the rest to the top key.
        if widths[.util] != nil {
            let add = min(extra, 30 - 12)
            widths[.util]! += add
            extra -= add
        }
        if widths[.topKey] != nil { widths[.topKey]! += extra } else if widths[.util] != nil { widths[.util]! += extra }
        return Column.allCases.filter { widths[$0] != nil }.map { ($0, widths[$0]!) }
    }

    static func draw(_ model: DashboardModel, _ r: Rect, _ ctx: RenderContext, _ grid: inout CellGrid) {
        guard r.height > 0 else { return }
        let rows = model.visibleShards
        let cols = columns(width: r.width)
        var x = r.x
        let head = ctx.style(.header)
        grid.fill(Rect(x: r.x, y: r.y, width: r.width, height: 1), " ", head)
        for (c, w) in cols {
            var title = c.title
            if c == .util && w < 26 { title = "UTIL" }
            if c == .id {
                let arrow = model.view.sortDescending ? model.glyphsArrowDown(ctx) : model.glyphsArrowUp(ctx)
                title = "SHARD (\(rows.count))"
                if model.view.sortKey == .hashKey { title += arrow }
            }
            if (c == .incoming && model.view.sortKey == .incoming) || (c == .util && model.view.sortKey == .utilization)
                || (c == .writeThrottled && model.view.sortKey == .throttled)
                || (c == .age && model.view.sortKey == .iteratorAge)
            {
                title += model.view.sortDescending ? model.glyphsArrowDown(ctx) : model.glyphsArrowUp(ctx)
            }
            grid.put(Format.cell(title, w, right: c.rightAligned), x: x, y: r.y, style: head)
            x += w + 1
        }
        let selected = model.selectedShard?.shardId
        let body = r.height - 1
        if rows.isEmpty {
            let msg =
                model.view.filter.isEmpty
                ? "No shards yet (the stream is \(model.data.status))"
                : "No shard matches the filter '\(model.view.filter)' (Esc clears it)"
            grid.put(msg, x: r.x + 1, y: r.y + 1, style: ctx.style(.dim), maxWidth: r.width - 1)
            return
        }
        let start = min(model.view.scroll, max(0, rows.count - body))
        for (i, row) in rows.dropFirst(start).prefix(body).enumerated() {
            let y = r.y + 1 + i
            let isSelected = row.shardId == selected
            drawRow(row, cols, x: r.x, y: y, ctx, &grid)
            if !row.open { grid.restyle(Rect(x: r.x, y: y, width: r.width, height: 1)) { _ in ctx.style(.dim) } }
            if isSelected {
                let sel = ctx.style(.selected)
                grid.restyle(Rect(x: r.x, y: y, width: r.width, height: 1)) { s in
                    // Keep heat colours readable on the highlight; monochrome uses reverse video.
                    Style(
                        fg: sel.fg == .terminalDefault ? s.fg : sel.fg, bg: sel.bg,
                        attributes: sel.attributes.union(s.attributes.subtracting(.dim)))
                }
            }
        }
        if rows.count > body {
            let more = "\(start + 1)-\(min(rows.count, start + body)) of \(rows.count)"
            grid.put(" " + more + " ", x: r.maxX - more.count - 2, y: r.y, style: head)
        }
    }

    static func drawRow(
        _ row: ShardRow, _ cols: [(Column, Int)], x x0: Int, y: Int, _ ctx: RenderContext, _ grid: inout CellGrid
    ) {
        var x = x0
        let heatStyle = ctx.style(.heat(row.heat))
        for (c, w) in cols {
            switch c {
            case .id:
                grid.put(
                    Format.cell(row.shardId + (row.open ? "" : " CLOSED"), w), x: x, y: y, style: ctx.style(.value))
            case .share:
                let pct = row.hashSpaceShare * 100
                let s = pct >= 10 || pct == pct.rounded() ? "\(Int(pct.rounded()))%" : Format.fixed(pct, 1) + "%"
                grid.put(Format.cell(s, w, right: true), x: x, y: y, style: ctx.style(.value))
            case .incoming:
                grid.put(
                    Format.cell(Format.bytes(row.incomingBytes), w, right: true), x: x, y: y, style: ctx.style(.value))
            case .records:
                grid.put(
                    Format.cell(Format.count(row.incomingRecords), w, right: true), x: x, y: y, style: ctx.style(.value)
                )
            case .util:
                let label =
                    w >= 22
                    ? " \(Format.cell(Format.percent(row.utilization), 4, right: true)) "
                        + "\(Format.cell(row.bindingLimit, 7))"
                    : " \(Format.cell(Format.percent(row.utilization), 4, right: true))"
                        + (row.bindingLimit == "records" ? "R" : "B")
                let barWidth = w - label.count
                grid.bar(
                    x: x, y: y, width: barWidth, fraction: row.utilization, style: heatStyle, empty: ctx.style(.dim),
                    ctx.glyphs)
                grid.put(label, x: x + barWidth, y: y, style: heatStyle)
            case .writeThrottled:
                grid.put(
                    Format.cell(Format.count(row.writeThrottled), w, right: true), x: x, y: y,
                    style: ctx.style(row.writeThrottled > 0 ? .error : .value))
            case .readThrottled:
                grid.put(
                    Format.cell(Format.count(row.readThrottled), w, right: true), x: x, y: y,
                    style: ctx.style(row.readThrottled > 0 ? .error : .value))
            case .outgoing:
                grid.put(
                    Format.cell(Format.bytes(row.outgoingBytes), w, right: true), x: x, y: y, style: ctx.style(.value))
            case .age:
                grid.put(
                    Format.cell(Format.millis(row.iteratorAgeMilliseconds), w, right: true), x: x, y: y,
                    style: ctx.style(row.iteratorAgeMilliseconds >= 60_000 ? .warning : .value))
            case .topKey:
                if let k = row.topKeys.first {
                    let share = " " + Format.percent(k.share)
                    let keyWidth = max(1, w - share.count)
                    let key =
                        k.key.unicodeScalars.count > keyWidth
                        ? String(String.UnicodeScalarView(k.key.unicodeScalars.prefix(keyWidth - 1)))
                            + ctx.glyphs.ellipsis : k.key
                    grid.put(
                        Format.cell(key + share, w), x: x, y: y, style: ctx.style(k.share >= 0.5 ? .keyMark : .value))
                } else {
                    grid.put(Format.cell("-", w), x: x, y: y, style: ctx.style(.dim))
                }
            }
            x += w + 1
        }
    }
}

extension DashboardModel {
    func glyphsArrowUp(_ ctx: RenderContext) -> String { ctx.glyphs.arrowUp }
    func glyphsArrowDown(_ ctx: RenderContext) -> String { ctx.glyphs.arrowDown }
}
