/// How many colours the terminal can show. `NO_COLOR` (no-color.org) forces
/// `.monochrome`; the backend detects the rest from terminfo.
public enum ColorDepth: String, Sendable, CaseIterable {
    case monochrome, eight, sixteen, full256

    /// The depth for a terminal reporting `colors` colours, honouring NO_COLOR.
    public static func detect(colors: Int, hasColors: Bool, noColor: Bool) -> ColorDepth {
        if noColor || !hasColors || colors < 8 { return .monochrome }
        if colors >= 256 { return .full256 }
        if colors >= 16 { return .sixteen }
        return .eight
    }
}

/// What a terminal can do, as far as rendering cares.
public struct TerminalCapabilities: Hashable, Sendable {
    public var colors: ColorDepth
    /// The locale is UTF-8: braille, blocks and box drawing; otherwise ASCII only.
    public var unicode: Bool
    public init(colors: ColorDepth, unicode: Bool) { self.colors = colors; self.unicode = unicode }
    public static let full = TerminalCapabilities(colors: .full256, unicode: true)
}

/// What a cell means; `Theme` turns meaning into colours for the terminal's
/// depth, so panes never pick raw colours and monochrome still reads well.
public enum Role: Hashable, Sendable {
    case normal, dim, title, header, label, value, selected, banner, warning, error, ok
    case heat(Heat4), capacityLine, chart, throttleMark, advice, keyMark, efo, polling, prompt, border
}

/// The four heat levels of a shard (as Metrics' `Heat`, repeated here so the
/// view model stays a plain value type).
public enum Heat4: String, Hashable, Sendable, CaseIterable, Comparable {
    case cold, warm, hot, throttled

    /// Hotter is greater: where many shards share a cell, the greatest shows.
    public static func < (a: Heat4, b: Heat4) -> Bool { a.rank < b.rank }
    private var rank: Int {
        switch self {
        case .cold: 0
        case .warm: 1
        case .hot: 2
        case .throttled: 3
        }
    }
}

/// Role → style at one colour depth.
public struct Theme: Sendable {
    public let depth: ColorDepth
    public init(depth: ColorDepth) { self.depth = depth }

    public func style(_ role: Role) -> Style {
        switch depth {
        case .monochrome: return mono(role)
        case .eight: return eight(role)
        case .sixteen: return sixteen(role)
        case .full256: return full(role)
        }
    }

    private func mono(_ role: Role) -> Style {
        switch role {
        case .normal, .value, .chart, .polling, .efo, .label, .border: return .plain
        case .dim: return Style(attributes: .dim)
        case .title, .header: return Style(attributes: .bold)
        case .selected, .banner, .prompt: return Style(attributes: .reverse)
        case .warning, .advice, .keyMark: return Style(attributes: .bold)
        case .error, .throttleMark: return Style(attributes: [.bold, .underline])
        case .ok: return .plain
        case .capacityLine: return Style(attributes: .bold)
        case .heat(let h): return h == .throttled ? Style(attributes: .bold) : .plain
        }
    }

    private func eight(_ role: Role) -> Style {
        switch role {
        case .normal, .value, .border: return .plain
        case .dim: return Style(attributes: .dim)
        case .label: return Style(fg: .cyan)
        case .title: return Style(fg: .cyan, attributes: .bold)
        case .header: return Style(fg: .black, bg: .cyan)
        case .selected: return Style(fg: .black, bg: .cyan)
        case .banner: return Style(fg: .black, bg: .yellow, attributes: .bold)
        case .prompt: return Style(fg: .black, bg: .white)
        case .warning, .advice: return Style(fg: .yellow, attributes: .bold)
        case .error, .throttleMark: return Style(fg: .red, attributes: .bold)
        case .ok: return Style(fg: .green)
        case .capacityLine: return Style(fg: .yellow)
        case .chart: return Style(fg: .green)
        case .keyMark: return Style(fg: .magenta, attributes: .bold)
        case .efo: return Style(fg: .magenta)
        case .polling: return Style(fg: .blue, attributes: .bold)
        case .heat(let h):
            switch h {
            case .cold: return Style(fg: .blue)
            case .warm: return Style(fg: .yellow)
            case .hot: return Style(fg: .red)
            case .throttled: return Style(fg: .red, attributes: .bold)
            }
        }
    }

    private func sixteen(_ role: Role) -> Style {
        switch role {
        case .dim: return Style(fg: .brightBlack)
        case .title: return Style(fg: .brightCyan, attributes: .bold)
        case .error, .throttleMark: return Style(fg: .brightRed, attributes: .bold)
        case .heat(let h):
            switch h {
            case .cold: return Style(fg: .brightBlue)
            case .warm: return Style(fg: .brightYellow)
            case .hot: return Style(fg: .red, attributes: .bold)
            case .throttled: return Style(fg: .brightRed, attributes: .bold)
            }
        case .chart: return Style(fg: .brightGreen)
        default: return eight(role)
        }
    }

    private func full(_ role: Role) -> Style {
        switch role {
        case .dim: return Style(fg: .indexed(245))
        case .header: return Style(fg: .indexed(231), bg: .indexed(24))
        case .selected: return Style(fg: .indexed(231), bg: .indexed(31))
        case .heat(let h):
            switch h {
            case .cold: return Style(fg: .indexed(39))
            case .warm: return Style(fg: .indexed(220))
            case .hot: return Style(fg: .indexed(208), attributes: .bold)
            case .throttled: return Style(fg: .indexed(196), attributes: .bold)
            }
        case .chart: return Style(fg: .indexed(77))
        case .capacityLine: return Style(fg: .indexed(214))
        default: return sixteen(role)
        }
    }
}
