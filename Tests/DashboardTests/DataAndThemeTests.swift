import Dashboard
import Foundation
import Metrics
import StreamEngine
import Testing

@Suite("View data, theme and formatting")
struct DataAndThemeTests {
    @Test("the view data comes from a real engine through Metrics")
    func buildFromEngine() throws {
        let clock = ManualClock()
        var config = EngineConfiguration()
        config.delays = .immediate
        let engine = KinesisEngine(clock: clock, configuration: config)
        let kinesis = engine.service()
        _ = try kinesis.createStream(CreateStreamInput(streamName: "demo", shardCount: 4))
        var store = MetricsStore()
        store.ingest(engine.sample())
        for second in 0..<3 {
            clock.advance(by: .seconds(1))
            let records = (0..<200).map {
                PutRecordsRequestEntry(data: Data(repeating: 7, count: 500), partitionKey: "user-\($0 % 9)-\(second)")
            }
            _ = try kinesis.putRecords(PutRecordsInput(records: records, streamName: "demo"))
            engine.tick()
            store.ingest(engine.sample())
        }
        let d = DashboardData.build(
            store: store, streamName: "demo", scenario: "test", clockKind: "manual", limits: .aws, scenarios: ["demo"])
        #expect(d.status == "ACTIVE")
        #expect(d.openShards == 4 && d.shards.count == 4)
        #expect(d.totalIncomingRecords == 200)
        #expect(d.shards.allSatisfy { $0.incomingHistory.count == 3 && $0.heatHistory.count == 3 })
        #expect(d.shards.contains { !$0.topKeys.isEmpty })
        #expect(abs(d.shards.map(\.hashSpaceShare).reduce(0, +) - 1) < 1e-9)
        #expect(d.writeCapacityBytes == 4 * 1_048_576)
        // The rendered screen shows the four shards.
        var model = DashboardModel()
        model.view.width = 120
        model.view.height = 40
        model.update(data: d)
        let text = Renderer.render(model).text
        for i in 0..<4 { #expect(text.contains("shardId-00000000000\(i)")) }
        #expect(text.contains("4 open, 0 closed"))
    }

    @Test("an unknown stream builds an empty view, not a crash")
    func missingStream() {
        let d = DashboardData.build(
            store: MetricsStore(), streamName: "nope", scenario: "x", clockKind: "wall", limits: .aws, scenarios: [])
        #expect(d.shards.isEmpty)
        var m = DashboardModel()
        m.update(data: d)
        #expect(Renderer.render(m).text.contains("No shards yet"))
    }

    @Test("colour depth honours NO_COLOR and the terminal's colour count")
    func depth() {
        #expect(ColorDepth.detect(colors: 256, hasColors: true, noColor: false) == .full256)
        #expect(ColorDepth.detect(colors: 16, hasColors: true, noColor: false) == .sixteen)
        #expect(ColorDepth.detect(colors: 8, hasColors: true, noColor: false) == .eight)
        #expect(ColorDepth.detect(colors: 256, hasColors: true, noColor: true) == .monochrome)
        #expect(ColorDepth.detect(colors: 0, hasColors: false, noColor: false) == .monochrome)
    }

    @Test("the grid replaces what a terminal cell cannot show")
    func sanitize() {
        var g = CellGrid(width: 10, height: 1, unicode: true)
        g.put("a\u{7}漢é\u{301}x", x: 0, y: 0)
        #expect(g.text == "a??éx")
        var a = CellGrid(width: 10, height: 1, unicode: false)
        a.put("█▒─é", x: 0, y: 0)
        #expect(a.text == "#o-?")
    }

    @Test("number formats fit their columns")
    func formats() {
        #expect(Format.bytes(0) == "0")
        #expect(Format.bytes(1_048_576) == "1.00M")
        #expect(Format.bytes(250_000) == "244.1K")
        #expect(Format.count(1540) == "1540")
        #expect(Format.count(25_000) == "25.0k")
        #expect(Format.millis(1_200) == "1.2s")
        #expect(Format.wrap("one two three four", 9) == ["one two", "three", "four"])
        #expect(HashBar.column(of: 0, width: 100) == 0)
        #expect(HashBar.column(of: UInt128.max, width: 100) == 99)
        #expect(HashBar.column(of: HashBar.key(atColumn: 42, width: 100), width: 100) == 42)
    }
}
