import Dashboard
import Testing

/// The Firehose & SQL pane: absent when nothing runs, and when something does, the buffer
/// against both hints, what was delivered, and a query's newest window.
@Suite("Services pane")
struct ServicesPaneTests {
    static func deliveryStream(buffered: Double = 2_500_000, age: Double = 20) -> DeliveryStreamRow {
        DeliveryStreamRow(
            name: "to-s3", source: "orders", bufferedBytes: buffered, bufferSizeBytes: 5_242_880,
            bufferAgeSeconds: age, intervalSeconds: 60, objectsDelivered: 7,
            bytesDelivered: 9_000_000, freshnessSeconds: 20, failedRecords: 0)
    }

    static func query() -> QueryRow {
        QueryRow(
            name: "top-keys", stream: "orders", window: "tumbling 10s", windowsClosed: 12, lateRecords: 3,
            lastWindow: "12:00:10-12:00:20", columns: ["PARTITION_KEY", "n"],
            rows: [["tenant-7", "412"], ["tenant-2", "97"], ["tenant-1", "50"], ["tenant-9", "1"]])
    }

    @Test("no services: no pane, the events keep their whole area")
    func absent() {
        let model = Fixtures.model(width: 120, height: 40)
        #expect(model.layout.services.height == 0)
        let text = Renderer.render(model).text
        #expect(!text.contains("Firehose") && !text.contains("SQL"))
    }

    @Test("a delivery stream and a query: the buffer, next flush, deliveries and the newest window's rows")
    func shown() {
        var model = Fixtures.model(width: 120, height: 40)
        var data = model.data
        var row = Self.deliveryStream()
        row.flushesBySize = 5
        row.flushesByInterval = 2
        data.deliveryStreams = [row]
        data.queries = [Self.query()]
        model.update(data: data)
        let layout = model.layout
        #expect(layout.services.height > 0)
        #expect(layout.services.maxY == layout.events.y)
        let text = Renderer.render(model).text(of: layout.services)
        #expect(text.contains("Firehose & SQL"))
        #expect(text.contains("to-s3"))
        // 60 s interval, 20 s old: the interval flushes in 40 s unless 5 MiB arrive first.
        #expect(text.contains("20/60s flush in 40s"))
        #expect(text.contains("7 objects"))
        #expect(text.contains("flushed by size 5/time 2"))
        #expect(text.contains("from orders"))
        #expect(text.contains("12 windows, 3 late"))
        #expect(text.contains("tenant-7"))
        // Only the first three result rows fit the pane's budget.
        #expect(!text.contains("tenant-9"))
    }

    @Test("a query alone: the pane is titled SQL and says nothing about Firehose")
    func queryAlone() {
        var model = Fixtures.model(width: 120, height: 40)
        var data = model.data
        data.queries = [Self.query()]
        model.update(data: data)
        let text = Renderer.render(model).text(of: model.layout.services)
        #expect(text.contains("─ SQL ─") || text.contains("- SQL -"))
        #expect(!text.contains("Firehose") && !text.contains("no replay"))
        #expect(text.contains("tenant-7"))
    }

    @Test("an empty buffer shows no flush countdown; extreme figures from a foreign source do not trap")
    func extremes() {
        var model = Fixtures.model(width: 80, height: 24)
        var data = model.data
        var row = Self.deliveryStream(buffered: 0, age: 0)
        data.deliveryStreams = [row]
        model.update(data: data)
        #expect(Renderer.render(model).text(of: model.layout.services).contains("empty"))
        row = Self.deliveryStream(buffered: .infinity, age: .nan)
        row.freshnessSeconds = 1e300
        row.intervalSeconds = -5
        data.deliveryStreams = [row]
        model.update(data: data)
        let grid = Renderer.render(model)
        #expect(grid.width == 80)
        // At 80x24 the events area is small: the pane takes at most half of it and events keep 3 rows.
        #expect(model.layout.events.height >= 3)
    }
}

@Suite("Format.decimal")
struct DecimalFormatTests {
    @Test("three decimals at most, no trailing zeros, odd values as they are")
    func decimals() {
        #expect(Format.decimal(52.29260450160772, places: 3) == "52.293")
        #expect(Format.decimal(2.5, places: 3) == "2.5")
        #expect(Format.decimal(2.0001, places: 3) == "2")
        #expect(Format.decimal(-0.0001, places: 3) == "0")
        #expect(Format.decimal(-1.25, places: 1) == "-1.2" || Format.decimal(-1.25, places: 1) == "-1.3")
        #expect(Format.decimal(.infinity, places: 3) == "inf")
        #expect(Format.decimal(.nan, places: 3) == "nan")
        #expect(Format.decimal(1e20, places: 3) == "100000000000000000000")
    }
}
