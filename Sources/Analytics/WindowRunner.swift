import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import StreamEngine

/// Counters of a running query.
public struct ContinuousSQLStats: Sendable, Equatable {
    /// Records handed to the runner.
    public var records: Int64 = 0
    /// Rows added to windows.
    public var rows: Int64 = 0
    /// Records that arrived before the end of a window that had already closed: counted, in no window.
    public var late: Int64 = 0
    /// Records whose data was not a JSON object: counted, in no window.
    public var nonJSON: Int64 = 0
    /// Records refused because a window (or the whole buffer) was at its memory cap.
    public var overCap: Int64 = 0
    public var windowsClosed: Int64 = 0
}

/// Runs a continuous query: buffers records into windows by arrival time and, when a window closes on the
/// injected clock, runs the user's SELECT over its rows in an in-memory SQLite database.
///
/// A window [start, end) closes once `now` passes `end + allowedLateness`: the reader polls, so a record reaches
/// the runner a little after it arrived in the stream. A record whose arrival is before the end of a window that
/// has already closed is late: counted, and added to none of its windows (for HOP, not even the still-open
/// ones), as Flink drops late rows. Memory is bounded: each window holds at most `Limits.maxRowsPerWindow` rows
/// and `maxBytesPerWindow` bytes of payload; a record past the cap makes each of its windows an error result.
/// Not `Sendable`: owned by the one thread that steps it.
public final class ContinuousSQL {
    /// Bounds on memory and time.
    public struct Limits: Sendable, Equatable {
        public var maxRowsPerWindow = 200_000
        public var maxBytesPerWindow = 64 << 20
        /// Records sampled for schema discovery (fewer when the first window closes sooner).
        public var discoverySample = 100
        /// Rows one window's SELECT may return; more are cut (and the result says so).
        public var maxResultRows = 10_000
        /// Wall time one window's SELECT may run before SQLite is interrupted.
        public var queryTimeout: Duration = .seconds(10)
        public init() {}
    }

    public let query: ContinuousQuery
    public let limits: Limits
    public let allowedLateness: Duration
    public private(set) var stats = ContinuousSQLStats()
    /// The payload's columns, once discovered.
    public private(set) var schema: DiscoveredSchema?
    /// Set when the query cannot run at all (no JSON to discover a schema from, an unknown column): the runner
    /// then takes no more records.
    public private(set) var failure: SQLQueryError?

    private struct OpenWindow {
        var rows = 0
        var bytes = 0
        var overCap = 0
    }

    private let database: DatabaseQueue
    private let budget = QueryBudget()
    private var statement: Statement?
    /// Records held until the schema is known.
    private var pending: [SourceRecord] = []
    private var pendingBytes = 0
    /// Windows holding at least one record (or refused one), by start.
    private var open: [Int64: OpenWindow] = [:]
    /// Windows ending at or before this (epoch ms) have closed.
    private var watermark: Int64 = .min
    private var bufferedRows = 0
    private var bufferedBytes = 0

    /// `stream` is the source stream's name, which the query may use for SOURCE_SQL_STREAM_001.
    public init(
        query: ContinuousQuery, stream: String? = nil, limits: Limits = Limits(),
        allowedLateness: Duration = .seconds(1)
    ) throws {
        self.query = query
        self.streamName = stream
        self.limits = limits
        self.allowedLateness = allowedLateness
        var config = Configuration()
        config.label = "ktop-sql"
        let budget = self.budget
        config.prepareDatabase { db in
            // A query reads its window and nothing else: no other database files, and a wall-time budget.
            guard let connection = db.sqliteConnection else { return }
            sqlite3_limit(connection, SQLITE_LIMIT_ATTACHED, 0)
            sqlite3_progress_handler(
                connection, 10_000,
                { context in
                    guard let context else { return 0 }
                    let budget = Unmanaged<QueryBudget>.fromOpaque(context).takeUnretainedValue()
                    return DispatchTime.now().uptimeNanoseconds > budget.deadline.withLock { $0 } ? 1 : 0
                }, Unmanaged.passUnretained(budget).toOpaque())
        }
        database = try DatabaseQueue(configuration: config)
    }

