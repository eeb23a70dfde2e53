import Foundation
import StreamEngine

/// One delivery stream as the dashboard pane and `/metrics` show it: the open buffer against both
/// BufferingHints, when it will flush, what was delivered, and Firehose's CloudWatch counters.
public struct DeliveryStreamSample: Sendable, Equatable, Codable {
    public var name: String
    public var region: String
    /// `DirectPut` or `KinesisStreamAsSource`.
    public var type: String
    /// The source stream's ARN for KinesisStreamAsSource.
    public var sourceStreamARN: String?
    public var version: Int
    public var bucket: String
    public var compression: String
    /// Open buffer: bytes (before compression) and records, against SizeInMBs × 1 MiB.
    public var bufferBytes: Int
    public var bufferRecords: Int
    public var bufferSizeLimitBytes: Int
    /// IntervalInSeconds, and seconds until the open buffer's interval ends (nil when it is empty).
    public var bufferIntervalSeconds: Int
    public var secondsToNextFlush: Double?
    /// Buffers closed (full or due) and not yet written.
    public var sealedBuffers: Int
    /// DeliveryToS3.DataFreshness: age in seconds of the oldest record not yet delivered (0 when none).
    public var dataFreshnessSeconds: Double
    /// Why the last buffer was closed (size, interval, update, shutdown); nil before the first.
    public var lastFlushReason: FlushReason?
    /// When the last object landed, and the last delivery failure's text.
    public var lastDelivery: Instant?
    public var lastFailure: String?
    /// KinesisMillisBehindLatest for KinesisStreamAsSource (0 otherwise).
    public var kinesisMillisBehindLatest: Int64
    /// The source reader's last Kinesis error (e.g. a throttled GetRecords), for KinesisStreamAsSource.
    public var sourceLastError: String?
    public var counters: FirehoseCounters

    init(_ st: DeliveryStreamState, region: String, now: Instant) {
        name = st.name
        self.region = region
        type = st.type
        sourceStreamARN = st.source?.kinesisStreamARN
        version = st.version
        bucket = st.destination.bucket
        compression = st.destination.compression.rawValue
        bufferBytes = st.bufferBytes
        bufferRecords = st.buffer.count
        bufferSizeLimitBytes = st.destination.sizeBytes
        bufferIntervalSeconds = st.destination.intervalInSeconds
        secondsToNextFlush = st.bufferStart.map { start in
            max(0, Double(st.destination.intervalInSeconds) - (now - start).secondsDouble)
        }
        sealedBuffers = st.sealed.count
        let oldest = (st.sealed.flatMap { $0 } + st.buffer).map(\.arrival).min()
        dataFreshnessSeconds = oldest.map { max(0, (now - $0).secondsDouble) } ?? 0
        lastDelivery = st.lastDelivery
        lastFlushReason = st.lastFlushReason
        lastFailure = st.lastFailure
        kinesisMillisBehindLatest = st.reader?.millisBehindLatest ?? 0
        sourceLastError = st.reader?.lastError
        counters = st.counters
    }
}

/// Every delivery stream at one instant: what the Firehose module hands the dashboard and `/metrics`.
public struct FirehoseSample: Sendable, Equatable, Codable {
    public var time: Instant
    public var deliveryStreams: [DeliveryStreamSample]
}

extension Duration {
    var secondsDouble: Double { Double(nanoseconds) / 1e9 }
}

