import Foundation

/// The whole `ktop` process on a wide stream (issue 16, target 4): a scenario
/// file of 1,000 shards fed 20,000 records a second (zipf keys over 100,000,
/// 100-byte records), the dashboard at its default 1 Hz refresh in a real
/// terminal (a detached tmux session, 200 × 60), real time. CPU: utime + stime
/// from /proc over 30 s after a 10 s warm-up, against one core.
func wideProcessBenchmark(ktop: String) -> Row {
    let name = "whole process CPU, 1,000 shards, 20 k records/s (zipf), dashboard at 1 Hz (200 × 60)"
    guard sh("command -v tmux").status == 0 || ensureInstalled(apt: "tmux") else {
        return Row.skipped(name, baseline: "one core", target: "≤ 10 %", why: "tmux is missing")
    }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("ktop-bench-wide-\(getpid()).json")
    let scenario = """
        {"name": "wide-1000", "durationSeconds": 3600, "seed": 16, "stream": {"name": "wide", "shards": 1000},
         "producers": [{"name": "p", "recordsPerSecond": 20000, "keys": {"type": "zipf", "count": 100000, "s": 1.1},
                        "size": {"type": "fixed", "bytes": 100}}]}
        """
    guard (try? scenario.write(to: file, atomically: true, encoding: .utf8)) != nil else {
        return Row.skipped(name, baseline: "one core", target: "≤ 10 %", why: "could not write the scenario file")
    }
    defer { try? FileManager.default.removeItem(at: file) }
    let tmux = "tmux -L ktop-bench-wide-\(getpid())"
    guard run("\(tmux) new-session -d -x 200 -y 60 'exec \(ktop) --scenario \(file.path)'").status == 0,
        let pid = Int32(
            run("\(tmux) display -p -t 0 '#{pane_pid}'").out.trimmingCharacters(in: .whitespacesAndNewlines))
    else {
        run("\(tmux) kill-server >/dev/null 2>&1")
        return Row.skipped(name, baseline: "one core", target: "≤ 10 %", why: "could not start ktop in tmux")
    }
    defer {
        kill(pid, SIGKILL)  // the ktop we started; the tmux server on our own socket ends with its session
        run("\(tmux) kill-server >/dev/null 2>&1")
    }
    log("ktop (pid \(pid)) running 1,000 shards at 20 k records/s; measuring CPU for 30 s…")
    Thread.sleep(forTimeInterval: 10)
    let c0 = cpuSeconds(pid: pid)
    let t0 = Date()
    Thread.sleep(forTimeInterval: 30)
    let c1 = cpuSeconds(pid: pid)
    let t1 = Date()
    let screen = run("\(tmux) capture-pane -p -t 0").out
    try? screen.write(
        toFile: FileManager.default.temporaryDirectory.appendingPathComponent("ktop-bench-wide-screen.txt").path,
        atomically: true, encoding: .utf8)
    guard let c0, let c1, screen.contains("1000 open") else {
        return Row.skipped(name, baseline: "one core", target: "≤ 10 %", why: "ktop exited early or showed no stream")
    }
    let cpu = (c1 - c0) / t1.timeIntervalSince(t0)
    return Row(
        name: name, ktop: String(format: "%.1f %% of a core", cpu * 100), baseline: "one core",
        ratio: String(format: "%.1f %%", cpu * 100), target: "≤ 10 %", met: cpu <= 0.10,
        note: "Real `ktop` binary (release) in tmux, real time, the scenario file written by the harness; the "
            + "screen seen is saved in /tmp/ktop-bench-wide-screen.txt.")
}
