import Foundation
import StreamEngine
import Testing

@testable import Analytics

/// A small deterministic generator (SplitMix64) so each seed is one reproducible load.
private struct Mix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

private func record(_ ms: Int64, key: String, value: Int, seq: Int) -> SourceRecord {
    SourceRecord(
        arrival: Instant(millisecondsSinceEpoch: ms), partitionKey: key, sequenceNumber: String(seq),
        shardId: "shardId-000000000000", data: Data("{\"user\":\(JSONText.string(key)),\"amount\":\(value)}".utf8))
}

/// What a window should give, computed in Swift straight from the records.
private struct Expected: Hashable {
    var start: Int64
    var key: String
    var count: Int64
    var total: Int64
    var max: Int64
}

@Suite struct WindowRunnerTests {
    static let t0: Int64 = 1_764_000_000_000

    /// Feeds a random load through the runner on a manual clock, some records deliberately late, and compares
    /// every closed window's rows with the same aggregates computed directly over the on-time records.
    @Test(arguments: [(1, false), (2, false), (3, true), (4, true), (5, false), (6, true)])
    func windowedResultsEqualABatchComputation(seed: UInt64, hop: Bool) throws {
        var rng = Mix(state: seed)
        let window =
            hop ? try WindowSpec(sizeMillis: 6_000, slideMillis: 2_000) : try WindowSpec.tumbling(millis: 5_000)
        let tvf =
            hop ? "HOP(TABLE SOURCE_SQL_STREAM_001, DESCRIPTOR(ROWTIME), INTERVAL '2' SECOND, INTERVAL '6' SECOND)"
            : "TUMBLE(TABLE SOURCE_SQL_STREAM_001, DESCRIPTOR(ROWTIME), INTERVAL '5' SECOND)"
        let query = try ContinuousQuery(
            "SELECT window_start, PARTITION_KEY AS k, COUNT(*) AS n, SUM(amount) AS total, MAX(amount) AS mx "
                + "FROM TABLE(\(tvf)) GROUP BY window_start, window_end, PARTITION_KEY", stream: "s")
        let lateness = Duration.milliseconds(500)
        let runner = try ContinuousSQL(query: query, limits: ContinuousSQL.Limits(), allowedLateness: lateness)
        let clock = ManualClock(start: Instant(millisecondsSinceEpoch: Self.t0))
        var onTime: [SourceRecord] = []
        var lateCount: Int64 = 0
        var results: [WindowResult] = []
        var t = Self.t0
        var held: [SourceRecord] = []
        for seq in 0..<(300 + rng.below(300)) {
            t += Int64(rng.below(120))
            let r = record(t, key: "k\(rng.below(4))", value: rng.below(1_000) - 200, seq: seq)
            if rng.below(25) == 0 {
                held.append(r)  // delivered after its windows closed
                continue
            }
            // Delivered within the allowed lateness of its arrival: always on time.
            clock.advance(to: Instant(millisecondsSinceEpoch: t + Int64(rng.below(400))))
            runner.add([r])
            onTime.append(r)
            results += runner.advance(now: clock.now())
            if let first = held.first, first.arrival.millisecondsSinceEpoch + window.sizeMillis + 1_000 < t {
                runner.add([first])
                held.removeFirst()
                lateCount += 1
            }
        }
        results += runner.finish()
        #expect(runner.stats.late == lateCount)
        #expect(runner.stats.rows == Int64(onTime.count))
        #expect(results.allSatisfy { $0.error == nil })

        var expected: [Expected: Int] = [:]
        var groups: [String: (Int64, Int64, Int64)] = [:]
        for r in onTime {
            for start in window.windowStarts(containing: r.arrival.millisecondsSinceEpoch) {
                let key = "\(start)|\(r.partitionKey)"
                let value = Int64(String(decoding: r.data, as: UTF8.self).split(separator: ":").last!.dropLast())!
                let g = groups[key] ?? (0, 0, .min)
                groups[key] = (g.0 + 1, g.1 + value, max(g.2, value))
            }
        }
        for (key, g) in groups {
            let parts = key.split(separator: "|")
            expected[Expected(start: Int64(parts[0])!, key: String(parts[1]), count: g.0, total: g.1, max: g.2),
                     default: 0] += 1
        }
        var actual: [Expected: Int] = [:]
        for w in results {
            #expect(w.columns == ["window_start", "k", "n", "total", "mx"])
            for row in w.rows {
                guard case .text(let ws) = row[0], case .text(let k) = row[1], case .integer(let n) = row[2],
                    case .integer(let total) = row[3], case .integer(let mx) = row[4]
                else {
                    Issue.record("unexpected row \(row)")
                    continue
                }
                #expect(ws == SQLTime.text(w.windowStart.millisecondsSinceEpoch))
                actual[Expected(start: w.windowStart.millisecondsSinceEpoch, key: k, count: n, total: total, max: mx),
                       default: 0] += 1
            }
        }
        #expect(actual == expected)
        #expect(!expected.isEmpty)
    }

