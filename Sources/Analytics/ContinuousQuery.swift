/// A user's continuous query, recognised and rewritten for SQLite: its window (from a Flink window TVF, a legacy
/// Kinesis SQL `STEP`/`FLOOR`, or `--window`) and the SELECT that runs over each closed window's rows.
///
/// This is a front end, not an interpreter: it finds the window forms (KINESIS.md §13), replaces
/// `TABLE(TUMBLE(TABLE s, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND))` with the in-application stream
/// `SOURCE_SQL_STREAM_001` and `STEP(…)`/`FLOOR(… TO …)` with `window_start`, and refuses what it cannot map.
/// SQLite parses and runs the rest, so every SQLite expression and aggregate works.
public struct ContinuousQuery: Equatable, Sendable {
    /// The in-application stream every query reads, as Kinesis Data Analytics named its input.
    public static let sourceName = "SOURCE_SQL_STREAM_001"

    /// The window the query runs over.
    public let window: WindowSpec
    /// Where the window came from: "TUMBLE", "HOP", "STEP", "FLOOR" or "--window".
    public let windowForm: String
    /// The SELECT as SQLite runs it: window forms replaced, legacy `SELECT STREAM` reduced to `SELECT`.
    public let sqliteSelect: String
    /// The query as written.
    public let original: String

    /// What the front end accepts, for error messages.
    public static let supported =
        "supported: one SELECT over FROM TABLE(TUMBLE(TABLE s, DESCRIPTOR(ROWTIME), INTERVAL 'n' SECOND|MINUTE|HOUR)) "
        + "or TABLE(HOP(TABLE s, DESCRIPTOR(ROWTIME), slide, size)) with GROUP BY window_start, window_end, …; "
        + "legacy GROUP BY STEP(ROWTIME BY INTERVAL 'n' SECOND) or FLOOR(ROWTIME TO MINUTE); "
        + "or a plain SELECT with --window"

    /// Parses `sql` for the stream `stream` (also accepted as the table's name). `flagWindow` is `--window`:
    /// the window of a query that names none, and must agree with one that does.
    public init(_ sql: String, stream: String, flagWindow: WindowSpec? = nil) throws(SQLQueryError) {
        var tokens = try SQLTokenizer.tokens(sql)
        if let last = tokens.last, last.isSymbol(";") { tokens.removeLast() }
        guard let first = tokens.first else { throw SQLQueryError("the query is empty; \(Self.supported)") }
        if tokens.contains(where: { $0.isSymbol(";") }) {
            throw SQLQueryError("give one SELECT statement, not several separated by ';'")
        }
        guard first.isWord("SELECT") || first.isWord("WITH") else {
            let word = first.kind == .word ? first.text.uppercased() : first.text
            throw SQLQueryError("only SELECT queries run over a stream, not \(word); \(Self.supported)")
        }
        var edits: [(Range<String.Index>, String)] = []
        var windows: [(WindowSpec, String)] = []
        let scanner = Scanner(tokens: tokens, stream: stream)
        var i = 0
        while i < tokens.count {
            let t = tokens[i]
            let callFollows = i + 1 < tokens.count && tokens[i + 1].isSymbol("(")
            if t.isSymbol("?") || ((t.isSymbol(":") || t.isSymbol("@") || t.isSymbol("$")) && i + 1 < tokens.count
                && tokens[i + 1].kind == .word && (i == 0 || !tokens[i - 1].isSymbol(":")))
            {
                throw SQLQueryError("query parameters (?, :name, @name, $name) are not supported; write the values")
            }
            if t.isWord("JOIN") {
                throw SQLQueryError("joins are not supported: a query reads one stream; \(Self.supported)")
            }
            if t.isWord("SELECT"), i + 1 < tokens.count, tokens[i + 1].isWord("STREAM") {
                // Legacy Kinesis SQL's SELECT STREAM: every query here is continuous.
                edits.append((tokens[i + 1].range, ""))
                i += 2
                continue
            }
            if callFollows {
                for name in ["CUMULATE", "SESSION"] where t.isWord(name) {
                    throw SQLQueryError("\(name) windows are not supported; \(Self.supported)")
                }
                if t.isWord("TABLE"), i + 2 < tokens.count,
                    tokens[i + 2].isWord("TUMBLE") || tokens[i + 2].isWord("HOP")
                {
                    let (spec, form, end) = try scanner.windowTVF(at: i)
                    windows.append((spec, form))
                    edits.append((t.range.lowerBound..<tokens[end].range.upperBound, Self.sourceName))
                    i = end + 1
                    continue
                }
                if t.isWord("TABLE"), i + 2 < tokens.count, tokens[i + 2].kind == .word {
                    throw SQLQueryError(
                        "\(tokens[i + 2].text.uppercased()) is not a supported window function; \(Self.supported)")
                }
                if t.isWord("TUMBLE") || t.isWord("HOP") {
                    throw SQLQueryError(
                        "write \(t.text.uppercased()) as FROM TABLE(\(t.text.uppercased())(TABLE s, "
                            + "DESCRIPTOR(ROWTIME), …)); the group-window form is not supported")
                }
                if t.isWord("STEP") {
                    let (spec, end) = try scanner.step(at: i)
                    windows.append((spec, "STEP"))
                    edits.append((t.range.lowerBound..<tokens[end].range.upperBound, "window_start"))
                    i = end + 1
                    continue
                }
                if t.isWord("FLOOR"), let (spec, end) = try scanner.floorTo(at: i) {
                    windows.append((spec, "FLOOR"))
                    edits.append((t.range.lowerBound..<tokens[end].range.upperBound, "window_start"))
                    i = end + 1
                    continue
                }
            }
            i += 1
        }
        let chosen: (WindowSpec, String)
        if let (spec, form) = windows.first {
            if let other = windows.first(where: { $0.0 != spec }) {
                throw SQLQueryError(
                    "the query names two different windows (\(spec) by \(form), \(other.0) by \(other.1)); give one")
            }
            if let flagWindow, flagWindow != spec {
                throw SQLQueryError(
                    "--window \(flagWindow) differs from the query's \(form) window (\(spec)); drop --window")
            }
            chosen = (spec, form)
        } else if let flagWindow {
            chosen = (flagWindow, "--window")
        } else {
            throw SQLQueryError(
                "the query has no window: use TUMBLE/HOP/STEP/FLOOR or --window tumbling:10s|sliding:60s/10s; "
                    + Self.supported)
        }
        var rewritten = sql
        if let last = tokens.last { rewritten = String(sql[..<last.range.upperBound]) }
        for (range, text) in edits.sorted(by: { $0.0.lowerBound > $1.0.lowerBound }) {
            rewritten.replaceSubrange(range, with: text)
        }
        window = chosen.0
        windowForm = chosen.1
        sqliteSelect = rewritten
        original = sql
        groupByKeys = (try? Self.groupByNames(SQLTokenizer.tokens(rewritten))) ?? []
    }

