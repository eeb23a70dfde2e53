import Foundation
import Testing

@testable import Firehose
@testable import LoadGen
@testable import StreamEngine

private let role = "arn:aws:iam::123456789012:role/firehose"
private let region = "us-east-1"
/// 2025-11-24T16:00:00Z.
private let start = Instant(secondsSinceEpoch: 1_764_000_000)

/// A service on a ManualClock writing into a fresh temporary folder.
private struct Fixture {
    let clock = ManualClock(start: start)
    let dir: URL
    let service: FirehoseService

    init(limits: FirehoseLimits = .standard, processors: [String: String] = [:], kinesis: KinesisEngine? = nil) {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fh-\(UUID().uuidString)")
        var resolve: (@Sendable (String, String) -> (any KinesisClient)?)?
        if let kinesis {
            resolve = { account, region in kinesis.service(account: account, region: region) }
        }
        service = FirehoseService(
            clock: clock, s3Directory: dir, limits: limits, processors: processors, kinesis: resolve)
    }

    @discardableResult
    func create(
        _ name: String = "fh", bucket: String = "b", size: Int? = 1, interval: Int? = 60,
        _ configure: (inout S3DestinationFields) -> Void = { _ in }
    ) throws(FirehoseError) -> String {
        var fields = S3DestinationFields(roleARN: role, bucketARN: "arn:aws:s3:::\(bucket)")
        fields.bufferingHints = BufferingHints(sizeInMBs: size, intervalInSeconds: interval)
        configure(&fields)
        var input = CreateDeliveryStreamInput(deliveryStreamName: name)
        input.extendedS3DestinationConfiguration = fields
        return try service.createDeliveryStream(input, region: region).deliveryStreamARN
    }

    func put(_ data: Data, to name: String = "fh") throws(FirehoseError) {
        _ = try service.putRecord(
            Firehose.PutRecordInput(deliveryStreamName: name, record: FirehoseRecord(data: data)), region: region)
    }

    /// Every object under the bucket, by path relative to it.
    func objects(_ bucket: String = "b") -> [String: Data] {
        let root = dir.appendingPathComponent(bucket)
        guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return [:]
        }
        var out: [String: Data] = [:]
        for case let url as URL in e
        where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
            let rel = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            out[rel] = try? Data(contentsOf: url)
        }
        return out
    }
}

private func run(_ executable: String, _ args: [String], stdin: Data) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    let i = Pipe()
    let o = Pipe()
    p.standardInput = i
    p.standardOutput = o
    try p.run()
    try i.fileHandleForWriting.write(contentsOf: stdin)
    try i.fileHandleForWriting.close()
    let out = o.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return out
}

@Suite struct BufferingTests {
    @Test func sizeFlushesAsSoonAsTheBufferReachesSizeInMBs() throws {
        let f = Fixture()
        try f.create(size: 1, interval: 900)
        let a = Data(repeating: 0x61, count: 600_000)
        let b = Data(repeating: 0x62, count: 448_575)  // 1,048,575 bytes: one short of 1 MiB
        try f.put(a)
        try f.put(b)
        f.service.tick()
        #expect(f.objects().isEmpty)
        try f.put(Data([0x63]))  // exactly 1 MiB now
        f.service.tick()
        let objects = f.objects()
        #expect(objects.count == 1)
        #expect(objects.values.first == a + b + Data([0x63]))
        let sample = f.service.sample().deliveryStreams[0]
        #expect(sample.bufferBytes == 0 && sample.lastFlushReason == .size)
        #expect(sample.counters.buffersFlushedBySize == 1 && sample.counters.buffersFlushedByInterval == 0)
    }

    @Test func intervalFlushesWhenIntervalInSecondsHasPassed() throws {
        let f = Fixture()
        try f.create(size: 128, interval: 60)
        try f.put(Data("one\n".utf8))
        f.clock.advance(by: .seconds(30))
        try f.put(Data("two\n".utf8))
        f.clock.advance(by: .milliseconds(29_999))
        f.service.tick()
        #expect(f.objects().isEmpty)
        let s = f.service.sample().deliveryStreams[0]
        #expect(s.bufferRecords == 2 && s.bufferBytes == 8)
        #expect(abs((s.secondsToNextFlush ?? -1) - 0.001) < 1e-6)
        #expect(abs(s.dataFreshnessSeconds - 59.999) < 1e-6)
        f.clock.advance(by: .milliseconds(1))
        f.service.tick()
        #expect(Array(f.objects().values) == [Data("one\ntwo\n".utf8)])
        let after = f.service.sample().deliveryStreams[0]
        #expect(after.counters.deliveryToS3Records == 2 && after.counters.deliveryToS3ObjectCount == 1)
        #expect(after.secondsToNextFlush == nil && after.dataFreshnessSeconds == 0)
        #expect(after.lastFlushReason == .interval && after.counters.buffersFlushedByInterval == 1)
    }