/// `/metrics` lines for Firehose, `ktop_firehose_*{delivery_stream=…,region=…}` (Prometheus text 0.0.4).
public enum FirehosePrometheus {
    public static func render(_ sample: FirehoseSample) -> String {
        var out = ""
        func family(
            _ name: String, _ type: String, _ help: String, _ value: (DeliveryStreamSample) -> Double
        ) {
            out += "# HELP ktop_firehose_\(name) \(help)\n# TYPE ktop_firehose_\(name) \(type)\n"
            for d in sample.deliveryStreams {
                let labels = "delivery_stream=\"\(escape(d.name))\",region=\"\(escape(d.region))\""
                out += "ktop_firehose_\(name){\(labels)} \(format(value(d)))\n"
            }
        }
        family("incoming_bytes_total", "counter", "IncomingBytes: bytes accepted by PutRecord/PutRecordBatch.") {
            Double($0.counters.incomingBytes)
        }
        family("incoming_records_total", "counter", "IncomingRecords: records accepted by Direct PUT.") {
            Double($0.counters.incomingRecords)
        }
        family("incoming_put_requests_total", "counter", "IncomingPutRequests: PutRecord and PutRecordBatch calls.") {
            Double($0.counters.incomingPutRequests)
        }
        family("throttled_records_total", "counter", "ThrottledRecords: records refused with 'Slow down.'.") {
            Double($0.counters.throttledRecords)
        }
        family(
            "data_read_from_kinesis_stream_bytes_total", "counter",
            "DataReadFromKinesisStream.Bytes: bytes read from the source Kinesis stream."
        ) { Double($0.counters.dataReadFromKinesisStreamBytes) }
        family(
            "data_read_from_kinesis_stream_records_total", "counter",
            "DataReadFromKinesisStream.Records: records read from the source Kinesis stream."
        ) { Double($0.counters.dataReadFromKinesisStreamRecords) }
        family("throttled_get_records_total", "counter", "ThrottledGetRecords: source GetRecords calls throttled.") {
            Double($0.counters.throttledGetRecords)
        }
        family("delivery_to_s3_success_total", "counter", "DeliveryToS3.Success numerator: objects written.") {
            Double($0.counters.deliveryToS3Success)
        }
        family("delivery_to_s3_attempts_total", "counter", "DeliveryToS3.Success denominator: objects attempted.") {
            Double($0.counters.deliveryToS3Attempts)
        }
        family("delivery_to_s3_bytes_total", "counter", "DeliveryToS3.Bytes: bytes delivered, before compression.") {
            Double($0.counters.deliveryToS3Bytes)
        }
        family("delivery_to_s3_records_total", "counter", "DeliveryToS3.Records: records delivered.") {
            Double($0.counters.deliveryToS3Records)
        }
        family("delivery_to_s3_objects_total", "counter", "DeliveryToS3.ObjectCount: objects delivered.") {
            Double($0.counters.deliveryToS3ObjectCount)
        }
        family(
            "delivery_to_s3_data_freshness_seconds", "gauge",
            "DeliveryToS3.DataFreshness: age of the oldest record not yet delivered."
        ) { $0.dataFreshnessSeconds }
        family("execute_processing_success_total", "counter", "ExecuteProcessing.Success numerator.") {
            Double($0.counters.executeProcessingSuccess)
        }
        family("execute_processing_attempts_total", "counter", "ExecuteProcessing.Success denominator.") {
            Double($0.counters.executeProcessingAttempts)
        }
        family("succeed_processing_records_total", "counter", "SucceedProcessing.Records: records returned Ok.") {
            Double($0.counters.succeedProcessingRecords)
        }
        family(
            "processing_failed_records_total", "counter",
            "Records written under ErrorOutputPrefix as processing-failed."
        ) { Double($0.counters.processingFailedRecords) }
        family("buffers_flushed_by_size_total", "counter", "Buffers closed because SizeInMBs filled.") {
            Double($0.counters.buffersFlushedBySize)
        }
        family("buffers_flushed_by_interval_total", "counter", "Buffers closed because IntervalInSeconds passed.") {
            Double($0.counters.buffersFlushedByInterval)
        }
        family("buffer_bytes", "gauge", "Bytes in the open buffer, before compression.") { Double($0.bufferBytes) }
        family("buffer_records", "gauge", "Records in the open buffer.") { Double($0.bufferRecords) }
        family("buffer_size_limit_bytes", "gauge", "BufferingHints.SizeInMBs in bytes.") {
            Double($0.bufferSizeLimitBytes)
        }
        family("buffer_interval_seconds", "gauge", "BufferingHints.IntervalInSeconds.") {
            Double($0.bufferIntervalSeconds)
        }
        return out
    }

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    private static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
