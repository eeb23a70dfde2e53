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
/// Prometheus conventions: things that happen are monotonic `…_total`
/// counters read from the engine's cumulative counters (rates are left to
/// `rate()`; stream-wide totals to `sum by (stream)` over the shard
/// counters), levels are gauges, names carry base units (`_bytes`,
/// `_seconds`), every family has one HELP and one TYPE line and its samples
/// together, label values are escaped. Per-stream families carry the labels
/// `account`, `region`, `stream` (the same stream name may exist in two
/// regions). The dashboard reads the store's per-second view, not this.
///
/// Families (`…` = account, region, stream):
/// - process: `ktop_limits_info{profile,enforced}`, `ktop_clock_speed`,
///   `ktop_retained_bytes`, `ktop_retained_bytes_budget` (gauges).
///   `ktop_storage_bytes`, `ktop_storage_failed_shards` (gauges; with `--data-dir` only).
/// - stream `{…}`: counters `ktop_stream_put_record_{success,throttled,bytes}_total`,
///   `ktop_stream_put_records_{calls,success,bytes,total_records,successful_records,
///   failed_records,throttled_records}_total`; gauges `ktop_stream_open_shards`,
///   `ktop_stream_iterator_age_seconds`, `ktop_stream_fan_out_behind_latest_seconds`,
///   `ktop_stream_skew_peak_to_average`, `ktop_stream_skew_coefficient_of_variation`,
///   `ktop_stream_cost_hourly_usd{mode,confirmed}`; summary
///   `ktop_stream_latency_seconds{operation}`.
/// - shard `{…,shard}`: counters `ktop_shard_{incoming,outgoing}_{bytes,records}_total`,
///   `ktop_shard_get_records_{bytes,records,success}_total`,
///   `ktop_shard_{write,read}_provisioned_throughput_exceeded_total`,
///   `ktop_shard_{expired,evicted}_records_total`; gauges `ktop_shard_open`,
///   `ktop_shard_iterator_age_seconds`, `ktop_shard_retained_{records,bytes}`,
///   `ktop_shard_write_utilization{binding_limit}`, `ktop_shard_heat{heat}`,
///   `ktop_shard_hot_key_records{key}`, `ktop_shard_polling_read_utilization`,
///   `ktop_shard_fanout_utilization{consumer}`.
/// - consumer `{…,consumer,type}`: counters `ktop_consumer_{bytes,records,success,throttled}_total`;
///   gauge `ktop_consumer_behind_latest_seconds`.
/// `families` is the same list with help texts; README.md's table mirrors it.
public enum PrometheusText {
    /// The exposition's content type.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// One metric family: its name, type, labels (a summary's `quantile` aside) and HELP text.
    public struct Family: Sendable, Equatable {
        public enum Kind: String, Sendable { case counter, gauge, summary }
        public var name: String
        public var kind: Kind
        public var labels: [String]
        public var help: String
    }

    static let streamLabels = ["account", "region", "stream"]
    static let shardLabels = streamLabels + ["shard"]
    static let consumerLabels = streamLabels + ["consumer", "type"]

