import StreamEngine

/// The prices the cost estimate uses, US East (N. Virginia), in USD.
///
/// From KINESIS.md §8, where every number is **unconfirmed** (AWS's pricing
/// page renders prices dynamically; the figures are third-party citations).
/// A public value type so the command line can override any of them from
/// flags; `confirmed` stays false unless whoever fills it says otherwise.
public struct PriceTable: Sendable, Equatable {
    // Provisioned.
    public var shardHour = 0.015
    /// Per million PUT payload units (each record counted in 25 KiB chunks).
    public var putPayloadUnitsPerMillion = 0.014
    /// Bytes of one PUT payload unit. AWS says "25 KB"; ktop counts 25 KiB.
    public var putPayloadUnitBytes = ShardCounters.putPayloadUnitBytes
    /// Retention above 24 h up to 7 days, per shard-hour.
    public var extendedRetentionShardHour = 0.020
    /// Retention beyond 7 days, per GB-month of data held past day 7.
    public var longTermRetentionGBMonth = 0.023
    // Enhanced fan-out.
    public var fanOutConsumerShardHour = 0.015
    public var fanOutPerGB = 0.013
    // On-demand (Standard).
    public var onDemandStreamHour = 0.04
    /// Per GB written, each record rounded up to 1 KiB.
    public var onDemandInPerGB = 0.08
    /// Per GB read (GetRecords and enhanced fan-out alike).
    public var onDemandOutPerGB = 0.04
    /// Hours in a billing month (AWS's convention: 730).
    public var hoursPerMonth = 730.0
    /// Bytes in a billed GB (ktop counts GiB: 2^30).
    public var bytesPerGB = 1_073_741_824.0
    /// Whether these prices were checked against AWS's pricing page.
    public var confirmed = false
    public var source =
        "KINESIS.md §8 (third-party figures, not confirmed against aws.amazon.com/kinesis/data-streams/pricing)"
    public init() {}

    /// The prices a user may override by name (`ktop --price NAME=USD`), in USD.
    public static var overridable: [(name: String, path: WritableKeyPath<PriceTable, Double>, meaning: String)] {
        [
            ("shard-hour", \.shardHour, "provisioned shard-hour"),
            ("put-units-per-million", \.putPayloadUnitsPerMillion, "million PUT payload units (25 KiB each)"),
            (
                "extended-retention-shard-hour", \.extendedRetentionShardHour,
                "shard-hour of retention beyond 24 h (to 7 days)"
            ),
            ("long-term-retention-gb-month", \.longTermRetentionGBMonth, "GB-month kept beyond 7 days"),
            ("efo-consumer-shard-hour", \.fanOutConsumerShardHour, "enhanced fan-out consumer-shard-hour"),
            ("efo-per-gb", \.fanOutPerGB, "GB read by enhanced fan-out"),
            ("on-demand-stream-hour", \.onDemandStreamHour, "on-demand stream-hour"),
            ("on-demand-in-per-gb", \.onDemandInPerGB, "GB written to an on-demand stream"),
            ("on-demand-out-per-gb", \.onDemandOutPerGB, "GB read from an on-demand stream"),
        ]
    }

    /// Applies `NAME=USD` overrides; the table then says where its prices came from.
    /// Throws a one-line message naming the valid names on a bad entry.
    public mutating func override(_ entries: [String]) throws(PriceOverrideError) {
        guard !entries.isEmpty else { return }
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let field = Self.overridable.first(where: { $0.name == parts[0] }) else {
                throw PriceOverrideError(entry: entry)
            }
            guard let value = Double(parts[1]), value >= 0, value.isFinite else {
                throw PriceOverrideError(entry: entry)
            }
            self[keyPath: field.path] = value
        }
        source += "; overridden on the command line: " + entries.joined(separator: ", ")
    }
}

/// A `--price` entry that is not `NAME=USD` with a known name.
public struct PriceOverrideError: Error, Sendable, CustomStringConvertible {
    public var entry: String
    public var description: String {
        "--price '\(entry)' is not NAME=USD; NAME is one of "
            + PriceTable.overridable.map(\.name).joined(separator: ", ")
            + " (e.g. --price shard-hour=0.015)"
    }
}

/// One priced quantity of the estimate.
public struct CostLine: Sendable, Equatable {
    /// What is billed, e.g. "shard-hours".
    public var item: String
    /// Quantity per hour at the current rate, in `unit`.
    public var quantityPerHour: Double
    public var unit: String
    public var unitPrice: Double
    public var hourly: Double
}

