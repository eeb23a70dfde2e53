import Analytics
import ArgumentParser
import Attach
import Foundation
import KinesisAPI
import LoadGen
import StreamEngine
import Synchronization

/// `ktop sql`: a continuous SQL query over a stream's windows, run by SQLite, read through the Kinesis API.
struct SQL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run a continuous SQL query over a stream: tumbling or sliding windows, results as they close.",
        discussion: """
            Each record of the stream is a row of SOURCE_SQL_STREAM_001 (also named by the stream's own
            name): ROWTIME and APPROXIMATE_ARRIVAL_TIME (its arrival, ISO-8601 UTC text), PARTITION_KEY,
            SEQUENCE_NUMBER, SHARD_ID, and the data's top-level JSON fields, found on the first records.
            When a window closes, SQLite runs the SELECT over its rows, with window_start, window_end and
            window_time columns. The stream is read like any consumer reads it (GetRecords, one call per
            shard a second); nothing is written to it.

            Windows: Flink's FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND)) or
            TABLE(HOP(TABLE s, DESCRIPTOR(ROWTIME), INTERVAL '5' SECOND, INTERVAL '60' SECOND)) (slide, size);
            legacy Kinesis SQL's GROUP BY STEP(ROWTIME BY INTERVAL '60' SECOND) or FLOOR(ROWTIME TO MINUTE);
            or a plain SELECT with --window. A window closes 2 s after its end; at the end of --duration every
            open window closes, as on Ctrl-C.

            Without --endpoint, the local `ktop serve` at http://127.0.0.1:4567. Credentials and region as for
            `ktop attach`.

            Examples:
              ktop sql "SELECT PARTITION_KEY, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ROWTIME),
                INTERVAL '10' SECOND)) GROUP BY window_start, window_end, PARTITION_KEY" --stream orders --headless
              ktop sql "SELECT tenant, AVG(latency) FROM orders GROUP BY tenant" --window sliding:60s/10s \\
                --stream orders --headless --format text
              ktop sql "..." --stream orders --headless --into orders-per-key --duration 60
            """)

    @Argument(help: "The SELECT to run over each window.")
    var query: String

    @Option(help: ArgumentHelp("The stream to read.", valueName: "name"))
    var stream: String

    @Option(help: ArgumentHelp("The Kinesis endpoint (default: a local ktop serve, http://127.0.0.1:4567).",
                               valueName: "url"))
    var endpoint: String?

    @Option(help: ArgumentHelp(
        "Region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1).",
        valueName: "region"))
    var region: String?

    @Option(help: ArgumentHelp(
        "Profile in ~/.aws/credentials and ~/.aws/config (default: AWS_PROFILE, else 'default').", valueName: "name"))
    var profile: String?

    @Option(help: ArgumentHelp(
        "The window of a query that names none: tumbling:SIZE or sliding:SIZE/SLIDE (units s, m, h).",
        valueName: "tumbling:10s|sliding:60s/10s"))
    var window: String?

    @Option(help: ArgumentHelp("Where to start reading: latest (records from now on) or trim-horizon.",
                               valueName: "latest|trim-horizon"))
    var from: String = "latest"

    @Flag(help: "No terminal UI: results on stdout as windows close.")
    var headless = false

    @Option(help: ArgumentHelp("Result format: 'json' (one JSON line per row) or 'text' (a table per window).",
                               valueName: "json|text"))
    var format: String = "json"

    @Option(help: ArgumentHelp("Also write each result row as a JSON record to this stream (PutRecords).",
                               valueName: "stream"))
    var into: String?

    @Option(help: ArgumentHelp("Stop after this many seconds, closing the open windows.", valueName: "seconds"))
    var duration: Double?

    @Flag(help: ArgumentHelp(
        "Read with an enhanced fan-out consumer of ktop's own (SubscribeToShard; registered now, deregistered on "
            + "exit; billed on AWS) instead of polling GetRecords."))
    var efo = false

    /// SIGINT or SIGTERM: the loop ends, the open windows close and the consumer is deregistered.
    static let interrupted = Atomic<Int32>(0)

    func validate() throws {
        if let endpoint {
            guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                url.host != nil
            else {
                throw ValidationError("--endpoint must be an http(s) URL, e.g. --endpoint http://127.0.0.1:4567.")
            }
        }
        guard ["json", "text"].contains(format) else {
            throw ValidationError("Unknown --format '\(format)'. Use --format json or --format text.")
        }
        guard ["latest", "trim-horizon"].contains(from) else {
            throw ValidationError("Unknown --from '\(from)'. Use --from latest or --from trim-horizon.")
        }
        if let duration, !(duration > 0 && duration <= 1e9) {
            throw ValidationError("--duration must be a positive number of seconds, e.g. --duration 30.")
        }
        guard !stream.isEmpty else { throw ValidationError("--stream needs a stream name.") }
        if let into {
            guard !into.isEmpty else { throw ValidationError("--into needs a stream name.") }
            guard into != stream else {
                throw ValidationError("--into must name another stream: the query reads '\(stream)', never writes it.")
            }
        }
        _ = try continuousQuery()
    }

    func continuousQuery() throws -> ContinuousQuery {
        do {
            let flagWindow = try window.map { w throws(SQLQueryError) in try WindowSpec.parseFlag(w) }
            return try ContinuousQuery(query, stream: stream, flagWindow: flagWindow)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func run() throws {
        let query = try continuousQuery()
        guard headless else { return try runOnDashboard(query) }
        let chain = AWSCredentialChain(profile: profile, environment: ProcessInfo.processInfo.environment)
        let resolved: AWSResolvedCredentials
        do { resolved = try chain.resolve(region: region) } catch { fail("\(error)") }
        let region = resolved.region ?? "us-east-1"
        let endpoint = self.endpoint.flatMap(URL.init(string:)) ?? URL(string: "http://127.0.0.1:4567")!
        let kinesis = KinesisHTTPClient(endpoint: endpoint, region: region, credentialsProvider: resolved.provider)
        for name in [stream] + (into.map { [$0] } ?? []) {
            do {
                _ = try ThrottleRetry.run { () throws(KinesisError) in
                    try kinesis.describeStreamSummary(StreamInput(streamName: name))
                }
            } catch {
                fail("stream '\(name)' at \(endpoint.absoluteString) (region \(region)): \(error.description)")
            }
        }
        let job: ContinuousSQLJob
        do {
            job = try ContinuousSQLJob(
                query: query, stream: stream, client: kinesis, start: from == "trim-horizon" ? .trimHorizon : .latest,
                fanOutConsumer: efo ? Self.fanOutConsumerName() : nil)
        } catch {
            fail("cannot open the in-memory SQLite database: \(error)")
        }
        /// Ends the run with one line on stderr, the consumer deregistered first.
        func stop(_ message: String) -> Never {
            if let problem = job.close() { FileHandle.standardError.write(Data("ktop: \(problem)\n".utf8)) }
            fail(message)
        }
        signal(SIGINT) { sig in SQL.interrupted.store(sig, ordering: .sequentiallyConsistent) }
        signal(SIGTERM) { sig in SQL.interrupted.store(sig, ordering: .sequentiallyConsistent) }
        let writer = into.map { ResultWriter(stream: $0, client: kinesis) }
        let clock = WallClock()
        let started = clock.now()
        let end = duration.map { started + .milliseconds(Int64(($0 * 1_000).rounded())) }
        var reportedSchema = false
        func emit(_ results: [WindowResult]) {
            if !reportedSchema, let schema = job.runner.schema {
                reportedSchema = true
                var line = "ktop sql: \(query.window) windows by \(query.windowForm); columns: "
                    + (DiscoveredSchema.metadataColumns + schema.columns.map { "\($0.name) \($0.type.rawValue)" })
                    .joined(separator: ", ")
                if !schema.skipped.isEmpty { line += "; fields left out: " + schema.skipped.joined(separator: ", ") }
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            guard !results.isEmpty else { return }
            var out = ""
            for r in results {
                if format == "json" {
                    for line in r.jsonLines() { out += line + "\n" }
                } else {
                    out += r.textTable()
                }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
            writer?.write(results, partitionBy: query.groupByKeys)
        }
        while SQL.interrupted.load(ordering: .sequentiallyConsistent) == 0 {
            let now = clock.now()
            if let end, now >= end { break }
            emit(job.step(now: now))
            if let failure = job.runner.failure { stop(failure.message) }
            Thread.sleep(forTimeInterval: 0.1)
        }
        // A last read, then every open window closes.
        emit(job.step(now: clock.now()))
        emit(job.finish())
        if let failure = job.runner.failure { stop(failure.message) }
        if let problem = job.close() { FileHandle.standardError.write(Data("ktop: \(problem)\n".utf8)) }
        let s = job.runner.stats
        var summary = "ktop sql: \(s.records) records read, \(s.windowsClosed) windows closed, \(s.late) late, "
            + "\(s.nonJSON) not JSON, \(s.overCap) over the memory cap"
        let calls = job.readerStats.calls
        switch job.reader {
        case .polling: summary += "; \(calls) GetRecords calls"
        case .fanOut: summary += "; \(calls) SubscribeToShard events"
        }
        if let lastError = job.readerStats.lastError { summary += "; last read error: \(lastError)" }
        if let writer {
            summary += "; \(writer.written) rows written to \(writer.stream)"
            if writer.failed > 0 { summary += ", \(writer.failed) refused (\(writer.lastError ?? "?"))" }
        }
        FileHandle.standardError.write(Data((summary + "\n").utf8))
        if let writer, writer.failed > 0 { throw ExitCode(1) }
    }

    /// The attach dashboard on the stream, with the query's windows in its Firehose & SQL pane and its
    /// reader among the consumers; `--into` still writes each window's rows.
    private func runOnDashboard(_ query: ContinuousQuery) throws {
        var arguments = ["--stream", stream, "--endpoint", endpoint ?? "http://127.0.0.1:4567"]
        if let region { arguments += ["--region", region] }
        if let profile { arguments += ["--profile", profile] }
        if let duration { arguments += ["--duration", "\(duration)"] }
        let attach = try Attach.parse(arguments)
        let stream = self.stream
        let start: StartPosition = from == "trim-horizon" ? .trimHorizon : .latest
        let consumer = efo ? Self.fanOutConsumerName() : nil
        let into = self.into
        try attach.run(query: { client in
            ScenarioQueries(
                name: "query", query: query, stream: stream, client: client, start: start, fanOutConsumer: consumer,
                into: into)
        })
    }

    /// `ktop-sql-<host>-<pid>`, within Kinesis's consumer-name rules (`[a-zA-Z0-9_.-]`, 1…128).
    static func fanOutConsumerName() -> String {
        let host = ProcessInfo.processInfo.hostName.unicodeScalars.map { scalar -> Character in
            let c = Character(scalar)
            return c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "." || c == "-") ? c : "-"
        }
        let tail = "-\(ProcessInfo.processInfo.processIdentifier)"
        return "ktop-sql-" + String(String(host).prefix(128 - "ktop-sql-".count - tail.count)) + tail
    }
}
