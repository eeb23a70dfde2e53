import Foundation

/// `ktop serve --memory-budget`: RSS under a load that retains far more than
/// the budget, then after DeleteStream.
///
/// Each record size gets a server of its own (`--limits off --memory-budget
/// 256MiB`), fed by wrk (PutRecords of 500 records, 2 connections) for
/// `seconds`: several GiB of payload, so the budget trims all along. The ratio is
/// RSS against what the budget allows (budget + the idle server's RSS): the
/// budget counts what RSS holds when it stays near 1×. Then the stream is
/// deleted and RSS read again two ticks later (glibc's `malloc_trim` hands freed
/// pages back).
func memoryBenchmarks(ktop: String, seconds: Int) -> [Row] {
    let budget = 256 << 20
    let name = { (size: Int) in "RSS under `--memory-budget 256MiB`, PutRecords of \(size) B records" }
    guard sh("command -v wrk").status == 0 || ensureInstalled(apt: "wrk") else {
        return [Row.skipped(name(10_240), baseline: "budget + idle RSS", target: "≤ 1.25×", why: "wrk is missing")]
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ktop-bench-mem-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var rows: [Row] = []
    for (i, size) in [10_240, 100].enumerated() {
        let port = 45_681 + i
        guard
            let server = Server("'\(ktop)' serve --host 127.0.0.1 --port \(port) --limits off --memory-budget 256MiB"),
            prepare(port: port)
        else {
            rows.append(
                Row.skipped(
                    name(size), baseline: "budget + idle RSS", target: "≤ 1.25×", why: "ktop serve did not start"))
            continue
        }
        defer { server.stop() }
        let pid = server.process.processIdentifier
        let idle = rssBytes(pid: pid) ?? 0
        let script = largePutRecordsScript(recordBytes: size)
        let file = dir.appendingPathComponent("memory-\(size).lua")
        try? script.write(to: file, atomically: true, encoding: .utf8)
        let out = sh("wrk -t1 -c2 -d\(seconds)s --timeout 20s -s '\(file.path)' http://127.0.0.1:\(port)/").out
        let calls =
            out.split(separator: "\n").first { $0.hasPrefix("KTOPBENCH") }
            .flatMap { $0.split(separator: " ").first { $0.hasPrefix("requests=") } }
            .flatMap { Double($0.dropFirst("requests=".count)) } ?? 0
        Thread.sleep(forTimeInterval: 2.5)  // two ticks: the budget's trim runs on the tick
        let loaded = rssBytes(pid: pid) ?? 0
        _ = kinesis(port, "DeleteStream", #"{"StreamName":"bench"}"#)
        Thread.sleep(forTimeInterval: 3)
        let deleted = rssBytes(pid: pid) ?? 0
        let put = calls * 500 * Double(size)
        let r = Double(loaded) / Double(budget + idle)
        rows.append(
            Row(
                name: name(size), ktop: mib(loaded), baseline: "\(mib(budget + idle)) (budget + idle \(mib(idle)))",
                ratio: String(format: "%.2f×", r), target: "≤ 1.25×", met: r <= 1.25 && calls > 0,
                note: String(
                    format:
                        "%.1f GiB of payload put in %d s (wrk -t1 -c2, 500 records a call); RSS after DeleteStream: "
                            + "%@ (idle was %@).",
                    put / 0x1p30, seconds, mib(deleted), mib(idle))))
    }
    return rows
}

/// A wrk script of PutRecords calls of 500 records of `recordBytes` bytes of 'a' each, cycling through 20 bodies
/// with distinct partition keys: a load that retains far more than any budget.
func largePutRecordsScript(recordBytes size: Int) -> String {
    // Base64 of `size` bytes of 'a' ("YWFh" is "aaa").
    let text = String(repeating: "YWFh", count: size / 3) + (size % 3 == 1 ? "YQ==" : size % 3 == 2 ? "YWE=" : "")
    return wrkCommon + "\n" + """
        wrk.headers["X-Amz-Target"] = "Kinesis_20131202.PutRecords"
        local payload = "\(text)"
        local bodies = {}
        for b = 1, 20 do
          local parts = {}
          for i = 1, 500 do
            parts[i] = '{"Data":"' .. payload .. '","PartitionKey":"key-' .. b .. '-' .. i .. '"}'
          end
          bodies[b] = '{"StreamName":"bench","Records":[' .. table.concat(parts, ",") .. ']}'
        end
        request = function()
          counter = counter + 1
          return wrk.format(nil, nil, nil, bodies[counter % 20 + 1])
        end
        """
}
