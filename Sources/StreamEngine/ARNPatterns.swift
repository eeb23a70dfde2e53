/// Linear-time matchers for the Kinesis model's three ARN patterns.
///
/// The patterns (`arn:aws.*:kinesis:.*:\d{12}:stream/\S+` and its consumer and
/// resource siblings) chain `.*` gaps, so a backtracking regex engine spends
/// O(n²)–O(n³) steps on a crafted 2,048-character value: 0.2 s of CPU per
/// request with Swift's `Regex` — one client could keep both cores busy. The
/// shape of these patterns allows one pass instead: every fixed piece between
/// two gaps is matched at its earliest position (a gap can always absorb more),
/// and the variable tail is read backwards from the end, where its separators
/// (`/`, `:`) are not in its name classes and so fix every boundary.
///
/// As in Java (the Kinesis front end), `.` matches anything but a line
/// terminator, so a value containing one cannot match.
enum ARNPatterns {
    /// `arn:aws.*:kinesis:.*:\d{12}:stream/\S+`
    static func isStreamARN(_ s: String) -> Bool {
        guard let u = prepared(s), let afterKinesis = kinesisGap(u) else { return false }
        // The last piece is followed by `\S+` to the end: try each occurrence from the right.
        let piece = Array(":000000000000:stream/".unicodeScalars)
        var j = u.count - piece.count - 1
        while j >= afterKinesis {
            if matchesAccountPiece(u, at: j, piece) {
                let rest = u[(j + piece.count)...]
                return !rest.isEmpty && !rest.contains(where: isJavaWhitespace)
            }
            j -= 1
        }
        return false
    }

    /// `arn:aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`
    static func isConsumerARN(_ s: String) -> Bool {
        guard let u = prepared(s), let afterKinesis = kinesisGap(u), let tail = consumerTailStart(u) else {
            return false
        }
        guard let j = firstAccountPiece(u, from: afterKinesis) else { return false }
        return j + 14 <= tail
    }

    /// `arn:aws.*:kinesis:.*:\d{12}:.*`
    static func isResourceARN(_ s: String) -> Bool {
        guard let u = prepared(s), let afterKinesis = kinesisGap(u) else { return false }
        return firstAccountPiece(u, from: afterKinesis) != nil
    }

    // MARK: pieces

    private static func prepared(_ s: String) -> [Unicode.Scalar]? {
        let u = Array(s.unicodeScalars)
        guard !u.contains(where: isLineTerminator), u.starts(with: "arn:aws".unicodeScalars) else { return nil }
        return u
    }

    /// Index just after the earliest `:kinesis:` following `arn:aws`.
    private static func kinesisGap(_ u: [Unicode.Scalar]) -> Int? {
        let piece = Array(":kinesis:".unicodeScalars)
        var i = 7
        while i + piece.count <= u.count {
            if u[i..<(i + piece.count)].elementsEqual(piece) { return i + piece.count }
            i += 1
        }
        return nil
    }

    /// Earliest `:\d{12}:` at or after `from`.
    private static func firstAccountPiece(_ u: [Unicode.Scalar], from: Int) -> Int? {
        let piece = Array(":000000000000:".unicodeScalars)
        var j = from
        while j + piece.count <= u.count {
            if matchesAccountPiece(u, at: j, piece) { return j }
            j += 1
        }
        return nil
    }

    /// `piece` with each `0` standing for any ASCII digit.
    private static func matchesAccountPiece(_ u: [Unicode.Scalar], at j: Int, _ piece: [Unicode.Scalar]) -> Bool {
        guard j >= 0, j + piece.count <= u.count else { return false }
        for (k, p) in piece.enumerated() {
            let c = u[j + k]
            if p == "0" ? !isDigit(c) : c != p { return false }
        }
        return true
    }

    /// Where `stream/NAME/consumer/NAME:DIGITS` begins, reading from the end.
    private static func consumerTailStart(_ u: [Unicode.Scalar]) -> Int? {
        var i = u.count
        func run(_ ok: (Unicode.Scalar) -> Bool) -> Bool {
            let end = i
            while i > 0, ok(u[i - 1]) { i -= 1 }
            return i < end
        }
        func literal(_ text: String) -> Bool {
            let p = Array(text.unicodeScalars)
            guard i >= p.count, u[(i - p.count)..<i].elementsEqual(p) else { return false }
            i -= p.count
            return true
        }
        guard run(isDigit), literal(":"), run(isNameCharacter), literal("/consumer/"), run(isNameCharacter),
            literal("stream/")
        else { return nil }
        return i
    }

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 48 && c.value <= 57 }

    private static func isNameCharacter(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        return (v >= 97 && v <= 122) || (v >= 65 && v <= 90) || (v >= 48 && v <= 57) || v == 95 || v == 46 || v == 45
    }

    /// Java's `\s`: `[ \t\n\x0B\f\r]`.
    private static func isJavaWhitespace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x20, 0x09...0x0D: true
        default: false
        }
    }

    /// What Java's `.` does not match.
    private static func isLineTerminator(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x0A, 0x0D, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }
}
