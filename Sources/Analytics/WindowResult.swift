import Foundation
import StreamEngine

/// What one closed window produced: the user's SELECT over the window's rows, or why it could not run.
/// A plain value so the dashboard pane, scenarios and `--into` can all take it across threads.
public struct WindowResult: Sendable, Equatable {
    /// The window: records that arrived in [windowStart, windowEnd).
    public var windowStart: Instant
    public var windowEnd: Instant
    /// Rows the window held (its records that were JSON objects and on time).
    public var records: Int
    /// The SELECT's column names, in order.
    public var columns: [String]
    public var rows: [[SQLValue]]
    /// Set when the window did not run: it exceeded the memory cap, or the query failed or ran too long.
    public var error: String?
    /// The SELECT returned more rows than the cap; `rows` holds the first ones.
    public var truncated: Bool

    public init(
        windowStart: Instant, windowEnd: Instant, records: Int, columns: [String] = [], rows: [[SQLValue]] = [],
        error: String? = nil, truncated: Bool = false
    ) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.records = records
        self.columns = columns
        self.rows = rows
        self.error = error
        self.truncated = truncated
    }

    /// The window's bounds as the query sees them (ISO-8601, milliseconds, UTC).
    public var windowStartText: String { SQLTime.text(windowStart.millisecondsSinceEpoch) }
    public var windowEndText: String { SQLTime.text(windowEnd.millisecondsSinceEpoch) }

    /// One JSON object per result row: `window_start` and `window_end` first (unless the query selects them),
    /// then the SELECT's columns in order. An error window is one object with an `error` field.
    public func jsonLines() -> [String] {
        let bounds =
            "\"window_start\":\(JSONText.string(windowStartText)),\"window_end\":\(JSONText.string(windowEndText))"
        if let error { return ["{\(bounds),\"records\":\(records),\"error\":\(JSONText.string(error))}"] }
        let selectsBounds = columns.contains("window_start") || columns.contains("window_end")
        return rows.map { row in
            var fields: [String] = selectsBounds ? [] : [bounds]
            for (name, value) in zip(columns, row) {
                fields.append("\(JSONText.string(name)):\(JSONText.value(value))")
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
    }

    /// The window as an aligned text table under a heading line.
    public func textTable() -> String {
        var out = "window \(windowStartText) .. \(windowEndText)  (\(records) records)\n"
        if let error { return out + "  error: \(error)\n" }
        guard !rows.isEmpty else { return out + "  (no rows)\n" }
        let cells = rows.map { $0.map(JSONText.plain) }
        let widths = columns.indices.map { c in max(columns[c].count, cells.map { $0[c].count }.max() ?? 0) }
        func line(_ items: [String]) -> String {
            "  " + zip(items, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        out += line(columns)
        out += line(widths.map { String(repeating: "-", count: $0) })
        for row in cells { out += line(row) }
        if truncated { out += "  (more rows than the cap; first \(rows.count) shown)\n" }
        return out
    }
}

/// Times as the query sees them: ISO-8601 text with milliseconds in UTC, which sorts as time does and which
/// SQLite's date functions read (`strftime('%s', ROWTIME)`).
public enum SQLTime {
    public static func text(_ millis: Int64) -> String {
        let seconds = WindowSpec.floor(millis, 1_000) / 1_000
        let ms = millis - seconds * 1_000
        let c = CivilTime(secondsSinceEpoch: seconds)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let milli = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(c.year)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second)).\(milli)Z"
    }
}

/// JSON text of SQL values, by hand so a line keeps the SELECT's column order.
enum JSONText {
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    static func value(_ v: SQLValue) -> String {
        switch v {
        case .null: "null"
        case .integer(let i): "\(i)"
        case .real(let d): d.isFinite ? "\(d)" : "null"
        case .text(let s): string(s)
        case .blob(let b): string(b.base64EncodedString())
        }
    }

    /// A value in a text table.
    static func plain(_ v: SQLValue) -> String {
        switch v {
        case .null: "NULL"
        case .text(let s): s
        default: value(v)
        }
    }
}