/// The stream's cost as it runs, extrapolated from the last minute's load:
/// hourly and monthly, under both capacity modes for comparison.
public struct CostEstimate: Sendable, Equatable {
    /// The stream's own mode: "PROVISIONED" or "ON_DEMAND".
    public var mode: String
    public var provisioned: [CostLine]
    public var onDemand: [CostLine]
    public var provisionedHourly: Double { provisioned.reduce(0) { $0 + $1.hourly } }
    public var onDemandHourly: Double { onDemand.reduce(0) { $0 + $1.hourly } }
    public var hoursPerMonth: Double
    /// The cost in the stream's own mode.
    public var hourly: Double { mode == StreamMode.onDemand.rawValue ? onDemandHourly : provisionedHourly }
    public var monthly: Double { hourly * hoursPerMonth }
    public var provisionedMonthly: Double { provisionedHourly * hoursPerMonth }
    public var onDemandMonthly: Double { onDemandHourly * hoursPerMonth }
    /// False while the price table is unconfirmed: screens must say so.
    public var pricesConfirmed: Bool
    /// What the estimate leaves out.
    public var notes: [String]
}

extension MetricsStore {
    /// The cost of `stream` at the load of the last minute (or less, early on).
    public func cost(_ stream: StreamSample, prices: PriceTable? = nil) -> CostEstimate {
        let p = prices ?? configuration.prices
        let series = streams[stream.arn]
        let rates = series?.billingRates ?? (putPayloadUnits: 0, billedKiB: 0, getRecordsBytes: 0, fanOutBytes: 0)
        let incoming = series?.averageIncoming(lastSeconds: StreamSeries.billingWindowSeconds) ?? (bytes: 0, records: 0)
        let shards = Double(MetricsStore.openShardCount(stream))
        let efo = Double(stream.consumers.filter { $0.status == .active }.count)
        let gb = { (bytesPerSecond: Double) in bytesPerSecond * 3600 / p.bytesPerGB }
        var provisioned = [
            CostLine(
                item: "shard-hours", quantityPerHour: shards, unit: "shard-hour", unitPrice: p.shardHour,
                hourly: shards * p.shardHour),
            CostLine(
                item: "PUT payload units", quantityPerHour: rates.putPayloadUnits * 3600, unit: "unit",
                unitPrice: p.putPayloadUnitsPerMillion / 1e6,
                hourly: rates.putPayloadUnits * 3600 * p.putPayloadUnitsPerMillion / 1e6),
        ]
        if stream.retentionHours > 24 {
            provisioned.append(
                CostLine(
                    item: "extended retention", quantityPerHour: shards, unit: "shard-hour",
                    unitPrice: p.extendedRetentionShardHour, hourly: shards * p.extendedRetentionShardHour))
        }
        if stream.retentionHours > 168 {
            // Steady state: everything written in the last (retention − 7 d) is held past day 7.
            let heldGB = incoming.bytes * Double(stream.retentionHours - 168) * 3600 / p.bytesPerGB
            provisioned.append(
                CostLine(
                    item: "long-term retention", quantityPerHour: heldGB, unit: "GB-month held",
                    unitPrice: p.longTermRetentionGBMonth, hourly: heldGB * p.longTermRetentionGBMonth / p.hoursPerMonth
                ))
        }
        if efo > 0 {
            provisioned.append(
                CostLine(
                    item: "enhanced fan-out consumer-shard-hours", quantityPerHour: efo * shards,
                    unit: "consumer-shard-hour",
                    unitPrice: p.fanOutConsumerShardHour, hourly: efo * shards * p.fanOutConsumerShardHour))
            provisioned.append(
                CostLine(
                    item: "enhanced fan-out data", quantityPerHour: gb(rates.fanOutBytes), unit: "GB",
                    unitPrice: p.fanOutPerGB, hourly: gb(rates.fanOutBytes) * p.fanOutPerGB))
        }
        let inGB = gb(rates.billedKiB * 1024)
        let outGB = gb(rates.getRecordsBytes + rates.fanOutBytes)
        let onDemand = [
            CostLine(
                item: "stream-hours", quantityPerHour: 1, unit: "stream-hour", unitPrice: p.onDemandStreamHour,
                hourly: p.onDemandStreamHour),
            CostLine(
                item: "data in (records rounded up to 1 KiB)", quantityPerHour: inGB, unit: "GB",
                unitPrice: p.onDemandInPerGB, hourly: inGB * p.onDemandInPerGB),
            CostLine(
                item: "data out", quantityPerHour: outGB, unit: "GB", unitPrice: p.onDemandOutPerGB,
                hourly: outGB * p.onDemandOutPerGB),
        ]
        var notes = [
            "Extrapolated from the last \(StreamSeries.billingWindowSeconds) s of load; prices "
                + "\(p.confirmed ? "confirmed" : "UNCONFIRMED") (\(p.source))."
        ]
        if stream.retentionHours > 24 { notes.append("On-demand extended retention is not priced here.") }
        notes.append("Data transfer, KMS and CloudWatch enhanced-monitoring charges are not included.")
        return CostEstimate(
            mode: stream.mode.rawValue, provisioned: provisioned, onDemand: onDemand, hoursPerMonth: p.hoursPerMonth,
            pricesConfirmed: p.confirmed, notes: notes)
    }
}
