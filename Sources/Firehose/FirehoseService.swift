import Foundation
import LoadGen
import StreamEngine

/// Amazon Data Firehose's API (KINESIS.md §9) over delivery streams that deliver to a local folder
/// standing in for S3: bucket `arn:aws:s3:::b` is `<s3Directory>/b/`.
///
/// Records wait in a buffer per delivery stream until BufferingHints' size or interval is reached
/// (whichever first); ``tick()`` delivers the closed buffers, so delivery runs on the caller's clock
/// (the serve loop's tick, or a test's ManualClock). A KinesisStreamAsSource delivery stream reads its
/// Kinesis stream through the public `KinesisClient` API in the same tick.
public final class FirehoseService: Sendable {
    /// Where buckets live, one folder per bucket.
    public let s3Directory: URL
    public let account: String
    public let limits: FirehoseLimits
    let clock: any Clock
    let processors: ProcessorRegistry
    /// The Kinesis endpoint for a source stream's account and region; nil: KinesisStreamAsSource is refused.
    let kinesis: (@Sendable (_ account: String, _ region: String) -> (any KinesisClient)?)?
    /// Delivery streams by region, then name. Readers inside are not Sendable; they only run under this lock.
    private nonisolated(unsafe) let state = LockedValue([String: [String: DeliveryStreamState]]())
    private let recordCounter = LockedValue<UInt64>(0)

    public init(
        clock: any Clock, s3Directory: URL, account: String = "123456789012", limits: FirehoseLimits = .standard,
        processors: [String: String] = [:],
        kinesis: (@Sendable (_ account: String, _ region: String) -> (any KinesisClient)?)? = nil
    ) {
        self.clock = clock
        self.s3Directory = s3Directory
        self.account = account
        self.limits = limits
        self.processors = ProcessorRegistry(commands: processors, timeoutSeconds: limits.processorTimeoutSeconds)
        self.kinesis = kinesis
    }

    // MARK: control plane

    public func createDeliveryStream(
        _ input: CreateDeliveryStreamInput, region: String
    ) throws(FirehoseError) -> CreateDeliveryStreamOutput {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        let type = input.deliveryStreamType ?? "DirectPut"
        guard ["DirectPut", "KinesisStreamAsSource", "MSKAsSource", "DatabaseAsSource"].contains(type) else {
            throw FirehoseError.constraint(
                "deliveryStreamType",
                "satisfy enum value set: [DirectPut, KinesisStreamAsSource, MSKAsSource, "
                    + "DatabaseAsSource]", value: type)
        }
        guard type == "DirectPut" || type == "KinesisStreamAsSource" else {
            throw FirehoseError(
                .invalidArgument, "ktop supports DirectPut and KinesisStreamAsSource only, not \(type).")
        }
        if let other = input.otherDestinations.first {
            throw FirehoseError(
                .invalidArgument,
                "ktop delivers to S3 only; \(other) is not supported. "
                    + "Use ExtendedS3DestinationConfiguration.")
        }
        let fields: S3DestinationFields
        let extended: Bool
        switch (input.extendedS3DestinationConfiguration, input.s3DestinationConfiguration) {
        case (let e?, nil): (fields, extended) = (e, true)
        case (nil, let s?): (fields, extended) = (s, false)
        case (nil, nil):
            throw FirehoseError(.invalidArgument, "Exactly one destination configuration must be specified.")
        case (_?, _?):
            throw FirehoseError(.invalidArgument, "Exactly one destination configuration must be specified.")
        }
        let destination = try makeDestination(fields, extended: extended, current: nil)
        try Self.checkTags(input.tags ?? [], limit: limits.maxTags)
        if let e = input.deliveryStreamEncryptionConfigurationInput { try Self.checkEncryption(e) }

        let now = clock.now()
        var source: KinesisStreamSourceDescription?
        var reader: KinesisSourceReader?
        if type == "KinesisStreamAsSource" {
            guard let config = input.kinesisStreamSourceConfiguration else {
                throw FirehoseError(
                    .invalidArgument,
                    "KinesisStreamSourceConfiguration is required when DeliveryStreamType is KinesisStreamAsSource.")
            }
            if input.deliveryStreamEncryptionConfigurationInput != nil {
                throw FirehoseError(
                    .invalidArgument,
                    "Server side encryption is not supported for KinesisStreamAsSource "
                        + "delivery streams; encrypt the source Kinesis stream instead.")
            }
            reader = try makeReader(config, start: now)
            source = KinesisStreamSourceDescription(
                kinesisStreamARN: config.kinesisStreamARN, roleARN: config.roleARN,
                deliveryStartTimestamp: now.secondsSinceEpochDouble)
        } else if input.kinesisStreamSourceConfiguration != nil {
            throw FirehoseError(
                .invalidArgument,
                "KinesisStreamSourceConfiguration is only allowed for KinesisStreamAsSource "
                    + "delivery streams.")
        }
        let arn = "arn:aws:firehose:\(region):\(account):deliverystream/\(input.deliveryStreamName)"
        var stream = DeliveryStreamState(
            name: input.deliveryStreamName, arn: arn, region: region, type: type, createdAt: now,
            destination: destination)
        stream.tags = input.tags ?? []
        stream.source = source
        stream.reader = reader
        if let e = input.deliveryStreamEncryptionConfigurationInput {
            stream.encryption = DeliveryStreamEncryptionConfiguration(
                keyARN: e.keyARN, keyType: e.keyType, status: "ENABLED")
        }
        let name = input.deliveryStreamName
        let maxStreams = limits.maxDeliveryStreams
        try state.withLock { (s) throws(FirehoseError) in
            var streams = s[region] ?? [:]
            if streams[name] != nil {
                throw FirehoseError(.resourceInUse, "Firehose \(name) under accountId \(account) already exists")
            }
            guard streams.count < maxStreams else {
                throw FirehoseError(
                    .limitExceeded,
                    "You have already consumed your firehose quota of \(maxStreams) hoses. Firehose names: "
                        + "[\(streams.keys.sorted().joined(separator: ", "))]")
            }
            streams[name] = stream
            s[region] = streams
        }
        return CreateDeliveryStreamOutput(deliveryStreamARN: arn)
    }

