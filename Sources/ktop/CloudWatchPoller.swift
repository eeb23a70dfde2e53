import Foundation
import KinesisAPI
import Metrics
import StreamEngine

/// Polls CloudWatch's shard-level Kinesis metrics once a minute (they are
/// published per minute) and adds the newest datapoint of each shard to the
/// samples, labelled with its source. Never enables enhanced monitoring: when
/// there are no datapoints it says once how to enable it and what it costs.
/// Backs off on throttling; stops on access denied. Single owner.
final class CloudWatchPoller {
    private let client: CloudWatchClient
    private let enableCommand: String
    private let pricePerMetricMonth: Double
    private var nextPoll = Date.distantPast
    private var failures = 0
    private var stopped = false
    private var toldNotEnabled = false
    /// The newest datapoints per shard.
    private var latest: [String: CloudWatchShardMetrics] = [:]
    static let interval: TimeInterval = 60
    /// How far back a poll looks: datapoints arrive a few minutes late.
    static let window: TimeInterval = 15 * 60

    /// - Parameter pricePerMetricMonth: CloudWatch's custom-metric price, for the cost of enabling (USD).
    init(client: CloudWatchClient, enableCommand: String, pricePerMetricMonth: Double = 0.30) {
        self.client = client
        self.enableCommand = enableCommand
        self.pricePerMetricMonth = pricePerMetricMonth
    }

    /// Polls when a minute has passed since the last poll; returns event lines.
    func poll(stream: String, shardIds: [String], now: Date) -> [SourceEvent] {
        guard !stopped, now >= nextPoll, !shardIds.isEmpty else { return [] }
        let stamp = Instant(now).timeOfDay
        do {
            let points = try client.shardMetrics(
                stream: stream, shardIds: shardIds,
                start: now.addingTimeInterval(-Self.window), end: now)
            failures = 0
            nextPoll = now.addingTimeInterval(Self.interval)
            for (shard, metrics) in points {
                // The newest period any metric of the shard has, and every metric's value for it.
                guard let newest = metrics.values.compactMap({ $0.map(\.timestamp).max() }).max() else { continue }
                var values: [String: Double] = [:]
                for (metric, series) in metrics {
                    if let p = series.first(where: { $0.timestamp == newest }) { values[metric] = p.value }
                }
                latest[shard] = CloudWatchShardMetrics(periodStart: Instant(newest), periodSeconds: 60, values: values)
            }
            if latest.isEmpty && !toldNotEnabled {
                toldNotEnabled = true
                let metrics = KinesisShardMetrics.all.count
                let monthly = Double(shardIds.count * metrics) * pricePerMetricMonth
                return [
                    .log(
                        time: stamp, kind: .advice,
                        text: "CloudWatch has no shard-level metrics for \(stream) (enhanced "
                            + "monitoring is off, or the stream is idle). ktop never enables it; to see throttles per "
                                + "shard run: "
                            + "\(enableCommand) (billed as custom metrics: \(shardIds.count) shards x \(metrics) "
                                + "metrics, "
                            + "about \(String(format: "$%.2f", monthly))/month at $\(pricePerMetricMonth) per "
                                + "metric-month)"
                    )
                ]
            }
            return []
        } catch {
            // Refused, or an endpoint without CloudWatch (a ktop answers 403, others 404): stop asking.
            let refused =
                ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"].contains(error.code)
                || error.kind == .credentials || error.httpStatus == 403 || error.httpStatus == 404
            if refused {
                stopped = true
                return [
                    .log(
                        time: stamp, kind: .error,
                        text: "CloudWatch GetMetricData refused (\(error)): "
                            + "no shard-level metrics (and so no throttles) for this run")
                ]
            }
            failures += 1
            let delay = min(600, Self.interval * Double(1 << min(failures - 1, 4)))
            nextPoll = now.addingTimeInterval(delay)
            return [
                .log(
                    time: stamp, kind: .error, text: "CloudWatch GetMetricData: \(error) (next try in \(Int(delay)) s)")
            ]
        }
    }

    /// Adds the newest datapoints to the stream's shards and says where they came from.
    func annotate(_ stream: inout StreamSample) {
        guard !latest.isEmpty else { return }
        for i in stream.shards.indices { stream.shards[i].cloudWatch = latest[stream.shards[i].shardId] }
        let label = "CloudWatch GetMetricData: shard-level metrics, 1-minute periods (minutes late)"
        // Per-minute figures stay in their own family: the per-second throttle columns remain unknown.
        stream.provenance.figures["cloudWatch"] = label
    }
}