    /// Tumbling: every record is counted in exactly one window; HOP: in size/slide windows.
    @Test(arguments: [(5_000 as Int64, 5_000 as Int64), (6_000, 2_000), (60_000, 5_000)])
    func eachRecordIsInSizeOverSlideWindows(size: Int64, slide: Int64) throws {
        let window = try WindowSpec(sizeMillis: size, slideMillis: slide)
        let query = try ContinuousQuery(
            "SELECT SEQUENCE_NUMBER FROM SOURCE_SQL_STREAM_001", stream: "s", flagWindow: window)
        let runner = try ContinuousSQL(query: query)
        var rng = Mix(state: UInt64(size + slide))
        var t = Self.t0
        var seen: [String: Int] = [:]
        var all: [String] = []
        var results: [WindowResult] = []
        for seq in 0..<400 {
            t += Int64(rng.below(700))
            runner.add([record(t, key: "k", value: 1, seq: seq)])
            all.append(String(seq))
            results += runner.advance(now: Instant(millisecondsSinceEpoch: t))
        }
        results += runner.finish()
        for w in results {
            #expect(w.windowEnd.millisecondsSinceEpoch - w.windowStart.millisecondsSinceEpoch == size)
            for row in w.rows { if case .text(let s) = row[0] { seen[s, default: 0] += 1 } }
        }
        #expect(Set(seen.keys) == Set(all))
        #expect(seen.values.allSatisfy { $0 == Int(size / slide) })
    }

    @Test func lateRecordsAreCountedNotAdded() throws {
        let query = try ContinuousQuery(
            "SELECT COUNT(*) AS n FROM s", stream: "s", flagWindow: try .tumbling(millis: 10_000))
        let runner = try ContinuousSQL(query: query, stream: "s", allowedLateness: .seconds(1))
        runner.add([record(Self.t0 + 1_000, key: "a", value: 1, seq: 1)])
        #expect(runner.advance(now: Instant(millisecondsSinceEpoch: Self.t0 + 10_999)).isEmpty)  // within lateness
        runner.add([record(Self.t0 + 9_999, key: "a", value: 1, seq: 2)])  // late arrival, still in time
        let closed = runner.advance(now: Instant(millisecondsSinceEpoch: Self.t0 + 11_000))
        #expect(closed.count == 1 && closed[0].rows == [[.integer(2)]])
        runner.add([record(Self.t0 + 9_999, key: "a", value: 1, seq: 3)])  // its window has closed
        runner.add([record(Self.t0 + 10_000, key: "a", value: 1, seq: 4)])  // the next window: on time
        #expect(runner.stats.late == 1)
        let rest = runner.finish()
        #expect(rest.count == 1 && rest[0].rows == [[.integer(1)]])
        #expect(rest[0].windowStartText == SQLTime.text(Self.t0 + 10_000))
    }

