import Foundation
import StreamEngine

// In-process engine benchmarks. Candidate and baseline rounds alternate so a
// noisy neighbour hits both alike; the median of the rounds is reported.

/// The put path (PutRecords, 500 × 100 B, limits off) against MD5 of the
/// same partition keys alone: the one piece of work the put path cannot skip.
func putBenchmark(shards: Int, rounds: Int, scale: Int) -> Row {
    let keys = (0..<100_000).map { "user-\($0 * 7919 % 1_000_003)" }
    let payload = Data(repeating: 0x61, count: 100)
    var config = EngineConfiguration()
    config.limits = .off
    config.delays = .immediate
    let recordsPerRound = 1_000_000 / scale
    var candidate: [Double] = []
    var baseline: [Double] = []
    for _ in 0..<rounds {
        let engine = KinesisEngine(clock: ManualClock(), configuration: config)
        let k = engine.service()
        _ = try! k.createStream(CreateStreamInput(streamName: "bench", shardCount: shards))
        let batches = stride(from: 0, to: keys.count, by: 500).map { start in
            PutRecordsInput(
                records: keys[start..<min(start + 500, keys.count)].map {
                    PutRecordsRequestEntry(data: payload, partitionKey: $0)
                },
                streamName: "bench")
        }
        candidate.append(rate { putRepeatedly(k, batches, records: recordsPerRound) })
        baseline.append(
            rate {
                var n = 0
                var sink: UInt128 = 0
                while n < recordsPerRound {
                    for key in keys where n < recordsPerRound {
                        sink ^= HashKey.of(partitionKey: key)
                        n += 1
                    }
                }
                precondition(sink != 1)
                return n
            })
    }
    let c = median(candidate)
    let b = median(baseline)
    return Row(
        name: "engine put path, \(shards) shards, PutRecords 500 × 100 B, limits off, one core",
        ktop: "\(fmt(c)) records/s", baseline: "\(fmt(b)) records/s (MD5 of the same partition keys)",
        ratio: ratio(c / b), target: "≥ 0.5× (aim ≥ 3 M records/s)", met: c / b >= 0.5)
}

/// Sends `batches` in turn until `records` records are stored (none may fail); returns how many were sent.
func putRepeatedly(_ k: KinesisService, _ batches: [PutRecordsInput], records: Int) -> Int {
    var n = 0
    while n < records {
        for b in batches where n < records {
            let out = try! k.putRecords(b)
            precondition(out.failedRecordCount == 0)
            n += b.records!.count
        }
    }
    return n
}

/// GetRecords (10,000-record calls, TRIM_HORIZON to the tip, 100 B records)
/// against copying the same stored payloads, each on its own, into a
/// call-sized output buffer: what a reader that touched every record's bytes
/// once would do. Both read 20 MB of distinct payloads per round.
func getBenchmark(rounds: Int, scale: Int) -> Row {
    var config = EngineConfiguration()
    config.limits = .off
    config.delays = .immediate
    let count = 200_000 / scale
    let engine = KinesisEngine(clock: ManualClock(), configuration: config)
    let k = engine.service()
    _ = try! k.createStream(CreateStreamInput(streamName: "bench", shardCount: 1))
    // Distinct payloads, as producers send them (no shared buffers to stay in cache).
    let payloads = (0..<count).map { i in Data((0..<100).map { UInt8(truncatingIfNeeded: $0 &+ i) }) }
    for start in stride(from: 0, to: count, by: 500) {
        let batch = payloads[start..<min(start + 500, count)].enumerated().map {
            PutRecordsRequestEntry(data: $1, partitionKey: "k\($0)")
        }
        _ = try! k.putRecords(PutRecordsInput(records: batch, streamName: "bench"))
    }
    var candidate: [Double] = []
    var baseline: [Double] = []
    var response = [UInt8](repeating: 0, count: 10_000 * 100)
    for _ in 0..<rounds {
        candidate.append(
            rate {
                var it = try! k.getShardIterator(
                    GetShardIteratorInput(
                        streamName: "bench", shardId: "shardId-000000000000", shardIteratorType: .trimHorizon)
                ).shardIterator
                var n = 0
                while n < count {
                    let out = try! k.getRecords(GetRecordsInput(shardIterator: it))
                    n += out.records.count
                    it = out.nextShardIterator!
                }
                return n
            })
        baseline.append(
            rate {
                var n = 0
                var sink = 0
                response.withUnsafeMutableBytes { dst in
                    while n < count {
                        let callEnd = min(n + 10_000, count)
                        var offset = 0
                        while n < callEnd {
                            payloads[n].withUnsafeBytes { src in
                                (dst.baseAddress! + offset).copyMemory(from: src.baseAddress!, byteCount: src.count)
                                offset += src.count
                            }
                            n += 1
                        }
                        sink &+= Int(dst[offset - 1])
                    }
                }
                precondition(sink >= 0)
                return n
            })
    }
    let c = median(candidate)
    let b = median(baseline)
    return Row(
        name: "engine GetRecords, 10,000-record calls, 100 B records", ktop: "\(fmt(c)) records/s",
        baseline: "\(fmt(b)) records/s (memcpy of each stored payload into a call-sized buffer)",
        ratio: ratio(c / b), target: "≥ 0.3×", met: c / b >= 0.3)
}
