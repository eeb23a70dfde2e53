import Foundation
import StreamEngine

/// The Prometheus text exposition format (version 0.0.4) of a
/// `MetricsStore`: a pure function of the store, so the HTTP route
/// `/metrics` only has to call it.
///
/// Written by hand rather than with swift-prometheus: that package is a
/// registry of live counters and gauges that code updates as it runs, while
/// here every value already sits in the store; mirroring them into a
/// registry each second would duplicate state and need stale series (expired
/// shards, deregistered consumers) unregistered by hand. A renderer over the
/// store has neither problem and adds no dependency.
///
/// Families: `ktop_shard_*` (labels stream, shard), `ktop_stream_*` (stream),
/// `ktop_consumer_*` (stream, consumer, type). Names are CloudWatch's, in
/// snake case: `…_per_second` gauges hold the last interval's rate, `…_total`
/// counters the engine's cumulative counts, and gauges without a suffix a
/// level (ages). `ktop_limits_info` says whether quotas are enforced.
public enum PrometheusText {
    /// The exposition's content type.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ store: MetricsStore) -> String {
        var out = Exposition()
        guard let sample = store.lastSample else { return "" }
        out.add("ktop_limits_info", "gauge", "Quota profile of the engine: enforced=\"false\" means --limits off lifted the throughput quotas",
                ["profile": sample.limitsProfile, "enforced": String(sample.enforcesThroughput)], 1)
        out.add("ktop_clock_speed", "gauge", "Simulated seconds per real second (1 is real time)", [:], sample.clockSpeed)
        out.add("ktop_retained_bytes", "gauge", "Memory held by the records the engine retains (payload and per-record bookkeeping)", [:], Double(sample.retainedBytes))
        out.add("ktop_retained_bytes_budget", "gauge", "Memory budget for retained records (--memory-budget)", [:], Double(sample.retainedBytesBudget))
        for stream in sample.streams {
            let sl = ["stream": stream.name]
            out.add("ktop_stream_open_shards", "gauge", "Open shards of the stream", sl, Double(stream.openShardCount))
            if let last = store.streamSeries(stream)?.metrics.lastSecond {
                for m in StreamMetric.allCases {
                    let (name, help) = family("ktop_stream_", m)
                    out.add(name, "gauge", help, sl, last.rate(m))
                }
            }
            for (op, stats) in (store.streamSeries(stream)?.lastSecondLatency ?? [:]).sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                let name = "ktop_stream_latency_milliseconds"
                let help = "Wall time of engine calls measured by their callers over the last interval (CloudWatch <Operation>.Latency); absent when nothing measured"
                var l = sl
                l["operation"] = op.rawValue
                for (q, v) in [("0.5", stats.p50), ("0.9", stats.p90), ("0.99", stats.p99)] {
                    var lq = l
                    lq["quantile"] = q
                    out.add(name, "summary", help, lq, v)
                }
                out.add(name, "summary", help, l, stats.average * Double(stats.sampleCount), suffix: "_sum")
                out.add(name, "summary", help, l, Double(stats.sampleCount), suffix: "_count")
            }
            let skew = store.skew(stream)
            out.add("ktop_stream_skew_peak_to_average", "gauge", "Hottest open shard's write utilisation over the mean (1 = even; 0 without load)", sl, skew.peakToAverage)
            out.add("ktop_stream_skew_coefficient_of_variation", "gauge", "Standard deviation over mean of the open shards' write utilisation (0 without load)", sl, skew.coefficientOfVariation)
            let cost = store.cost(stream)
            for (mode, hourly) in [("PROVISIONED", cost.provisionedHourly), ("ON_DEMAND", cost.onDemandHourly)] {
                out.add("ktop_stream_cost_hourly_usd", "gauge", "Estimated cost per hour at the last minute's load (prices from KINESIS.md section 8; confirmed=\"false\" means unconfirmed)",
                        ["stream": stream.name, "mode": mode, "confirmed": String(cost.pricesConfirmed)], hourly)
            }
            for shard in stream.shards {
                let l = ["stream": stream.name, "shard": shard.shardId]
                out.add("ktop_shard_open", "gauge", "1 while the shard is OPEN, 0 once CLOSED", l, shard.isOpen ? 1 : 0)
                let series = store.shardSeries(stream, shard.shardId)
                if let p = series?.metrics.lastSecond {
                    for m in ShardMetric.allCases {
                        let (name, help) = family("ktop_shard_", m)
                        out.add(name, "gauge", help, l, p.rate(m))
                    }
                }
                if let s = series?.latest {
                    var lu = l
                    lu["binding_limit"] = s.bindingLimit
                    out.add("ktop_shard_write_utilization", "gauge", "max(bytes / 1 MiB/s, records / 1000/s) of the shard's write quota; binding_limit names the larger", lu, s.utilization)
                    var lh = l
                    lh["heat"] = s.heat.rawValue
                    out.add("ktop_shard_heat", "gauge", "Heat class of the shard (cold < 25% <= warm < 75% <= hot; throttled on any refused record) as a label", lh, 1)
                }
                let c = shard.counters
                for (name, help, v) in [
                    ("ktop_shard_incoming_bytes_total", "IncomingBytes (Bytes) accepted since the shard was created", c.incomingBytes),
                    ("ktop_shard_incoming_records_total", "IncomingRecords (Count) accepted since the shard was created", c.incomingRecords),
                    ("ktop_shard_outgoing_bytes_total", "OutgoingBytes (Bytes) served by GetRecords and fan-out since the shard was created", c.outgoingBytes + c.fanOutBytes),
                    ("ktop_shard_outgoing_records_total", "OutgoingRecords (Count) served by GetRecords and fan-out since the shard was created", c.outgoingRecords + c.fanOutRecords),
                    ("ktop_shard_write_provisioned_throughput_exceeded_total", "WriteProvisionedThroughputExceeded (Count) records refused since the shard was created", c.writeThrottledRecords),
                    ("ktop_shard_read_provisioned_throughput_exceeded_total", "ReadProvisionedThroughputExceeded (Count) GetRecords calls refused since the shard was created", c.readThrottledCalls),
                ] {
                    out.add(name, "counter", help, l, Double(v))
                }
                for k in HotKeys(shard).byRecords.prefix(5) {
                    var lk = l
                    lk["key"] = k.partitionKey
                    out.add("ktop_shard_hot_key_records", "gauge", "Top partition keys of the last second by records (Space-Saving estimate; overestimates by at most max_error)", lk, Double(k.records))
                }
            }
            for b in store.readBudgets[stream.arn] ?? [] {
                let l = ["stream": stream.name, "shard": b.shardId]
                out.add("ktop_shard_polling_read_utilization", "gauge", "Polling consumers' use of the shard's shared read budget: max(bytes / 2 MiB/s, calls / 5/s)", l, b.pollingUtilization)
                for p in b.fanOut {
                    var lc = l
                    lc["consumer"] = p.consumer
                    out.add("ktop_shard_fanout_utilization", "gauge", "An enhanced fan-out consumer's use of its own 2 MiB/s pipe on the shard", lc, p.utilization)
                }
            }
            for c in store.consumerSeries(stream) {
                guard let p = c.metrics.lastSecond else { continue }
                let l = ["stream": stream.name, "consumer": c.name, "type": c.type]
                for m in ConsumerMetric.allCases {
                    let (name, help) = family("ktop_consumer_", m)
                    out.add(name, "gauge", help, l, p.rate(m))
                }
            }
        }
        return out.text
    }

    /// A family name and help line for a CloudWatch metric.
    static func family<M: MetricName>(_ prefix: String, _ m: M) -> (String, String) {
        let base = prefix + snakeCase(m.rawValue)
        switch m.kind {
        case .count: return (base + "_per_second", "\(m.rawValue) (\(m.unit.rawValue)) per second over the last interval: \(m.help)")
        case .gauge: return (base, "\(m.rawValue) (\(m.unit.rawValue)) at the end of the last interval: \(m.help)")
        }
    }

    /// `PutRecords.SuccessfulRecords` → `put_records_successful_records`.
    public static func snakeCase(_ name: String) -> String {
        var out = ""
        var previousLower = false
        for ch in name {
            if ch == "." || ch == "-" || ch == " " { out.append("_"); previousLower = false; continue }
            if ch.isUppercase {
                if previousLower { out.append("_") }
                out.append(contentsOf: ch.lowercased())
                previousLower = false
            } else {
                out.append(ch)
                previousLower = ch.isLowercase || ch.isNumber
            }
        }
        return out
    }

    /// Escapes a label value: backslash, double quote and line feed.
    public static func escapeLabel(_ v: String) -> String {
        var out = ""
        for ch in v {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }

    /// Escapes HELP text: backslash and line feed.
    public static func escapeHelp(_ v: String) -> String {
        v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// A sample value as Prometheus writes it (`+Inf`, `-Inf`, `NaN`, integers without `.0`).
    public static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    /// Families in first-seen order, each with its samples together.
    struct Exposition {
        private var order: [String] = []
        private var families: [String: (type: String, help: String, lines: [String])] = [:]

        mutating func add(_ name: String, _ type: String, _ help: String, _ labels: [String: String], _ value: Double, suffix: String = "") {
            if families[name] == nil { order.append(name); families[name] = (type, help, []) }
            let l = labels.keys.sorted().map { "\($0)=\"\(PrometheusText.escapeLabel(labels[$0]!))\"" }.joined(separator: ",")
            families[name]!.lines.append(name + suffix + (l.isEmpty ? "" : "{\(l)}") + " " + PrometheusText.format(value))
        }

        var text: String {
            var s = ""
            for name in order {
                let f = families[name]!
                s += "# HELP \(name) \(PrometheusText.escapeHelp(f.help))\n# TYPE \(name) \(f.type)\n"
                for line in f.lines { s += line + "\n" }
            }
            return s
        }
    }
}