    /// Every family `render` can write, in the order it writes them.
    public static let families: [Family] = {
        func f(_ name: String, _ kind: Family.Kind, _ labels: [String], _ help: String) -> Family {
            Family(name: name, kind: kind, labels: labels, help: help)
        }
        let st = streamLabels, sh = shardLabels, co = consumerLabels
        return [
            f("ktop_limits_info", .gauge, ["profile", "enforced"],
              "Quota profile of the engine: enforced=\"false\" means --limits off lifted the throughput quotas"),
            f("ktop_clock_speed", .gauge, [], "Simulated seconds per real second (1 is real time)"),
            f("ktop_retained_bytes", .gauge, [],
              "Memory held by the records the engine retains (payload and per-record bookkeeping)"),
            f("ktop_retained_bytes_budget", .gauge, [], "Memory budget for retained records (--memory-budget)"),
            f("ktop_storage_bytes", .gauge, ["fsync"], "Bytes of records in the --data-dir segment files"),
            f("ktop_storage_failed_shards", .gauge, [], "Shards refusing writes after a failed sync, until restart"),

            f("ktop_stream_open_shards", .gauge, st, "Open shards of the stream"),
            f("ktop_stream_put_record_success_total", .counter, st,
              "PutRecord.Success: PutRecord calls that stored their record"),
            f("ktop_stream_put_record_throttled_total", .counter, st, "PutRecord calls refused by the write quota"),
            f("ktop_stream_put_record_bytes_total", .counter, st,
              "PutRecord.Bytes: bytes (data + partition key) stored by PutRecord"),
            f("ktop_stream_put_records_calls_total", .counter, st, "PutRecords calls that passed validation"),
            f("ktop_stream_put_records_success_total", .counter, st,
              "PutRecords.Success: PutRecords calls with at least one stored record"),
            f("ktop_stream_put_records_bytes_total", .counter, st,
              "PutRecords.Bytes: bytes (data + partition key) stored by PutRecords"),
            f("ktop_stream_put_records_total_records_total", .counter, st,
              "PutRecords.TotalRecords: records sent in PutRecords calls"),
            f("ktop_stream_put_records_successful_records_total", .counter, st,
              "PutRecords.SuccessfulRecords: records stored by PutRecords"),
            f("ktop_stream_put_records_failed_records_total", .counter, st,
              "PutRecords.FailedRecords: records refused by internal failures (the engine has none)"),
            f("ktop_stream_put_records_throttled_records_total", .counter, st,
              "PutRecords.ThrottledRecords: records refused by the write quota"),
            f("ktop_stream_iterator_age_seconds", .gauge, st,
              "GetRecords.IteratorAgeMilliseconds in seconds: the largest iterator age over the stream's shards"),
            f("ktop_stream_fan_out_behind_latest_seconds", .gauge, st,
              "SubscribeToShardEvent.MillisBehindLatest in seconds: the largest over the stream's subscriptions"),
            f("ktop_stream_latency_seconds", .summary, st + ["operation"],
              "Wall time of engine calls measured by their callers (CloudWatch <Operation>.Latency):"
                + " quantiles of the last interval,"
                + " sum and count since start; absent when nothing measured"),
            f("ktop_stream_skew_peak_to_average", .gauge, st,
              "Hottest open shard's write utilisation over the mean (1 = even; 0 without load)"),
            f("ktop_stream_skew_coefficient_of_variation", .gauge, st,
              "Standard deviation over mean of the open shards' write utilisation (0 without load)"),
            f("ktop_stream_cost_hourly_usd", .gauge, st + ["mode", "confirmed"],
              "Estimated cost per hour at the last minute's load"
                + " (prices from KINESIS.md section 8; confirmed=\"false\" means unconfirmed)"),

            f("ktop_shard_open", .gauge, sh, "1 while the shard is OPEN, 0 once CLOSED"),
            f("ktop_shard_incoming_bytes_total", .counter, sh,
              "IncomingBytes: bytes (data + partition key) accepted since the shard was created"),
            f("ktop_shard_incoming_records_total", .counter, sh,
              "IncomingRecords: records accepted since the shard was created"),
            f("ktop_shard_outgoing_bytes_total", .counter, sh,
              "OutgoingBytes: bytes served by GetRecords and pushed to enhanced fan-out consumers"),
            f("ktop_shard_outgoing_records_total", .counter, sh,
              "OutgoingRecords: records served by GetRecords and pushed to enhanced fan-out consumers"),
            f("ktop_shard_get_records_bytes_total", .counter, sh, "GetRecords.Bytes: bytes served by GetRecords"),
            f("ktop_shard_get_records_records_total", .counter, sh, "GetRecords.Records: records served by GetRecords"),
            f("ktop_shard_get_records_success_total", .counter, sh, "GetRecords.Success: successful GetRecords calls"),
            f("ktop_shard_write_provisioned_throughput_exceeded_total", .counter, sh,
              "WriteProvisionedThroughputExceeded: records refused by the write quota (1 MiB/s, 1000 records/s)"),
            f("ktop_shard_read_provisioned_throughput_exceeded_total", .counter, sh,
              "ReadProvisionedThroughputExceeded: GetRecords calls refused by the read quota (2 MiB/s, 5 calls/s)"),
            f("ktop_shard_expired_records_total", .counter, sh,
              "Records dropped because they outlived the retention period"),
            f("ktop_shard_evicted_records_total", .counter, sh,
              "Records dropped early because the engine's memory budget was reached"),
            f("ktop_shard_iterator_age_seconds", .gauge, sh,
              "IteratorAgeMilliseconds in seconds: age of the last record GetRecords returned from the shard"),
            f("ktop_shard_retained_records", .gauge, sh, "Records the shard retains"),
            f("ktop_shard_retained_bytes", .gauge, sh, "Memory held by the records the shard retains"),
            f("ktop_shard_write_utilization", .gauge, sh + ["binding_limit"],
              "max(bytes / 1 MiB/s, records / 1000/s) of the write quota over the last interval;"
                + " binding_limit names the larger"),
            f("ktop_shard_heat", .gauge, sh + ["heat"],
              "Heat class of the shard (cold < 25% <= warm < 75% <= hot; throttled on any refused record) as a label"),
            f("ktop_shard_hot_key_records", .gauge, sh + ["key"],
              "Top partition keys of the last second by records (Space-Saving estimate, may overestimate)"),
            f("ktop_shard_polling_read_utilization", .gauge, sh,
              "Polling consumers' use of the shard's shared read budget over the last interval:"
                + " max(bytes / 2 MiB/s, calls / 5/s)"),
            f("ktop_shard_fanout_utilization", .gauge, sh + ["consumer"],
              "An enhanced fan-out consumer's use of its own 2 MiB/s pipe on the shard over the last interval"),

            f("ktop_consumer_bytes_total", .counter, co,
              "Bytes the consumer received (SubscribeToShardEvent.Bytes, or its own GetRecords bytes when polling)"),
            f("ktop_consumer_records_total", .counter, co, "Records the consumer received"),
            f("ktop_consumer_success_total", .counter, co,
              "SubscribeToShardEvent events delivered, or successful GetRecords calls when polling"),
            f("ktop_consumer_throttled_total", .counter, co,
              "Refused reads: SubscribeToShard.RateExceeded (efo) or ReadProvisionedThroughputExceeded (polling)"),
            f("ktop_consumer_behind_latest_seconds", .gauge, co,
              "MillisBehindLatest in seconds: the largest over the consumer's shards"),
        ]
    }()