    @Test func aWindowPastTheMemoryCapIsAnErrorResult() throws {
        var limits = ContinuousSQL.Limits()
        limits.maxRowsPerWindow = 50
        limits.discoverySample = 5
        let query = try ContinuousQuery(
            "SELECT COUNT(*) AS n FROM s", stream: "s", flagWindow: try .tumbling(millis: 10_000))
        let runner = try ContinuousSQL(query: query, stream: "s", limits: limits)
        for i in 0..<80 { runner.add([record(Self.t0 + Int64(i), key: "a", value: i, seq: i)]) }
        for i in 0..<10 { runner.add([record(Self.t0 + 10_000 + Int64(i), key: "a", value: i, seq: 100 + i)]) }
        #expect(runner.stats.overCap == 30)
        let results = runner.finish()
        #expect(results.count == 2)
        #expect(results[0].error?.contains("more than 50 rows") == true)
        #expect(results[0].rows.isEmpty)
        #expect(results[1].error == nil && results[1].rows == [[.integer(10)]])
        // The byte cap too.
        var small = ContinuousSQL.Limits()
        small.maxBytesPerWindow = 100
        let bytes = try ContinuousSQL(query: query, stream: "s", limits: small)
        for i in 0..<10 { bytes.add([record(Self.t0 + Int64(i), key: "a", value: i, seq: i)]) }
        #expect(bytes.finish().first?.error != nil)
    }