    /// Adds records read from the stream. Call `advance(now:)` after to close the windows that are due.
    public func add(_ records: [SourceRecord]) {
        guard failure == nil else { return }
        var ready: [SourceRecord] = []
        defer { insert(ready) }
        for r in records {
            stats.records += 1
            let t = r.arrival.millisecondsSinceEpoch
            // Late: its earliest window (ending at the first window end after t) has closed.
            if WindowSpec.floor(t, query.window.slideMillis) + query.window.slideMillis <= watermark {
                stats.late += 1
                continue
            }
            if schema == nil {
                pending.append(r)
                pendingBytes += r.data.count
                if pending.count >= limits.discoverySample || pendingBytes > limits.maxBytesPerWindow { discover() }
            } else {
                ready.append(r)
            }
        }
    }

    /// Closes every window that ended before `now - allowedLateness` and runs the query on each, in order.
    public func advance(now: Instant) -> [WindowResult] {
        let mark = (now - allowedLateness).millisecondsSinceEpoch
        guard mark > watermark else { return [] }
        if schema == nil, failure == nil, let first = pending.map(\.arrival.millisecondsSinceEpoch).min(),
            WindowSpec.floor(first, query.window.slideMillis) + query.window.slideMillis <= mark
        {
            discover()
        }
        watermark = mark
        return closeWindows(endingBy: mark)
    }

    /// Closes every open window, as at the end of a run.
    public func finish() -> [WindowResult] {
        if schema == nil, failure == nil, !pending.isEmpty { discover() }
        watermark = .max
        return closeWindows(endingBy: .max)
    }