    public func deleteDeliveryStream(_ input: DeleteDeliveryStreamInput, region: String) throws(FirehoseError) {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        let account = account
        try state.withLock { (s) throws(FirehoseError) in
            guard s[region]?.removeValue(forKey: input.deliveryStreamName) != nil else {
                throw FirehoseError.notFound(input.deliveryStreamName, account: account)
            }
        }
    }

    public func describeDeliveryStream(
        _ input: DescribeDeliveryStreamInput, region: String
    ) throws(FirehoseError) -> DescribeDeliveryStreamOutput {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        if let limit = input.limit, !(1...10_000).contains(limit) {
            throw FirehoseError.constraint("limit", "have value between 1 and 10000", value: String(limit))
        }
        let s = try stream(input.deliveryStreamName, region: region) { $0 }
        let d = s.destination.description
        let destination = DestinationDescription(
            destinationId: s.destinationId, s3DestinationDescription: d,
            extendedS3DestinationDescription: s.destination.extended ? d : nil)
        let description = DeliveryStreamDescription(
            deliveryStreamName: s.name, deliveryStreamARN: s.arn, deliveryStreamStatus: "ACTIVE",
            deliveryStreamEncryptionConfiguration: s.encryption
                ?? DeliveryStreamEncryptionConfiguration(keyARN: nil, keyType: nil, status: "DISABLED"),
            deliveryStreamType: s.type, versionId: String(s.version),
            createTimestamp: s.createdAt.secondsSinceEpochDouble,
            lastUpdateTimestamp: s.lastUpdate?.secondsSinceEpochDouble,
            source: s.source.map { SourceDescription(kinesisStreamSourceDescription: $0) }
                ?? SourceDescription(directPutSourceDescription: PresentShape()),
            destinations: input.exclusiveStartDestinationId == s.destinationId ? [] : [destination],
            hasMoreDestinations: false)
        return DescribeDeliveryStreamOutput(deliveryStreamDescription: description)
    }

    public func listDeliveryStreams(_ input: ListDeliveryStreamsInput, region: String) throws(FirehoseError)
        -> ListDeliveryStreamsOutput
    {
        let limit = input.limit ?? 10
        guard (1...10_000).contains(limit) else {
            throw FirehoseError.constraint("limit", "have value between 1 and 10000", value: String(limit))
        }
        let all = state.withLock { s in
            (s[region] ?? [:]).values.filter { input.deliveryStreamType == nil || $0.type == input.deliveryStreamType }
                .map(\.name).sorted()
        }
        let after = all.filter { name in input.exclusiveStartDeliveryStreamName.map { name > $0 } ?? true }
        return ListDeliveryStreamsOutput(
            deliveryStreamNames: Array(after.prefix(limit)), hasMoreDeliveryStreams: after.count > limit)
    }