    @Test func intervalZeroFlushesEveryTick() throws {
        let f = Fixture()
        try f.create(size: 1, interval: 0)
        try f.put(Data("x".utf8))
        f.service.tick()
        #expect(f.objects().count == 1)
    }

    @Test func flushAllDeliversOpenBuffersAtShutdown() throws {
        let f = Fixture()
        try f.create(size: 128, interval: 900)
        try f.put(Data("pending".utf8))
        f.service.tick()
        #expect(f.objects().isEmpty)
        f.service.flushAll()
        #expect(Array(f.objects().values) == [Data("pending".utf8)])
        let s = f.service.sample().deliveryStreams[0]
        #expect(s.lastFlushReason == .shutdown && s.counters.buffersFlushedOtherwise == 1)
    }

    @Test func hintsAreBothOrNoneAndInRange() throws {
        let f = Fixture()
        #expect(throws: FirehoseError.self) { try f.create("a", size: 1, interval: nil) }
        #expect(throws: FirehoseError.self) { try f.create("b", size: nil, interval: 60) }
        for (size, interval) in [(0, 60), (129, 60), (1, -1), (1, 901), (Int.max, Int.min)] {
            #expect(throws: FirehoseError.self) { try f.create("c", size: size, interval: interval) }
        }
        try f.create("d", size: 128, interval: 900)
        try f.create("e", size: 1, interval: 0)
        try f.create("g", size: nil, interval: nil)
        let d = try f.service.describeDeliveryStream(
            DescribeDeliveryStreamInput(deliveryStreamName: "g"), region: region)
        let hints = d.deliveryStreamDescription.destinations[0].extendedS3DestinationDescription?.bufferingHints
        #expect(hints == BufferingHints(sizeInMBs: 5, intervalInSeconds: 300))
    }
}

@Suite struct KeyLayoutTests {
    @Test func defaultPrefixIsUTCHourFolders() throws {
        #expect(try S3ObjectKeys.evaluate(nil, arrival: start) == "2025/11/24/16/")
        #expect(try S3ObjectKeys.evaluate("", arrival: start) == "2025/11/24/16/")
    }