    private func closeWindows(endingBy mark: Int64) -> [WindowResult] {
        let size = query.window.sizeMillis
        let due = open.keys.filter { mark == .max || $0 + size <= mark }.sorted()
        var results: [WindowResult] = []
        for start in due {
            guard let w = open.removeValue(forKey: start) else { continue }
            stats.windowsClosed += 1
            results.append(run(start: start, window: w))
        }
        // Rows no open window holds any more.
        let keepFrom = open.keys.min() ?? .max
        if !due.isEmpty, schema != nil {
            _ = try? database.inDatabase { db in
                try db.execute(sql: "DELETE FROM ktop_rows WHERE ktop_ms < ?", arguments: [keepFrom])
                bufferedRows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ktop_rows") ?? 0
                bufferedBytes = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(ktop_bytes), 0) FROM ktop_rows") ?? 0
            }
        }
        return results
    }

    private func run(start: Int64, window w: OpenWindow) -> WindowResult {
        let end = start + query.window.sizeMillis
        var result = WindowResult(
            windowStart: Instant(millisecondsSinceEpoch: start), windowEnd: Instant(millisecondsSinceEpoch: end),
            records: w.rows)
        if w.overCap > 0 {
            result.error =
                "the window would hold more than \(limits.maxRowsPerWindow) rows or \(limits.maxBytesPerWindow >> 20) "
                + "MiB of data; \(w.overCap) record(s) were left out, so it has no result (narrow the window)"
            return result
        }
        guard let statement else { return result }
        let arguments: StatementArguments = [
            "ktop_lo": start, "ktop_hi": end, "ktop_ws": SQLTime.text(start), "ktop_we": SQLTime.text(end),
            "ktop_wt": SQLTime.text(end - 1),
        ]
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, limits.queryTimeout.nanoseconds))
        budget.deadline.withLock { $0 = deadline }
        defer { budget.deadline.withLock { $0 = .max } }
        do {
            try database.inDatabase { db in
                let cursor = try Row.fetchCursor(statement, arguments: arguments)
                result.columns = statement.columnNames
                while let row = try cursor.next() {
                    if result.rows.count >= limits.maxResultRows {
                        result.truncated = true
                        break
                    }
                    result.rows.append(row.databaseValues.map(Self.value))
                }
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
            result.rows = []
            result.error = "the query ran longer than \(limits.queryTimeout) on this window and was stopped"
        } catch let error as DatabaseError {
            result.rows = []
            result.error = error.message ?? "\(error)"
        } catch {
            result.rows = []
            result.error = "\(error)"
        }
        return result
    }

    private static func value(_ v: DatabaseValue) -> SQLValue {
        switch v.storage {
        case .null: .null
        case .int64(let i): .integer(i)
        case .double(let d): .real(d)
        case .string(let s): .text(s)
        case .blob(let b): .blob(b)
        }
    }

    /// Discovers the schema from the pending records, creates the table, prepares the query against it and
    /// inserts the pending records. A failure here stops the query.
    private func discover() {
        let sample = Array(pending.prefix(limits.discoverySample))
        do {
            let found = try DiscoveredSchema.discover(from: sample.map(\.data))
            try prepare(found)
            schema = found
        } catch let error as SQLQueryError {
            failure = error
        } catch {
            failure = SQLQueryError("\(error)")
        }
        let held = pending
        pending = []
        pendingBytes = 0
        guard failure == nil else { return }
        insert(held)
    }

    /// The table's DDL and the query as SQLite runs it: the user's SELECT under a CTE that presents one window's
    /// rows, with its window columns, as SOURCE_SQL_STREAM_001 (and as the stream's own name).
    static func sqliteText(query: ContinuousQuery, schema: DiscoveredSchema, stream: String?) -> (String, String) {
        func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        let payload = schema.columns.map { "\(quoted($0.name)) \($0.type.rawValue)" }
        let ddl =
            "CREATE TABLE ktop_rows (ktop_ms INTEGER NOT NULL, ktop_bytes INTEGER NOT NULL, ROWTIME TEXT, "
            + "APPROXIMATE_ARRIVAL_TIME TEXT, PARTITION_KEY TEXT, SEQUENCE_NUMBER TEXT, SHARD_ID TEXT"
            + payload.map { ", " + $0 }.joined() + "); CREATE INDEX ktop_rows_ms ON ktop_rows (ktop_ms)"
        let columns = (DiscoveredSchema.metadataColumns + schema.columns.map(\.name)).map(quoted)
        var ctes =
            "\(ContinuousQuery.sourceName) AS (SELECT \(columns.joined(separator: ", ")), :ktop_ws AS window_start, "
            + ":ktop_we AS window_end, :ktop_wt AS window_time FROM ktop_rows "
            + "WHERE ktop_ms >= :ktop_lo AND ktop_ms < :ktop_hi)"
        if let stream, stream.caseInsensitiveCompare(ContinuousQuery.sourceName) != .orderedSame {
            ctes += ", \(quoted(stream)) AS (SELECT * FROM \(ContinuousQuery.sourceName))"
        }
        var select = query.sqliteSelect
        // A query with its own WITH: ours go first in the same list (after RECURSIVE, which must lead).
        if let tokens = try? SQLTokenizer.tokens(select), let first = tokens.first, first.isWord("WITH") {
            var rest = tokens[1].range.lowerBound
            var lead = "WITH "
            if tokens[1].isWord("RECURSIVE") {
                lead = "WITH RECURSIVE "
                rest = tokens.count > 2 ? tokens[2].range.lowerBound : select.endIndex
            }
            select = lead + ctes + ", " + select[rest...]
        } else {
            select = "WITH " + ctes + " " + select
        }
        return (ddl, select)
    }

    /// The stream's own name, accepted as the table's.
    public let streamName: String?

    private func prepare(_ schema: DiscoveredSchema) throws {
        let (ddl, select) = Self.sqliteText(query: query, schema: schema, stream: streamName)
        try database.inDatabase { db in
            try db.execute(sql: ddl)
            do {
                let s = try db.makeStatement(sql: select)
                guard s.isReadonly else {
                    throw SQLQueryError("the query would change the database; only SELECT runs over a stream")
                }
                statement = s
            } catch let error as DatabaseError {
                let names = (DiscoveredSchema.metadataColumns + schema.columns.map(\.name)
                    + DiscoveredSchema.windowColumns).joined(separator: ", ")
                throw SQLQueryError(
                    "the query does not run on this stream: \(error.message ?? "\(error)") (columns: \(names))")
            }
        }
    }

    /// Inserts records in one transaction: SQLite commits once rather than per row.
    private func insert(_ records: [SourceRecord]) {
        guard !records.isEmpty, failure == nil else { return }
        do {
            try database.inDatabase { db in
                try db.inTransaction {
                    for r in records { insert(r, db) }
                    return .commit
                }
            }
        } catch {
            failure = SQLQueryError("the in-memory database refused rows: \(error)")
        }
    }

    private func insert(_ r: SourceRecord, _ db: Database) {
        guard let schema else { return }
        // Cheap refusal first: a JSON object starts with '{' (SQLite decides the rest).
        guard r.data.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{") else {
            stats.nonJSON += 1
            return
        }
        let t = r.arrival.millisecondsSinceEpoch
        let starts = query.window.windowStarts(containing: t)
        let bytes = r.data.count
        // The whole buffer is also capped (twice a window): windows far in the future could otherwise pile up.
        let full =
            bufferedRows + 1 > 2 * limits.maxRowsPerWindow || bufferedBytes + bytes > 2 * limits.maxBytesPerWindow
            || starts.contains { s in
                let w = open[s] ?? OpenWindow()
                return w.rows + 1 > limits.maxRowsPerWindow || w.bytes + bytes > limits.maxBytesPerWindow
            }
        if full {
            stats.overCap += 1
            for s in starts { open[s, default: OpenWindow()].overCap += 1 }
            return
        }
        let time = SQLTime.text(t)
        let arguments: StatementArguments = [
            t, bytes, time, r.partitionKey, r.sequenceNumber, r.shardId, String(decoding: r.data, as: UTF8.self),
        ]
        do {
            try db.cachedStatement(sql: Self.insertSQL(schema)).execute(arguments: arguments)
        } catch {
            stats.nonJSON += 1  // malformed JSON that json_valid let through is still not a row
            return
        }
        guard db.changesCount == 1 else {
            stats.nonJSON += 1
            return
        }
        stats.rows += 1
        bufferedRows += 1
        bufferedBytes += bytes
        for s in starts {
            open[s, default: OpenWindow()].rows += 1
            open[s, default: OpenWindow()].bytes += bytes
        }
    }

    /// The row insert: SQLite's own JSON functions read the payload's fields (json_extract gives INTEGER, REAL,
    /// TEXT, 1/0 for booleans, JSON text for objects and arrays), and a payload that is not a JSON object
    /// inserts nothing. Far faster than decoding each record in Swift.
    static func insertSQL(_ schema: DiscoveredSchema) -> String {
        let fields = schema.columns.map { c in
            ", json_extract(?7, '$.\"" + c.name.replacingOccurrences(of: "'", with: "''") + "\"')"
        }
        return "INSERT INTO ktop_rows SELECT ?1, ?2, ?3, ?3, ?4, ?5, ?6" + fields.joined()
            + " WHERE CASE WHEN json_valid(?7) THEN json_type(?7) END = 'object'"
    }
}

/// The deadline the SQLite progress handler checks (uptime nanoseconds), shared with the C callback.
private final class QueryBudget: @unchecked Sendable {
    let deadline = LockedValue<UInt64>(.max)
}
