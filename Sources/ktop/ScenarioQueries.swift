import Analytics
import Dashboard
import LoadGen
import Metrics
import StreamEngine

/// Continuous SQL queries running beside the console: a scenario's over its stream on the embedded engine
/// (`sql-windows`), or `ktop sql`'s over an attached stream. Each is a `ContinuousSQLJob`, a consumer of the
/// stream through the public Kinesis API, stepped on the source's clock. Owned by the source's thread.
final class ScenarioQueries {
    private final class Running {
        let setup: QuerySetup
        let stream: String
        var query: ContinuousQuery?
        var job: ContinuousSQLJob?
        var error: String?
        /// The newest closed window that produced something (rows, or an error).
        var last: WindowResult?
        /// Where each closed window goes besides the pane (`ktop sql --into`).
        var writer: ResultWriter?
        /// How the reader starts: a scenario's at LATEST by polling; `ktop sql`'s as its flags say.
        var start: StartPosition = .latest
        var fanOutConsumer: String?
        init(setup: QuerySetup, stream: String) {
            self.setup = setup
            self.stream = stream
        }
    }
    private let running: [Running]
    private let client: any KinesisClient
    /// What the queries said that the events pane should show (a query that cannot run, a window's error).
    private(set) var messages: [String] = []

    /// Parses every query now, so a bad one is reported at once; the readers start with `start(now:)`.
    init(_ setups: [QuerySetup], stream: String, client: any KinesisClient) {
        self.client = client
        running = setups.map { Running(setup: $0, stream: stream) }
        for r in running {
            do {
                let flag = try r.setup.window.map { w throws(SQLQueryError) in try WindowSpec.parseFlag(w) }
                r.query = try ContinuousQuery(r.setup.sql, stream: stream, flagWindow: flag)
            } catch {
                r.error = error.description
                messages.append("SQL query \(r.setup.name) cannot run: \(error.description)")
            }
        }
    }

    /// `ktop sql`'s one query, read from `start` (by an enhanced fan-out consumer of that name if one is
    /// given), its windows also written to `into`.
    init(
        name: String, query: ContinuousQuery, stream: String, client: any KinesisClient, start: StartPosition,
        fanOutConsumer: String?, into: String?
    ) {
        self.client = client
        let r = Running(setup: QuerySetup(name: name, sql: query.original), stream: stream)
        r.query = query
        r.start = start
        r.fanOutConsumer = fanOutConsumer
        r.writer = into.map { ResultWriter(stream: $0, client: client) }
        running = [r]
    }

    var isEmpty: Bool { running.isEmpty }

    /// Deregisters the enhanced fan-out consumers the queries registered; lines for what could not be.
    func close() -> [String] { running.compactMap { $0.job?.close() } }

    /// Starts each parsed query's reader at LATEST (once the stream is ACTIVE), then reads what is due and
    /// closes the windows that ended.
    func step(now: Instant) {
        for r in running where r.error == nil {
            if r.job == nil, let query = r.query {
                do {
                    r.job = try ContinuousSQLJob(
                        query: query, stream: r.stream, client: client, start: r.start,
                        fanOutConsumer: r.fanOutConsumer)
                } catch {
                    r.error = "\(error)"
                    messages.append("SQL query \(r.setup.name) cannot start: \(error)")
                    continue
                }
            }
            guard let job = r.job else { continue }
            let results = job.step(now: now)
            for result in results {
                r.last = result
                if let e = result.error { messages.append("SQL query \(r.setup.name): window error: \(e)") }
            }
            if let writer = r.writer, !results.isEmpty {
                let failed = writer.failed
                writer.write(results, partitionBy: r.query?.groupByKeys ?? [])
                if writer.failed > failed {
                    messages.append(
                        "SQL query \(r.setup.name): \(writer.stream) refused rows: \(writer.lastError ?? "?")")
                }
            }
            if let failure = job.runner.failure {
                r.error = failure.description
                messages.append("SQL query \(r.setup.name) stopped: \(failure.description)")
            }
        }
    }

    /// Messages since the last call.
    func takeMessages() -> [String] {
        defer { messages = [] }
        return messages
    }

    /// Each query's reader, as the consumers pane shows polling consumers: it takes its share of every
    /// shard's 2 MiB/s and 5 calls/s.
    var consumerReports: [ConsumerReport] {
        running.compactMap { r in
            guard let job = r.job else { return nil }
            let s = job.readerStats
            return ConsumerReport(
                stream: r.stream, name: "sql:" + r.setup.name, bytes: s.bytes, records: s.records,
                throttled: s.throttled, millisBehindLatest: s.millisBehindLatest)
        }
    }

    /// The dashboard's rows: each query's window, counters and newest window's result (at most 20 rows).
    var rows: [QueryRow] {
        running.map { r in
            let stats = r.job?.runner.stats
            let last = r.last
            return QueryRow(
                name: r.setup.name, stream: r.stream, window: r.query?.window.description ?? "",
                windowsClosed: Int(stats?.windowsClosed ?? 0), lateRecords: Int(stats?.late ?? 0),
                lastWindow: last.map { Self.clock($0.windowStartText) + "-" + Self.clock($0.windowEndText) } ?? "",
                columns: last?.columns ?? [],
                rows: (last?.rows.prefix(20) ?? []).map { $0.map(Self.text) },
                error: r.error)
        }
    }

    /// "12:00:10" from "2026-11-30T12:00:10.000Z".
    private static func clock(_ iso: String) -> String {
        guard let t = iso.firstIndex(of: "T") else { return iso }
        return String(iso[iso.index(after: t)...].prefix(8))
    }

    private static func text(_ v: SQLValue) -> String {
        switch v {
        case .null: "NULL"
        case .integer(let i): "\(i)"
        // Three decimals are enough on a screen; the JSON output keeps every digit.
        case .real(let d): d == d.rounded() && abs(d) < 1e15 ? "\(Int64(d))" : Format.decimal(d, places: 3)
        case .text(let s): s
        case .blob(let b): "<\(b.count) bytes>"
        }
    }
}
