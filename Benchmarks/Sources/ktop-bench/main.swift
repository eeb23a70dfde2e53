import Foundation

// ktop-bench: every figure is a ratio against a baseline measured in the same
// run (candidate and baseline alternate; medians are reported), so a noisy
// 2-core machine shared with other builds still gives comparable numbers.
//
//   swift run -c release --package-path Benchmarks ktop-bench           full run, rewrites BENCHMARKS.md
//   swift run -c release --package-path Benchmarks ktop-bench --long    RSS window of 10 minutes instead of 2
//   swift run -c release --package-path Benchmarks ktop-bench --smoke   a few seconds, in-process rows only,
//                                                                       writes nothing
//   ... ktop-bench --only put4|put1000|get|frame|http|process|memory|durable   one benchmark (profiling, checks)
//   ... ktop-bench --only scale1000|scale10000   the dashboard's tick, view model, frame and memory at that width
//   ... ktop-bench --only wideprocess   the whole ktop process on a 1,000-shard scenario file (tmux)

let args = CommandLine.arguments
let smoke = args.contains("--smoke")
let long = args.contains("--long")
let rounds = smoke ? 1 : 5
let scale = smoke ? 20 : 1

if let i = args.firstIndex(of: "--serve-kinesis"), i + 1 < args.count, let port = Int(args[i + 1]) {
    serveKinesis(port: port)
}

if let i = args.firstIndex(of: "--only"), i + 1 < args.count {
    if args[i + 1] == "durable" {
        let bin = smoke ? nil : buildKtop()
        var rs = [
            durableWriteBenchmark(policy: .always, rounds: rounds, scale: scale),
            durableWriteBenchmark(policy: .interval(milliseconds: 100), rounds: rounds, scale: scale),
            recoveryBenchmark(gigabytes: smoke ? 0.01 : 1, rounds: smoke ? 1 : 3),
        ]
        if let bin { rs.append(durableRSSBenchmark(ktop: bin, seconds: 60)) }
        for r in rs { print(r.name, "|", r.ktop, "|", r.baseline, "|", r.ratio, "|", r.met as Any, "|", r.note) }
        exit(0)
    }
    if args[i + 1] == "wideprocess" {
        let r = wideProcessBenchmark(ktop: buildKtop()!)
        print(r.name, "|", r.ktop, "|", r.baseline, "|", r.ratio, "|", r.met as Any, "|", r.note)
        exit(0)
    }
    if ["http", "process", "memory"].contains(args[i + 1]) {
        let bin = buildKtop()
        let rs =
            args[i + 1] == "http"
            ? httpBenchmarks(ktop: bin, seconds: smoke ? 3 : 5, rounds: smoke ? 1 : 3)
            : args[i + 1] == "memory"
                ? memoryBenchmarks(ktop: bin!, seconds: 20) : processBenchmarks(ktop: bin!, long: long)
        for r in rs { print(r.name, "|", r.ktop, "|", r.baseline, "|", r.ratio, "|", r.met as Any, "|", r.note) }
        exit(0)
    }
    if let n = ["scale1000": 1_000, "scale10000": 10_000][args[i + 1]] {
        for r in scaleBenchmarks(shards: n, rounds: rounds, scale: scale) {
            print(r.name, "|", r.ktop, "|", r.baseline, "|", r.ratio, "|", r.met as Any, "|", r.note)
        }
        exit(0)
    }
    let row: Row
    switch args[i + 1] {
    case "put4": row = putBenchmark(shards: 4, rounds: rounds, scale: scale)
    case "put1000": row = putBenchmark(shards: 1_000, rounds: rounds, scale: scale)
    case "frame": row = frameBenchmark(rounds: rounds, scale: scale)
    default: row = getBenchmark(rounds: rounds, scale: scale)
    }
    print(row.name, row.ktop, row.baseline, row.ratio, row.note)
    exit(0)
}

