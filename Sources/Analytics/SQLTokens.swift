/// One lexical token of a query, with where it sits in the text: enough of SQL's lexicon to find window
/// functions, statement boundaries and parameters without being fooled by strings, quoted names or comments.
/// SQLite parses the query itself; this only keeps the front end from rewriting inside a literal.
struct SQLToken: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// A bare word: keyword or identifier.
        case word
        /// A quoted identifier: "x", `x` or [x]; `text` is the name without quotes.
        case quotedName
        /// A string literal 'x'; `text` is its value ('' unescaped).
        case string
        case number
        /// Any other single character: ( ) , . ; ? : @ $ and operators.
        case symbol
    }
    var kind: Kind
    var text: String
    /// The token's characters in the query (quotes included).
    var range: Range<String.Index>

    /// Whether this is the bare word `w`, ignoring case (SQL keywords are case-insensitive).
    func isWord(_ w: String) -> Bool { kind == .word && text.caseInsensitiveCompare(w) == .orderedSame }
    func isSymbol(_ c: Character) -> Bool { kind == .symbol && text == String(c) }
    /// A name: a bare word or a quoted identifier.
    var isName: Bool { kind == .word || kind == .quotedName }
}

enum SQLTokenizer {
    /// Splits `sql` into tokens, dropping blanks and comments. An unterminated string, quoted name or
    /// comment is an error here rather than SQLite's less precise "incomplete input".
    static func tokens(_ sql: String) throws(SQLQueryError) -> [SQLToken] {
        var out: [SQLToken] = []
        var i = sql.startIndex
        func isWordChar(_ c: Character) -> Bool { c == "_" || c.isLetter || c.isNumber }
        while i < sql.endIndex {
            let c = sql[i]
            if c.isWhitespace { i = sql.index(after: i); continue }
            let next = sql.index(after: i)
            if c == "-", next < sql.endIndex, sql[next] == "-" {
                i = sql[i...].firstIndex(of: "\n") ?? sql.endIndex
                continue
            }
            if c == "/", next < sql.endIndex, sql[next] == "*" {
                guard let end = sql[next...].range(of: "*/") else {
                    throw SQLQueryError("the query has a /* comment that is never closed")
                }
                i = end.upperBound
                continue
            }
            if c == "'" || c == "\"" || c == "`" || c == "[" {
                let close: Character = c == "[" ? "]" : c
                var j = next
                var value = ""
                var closed = false
                while j < sql.endIndex {
                    if sql[j] == close {
                        let after = sql.index(after: j)
                        // A doubled quote inside is one quote character ([names] have no escape).
                        if close != "]", after < sql.endIndex, sql[after] == close {
                            value.append(close)
                            j = sql.index(after: after)
                            continue
                        }
                        j = after
                        closed = true
                        break
                    }
                    value.append(sql[j])
                    j = sql.index(after: j)
                }
                guard closed else {
                    throw SQLQueryError(
                        c == "'" ? "the query has a string literal that is never closed (a missing ')"
                            : "the query has a quoted name that is never closed (a missing \(close))")
                }
                out.append(SQLToken(kind: c == "'" ? .string : .quotedName, text: value, range: i..<j))
                i = j
                continue
            }
            if c.isNumber || (c == "." && next < sql.endIndex && sql[next].isNumber) {
                var j = next
                while j < sql.endIndex, sql[j].isNumber || sql[j] == "." || sql[j].isLetter { j = sql.index(after: j) }
                out.append(SQLToken(kind: .number, text: String(sql[i..<j]), range: i..<j))
                i = j
                continue
            }
            if isWordChar(c) {
                var j = next
                while j < sql.endIndex, isWordChar(sql[j]) || sql[j] == "$" { j = sql.index(after: j) }
                out.append(SQLToken(kind: .word, text: String(sql[i..<j]), range: i..<j))
                i = j
                continue
            }
            out.append(SQLToken(kind: .symbol, text: String(c), range: i..<next))
            i = next
        }
        return out
    }
}
