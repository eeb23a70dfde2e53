/// The hash key space 0 … 2^128−1 as one bar: shard boundaries, heat, where
/// the top keys hash to and the advised split points.
public enum HashBar {
    /// The first hash key of a column of a bar `width` cells wide.
    public static func key(atColumn col: Int, width: Int) -> UInt128 {
        guard width > 0 else { return 0 }
        let step = UInt128.max / UInt128(width)
        return step * UInt128(min(max(col, 0), width - 1))
    }

    /// The column a hash key falls in.
    public static func column(of key: UInt128, width: Int) -> Int {
        guard width > 0 else { return 0 }
        let step = UInt128.max / UInt128(width)
        return min(Int(key / step), width - 1)
    }

    /// A boundary is drawn only between two shards that each hold at least this
    /// many columns; narrower shards share columns (the hottest shows).
    static let boundaryMinimumRun = 3

    /// The bar row. Each column shows the shard holding its first hash key
    /// (its "owner"), or, where shards narrower than a column hide inside it
    /// (hundreds or thousands of shards in 200 columns), the hottest of them:
    /// a hot shard is never hidden by its cold neighbours. Boundaries and
    /// labels only where both sides are wide enough to read; the selected
    /// shard is drawn in the selected style and labelled even when narrow.
    static func draw(_ model: DashboardModel, _ r: Rect, _ ctx: RenderContext, _ grid: inout CellGrid) {
        guard r.height >= 2, r.width > 0 else { return }
        let g = ctx.glyphs
        grid.titleRow(
            r, "Hash key space 0 \(g.unicode ? "…" : "..") 2^128-1",
            right: "\(String(g.keyMarker)) top key  \(String(g.splitMarker)) advised split", ctx)
        // Positions of the open shards by hash key: rows are large to copy, and a wide stream has 10,000.
        let all = model.data.shards
        let open = all.indices.filter { all[$0].open }.sorted { all[$0].startingHashKey < all[$1].startingHashKey }
        let selected = model.selectedShard?.shardId
        let y = r.y + 1
        var shardAt: [Int] = Array(repeating: -1, count: r.width)
        var i = 0
        for col in 0..<r.width {
            let k = key(atColumn: col, width: r.width)
            while i < open.count - 1 && all[open[i]].endingHashKey < k { i += 1 }
            shardAt[col] = open.isEmpty ? -1 : i
        }
        // Shards lying wholly inside one column own none: the column shows the hottest of them and its owner.
        var hottest: [Heat4?] = Array(repeating: nil, count: r.width)
        var selectedColumn: Int?
        var selectedIndex: Int?
        for (s, position) in open.enumerated() {
            let c = column(of: all[position].startingHashKey, width: r.width)
            if all[position].shardId == selected {
                selectedColumn = c
                selectedIndex = s
            }
            guard shardAt[c] != s, c == column(of: all[position].endingHashKey, width: r.width) else { continue }
            let heat = all[position].heat
            hottest[c] = max(hottest[c] ?? heat, heat)
        }
        // Run lengths: how many columns each column's owner holds.
        var run = Array(repeating: 0, count: r.width)
        var start = 0
        while start < r.width {
            var end = start
            while end + 1 < r.width && shardAt[end + 1] == shardAt[start] { end += 1 }
            for c in start...end { run[c] = end - start + 1 }
            start = end + 1
        }
        // The column a selected shard without columns of its own hides in.
        let selectedInside = selectedIndex.flatMap { shardAt.contains($0) ? nil : selectedColumn }
        for col in 0..<r.width {
            let s = shardAt[col]
            guard s >= 0 else {
                grid.set(r.x + col, y, " ", ctx.style(.dim))
                continue
            }
            let shard = all[open[s]]
            let heat = max(shard.heat, hottest[col] ?? shard.heat)
            let style =
                shard.shardId == selected || col == selectedInside ? ctx.style(.selected) : ctx.style(.heat(heat))
            let boundary =
                col > 0 && shardAt[col - 1] != s && run[col] >= Self.boundaryMinimumRun
                && run[col - 1] >= Self.boundaryMinimumRun
            grid.set(r.x + col, y, boundary ? g.boundary : g.heat(heat), style)
        }
        // Labels in segments wide enough.
        start = 0
        var selectedLabelled = false
        while start < r.width {
            let end = start + run[start] - 1
            if shardAt[start] >= 0 {
                let shard = all[open[shardAt[start]]]
                let label = Format.shortShardId(shard.shardId)
                let width = end - start + 1
                if width >= label.count + 2 {
                    let style =
                        shard.shardId == selected
                        ? ctx.style(.selected)
                        : Style(fg: ctx.style(.heat(shard.heat)).fg, attributes: [.bold, .reverse])
                    grid.put(label, x: r.x + start + (width - label.count) / 2, y: y, style: style)
                    if shard.shardId == selected { selectedLabelled = true }
                }
            }
            start = end + 1
        }
        // A selected shard too narrow for its own label: label it beside its column (right, else left).
        if !selectedLabelled, let selected, let c = selectedColumn {
            let label = Format.shortShardId(selected)
            let x = c + 1 + label.count <= r.width ? c + 1 : max(0, c - label.count)
            grid.put(label, x: r.x + x, y: y, style: ctx.style(.selected), maxWidth: r.width - x)
        }
        guard r.height >= 3 else { return }
        let my = r.y + 2
        for position in open {
            for k in all[position].topKeys.prefix(3) where k.share >= 0.05 {
                grid.set(r.x + column(of: k.hashKey, width: r.width), my, g.keyMarker, ctx.style(.keyMark))
            }
        }
        for position in open {
            if let k = all[position].advisedSplitKey {
                grid.set(r.x + column(of: k, width: r.width), my, g.splitMarker, ctx.style(.advice))
            }
        }
    }
}

