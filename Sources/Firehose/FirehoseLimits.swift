/// Firehose's quotas in one table (KINESIS.md §9; AWS `limits.md`, the botocore model).
///
/// The Direct PUT throughput quotas are us-east-1's, us-west-2's and eu-west-1's defaults; other
/// regions have 100,000 records/s, 1,000 requests/s and 1 MiB/s. ktop applies the larger set
/// everywhere (`FirehoseLimits.standard`); tests may pass smaller ones.
public struct FirehoseLimits: Sendable, Equatable {
    /// One record's data, before base64 (`Data` max 1,024,000 = 1,000 KiB).
    public var maxRecordBytes = 1_024_000
    /// Records in one PutRecordBatch.
    public var maxBatchRecords = 500
    /// Data in one PutRecordBatch (4 MiB).
    public var maxBatchBytes = 4 * 1024 * 1024
    /// Delivery streams per account and region.
    public var maxDeliveryStreams = 50
    /// Direct PUT, per delivery stream and second: requests (PutRecord and PutRecordBatch calls).
    public var directPutRequestsPerSecond = 2_000
    /// Direct PUT, per delivery stream and second: records.
    public var directPutRecordsPerSecond = 500_000
    /// Direct PUT, per delivery stream and second: bytes (5 MiB).
    public var directPutBytesPerSecond = 5 * 1024 * 1024
    /// Tags per delivery stream.
    public var maxTags = 50
    /// BufferingHints.SizeInMBs range and default.
    public var bufferSizeMBs: ClosedRange<Int> = 1...128
    public var defaultBufferSizeMBs = 5
    /// BufferingHints.IntervalInSeconds range and default.
    public var bufferIntervalSeconds: ClosedRange<Int> = 0...900
    public var defaultBufferIntervalSeconds = 300
    /// How long a `--processor` command may run on one batch before the batch counts as failed
    /// (Lambda's own timeout is up to 15 min; Firehose's invocation default is 3 min).
    public var processorTimeoutSeconds = 60.0

    public init() {}
    public static let standard = FirehoseLimits()
}
