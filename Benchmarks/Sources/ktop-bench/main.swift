import Foundation
import StreamEngine

// Each benchmark is a ratio against a baseline measured in the same run,
// alternating candidate and baseline so a noisy neighbour hits both alike.
// The median of the rounds is reported.

struct Row {
    var name: String
    var candidate: Double
    var baseline: Double
    var unit: String
    var baselineName: String
    var target: String
    var meets: (Double) -> Bool
    var ratio: Double { candidate / baseline }
}

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

/// Runs `body` and returns items per second; `body` returns how many items it processed.
func rate(_ body: () -> Int) -> Double {
    let clock = ContinuousClock()
    var n = 0
    let d = clock.measure { n = body() }
    let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    return Double(n) / seconds
}

let smoke = CommandLine.arguments.contains("--smoke")
let rounds = smoke ? 1 : 5
let scale = smoke ? 20 : 1

// MARK: Put path vs MD5 of the same keys

func putBenchmark(shards: Int) -> Row {
    let keys = (0..<100_000).map { "user-\($0 * 7919 % 1_000_003)" }
    let payload = Data(repeating: 0x61, count: 100)
    var config = EngineConfiguration()
    config.limits = .off
    config.delays = .immediate
    let recordsPerRound = 1_000_000 / scale
    var candidate: [Double] = [], baseline: [Double] = []
    for _ in 0..<rounds {
        let engine = KinesisEngine(clock: ManualClock(), configuration: config)
        let k = engine.service()
        _ = try! k.createStream(CreateStreamInput(streamName: "bench", shardCount: shards))
        let batches = stride(from: 0, to: keys.count, by: 500).map { start in
            PutRecordsInput(records: keys[start..<min(start + 500, keys.count)].map { PutRecordsRequestEntry(data: payload, partitionKey: $0) },
                            streamName: "bench")
        }
        candidate.append(rate {
            var n = 0
            while n < recordsPerRound {
                for b in batches where n < recordsPerRound {
                    let out = try! k.putRecords(b)
                    precondition(out.failedRecordCount == 0)
                    n += b.records!.count
                }
            }
            return n
        })
        baseline.append(rate {
            var n = 0, sink: UInt128 = 0
            while n < recordsPerRound {
                for key in keys where n < recordsPerRound { sink ^= HashKey.of(partitionKey: key); n += 1 }
            }
            precondition(sink != 1)
            return n
        })
    }
    return Row(name: "engine put path, \(shards) shards, PutRecords 500 × 100 B, limits off", candidate: median(candidate),
               baseline: median(baseline), unit: "records/s", baselineName: "MD5 of the same partition keys",
               target: "≥ 0.5×", meets: { $0 >= 0.5 })
}

// MARK: GetRecords vs memcpy of the same payloads

func getBenchmark() -> Row {
    var config = EngineConfiguration()
    config.limits = .off
    config.delays = .immediate
    let count = 200_000 / scale
    let engine = KinesisEngine(clock: ManualClock(), configuration: config)
    let k = engine.service()
    _ = try! k.createStream(CreateStreamInput(streamName: "bench", shardCount: 1))
    let payloads = (0..<500).map { i in Data((0..<100).map { UInt8(truncatingIfNeeded: $0 &+ i) }) }
    var written = 0
    while written < count {
        _ = try! k.putRecords(PutRecordsInput(records: payloads.map { PutRecordsRequestEntry(data: $0, partitionKey: "k\(written)") }, streamName: "bench"))
        written += payloads.count
    }
    var candidate: [Double] = [], baseline: [Double] = []
    for _ in 0..<rounds {
        candidate.append(rate {
            var it = try! k.getShardIterator(GetShardIteratorInput(streamName: "bench", shardId: "shardId-000000000000", shardIteratorType: .trimHorizon)).shardIterator
            var n = 0
            while n < written {
                let out = try! k.getRecords(GetRecordsInput(shardIterator: it))
                n += out.records.count
                it = out.nextShardIterator!
            }
            return n
        })
        baseline.append(rate {
            // Copy every payload on its own, as a reader that touches each record's bytes once would.
            var dst = [UInt8](repeating: 0, count: 100)
            var n = 0, sink = 0
            while n < written {
                for p in payloads where n < written {
                    p.withUnsafeBytes { src in dst.withUnsafeMutableBytes { $0.copyMemory(from: src) } }
                    sink &+= Int(dst[n % 100])
                    n += 1
                }
            }
            precondition(sink >= 0)
            return n
        })
    }
    return Row(name: "engine GetRecords, 10,000-record calls, 100 B records", candidate: median(candidate), baseline: median(baseline),
               unit: "records/s", baselineName: "memcpy of each payload", target: "≥ 0.3×", meets: { $0 >= 0.3 })
}

let rows = [putBenchmark(shards: 4), putBenchmark(shards: 1_000), getBenchmark()]

func fmt(_ x: Double) -> String {
    x >= 1e6 ? String(format: "%.2f M", x / 1e6) : x >= 1e3 ? String(format: "%.1f k", x / 1e3) : String(format: "%.1f", x)
}

var md = """
# Benchmarks

Run: `swift run -c release --package-path Benchmarks ktop-bench` (rewrites this file).
Every figure is a ratio against a baseline measured in the same run, median of \(rounds) alternating rounds.

- date: \(Instant(Date()).iso8601)
- machine: \(ProcessInfo.processInfo.processorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB, \(ProcessInfo.processInfo.operatingSystemVersionString)

| benchmark | ktop | baseline | ratio | target | met |
|---|---|---|---|---|---|

"""
for r in rows {
    md += "| \(r.name) | \(fmt(r.candidate)) \(r.unit) | \(fmt(r.baseline)) \(r.unit) (\(r.baselineName)) | \(String(format: "%.2f", r.ratio))× | \(r.target) | \(r.meets(r.ratio) ? "yes" : "no") |\n"
}
print(md)
if !smoke {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../BENCHMARKS.md").standardized
    try! md.write(to: url, atomically: true, encoding: .utf8)
    print("wrote \(url.path)")
}
