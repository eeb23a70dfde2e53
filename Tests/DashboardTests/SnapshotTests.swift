import Dashboard
import Metrics
import StreamEngine
import Testing

/// The text of every pane at the smallest supported size and a wide one,
/// rendered from fixed view models, compared with reviewed snapshots.
@Suite("Pane snapshots")
struct SnapshotTests {
    static let sizes: [(Int, Int)] = [(80, 24), (200, 60)]
    static let panes = ["header", "table", "hashbar", "chart", "heat", "consumers", "events", "footer"]

    static func rect(_ pane: String, _ l: Layout) -> Rect {
        switch pane {
        case "header": l.header
        case "table": l.table
        case "hashbar": l.hashBar
        case "chart": l.chart
        case "heat": l.heat
        case "consumers": l.consumers
        case "events": l.events
        default: l.footer
        }
    }

    @Test("each pane at 80x24 and 200x60", arguments: panes)
    func pane(_ pane: String) {
        for (w, h) in Self.sizes {
            let model = Fixtures.model(width: w, height: h)
            let grid = Renderer.render(model)
            assertSnapshot(grid.text(of: Self.rect(pane, model.layout)), named: "\(pane)-\(w)x\(h)")
        }
    }

    @Test("whole screen at 80x24 and 200x60", arguments: [(80, 24), (200, 60)])
    func screen(_ size: (Int, Int)) {
        let grid = Renderer.render(Fixtures.model(width: size.0, height: size.1))
        #expect(grid.width == size.0 && grid.height == size.1)
        assertSnapshot(grid.text, named: "screen-\(size.0)x\(size.1)")
    }

    @Test("ASCII fallback: no glyph outside printable ASCII")
    func ascii() {
        for (w, h) in Self.sizes {
            let grid = Renderer.render(
                Fixtures.model(
                    width: w, height: h, capabilities: TerminalCapabilities(colors: .sixteen, unicode: false)))
            #expect(grid.cells.allSatisfy { $0.glyph.value >= 0x20 && $0.glyph.value < 0x7F })
            assertSnapshot(grid.text, named: "screen-ascii-\(w)x\(h)")
        }
    }

    @Test("monochrome: no colours, the selection in reverse video, throttling in bold")
    func monochrome() {
        let model = Fixtures.model(
            width: 80, height: 24, capabilities: TerminalCapabilities(colors: .monochrome, unicode: true))
        let grid = Renderer.render(model)
        #expect(grid.cells.allSatisfy { $0.style.fg == .terminalDefault && $0.style.bg == .terminalDefault })
        // The selected shard (row 2 of the table: shard 1) is drawn in reverse video.
        let selectedRow = model.layout.table.y + 2
        #expect(grid.row(selectedRow).contains("shardId-000000000001"))
        #expect(grid[0, selectedRow].style.attributes.contains(.reverse))
        // Same text as in colour: meaning never depends on colour alone.
        let colour = Renderer.render(Fixtures.model(width: 80, height: 24))
        #expect(grid.text == colour.text)
        assertSnapshot(grid.text, named: "screen-mono-80x24")
    }