/// IncomingBytes per second of the selected shard over time, with the
/// 1 MiB/s write limit and the seconds that had throttled records.
enum ChartPane {
    static func draw(_ model: DashboardModel, _ r: Rect, _ ctx: RenderContext, _ grid: inout CellGrid) {
        guard r.height >= 3, r.width >= 12 else { return }
        let g = ctx.glyphs
        guard let shard = model.selectedShard else {
            grid.titleRow(r, "IncomingBytes/s", ctx)
            grid.put("no shard selected", x: r.x + 1, y: r.y + 1, style: ctx.style(.dim))
            return
        }
        let braille = g.unicode && !model.view.blockChart
        let labelWidth = 6
        let plot = Rect(x: r.x + labelWidth, y: r.y + 1, width: r.width - labelWidth - 1, height: r.height - 2)
        let perColumn = braille ? 2 : 1
        let seconds = plot.width * perColumn
        let history = Array(shard.incomingHistory.suffix(seconds))
        let heats = Array(shard.heatHistory.suffix(seconds))
        grid.titleRow(
            r, "IncomingBytes/s \(r.width < 80 ? Format.shortShardId(shard.shardId) : shard.shardId)",
            right:
                "\(braille ? "⠤" : g.unicode ? "─" : "-") \(Format.bytes(model.data.shardWriteBytes))/s limit  "
                    + "\(String(g.throttleMarker)) throttled",
            ctx)
        let cap = model.data.shardWriteBytes
        let top = max(cap * 1.25, (history.max() ?? 0) * 1.1)
        let levelsPerRow = braille ? 4 : 8
        let levels = plot.height * levelsPerRow
        func level(_ v: Double) -> Int { Int((v / top * Double(levels)).rounded()) }
        let capLevel = max(1, level(cap))
        let capRow = plot.height - 1 - (capLevel - 1) / levelsPerRow
        let offset = seconds - history.count  // history is right-aligned: newest at the right edge
        for row in 0..<plot.height {
            let rowBase = (plot.height - 1 - row) * levelsPerRow  // levels below this row
            for col in 0..<plot.width {
                let x = plot.x + col
                let y = plot.y + row
                var over = false
                if braille {
                    var bits: UInt8 = 0
                    for half in 0..<2 {
                        let i = col * 2 + half - offset
                        guard i >= 0, i < history.count else { continue }
                        let h = level(history[i])
                        if history[i] > cap { over = true }
                        for sub in 0..<4 where rowBase + (3 - sub) < h {
                            bits |= half == 0 ? [1, 2, 4, 64][sub] : [8, 16, 32, 128][sub]
                        }
                    }
                    if row == capRow {
                        let sub = 3 - ((capLevel - 1) % 4)
                        bits |= [1, 2, 4, 64][sub] | [8, 16, 32, 128][sub]
                    }
                    let style =
                        over ? ctx.style(.throttleMark) : row == capRow ? ctx.style(.capacityLine) : ctx.style(.chart)
                    if bits != 0 { grid.set(x, y, Glyphs.braille(bits), style) }
                } else {
                    let i = col - offset
                    let h = i >= 0 && i < history.count ? level(history[i]) : 0
                    if i >= 0 && i < history.count && history[i] > cap { over = true }
                    let fill = min(max(h - rowBase, 0), 8)
                    if fill > 0 {
                        grid.set(x, y, g.eighths(fill), over ? ctx.style(.throttleMark) : ctx.style(.chart))
                    } else if row == capRow {
                        grid.set(x, y, g.horizontal, ctx.style(.capacityLine))
                    }
                }
            }
        }
        grid.put(Format.cell(Format.bytes(top), labelWidth - 1, right: true), x: r.x, y: plot.y, style: ctx.style(.dim))
        grid.put(
            Format.cell(Format.bytes(cap), labelWidth - 1, right: true), x: r.x, y: plot.y + capRow,
            style: ctx.style(.capacityLine))
        grid.put(Format.cell("0", labelWidth - 1, right: true), x: r.x, y: plot.maxY - 1, style: ctx.style(.dim))
        // Axis: seconds with throttled records marked.
        let ay = r.maxY - 1
        grid.put(Format.cell("-\(seconds)s", labelWidth - 1, right: true), x: r.x, y: ay, style: ctx.style(.dim))
        var marked = false
        for col in 0..<plot.width {
            for half in 0..<perColumn {
                let i = col * perColumn + half - offset
                if i >= 0 && i < heats.count && heats[i] == .throttled {
                    grid.set(plot.x + col, ay, g.throttleMarker, ctx.style(.throttleMark))
                    marked = true
                }
            }
        }
        if !marked { grid.put("no throttled seconds", x: plot.x, y: ay, style: ctx.style(.dim), maxWidth: plot.width) }
        grid.put("now", x: plot.maxX - 3, y: ay, style: ctx.style(.dim))
    }
}