    public func updateDestination(_ input: UpdateDestinationInput, region: String) throws(FirehoseError) {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        if input.hasOtherDestination {
            throw FirehoseError(.invalidArgument, "ktop delivers to S3 only; update the S3 destination.")
        }
        guard let fields = input.extendedS3DestinationUpdate ?? input.s3DestinationUpdate else {
            throw FirehoseError(.invalidArgument, "Exactly one destination update must be specified.")
        }
        if input.extendedS3DestinationUpdate != nil && input.s3DestinationUpdate != nil {
            throw FirehoseError(.invalidArgument, "Exactly one destination update must be specified.")
        }
        let current = try stream(input.deliveryStreamName, region: region) { $0 }
        let updated = try makeDestination(
            fields, extended: current.destination.extended || input.extendedS3DestinationUpdate != nil,
            current: current.destination)
        let now = clock.now()
        let account = account
        try state.withLock { (s) throws(FirehoseError) in
            guard var st = s[region]?[input.deliveryStreamName] else {
                throw FirehoseError.notFound(input.deliveryStreamName, account: account)
            }
            guard input.currentDeliveryStreamVersionId == String(st.version) else {
                throw FirehoseError(
                    .concurrentModification,
                    "Cannot update firehose: \(st.name) since the current version id: \(st.version) and "
                        + "specified version id: \(input.currentDeliveryStreamVersionId) do not match")
            }
            guard input.destinationId == st.destinationId else {
                throw FirehoseError(
                    .invalidArgument, "Destination Id \(input.destinationId) not found for firehose \(st.name).")
            }
            // Records already buffered go out under the configuration they arrived with.
            st.seal(.update)
            st.destination = updated
            st.version += 1
            st.lastUpdate = now
            s[region]?[input.deliveryStreamName] = st
        }
    }

    public func tagDeliveryStream(_ input: TagDeliveryStreamInput, region: String) throws(FirehoseError) {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        try Self.checkTags(input.tags, limit: limits.maxTags)
        let maxTags = limits.maxTags
        try mutate(input.deliveryStreamName, region: region) { (st) throws(FirehoseError) in
            var tags = st.tags
            for t in input.tags {
                if let i = tags.firstIndex(where: { $0.key == t.key }) { tags[i] = t } else { tags.append(t) }
            }
            guard tags.count <= maxTags else {
                throw FirehoseError(
                    .limitExceeded,
                    "A delivery stream cannot have more than \(maxTags) tags; it would have \(tags.count).")
            }
            st.tags = tags
        }
    }

    public func untagDeliveryStream(_ input: UntagDeliveryStreamInput, region: String) throws(FirehoseError) {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        guard (1...50).contains(input.tagKeys.count) else {
            throw FirehoseError.constraint("tagKeys", "have length between 1 and 50")
        }
        try mutate(input.deliveryStreamName, region: region) { st in
            st.tags.removeAll { input.tagKeys.contains($0.key) }
        }
    }

    public func listTagsForDeliveryStream(
        _ input: ListTagsForDeliveryStreamInput, region: String
    ) throws(FirehoseError) -> ListTagsForDeliveryStreamOutput {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        let limit = input.limit ?? 50
        guard (1...50).contains(limit) else {
            throw FirehoseError.constraint("limit", "have value between 1 and 50", value: String(limit))
        }
        let tags = try stream(input.deliveryStreamName, region: region) { $0.tags.sorted { $0.key < $1.key } }
        let after = tags.filter { t in input.exclusiveStartTagKey.map { t.key > $0 } ?? true }
        return ListTagsForDeliveryStreamOutput(tags: Array(after.prefix(limit)), hasMoreTags: after.count > limit)
    }

    /// Encryption is state only: ktop writes plain objects whatever the status says.
    public func startDeliveryStreamEncryption(
        _ input: StartDeliveryStreamEncryptionInput, region: String
    ) throws(FirehoseError) {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        let e =
            input.deliveryStreamEncryptionConfigurationInput
            ?? DeliveryStreamEncryptionConfigurationInput(keyARN: nil, keyType: "AWS_OWNED_CMK")
        try Self.checkEncryption(e)
        try mutate(input.deliveryStreamName, region: region) { (st) throws(FirehoseError) in
            guard st.type == "DirectPut" else {
                throw FirehoseError(
                    .invalidArgument, "This operation is not supported for delivery streams of type \(st.type).")
            }
            st.encryption = DeliveryStreamEncryptionConfiguration(
                keyARN: e.keyARN, keyType: e.keyType, status: "ENABLED")
        }
    }

