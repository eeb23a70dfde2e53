/// One Firehose delivery stream as the dashboard shows it: its buffer filling against both
/// BufferingHints (whichever fills first flushes), what it delivered, how fresh and what failed.
/// Firehose keeps no replay: once an object lands the buffer is empty, which is the teaching point.
public struct DeliveryStreamRow: Hashable, Sendable, Codable {
    public var name: String
    /// "DirectPut" or the Kinesis stream it reads.
    public var source: String
    public var bufferedBytes: Double
    /// SizeInMBs in bytes.
    public var bufferSizeBytes: Double
    /// Seconds since the oldest buffered record arrived (0: the buffer is empty).
    public var bufferAgeSeconds: Double
    /// IntervalInSeconds.
    public var intervalSeconds: Double
    public var objectsDelivered: Int
    public var bytesDelivered: Double
    /// DeliveryToS3.DataFreshness: age of the oldest record not yet delivered, seconds.
    public var freshnessSeconds: Double
    /// Records that went to the error prefix or failed to be written.
    public var failedRecords: Int
    /// Buffers closed because SizeInMBs filled, and because IntervalInSeconds passed: the two hints racing.
    public var flushesBySize = 0
    public var flushesByInterval = 0
    public init(
        name: String, source: String, bufferedBytes: Double, bufferSizeBytes: Double,
        bufferAgeSeconds: Double, intervalSeconds: Double, objectsDelivered: Int, bytesDelivered: Double,
        freshnessSeconds: Double, failedRecords: Int
    ) {
        self.name = name
        self.source = source
        self.bufferedBytes = bufferedBytes
        self.bufferSizeBytes = bufferSizeBytes
        self.bufferAgeSeconds = bufferAgeSeconds
        self.intervalSeconds = intervalSeconds
        self.objectsDelivered = objectsDelivered
        self.bytesDelivered = bytesDelivered
        self.freshnessSeconds = freshnessSeconds
        self.failedRecords = failedRecords
    }

    /// Seconds until the interval hint flushes a non-empty buffer (nil: nothing buffered).
    public var secondsToFlush: Double? {
        bufferedBytes > 0 ? max(0, intervalSeconds - bufferAgeSeconds) : nil
    }
}

/// A continuous SQL query (`ktop sql`) as the dashboard shows it: its window, how many windows
/// have closed, late records, and the newest closed window's result rows.
public struct QueryRow: Hashable, Sendable, Codable {
    public var name: String
    public var stream: String
    /// "tumbling 10s", "sliding 60s/10s".
    public var window: String
    public var windowsClosed: Int
    public var lateRecords: Int
    /// The newest closed window ("12:00:10–12:00:20"), its column names and rows.
    public var lastWindow: String
    public var columns: [String]
    public var rows: [[String]]
    /// Why the query stopped, if it did.
    public var error: String?
    public init(
        name: String, stream: String, window: String, windowsClosed: Int, lateRecords: Int,
        lastWindow: String, columns: [String], rows: [[String]], error: String? = nil
    ) {
        self.name = name
        self.stream = stream
        self.window = window
        self.windowsClosed = windowsClosed
        self.lateRecords = lateRecords
        self.lastWindow = lastWindow
        self.columns = columns
        self.rows = rows
        self.error = error
    }
}

/// Kinesis's other services beside the stream: Firehose delivery streams and SQL queries.
/// It takes the top of the events area, and only when there is something to show.
enum ServicesPane {
    /// Rows this pane wants: a title, two rows per delivery stream, and per query a line, its
    /// column names and up to `resultRows` result rows.
    static let resultRows = 3
    static func wantedRows(_ d: DashboardData) -> Int {
        guard !d.deliveryStreams.isEmpty || !d.queries.isEmpty else { return 0 }
        return 1 + 2 * d.deliveryStreams.count
            + d.queries.reduce(0) { $0 + 1 + ($1.columns.isEmpty ? 0 : 1 + min($1.rows.count, resultRows)) }
    }

