import Dashboard
import Foundation
import Testing

/// Fixed view models for snapshot and key tests: a 4-shard stream with one
/// hot, throttled shard, two consumers, three producers, advice and events.
enum Fixtures {
    static let space = UInt128.max
    static func ranges(_ n: Int) -> [(UInt128, UInt128)] {
        let step = space / UInt128(n)  // close enough to Kinesis's floor(2^128 / n) for a fixture
        return (0..<n).map { i in
            let lo = step * UInt128(i)
            let hi = i == n - 1 ? space : step * UInt128(i + 1) - 1
            return (lo, hi)
        }
    }

    static func shard(_ i: Int, of n: Int, incoming: Double, throttled: Double = 0, history: Int = 180) -> ShardRow {
        let (lo, hi) = ranges(n)[i]
        var r = ShardRow(shardId: String(format: "shardId-%012d", i), startingHashKey: lo, endingHashKey: hi)
        r.incomingBytes = incoming
        r.incomingRecords = incoming / 700
        r.utilization = max(incoming / 1_048_576, r.incomingRecords / 1000)
        r.bindingLimit = incoming / 1_048_576 >= r.incomingRecords / 1000 ? "bytes" : "records"
        r.heat = throttled > 0 ? .throttled : r.utilization >= 0.75 ? .hot : r.utilization >= 0.25 ? .warm : .cold
        r.writeThrottled = throttled
        r.outgoingBytes = incoming * 2
        r.iteratorAgeMilliseconds = Double(i * 150)
        // A deterministic wave around the current rate, with throttled seconds where it tops 1 MiB/s.
        r.incomingHistory = (0..<history).map { t in max(0, incoming * (1 + 0.3 * sin(Double(t + i * 7) / 9))) }
        r.heatHistory = r.incomingHistory.map { v in
            v > 1_048_576 ? .throttled : v >= 786_432 ? .hot : v >= 262_144 ? .warm : .cold
        }
        let hash = lo + (hi - lo) / 3 * UInt128(1 + i % 2)
        r.topKeys = [TopKey(key: "user-\(i * 11)", hashKey: hash, records: Int64(100 + i), share: i == 1 ? 0.62 : 0.08)]
        return r
    }

    static func data(shards n: Int = 4) -> DashboardData {
        var d = DashboardData()
        d.time = "12:00:42"
        d.scenario = "demo"
        d.streamName = "demo"
        d.mode = "PROVISIONED"
        d.status = "ACTIVE"
        d.openShards = n
        d.closedShards = 0
        d.clockSpeed = 1
        d.clockKind = "wall"
        d.scenarios = ["demo"]
        d.shards = (0..<n).map { i in
            shard(i, of: n, incoming: i == 1 ? 1_000_000 : 150_000 + Double(i % 7) * 40_000, throttled: i == 1 ? 37 : 0)
        }
        if n > 1 {
            d.shards[1].advisedSplitKey =
                d.shards[1].startingHashKey + (d.shards[1].endingHashKey - d.shards[1].startingHashKey) / 3
        }
        d.consumers = [
            ConsumerRow(
                name: "alerts", kind: .efo, bytesPerSecond: 1_500_000, budgetBytesPerSecond: 8_388_608,
                throttledPerSecond: 0, millisBehindLatest: 0),
            ConsumerRow(
                name: "analytics", kind: .polling, bytesPerSecond: 1_400_000, budgetBytesPerSecond: 8_388_608,
                throttledPerSecond: 2, millisBehindLatest: 1_200),
        ]
        d.producers = [
            ProducerRow(
                name: "web", keys: "zipf(2000, s=0.9)", targetRecordsPerSecond: 900, ackedPerSecond: 880,
                throttledPerSecond: 20, dropped: 3),
            ProducerRow(
                name: "mobile", keys: "uniform(10000)", targetRecordsPerSecond: 600, ackedPerSecond: 600,
                throttledPerSecond: 0, dropped: 0),
            ProducerRow(
                name: "billing", keys: "uniform(50)", targetRecordsPerSecond: 40, ackedPerSecond: 40,
                throttledPerSecond: 0, dropped: 0),
        ]
        d.advice = [
            AdviceRow(
                action: "split", shardId: "shardId-000000000001",
                reason:
                    "shardId-000000000001 is throttled at 95% of its bytes limit; split it to halve its observed load.")
        ]
        return d
    }

    static func model(
        width: Int = 120, height: Int = 40, shards: Int = 4,
        capabilities: TerminalCapabilities = .full
    ) -> DashboardModel {
        var view = ViewState()
        view.width = width
        view.height = height
        view.capabilities = capabilities
        var m = DashboardModel(data: data(shards: shards), view: view)
        m.view.selectedShardId = "shardId-000000000001"
        m.log(
            EventLine(
                time: "12:00:01", kind: .narration,
                text: "Three producers write to 4 shards; zipf keys make some shards warmer."))
        m.log(EventLine(time: "12:00:02", kind: .engine, text: "demo is ACTIVE"))
        m.log(
            EventLine(
                time: "12:00:30", kind: .advice, text: "Advice (split): shardId-000000000001 is throttled; split it."))
        m.log(
            EventLine(
                time: "12:00:41", kind: .error,
                text:
                    "MergeShards: ResourceInUseException: Stream demo under account 123456789012 not ACTIVE, instead "
                        + "in state UPDATING"
            ))
        m.ensureSelectionVisible()
        return m
    }

    /// Presses keys in order, collecting every command.
    static func press(_ model: DashboardModel, _ keys: [Key]) -> (DashboardModel, [DashboardCommand]) {
        var m = model
        var all: [DashboardCommand] = []
        for k in keys {
            let (next, cmds) = m.handle(k)
            m = next
            all += cmds
        }
        return (m, all)
    }

    static func chars(_ s: String) -> [Key] { s.map { Key.char($0) } }
}

/// Compares text with a stored snapshot under `__Snapshots__/`. A missing
/// snapshot (or KTOP_RECORD_SNAPSHOTS=1) records it and fails once, so new
/// snapshots are reviewed before they are committed.
func assertSnapshot(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("__Snapshots__")
    let file = dir.appendingPathComponent(name + ".txt")
    let record = ProcessInfo.processInfo.environment["KTOP_RECORD_SNAPSHOTS"] == "1"
    if record || !FileManager.default.fileExists(atPath: file.path) {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? (text + "\n").write(to: file, atomically: true, encoding: .utf8)
        if !record {
            Issue.record("Recorded new snapshot \(name); review it and run again", sourceLocation: sourceLocation)
        }
        return
    }
    let expected = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
    if expected != text + "\n" {
        Issue.record(
            "Snapshot \(name) differs.\n--- expected\n\(expected)--- actual\n\(text)\n", sourceLocation: sourceLocation)
    }
}

extension CellGrid {
    /// The text of a rectangle, trailing blanks trimmed per row.
    func text(of r: Rect) -> String {
        (r.y..<r.maxY).map { y in
            var line = String.UnicodeScalarView()
            for x in r.x..<r.maxX { line.append(self[x, y].glyph) }
            var s = String(line)
            while s.last == " " { s.removeLast() }
            return s
        }.joined(separator: "\n")
    }
}