/// Shards × seconds, one glyph per second by heat, aligned with the table's rows.
enum HeatMapPane {
    static func draw(_ model: DashboardModel, _ r: Rect, _ ctx: RenderContext, _ grid: inout CellGrid) {
        guard r.height >= 2, r.width >= 12 else { return }
        grid.leftRule(r, ctx)
        let inner = Rect(x: r.x + 1, y: r.y, width: r.width - 1, height: r.height)
        let g = ctx.glyphs
        let columns = inner.width - 6
        grid.titleRow(inner, "Heat: shards x last \(columns)s", ctx)
        // Legend on the bottom row.
        var lx = inner.x + 1
        let ly = inner.maxY - 1
        for h in Heat4.allCases {
            grid.set(lx, ly, g.heat(h), ctx.style(.heat(h)))
            lx +=
                1
                + grid.put(
                    " " + h.rawValue + "  ", x: lx + 1, y: ly, style: ctx.style(.label),
                    maxWidth: max(0, inner.maxX - lx - 1))
        }
        grid.put(
            "(write utilisation: warm 25%+, hot 75%+)", x: lx, y: ly, style: ctx.style(.dim),
            maxWidth: max(0, inner.maxX - lx))
        let rows = model.visibleShards
        let body = inner.height - 2
        let selected = model.selectedShard?.shardId
        // Aligned with the table's scroll, but always showing the selected shard.
        var start = min(model.view.scroll, max(0, rows.count - body))
        if let i = rows.index(ofShard: selected), i >= start + body { start = i - body + 1 }
        for (i, row) in rows.dropFirst(start).prefix(body).enumerated() {
            let y = inner.y + 1 + i
            grid.put(
                Format.cell(Format.shortShardId(row.shardId), 5), x: inner.x, y: y,
                style: ctx.style(row.shardId == selected ? .selected : .label))
            let h = Array(row.heatHistory.suffix(columns))
            let offset = columns - h.count
            for (j, heat) in h.enumerated() {
                grid.set(inner.x + 6 + offset + j, y, g.heat(heat), ctx.style(.heat(heat)))
            }
        }
    }
}

