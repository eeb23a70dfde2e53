import Dashboard
import Firehose
import Foundation
import LoadGen
import Metrics
import StreamEngine

/// The Firehose delivery streams a scenario starts on the embedded engine (`firehose-buffering`):
/// KinesisStreamAsSource readers of the scenario's stream, created through Firehose's own API (the JSON an
/// SDK would send) and delivering into the local S3 folder, stepped on the scenario's clock.
/// Owned by the source's thread.
final class ScenarioFirehose {
    private let setups: [DeliveryStreamSetup]
    let service: FirehoseService
    private let engine: KinesisEngine
    private let stream: String
    private let region: String
    private var created = false
    /// DescribeStreamSummary shares the account's control-plane TPS with the load generator: a refused
    /// call is tried again a second later.
    private var nextAttempt: Instant?
    private var lastLook: Instant?
    private var messages: [String] = []
    /// Objects delivered so far per delivery stream, to say in the events pane when one lands.
    private var objects: [String: Int] = [:]

    /// The bucket every scenario delivery stream writes to: `S3DIR/ktop-scenarios/`.
    static let bucket = "ktop-scenarios"

    init(_ setups: [DeliveryStreamSetup], stream: String, engine: KinesisEngine, clock: any StreamEngine.Clock,
         s3Directory: URL) {
        self.setups = setups
        self.stream = stream
        self.engine = engine
        region = engine.configuration.defaultRegion
        service = FirehoseService(
            clock: clock, s3Directory: s3Directory, account: engine.configuration.defaultAccount,
            kinesis: { account, region in engine.service(account: account, region: region) })
    }

    /// Creates the scenario's delivery streams once the Kinesis stream is ACTIVE, then runs one turn of
    /// delivery (for those and any an SDK created through `--listen`).
    func step(now: Instant) {
        if !created, !setups.isEmpty, nextAttempt.map({ now >= $0 }) ?? true {
            created = createAll()
            nextAttempt = now + .seconds(1)
        }
        service.tick()
        // One look a second is enough to say an object landed (the events pane is stamped by the second).
        guard lastLook.map({ now - $0 >= .seconds(1) }) ?? true else { return }
        lastLook = now
        for d in service.sample().deliveryStreams {
            let delivered = Int(clamping: d.counters.deliveryToS3ObjectCount)
            if delivered > objects[d.name, default: 0] {
                let bytes = Format.bytes(Double(d.counters.deliveryToS3Bytes))
                let why = d.lastFlushReason.map { " (its buffer closed by \($0.rawValue))" } ?? ""
                messages.append(
                    "Firehose \(d.name): object \(delivered) landed in s3://\(d.bucket)\(why); \(bytes) delivered "
                        + "so far")
            }
            objects[d.name] = delivered
        }
    }

    /// Whether the stream could be described (each delivery stream then succeeds or says why not).
    private func createAll() -> Bool {
        let arn: String
        do {
            arn = try engine.service().describeStreamSummary(StreamInput(streamName: stream))
                .streamDescriptionSummary.streamARN
        } catch where error.type == .limitExceeded {
            return false
        } catch {
            messages.append("Firehose: cannot read stream \(stream): \(error.description)")
            return true
        }
        for s in setups {
            let request: [String: Any] = [
                "DeliveryStreamName": s.name,
                "DeliveryStreamType": "KinesisStreamAsSource",
                "KinesisStreamSourceConfiguration": [
                    "KinesisStreamARN": arn, "RoleARN": "arn:aws:iam::\(service.account):role/ktop-firehose",
                ],
                "ExtendedS3DestinationConfiguration": [
                    "RoleARN": "arn:aws:iam::\(service.account):role/ktop-firehose",
                    "BucketARN": "arn:aws:s3:::\(Self.bucket)",
                    "Prefix": "\(s.name)/",
                    "BufferingHints": ["SizeInMBs": s.sizeInMBs, "IntervalInSeconds": s.intervalInSeconds],
                    "CompressionFormat": s.compression,
                ],
            ]
            let body = (try? JSONSerialization.data(withJSONObject: request)).map { Array($0) } ?? []
            let reply = service.handle(operation: "CreateDeliveryStream", body: body, region: region)
            if reply.status == 200 {
                messages.append(
                    "Firehose \(s.name) reads \(stream) into \(service.s3Directory.path)/\(Self.bucket)/\(s.name)/: "
                        + "SizeInMBs \(s.sizeInMBs), IntervalInSeconds \(s.intervalInSeconds), \(s.compression)")
            } else {
                messages.append("Firehose \(s.name) not created: \(String(decoding: reply.body, as: UTF8.self))")
            }
        }
        return true
    }

    func takeMessages() -> [String] {
        defer { messages = [] }
        return messages
    }

    /// Each delivery stream's reader as a polling consumer of the stream (the consumers pane shows it
    /// taking its share of each shard's read budget): bytes and records it took from the stream.
    var consumerReports: [ConsumerReport] {
        service.sample().deliveryStreams.filter { $0.sourceStreamARN?.hasSuffix("/" + stream) == true }.map { d in
            ConsumerReport(
                stream: stream, name: "firehose:" + d.name, bytes: d.counters.dataReadFromKinesisStreamBytes,
                records: d.counters.dataReadFromKinesisStreamRecords, throttled: d.counters.throttledGetRecords,
                millisBehindLatest: d.kinesisMillisBehindLatest)
        }
    }

    var rows: [DeliveryStreamRow] {
        service.sample().deliveryStreams.map { d in
            let age = d.secondsToNextFlush.map { max(0, Double(d.bufferIntervalSeconds) - $0) } ?? 0
            let source = d.sourceStreamARN.map { String($0.split(separator: "/").last ?? "") } ?? "DirectPut"
            var row = DeliveryStreamRow(
                name: d.name, source: source, bufferedBytes: Double(d.bufferBytes),
                bufferSizeBytes: Double(d.bufferSizeLimitBytes), bufferAgeSeconds: age,
                intervalSeconds: Double(d.bufferIntervalSeconds),
                objectsDelivered: Int(clamping: d.counters.deliveryToS3ObjectCount),
                bytesDelivered: Double(d.counters.deliveryToS3Bytes), freshnessSeconds: d.dataFreshnessSeconds,
                failedRecords: Int(clamping: d.counters.processingFailedRecords))
            row.flushesBySize = Int(clamping: d.counters.buffersFlushedBySize)
            row.flushesByInterval = Int(clamping: d.counters.buffersFlushedByInterval)
            return row
        }
    }
}