    @Test func prefixWithoutTimestampGetsTheDefaultAppended() throws {
        #expect(try S3ObjectKeys.evaluate("logs/", arrival: start) == "logs/2025/11/24/16/")
        #expect(
            try S3ObjectKeys.evaluate("r/!{firehose:random-string}/", arrival: start, random: { "abcdefghijk" })
                == "r/abcdefghijk/2025/11/24/16/")
    }

    @Test func timestampExpressionsFollowJavaPatterns() throws {
        let t = start + .seconds(3_723)  // 17:02:03
        #expect(
            try S3ObjectKeys.evaluate("y=!{timestamp:yyyy}/m=!{timestamp:MM}/d=!{timestamp:dd}/", arrival: t)
                == "y=2025/m=11/d=24/")
        #expect(try S3ObjectKeys.format(t, javaPattern: "yyyy-MM-dd'T'HH:mm:ss") == "2025-11-24T17:02:03")
        #expect(try S3ObjectKeys.format(t, javaPattern: "yy/M/d/H/m/s ''") == "25/11/24/17/2/3 '")
        #expect(throws: FirehoseError.self) { try S3ObjectKeys.format(t, javaPattern: "EEE") }
    }

    @Test func errorOutputType() throws {
        #expect(
            try S3ObjectKeys.evaluate(
                "err/!{firehose:error-output-type}/!{timestamp:yyyy}/", arrival: start,
                errorOutputType: "processing-failed")
                == "err/processing-failed/2025/")
        #expect(
            try S3ObjectKeys.evaluate(nil, arrival: start, errorOutputType: "processing-failed")
                == "processing-failed/2025/11/24/16/")
        #expect(throws: FirehoseError.self) {
            try S3ObjectKeys.validate(prefix: "!{firehose:error-output-type}/", errorOutputPrefix: "e/")
        }
        // Expressions in Prefix need an ErrorOutputPrefix.
        #expect(throws: FirehoseError.self) {
            try S3ObjectKeys.validate(prefix: "!{timestamp:yyyy}/", errorOutputPrefix: nil)
        }
        #expect(throws: FirehoseError.self) { try S3ObjectKeys.validate(prefix: "!{nope:x}", errorOutputPrefix: "e/") }
        #expect(throws: FirehoseError.self) {
            try S3ObjectKeys.validate(prefix: "!{timestamp:yyyy", errorOutputPrefix: "e/")
        }
    }

    @Test func prefixesCannotLeaveTheBucketFolder() throws {
        let f = Fixture()
        for bad in ["../x/", "a/../../x/", ".."] {
            #expect(throws: FirehoseError.self) { try f.create("p", size: 1, interval: 0) { $0.prefix = bad } }
            #expect(throws: FirehoseError.self) {
                try f.create("p", size: 1, interval: 0) { $0.errorOutputPrefix = bad }
            }
        }
        try f.create("ok", size: 1, interval: 0) { $0.prefix = "a..b/...c/" }
    }

    @Test func fileExtensionReplacesTheCompressionsAndOtherTimeZonesAreRefused() throws {
        let f = Fixture()
        try f.create(size: 1, interval: 0) {
            $0.compressionFormat = "GZIP"
            $0.fileExtension = ".json.gz"
        }
        try f.put(Data("{}".utf8))
        f.service.tick()
        #expect(f.objects().keys.allSatisfy { $0.hasSuffix(".json.gz") })
        for bad in ["json", ".JSON", ".a/b"] {
            #expect(throws: FirehoseError.self) { try f.create("x", size: 1, interval: 0) { $0.fileExtension = bad } }
        }
        #expect(throws: FirehoseError.self) {
            try f.create("y", size: 1, interval: 0) { $0.customTimeZone = "America/New_York" }
        }
        try f.create("z", size: 1, interval: 0) { $0.customTimeZone = "UTC" }
    }

    @Test func randomStringIsElevenCharacters() {
        let s = S3ObjectKeys.randomString()
        #expect(s.count == 11 && s.allSatisfy { $0.isLowercase || $0.isNumber })
    }

    @Test func objectNameIsNameVersionTimeUUID() {
        let uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
        #expect(
            S3ObjectKeys.objectName(
                deliveryStream: "clicks", version: 3, at: start + .seconds(5), uuid: uuid, format: .gzip)
                == "clicks-3-2025-11-24-16-00-05-\(uuid).gz")
        #expect(
            S3ObjectKeys.objectName(deliveryStream: "c", version: 1, at: start, uuid: uuid, format: .uncompressed)
                == "c-1-2025-11-24-16-00-00-\(uuid)")
    }

    @Test func deliveredObjectSitsAtTheEvaluatedKey() throws {
        let f = Fixture()
        try f.create(size: 1, interval: 0) {
            $0.prefix = "p/!{timestamp:yyyy/MM}/"
            $0.errorOutputPrefix = "e/"
        }
        try f.put(Data("a".utf8))
        f.service.tick()
        let key = try #require(f.objects().keys.first)
        #expect(key.hasPrefix("p/2025/11/fh-1-2025-11-24-16-00-00-"))
        #expect(key.count == "p/2025/11/fh-1-2025-11-24-16-00-00-".count + 36)
    }
}

@Suite struct CompressionTests {
    @Test func gzipRoundTripsThroughGzip() throws {
        let payload = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 7) })
        let gz = Compressor.gzip(payload)
        #expect(gz.prefix(2) == Data([0x1F, 0x8B]))
        #expect(try run("/bin/gzip", ["-dc"], stdin: gz) == payload)
    }

    @Test func zipRoundTripsThroughPythonZipfile() throws {
        let payload = Data(String(repeating: "zip line\n", count: 1000).utf8)
        let z = Compressor.zip(payload, entryName: "entry")
        let script =
            "import sys,io,zipfile;z=zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()));"
            + "assert z.testzip() is None;sys.stdout.buffer.write(z.read('entry'))"
        #expect(try run("/usr/bin/env", ["python3", "-c", script], stdin: z) == payload)
    }

    @Test func deliveredGzipObjectHoldsTheRecords() throws {
        let f = Fixture()
        try f.create(size: 1, interval: 0) { $0.compressionFormat = "GZIP" }
        try f.put(Data("one\n".utf8))
        try f.put(Data("two\n".utf8))
        f.service.tick()
        let (key, body) = try #require(f.objects().first)
        #expect(key.hasSuffix(".gz"))
        #expect(try run("/bin/gzip", ["-dc"], stdin: body) == Data("one\ntwo\n".utf8))
    }

    @Test func snappyIsRefused() {
        let f = Fixture()
        for format in ["Snappy", "HADOOP_SNAPPY", "LZ4"] {
            #expect(throws: FirehoseError.self) { try f.create(size: 1, interval: 0) { $0.compressionFormat = format } }
        }
    }
}

