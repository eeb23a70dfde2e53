/// The characters panes draw with, in a Unicode set (box drawing, blocks,
/// braille) and an ASCII set for terminals whose locale is not UTF-8.
public struct Glyphs: Sendable {
    public let unicode: Bool
    public init(unicode: Bool) { self.unicode = unicode }

    public var horizontal: Unicode.Scalar { unicode ? "─" : "-" }
    public var vertical: Unicode.Scalar { unicode ? "│" : "|" }
    public var barFull: Unicode.Scalar { unicode ? "█" : "#" }
    public var barEmpty: Unicode.Scalar { unicode ? "░" : "." }
    public var boundary: Unicode.Scalar { unicode ? "┃" : "|" }
    public var keyMarker: Unicode.Scalar { unicode ? "▲" : "^" }
    public var splitMarker: Unicode.Scalar { unicode ? "✂" : "X" }
    public var throttleMarker: Unicode.Scalar { unicode ? "▲" : "!" }
    public var ellipsis: String { unicode ? "…" : "~" }
    public var arrowUp: String { unicode ? "▲" : "^" }
    public var arrowDown: String { unicode ? "▼" : "v" }

    /// Heat-map glyph by heat level.
    public func heat(_ h: Heat4?) -> Unicode.Scalar {
        switch h {
        case nil: return " "
        case .cold?: return unicode ? "░" : "."
        case .warm?: return unicode ? "▒" : "o"
        case .hot?: return unicode ? "▓" : "O"
        case .throttled?: return unicode ? "█" : "#"
        }
    }

    /// Vertical eighth blocks, 0 (empty) … 8 (full), for block charts.
    public func eighths(_ n: Int) -> Unicode.Scalar {
        let u: [Unicode.Scalar] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        let a: [Unicode.Scalar] = [" ", " ", "_", "_", "o", "o", "O", "O", "#"]
        let i = min(max(n, 0), 8)
        return unicode ? u[i] : a[i]
    }

    /// Horizontal eighth blocks for utilisation bars.
    public func horizontalEighths(_ n: Int) -> Unicode.Scalar {
        let u: [Unicode.Scalar] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"]
        let i = min(max(n, 0), 8)
        return unicode ? u[i] : (i >= 4 ? "#" : " ")
    }

    /// A braille cell with the given dots set (bit i = dot i+1 of the Unicode braille pattern).
    public static func braille(_ bits: UInt8) -> Unicode.Scalar { Unicode.Scalar(0x2800 + UInt32(bits))! }

    /// ASCII stand-in for a non-ASCII glyph (used when the locale is not UTF-8).
    static func asciiFallback(_ s: Unicode.Scalar) -> Unicode.Scalar {
        switch s {
        case "─", "━", "═": return "-"
        case "│", "┃", "║": return "|"
        case "┌", "┐", "└", "┘", "├", "┤", "┬", "┴", "┼": return "+"
        case "█", "▓": return "#"
        case "▒": return "o"
        case "░", "·", "•": return "."
        case "▲", "▴": return "^"
        case "▼", "▾": return "v"
        case "…": return "~"
        case "×": return "x"
        case "≥": return ">"
        case "≤": return "<"
        case "→": return ">"
        case "←": return "<"
        case "✂": return "X"
        default:
            if s.value >= 0x2800 && s.value <= 0x28FF { return s.value == 0x2800 ? " " : ":" }
            if s.value >= 0x2581 && s.value <= 0x2588 { return "#" }
            return "?"
        }
    }

    /// Double-width scalars (CJK, emoji): the grid keeps one cell per scalar, so they are replaced.
    static func isWide(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1FAFF).contains(v) || v >= 0x20000
    }
}
