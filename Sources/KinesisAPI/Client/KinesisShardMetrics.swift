import Foundation

/// Kinesis's shard-level ("enhanced") CloudWatch metrics (KINESIS.md §6): namespace
/// `AWS/Kinesis`, dimensions `StreamName` and `ShardId`, published each minute once
/// `EnableEnhancedMonitoring` has switched them on (they are billed as custom metrics,
/// so ktop only tells the user how; it never switches them on itself).
public enum KinesisShardMetrics {
    public static let namespace = "AWS/Kinesis"

    /// Every shard-level metric, in the order `aws kinesis enable-enhanced-monitoring` lists them.
    public static let all = [
        "IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
        "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds",
    ]

    /// The statistic that gives a per-period figure: the total of a count, the worst of a
    /// gauge (IteratorAgeMilliseconds publishes Minimum/Maximum/Average only, no Sum).
    public static func statistic(for metric: String) -> String {
        metric == "IteratorAgeMilliseconds" ? "Maximum" : "Sum"
    }

    /// The AWS CLI command that enables `metrics` on `stream`, for the screen to show when
    /// GetMetricData returns nothing. Every argument is shell-quoted when it needs it.
    /// - Parameters:
    ///   - endpoint: added as `--endpoint-url` (LocalStack, moto); nil for AWS itself.
    public static func enableCommand(stream: String, metrics: [String] = all, region: String? = nil,
                                     profile: String? = nil, endpoint: URL? = nil) -> String {
        var words = ["aws", "kinesis", "enable-enhanced-monitoring", "--stream-name", stream,
                     "--shard-level-metrics"] + (metrics.isEmpty ? ["ALL"] : metrics)
        if let region { words += ["--region", region] }
        if let profile { words += ["--profile", profile] }
        if let endpoint { words += ["--endpoint-url", endpoint.absoluteString] }
        return words.map(shellQuoted).joined(separator: " ")
    }

    /// `word` as one POSIX shell word: unchanged when it is only safe characters, else in
    /// single quotes (a single quote inside becomes `'\''`).
    static func shellQuoted(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,")
        if !word.isEmpty && word.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