var rows: [Row] = []
log("engine put path, 4 shards…")
rows.append(putBenchmark(shards: 4, rounds: rounds, scale: scale))
log("engine put path, 1,000 shards…")
rows.append(putBenchmark(shards: 1_000, rounds: rounds, scale: scale))
log("engine GetRecords…")
rows.append(getBenchmark(rounds: rounds, scale: scale))
var ktopBinary: String?
if !smoke {
    ktopBinary = buildKtop()
    log("HTTP: ktop serve vs moto_server…")
    rows += httpBenchmarks(ktop: ktopBinary, seconds: 10, rounds: 3)
}
log("--data-dir: the put path under each fsync policy, recovery…")
rows.append(durableWriteBenchmark(policy: .always, rounds: rounds, scale: scale))
rows.append(durableWriteBenchmark(policy: .interval(milliseconds: 100), rounds: rounds, scale: scale))
rows.append(recoveryBenchmark(gigabytes: smoke ? 0.01 : 1, rounds: smoke ? 1 : 3))
log("dashboard frame, 1,000 shards…")
rows.append(frameBenchmark(rounds: rounds, scale: scale))
// The smoke check (a debug build on CI) runs the 1,000-shard case only.
for n in smoke ? [1_000] : [1_000, 10_000] {
    log("dashboard at \(n.formatted()) shards: tick, view model, frame, memory…")
    rows += scaleBenchmarks(shards: n, rounds: rounds, scale: scale)
}
if !smoke {
    if let ktopBinary {
        rows += processBenchmarks(ktop: ktopBinary, long: long)
        log("whole process at 1,000 shards…")
        rows.append(wideProcessBenchmark(ktop: ktopBinary))
        log("memory budget: RSS of ktop serve --memory-budget 256MiB…")
        rows += memoryBenchmarks(ktop: ktopBinary, seconds: 20)
        log("--data-dir: RSS under constant load…")
        rows.append(durableRSSBenchmark(ktop: ktopBinary, seconds: long ? 600 : 60))
    } else {
        rows.append(
            Row.skipped(
                "whole process CPU", baseline: "one core", target: "≤ 15 %", why: "the ktop binary did not build"))
    }
}

func machine() -> String {
    let cpu =
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    let info = ProcessInfo.processInfo
    return
        "\(info.processorCount) cores (\(cpu)), \(info.physicalMemory >> 30) GiB, "
            + "\(info.operatingSystemVersionString), shared with other builds"
}

let notes = rows.filter { !$0.note.isEmpty }.map { "- **\($0.name)**: \($0.note)" }.joined(separator: "\n")
var table = """
    | benchmark | ktop | baseline (same run) | ratio | target | met |
    |---|---|---|---|---|---|

    """
for r in rows {
    let met = r.met.map { $0 ? "yes" : "no" } ?? (r.target.hasPrefix("recorded") && r.ktop != "—" ? "—" : "not run")
    table += "| \(r.name) | \(r.ktop) | \(r.baseline) | \(r.ratio) | \(r.target) | \(met) |\n"
}

let swiftVersion = sh("swift --version 2>&1 | head -1").out.trimmingCharacters(in: .whitespacesAndNewlines)
let header = """
    # Benchmarks

    Run: `swift run -c release --package-path Benchmarks ktop-bench` (about 6 minutes, 14 with `--long`; rewrites \
    this file; `--long` takes the RSS reading at 10 minutes instead of 2; `--smoke` is the few-second CI check, \
    which writes nothing).
    It installs what it needs when missing: `wrk` and `tmux` (apt-get), `moto[server]` (pip).
    Every figure is a ratio against a baseline measured in the same run: candidate and baseline
    rounds alternate and the medians are reported (engine rows: \(rounds) rounds; HTTP rows: 3 rounds of 10 s).

    - date: \(Date().ISO8601Format())
    - machine: \(machine())
    - build: release (`-c release`), \(swiftVersion)


    """

let md = header + table + (notes.isEmpty ? "" : "\nNotes on the rows:\n\n" + notes + "\n")
if smoke {
    // CI's check that the harness builds and runs: tiny sizes, usually a debug build,
    // so its figures say nothing about speed and the "met" column is not a verdict.
    print(
        "ktop-bench --smoke: the harness ran every in-process row at 1/20 size (figures not comparable; run without "
            + "--smoke for BENCHMARKS.md)"
    )
    for r in rows { print("  ran: \(r.name)") }
} else {
    print(md)
}
if !smoke {
    // Keep the hand-written analysis (everything from "## Profile") below the generated table.
    let url = packageRoot.appendingPathComponent("BENCHMARKS.md")
    let old = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    let analysis = old.range(of: "\n## Profile").map { String(old[$0.lowerBound...]) } ?? ""
    try! (md + analysis).write(to: url, atomically: true, encoding: .utf8)
    log("wrote \(url.path)")
}
