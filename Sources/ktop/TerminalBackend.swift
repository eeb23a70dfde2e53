import CNcurses
import Dashboard
import Foundation
import Synchronization

/// The only code that talks to ncurses. It owns the terminal on one thread
/// (the main loop's): starts curses, decodes keys, mouse and resize events,
/// and copies the cells of a rendered `CellGrid` that changed since the last
/// frame. `stop()` restores the terminal and is safe to call more than once.
final class NcursesBackend {
    private(set) var capabilities = TerminalCapabilities.full
    private var previous: CellGrid?
    private var pairs: [PairKey: Int32] = [:]
    private var started = false
    private var colorCount = 0
    private var pairLimit = 0
    private var defaultColors = false

    private struct PairKey: Hashable {
        var fg: Color
        var bg: Color
    }

    /// Starts curses: locale, keypad, mouse, 25 ms ESC delay, colours.
    func start() {
        let utf8 = ktop_setlocale_utf8() != 0
        _ = initscr()
        started = true
        TerminalGuard.cursesActive.store(true, ordering: .sequentiallyConsistent)
        cbreak()
        noecho()
        nonl()
        keypad(ktop_stdscr(), true)
        _ = ktop_set_escdelay(25)
        _ = curs_set(0)
        _ = ktop_mouse_on()
        _ = mouseinterval(0)
        let noColor = !(ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
        let hasColors = has_colors()
        if hasColors && !noColor {
            start_color()
            defaultColors = use_default_colors() == OK
            colorCount = Int(ktop_colors())
            pairLimit = min(Int(ktop_color_pairs()), 32_767)
        }
        capabilities = TerminalCapabilities(
            colors: ColorDepth.detect(colors: colorCount, hasColors: hasColors, noColor: noColor), unicode: utf8)
        wtimeout(ktop_stdscr(), 50)
    }

    /// Restores the terminal (endwin). Idempotent.
    func stop() {
        guard started else { return }
        started = false
        TerminalGuard.cursesActive.store(false, ordering: .sequentiallyConsistent)
        _ = curs_set(1)
        endwin()
    }

    var size: (width: Int, height: Int) { (Int(ktop_cols()), Int(ktop_lines())) }

    /// How long `readKey` waits for a key before returning nil.
    func setTimeout(milliseconds: Int) { wtimeout(ktop_stdscr(), Int32(milliseconds)) }

    /// Copies the grid to the terminal: only cells that differ from the last frame.
    func draw(_ grid: CellGrid) {
        if let p = previous, p.width != grid.width || p.height != grid.height { previous = nil }
        if previous == nil { werase(ktop_stdscr()) }
        for y in 0..<grid.height {
            for x in 0..<grid.width {
                let cell = grid[x, y]
                if let p = previous, p[x, y] == cell { continue }
                _ = ktop_put_cell(
                    Int32(y), Int32(x), cell.glyph.value, UInt32(cell.style.attributes.rawValue), pair(for: cell.style))
            }
        }
        previous = grid
        wrefresh(ktop_stdscr())
    }

    /// Forces the next `draw` to repaint everything (after a resize).
    func invalidate() { previous = nil }

    private func pair(for style: Style) -> Int32 {
        guard colorCount > 0 else { return 0 }
        if style.fg == .terminalDefault && style.bg == .terminalDefault { return 0 }
        let key = PairKey(fg: style.fg, bg: style.bg)
        if let p = pairs[key] { return p }
        guard pairs.count + 1 < pairLimit else { return 0 }
        let n = Int32(pairs.count + 1)
        init_pair(Int16(n), curses(style.fg, background: false), curses(style.bg, background: true))
        pairs[key] = n
        return n
    }

    private func curses(_ c: Color, background: Bool) -> Int16 {
        switch c {
        case .terminalDefault: return defaultColors ? -1 : (background ? 0 : 7)
        case .indexed(let i): return Int(i) < colorCount ? Int16(i) : Int16(Int(i) % max(colorCount, 1))
        }
    }

    /// The next key or terminal event, or nil after the timeout.
    func readKey() -> Key? {
        var ch: UInt32 = 0
        let r = ktop_get_wch(&ch)
        if r == ERR { return nil }
        if r == KEY_CODE_YES {
            switch Int32(ch) {
            case KEY_UP: return .up
            case KEY_DOWN: return .down
            case KEY_LEFT: return .left
            case KEY_RIGHT: return .right
            case KEY_PPAGE: return .pageUp
            case KEY_NPAGE: return .pageDown
            case KEY_HOME: return .home
            case KEY_END: return .end
            case KEY_ENTER: return .enter
            case KEY_BACKSPACE: return .backspace
            case KEY_BTAB: return .backTab
            case KEY_RESIZE:
                previous = nil
                return .resize(width: Int(ktop_cols()), height: Int(ktop_lines()))
            case KEY_MOUSE:
                var x: Int32 = 0
                var y: Int32 = 0
                var kind: Int32 = 0
                guard ktop_get_mouse(&x, &y, &kind) != 0 else { return nil }
                switch kind {
                case 1: return .click(x: Int(x), y: Int(y))
                case 4: return .wheelUp
                case 5: return .wheelDown
                default: return nil
                }
            default:
                for n in 1...12 where Int32(ch) == ktop_key_f(Int32(n)) { return .function(n) }
                return nil
            }
        }
        switch ch {
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 9: return .tab
        default:
            guard let s = Unicode.Scalar(ch) else { return nil }
            return .char(Character(s))
        }
    }
}

/// Restores the terminal however ktop ends: q (normal path), SIGINT and
/// SIGTERM (a flag the main loop sees within one key timeout), and fatal
/// signals (endwin, then the default action so the crash is still reported).
enum TerminalGuard {
    static let cursesActive = Atomic<Bool>(false)
    static let interrupted = Atomic<Int32>(0)

    static func install() {
        signal(SIGINT) { sig in TerminalGuard.interrupted.store(sig, ordering: .sequentiallyConsistent) }
        signal(SIGTERM) { sig in TerminalGuard.interrupted.store(sig, ordering: .sequentiallyConsistent) }
        signal(SIGHUP) { sig in TerminalGuard.interrupted.store(sig, ordering: .sequentiallyConsistent) }
        for sig in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] {
            signal(sig) { sig in
                if TerminalGuard.cursesActive.load(ordering: .sequentiallyConsistent) { endwin() }
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
    }
}
