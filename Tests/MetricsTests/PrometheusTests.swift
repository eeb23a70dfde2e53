import Foundation
import StreamEngine
import Testing

@testable import Metrics

@Suite struct PrometheusTests {
    /// A parsed sample line: name, labels, value.
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// Parses the exposition strictly enough to catch format errors: every
    /// family has one HELP then one TYPE before its samples, families are not
    /// split, names and labels are well formed, label values are escaped.
    static func parse(_ text: String) throws -> [Sample] {
        var samples: [Sample] = []
        var declared: [String: String] = [:]
        var seenFamilies: [String] = []
        var current: String?
        var expectType: String?
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "", "ends with a newline")
        for raw in lines.dropLast() {
            let line = String(raw)
            if line.hasPrefix("# HELP ") {
                let name = String(line.dropFirst(7).prefix { $0 != " " })
                #expect(!seenFamilies.contains(name), "family \(name) declared twice")
                seenFamilies.append(name)
                current = name
                expectType = name
                continue
            }
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                #expect(parts.count == 2)
                #expect(String(parts[0]) == expectType, "TYPE right after HELP")
                #expect(["gauge", "counter", "summary"].contains(String(parts[1])))
                declared[String(parts[0])] = String(parts[1])
                expectType = nil
                continue
            }
            #expect(!line.hasPrefix("#"))
            let s = try parseSample(line)
            let family = try #require(current)
            #expect(
                s.name == family || s.name == family + "_sum" || s.name == family + "_count",
                "\(s.name) under \(family)")
            #expect(declared[family] != nil)
            samples.append(s)
        }
        return samples
    }

    static func parseSample(_ line: String) throws -> Sample {
        var i = line.startIndex
        var name = ""
        while i < line.endIndex, line[i].isLetter || line[i].isNumber || line[i] == "_" || line[i] == ":" {
            name.append(line[i])
            i = line.index(after: i)
        }
        #expect(!name.isEmpty && !(name.first!.isNumber))
        var labels: [String: String] = [:]
        if i < line.endIndex, line[i] == "{" {
            i = line.index(after: i)
            while line[i] != "}" {
                var key = ""
                while line[i] != "=" {
                    key.append(line[i])
                    i = line.index(after: i)
                }
                #expect(key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" })
                i = line.index(after: i)
                #expect(line[i] == "\"")
                i = line.index(after: i)
                var value = ""
                while line[i] != "\"" {
                    if line[i] == "\\" {
                        i = line.index(after: i)
                        switch line[i] {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: Issue.record("bad escape in \(line)")
                        }
                    } else {
                        value.append(line[i])
                    }
                    i = line.index(after: i)
                }
                labels[key] = value
                i = line.index(after: i)
                if line[i] == "," { i = line.index(after: i) }
            }
            i = line.index(after: i)
        }
        #expect(line[i] == " ")
        let text = String(line[line.index(after: i)...])
        let value =
            text == "+Inf"
            ? Double.infinity
            : text == "-Inf" ? -Double.infinity : text == "NaN" ? Double.nan : try #require(Double(text))
        return Sample(name: name, labels: labels, value: value)
    }

    /// Name syntax of the exposition format.
    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return false }
        func ok(_ c: Unicode.Scalar, digits: Bool) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == ":" || (digits && c >= "0" && c <= "9")
        }
        return ok(first, digits: false) && name.unicodeScalars.allSatisfy { ok($0, digits: true) }
    }

    /// Parses and checks the rules every exposition must keep: families from
    /// the table with their declared type and labels, no series twice.
    static func check(_ text: String) throws -> [Sample] {
        let samples = try parse(text)
        let table = Dictionary(uniqueKeysWithValues: PrometheusText.families.map { ($0.name, $0) })
        var seen = Set<String>()
        for s in samples {
            let family = try #require(
                table[s.name] ?? table[String(s.name.dropLast(4))] ?? table[String(s.name.dropLast(6))],
                "\(s.name) not in the table")
            var keys = Set(s.labels.keys)
            if family.kind == .summary && s.name == family.name { #expect(keys.remove("quantile") != nil) }
            #expect(keys == Set(family.labels), "\(s.name) labels \(keys.sorted())")
            let id =
                s.name + "{"
                + s.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
            #expect(seen.insert(id).inserted, "duplicate series \(id)")
            #expect(!s.value.isNaN, "\(id) is NaN")
        }
        for f in PrometheusText.families where text.contains("\n" + f.name + " ") || text.contains("\n" + f.name + "{")
        {
            #expect(text.contains("# HELP \(f.name) ") && text.contains("# TYPE \(f.name) \(f.kind.rawValue)\n"))
        }
        return samples
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    @Test func theFamilyTableFollowsTheNamingConventions() {
        let names = PrometheusText.families.map(\.name)
        #expect(Set(names).count == names.count, "a family listed twice")
        for f in PrometheusText.families {
            #expect(Self.isMetricName(f.name), "\(f.name)")
            #expect(f.name.hasPrefix("ktop_"))
            #expect(
                (f.kind == .counter) == f.name.hasSuffix("_total"),
                "\(f.name): counters and only counters end in _total")
            for bad in ["_per_second", "millis", "_milliseconds", "_ms"] {
                #expect(!f.name.contains(bad), "\(f.name) is not in base units")
            }
            #expect(!f.help.isEmpty && !f.help.contains("\n"))
            #expect(f.labels.allSatisfy { Self.isMetricName($0) && !$0.hasPrefix("__") && $0 != "quantile" })
            #expect(Set(f.labels).count == f.labels.count)
        }
        #expect(
            !Self.isMetricName("9lives") && !Self.isMetricName("a-b") && !Self.isMetricName("")
                && Self.isMetricName("a:b_9"))
    }

    @Test func exposesTheStoreWellFormedWithEscapedLabels() throws {
        var rig = Rig()
        try rig.create("prom", shards: 2)
        rig.tick()
        let weird = "we\"ird\\key\nline\r\t é"
        let entries = (0..<300).map {
            PutRecordsRequestEntry(data: payload(100), partitionKey: $0 % 2 == 0 ? weird : "k\($0)")
        }
        _ = try rig.kinesis.putRecords(PutRecordsInput(records: entries, streamName: "prom"))
        _ = try rig.kinesis.putRecord(PutRecordInput(streamName: "prom", data: payload(10), partitionKey: "single"))
        let recorder = LatencyRecorder()
        recorder.record(stream: "prom", operation: .putRecords, duration: .microseconds(1_500))
        rig.tick(latencies: recorder.drain())

        let text = PrometheusText.render(rig.store)
        #expect(text.contains("we\\\"ird\\\\key\\nline\r\t é"))
        let samples = try Self.check(text)
        func value(_ name: String, _ labels: [String: String]) -> Double? { Self.value(samples, name, labels) }
        let stream = rig.stream("prom")
        let sl = ["account": stream.account, "region": stream.region, "stream": "prom"]
        var incoming = 0.0
        for shard in stream.shards {
            var l = sl
            l["shard"] = shard.shardId
            let c = shard.counters
            #expect(value("ktop_shard_incoming_bytes_total", l) == Double(c.incomingBytes))
            #expect(value("ktop_shard_incoming_records_total", l) == Double(c.incomingRecords))
            #expect(value("ktop_shard_write_provisioned_throughput_exceeded_total", l) == 0)
            #expect(value("ktop_shard_iterator_age_seconds", l) == 0)
            #expect(value("ktop_shard_retained_records", l) == Double(c.incomingRecords))
            #expect(value("ktop_shard_open", l) == 1)
            incoming += value("ktop_shard_incoming_records_total", l) ?? 0
            let s = try #require(rig.store.latest(stream, shard.shardId))
            var lu = l
            lu["binding_limit"] = s.bindingLimit
            #expect(value("ktop_shard_write_utilization", lu) == s.utilization)
        }
        #expect(incoming == 301)
        #expect(value("ktop_stream_put_records_successful_records_total", sl) == 300)
        #expect(value("ktop_stream_put_records_total_records_total", sl) == 300)
        #expect(value("ktop_stream_put_records_success_total", sl) == 1)
        #expect(value("ktop_stream_put_record_success_total", sl) == 1)
        #expect(value("ktop_stream_put_record_bytes_total", sl) == 16)
        #expect(value("ktop_stream_open_shards", sl) == 2)
        #expect(
            samples.contains { $0.name == "ktop_shard_hot_key_records" && $0.labels["key"] == weird && $0.value == 150 }
        )
        #expect(value("ktop_limits_info", ["profile": "aws", "enforced": "true"]) == 1)
        var lo = sl
        lo["operation"] = "PutRecords"
        #expect(value("ktop_stream_latency_seconds_count", lo) == 1)
        let sum = try #require(value("ktop_stream_latency_seconds_sum", lo))
        #expect(abs(sum - 0.0015) < 0.00001, "seconds, not milliseconds")
        lo["quantile"] = "0.5"
        let p50 = try #require(value("ktop_stream_latency_seconds", lo))
        #expect(abs(p50 - 0.0015) < 0.00001)
        let cost = rig.store.cost(stream)
        var lc = sl
        lc["mode"] = "PROVISIONED"
        lc["confirmed"] = "false"
        #expect(value("ktop_stream_cost_hourly_usd", lc) == cost.provisionedHourly)
        #expect(text.contains("# TYPE ktop_shard_incoming_bytes_total counter\n"))
        #expect(text.contains("# TYPE ktop_stream_latency_seconds summary\n"))
        #expect(text.contains("# HELP ktop_shard_incoming_bytes_total IncomingBytes: "))

        // Latency: the next interval's quantiles replace the last, sum and count keep counting.
        recorder.record(stream: "prom", operation: .putRecords, duration: .microseconds(500))
        recorder.record(stream: "prom", operation: .putRecords, duration: .microseconds(500))
        rig.tick(latencies: recorder.drain())
        let later = try Self.check(PrometheusText.render(rig.store))
        lo["quantile"] = nil
        #expect(Self.value(later, "ktop_stream_latency_seconds_count", lo) == 3)
        #expect(abs(Self.value(later, "ktop_stream_latency_seconds_sum", lo)! - 0.0025) < 0.00001)
        rig.tick()
        let quietText = PrometheusText.render(rig.store)
        let quiet = try Self.check(quietText)
        #expect(Self.value(quiet, "ktop_stream_latency_seconds_count", lo) == 3, "a quiet second keeps the count")
        #expect(!quietText.contains("quantile="), "no quantiles without calls in the interval")
    }

    @Test func countersNeverDecreaseAndFollowTheEngine() throws {
        var rig = Rig()
        try rig.create("mono", shards: 3)
        rig.tick()
        var before: [Sample] = []
        var rng = TestRandom(seed: 7)
        for round in 0..<6 {
            // Enough on one key in some rounds that its shard throttles.
            let n = Int.random(in: 1...500, using: &rng)
            let entries = (0..<n).map { i in
                PutRecordsRequestEntry(
                    data: payload(round % 2 == 0 ? 3_000 : 10), partitionKey: round % 2 == 0 ? "hot" : "k\(i)")
            }
            _ = try rig.kinesis.putRecords(PutRecordsInput(records: entries, streamName: "mono"))
            rig.tick()
            let now = try Self.check(PrometheusText.render(rig.store))
            let kinds = Dictionary(uniqueKeysWithValues: PrometheusText.families.map { ($0.name, $0.kind) })
            for s in before where kinds[s.name] == .counter {
                let after = try #require(Self.value(now, s.name, s.labels), "\(s.name) \(s.labels) vanished")
                #expect(after >= s.value, "\(s.name) \(s.labels) went from \(s.value) to \(after)")
            }
            before = now
        }
        let stream = rig.stream("mono")
        let sl = ["account": stream.account, "region": stream.region, "stream": "mono"]
        let throttled = stream.shards.reduce(Int64(0)) { $0 + $1.counters.writeThrottledRecords }
        #expect(throttled > 0, "the test meant to throttle")
        #expect(Self.value(before, "ktop_stream_put_records_throttled_records_total", sl) == Double(throttled))
        let total = before.filter { $0.name == "ktop_shard_write_provisioned_throughput_exceeded_total" }.reduce(0) {
            $0 + $1.value
        }
        #expect(total == Double(throttled))
    }

    @Test func consumerCountersAreCumulativeEscapedAndSurviveARestartedReader() throws {
        var rig = Rig()
        try rig.create("c", shards: 1)
        let odd = "reader \"one\"\\\nx"
        func report(_ bytes: Int64, _ calls: Int64) -> ConsumerReport {
            ConsumerReport(
                stream: "c", name: odd, bytes: bytes, records: bytes / 10, throttled: 1, millisBehindLatest: 2_500,
                calls: calls, shards: [:])
        }
        rig.tick(consumers: [report(100, 3)])
        rig.tick(consumers: [report(300, 5)])
        let stream = rig.stream("c")
        var l = ["account": stream.account, "region": stream.region, "stream": "c", "consumer": odd, "type": "polling"]
        var samples = try Self.check(PrometheusText.render(rig.store))
        #expect(Self.value(samples, "ktop_consumer_bytes_total", l) == 300)
        #expect(Self.value(samples, "ktop_consumer_records_total", l) == 30)
        #expect(Self.value(samples, "ktop_consumer_success_total", l) == 5)
        #expect(Self.value(samples, "ktop_consumer_throttled_total", l) == 1)
        #expect(Self.value(samples, "ktop_consumer_behind_latest_seconds", l) == 2.5)
        // The reader restarts and counts from zero: the counter keeps going up.
        rig.tick(consumers: [report(40, 1)])
        samples = try Self.check(PrometheusText.render(rig.store))
        #expect(Self.value(samples, "ktop_consumer_bytes_total", l) == 340)
        #expect(Self.value(samples, "ktop_consumer_success_total", l) == 6)
        // A consumer that stops reporting is gone, not frozen.
        rig.tick()
        samples = try Self.check(PrometheusText.render(rig.store))
        #expect(Self.value(samples, "ktop_consumer_bytes_total", l) == nil)

        // Enhanced fan-out: the engine's per-subscription counters, summed over shards.
        _ = try rig.kinesis.putRecords(
            PutRecordsInput(
                records: (0..<4).map { PutRecordsRequestEntry(data: payload(50), partitionKey: "p\($0)") },
                streamName: "c"))
        _ = try rig.kinesis.registerStreamConsumer(
            RegisterStreamConsumerInput(streamARN: stream.arn, consumerName: "fan.out-1"))
        rig.tick()
        let consumerARN = try rig.kinesis.describeStreamConsumer(
            StreamConsumerInput(streamARN: stream.arn, consumerName: "fan.out-1")
        )
        .consumerDescription.consumerARN
        let sub = try rig.kinesis.subscribeToShard(
            SubscribeToShardInput(
                consumerARN: consumerARN, shardId: stream.shards[0].shardId,
                startingPosition: StartingPosition(type: .trimHorizon)))
        let event = try #require(try sub.nextEvent())
        rig.tick()
        samples = try Self.check(PrometheusText.render(rig.store))
        l["consumer"] = "fan.out-1"
        l["type"] = "efo"
        #expect(event.records.count == 4)
        #expect(Self.value(samples, "ktop_consumer_records_total", l) == 4)
        #expect(Self.value(samples, "ktop_consumer_bytes_total", l) == 208.0, "4 records of 50 bytes and a 2-byte key")
        #expect(Self.value(samples, "ktop_consumer_success_total", l) == 1)
        var ls = l
        ls["shard"] = stream.shards[0].shardId
        ls["type"] = nil
        #expect(samples.contains { $0.name == "ktop_shard_fanout_utilization" && $0.labels == ls })
        ls["consumer"] = nil
        #expect(Self.value(samples, "ktop_shard_outgoing_records_total", ls) == 4)
        #expect(Self.value(samples, "ktop_shard_get_records_records_total", ls) == 0)
    }

    @Test func oneSeriesPerStreamInEachRegionAndPerHotKey() throws {
        var rig = Rig()
        try rig.create("twin", shards: 1)
        let west = rig.engine.service(region: "us-west-2")
        _ = try west.createStream(CreateStreamInput(streamName: "twin", shardCount: 1))
        // One partition key with two explicit hash keys fills two sketch slots.
        let entries = (0..<10).map { i in
            PutRecordsRequestEntry(data: payload(1), explicitHashKey: i % 2 == 0 ? "1" : "2", partitionKey: "same")
        }
        _ = try rig.kinesis.putRecords(PutRecordsInput(records: entries, streamName: "twin"))
        rig.tick()
        let samples = try Self.check(PrometheusText.render(rig.store))
        let open = samples.filter { $0.name == "ktop_stream_open_shards" }
        #expect(Set(open.map { $0.labels["region"]! }) == ["us-east-1", "us-west-2"])
        #expect(open.count == 2)
        let hot = samples.filter { $0.name == "ktop_shard_hot_key_records" && $0.labels["region"] == "us-east-1" }
        #expect(hot.count == 1)
        #expect(hot.first?.value == 10)
    }

    @Test func namesAndEscapes() {
        #expect(PrometheusText.snakeCase("PutRecords.SuccessfulRecords") == "put_records_successful_records")
        #expect(
            PrometheusText.snakeCase("SubscribeToShardEvent.MillisBehindLatest")
                == "subscribe_to_shard_event_millis_behind_latest")
        #expect(PrometheusText.escapeLabel("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
        #expect(PrometheusText.escapeLabel("\r\n") == "\r\\n", "a CR LF pair is two characters to escape, not one")
        #expect(PrometheusText.escapeHelp("x\\y\nz") == "x\\\\y\\nz")
        #expect(PrometheusText.format(3) == "3")
        #expect(PrometheusText.format(0.25) == "0.25")
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(PrometheusText.render(MetricsStore()) == "")
    }
}
