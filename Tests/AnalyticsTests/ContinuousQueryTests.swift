import Testing

@testable import Analytics

@Suite struct ContinuousQueryTests {
    let s = "orders"

    @Test func tumbleTVFIsRewrittenToTheSourceStream() throws {
        let q = try ContinuousQuery(
            "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND))"
                + " GROUP BY window_start, window_end", stream: s)
        #expect(q.window == (try WindowSpec.tumbling(millis: 10_000)))
        #expect(q.windowForm == "TUMBLE")
        #expect(q.sqliteSelect
            == "SELECT window_start, COUNT(*) FROM SOURCE_SQL_STREAM_001 GROUP BY window_start, window_end")
    }

    @Test func hopTakesSlideThenSize() throws {
        let q = try ContinuousQuery(
            "select * from table(hop(table SOURCE_SQL_STREAM_001, descriptor(rowtime), interval '5' second, "
                + "interval '1' minute)) t", stream: s)
        #expect(q.window.slideMillis == 5_000)
        #expect(q.window.sizeMillis == 60_000)
        #expect(q.window.windowsPerRecord == 12)
        #expect(q.sqliteSelect == "select * from SOURCE_SQL_STREAM_001 t")
    }

    @Test func legacyStepAndFloorAreTumbling() throws {
        let step = try ContinuousQuery(
            "SELECT STREAM PARTITION_KEY, COUNT(*) AS n FROM SOURCE_SQL_STREAM_001 GROUP BY PARTITION_KEY, "
                + "STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '60' SECOND);", stream: s)
        #expect(step.window == (try WindowSpec.tumbling(millis: 60_000)))
        #expect(step.sqliteSelect == "SELECT  PARTITION_KEY, COUNT(*) AS n FROM SOURCE_SQL_STREAM_001 GROUP BY "
            + "PARTITION_KEY, window_start")
        let floor = try ContinuousQuery(
            "SELECT FLOOR(ROWTIME TO HOUR) AS h, FLOOR(amount) FROM orders GROUP BY FLOOR(orders.ROWTIME TO HOUR)",
            stream: s)
        #expect(floor.window == (try WindowSpec.tumbling(millis: 3_600_000)))
        #expect(floor.sqliteSelect == "SELECT window_start AS h, FLOOR(amount) FROM orders GROUP BY window_start")
    }

    @Test func plainSelectTakesTheWindowFlag() throws {
        let w = try WindowSpec.parseFlag("sliding:60s/10s")
        let q = try ContinuousQuery("SELECT COUNT(*) FROM orders", stream: s, flagWindow: w)
        #expect(q.window == w && q.windowForm == "--window")
        #expect(throws: SQLQueryError.self) { try ContinuousQuery("SELECT COUNT(*) FROM orders", stream: s) }
    }

    @Test func windowFlagForms() throws {
        #expect(try WindowSpec.parseFlag("tumbling:10s") == WindowSpec.tumbling(millis: 10_000))
        #expect(try WindowSpec.parseFlag("tumbling:2m").sizeMillis == 120_000)
        #expect(try WindowSpec.parseFlag("sliding:1h/15m") == WindowSpec(sizeMillis: 3_600_000, slideMillis: 900_000))
        for bad in ["", "tumbling", "tumbling:", "tumbling:0s", "tumbling:-5s", "tumbling:10", "tumbling:10d",
                    "sliding:60s", "sliding:10s/60s", "sliding:60s/7s", "sliding:1001s/1s", "tumbling:25h",
                    "tumbling:99999999999999999999s", "session:10s"]
        {
            #expect(throws: SQLQueryError.self, "\(bad)") { try WindowSpec.parseFlag(bad) }
        }
    }

    @Test func windowBounds() {
        #expect(throws: SQLQueryError.self) { try WindowSpec.tumbling(millis: 999) }
        #expect(throws: SQLQueryError.self) { try WindowSpec.tumbling(millis: 86_400_001) }
        #expect((try? WindowSpec.tumbling(millis: 86_400_000)) != nil)
        #expect((try? WindowSpec(sizeMillis: 1_000_000, slideMillis: 1_000)) != nil)
        #expect((try? WindowSpec.parseFlag("sliding:1000s/1s")) != nil)
        #expect(throws: SQLQueryError.self) { try WindowSpec(sizeMillis: 1_001_000, slideMillis: 1_000) }
    }

    /// Each refusal names what went wrong, in one line.
    @Test(arguments: [
        ("DROP TABLE SOURCE_SQL_STREAM_001", "only SELECT"),
        ("INSERT INTO x SELECT 1", "only SELECT"),
        ("ATTACH DATABASE '/tmp/x' AS x", "only SELECT"),
        ("PRAGMA table_info(x)", "only SELECT"),
        ("CREATE OR REPLACE PUMP p AS INSERT INTO o SELECT STREAM * FROM SOURCE_SQL_STREAM_001", "only SELECT"),
        ("SELECT 1; DROP TABLE ktop_rows", "one SELECT"),
        ("", "empty"),
        ("  -- nothing\n", "empty"),
        ("SELECT * FROM TABLE(CUMULATE(TABLE s, DESCRIPTOR(ROWTIME), INTERVAL '1' SECOND, INTERVAL '5' SECOND))",
         "CUMULATE"),
        ("SELECT * FROM TABLE(SESSION(TABLE s PARTITION BY k, DESCRIPTOR(ROWTIME), INTERVAL '5' SECOND))", "SESSION"),
        ("SELECT * FROM orders a JOIN orders b ON a.k = b.k", "joins"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE other, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND))", "not 'other'"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND))", "ROWTIME"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '10' DAY))", "unit"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '0' SECOND))", "positive"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL 'x' SECOND))", "positive"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND, INTERVAL '1' SECOND))",
         "offset"),
        ("SELECT * FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND))", "slide and a size"),
        ("SELECT * FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '60' SECOND, INTERVAL '5' SECOND))",
         "must not exceed"),
        ("SELECT * FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '7' SECOND, INTERVAL '60' SECOND))",
         "whole multiple"),
        ("SELECT * FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND", "ends inside"),
        ("SELECT COUNT(*) FROM orders GROUP BY TUMBLE(ROWTIME, INTERVAL '1' MINUTE)", "group-window"),
        ("SELECT COUNT(*) FROM orders GROUP BY STEP(ROWTIME BY INTERVAL '1' MINUTE), FLOOR(ROWTIME TO SECOND)",
         "two different windows"),
        ("SELECT * FROM orders WHERE k = ?", "parameters"),
        ("SELECT * FROM orders WHERE k = :key", "parameters"),
        ("SELECT 'unterminated FROM orders", "never closed"),
        ("SELECT \"col FROM orders", "never closed"),
        ("SELECT 1 /* open", "never closed"),
        ("SELECT FLOOR(ROWTIME TO DAY) FROM orders", "SECOND, MINUTE or HOUR"),
        ("SELECT * FROM TABLE(FOO(TABLE orders))", "not a supported window function"),
    ])
    func unsupportedFormsAreRefusedWithAMessage(sql: String, expected: String) {
        do {
            _ = try ContinuousQuery(sql, stream: s, flagWindow: try? WindowSpec.tumbling(millis: 10_000))
            Issue.record("accepted: \(sql)")
        } catch {
            #expect(error.message.contains(expected), "\(sql) -> \(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func windowFlagMustAgreeWithTheQuery() throws {
        let sql = "SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND))"
        #expect(throws: SQLQueryError.self) {
            try ContinuousQuery(sql, stream: s, flagWindow: try WindowSpec.parseFlag("tumbling:20s"))
        }
        #expect(try ContinuousQuery(sql, stream: s, flagWindow: try WindowSpec.parseFlag("tumbling:10s")).window
            .sizeMillis == 10_000)
    }

    @Test func windowWordsInsideLiteralsAndCommentsAreLeftAlone() throws {
        let q = try ContinuousQuery(
            "SELECT 'TABLE(TUMBLE(x))' AS a, \"STEP\" -- STEP(ROWTIME BY INTERVAL '1' SECOND)\n FROM orders",
            stream: s, flagWindow: try .tumbling(millis: 5_000))
        #expect(q.windowForm == "--window")
        #expect(q.sqliteSelect.contains("'TABLE(TUMBLE(x))'"))
    }

    @Test func hopWindowStarts() throws {
        let w = try WindowSpec(sizeMillis: 60_000, slideMillis: 5_000)
        let starts = w.windowStarts(containing: 123_456)
        #expect(starts.count == 12)
        #expect(starts.allSatisfy { $0 <= 123_456 && 123_456 < $0 + 60_000 && $0 % 5_000 == 0 })
        #expect(try WindowSpec.tumbling(millis: 10_000).windowStarts(containing: -1) == [-10_000])
        #expect(try WindowSpec.tumbling(millis: 10_000).windowStarts(containing: 10_000) == [10_000])
    }
}