    public func stopDeliveryStreamEncryption(_ input: DeliveryStreamNameInput, region: String) throws(FirehoseError) {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        try mutate(input.deliveryStreamName, region: region) { (st) throws(FirehoseError) in
            guard st.type == "DirectPut" else {
                throw FirehoseError(
                    .invalidArgument, "This operation is not supported for delivery streams of type \(st.type).")
            }
            st.encryption = DeliveryStreamEncryptionConfiguration(keyARN: nil, keyType: nil, status: "DISABLED")
        }
    }

    // MARK: data plane

    public func putRecord(_ input: PutRecordInput, region: String) throws(FirehoseError) -> PutRecordOutput {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        let size = input.record.data.count
        guard size <= limits.maxRecordBytes else {
            throw FirehoseError.constraint(
                "record.data", "have length less than or equal to \(limits.maxRecordBytes)")
        }
        let id = nextRecordId()
        let now = clock.now()
        let limits = limits
        return try mutate(input.deliveryStreamName, region: region) { (st) throws(FirehoseError) in
            try Self.requireDirectPut(st)
            Self.rollWindow(&st, now: now)
            guard st.window.requests < limits.directPutRequestsPerSecond,
                st.window.records < limits.directPutRecordsPerSecond,
                st.window.bytes + size <= limits.directPutBytesPerSecond
            else {
                st.counters.throttledRecords += 1
                throw FirehoseError(.serviceUnavailable, "Slow down.")
            }
            st.window.requests += 1
            st.window.records += 1
            st.window.bytes += size
            st.counters.incomingPutRequests += 1
            st.counters.incomingRecords += 1
            st.counters.incomingBytes += Int64(size)
            st.append(BufferedRecord(recordId: id, data: input.record.data, arrival: now), now: now)
            return PutRecordOutput(recordId: id, encrypted: st.encryption?.status == "ENABLED")
        }
    }

    public func putRecordBatch(
        _ input: PutRecordBatchInput, region: String
    ) throws(FirehoseError) -> PutRecordBatchOutput {
        try Self.checkName(input.deliveryStreamName, path: "deliveryStreamName")
        guard !input.records.isEmpty else {
            throw FirehoseError.constraint("records", "have length greater than or equal to 1")
        }
        guard input.records.count <= limits.maxBatchRecords else {
            throw FirehoseError.constraint("records", "have length less than or equal to \(limits.maxBatchRecords)")
        }
        for (i, r) in input.records.enumerated() where r.data.count > limits.maxRecordBytes {
            throw FirehoseError.constraint(
                "records.\(i + 1).member.data", "have length less than or equal to \(limits.maxRecordBytes)")
        }
        let total = input.records.reduce(0) { $0 + $1.data.count }
        guard total <= limits.maxBatchBytes else {
            throw FirehoseError(
                .invalidArgument, "Records size exceeds \(limits.maxBatchBytes / (1024 * 1024)) MB limit")
        }
        let ids = input.records.map { _ in nextRecordId() }
        let now = clock.now()
        let limits = limits
        return try mutate(input.deliveryStreamName, region: region) { (st) throws(FirehoseError) in
            try Self.requireDirectPut(st)
            Self.rollWindow(&st, now: now)
            guard st.window.requests < limits.directPutRequestsPerSecond else {
                st.counters.throttledRecords += Int64(input.records.count)
                throw FirehoseError(.serviceUnavailable, "Slow down.")
            }
            st.window.requests += 1
            st.counters.incomingPutRequests += 1
            var responses: [PutRecordBatchResponseEntry] = []
            var failed = 0
            for (record, id) in zip(input.records, ids) {
                let size = record.data.count
                guard st.window.records < limits.directPutRecordsPerSecond,
                    st.window.bytes + size <= limits.directPutBytesPerSecond
                else {
                    failed += 1
                    st.counters.throttledRecords += 1
                    responses.append(
                        PutRecordBatchResponseEntry(
                            errorCode: "ServiceUnavailableException", errorMessage: "Slow down."))
                    continue
                }
                st.window.records += 1
                st.window.bytes += size
                st.counters.incomingRecords += 1
                st.counters.incomingBytes += Int64(size)
                st.append(BufferedRecord(recordId: id, data: record.data, arrival: now), now: now)
                responses.append(PutRecordBatchResponseEntry(recordId: id))
            }
            return PutRecordBatchOutput(
                failedPutCount: failed, encrypted: st.encryption?.status == "ENABLED", requestResponses: responses)
        }
    }

    // MARK: delivery

    /// One turn of the delivery loop at the clock's now: KinesisStreamAsSource reads, buffers whose
    /// interval has passed close, and every closed buffer is processed and written to its bucket.
    /// Calls must not overlap (the serve loop and tests call it from one task).
    public func tick() { tick(closingEveryBuffer: false) }