@Suite struct LimitTests {
    @Test func recordSizeBoundary() throws {
        let f = Fixture()
        try f.create(size: 128, interval: 900)
        try f.put(Data(count: 1_024_000))
        #expect(throws: FirehoseError.constraint("record.data", "have length less than or equal to 1024000")) {
            try f.put(Data(count: 1_024_001))
        }
    }

    @Test func batchCountAndSizeBoundaries() throws {
        let f = Fixture()
        try f.create(size: 128, interval: 900)
        func batch(_ records: [Data]) throws(FirehoseError) -> PutRecordBatchOutput {
            try f.service.putRecordBatch(
                PutRecordBatchInput(deliveryStreamName: "fh", records: records.map(FirehoseRecord.init)), region: region
            )
        }
        #expect(try batch(Array(repeating: Data("r".utf8), count: 500)).failedPutCount == 0)
        #expect(throws: FirehoseError.self) { try batch(Array(repeating: Data("r".utf8), count: 501)) }
        #expect(throws: FirehoseError.self) { try batch([]) }
        f.clock.advance(by: .seconds(1))
        let fourMiB = Array(repeating: Data(count: 1_024_000), count: 4) + [Data(count: 98_304)]
        #expect(try batch(fourMiB).failedPutCount == 0)
        f.clock.advance(by: .seconds(1))
        #expect(throws: FirehoseError(.invalidArgument, "Records size exceeds 4 MB limit")) {
            try batch(Array(fourMiB.dropLast()) + [Data(count: 98_305)])
        }
    }

    @Test func directPutQuotasSlowDown() throws {
        var limits = FirehoseLimits()
        limits.directPutRequestsPerSecond = 2
        limits.directPutRecordsPerSecond = 3
        let f = Fixture(limits: limits)
        try f.create(size: 128, interval: 900)
        try f.put(Data("a".utf8))
        try f.put(Data("b".utf8))
        #expect(throws: FirehoseError(.serviceUnavailable, "Slow down.")) { try f.put(Data("c".utf8)) }
        f.clock.advance(by: .seconds(1))
        let out = try f.service.putRecordBatch(
            PutRecordBatchInput(
                deliveryStreamName: "fh", records: (0..<5).map { _ in FirehoseRecord(data: Data("x".utf8)) }),
            region: region)
        #expect(out.failedPutCount == 2)
        #expect(out.requestResponses.suffix(2).allSatisfy { $0.errorCode == "ServiceUnavailableException" })
        #expect(out.requestResponses.prefix(3).allSatisfy { $0.recordId != nil && $0.errorCode == nil })
        let c = f.service.sample().deliveryStreams[0].counters
        #expect(c.throttledRecords == 3)
        #expect(c.incomingRecords == 5)
        #expect(c.incomingPutRequests == 3)
    }

    @Test func fiftyDeliveryStreamsPerRegion() throws {
        let f = Fixture()
        for i in 0..<50 { try f.create("s\(i)") }
        #expect(throws: FirehoseError.self) { try f.create("s50") }
        #expect(throws: FirehoseError(.resourceInUse, "Firehose s1 under accountId 123456789012 already exists")) {
            try f.create("s1")
        }
    }
}

@Suite struct ProcessorTests {
    static let lambda = "arn:aws:lambda:us-east-1:123456789012:function:proc"
    static let script = """
        import base64, json, sys
        b = json.load(sys.stdin)
        out = []
        for r in b["records"]:
            d = base64.b64decode(r["data"])
            res = "Dropped" if d.startswith(b"drop") else "ProcessingFailed" if d.startswith(b"fail") else "Ok"
            out.append({"recordId": r["recordId"], "result": res, "data": base64.b64encode(d.upper()).decode()})
        json.dump({"records": out}, sys.stdout)
        """