    @Test func schemaDiscoveryTypesTheFields() throws {
        let samples = [
            #"{"user":"a","n":1,"x":1,"ok":true,"meta":{"b":2,"a":1},"tags":[1,"x"],"gone":null}"#,
            #"{"user":"b","n":2,"x":1.5,"ok":false,"ROWTIME":"spoof","rowtime":1}"#,
            "not json",
        ].map { Data($0.utf8) }
        let schema = try DiscoveredSchema.discover(from: samples)
        let types = Dictionary(uniqueKeysWithValues: schema.columns.map { ($0.name, $0.type) })
        #expect(types == ["user": .text, "n": .integer, "x": .real, "ok": .integer, "meta": .text, "tags": .text,
                          "gone": .text])
        #expect(schema.skipped.sorted() == ["ROWTIME", "rowtime"])
        #expect(schema.nonJSONSamples == 1)
        #expect(throws: SQLQueryError.self) { try DiscoveredSchema.discover(from: [Data("[1,2]".utf8)]) }
        let quoted = try DiscoveredSchema.discover(from: [Data(#"{"a\"b":1,"c":2}"#.utf8)])
        #expect(quoted.columns.map(\.name) == ["c"] && quoted.skipped == ["a\"b"])
    }

    @Test func noJSONAtAllIsAClearFailure() throws {
        let query = try ContinuousQuery(
            "SELECT COUNT(*) FROM s", stream: "s", flagWindow: try .tumbling(millis: 10_000))
        let runner = try ContinuousSQL(query: query, stream: "s")
        runner.add((0..<5).map {
            SourceRecord(arrival: Instant(millisecondsSinceEpoch: Self.t0 + Int64($0)), partitionKey: "k",
                         sequenceNumber: "\($0)", shardId: "s", data: Data("plain text \($0)".utf8))
        })
        #expect(runner.finish().isEmpty)
        #expect(runner.failure?.message.contains("no JSON object") == true)
    }

    @Test func nonJSONRecordsAfterDiscoveryAreCounted() throws {
        let query = try ContinuousQuery(
            "SELECT COUNT(*), SUM(amount) FROM s", stream: "s", flagWindow: try .tumbling(millis: 10_000))
        let runner = try ContinuousSQL(query: query, stream: "s")
        runner.add([record(Self.t0, key: "a", value: 5, seq: 1)])
        runner.add([SourceRecord(arrival: Instant(millisecondsSinceEpoch: Self.t0 + 1), partitionKey: "k",
                                 sequenceNumber: "2", shardId: "s", data: Data([0xFF, 0x00, 0x7B]))])
        runner.add([SourceRecord(arrival: Instant(millisecondsSinceEpoch: Self.t0 + 2), partitionKey: "k",
                                 sequenceNumber: "3", shardId: "s", data: Data("{\"amount\":".utf8))])
        let r = runner.finish()
        #expect(runner.stats.nonJSON == 2)
        #expect(r.first?.rows == [[.integer(1), .integer(5)]])
    }

    @Test func unknownColumnsFailAtStartWithTheColumnsListed() throws {
        let query = try ContinuousQuery(
            "SELECT COUNT(*) FROM s GROUP BY no_such_field", stream: "s", flagWindow: try .tumbling(millis: 10_000))
        let runner = try ContinuousSQL(query: query, stream: "s")
        runner.add([record(Self.t0, key: "a", value: 5, seq: 1)])
        _ = runner.finish()
        let message = try #require(runner.failure?.message)
        #expect(message.contains("no such column: no_such_field"))
        #expect(message.contains("amount") && message.contains("PARTITION_KEY"))
    }

    @Test func badSQLIsSQLitesMessage() throws {
        let query = try ContinuousQuery(
            "SELECT COUNT(* FROM s", stream: "s", flagWindow: try .tumbling(millis: 10_000))
        let runner = try ContinuousSQL(query: query, stream: "s")
        runner.add([record(Self.t0, key: "a", value: 5, seq: 1)])
        _ = runner.finish()
        #expect(runner.failure?.message.contains("syntax error") == true)
    }

    /// SQLite is opened so a query cannot reach files: ATTACH inside a CTE or a subquery is still refused.
    @Test func queriesCannotTouchFiles() throws {
        for sql in ["SELECT load_extension('/tmp/x') FROM s", "SELECT readfile('/etc/passwd') FROM s",
                    "SELECT writefile('/tmp/ktop-sql-x', 'x') FROM s"]
        {
            let query = try ContinuousQuery(sql, stream: "s", flagWindow: try .tumbling(millis: 10_000))
            let runner = try ContinuousSQL(query: query, stream: "s")
            runner.add([record(Self.t0, key: "a", value: 5, seq: 1)])
            let results = runner.finish()
            // Either refused at start or an error result; never a row read from a file.
            #expect(runner.failure != nil || results.first?.error != nil, "\(sql)")
        }
    }

    @Test func aRunawayQueryIsStopped() throws {
        var limits = ContinuousSQL.Limits()
        limits.queryTimeout = .milliseconds(200)
        let query = try ContinuousQuery(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT MAX(x) FROM c, s",
            stream: "s", flagWindow: try .tumbling(millis: 10_000))
        let runner = try ContinuousSQL(query: query, stream: "s", limits: limits)
        runner.add([record(Self.t0, key: "a", value: 5, seq: 1)])
        let results = runner.finish()
        #expect(runner.failure == nil)
        #expect(results.first?.error?.contains("ran longer") == true)
    }

    @Test func theStreamsOwnNameAndOutputForms() throws {
        let query = try ContinuousQuery(
            "SELECT \"my-orders\".PARTITION_KEY AS k, COUNT(*) AS n FROM \"my-orders\" GROUP BY k ORDER BY k",
            stream: "my-orders", flagWindow: try .tumbling(millis: 10_000))
        let runner = try ContinuousSQL(query: query, stream: "my-orders")
        runner.add([record(Self.t0, key: "a", value: 5, seq: 1), record(Self.t0 + 5, key: "b\"q", value: 1, seq: 2)])
        let results = runner.finish()
        #expect(runner.failure == nil)
        let lines = try #require(results.first).jsonLines()
        let start = SQLTime.text(Self.t0 - Self.t0 % 10_000)
        let end = SQLTime.text(Self.t0 - Self.t0 % 10_000 + 10_000)
        #expect(lines.first == "{\"window_start\":\"\(start)\",\"window_end\":\"\(end)\",\"k\":\"a\",\"n\":1}")
        #expect(lines.last?.contains("\"k\":\"b\\\"q\"") == true)
        let table = results[0].textTable()
        #expect(table.contains("\n  k    n\n  ---  -\n  a    1\n  b\"q  1\n"), "\(table)")
        #expect(table.contains("(2 records)"))
        #expect(SQLTime.text(0) == "1970-01-01T00:00:00.000Z")
        #expect(SQLTime.text(-1) == "1969-12-31T23:59:59.999Z")
    }
}

@Suite struct RowValueTests {
    /// Later records: fields typed as SQLite's JSON functions read them, missing ones NULL, extra ones ignored.
    @Test func rowsCarryThePayloadsFields() throws {
        let query = try ContinuousQuery(
            "SELECT user, n, x, ok, meta, tags, json_extract(meta, '$.a') AS a, typeof(n) AS tn, PARTITION_KEY, "
                + "SHARD_ID, SEQUENCE_NUMBER, ROWTIME = APPROXIMATE_ARRIVAL_TIME AS same, window_time "
                + "FROM s ORDER BY SEQUENCE_NUMBER",
            stream: "s", flagWindow: try .tumbling(millis: 10_000))
        var limits = ContinuousSQL.Limits()
        limits.discoverySample = 2  // the third record's text "n" comes after discovery typed n INTEGER
        let runner = try ContinuousSQL(query: query, stream: "s", limits: limits)
        let t0: Int64 = 1_764_000_000_000
        let payloads = [
            #"{"user":"a","n":1,"x":1.5,"ok":true,"meta":{"b":2,"a":1},"tags":[1,"x"],"it's":1}"#,
            #"{"n":7,"extra":1,"ok":false}"#,
            #"  {"user":"c","n":"text now"}"#,
            #"{"user":"#,
        ]
        runner.add(payloads.enumerated().map { i, p in
            SourceRecord(arrival: Instant(millisecondsSinceEpoch: t0 + Int64(i)), partitionKey: "k\(i)",
                         sequenceNumber: "\(i)", shardId: "shardId-000000000001", data: Data(p.utf8))
        })
        let result = try #require(runner.finish().first)
        #expect(runner.failure == nil)
        #expect(runner.stats.nonJSON == 1 && runner.stats.rows == 3)
        #expect(result.columns.first == "user")
        #expect(result.rows.count == 3)
        #expect(Array(result.rows[0][0..<8]) == [
            .text("a"), .integer(1), .real(1.5), .integer(1), .text(#"{"b":2,"a":1}"#), .text(#"[1,"x"]"#),
            .integer(1), .text("integer"),
        ])
        #expect(Array(result.rows[0][8...]) == [
            .text("k0"), .text("shardId-000000000001"), .text("0"), .integer(1),
            .text(SQLTime.text(t0 - t0 % 10_000 + 9_999)),
        ])
        #expect(Array(result.rows[1][0..<4]) == [.null, .integer(7), .null, .integer(0)])
        #expect(Array(result.rows[2][0..<2]) == [.text("c"), .text("text now")])
        #expect(runner.schema?.columns.contains { $0.name == "it's" } == true)
    }
}

