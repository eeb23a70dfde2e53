/// A terminal colour as the renderer asks for it. The backend maps it to what
/// the terminal can show (256, 16, 8 colours or none); `Theme` already picks
/// colours that exist at the terminal's depth, so the mapping is exact.
public enum Color: Hashable, Sendable {
    /// The terminal's own foreground or background.
    case terminalDefault
    /// One of the 256 xterm colours: 0–7 base, 8–15 bright, 16–231 cube, 232–255 grey.
    case indexed(UInt8)

    public static let black = Color.indexed(0), red = Color.indexed(1), green = Color.indexed(2)
    public static let yellow = Color.indexed(3), blue = Color.indexed(4), magenta = Color.indexed(5)
    public static let cyan = Color.indexed(6), white = Color.indexed(7)
    public static let brightBlack = Color.indexed(8), brightRed = Color.indexed(9), brightGreen = Color.indexed(10)
    public static let brightYellow = Color.indexed(11), brightBlue = Color.indexed(12),
        brightMagenta = Color.indexed(13)
    public static let brightCyan = Color.indexed(14), brightWhite = Color.indexed(15)
}

/// Text attributes of a cell (the subset every curses terminal offers).
public struct Attributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = Attributes(rawValue: 1)
    public static let underline = Attributes(rawValue: 2)
    public static let reverse = Attributes(rawValue: 4)
    public static let dim = Attributes(rawValue: 8)
}

/// Foreground, background and attributes: everything about a cell but its glyph.
public struct Style: Hashable, Sendable {
    public var fg: Color
    public var bg: Color
    public var attributes: Attributes
    public init(fg: Color = .terminalDefault, bg: Color = .terminalDefault, attributes: Attributes = []) {
        self.fg = fg
        self.bg = bg
        self.attributes = attributes
    }
    public static let plain = Style()
}

/// One character cell of the off-screen screen: a single-width glyph and its style.
public struct Cell: Hashable, Sendable {
    public var glyph: Unicode.Scalar
    public var style: Style
    public init(_ glyph: Unicode.Scalar = " ", _ style: Style = .plain) {
        self.glyph = glyph
        self.style = style
    }
    public static let blank = Cell()
}

/// A rectangle of the grid, in cells.
public struct Rect: Hashable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
    /// The first `n` rows, and the rest.
    public func splitTop(_ n: Int) -> (Rect, Rect) {
        let n = min(max(0, n), height)
        return (Rect(x: x, y: y, width: width, height: n), Rect(x: x, y: y + n, width: width, height: height - n))
    }
    /// The first `n` columns, and the rest.
    public func splitLeft(_ n: Int) -> (Rect, Rect) {
        let n = min(max(0, n), width)
        return (Rect(x: x, y: y, width: n, height: height), Rect(x: x + n, y: y, width: width - n, height: height))
    }
}

/// The off-screen screen every pane draws into. Rendering is pure: the same
/// model gives the same grid, and tests read it back as text; only the
/// terminal backend copies it (changed cells only) to a real terminal.
public struct CellGrid: Hashable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// When false, every glyph outside printable ASCII is drawn as its ASCII fallback.
    public var unicode: Bool

    public init(width: Int, height: Int, unicode: Bool = true) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.unicode = unicode
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { if x >= 0 && x < width && y >= 0 && y < height { cells[y * width + x] = newValue } }
    }

    /// Sets one cell, clipped to the grid and to `clip` if given.
    public mutating func set(_ x: Int, _ y: Int, _ glyph: Unicode.Scalar, _ style: Style, clip: Rect? = nil) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        if let clip, !clip.contains(x: x, y: y) { return }
        cells[y * width + x] = Cell(sanitize(glyph), style)
    }

    /// Writes a string from (x, y) left to right, one cell per scalar, clipped
    /// to `maxWidth` cells (and the grid). Returns the number of cells written.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .plain, maxWidth: Int? = nil) -> Int {
        var col = 0
        let limit = maxWidth ?? (width - x)
        for s in text.unicodeScalars {
            if col >= limit { break }
            if s.properties.generalCategory == .nonspacingMark || s.properties.generalCategory == .enclosingMark {
                continue
            }
            set(x + col, y, s, style)
            col += 1
        }
        return col
    }

    /// Fills a rectangle with one glyph and style.
    public mutating func fill(_ r: Rect, _ glyph: Unicode.Scalar = " ", _ style: Style = .plain) {
        for yy in max(0, r.y)..<min(height, r.maxY) {
            for xx in max(0, r.x)..<min(width, r.maxX) { cells[yy * width + xx] = Cell(sanitize(glyph), style) }
        }
    }

    /// Changes the style of existing cells in a rectangle (e.g. highlight a row).
    public mutating func restyle(_ r: Rect, _ transform: (Style) -> Style) {
        for yy in max(0, r.y)..<min(height, r.maxY) {
            for xx in max(0, r.x)..<min(width, r.maxX) {
                cells[yy * width + xx].style = transform(cells[yy * width + xx].style)
            }
        }
    }

    /// A glyph the terminal can show in one cell: control characters and
    /// double-width scalars become "?", and without Unicode every
    /// non-ASCII glyph becomes its ASCII fallback.
    func sanitize(_ s: Unicode.Scalar) -> Unicode.Scalar {
        if s.value < 0x20 || s.value == 0x7F || (s.value >= 0x80 && s.value < 0xA0) { return "?" }
        if s.value < 0x80 { return s }
        if !unicode { return Glyphs.asciiFallback(s) }
        return Glyphs.isWide(s) ? "?" : s
    }

    /// The grid as text, one line per row, trailing blanks trimmed: what snapshot tests compare.
    public var text: String {
        (0..<height).map { y in
            var line = String.UnicodeScalarView()
            for x in 0..<width { line.append(cells[y * width + x].glyph) }
            var s = String(line)
            while s.last == " " { s.removeLast() }
            return s
        }.joined(separator: "\n")
    }

    /// One row as text (untrimmed).
    public func row(_ y: Int) -> String {
        var line = String.UnicodeScalarView()
        for x in 0..<width { line.append(cells[y * width + x].glyph) }
        return String(line)
    }
}