    private func tick(closingEveryBuffer: Bool) {
        let now = clock.now()
        var jobs: [DeliveryJob] = []
        state.withLock { s in
            for (region, streams) in s {
                for (name, var st) in streams {
                    if let reader = st.reader {
                        for r in reader.step(now: now, counters: &st.counters) {
                            st.append(
                                BufferedRecord(recordId: nextRecordId(), data: r.data, arrival: r.arrival), now: now)
                        }
                    }
                    if closingEveryBuffer { st.seal(.shutdown) } else { st.sealIfDue(now: now) }
                    for batch in st.sealed {
                        jobs.append(
                            DeliveryJob(
                                region: region, name: name, arn: st.arn, version: st.version,
                                destination: st.destination, records: batch))
                    }
                    st.sealed = []
                    s[region]?[name] = st
                }
            }
        }
        for job in jobs {
            let outcome = deliver(job, now: now)
            state.withLock { s in
                guard var st = s[job.region]?[job.name] else { return }
                st.counters.add(outcome.counters)
                if outcome.failure == nil { st.lastDelivery = now } else { st.lastFailure = outcome.failure }
                s[job.region]?[job.name] = st
            }
        }
    }

    /// Closes every open buffer and delivers it now, whatever its hints: `ktop serve` calls it on
    /// SIGINT/SIGTERM so records accepted before shutdown are not lost (Firehose itself keeps them
    /// for up to 24 hours; ktop keeps no buffer across restarts).
    public func flushAll() { tick(closingEveryBuffer: true) }

    /// Everything a flush needs, taken out of the lock so files are written without holding it.
    struct DeliveryJob {
        var region: String
        var name: String
        var arn: String
        var version: Int
        var destination: S3Destination
        var records: [BufferedRecord]
    }

    struct DeliveryOutcome {
        var counters = FirehoseCounters()
        var failure: String?
    }

    private func deliver(_ job: DeliveryJob, now: Instant) -> DeliveryOutcome {
        var outcome = DeliveryOutcome()
        var good = job.records
        var failed: [ProcessingFailure] = []
        if let lambdaARN = job.destination.lambdaARN {
            let result = processors.process(
                job.records, lambdaARN: lambdaARN, deliveryStreamARN: job.arn, region: job.region, now: now)
            outcome.counters.executeProcessingAttempts += 1
            if result.invocationSucceeded { outcome.counters.executeProcessingSuccess += 1 }
            outcome.counters.succeedProcessingRecords += Int64(result.ok.count)
            outcome.counters.succeedProcessingBytes += Int64(result.ok.reduce(0) { $0 + $1.data.count })
            outcome.counters.droppedRecords += Int64(result.dropped)
            good = result.ok
            failed = result.failed
        }
        if !good.isEmpty {
            outcome.counters.deliveryToS3Attempts += 1
            let oldest = good.map(\.arrival).min() ?? now
            do {
                let prefix = try S3ObjectKeys.evaluate(job.destination.prefix, arrival: oldest)
                let stored = try writeObject(
                    records: good.map(\.data), prefix: prefix, job: job, at: oldest)
                outcome.counters.deliveryToS3Success += 1
                outcome.counters.deliveryToS3ObjectCount += 1
                outcome.counters.deliveryToS3Records += Int64(good.count)
                outcome.counters.deliveryToS3Bytes += Int64(good.reduce(0) { $0 + $1.data.count })
                outcome.counters.deliveryToS3StoredBytes += Int64(stored)
            } catch {
                outcome.failure = "\(error)"
            }
        }
        if !failed.isEmpty {
            let oldest = failed.map(\.record.arrival).min() ?? now
            do {
                let prefix = try S3ObjectKeys.evaluate(
                    job.destination.errorOutputPrefix, arrival: oldest, errorOutputType: "processing-failed")
                let lines = failed.map { $0.jsonLine(now: now) }
                _ = try writeObject(records: lines, prefix: prefix, job: job, at: oldest, isError: true)
                outcome.counters.processingFailedRecords += Int64(failed.count)
            } catch {
                outcome.failure = "\(error)"
            }
        }
        return outcome
    }