    static func draw(_ model: DashboardModel, _ r: Rect, _ ctx: RenderContext, _ grid: inout CellGrid) {
        guard r.height >= 2, r.width >= 20 else { return }
        let d = model.data
        grid.leftRule(r, ctx)
        let inner = Rect(x: r.x + 1, y: r.y, width: r.width - 1, height: r.height)
        let title = d.deliveryStreams.isEmpty ? "SQL" : d.queries.isEmpty ? "Firehose" : "Firehose & SQL"
        grid.titleRow(
            inner, title, right: d.deliveryStreams.isEmpty ? "" : "no replay: a delivered buffer is gone", ctx)
        var y = inner.y + 1
        let width = inner.width - 2
        for f in d.deliveryStreams where y < inner.maxY {
            y += drawDeliveryStream(f, x: inner.x + 1, y: y, width: width, maxY: inner.maxY, ctx, &grid)
        }
        for q in d.queries where y < inner.maxY {
            let head =
                q.error.map { "\(q.name) on \(q.stream): stopped: \($0)" }
                ?? "\(q.name) on \(q.stream) \(q.window): \(q.windowsClosed) windows, \(q.lateRecords) late"
                + (q.lastWindow.isEmpty ? "" : ", last \(q.lastWindow)")
            grid.put(head, x: inner.x + 1, y: y, style: ctx.style(q.error == nil ? .label : .error), maxWidth: width)
            y += 1
            guard !q.columns.isEmpty, y < inner.maxY else { continue }
            let columnWidth = max(6, width / max(1, q.columns.count))
            let header = q.columns.map { Format.cell($0, columnWidth - 1) }.joined(separator: " ")
            grid.put(header, x: inner.x + 1, y: y, style: ctx.style(.dim), maxWidth: width)
            y += 1
            for row in q.rows.prefix(resultRows) where y < inner.maxY {
                let text = row.map { Format.cell($0, columnWidth - 1) }.joined(separator: " ")
                grid.put(text, x: inner.x + 1, y: y, style: ctx.style(.value), maxWidth: width)
                y += 1
            }
        }
    }

    /// Two lines: name, the buffer against the nearer of SizeInMBs and IntervalInSeconds as a bar,
    /// both figures and the next flush; then the source and what was delivered. Returns the rows used.
    private static func drawDeliveryStream(
        _ f: DeliveryStreamRow, x: Int, y: Int, width: Int, maxY: Int, _ ctx: RenderContext, _ grid: inout CellGrid
    ) -> Int {
        var cx = x
        let failed = f.failedRecords > 0
        cx += grid.put(Format.cell(f.name, 12), x: cx, y: y, style: ctx.style(failed ? .warning : .value)) + 1
        let sizeFraction = f.bufferSizeBytes > 0 ? f.bufferedBytes / f.bufferSizeBytes : 0
        let timeFraction = f.intervalSeconds > 0 ? f.bufferAgeSeconds / f.intervalSeconds : 0
        let next = f.secondsToFlush.map { "flush in \(whole($0.rounded(.up)))s" } ?? "empty"
        let tail =
            " \(Format.bytes(f.bufferedBytes))/\(Format.bytes(f.bufferSizeBytes))"
            + " \(whole(f.bufferAgeSeconds))/\(whole(f.intervalSeconds))s \(next)"
        let barWidth = min(24, max(0, x + width - cx - tail.unicodeScalars.count))
        // The bar shows whichever hint is closer to flushing: the one that will fire.
        grid.bar(
            x: cx, y: y, width: barWidth, fraction: max(sizeFraction, timeFraction),
            style: ctx.style(sizeFraction >= timeFraction ? .polling : .efo), empty: ctx.style(.dim), ctx.glyphs)
        cx += barWidth
        grid.put(tail, x: cx, y: y, style: ctx.style(.normal), maxWidth: x + width - cx)
        guard y + 1 < maxY else { return 1 }
        let source = f.source == "DirectPut" ? "Direct PUT" : "from \(f.source)"
        let line =
            "  \(source): \(f.objectsDelivered) objects \(Format.bytes(f.bytesDelivered)), flushed by size"
            + " \(f.flushesBySize)/time \(f.flushesByInterval), fresh \(whole(f.freshnessSeconds))s"
            + (failed ? ", \(f.failedRecords) failed" : "")
        grid.put(line, x: x, y: y + 1, style: ctx.style(failed ? .warning : .dim), maxWidth: width)
        return 2
    }

    /// Whole seconds for display; a figure from a foreign source is never trusted to fit an Int.
    private static func whole(_ v: Double) -> Int { v.isFinite ? Int(min(max(v, 0), 1e9)) : 0 }
}
