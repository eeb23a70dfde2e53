import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the machine offers the engine's memory budget, and how freed memory
/// goes back to it.
public enum SystemMemory {
    /// Physical memory, or the cgroup (container) limit when that is lower: in a
    /// container the host's RAM is not what the process may use before the OOM killer.
    public static let available: Int = {
        let physical = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        return min(physical, cgroupLimit() ?? physical)
    }()

    /// A quarter of ``available``: room for records, with the rest left for request
    /// buffers, metrics, the dashboard and everything else on the machine.
    public static let defaultBudget: Int = max(64 << 20, available / 4)

    /// cgroup v2 `memory.max`, or v1 `memory.limit_in_bytes`; nil when unlimited or unreadable.
    static func cgroupLimit() -> Int? {
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            // "max" (v2) or a huge sentinel (v1) mean no limit.
            if let n = Int(value), n > 0, n < 1 << 60 { return n }
        }
        return nil
    }

    /// Hands freed heap pages back to the system. glibc keeps freed memory in its
    /// arenas for reuse, so after a deleted stream's gigabytes are freed RSS stays
    /// where it was; `malloc_trim` releases whole free pages, also inside the heap.
    /// Elsewhere this does nothing (the allocator decides).
    public static func returnFreedPages() {
        #if canImport(Glibc)
        _ = mallocTrim?(0)
        #endif
    }

    #if canImport(Glibc)
    /// glibc's `malloc_trim`, which Swift's Glibc module does not import (it lives in malloc.h).
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()
    #endif

    /// Parses a size as people write it: `512MiB`, `2GiB`, `1.5G`, `800MB`,
    /// `1073741824` (bytes), or `25%` of ``available``. Binary and decimal
    /// suffixes both count in powers of 1,024, as memory is sold.
    public static func parseSize(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%") {
            guard let p = Double(t.dropLast()), p.isFinite, p > 0, p <= 100 else { return nil }
            return Int(Double(available) * p / 100)
        }
        let units: [(String, Double)] = [("KiB", 0x1p10), ("MiB", 0x1p20), ("GiB", 0x1p30), ("TiB", 0x1p40),
                                         ("KB", 0x1p10), ("MB", 0x1p20), ("GB", 0x1p30), ("TB", 0x1p40),
                                         ("K", 0x1p10), ("M", 0x1p20), ("G", 0x1p30), ("T", 0x1p40), ("B", 1)]
        var number = Substring(t), scale = 1.0
        for (suffix, factor) in units where t.uppercased().hasSuffix(suffix.uppercased()) {
            number = t.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let n = Double(number.trimmingCharacters(in: .whitespaces)), n.isFinite, n >= 0 else { return nil }
        let bytes = n * scale
        guard bytes < 0x1p62 else { return nil }
        return Int(bytes)
    }
}
