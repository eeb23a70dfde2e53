import Foundation

/// One line of BENCHMARKS.md: ktop's figure, the baseline measured in the
/// same run, their ratio and whether it meets the target.
struct Row {
    var name: String
    var ktop: String
    var baseline: String
    var ratio: String
    var target: String
    /// nil when the row could not be measured (the note says why).
    var met: Bool?
    var note: String = ""

    static func skipped(_ name: String, baseline: String, target: String, why: String) -> Row {
        Row(name: name, ktop: "—", baseline: baseline, ratio: "—", target: target, met: nil, note: why)
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s[s.count / 2]
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

/// Runs `body` and returns items per second; `body` returns how many items it processed.
func rate(_ body: () -> Int) -> Double {
    let clock = ContinuousClock()
    var n = 0
    let d = clock.measure { n = body() }
    return Double(n) / seconds(d)
}

func fmt(_ x: Double) -> String {
    x >= 1e6
        ? String(format: "%.2f M", x / 1e6) : x >= 1e3 ? String(format: "%.1f k", x / 1e3) : String(format: "%.1f", x)
}

func ratio(_ x: Double) -> String { x >= 10 ? String(format: "%.0f×", x) : String(format: "%.2f×", x) }

/// Runs a command to completion; returns its exit status and standard output.
@discardableResult
func sh(_ command: String, quiet: Bool = true) -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = quiet ? FileHandle.nullDevice : FileHandle.standardError
    do { try p.run() } catch { return (127, "") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs a command with system(3), its output going to a file that is read
/// back: for commands that leave a daemon behind (a tmux server), which would
/// hold a pipe open.
@discardableResult
func run(_ command: String) -> (status: Int32, out: String) {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("ktop-bench-out-\(getpid())").path
    let status = system("(\(command)) > '\(file)' 2>/dev/null < /dev/null")
    let out = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    unlink(file)
    return (status, out)
}

func log(_ s: String) {
    FileHandle.standardError.write(Data("ktop-bench: \(s)\n".utf8))
}

/// The ktop package root (the parent of Benchmarks/).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../..").standardized

/// CPU seconds (user + system) a process has used, from /proc/PID/stat.
func cpuSeconds(pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command: state(0) ppid(1) ... utime(11) stime(12), in clock ticks.
    guard fields.count > 12, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
    let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
    return (u + s) / hz
}

/// Resident set size of a process in bytes, from /proc/PID/status.
func rssBytes(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        return kb.map { $0 * 1024 }
    }
    return nil
}

func mib(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }

/// CPU seconds this thread spent in `body`: unlike wall time, it does not grow while other processes on this
/// shared machine hold the cores (caches are still shared, so it is not free of their noise).
func threadCPUSeconds(_ body: () -> Void) -> Double {
    func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    let start = now()
    body()
    return now() - start
}

/// The one-minute load average from /proc/loadavg ("?" where there is none): how busy the shared machine was.
func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
}