    /// Writes one object atomically: a temporary file under `<s3Directory>/.ktop-tmp/`, then a rename,
    /// so a reader of the bucket never sees half an object. Returns the stored (compressed) size.
    private func writeObject(
        records: [Data], prefix: String, job: DeliveryJob, at time: Instant, isError: Bool = false
    ) throws -> Int {
        var payload = Data()
        payload.reserveCapacity(records.reduce(0) { $0 + $1.count })
        for r in records { payload.append(r) }
        let uuid = UUID().uuidString.lowercased()
        let name = S3ObjectKeys.objectName(
            deliveryStream: job.name, version: job.version, at: time, uuid: uuid, format: job.destination.compression,
            fileExtension: isError ? nil : job.destination.fileExtension)
        let entryName = S3ObjectKeys.objectName(
            deliveryStream: job.name, version: job.version, at: time, uuid: uuid, format: .uncompressed)
        let body = Compressor.compress(payload, format: job.destination.compression, entryName: entryName)
        let fm = FileManager.default
        let target = s3Directory.appendingPathComponent(job.destination.bucket)
            .appendingPathComponent(prefix + name)
        let tmpDir = s3Directory.appendingPathComponent(".ktop-tmp")
        try fm.createDirectory(at: tmpDir, withIntermediateDirectories: true)
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = tmpDir.appendingPathComponent(uuid)
        try body.write(to: tmp)
        guard rename(tmp.path, target.path) == 0 else {
            try? fm.removeItem(at: tmp)
            throw FirehoseError(.serviceUnavailable, "Cannot write \(target.path): errno \(errno)")
        }
        return body.count
    }

    // MARK: samples

    /// Every delivery stream's state and counters at the clock's now (see ``FirehoseSample``).
    public func sample() -> FirehoseSample {
        let now = clock.now()
        let streams = state.withLock { s in
            s.flatMap { region, streams in
                streams.values.map { st in DeliveryStreamSample(st, region: region, now: now) }
            }
        }
        return FirehoseSample(
            time: now, deliveryStreams: streams.sorted { ($0.region, $0.name) < ($1.region, $1.name) })
    }

    // MARK: helpers