    private func fixture(_ command: String, timeout: Double = 60) throws -> Fixture {
        var limits = FirehoseLimits()
        limits.processorTimeoutSeconds = timeout
        let f = Fixture(limits: limits, processors: ["proc": command])
        try f.create(size: 1, interval: 0) {
            $0.errorOutputPrefix = "err/!{firehose:error-output-type}/"
            $0.processingConfiguration = ProcessingConfiguration(
                enabled: true,
                processors: [
                    Processor(
                        type: "Lambda",
                        parameters: [ProcessorParameter(parameterName: "LambdaArn", parameterValue: Self.lambda)])
                ])
        }
        return f
    }

    private func failures(_ f: Fixture) -> [[String: Any]] {
        f.objects().filter { $0.key.hasPrefix("err/processing-failed/") }.values.flatMap { body in
            body.split(separator: 0x0A).compactMap {
                try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
            }
        }
    }

    @Test func okDroppedAndProcessingFailed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString).py")
        try Self.script.write(to: dir, atomically: true, encoding: .utf8)
        let f = try fixture("python3 \(dir.path)")
        for r in ["keep\n", "drop\n", "fail\n", "more\n"] { try f.put(Data(r.utf8)) }
        f.service.tick()
        let good = f.objects().filter { !$0.key.hasPrefix("err/") }
        #expect(Array(good.values) == [Data("KEEP\nMORE\n".utf8)])
        let failed = failures(f)
        #expect(failed.count == 1)
        #expect((failed.first?["rawData"] as? String) == Data("fail\n".utf8).base64EncodedString())
        #expect((failed.first?["lambdaArn"] as? String) == Self.lambda)
        #expect((failed.first?["errorCode"] as? String) == "Lambda.ProcessingFailedStatus")
        for key in ["attemptsMade", "arrivalTimestamp", "errorMessage", "attemptEndingTimestamp"] {
            #expect(failed.first?[key] != nil)
        }
        let c = f.service.sample().deliveryStreams[0].counters
        #expect(c.succeedProcessingRecords == 2 && c.droppedRecords == 1 && c.processingFailedRecords == 1)
        #expect(c.executeProcessingSuccess == 1 && c.executeProcessingAttempts == 1)
    }

    @Test(arguments: [
        ("exit 3", "Lambda.FunctionError"),
        ("echo not json", "Lambda.JsonProcessingException"),
        ("cat > /dev/null; echo '{\"records\": []}'", "Lambda.MissingRecordId"),
    ])
    func failedInvocationSendsTheBatchToTheErrorPrefix(command: String, code: String) throws {
        let f = try fixture(command)
        try f.put(Data("a".utf8))
        try f.put(Data("b".utf8))
        f.service.tick()
        let failed = failures(f)
        #expect(failed.count == 2)
        #expect(failed.allSatisfy { ($0["errorCode"] as? String) == code })
        #expect(f.objects().keys.allSatisfy { $0.hasPrefix("err/processing-failed/") })
        #expect(f.service.sample().deliveryStreams[0].counters.executeProcessingSuccess == 0)
    }

    @Test func timeoutFailsTheBatch() throws {
        let f = try fixture("sleep 5", timeout: 0.3)
        try f.put(Data("slow".utf8))
        let began = Date()
        f.service.tick()
        #expect(Date().timeIntervalSince(began) < 4)
        #expect(failures(f).map { $0["errorCode"] as? String } == ["Lambda.FunctionTimeout"])
    }
}

