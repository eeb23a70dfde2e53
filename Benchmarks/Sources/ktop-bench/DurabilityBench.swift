import Foundation
import StreamEngine

// `--data-dir` (issue 13): what durability costs the put path, how long recovery takes, and
// whether RSS stays flat when a data directory holds what memory does not.

/// A fresh directory for one benchmark, removed afterwards.
private func scratch(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "ktop-bench-\(name)-\(getpid())-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// PutRecords 500 × 100 B on 4 shards, one writer, limits off: with `--data-dir` under `policy`
/// against the same calls in memory, rounds alternating. Under `always` every call waits for one
/// fdatasync per shard it touched (4 here); `interval` only writes.
func durableWriteBenchmark(policy: FsyncPolicy, rounds: Int, scale: Int) -> Row {
    let keys = (0..<100_000).map { "user-\($0 * 7919 % 1_000_003)" }
    let payload = Data(repeating: 0x61, count: 100)
    let batches = stride(from: 0, to: keys.count, by: 500).map { start in
        PutRecordsInput(
            records: keys[start..<min(start + 500, keys.count)].map {
                PutRecordsRequestEntry(data: payload, partitionKey: $0)
            },
            streamName: "bench")
    }
    let recordsPerRound = (policy == .always ? 200_000 : 1_000_000) / scale
    func round(storage: StorageConfiguration?) -> Double {
        var config = EngineConfiguration()
        config.limits = .off
        config.delays = .immediate
        config.storage = storage
        let engine = try! KinesisEngine.open(clock: ManualClock(), configuration: config).engine
        defer { engine.close() }
        let k = engine.service()
        _ = try! k.createStream(CreateStreamInput(streamName: "bench", shardCount: 4))
        return rate { putRepeatedly(k, batches, records: recordsPerRound) }
    }
    var candidate: [Double] = []
    var baseline: [Double] = []
    for _ in 0..<rounds {
        let dir = scratch("fsync")
        candidate.append(round(storage: StorageConfiguration(directory: dir, fsync: policy)))
        try? FileManager.default.removeItem(atPath: dir)
        baseline.append(round(storage: nil))
    }
    let c = median(candidate)
    let b = median(baseline)
    let fileSystem = sh("df -T /tmp | tail -1 | awk '{print $2}'").out.trimmingCharacters(in: .whitespacesAndNewlines)
    let target = policy == .always ? "recorded (no target: the disk's sync latency decides)" : "≥ 0.5×"
    return Row(
        name: "engine put path with `--data-dir --fsync \(policy)`, 4 shards, PutRecords 500 × 100 B, one writer",
        ktop: "\(fmt(c)) records/s", baseline: "\(fmt(b)) records/s (the same calls in memory)",
        ratio: ratio(c / b), target: target, met: policy == .always ? nil : c / b >= 0.5,
        note: policy == .always
            ? "Each call makes the 4 segment files it wrote durable before it returns (one syncfs for more than "
                    + "two shards, else fdatasync each; concurrent callers share syncs). "
                + "\(recordsPerRound / 500) calls a round on \(fileSystem) under /tmp."
            : "")
}

/// Opening a data directory that holds `gigabytes` of records (1 KiB each, 4 shards): every
/// entry's checksum verified and the sparse index built, against reading the same files.
func recoveryBenchmark(gigabytes: Double, rounds: Int) -> Row {
    let dir = scratch("recovery")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = EngineConfiguration()
    config.limits = .off
    config.delays = .immediate
    config.storage = StorageConfiguration(directory: dir, fsync: .interval(milliseconds: 1000))
    let payload = Data(repeating: 0x62, count: 1000)
    let total = Int(gigabytes * 1_000_000)
    do {
        let engine = try! KinesisEngine.open(clock: ManualClock(), configuration: config).engine
        let k = engine.service()
        _ = try! k.createStream(CreateStreamInput(streamName: "bench", shardCount: 4))
        for start in stride(from: 0, to: total, by: 500) {
            let records = (start..<min(start + 500, total)).map {
                PutRecordsRequestEntry(data: payload, partitionKey: "k\($0)")
            }
            precondition(
                try! k.putRecords(PutRecordsInput(records: records, streamName: "bench")).failedRecordCount == 0)
        }
        engine.close()
    }
    let files = FileManager.default.enumerator(atPath: dir)!.compactMap { $0 as? String }.filter {
        $0.hasSuffix(".seg")
    }
    var opens: [Double] = []
    var reads: [Double] = []
    var found: Int64 = 0
    for _ in 0..<rounds {
        let start = ContinuousClock.now
        let opened = try! KinesisEngine.open(clock: ManualClock(), configuration: config)
        opens.append(seconds(ContinuousClock.now - start))
        found = opened.recovery.records
        opened.engine.close()
        let readStart = ContinuousClock.now
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        for f in files {
            let fd = open(dir + "/" + f, O_RDONLY)
            while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
            close(fd)
        }
        reads.append(seconds(ContinuousClock.now - readStart))
    }
    let o = median(opens)
    let r = median(reads)
    return Row(
        name: String(format: "recovery of %.1f GB of records (1 KB each, 4 shards)", gigabytes),
        ktop: String(format: "%.2f s", o), baseline: String(format: "%.2f s (reading the same segment files)", r),
        ratio: ratio(o / r), target: "recorded", met: nil,
        note: "\(found) records found; files in the page cache (a cold start adds the disk's read time to both).")
}

/// `ktop serve --data-dir --limits off` under a constant PutRecords load (wrk, 500 × 1,000 B):
/// RSS at the end of the run against RSS halfway. The memory window (256 MiB by default) fills
/// in seconds; after that RSS must stay where it is while the disk takes the rest.
func durableRSSBenchmark(ktop: String, seconds: Int) -> Row {
    let name = "RSS under constant load with `--data-dir` (PutRecords 500 × 1,000 B, limits off)"
    guard sh("command -v wrk").status == 0 || ensureInstalled(apt: "wrk") else {
        return Row.skipped(name, baseline: "RSS halfway", target: "≤ 1.1× (flat)", why: "wrk is missing")
    }
    let dir = scratch("rss")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let port = 45_691
    guard
        let server = Server(
            "'\(ktop)' serve --host 127.0.0.1 --port \(port) --limits off --data-dir '\(dir)/data' --fsync interval:100"
        ),
        prepare(port: port)
    else {
        return Row.skipped(name, baseline: "RSS halfway", target: "≤ 1.1× (flat)", why: "ktop serve did not start")
    }
    defer { server.stop() }
    let pid = server.process.processIdentifier
    let script = largePutRecordsScript(recordBytes: 1000)
    let file = dir + "/durable-rss.lua"
    try? script.write(toFile: file, atomically: true, encoding: .utf8)
    let wrk = Process()
    wrk.executableURL = URL(fileURLWithPath: "/bin/sh")
    wrk.arguments = [
        "-c", "wrk -t1 -c2 -d\(seconds)s --timeout 20s -s '\(file)' http://127.0.0.1:\(port)/ > '\(dir)/wrk.out' 2>&1",
    ]
    try? wrk.run()
    Thread.sleep(forTimeInterval: Double(seconds) / 2)
    let half = rssBytes(pid: pid) ?? 0
    wrk.waitUntilExit()
    let end = rssBytes(pid: pid) ?? 0
    let out = (try? String(contentsOfFile: dir + "/wrk.out", encoding: .utf8)) ?? ""
    let calls =
        out.split(separator: "\n").first { $0.hasPrefix("KTOPBENCH") }
        .flatMap { $0.split(separator: " ").first { $0.hasPrefix("requests=") } }
        .flatMap { Double($0.dropFirst("requests=".count)) } ?? 0
    let onDisk = sh("du -sb '\(dir)/data' | cut -f1").out.trimmingCharacters(in: .whitespacesAndNewlines)
    let r = Double(end) / Double(max(half, 1))
    return Row(
        name: name, ktop: "\(mib(end)) after \(seconds) s", baseline: "\(mib(half)) after \(seconds / 2) s",
        ratio: String(format: "%.2f×", r), target: "≤ 1.1× (flat)", met: r <= 1.1 && calls > 0,
        note: String(
            format: "%.2f GB put (%.0f calls of 500 × 1,000 B, wrk -t1 -c2), %@ bytes on disk; "
                + "`--fsync interval:100`, memory window 256 MiB (the default with a data dir).",
            calls * 500_000 / 1e9, calls, onDisk))
}
