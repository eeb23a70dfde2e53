/// Where each pane goes for a terminal size. Pure and cheap, so key handling
/// (mouse clicks, scrolling) uses the same geometry as rendering.
///
/// ```
///  header (2 rows)
///  shard table
///  hash key space (3 rows)
///  IncomingBytes chart │ heat map
///  fan-out             │ Firehose & SQL (only when there are some)
///                      │ events
///  footer / prompt (1 row)
/// ```
public struct Layout: Hashable, Sendable {
    public static let minWidth = 80
    public static let minHeight = 24

    public var width: Int
    public var height: Int
    public var tooSmall: Bool
    public var header: Rect
    public var table: Rect
    public var hashBar: Rect
    public var chart: Rect
    public var heat: Rect
    public var consumers: Rect
    public var services: Rect
    public var events: Rect
    public var footer: Rect

    public init(width: Int, height: Int, shardRows: Int, serviceRows: Int = 0) {
        self.width = width; self.height = height
        tooSmall = width < Self.minWidth || height < Self.minHeight
        let all = Rect(x: 0, y: 0, width: width, height: height)
        var rest: Rect
        (header, rest) = all.splitTop(2)
        let footerRow = Rect(x: 0, y: height - 1, width: width, height: 1)
        footer = footerRow
        rest.height -= 1
        let usable = rest.height
        // The table: a title row plus the shards (at least 5 rows so a split shows), at most ~40 %.
        let wanted = 1 + max(shardRows, 5)
        let tableHeight = min(wanted, max(6, usable * 2 / 5))
        (table, rest) = rest.splitTop(tableHeight)
        (hashBar, rest) = rest.splitTop(3)
        // What is left: charts on top, fan-out and events below (events get the extra row).
        let top = rest.height / 2
        let (upper, lower) = rest.splitTop(top)
        let chartWidth = upper.width / 2
        (chart, heat) = upper.splitLeft(chartWidth)
        let consumerWidth = max(lower.width * 2 / 5, min(46, lower.width / 2))
        (consumers, events) = lower.splitLeft(consumerWidth)
        // Firehose and SQL take the top of the events area, at most half of it (events keep 3 rows).
        let servicesHeight = serviceRows > 0 ? min(serviceRows, max(0, events.height - 3), events.height / 2 + 1) : 0
        (services, events) = events.splitTop(servicesHeight)
    }

    /// Rows of the table that hold shards (below the column titles).
    public var tableBodyRows: Int { max(0, table.height - 1) }
}