@Suite struct KinesisSourceTests {
    @Test func readsWhatAProducerPutAndRefusesDirectPut() throws {
        let clock = ManualClock(start: start)
        let engine = KinesisEngine(clock: clock)
        let kinesis = engine.service()
        _ = try kinesis.createStream(CreateStreamInput(streamName: "src", shardCount: 2))
        clock.advance(by: .seconds(60))
        engine.tick()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fh-\(UUID().uuidString)")
        let service = FirehoseService(
            clock: clock, s3Directory: dir,
            kinesis: { account, region in engine.service(account: account, region: region) })
        var input = CreateDeliveryStreamInput(deliveryStreamName: "fromk")
        input.deliveryStreamType = "KinesisStreamAsSource"
        input.kinesisStreamSourceConfiguration = KinesisStreamSourceConfiguration(
            kinesisStreamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/src", roleARN: role)
        var fields = S3DestinationFields(roleARN: role, bucketARN: "arn:aws:s3:::k")
        fields.bufferingHints = BufferingHints(sizeInMBs: 1, intervalInSeconds: 1)
        input.extendedS3DestinationConfiguration = fields
        _ = try service.createDeliveryStream(input, region: region)
        #expect(throws: FirehoseError.self) {
            try service.putRecord(
                Firehose.PutRecordInput(deliveryStreamName: "fromk", record: FirehoseRecord(data: Data("x".utf8))),
                region: region)
        }
        var sent: [String] = []
        for i in 0..<20 {
            let line = "rec-\(i)\n"
            sent.append(line)
            _ = try kinesis.putRecord(kinesisPut(line, key: "k\(i)"))
        }
        for _ in 0..<4 {
            clock.advance(by: .seconds(1))
            engine.tick()
            service.tick()
        }
        let root = dir.appendingPathComponent("k")
        let files =
            FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { !$0.hasDirectoryPath } ?? []
        let got = files.compactMap { try? String(contentsOf: $0, encoding: .utf8) }.joined()
        #expect(got.split(separator: "\n").map { $0 + "\n" }.sorted() == sent.sorted())
        let c = service.sample().deliveryStreams[0].counters
        #expect(c.dataReadFromKinesisStreamRecords == 20 && c.kinesisGetRecordsCalls >= 2)
        // A stream that does not exist is refused at create.
        input.deliveryStreamName = "missing"
        input.kinesisStreamSourceConfiguration?.kinesisStreamARN = "arn:aws:kinesis:us-east-1:123456789012:stream/no"
        #expect(throws: FirehoseError.self) { try service.createDeliveryStream(input, region: region) }
    }
}

@Suite struct KinesisSourceReshardingTests {
    @Test func followsAReshardAndDeaggregatesKPLRecords() throws {
        let clock = ManualClock(start: start)
        let engine = KinesisEngine(clock: clock)
        let kinesis = engine.service()
        _ = try kinesis.createStream(CreateStreamInput(streamName: "src", shardCount: 1))
        clock.advance(by: .seconds(60))
        engine.tick()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fh-\(UUID().uuidString)")
        let service = FirehoseService(
            clock: clock, s3Directory: dir,
            kinesis: { account, region in engine.service(account: account, region: region) })
        var input = CreateDeliveryStreamInput(deliveryStreamName: "fromk")
        input.deliveryStreamType = "KinesisStreamAsSource"
        input.kinesisStreamSourceConfiguration = KinesisStreamSourceConfiguration(
            kinesisStreamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/src", roleARN: role)
        var fields = S3DestinationFields(roleARN: role, bucketARN: "arn:aws:s3:::k")
        fields.bufferingHints = BufferingHints(sizeInMBs: 1, intervalInSeconds: 0)
        input.extendedS3DestinationConfiguration = fields
        _ = try service.createDeliveryStream(input, region: region)
        func step(_ n: Int) {
            for _ in 0..<n {
                clock.advance(by: .seconds(1))
                engine.tick()
                service.tick()
            }
        }
        // One KPL aggregate of three user records, before the reshard.
        let users = ["u1\n", "u2\n", "u3\n"].map { UserRecord(partitionKey: "p", data: Data($0.utf8)) }
        _ = try kinesis.putRecord(
            StreamEngine.PutRecordInput(
                streamName: "src", data: KPLAggregation.encode(users), partitionKey: "p"))
        step(2)
        _ = try kinesis.updateShardCount(UpdateShardCountInput(streamName: "src", targetShardCount: 2))
        step(60)
        for i in 0..<10 {
            _ = try kinesis.putRecord(
                StreamEngine.PutRecordInput(
                    streamName: "src", data: Data("after-\(i)\n".utf8), partitionKey: "k\(i)"))
        }
        step(5)
        let files =
            FileManager.default.enumerator(at: dir.appendingPathComponent("k"), includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { !$0.hasDirectoryPath } ?? []
        let lines = files.compactMap { try? String(contentsOf: $0, encoding: .utf8) }.joined()
            .split(separator: "\n").map(String.init).sorted()
        #expect(lines == (["u1", "u2", "u3"] + (0..<10).map { "after-\($0)" }).sorted())
    }
}

private func kinesisPut(_ data: String, key: String) -> StreamEngine.PutRecordInput {
    StreamEngine.PutRecordInput(streamName: "src", data: Data(data.utf8), partitionKey: key)
}
