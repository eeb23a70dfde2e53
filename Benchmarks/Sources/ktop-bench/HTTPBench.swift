import Foundation
import KinesisAPI
import StreamEngine

// HTTP benchmarks: `ktop serve --limits off` against moto_server, both driven
// by the same client, wrk (Debian's package; LuaJIT scripts below build the
// Kinesis JSON 1.1 requests), one wrk thread with 8 connections on a 2-core
// machine. Each server gets the same stream (4 shards) and the same requests.

let wrkCommon = #"""
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
    wrk.headers["X-Amz-Date"] = "20261127T000000Z"
    -- Lua joins strings with "..": a "+" here makes the script fail to load, and wrk then sends bare requests.
    wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20261127/us-east-1/kinesis/aws4_request, "
        .. "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
        .. "Signature=0000000000000000000000000000000000000000000000000000000000000000"
    local data = string.rep("YWFh", 33) .. "YQ==" -- 100 bytes of "a"
    local counter = 0
    local bad = 0
    response = function(status, headers, body)
      if status ~= 200 or string.find(body, '"FailedRecordCount": ?[1-9]') then bad = bad + 1 end
    end
    done = function(summary, latency, requests)
      io.write(string.format("KTOPBENCH requests=%d bad=%d errors=%d seconds=%f\n", summary.requests, bad,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
          + summary.errors.timeout,
        summary.duration / 1e6))
    end
    """#

/// PutRecords: 500 records of 100 B. 200 bodies with distinct partition keys
/// (100,000 keys) are built once and sent in turn, so the client spends its
/// time on the wire, not on building JSON.
private let putRecordsScript =
    wrkCommon + "\n" + #"""
        wrk.headers["X-Amz-Target"] = "Kinesis_20131202.PutRecords"
        local bodies = {}
        for b = 1, 200 do
          local parts = {}
          for i = 1, 500 do
            parts[i] = '{"Data":"' .. data .. '","PartitionKey":"k-' .. b .. '-' .. i .. '"}'
          end
          bodies[b] = '{"StreamName":"bench","Records":[' .. table.concat(parts, ",") .. ']}'
        end
        request = function()
          counter = counter + 1
          return wrk.format(nil, nil, nil, bodies[counter % 200 + 1])
        end
        """#

/// PutRecord: one 100 B record per call.
private let putRecordScript =
    wrkCommon + "\n" + #"""
        wrk.headers["X-Amz-Target"] = "Kinesis_20131202.PutRecord"
        request = function()
          counter = counter + 1
          local body = '{"StreamName":"bench","Data":"' .. data .. '","PartitionKey":"k-' .. counter .. '"}'
          return wrk.format(nil, nil, nil, body)
        end
        """#

struct WrkResult {
    var perSecond: Double
    /// Calls completed in the run.
    var requests: Double
    var bad: Int
}

func kinesis(_ port: Int, _ target: String, _ body: String) -> String {
    sh(
        "curl -s -m 5 -X POST http://127.0.0.1:\(port)/ -H 'Content-Type: application/x-amz-json-1.1' -H "
            + "'X-Amz-Target: Kinesis_20131202.\(target)' -H 'X-Amz-Date: 20261127T000000Z' -H 'Authorization: "
                + "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20261127/us-east-1/kinesis/aws4_request, "
                    + "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                        + "Signature=0000000000000000000000000000000000000000000000000000000000000000' -d '\(body)'"
    ).out
}

/// Waits for a server to answer, creates the stream and waits until it is ACTIVE.
func prepare(port: Int) -> Bool {
    for _ in 0..<300 {
        if sh("curl -s -m 1 -o /dev/null http://127.0.0.1:\(port)/").status == 0 { break }
        Thread.sleep(forTimeInterval: 0.1)
    }
    _ = kinesis(port, "CreateStream", #"{"StreamName":"bench","ShardCount":4}"#)
    for _ in 0..<100 {
        if kinesis(port, "DescribeStreamSummary", #"{"StreamName":"bench"}"#).contains(#""StreamStatus":"ACTIVE""#)
            || kinesis(port, "DescribeStreamSummary", #"{"StreamName":"bench"}"#).contains(#""StreamStatus": "ACTIVE""#)
        {
            return true
        }
        Thread.sleep(forTimeInterval: 0.2)
    }
    return false
}

func wrk(port: Int, script: String, seconds: Int, dir: URL) -> WrkResult? {
    let file = dir.appendingPathComponent("bench-\(abs(script.hashValue)).lua")
    try? script.write(to: file, atomically: true, encoding: .utf8)
    let command = "wrk -t1 -c8 -d\(seconds)s --timeout 10s -s '\(file.path)' http://127.0.0.1:\(port)/"
    let out = sh(command).out
    guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("KTOPBENCH") }) else {
        log("no result from \(command): \(out.suffix(300))")
        try? FileManager.default.copyItem(at: file, to: URL(fileURLWithPath: "/tmp/failed.lua"))
        return nil
    }
    var fields: [String: Double] = [:]
    for kv in line.split(separator: " ").dropFirst() {
        let p = kv.split(separator: "=")
        if p.count == 2 { fields[String(p[0])] = Double(p[1]) }
    }
    guard let n = fields["requests"], let s = fields["seconds"], s > 0 else { return nil }
    return WrkResult(perSecond: n / s, requests: n, bad: Int((fields["bad"] ?? 0) + (fields["errors"] ?? 0)))
}

/// A server process we started (and only that one is stopped).
final class Server {
    let process = Process()
    init?(_ command: String) {
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec " + command]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
    }
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

func httpBenchmarks(ktop: String?, seconds: Int, rounds: Int) -> [Row] {
    let putRecordsName = "HTTP PutRecords (500 × 100 B per call), `ktop serve --limits off`"
    let putRecordName = "HTTP PutRecord calls/s, `ktop serve --limits off`"
    let cpuName = "server CPU per record, `ktop serve --limits off`, HTTP PutRecords 500 × 100 B"
    let cpuTarget = "≤ 1.5 µs a record"
    func skipAll(_ why: String) -> [Row] {
        [
            Row.skipped(putRecordsName, baseline: "moto_server", target: "≥ 100×", why: why),
            Row.skipped(putRecordName, baseline: "moto_server", target: "≥ 20×", why: why),
            Row.skipped(cpuName, baseline: "moto_server", target: cpuTarget, why: why),
        ]
    }
    if sh("command -v wrk").status != 0 && !ensureInstalled(apt: "wrk") {
        return skipAll("wrk is missing and could not be installed")
    }
    if sh("python3 -c 'import moto.server, flask'").status != 0 {
        log("installing moto[server] (pip)…")
        sh(
            "python3 -m pip install 'moto[server]' >&2 || python3 -m pip install --break-system-packages "
                + "'moto[server]' >&2",
            quiet: false)
        if sh("python3 -c 'import moto.server, flask'").status != 0 {
            return skipAll("moto[server] is missing and could not be installed")
        }
    }
    // `ktop serve` exists once `ktop --help` lists it among the subcommands.
    let servesHTTP =
        ktop.map {
            sh("'\($0)' --help").out.split(separator: "\n").contains {
                $0.trimmingCharacters(in: .whitespaces).hasPrefix("serve ")
            }
        } ?? false
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ktop-bench-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let (ktopPort, motoPort) = (45_671, 45_672)

    // One server of each kind for the whole run; rounds alternate between them.
    guard let moto = Server("python3 -m moto.server -p \(motoPort)") else {
        return skipAll("moto_server did not start")
    }
    defer { moto.stop() }
    guard prepare(port: motoPort) else { return skipAll("moto_server did not create the stream") }
    // `ktop serve` once the subcommand lands; until then the same server code
    // (KinesisAPI.KinesisServer on a limits-off engine) in a process of its own.
    let serverCommand =
        servesHTTP
        ? "'\(ktop!)' serve --host 127.0.0.1 --port \(ktopPort) --limits off"
        : "'\(CommandLine.arguments[0])' --serve-kinesis \(ktopPort)"
    var server = Server(serverCommand)
    if server == nil || !prepare(port: ktopPort) {
        log("the ktop server (\(serverCommand)) did not become ready")
        server?.stop()
        server = nil
    }
    defer { server?.stop() }

    var rows: [Row] = []
    // Server CPU seconds per record (utime + stime of the server process over each PutRecords round).
    var ktopCPU: [Double] = []
    var motoCPU: [Double] = []
    func cpuPerRecord(_ server: Server, _ run: () -> WrkResult?) -> (WrkResult, Double?)? {
        let pid = server.process.processIdentifier
        let before = cpuSeconds(pid: pid)
        guard let r = run() else { return nil }
        guard let before, let after = cpuSeconds(pid: pid), r.requests > 0 else { return (r, nil) }
        return (r, (after - before) / (r.requests * 500))
    }
    for (name, script, perCall, target, goal) in [
        (putRecordsName, putRecordsScript, 500.0, "≥ 100×", 100.0),
        (putRecordName, putRecordScript, 1.0, "≥ 20×", 20.0),
    ] {
        var k: [Double] = []
        var m: [Double] = []
        var bad = 0
        for _ in 0..<rounds {
            if let server, let (r, cpu) = cpuPerRecord(server, {
                wrk(port: ktopPort, script: script, seconds: seconds, dir: dir)
            }) {
                k.append(r.perSecond * perCall)
                bad += r.bad
                if perCall > 1, let cpu { ktopCPU.append(cpu) }
            }
            if let (r, cpu) = cpuPerRecord(moto, { wrk(port: motoPort, script: script, seconds: seconds, dir: dir) }) {
                m.append(r.perSecond * perCall)
                bad += r.bad
                if perCall > 1, let cpu { motoCPU.append(cpu) }
            }
        }
        let unit = perCall > 1 ? "records/s" : "calls/s"
        let baseline =
            m.isEmpty
            ? "moto_server: no result"
            : "\(fmt(median(m))) \(unit) (moto_server \(motoVersion()), same client and stream)"
        guard !k.isEmpty, !m.isEmpty else {
            rows.append(
                Row.skipped(
                    name, baseline: baseline, target: target,
                    why: "the ktop server did not answer"))
            continue
        }
        let r = median(k) / median(m)
        rows.append(
            Row(
                name: name, ktop: "\(fmt(median(k))) \(unit)", baseline: baseline, ratio: ratio(r), target: target,
                met: r >= goal && bad == 0,
                note:
                    "Client: wrk -t1 -c8 (LuaJIT; PutRecords cycles through 200 prebuilt bodies with 100,000 distinct "
                        + "keys, PutRecord builds each call with a fresh key), \(seconds) s per round. Server: "
                    + (servesHTTP
                        ? "`ktop serve --limits off`."
                        : "`ktop serve` has no subcommand on main yet, so the harness runs the same server, "
                            + "KinesisAPI's `KinesisServer` on a wall-clock engine with limits off (its default "
                                + "\(ProcessInfo.processInfo.processorCount) event-loop threads), in a process of its "
                                    + "own (`ktop-bench --serve-kinesis PORT`).")
                    + (bad > 0 ? " \(bad) responses were not 200 or had failed records." : "")))
    }
    if ktopCPU.isEmpty || motoCPU.isEmpty {
        rows.append(
            Row.skipped(
                cpuName, baseline: "moto_server", target: cpuTarget,
                why: "no CPU figure: a server did not answer or /proc had no stat for it"))
    } else {
        let (k, m) = (median(ktopCPU), median(motoCPU))
        rows.append(
            Row(
                name: cpuName, ktop: String(format: "%.2f µs a record", k * 1e6),
                baseline: String(format: "%.1f µs a record (moto_server, same rounds)", m * 1e6),
                ratio: ratio(k / m), target: cpuTarget, met: k <= 1.5e-6,
                note:
                    "utime + stime of each server process (/proc/PID/stat) over its PutRecords rounds, divided by "
                    + "the records wrk completed; the client (wrk) runs on the same two cores. Median of "
                    + "\(ktopCPU.count) rounds; load average \(loadAverage()) at the end."))
    }
    return rows
}

private func motoVersion() -> String {
    sh("python3 -c 'import moto; print(moto.__version__)'").out.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `ktop-bench --serve-kinesis PORT`: the Kinesis HTTP server (KinesisAPI's
/// `KinesisServer`, what `ktop serve` runs) on a wall-clock engine with
/// `--limits off`, in its own process, until killed. The HTTP rows use it when
/// the ktop binary has no `serve` subcommand yet.
func serveKinesis(port: Int) -> Never {
    var config = EngineConfiguration()
    config.limits = .off
    let engine = KinesisEngine(clock: WallClock(), configuration: config)
    let server = KinesisServer(
        engine: engine, configuration: KinesisServer.Configuration(host: "127.0.0.1", port: port))
    Task { _ = try await server.start() }
    while true { sleep(3600) }
}