    private func nextRecordId() -> String {
        let n = recordCounter.withLock { c in
            c &+= 1
            return c
        }
        // Opaque like Firehose's (which are 56+ characters): a counter, and randomness against collisions.
        let hex = String(n, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex
            + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    private func stream<T>(
        _ name: String, region: String, _ body: (DeliveryStreamState) -> T
    ) throws(FirehoseError) -> T {
        let account = account
        return try state.withLock { (s) throws(FirehoseError) -> T in
            guard let st = s[region]?[name] else { throw FirehoseError.notFound(name, account: account) }
            return body(st)
        }
    }

    @discardableResult
    private func mutate<T>(
        _ name: String, region: String, _ body: (inout DeliveryStreamState) throws(FirehoseError) -> T
    ) throws(FirehoseError) -> T {
        let account = account
        return try state.withLock { (s) throws(FirehoseError) -> T in
            guard var st = s[region]?[name] else { throw FirehoseError.notFound(name, account: account) }
            // Written back on a throw too: a throttled PutRecord still counts in ThrottledRecords.
            defer { s[region]?[name] = st }
            return try body(&st)
        }
    }

    private static func requireDirectPut(_ st: DeliveryStreamState) throws(FirehoseError) {
        guard st.type == "DirectPut" else {
            throw FirehoseError(
                .invalidArgument, "This operation is not permitted on KinesisStreamAsSource delivery stream type.")
        }
    }

    private static func rollWindow(_ st: inout DeliveryStreamState, now: Instant) {
        let second = now.secondsSinceEpoch
        if st.window.second != second { st.window = (second, 0, 0, 0) }
    }

    static func checkName(_ name: String, path: String) throws(FirehoseError) {
        guard (1...64).contains(name.count) else {
            throw FirehoseError.constraint(path, "have length between 1 and 64", value: name)
        }
        let ok = name.unicodeScalars.allSatisfy { c in
            c.isASCII && (CharacterSet.alphanumerics.contains(c) || c == "_" || c == "." || c == "-")
        }
        guard ok else {
            throw FirehoseError.constraint(path, "satisfy regular expression pattern: [a-zA-Z0-9_.-]+", value: name)
        }
    }

    static func checkTags(_ tags: [Tag], limit: Int) throws(FirehoseError) {
        guard tags.count <= limit else {
            throw FirehoseError.constraint("tags", "have length less than or equal to \(limit)")
        }
        for t in tags {
            guard (1...128).contains(t.key.count) else {
                throw FirehoseError.constraint("tags.member.key", "have length between 1 and 128", value: t.key)
            }
            guard !t.key.hasPrefix("aws:") else {
                throw FirehoseError(.invalidArgument, "Tag keys starting with 'aws:' are reserved: \(t.key)")
            }
            guard (t.value ?? "").count <= 256 else {
                throw FirehoseError.constraint("tags.member.value", "have length less than or equal to 256")
            }
        }
    }

    static func checkEncryption(_ e: DeliveryStreamEncryptionConfigurationInput) throws(FirehoseError) {
        switch (e.keyType, e.keyARN) {
        case ("AWS_OWNED_CMK", nil), ("CUSTOMER_MANAGED_CMK", _?): break
        case ("AWS_OWNED_CMK", _?):
            throw FirehoseError(.invalidArgument, "KeyARN must not be specified when KeyType is AWS_OWNED_CMK.")
        case ("CUSTOMER_MANAGED_CMK", nil):
            throw FirehoseError(.invalidArgument, "KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK.")
        default:
            throw FirehoseError.constraint(
                "deliveryStreamEncryptionConfigurationInput.keyType",
                "satisfy enum value set: [AWS_OWNED_CMK, CUSTOMER_MANAGED_CMK]", value: e.keyType)
        }
    }

    private func makeReader(_ config: KinesisStreamSourceConfiguration, start: Instant) throws(FirehoseError)
        -> KinesisSourceReader
    {
        // arn:aws:kinesis:<region>:<account>:stream/<name>
        let parts = config.kinesisStreamARN.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "kinesis", parts[5].hasPrefix("stream/"),
            parts[5].count > 7
        else {
            throw FirehoseError.constraint(
                "kinesisStreamSourceConfiguration.kinesisStreamARN",
                "satisfy regular expression pattern: arn:.*:kinesis:[a-zA-Z0-9\\-]+:\\d{12}:stream/[a-zA-Z0-9_.-]+",
                value: config.kinesisStreamARN)
        }
        let streamName = String(parts[5].dropFirst(7))
        guard let client = kinesis?(String(parts[4]), String(parts[3])) else {
            throw FirehoseError(.invalidArgument, "This ktop has no Kinesis engine to read \(config.kinesisStreamARN).")
        }
        do {
            _ = try client.describeStreamSummary(StreamInput(streamName: streamName))
        } catch {
            throw FirehoseError(
                .invalidArgument,
                "Kinesis stream \(config.kinesisStreamARN) was not found or is not accessible: "
                    + error.message)
        }
        return KinesisSourceReader(streamName: streamName, client: client, start: start)
    }

    /// Fills an S3 destination from a configuration (`current` nil) or merges an update into `current`.
    private func makeDestination(
        _ f: S3DestinationFields, extended: Bool, current: S3Destination?
    ) throws(FirehoseError) -> S3Destination {
        guard let roleARN = f.roleARN ?? current?.roleARN else {
            throw FirehoseError.constraint("roleARN", "not be null")
        }
        guard let bucketARN = f.bucketARN ?? current?.bucketARN else {
            throw FirehoseError.constraint("bucketARN", "not be null")
        }
        let bucket = try Self.bucketName(bucketARN)
        if let h = f.bufferingHints {
            guard (h.sizeInMBs == nil) == (h.intervalInSeconds == nil) else {
                throw FirehoseError(
                    .invalidArgument,
                    "Both SizeInMBs and IntervalInSeconds must be specified in BufferingHints, "
                        + "or neither.")
            }
        }
        let size = f.bufferingHints?.sizeInMBs ?? current?.sizeInMBs ?? limits.defaultBufferSizeMBs
        let interval =
            f.bufferingHints?.intervalInSeconds ?? current?.intervalInSeconds
            ?? limits.defaultBufferIntervalSeconds
        guard limits.bufferSizeMBs.contains(size) else {
            throw FirehoseError.constraint(
                "bufferingHints.sizeInMBs",
                "have value between \(limits.bufferSizeMBs.lowerBound) and \(limits.bufferSizeMBs.upperBound)",
                value: String(size))
        }
        guard limits.bufferIntervalSeconds.contains(interval) else {
            throw FirehoseError.constraint(
                "bufferingHints.intervalInSeconds",
                "have value between \(limits.bufferIntervalSeconds.lowerBound) and "
                    + "\(limits.bufferIntervalSeconds.upperBound)",
                value: String(interval))
        }
        let compressionName = f.compressionFormat ?? current?.compression.rawValue ?? "UNCOMPRESSED"
        guard let compression = CompressionFormat(rawValue: compressionName) else {
            throw FirehoseError.constraint(
                "compressionFormat", "satisfy enum value set: [UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY]",
                value: compressionName)
        }
        guard compression.isSupported else {
            throw FirehoseError(
                .invalidArgument,
                "CompressionFormat \(compression.rawValue) is not supported by ktop (no Snappy "
                    + "codec); use UNCOMPRESSED, GZIP or ZIP.")
        }
        if f.dataFormatConversionConfiguration?.enabled ?? false {
            throw FirehoseError(
                .invalidArgument,
                "DataFormatConversionConfiguration (record format conversion to Parquet/ORC) "
                    + "is not supported by ktop.")
        }
        if f.dynamicPartitioningConfiguration != nil {
            throw FirehoseError(.invalidArgument, "DynamicPartitioningConfiguration is not supported by ktop.")
        }
        let prefix = f.prefix ?? current?.prefix
        let errorOutputPrefix = f.errorOutputPrefix ?? current?.errorOutputPrefix
        try S3ObjectKeys.validate(prefix: prefix, errorOutputPrefix: errorOutputPrefix)
        let processing = f.processingConfiguration ?? current?.processing
        if processing != nil && !extended {
            throw FirehoseError(.invalidArgument, "ProcessingConfiguration needs ExtendedS3DestinationConfiguration.")
        }
        let lambdaARN = try processing.flatMap { (p) throws(FirehoseError) in try processors.lambdaARN(p) }
        let fileExtension = f.fileExtension ?? current?.fileExtension
        try S3ObjectKeys.validate(fileExtension: fileExtension)
        if let zone = f.customTimeZone, !zone.isEmpty, zone != "UTC" {
            throw FirehoseError(
                .invalidArgument, "CustomTimeZone \(zone) is not supported by ktop: keys are evaluated in UTC.")
        }
        let backup = f.s3BackupMode ?? current?.s3BackupMode
        if backup == "Enabled" {
            throw FirehoseError(
                .invalidArgument, "S3BackupMode Enabled (source record backup) is not supported by ktop.")
        }
        return S3Destination(
            extended: extended, roleARN: roleARN, bucketARN: bucketARN, bucket: bucket, prefix: prefix,
            errorOutputPrefix: errorOutputPrefix, sizeInMBs: size, intervalInSeconds: interval,
            compression: compression, processing: processing, s3BackupMode: backup,
            lambdaARN: lambdaARN, fileExtension: fileExtension?.isEmpty == true ? nil : fileExtension)
    }

    static func bucketName(_ arn: String) throws(FirehoseError) -> String {
        // arn:<partition>:s3:::<bucket>
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        let name = parts.count == 6 ? String(parts[5]) : ""
        let ok =
            parts.count == 6 && parts[0] == "arn" && parts[2] == "s3" && parts[3].isEmpty && parts[4].isEmpty
            && (1...255).contains(name.count) && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { c in
                c.isASCII && (CharacterSet.alphanumerics.contains(c) || c == "_" || c == "." || c == "-")
            }
        guard ok else {
            throw FirehoseError.constraint(
                "bucketARN", "satisfy regular expression pattern: arn:.*:s3:::[\\w\\.\\-]{1,255}", value: arn)
        }
        return name
    }
}

extension FirehoseCounters {
    mutating func add(_ o: FirehoseCounters) {
        incomingBytes += o.incomingBytes
        incomingRecords += o.incomingRecords
        incomingPutRequests += o.incomingPutRequests
        throttledRecords += o.throttledRecords
        dataReadFromKinesisStreamBytes += o.dataReadFromKinesisStreamBytes
        dataReadFromKinesisStreamRecords += o.dataReadFromKinesisStreamRecords
        kinesisGetRecordsCalls += o.kinesisGetRecordsCalls
        throttledGetRecords += o.throttledGetRecords
        deliveryToS3Success += o.deliveryToS3Success
        deliveryToS3Attempts += o.deliveryToS3Attempts
        deliveryToS3Bytes += o.deliveryToS3Bytes
        deliveryToS3Records += o.deliveryToS3Records
        deliveryToS3ObjectCount += o.deliveryToS3ObjectCount
        deliveryToS3StoredBytes += o.deliveryToS3StoredBytes
        executeProcessingSuccess += o.executeProcessingSuccess
        executeProcessingAttempts += o.executeProcessingAttempts
        succeedProcessingRecords += o.succeedProcessingRecords
        succeedProcessingBytes += o.succeedProcessingBytes
        droppedRecords += o.droppedRecords
        processingFailedRecords += o.processingFailedRecords
        buffersFlushedBySize += o.buffersFlushedBySize
        buffersFlushedByInterval += o.buffersFlushedByInterval
        buffersFlushedOtherwise += o.buffersFlushedOtherwise
    }
}
