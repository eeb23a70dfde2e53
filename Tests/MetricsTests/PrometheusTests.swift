import Foundation
import StreamEngine
import Testing
@testable import Metrics

@Suite struct PrometheusTests {
    /// A parsed sample line: name, labels, value.
    struct Sample { var name: String; var labels: [String: String]; var value: Double }

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
            #expect(s.name == family || s.name == family + "_sum" || s.name == family + "_count", "\(s.name) under \(family)")
            #expect(declared[family] != nil)
            samples.append(s)
        }
        return samples
    }

    static func parseSample(_ line: String) throws -> Sample {
        var i = line.startIndex
        var name = ""
        while i < line.endIndex, line[i].isLetter || line[i].isNumber || line[i] == "_" || line[i] == ":" { name.append(line[i]); i = line.index(after: i) }
        #expect(!name.isEmpty && !(name.first!.isNumber))
        var labels: [String: String] = [:]
        if i < line.endIndex, line[i] == "{" {
            i = line.index(after: i)
            while line[i] != "}" {
                var key = ""
                while line[i] != "=" { key.append(line[i]); i = line.index(after: i) }
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
        let value = text == "+Inf" ? Double.infinity : text == "-Inf" ? -Double.infinity : text == "NaN" ? Double.nan : try #require(Double(text))
        return Sample(name: name, labels: labels, value: value)
    }

    @Test func exposesTheStoreWellFormedWithEscapedLabels() throws {
        var rig = Rig()
        try rig.create("prom", shards: 2)
        rig.tick()
        let weird = "we\"ird\\key\nline"
        let entries = (0..<300).map { PutRecordsRequestEntry(data: payload(100), partitionKey: $0 % 2 == 0 ? weird : "k\($0)") }
        _ = try rig.kinesis.putRecords(PutRecordsInput(records: entries, streamName: "prom"))
        let recorder = LatencyRecorder()
        recorder.record(stream: "prom", operation: .putRecords, duration: .microseconds(1_500))
        rig.tick(latencies: recorder.drain())

        let text = PrometheusText.render(rig.store)
        #expect(text.contains("we\\\"ird\\\\key\\nline"))
        let samples = try Self.parse(text)
        let stream = rig.stream("prom")
        func value(_ name: String, _ labels: [String: String]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        for shard in stream.shards {
            let l = ["stream": "prom", "shard": shard.shardId]
            let s = try #require(rig.store.latest(stream, shard.shardId))
            #expect(value("ktop_shard_incoming_bytes_per_second", l) == s.incomingBytes)
            #expect(value("ktop_shard_incoming_records_per_second", l) == s.incomingRecords)
            #expect(value("ktop_shard_write_provisioned_throughput_exceeded_per_second", l) == s.writeProvisionedThroughputExceeded)
            #expect(value("ktop_shard_iterator_age_milliseconds", l) == s.iteratorAgeMilliseconds)
            #expect(value("ktop_shard_incoming_bytes_total", l) == Double(shard.counters.incomingBytes))
            var lu = l
            lu["binding_limit"] = s.bindingLimit
            #expect(value("ktop_shard_write_utilization", lu) == s.utilization)
        }
        let p = try #require(rig.store.streamSeries(stream)?.metrics.lastSecond)
        for m in StreamMetric.allCases {
            let name = PrometheusText.family("ktop_stream_", m).0
            #expect(value(name, ["stream": "prom"]) == p.rate(m), "\(name)")
        }
        #expect(value("ktop_stream_put_records_successful_records_per_second", ["stream": "prom"]) == 300)
        #expect(samples.contains { $0.name == "ktop_shard_hot_key_records" && $0.labels["key"] == weird && $0.value == 150 })
        #expect(value("ktop_limits_info", ["profile": "aws", "enforced": "true"]) == 1)
        #expect(value("ktop_stream_latency_milliseconds_count", ["stream": "prom", "operation": "PutRecords"]) == 1)
        let p50 = try #require(value("ktop_stream_latency_milliseconds", ["stream": "prom", "operation": "PutRecords", "quantile": "0.5"]))
        #expect(abs(p50 - 1.5) < 0.01)
        let cost = rig.store.cost(stream)
        #expect(value("ktop_stream_cost_hourly_usd", ["stream": "prom", "mode": "PROVISIONED", "confirmed": "false"]) == cost.provisionedHourly)
        #expect(text.contains("# TYPE ktop_shard_incoming_bytes_total counter"))
        #expect(text.contains("# HELP ktop_shard_incoming_bytes_per_second IncomingBytes (Bytes) per second"))
    }

    @Test func namesAndEscapes() {
        #expect(PrometheusText.snakeCase("PutRecords.SuccessfulRecords") == "put_records_successful_records")
        #expect(PrometheusText.snakeCase("GetRecords.IteratorAgeMilliseconds") == "get_records_iterator_age_milliseconds")
        #expect(PrometheusText.snakeCase("SubscribeToShardEvent.MillisBehindLatest") == "subscribe_to_shard_event_millis_behind_latest")
        #expect(PrometheusText.escapeLabel("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
        #expect(PrometheusText.escapeHelp("x\\y\nz") == "x\\\\y\\nz")
        #expect(PrometheusText.format(3) == "3")
        #expect(PrometheusText.format(0.25) == "0.25")
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(PrometheusText.render(MetricsStore()) == "")
    }
}