/// Consumers against their read budgets, and the producers writing.
enum FanOutPane {
    static func draw(_ model: DashboardModel, _ r: Rect, _ ctx: RenderContext, _ grid: inout CellGrid) {
        guard r.height >= 2 else { return }
        let d = model.data
        grid.titleRow(r, "Consumers & producers", ctx)
        var y = r.y + 1
        let polling = d.consumers.filter { $0.kind == .polling }
        let rate = Format.bytes(d.shardReadBytes)
        let note =
            r.width >= 72
            ? "\(polling.count) polling share \(rate)/s + \(d.shardReadCalls) calls/s per shard; each EFO has its own "
                + "\(rate)/s"
            : "poll: shared \(rate)/s, EFO: own"
        grid.put(note, x: r.x + 1, y: y, style: ctx.style(.dim), maxWidth: r.width - 2)
        y += 1
        let nameWidth = r.width >= 60 ? 12 : 8
        for c in d.consumers where y < r.maxY {
            let throttled = c.throttledPerSecond > 0
            var x = r.x + 1
            x += grid.put(Format.cell(c.name, nameWidth), x: x, y: y, style: ctx.style(throttled ? .error : .value)) + 1
            x +=
                grid.put(
                    Format.cell(c.kind == .efo ? "EFO" : "poll", 4), x: x, y: y,
                    style: ctx.style(c.kind == .efo ? .efo : .polling)) + 1
            let thr = throttled ? " thr \(Format.count(c.throttledPerSecond))" : ""
            let tail =
                " \(Format.cell(Format.bytes(c.bytesPerSecond) + "/s", 8, right: true))\(thr) lag "
                    + "\(Format.millis(Double(c.millisBehindLatest)))"
            let barWidth = max(0, r.maxX - 1 - x - tail.count)
            grid.bar(
                x: x, y: y, width: barWidth,
                fraction: c.budgetBytesPerSecond > 0 ? c.bytesPerSecond / c.budgetBytesPerSecond : 0,
                style: ctx.style(c.kind == .efo ? .efo : .polling), empty: ctx.style(.dim), ctx.glyphs)
            grid.put(
                tail, x: x + barWidth, y: y, style: ctx.style(throttled ? .error : .value),
                maxWidth: r.maxX - x - barWidth)
            y += 1
        }
        if d.consumers.isEmpty && y < r.maxY {
            grid.put("no consumers (c adds one)", x: r.x + 1, y: y, style: ctx.style(.dim))
            y += 1
        }
        for p in d.producers where y < r.maxY {
            let thr = p.throttledPerSecond > 0 ? ", \(Format.count(p.throttledPerSecond)) thr/s" : ""
            let drop = p.dropped > 0 ? ", \(p.dropped) dropped" : ""
            let text =
                "\(p.name): \(Format.count(p.ackedPerSecond))/\(Format.count(p.targetRecordsPerSecond)) "
                    + "rec/s\(thr)\(drop) \(p.keys)"
            grid.put(
                text, x: r.x + 1, y: y,
                style: ctx.style(p.throttledPerSecond > 0 || p.dropped > 0 ? .warning : .normal), maxWidth: r.width - 2)
            y += 1
        }
    }
}

/// Engine events, advice, narration, the user's actions and Kinesis errors, newest last.
enum EventsPane {
    static func draw(_ model: DashboardModel, _ r: Rect, _ ctx: RenderContext, _ grid: inout CellGrid) {
        guard r.height >= 2, r.width >= 12 else { return }
        grid.leftRule(r, ctx)
        let inner = Rect(x: r.x + 1, y: r.y, width: r.width - 1, height: r.height)
        grid.titleRow(inner, "Events", right: "\(model.data.advice.count) advice", ctx)
        let body = inner.height - 1
        let textWidth = inner.width - 2
        var lines: [(String, Role)] = []
        for e in model.events.suffix(body * 2) {
            let role: Role =
                switch e.kind {
                case .engine: .value
                case .advice: .advice
                case .narration: .label
                case .error: .error
                case .action: .ok
                }
            let wrapped = Format.wrap("\(e.time) \(e.text)", textWidth)
            for (i, l) in wrapped.enumerated() { lines.append((i == 0 ? l : "  " + l, role)) }
        }
        for (i, line) in lines.suffix(body).enumerated() {
            grid.put(line.0, x: inner.x + 1, y: inner.y + 1 + i, style: ctx.style(line.1), maxWidth: textWidth)
        }
    }
}