    @Test("every colour depth uses only colours the terminal has")
    func colourDepths() {
        for depth in ColorDepth.allCases {
            let grid = Renderer.render(
                Fixtures.model(width: 80, height: 24, capabilities: TerminalCapabilities(colors: depth, unicode: true)))
            let limit: Int =
                switch depth {
                case .monochrome: 0
                case .eight: 8
                case .sixteen: 16
                case .full256: 256
                }
            for cell in grid.cells {
                for c in [cell.style.fg, cell.style.bg] {
                    if case .indexed(let i) = c { #expect(Int(i) < limit, "\(depth) used colour \(i)") }
                }
            }
        }
    }

    @Test("banners: PAUSED, LIMITS OFF and an accelerated clock")
    func banners() {
        var model = Fixtures.model(width: 120, height: 40)
        model.data.limitsOff = true
        model.data.clockKind = "accelerated"
        model.data.clockSpeed = 10
        model.view.paused = true
        let header = Renderer.render(model).text(of: model.layout.header)
        #expect(header.contains("PAUSED"))
        #expect(header.contains("LIMITS OFF"))
        #expect(header.contains("CLOCK x10"))
        #expect(header.contains("clock x10 (accelerated)"))
    }

    @Test("a data directory's banner: fsync policy, bytes on disk, failed shards")
    func storageBanner() throws {
        var model = Fixtures.model(width: 160, height: 40)
        #expect(!Renderer.render(model).text(of: model.layout.header).contains("DISK"))
        var store = MetricsStore(limits: .aws)
        var sample = EngineSample(
            time: Instant(secondsSinceEpoch: 1_764_000_000), limitsProfile: "aws",
            enforcesThroughput: true, clockSpeed: 1, retainedBytes: 0, retainedBytesBudget: 1,
            streams: [])
        sample.storage = StorageSample(directory: "/d", fsync: "interval:100", diskBytes: 3 << 20, failedShards: 2)
        store.ingest(sample)
        let data = DashboardData.build(
            store: store, streamName: "s", scenario: "", clockKind: "wall", limits: .aws,
            scenarios: [])
        model.data.storage = data.storage
        let header = Renderer.render(model).text(of: model.layout.header)
        #expect(header.contains("DISK fsync interval:100 3.00M, 2 shards FAILED"), "\(header)")
    }

    @Test("terminal too small")
    func tooSmall() {
        let grid = Renderer.render(Fixtures.model(width: 60, height: 20))
        #expect(grid.text.contains("Terminal too small"))
        #expect(grid.text.contains("60x20"))
        assertSnapshot(grid.text, named: "too-small-60x20")
    }

    @Test(
        "any size renders without trapping, down to nothing",
        arguments: [(0, 0), (1, 1), (10, 3), (79, 24), (80, 23), (300, 100)])
    func anySize(_ size: (Int, Int)) {
        var model = Fixtures.model(width: size.0, height: size.1)
        model.view.overlay = .menu(Menu(title: "t", items: [Menu.Item("x", .quit)]))
        let grid = Renderer.render(model)
        #expect(grid.width == size.0 && grid.height == size.1)
        #expect(model.layout.tooSmall == (size.0 < 80 || size.1 < 24))
    }

    @Test("help pages: every key, and Kafka terms")
    func help() {
        var model = Fixtures.model(width: 80, height: 24)
        model.view.overlay = .help(page: 0)
        let keys = Renderer.render(model).text
        assertSnapshot(keys, named: "help-keys-80x24")
        for binding in ["F1", "s ", "m ", "u ", "+  -", "K ", "c ", "o ", "space", "<  >", "f ", "n ", "q  F10", "/"] {
            #expect(keys.contains(binding), "help lacks \(binding)")
        }
        model.view.overlay = .help(page: 1)
        let kafka = Renderer.render(model).text
        assertSnapshot(kafka, named: "help-kafka-80x24")
        for term in [
            "topic", "stream", "partition", "shard", "offset", "sequence number", "consumer group", "KCL application",
        ] {
            #expect(kafka.contains(term))
        }
    }

    @Test("split prompt in the footer and merge menu overlay")
    func overlays() {
        var (model, _) = Fixtures.press(Fixtures.model(width: 80, height: 24), [.char("s")])
        assertSnapshot(Renderer.render(model).text(of: model.layout.footer), named: "prompt-split-80x24")
        (model, _) = Fixtures.press(Fixtures.model(width: 80, height: 24), [.char("m")])
        let text = Renderer.render(model).text
        #expect(text.contains("with shardId-000000000000 (the hash range below)"))
        #expect(text.contains("with shardId-000000000002 (the hash range above)"))
        assertSnapshot(text, named: "menu-merge-80x24")
    }

    @Test("block and ASCII charts mark the capacity line and throttled seconds")
    func charts() {
        var model = Fixtures.model(width: 80, height: 24)
        model.view.blockChart = true
        let blocks = Renderer.render(model).text(of: model.layout.chart)
        #expect(blocks.contains("▲"))
        #expect(blocks.contains("1.00M"))
        assertSnapshot(blocks, named: "chart-blocks-80x24")
        let ascii = Renderer.render(
            Fixtures.model(width: 80, height: 24, capabilities: TerminalCapabilities(colors: .eight, unicode: false)))
        #expect(ascii.text(of: model.layout.chart).contains("!"))
    }

    @Test("1,000 shards: the table scrolls and the heat map follows")
    func thousandShards() {
        var model = Fixtures.model(width: 120, height: 40, shards: 1000)
        (model, _) = Fixtures.press(model, [.end])
        let grid = Renderer.render(model)
        let table = grid.text(of: model.layout.table)
        #expect(table.contains("shardId-000000000999"))
        #expect(table.contains("of 1000"))
        #expect(!table.contains("shardId-000000000000"))
        #expect(grid.text(of: model.layout.heat).contains("0999"))
    }
}
