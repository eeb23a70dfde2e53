import Foundation
import StreamEngine

/// An S3 destination as configured (ExtendedS3DestinationConfiguration or the older
/// S3DestinationConfiguration), with defaults filled in and checked once.
struct S3Destination: Sendable, Equatable {
    var extended: Bool
    var roleARN: String
    var bucketARN: String
    /// The bucket name, `DIR/<bucket>/` under `--s3-dir`.
    var bucket: String
    var prefix: String?
    var errorOutputPrefix: String?
    var sizeInMBs: Int
    var intervalInSeconds: Int
    var compression: CompressionFormat
    var processing: ProcessingConfiguration?
    var s3BackupMode: String?
    /// The `--processor` name of the enabled Lambda processor, when there is one.
    var lambdaARN: String?
    /// FileExtension: replaces the compression's extension on delivered objects when set (not on error objects).
    var fileExtension: String?

    var sizeBytes: Int { sizeInMBs * 1024 * 1024 }

    var description: S3DestinationDescription {
        S3DestinationDescription(
            roleARN: roleARN, bucketARN: bucketARN, prefix: prefix, errorOutputPrefix: errorOutputPrefix,
            bufferingHints: BufferingHints(sizeInMBs: sizeInMBs, intervalInSeconds: intervalInSeconds),
            compressionFormat: compression.rawValue, encryptionConfiguration: ["NoEncryptionConfig": "NoEncryption"],
            processingConfiguration: extended ? (processing ?? ProcessingConfiguration(enabled: false)) : nil,
            s3BackupMode: extended ? (s3BackupMode ?? "Disabled") : nil,
            fileExtension: extended ? fileExtension : nil, customTimeZone: extended ? "UTC" : nil)
    }
}

/// Why a buffer was closed for delivery.
public enum FlushReason: String, Sendable, Codable {
    /// The buffer reached BufferingHints.SizeInMBs (measured before compression).
    case size
    /// BufferingHints.IntervalInSeconds passed since the buffer's first record.
    case interval
    /// UpdateDestination: buffered records go out under the configuration they arrived with.
    case update
    /// `ktop serve` stopping (``FirehoseService/flushAll()``).
    case shutdown
}

/// One record held by Firehose between PutRecord (or the Kinesis read) and delivery.
struct BufferedRecord: Sendable {
    var recordId: String
    var data: Data
    /// When the record arrived (its Kinesis ApproximateArrivalTimestamp for KinesisStreamAsSource):
    /// `!{timestamp:…}` and the object name use the oldest record's.
    var arrival: Instant
}

/// Firehose's counters for one delivery stream, under their CloudWatch names
/// (AWS `monitoring-with-cloudwatch-metrics`).
public struct FirehoseCounters: Sendable, Equatable, Codable {
    /// IncomingBytes / IncomingRecords / IncomingPutRequests: accepted Direct PUT data.
    public var incomingBytes: Int64 = 0
    public var incomingRecords: Int64 = 0
    public var incomingPutRequests: Int64 = 0
    /// ThrottledRecords: records refused with ServiceUnavailableException "Slow down.".
    public var throttledRecords: Int64 = 0
    /// DataReadFromKinesisStream.Bytes / .Records and the GetRecords calls behind them (KinesisStreamAsSource).
    public var dataReadFromKinesisStreamBytes: Int64 = 0
    public var dataReadFromKinesisStreamRecords: Int64 = 0
    public var kinesisGetRecordsCalls: Int64 = 0
    /// ThrottledGetRecords: GetRecords calls refused by the shared per-shard read budget.
    public var throttledGetRecords: Int64 = 0
    /// DeliveryToS3.Success is a ratio in CloudWatch (succeeded / attempted PUTs); ktop keeps both sides.
    public var deliveryToS3Success: Int64 = 0
    public var deliveryToS3Attempts: Int64 = 0
    /// DeliveryToS3.Bytes / .Records: what landed, before compression; DeliveryToS3.ObjectCount.
    public var deliveryToS3Bytes: Int64 = 0
    public var deliveryToS3Records: Int64 = 0
    public var deliveryToS3ObjectCount: Int64 = 0
    /// Bytes written to disk after compression (no CloudWatch twin).
    public var deliveryToS3StoredBytes: Int64 = 0
    /// ExecuteProcessing.Success (ratio: succeeded / attempted invocations), SucceedProcessing.Records/.Bytes.
    public var executeProcessingSuccess: Int64 = 0
    public var executeProcessingAttempts: Int64 = 0
    public var succeedProcessingRecords: Int64 = 0
    public var succeedProcessingBytes: Int64 = 0
    /// Records a processor answered Dropped.
    public var droppedRecords: Int64 = 0
    /// Records written under ErrorOutputPrefix (`processing-failed`).
    public var processingFailedRecords: Int64 = 0
    /// Buffers closed because SizeInMBs filled, because IntervalInSeconds passed, or otherwise
    /// (UpdateDestination, shutdown): the two hints' race, which a teaching pane shows.
    public var buffersFlushedBySize: Int64 = 0
    public var buffersFlushedByInterval: Int64 = 0
    public var buffersFlushedOtherwise: Int64 = 0
    public init() {}
}

/// A delivery stream's state inside ``FirehoseService``.
struct DeliveryStreamState {
    var name: String
    var arn: String
    var region: String
    var type: String
    var createdAt: Instant
    var lastUpdate: Instant?
    var version = 1
    var destinationId = "destinationId-000000000001"
    var destination: S3Destination
    var tags: [Tag] = []
    var encryption: DeliveryStreamEncryptionConfiguration?
    var source: KinesisStreamSourceDescription?
    var reader: KinesisSourceReader?

    var buffer: [BufferedRecord] = []
    var bufferBytes = 0
    var bufferStart: Instant?
    /// Buffers that reached SizeInMBs or IntervalInSeconds, waiting for the delivery loop.
    var sealed: [[BufferedRecord]] = []
    /// The current second's Direct PUT use: second, requests, records, bytes.
    var window: (second: Int64, requests: Int, records: Int, bytes: Int) = (0, 0, 0, 0)
    var counters = FirehoseCounters()
    var lastDelivery: Instant?
    var lastFailure: String?
    var lastFlushReason: FlushReason?

    mutating func append(_ r: BufferedRecord, now: Instant) {
        if buffer.isEmpty { bufferStart = now }
        buffer.append(r)
        bufferBytes += r.data.count
        // Size is measured before compression; the record that fills the buffer closes it.
        if bufferBytes >= destination.sizeBytes { seal(.size) }
    }

    mutating func seal(_ reason: FlushReason) {
        guard !buffer.isEmpty else { return }
        lastFlushReason = reason
        switch reason {
        case .size: counters.buffersFlushedBySize += 1
        case .interval: counters.buffersFlushedByInterval += 1
        case .update, .shutdown: counters.buffersFlushedOtherwise += 1
        }
        sealed.append(buffer)
        buffer = []
        bufferBytes = 0
        bufferStart = nil
    }

    /// Seals the open buffer when IntervalInSeconds has passed since its first record.
    mutating func sealIfDue(now: Instant) {
        guard let start = bufferStart else { return }
        if now - start >= .seconds(destination.intervalInSeconds) { seal(.interval) }
    }
}