/// The bottom row: key hints, or the prompt being edited.
enum FooterPane {
    static func draw(_ model: DashboardModel, _ r: Rect, _ ctx: RenderContext, _ grid: inout CellGrid) {
        guard r.height > 0 else { return }
        if case .prompt(let p) = model.view.overlay {
            let ps = ctx.style(.prompt)
            grid.fill(r, " ", ps)
            var x = r.x
            // The answer always fits; a long label gives way.
            let room = r.width - p.text.unicodeScalars.count - 2
            var label = p.label
            if label.unicodeScalars.count > room {
                label =
                    room > 1
                    ? String(String.UnicodeScalarView(label.unicodeScalars.prefix(room - 1))) + ctx.glyphs.ellipsis : ""
            }
            x += grid.put(label + " ", x: x, y: r.y, style: ps, maxWidth: r.width)
            x += grid.put(
                p.text, x: x, y: r.y, style: Style(fg: ps.fg, bg: ps.bg, attributes: ps.attributes.union(.bold)),
                maxWidth: r.maxX - x)
            grid.set(x, r.y, ctx.glyphs.unicode ? "█" : "_", ps)
            let hint = "Enter ok  Esc cancel"
            if r.maxX - x > hint.count + 3 { grid.put(hint, x: r.maxX - hint.count - 1, y: r.y, style: ps) }
            return
        }
        let hints: [(String, String)] = [
            ("F1", "help"), ("q", "quit"), ("s", "split"), ("m", "merge"), ("u", "shards"), ("+-", "rate"),
            ("K", "keys"), ("c", "consumers"), ("o", "mode"), ("/", "filter"), ("spc", "pause"),
            ("<>", "refresh"), ("f", "speed"), ("n", "scenario"),
        ]
        var x = r.x
        for (k, label) in hints where x < r.maxX {
            x += grid.put(k, x: x, y: r.y, style: ctx.style(.header), maxWidth: r.maxX - x)
            x += grid.put(" " + label + " ", x: x, y: r.y, style: ctx.style(.label), maxWidth: r.maxX - x)
        }
    }
}

/// A centred pick-one box.
enum MenuPane {
    static func draw(_ menu: Menu, _ ctx: RenderContext, _ grid: inout CellGrid) {
        let g = ctx.glyphs
        let labels = menu.items.enumerated().map { "\($0.offset + 1)  \($0.element.label)" }
        let hint = "Enter or 1-\(max(1, menu.items.count)) choose, Esc cancels"
        let inner = min(grid.width - 6, max(menu.title.count, hint.count, labels.map(\.count).max() ?? 0) + 2)
        let height = labels.count + 4
        let x = (grid.width - inner - 2) / 2
        let y = max(0, (grid.height - height) / 2)
        let box = Rect(x: x, y: y, width: inner + 2, height: height)
        let border = ctx.style(.title)
        grid.fill(box, " ", .plain)
        let (tl, tr, bl, br): (Unicode.Scalar, Unicode.Scalar, Unicode.Scalar, Unicode.Scalar) =
            g.unicode ? ("┌", "┐", "└", "┘") : ("+", "+", "+", "+")
        for xx in box.x..<box.maxX {
            grid.set(xx, box.y, g.horizontal, border)
            grid.set(xx, box.maxY - 1, g.horizontal, border)
        }
        for yy in box.y..<box.maxY {
            grid.set(box.x, yy, g.vertical, border)
            grid.set(box.maxX - 1, yy, g.vertical, border)
        }
        grid.set(box.x, box.y, tl, border)
        grid.set(box.maxX - 1, box.y, tr, border)
        grid.set(box.x, box.maxY - 1, bl, border)
        grid.set(box.maxX - 1, box.maxY - 1, br, border)
        grid.put(" " + menu.title + " ", x: box.x + 2, y: box.y, style: border, maxWidth: inner - 2)
        for (i, label) in labels.enumerated() {
            let style = i == menu.selected ? ctx.style(.selected) : ctx.style(.normal)
            grid.put(Format.cell(" " + label, inner), x: box.x + 1, y: box.y + 2 + i, style: style, maxWidth: inner)
        }
        grid.put(hint, x: box.x + 2, y: box.maxY - 1, style: ctx.style(.dim), maxWidth: inner - 2)
    }
}
