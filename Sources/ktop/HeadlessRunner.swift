import Dashboard
import Foundation
import LoadGen
import Metrics
import StreamEngine

/// The console without a terminal: runs a source inline and writes one
/// snapshot per second to stdout, JSON Lines for scripts or a compact text
/// line per stream. The same for every source (embedded or attached).
struct HeadlessRunner {
    enum Format { case json, text }
    let format: Format
    var metrics = MetricsConfiguration()

    /// Runs `source` until it finishes (or forever); exits 1 if the source fails.
    func run(_ source: some SampleSource) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        var header: SourceHeader?
        var store = MetricsStore(configuration: metrics)
        var narration: [String] = []
        var events: [String] = []
        var connection: String?
        var primed = false
        func write(_ lines: [String]) { FileHandle.standardOutput.write(Data(lines.map { $0 + "\n" }.joined().utf8)) }
        SourceDriver.run(source, commands: { [] }, stop: { false }) { event in
            switch event {
            case .started(let h):
                header = h
                store = MetricsStore(configuration: metrics, limits: h.limits)
                primed = false
                if format == .text { write([h.title] + h.notes.map { "  note: " + $0 }) }
            case .narration(let seconds, let phase, let text):
                if format == .text { write(["  [+\(seconds)s \(phase)] \(text)"]) }
                narration.append(text)
            case .log(_, let kind, let text):
                // The JSON lines carry the events pane's lines; the text output shows an attached
                // source's actions and errors.
                events.append(text)
                if format == .text, header?.kind != "embedded", kind == .error || kind == .action || kind == .advice {
                    write(["  [\(kind.rawValue)] \(text)"])
                }
            case .connection(let state):
                connection = state
                if format == .text { write(["  [connection] \(state)"]) }
            case .failed(let message):
                FileHandle.standardError.write(Data("ktop: \(message)\n".utf8))
                Foundation.exit(1)
            case .sample(let s):
                store.ingest(s.engine, consumers: s.consumers, producers: s.producers, latencies: s.latencies)
                // The first sample is the baseline rates are measured from.
                guard primed else {
                    primed = true
                    return
                }
                guard let h = header, let snap = store.snapshot(limits: h.limits) else { return }
                switch format {
                case .json:
                    let line = HeadlessLine(
                        header: h, phase: s.phase, connection: s.connection ?? connection, narration: narration,
                        events: events, snapshot: snap, faults: s.faults, deliveryStreams: s.deliveryStreams,
                        queries: s.queries)
                    if let data = try? encoder.encode(line) { FileHandle.standardOutput.write(data + Data("\n".utf8)) }
                    narration = []
                    events = []
                case .text:
                    write(textLines(snap, connection: s.connection ?? connection))
                }
            case .finished(let summary):
                // Expectations belong to the text output; a short attached run says why on stderr too.
                if format == .text {
                    write(summary)
                } else if header?.kind != "embedded", !summary.isEmpty {
                    FileHandle.standardError.write(Data(summary.map { $0 + "\n" }.joined().utf8))
                }
            }
        }
    }

    func textLines(_ s: Snapshot, connection: String?) -> [String] {
        let state = connection.map { " [\($0)]" } ?? ""
        return s.streams.map { st in
            let inBytes = st.shards.map(\.incomingBytes).reduce(0, +)
            let inRecords = st.shards.map(\.incomingRecords).reduce(0, +)
            let throttled = st.shards.map(\.writeProvisionedThroughputExceeded).reduce(0, +)
            let heat = st.shards.filter(\.open).map { "\($0.shardId.suffix(3)):\($0.heat)" }.joined(separator: " ")
            let advice = st.advice.first.map { " | advice: \($0.action) \($0.shardId ?? "")" } ?? ""
            let cost = st.cost.map { String(format: " | $%.3f/h", $0.hourlyUSD) } ?? ""
            return
                "\(s.time) \(st.name) \(st.status) \(st.openShards) open | in "
                    + "\(String(format: "%.1f", inBytes / 1024)) KiB/s"
                + " \(Int(inRecords)) rec/s | throttled \(Int(throttled))/s | \(heat)\(advice)\(cost)\(state)"
        }
    }
}

/// The snapshot plus the run's own facts (seed, source), as one JSON line.
struct HeadlessLine: Encodable {
    let header: SourceHeader
    let phase: String?
    let connection: String?
    /// The narration lines shown since the previous line.
    let narration: [String]
    /// The events pane's lines since the previous line (engine events, actions and their results, errors).
    let events: [String]
    let snapshot: Snapshot
    /// Faults injected since the run started, when the engine injects any (`--faults`, a `setFaults` phase).
    var faults: [FaultCount]? = nil
    /// Firehose delivery streams and SQL queries beside the stream; absent when there are none.
    var deliveryStreams: [DeliveryStreamRow] = []
    var queries: [QueryRow] = []

    enum CodingKeys: String, CodingKey {
        case time, clockSpeed, clock, limits, seed, scenario, phase, narration, notes, retainedBytes, streams
        case source, connection, events, faults, deliveryStreams, queries
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(snapshot.time, forKey: .time)
        try c.encode(snapshot.clockSpeed, forKey: .clockSpeed)
        try c.encode(header.clock, forKey: .clock)
        try c.encode(snapshot.limits, forKey: .limits)
        try c.encodeIfPresent(header.seed, forKey: .seed)
        try c.encode(header.scenario, forKey: .scenario)
        try c.encode(phase, forKey: .phase)
        try c.encode(narration, forKey: .narration)
        try c.encode(header.notes, forKey: .notes)
        try c.encode(snapshot.retainedBytes, forKey: .retainedBytes)
        try c.encode(snapshot.streams, forKey: .streams)
        // The kind of source (each stream's `source` says where each of its figures comes from).
        try c.encode(["kind": header.kind, "endpoint": header.endpoint ?? ""], forKey: .source)
        try c.encodeIfPresent(connection, forKey: .connection)
        try c.encode(events, forKey: .events)
        // Cumulative, by kind then operation (as ktop_faults_injected_total on /metrics):
        // {"record-failure": {"PutRecords": 1144}}; absent when the engine has no fault injector.
        if let faults {
            var byKind: [String: [String: Int]] = [:]
            for f in faults { byKind[f.kind.rawValue, default: [:]][f.operation.rawValue] = f.count }
            try c.encode(byKind, forKey: .faults)
        }
        if !deliveryStreams.isEmpty { try c.encode(deliveryStreams, forKey: .deliveryStreams) }
        if !queries.isEmpty { try c.encode(queries, forKey: .queries) }
    }
}