    /// The plain column names of the outermost GROUP BY, window columns left out: `--into` partitions its
    /// records by the first.
    public let groupByKeys: [String]

    /// Names listed by the last GROUP BY at the top level (a qualified `s.k` gives `k`); expressions are skipped.
    static func groupByNames(_ tokens: [SQLToken]) -> [String] {
        var depth = 0
        var start: Int?
        for (i, t) in tokens.enumerated() {
            if t.isSymbol("(") { depth += 1 }
            if t.isSymbol(")") { depth -= 1 }
            if depth == 0, t.isWord("GROUP"), i + 1 < tokens.count, tokens[i + 1].isWord("BY") { start = i + 2 }
        }
        guard let start else { return [] }
        var items: [[SQLToken]] = [[]]
        depth = 0
        let enders = ["HAVING", "ORDER", "LIMIT", "WINDOW", "UNION", "EXCEPT", "INTERSECT"]
        for t in tokens[start...] {
            if t.isSymbol("(") { depth += 1 }
            if t.isSymbol(")") { depth -= 1; if depth < 0 { break } }
            if depth == 0, enders.contains(where: { t.isWord($0) }) { break }
            if depth == 0, t.isSymbol(",") { items.append([]); continue }
            items[items.count - 1].append(t)
        }
        let window = Set(DiscoveredSchema.windowColumns.map { $0.lowercased() })
        return items.compactMap { item -> String? in
            let parts = item.filter { !$0.isSymbol(".") }
            guard let last = parts.last, last.isName, parts.count == (item.count + 1) / 2, parts.allSatisfy(\.isName),
                !window.contains(last.text.lowercased())
            else { return nil }
            return last.text
        }
    }

    /// Reads the window forms out of the token list.
    private struct Scanner {
        let tokens: [SQLToken]
        let stream: String

        func token(_ i: Int) throws(SQLQueryError) -> SQLToken {
            guard i < tokens.count else { throw SQLQueryError("the query ends inside a window function") }
            return tokens[i]
        }

        func expect(_ i: Int, _ c: Character, in what: String) throws(SQLQueryError) {
            guard try token(i).isSymbol(c) else {
                throw SQLQueryError(
                    "expected '\(c)' in \(what), found '\(try token(i).text)'; \(ContinuousQuery.supported)")
            }
        }

        func expectWord(_ i: Int, _ w: String, in what: String) throws(SQLQueryError) {
            guard try token(i).isWord(w) else {
                throw SQLQueryError(
                    "expected \(w) in \(what), found '\(try token(i).text)'; \(ContinuousQuery.supported)")
            }
        }

        /// Whether `name` is the source: SOURCE_SQL_STREAM_001 (any case) or the stream's own name.
        func isSource(_ t: SQLToken) -> Bool {
            t.isName && (t.text.caseInsensitiveCompare(ContinuousQuery.sourceName) == .orderedSame || t.text == stream)
        }

