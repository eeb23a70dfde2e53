import Foundation
import KinesisAPI
import LoadGen
import StreamEngine

/// `ktop run --endpoint URL --headless`: the scenario's producers and
/// consumers against a remote Kinesis endpoint (AWS, LocalStack, moto,
/// another ktop) over HTTP, on the wall clock.
///
/// The endpoint's shards cannot be sampled from outside, so there are no
/// per-shard metrics, heat, hot keys or advice: each second's line is what the
/// load generator itself saw — records acked, throttled, retried, dropped per
/// producer; records, bytes, throttles and MillisBehindLatest per consumer.
struct RemoteRunner {
    enum Format { case json, text }
    let scenario: Scenario
    let seed: UInt64
    let duration: Double?
    let format: Format
    let endpoint: URL
    let region: String
    let credentials: AWSCredentialsProvider

    func run() {
        let client = KinesisHTTPClient(endpoint: endpoint, region: region, credentialsProvider: credentials)
        let runner = LoadRunner(scenario: scenario, client: client, seed: seed)
        let stream = scenario.stream.name
        runner.setUp()
        if let error = runner.setupError {
            fail("cannot create stream \(stream) at \(endpoint.absoluteString): \(error)")
        }
        waitUntilActive(client, stream)

        let clock = WallClock()
        let begin = clock.now()
        let end = duration.map { begin + .nanoseconds(Int64(saturating: $0 * 1e9)) }
        var nextReport = begin + .seconds(1)
        var previous = Counters(runner)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        if format == .text {
            let header = [
                "ktop: scenario \(scenario.name), seed \(seed), remote endpoint \(endpoint.absoluteString) (\(region))",
                "  what the load generator sees: acked/throttled per second; "
                    + "no per-shard metrics for a remote endpoint",
            ]
            FileHandle.standardOutput.write(Data(header.map { $0 + "\n" }.joined().utf8))
        }
        while true {
            let now = clock.now()
            runner.step(now: now)
            if format == .text {
                for n in runner.takeNarration() {
                    FileHandle.standardOutput.write(Data("  [\(n.phase)] \(n.text)\n".utf8))
                }
            }
            if now >= nextReport {
                let current = Counters(runner)
                let line = RemoteLine(
                    time: now.iso8601, endpoint: endpoint.absoluteString, region: region, seed: seed,
                    stream: stream, runner: runner, previous: previous, current: current)
                previous = current
                nextReport = max(nextReport + .seconds(1), now)
                switch format {
                case .json:
                    if let data = try? encoder.encode(line) { FileHandle.standardOutput.write(data + Data("\n".utf8)) }
                case .text:
                    FileHandle.standardOutput.write(Data((line.text + "\n").utf8))
                }
            }
            if let end, now >= end { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    /// A new stream is CREATING for a while on AWS; LoadGen starts once it is ACTIVE.
    private func waitUntilActive(_ client: KinesisHTTPClient, _ stream: String) {
        let give = Date(timeIntervalSinceNow: 300)
        var said = false
        while Date() < give {
            do {
                let status = try client.describeStreamSummary(StreamInput(streamName: stream)).streamDescriptionSummary
                    .streamStatus
                if status == .active || status == .updating { return }
                if !said {
                    FileHandle.standardError.write(
                        Data("ktop: stream \(stream) is \(status); waiting until it is ACTIVE\n".utf8))
                    said = true
                }
            } catch  where error.type == .limitExceeded {
                // DescribeStreamSummary is limited to 20 calls/s per account: just wait.
            } catch {
                fail("cannot describe stream \(stream) at \(endpoint.absoluteString): \(error)")
            }
            Thread.sleep(forTimeInterval: 1)
        }
        fail("stream \(stream) did not become ACTIVE within 5 minutes")
    }
}

/// The load generator's cumulative counters at one moment.
private struct Counters {
    var producers: [ProducerStats]
    var polling: [ConsumerStats]
    var fanOut: [ConsumerStats]

    init(_ runner: LoadRunner) {
        producers = runner.producers.map(\.stats)
        polling = runner.pollingConsumers.map(\.stats)
        fanOut = runner.fanOutConsumers.map(\.stats)
    }
}

/// One second as the load generator saw it (one JSON line). Rates are per second over the last second.
private struct RemoteLine: Encodable {
    struct Producer: Encodable {
        var name: String
        var targetRecordsPerSecond: Double
        var ackedRecords: Int64
        var ackedBytes: Int64
        /// Throttled attempts (ProvisionedThroughputExceededException).
        var throttled: Int64
        var retried: Int64
        var dropped: Int64
        var failed: Int64
        var lastError: String?
    }
    struct Consumer: Encodable {
        var name: String
        var type: String
        var records: Int64
        var bytes: Int64
        var throttled: Int64
        var MillisBehindLatest: Int64
        var lastError: String?
    }
    var time: String
    var endpoint: String
    var region: String
    var seed: UInt64
    var stream: String
    /// Says what is missing compared with the embedded engine's snapshots.
    var view = "producers-and-consumers-only"
    var producers: [Producer]
    var consumers: [Consumer]

    init(
        time: String, endpoint: String, region: String, seed: UInt64, stream: String, runner: LoadRunner,
        previous: Counters, current: Counters
    ) {
        self.time = time
        self.endpoint = endpoint
        self.region = region
        self.seed = seed
        self.stream = stream
        producers = zip(runner.producers, zip(previous.producers, current.producers)).map { p, pair in
            let (a, b) = pair
            return Producer(
                name: p.config.name, targetRecordsPerSecond: p.config.recordsPerSecond,
                ackedRecords: b.acked - a.acked, ackedBytes: b.ackedBytes - a.ackedBytes,
                throttled: b.throttled - a.throttled, retried: b.retried - a.retried,
                dropped: b.dropped - a.dropped, failed: b.failed - a.failed, lastError: b.lastError)
        }
        func consumer(_ name: String, _ type: String, _ a: ConsumerStats, _ b: ConsumerStats) -> Consumer {
            Consumer(
                name: name, type: type, records: b.records - a.records, bytes: b.bytes - a.bytes,
                throttled: b.throttled - a.throttled, MillisBehindLatest: b.millisBehindLatest, lastError: b.lastError)
        }
        consumers =
            zip(runner.pollingConsumers, zip(previous.polling, current.polling)).map { c, pair in
                consumer(c.name, "polling", pair.0, pair.1)
            }
            + zip(runner.fanOutConsumers, zip(previous.fanOut, current.fanOut)).map { c, pair in
                consumer(c.name, "efo", pair.0, pair.1)
            }
    }

    var text: String {
        let acked = producers.map(\.ackedRecords).reduce(0, +)
        let bytes = producers.map(\.ackedBytes).reduce(0, +)
        let throttled = producers.map(\.throttled).reduce(0, +)
        let dropped = producers.map(\.dropped).reduce(0, +)
        let failed = producers.map(\.failed).reduce(0, +)
        var line =
            "\(time) \(stream) | put acked \(acked) rec/s \(String(format: "%.1f", Double(bytes) / 1024)) KiB/s"
            + " | throttled \(throttled)/s dropped \(dropped)/s failed \(failed)/s"
        for c in consumers {
            line += " | \(c.name) (\(c.type)) \(c.records) rec/s behind \(c.MillisBehindLatest) ms"
            if c.throttled > 0 { line += " throttled \(c.throttled)/s" }
        }
        if let error = (producers.compactMap(\.lastError) + consumers.compactMap(\.lastError)).first,
            failed > 0 || acked == 0
        {
            line += " | last error: \(error)"
        }
        return line
    }
}
