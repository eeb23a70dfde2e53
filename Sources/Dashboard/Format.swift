import Foundation
import StreamEngine

/// Number formatting for narrow columns.
public enum Format {
    /// Bytes in binary units: "0", "512B", "12.3K", "1.00M", "10.5M", "1.2G".
    public static func bytes(_ b: Double) -> String {
        let v = max(0, b)
        if v < 1 { return "0" }
        if v < 1024 { return "\(Int(v.rounded()))B" }
        if v < 1024 * 1024 { return fixed(v / 1024, v < 10 * 1024 ? 2 : 1) + "K" }
        if v < 1024 * 1024 * 1024 { return fixed(v / 1_048_576, v < 10 * 1_048_576 ? 2 : 1) + "M" }
        return fixed(v / 1_073_741_824, 1) + "G"
    }

    /// A count per second: "0", "950", "12.3k", "1.2M".
    public static func count(_ c: Double) -> String {
        let v = max(0, c)
        if v < 0.05 { return "0" }
        if v < 10 && v != v.rounded() { return fixed(v, 1) }
        if v < 10_000 { return "\(Int(v.rounded()))" }
        if v < 1_000_000 { return fixed(v / 1000, 1) + "k" }
        return fixed(v / 1_000_000, 1) + "M"
    }

    /// Milliseconds as "0", "850ms", "12.3s", "5m", "2h".
    public static func millis(_ ms: Double) -> String {
        if ms < 1 { return "0" }
        if ms < 1000 { return "\(Int(ms))ms" }
        if ms < 60_000 { return fixed(ms / 1000, 1) + "s" }
        if ms < 3_600_000 { return "\(Int(ms / 60_000))m" }
        return "\(Int(ms / 3_600_000))h"
    }

    public static func percent(_ x: Double) -> String { "\(Int((x * 100).rounded()))%" }

    /// Dollars with cents, or three significant decimals below ten cents ($0.015, $1.23, $1,234).
    public static func dollars(_ usd: Double) -> String {
        guard usd.isFinite else { return "$?" }
        if usd >= 1_000 { return "$" + String(Int64(saturating: usd.rounded())) }
        return usd < 0.1 ? String(format: "$%.3f", usd) : String(format: "$%.2f", usd)
    }

    public static func fixed(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

    /// At most `places` decimals, trailing zeros dropped: 52.2926 → "52.293", 2.5 → "2.5".
    public static func decimal(_ v: Double, places: Int) -> String {
        guard v.isFinite else { return "\(v)" }
        var s = fixed(v, places)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }

    /// Speed factor "×1", "×2.5", "×60".
    public static func speed(_ s: Double) -> String {
        s == s.rounded() ? "x\(Int(s))" : "x" + fixed(s, 1)
    }

    /// Pads or truncates to exactly `width` cells (right-aligned when `right`).
    public static func cell(_ s: String, _ width: Int, right: Bool = false) -> String {
        guard width > 0 else { return "" }
        let n = s.unicodeScalars.count
        if n > width { return String(String.UnicodeScalarView(s.unicodeScalars.prefix(width))) }
        let pad = String(repeating: " ", count: width - n)
        return right ? pad + s : s + pad
    }

    /// Word-wraps text to lines of at most `width` cells.
    public static func wrap(_ text: String, _ width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            var w = String(word)
            while w.unicodeScalars.count > width {
                if !current.isEmpty {
                    lines.append(current)
                    current = ""
                }
                lines.append(String(String.UnicodeScalarView(w.unicodeScalars.prefix(width))))
                w = String(String.UnicodeScalarView(w.unicodeScalars.dropFirst(width)))
            }
            if current.isEmpty {
                current = w
            } else if current.unicodeScalars.count + 1 + w.unicodeScalars.count <= width {
                current += " " + w
            } else {
                lines.append(current)
                current = w
            }
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }

    /// The last digits of a shard id ("shardId-000000000012" → "0012").
    public static func shortShardId(_ id: String, digits: Int = 4) -> String {
        String(id.suffix(digits))
    }
}