        /// `INTERVAL 'n' UNIT` at `i`: milliseconds and the index after it.
        func interval(at i: Int, in what: String) throws(SQLQueryError) -> (Int64, Int) {
            try expectWord(i, "INTERVAL", in: what)
            let value = try token(i + 1)
            guard value.kind == .string || value.kind == .number,
                let n = Int64(value.text.trimmingCharacters(in: .whitespaces)), n > 0, n <= 100_000
            else {
                throw SQLQueryError("\(what) needs a positive whole INTERVAL such as INTERVAL '10' SECOND")
            }
            let unitToken = try token(i + 2)
            guard unitToken.kind == .word, let scale = Self.unit(unitToken.text) else {
                throw SQLQueryError(
                    "\(what): interval unit '\(unitToken.text)' is not supported; use SECOND, MINUTE or HOUR")
            }
            return (n * scale, i + 3)
        }

        static func unit(_ word: String) -> Int64? {
            switch word.uppercased() {
            case "SECOND", "SECONDS": 1_000
            case "MINUTE", "MINUTES": 60_000
            case "HOUR", "HOURS": 3_600_000
            default: nil
            }
        }

        /// `ROWTIME` or `source.ROWTIME` at `i`: the index after it.
        func rowtime(at i: Int, in what: String) throws(SQLQueryError) -> Int {
            var j = i
            if try isSource(token(j)), try token(j + 1).isSymbol(".") { j += 2 }
            let t = try token(j)
            guard t.isName, t.text.caseInsensitiveCompare("ROWTIME") == .orderedSame else {
                throw SQLQueryError("\(what) windows by ROWTIME (arrival time) only, not '\(t.text)'")
            }
            return j + 1
        }

        /// `TABLE ( TUMBLE|HOP ( TABLE src , DESCRIPTOR ( ROWTIME ) , interval [, interval] ) )` at `i`.
        func windowTVF(at i: Int) throws(SQLQueryError) -> (WindowSpec, String, Int) {
            let form = try token(i + 2).text.uppercased()
            let what = form
            try expect(i + 3, "(", in: what)
            try expectWord(i + 4, "TABLE", in: what)
            let source = try token(i + 5)
            guard isSource(source) else {
                throw SQLQueryError(
                    "\(form) reads TABLE \(ContinuousQuery.sourceName) or TABLE \(stream) (the stream), "
                        + "not '\(source.text)'")
            }
            try expect(i + 6, ",", in: what)
            try expectWord(i + 7, "DESCRIPTOR", in: what)
            try expect(i + 8, "(", in: what)
            let afterColumn = try rowtime(at: i + 9, in: what)
            try expect(afterColumn, ")", in: what)
            try expect(afterColumn + 1, ",", in: what)
            let (first, afterFirst) = try interval(at: afterColumn + 2, in: what)
            var j = afterFirst
            var second: Int64?
            if try token(j).isSymbol(",") {
                let (value, next) = try interval(at: j + 1, in: what)
                second = value
                j = next
            }
            try expect(j, ")", in: what)
            try expect(j + 1, ")", in: what)
            let spec: WindowSpec
            if form == "TUMBLE" {
                guard second == nil else {
                    throw SQLQueryError("TUMBLE's offset argument is not supported; windows align to the epoch")
                }
                spec = try .tumbling(millis: first)
            } else {
                guard let size = second else {
                    throw SQLQueryError("HOP takes a slide and a size: HOP(TABLE s, DESCRIPTOR(ROWTIME), "
                        + "INTERVAL '5' SECOND, INTERVAL '60' SECOND)")
                }
                spec = try WindowSpec(sizeMillis: size, slideMillis: first)
            }
            return (spec, form, j + 1)
        }

        /// `STEP ( ROWTIME BY interval )` at `i`.
        func step(at i: Int) throws(SQLQueryError) -> (WindowSpec, Int) {
            let afterColumn = try rowtime(at: i + 2, in: "STEP")
            try expectWord(afterColumn, "BY", in: "STEP")
            let (ms, j) = try interval(at: afterColumn + 1, in: "STEP")
            try expect(j, ")", in: "STEP")
            return (try .tumbling(millis: ms), j)
        }

        /// `FLOOR ( ROWTIME TO unit )` at `i`; nil for a plain FLOOR(x), which SQLite runs.
        func floorTo(at i: Int) throws(SQLQueryError) -> (WindowSpec, Int)? {
            var depth = 0
            var j = i + 1
            var hasTo = false
            while j < tokens.count {
                if tokens[j].isSymbol("(") { depth += 1 }
                if tokens[j].isSymbol(")") { depth -= 1; if depth == 0 { break } }
                if depth == 1 && tokens[j].isWord("TO") { hasTo = true }
                j += 1
            }
            guard hasTo else { return nil }
            let afterColumn = try rowtime(at: i + 2, in: "FLOOR")
            try expectWord(afterColumn, "TO", in: "FLOOR")
            let unitToken = try token(afterColumn + 1)
            guard let ms = Self.unit(unitToken.text) else {
                throw SQLQueryError("FLOOR(ROWTIME TO \(unitToken.text)) is not supported; use SECOND, MINUTE or HOUR")
            }
            try expect(afterColumn + 2, ")", in: "FLOOR")
            return (try .tumbling(millis: ms), afterColumn + 2)
        }
    }
}