    /// The exposition of the store's last sample; empty before the store has
    /// one (`ktop serve` ingests a sample before it listens, so a scrape never sees that).
    public static func render(_ store: MetricsStore) -> String {
        guard let sample = store.lastSample else { return "" }
        var out = Exposition()
        let profile = ["profile": sample.limitsProfile, "enforced": String(sample.enforcesThroughput)]
        out.add("ktop_limits_info", profile, Int64(1))
        out.add("ktop_clock_speed", [:], sample.clockSpeed)
        out.add("ktop_retained_bytes", [:], Int64(sample.retainedBytes))
        out.add("ktop_retained_bytes_budget", [:], Int64(sample.retainedBytesBudget))
        if let storage = sample.storage {
            out.add("ktop_storage_bytes", ["fsync": storage.fsync], storage.diskBytes)
            out.add("ktop_storage_failed_shards", [:], Int64(storage.failedShards))
        }
        for stream in sample.streams {
            let sl = ["account": stream.account, "region": stream.region, "stream": stream.name]
            let series = store.streamSeries(stream)
            out.add("ktop_stream_open_shards", sl, Int64(stream.openShardCount))
            let c = stream.counters
            for (name, v) in [
                ("ktop_stream_put_record_success_total", c.putRecordSuccess),
                ("ktop_stream_put_record_throttled_total", c.putRecordThrottled),
                ("ktop_stream_put_record_bytes_total", c.putRecordBytes),
                ("ktop_stream_put_records_calls_total", c.putRecordsCalls),
                ("ktop_stream_put_records_success_total", c.putRecordsSuccess),
                ("ktop_stream_put_records_bytes_total", c.putRecordsBytes),
                ("ktop_stream_put_records_total_records_total", c.putRecordsTotalRecords),
                ("ktop_stream_put_records_successful_records_total", c.putRecordsSuccessfulRecords),
                ("ktop_stream_put_records_failed_records_total", c.putRecordsFailedRecords),
                ("ktop_stream_put_records_throttled_records_total", c.putRecordsThrottledRecords),
            ] {
                out.add(name, sl, v)
            }
            let iteratorAge = stream.shards.map(\.counters.iteratorAgeMilliseconds).max() ?? 0
            out.add("ktop_stream_iterator_age_seconds", sl, Double(iteratorAge) / 1000)
            let behind = stream.consumers.flatMap { $0.shards.values.map(\.millisBehindLatest) }.max() ?? 0
            out.add("ktop_stream_fan_out_behind_latest_seconds", sl, Double(behind) / 1000)
            let lastSecond = series?.lastSecondLatency ?? [:]
            for (op, total) in (series?.latencyTotals ?? [:]).sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                var l = sl
                l["operation"] = op.rawValue
                if let stats = lastSecond[op] {
                    for (q, ms) in [("0.5", stats.p50), ("0.9", stats.p90), ("0.99", stats.p99)] {
                        var lq = l
                        lq["quantile"] = q
                        out.add("ktop_stream_latency_seconds", lq, ms / 1000)
                    }
                }
                out.add("ktop_stream_latency_seconds", l, total.seconds, suffix: "_sum")
                out.add("ktop_stream_latency_seconds", l, total.count, suffix: "_count")
            }
            let skew = store.skew(stream)
            out.add("ktop_stream_skew_peak_to_average", sl, skew.peakToAverage)
            out.add("ktop_stream_skew_coefficient_of_variation", sl, skew.coefficientOfVariation)
            let cost = store.cost(stream)
            for (mode, hourly) in [("PROVISIONED", cost.provisionedHourly), ("ON_DEMAND", cost.onDemandHourly)] {
                var l = sl
                l["mode"] = mode
                l["confirmed"] = String(cost.pricesConfirmed)
                out.add("ktop_stream_cost_hourly_usd", l, hourly)
            }
            for shard in stream.shards {
                shardFamilies(shard, of: stream, labels: sl, store, &out)
            }
            for b in store.readBudgets[stream.arn] ?? [] {
                var l = sl
                l["shard"] = b.shardId
                out.add("ktop_shard_polling_read_utilization", l, b.pollingUtilization)
                for p in b.fanOut {
                    var lc = l
                    lc["consumer"] = p.consumer
                    out.add("ktop_shard_fanout_utilization", lc, p.utilization)
                }
            }
            let consumers = store.consumerTotals.filter { $0.key.hasPrefix(stream.arn + "#") }.values
            for t in consumers.sorted(by: { ($0.type, $0.name) < ($1.type, $1.name) }) {
                var l = sl
                l["consumer"] = t.name
                l["type"] = t.type
                out.add("ktop_consumer_bytes_total", l, t.bytes)
                out.add("ktop_consumer_records_total", l, t.records)
                out.add("ktop_consumer_success_total", l, t.success)
                out.add("ktop_consumer_throttled_total", l, t.throttled)
                out.add("ktop_consumer_behind_latest_seconds", l, Double(t.millisBehindLatest) / 1000)
            }
        }
        return out.text
    }

    /// The shard-level families of one shard.
    static func shardFamilies(_ shard: ShardSample, of stream: StreamSample, labels sl: [String: String],
                              _ store: MetricsStore, _ out: inout Exposition) {
        var l = sl
        l["shard"] = shard.shardId
        let c = shard.counters
        out.add("ktop_shard_open", l, Int64(shard.isOpen ? 1 : 0))
        for (name, v) in [
            ("ktop_shard_incoming_bytes_total", c.incomingBytes),
            ("ktop_shard_incoming_records_total", c.incomingRecords),
            ("ktop_shard_outgoing_bytes_total", c.outgoingBytes &+ c.fanOutBytes),
            ("ktop_shard_outgoing_records_total", c.outgoingRecords &+ c.fanOutRecords),
            ("ktop_shard_get_records_bytes_total", c.outgoingBytes),
            ("ktop_shard_get_records_records_total", c.outgoingRecords),
            ("ktop_shard_get_records_success_total", c.getRecordsCalls),
            ("ktop_shard_write_provisioned_throughput_exceeded_total", c.writeThrottledRecords),
            ("ktop_shard_read_provisioned_throughput_exceeded_total", c.readThrottledCalls),
            ("ktop_shard_expired_records_total", c.expiredRecords),
            ("ktop_shard_evicted_records_total", c.evictedRecords),
        ] {
            out.add(name, l, v)
        }
        out.add("ktop_shard_iterator_age_seconds", l, Double(c.iteratorAgeMilliseconds) / 1000)
        out.add("ktop_shard_retained_records", l, Int64(shard.retainedRecords))
        out.add("ktop_shard_retained_bytes", l, Int64(shard.retainedBytes))
        if let s = store.shardSeries(stream, shard.shardId)?.latest {
            var lu = l
            lu["binding_limit"] = s.bindingLimit
            out.add("ktop_shard_write_utilization", lu, s.utilization)
            var lh = l
            lh["heat"] = s.heat.rawValue
            out.add("ktop_shard_heat", lh, Int64(1))
        }
        // The sketch counts by hash key, so one partition key sent with several
        // ExplicitHashKeys fills several slots: merged here, one series per key.
        var byKey: [String: Int64] = [:]
        for k in HotKeys(shard).byRecords { byKey[k.partitionKey, default: 0] += k.records }
        for (key, records) in byKey.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }).prefix(5) {
            var lk = l
            lk["key"] = key
            out.add("ktop_shard_hot_key_records", lk, records)
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

    /// Escapes a label value: backslash, double quote and line feed (the
    /// only escapes the format has; every other character, `\r` and tabs
    /// included, is written as is).
    public static func escapeLabel(_ v: String) -> String {
        var out = ""
        for ch in v.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(ch)
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

    /// Samples grouped by family, written in `families` order with one HELP
    /// and one TYPE line each, so no family is split or declared twice.
    struct Exposition {
        private var lines: [String: [String]] = [:]
        private static let byName = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0) })

        mutating func add(_ name: String, _ labels: [String: String], _ value: Double, suffix: String = "") {
            add(name, labels, PrometheusText.format(value), suffix: suffix)
        }

        /// Counters as exact integers (a Double would round above 2^53).
        mutating func add(_ name: String, _ labels: [String: String], _ value: Int64, suffix: String = "") {
            add(name, labels, String(value), suffix: suffix)
        }

        private mutating func add(_ name: String, _ labels: [String: String], _ value: String, suffix: String) {
            assert(Self.byName[name].map { Set($0.labels) == Set(labels.keys).subtracting(["quantile"]) } ?? false,
                   "\(name) is not in PrometheusText.families with labels \(labels.keys.sorted())")
            let l = labels.keys.sorted().map { "\($0)=\"\(PrometheusText.escapeLabel(labels[$0]!))\"" }
                .joined(separator: ",")
            lines[name, default: []].append(name + suffix + (l.isEmpty ? "" : "{\(l)}") + " " + value)
        }

        var text: String {
            var s = ""
            for f in PrometheusText.families {
                guard let samples = lines[f.name] else { continue }
                s += "# HELP \(f.name) \(PrometheusText.escapeHelp(f.help))\n# TYPE \(f.name) \(f.kind.rawValue)\n"
                for line in samples { s += line + "\n" }
            }
            return s
        }
    }
}