@Suite struct CommonTableExpressionTests {
    func run(_ sql: String) throws -> (ContinuousSQL, [WindowResult]) {
        let query = try ContinuousQuery(sql, stream: "s", flagWindow: try .tumbling(millis: 10_000))
        let runner = try ContinuousSQL(query: query, stream: "s")
        runner.add((0..<3).map { i in
            SourceRecord(arrival: Instant(millisecondsSinceEpoch: 1_764_000_000_000 + Int64(i)), partitionKey: "k",
                         sequenceNumber: "\(i)", shardId: "s", data: Data("{\"v\":\(i)}".utf8))
        })
        return (runner, runner.finish())
    }

    @Test func aQueryWithItsOwnWithClauseSeesTheWindow() throws {
        let (runner, results) = try run("WITH big AS (SELECT * FROM s WHERE v > 0) SELECT COUNT(*), SUM(v) FROM big")
        #expect(runner.failure == nil)
        #expect(results.first?.rows == [[.integer(2), .integer(3)]])
    }

    @Test func aWithThatWritesIsRefusedAtStart() throws {
        for sql in ["WITH x AS (SELECT 1) DELETE FROM ktop_rows", "WITH x AS (SELECT 1) INSERT INTO ktop_rows SELECT 1",
                    "WITH x AS (SELECT 1) UPDATE ktop_rows SET ROWTIME = 0"]
        {
            let (runner, results) = try run(sql)
            #expect(runner.failure != nil, "\(sql)")
            #expect(results.isEmpty)
        }
    }
}
