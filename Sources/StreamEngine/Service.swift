import Foundation
import Synchronization

/// The Kinesis Data Streams API of one account in one region: all 39
/// operations, each taking the model's input shape and returning its output
/// shape, throwing the `KinesisError` Kinesis would return.
///
/// Thread-safe. Control-plane operations take the registry's write lock
/// briefly; the data plane (PutRecord(s), GetRecords) takes only read locks
/// plus the lock of the shard it touches.
public final class KinesisService: Sendable {
    public let account: String
    public let region: String
    unowned let engine: KinesisEngine
    let registry = ReadWriteLock<[String: StreamState]>([:])
    private let controlPlane = LockedValue<[String: CallQuota]>([:])
    let policies = LockedValue<[String: String]>([:])
    let accountSettings = LockedValue<MinimumThroughputBillingCommitmentOutput?>(nil)

    init(engine: KinesisEngine, account: String, region: String) {
        self.engine = engine
        self.account = account
        self.region = region
    }

    var limits: KinesisLimits { engine.configuration.limits }
    var clock: any Clock { engine.clock }
    var events: EventLog { engine.events }

    // MARK: - Lookup

    func streamsSnapshot() -> [StreamState] { registry.read { Array($0.values) } }

    /// Names of the streams that exist now (not yet deleted), sorted.
    public var streamNames: [String] {
        let now = clock.now()
        return streamsSnapshot().filter { !isGone($0, now) }.map(\.name).sorted()
    }

    func isGone(_ s: StreamState, _ now: Instant) -> Bool {
        s.meta.read { m in
            if case .delete = m.pending?.action, let due = m.pending?.due { return now >= due }
            return false
        }
    }

    /// Finds a stream by name and/or ARN, applies what is due, and fails as
    /// Kinesis does when it is missing or both identifiers disagree.
    func resolve(name: String?, arn: String?, now: Instant) throws(KinesisError) -> StreamState {
        var streamName = name
        if let arn {
            guard let ref = ARN.stream(arn) else { throw .invalidARN(arn) }
            if let name, name != ref.stream { throw .arnMismatch(name, arn) }
            guard ref.account == account, ref.region == region else { throw .streamNotFound(ref.stream, ref.account) }
            streamName = ref.stream
        }
        guard let streamName else { throw .streamNameOrARN() }
        guard let s = registry.read({ $0[streamName] }), !isGone(s, now) else {
            throw .streamNotFound(streamName, account)
        }
        settle(s, now)
        return s
    }

    /// Applies the stream's pending change if it is due. Lock-free when nothing is.
    func settle(_ s: StreamState, _ now: Instant) {
        guard now.nanosecondsSinceEpoch >= s.nextDue.load(ordering: .relaxed) else { return }
        s.update { m in
            guard let change = m.pending, now >= change.due else { return }
            apply(change, to: s, &m)
        }
    }

    /// Control-plane TPS (KINESIS.md §3): LimitExceededException when exceeded.
    func rate(_ op: KinesisOperation, stream: String? = nil, now: Instant) throws(KinesisError) {
        guard limits.enforcesThroughput, let quota = limits.controlPlaneTPS[op] else { return }
        let (tps, perStream) = (quota.perSecond, quota.perStream)
        let key = perStream ? op.rawValue + "/" + (stream ?? "") : op.rawValue
        let ok = controlPlane.withLock { buckets in
            var b = buckets[key] ?? CallQuota(perSecond: tps)
            let ok = b.tryTake(now)
            buckets[key] = b
            return ok
        }
        if !ok { throw .controlPlaneRate(op, stream: perStream ? stream : nil, account: account) }
    }

    func event(_ s: StreamState, _ kind: EngineEvent.Kind, _ time: Instant, shards: [String] = [], _ message: String) {
        events.append(
            time: time, account: account, region: region, stream: s.name, kind: kind, shards: shards, message: message)
    }

    func requireActive(_ s: StreamState, _ m: StreamMeta) throws(KinesisError) {
        guard m.status == .active else { throw .streamNotActive(s.name, account, m.status) }
    }

    // MARK: - CreateStream / DeleteStream

    public func createStream(_ input: CreateStreamInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.int(input.shardCount, "shardCount", range: 1...Int.max)
        v.streamName(input.streamName, required: true)
        v.enumValue(
            input.streamModeDetails?.streamMode, "streamModeDetails.streamMode",
            required: input.streamModeDetails != nil)
        v.tagMap(input.tags, "tags", count: 1...200)
        v.int(input.warmThroughputMiBps, "warmThroughputMiBps", range: 0...Int.max)
        v.int(input.maxRecordSizeInKiB, "maxRecordSizeInKiB", range: limits.maxRecordSizeKiBRange)
        let name = try v.check(input.streamName)
        let mode = input.streamModeDetails?.streamMode ?? .provisioned
        let shardCount: Int
        switch (mode, input.shardCount) {
        case (.onDemand, nil): shardCount = limits.onDemandInitialShards
        case (.onDemand, _): throw .shardCountForOnDemand()
        case (_, let count?): shardCount = count
        case (_, nil): throw .shardCountRequired()
        }
        if let tags = input.tags {
            try checkTags(tags, stream: name, verb: "add tags to")
            if tags.count > limits.maxTagsPerStream { throw .tooManyTags(name, account, limits.maxTagsPerStream) }
        }
        let now = clock.now()
        try rate(.createStream, now: now)

        // Quotas are counted before taking the registry's write lock: stream
        // locks are never taken inside it (resharding holds a stream lock and
        // then reads the registry).
        let live = streamsSnapshot().filter { !isGone($0, now) && $0.name != name }
        // A stream whose CREATING delay has passed is ACTIVE even if nothing has looked at it since.
        for s in live { settle(s, now) }
        let creating = live.filter { s in s.meta.read { $0.status == .creating } }.count
        if creating >= limits.maxStreamsCreating { throw .tooManyCreating(account, limits.maxStreamsCreating) }
        if mode == .provisioned {
            let current = live.reduce(0) { acc, s in acc + s.meta.read { $0.mode == .provisioned ? $0.open.count : 0 } }
            // Written as a subtraction: ShardCount may be as large as Int.max here.
            if shardCount > limits.shardLimit(region: region) - current {
                throw .shardLimit(
                    account: account, region: region, current: current, limit: limits.shardLimit(region: region),
                    additional: shardCount)
            }
            if shardCount > limits.maxShardsPerStream {
                throw KinesisError(
                    .invalidArgument,
                    "ShardCount \(shardCount) exceeds the maximum of \(limits.maxShardsPerStream) shards per stream.")
            }
        } else {
            let onDemand = live.filter { s in s.meta.read { $0.mode == .onDemand } }.count
            if onDemand >= limits.onDemandStreamsPerAccount {
                throw .onDemandStreamLimit(account, limits.onDemandStreamsPerAccount)
            }
        }
        let existing = registry.read { $0[name] }
        if let existing, !isGone(existing, now) { throw .streamExists(name, account) }

        try registry.write { (reg: inout [String: StreamState]) throws(KinesisError) in
            if let current = reg[name], current !== existing { throw .streamExists(name, account) }
            let storage = engine.dataDirectory.map { d in
                StreamStorage(directory: d, path: d.streamDirectory(account: account, region: region, stream: name))
            }
            // Whatever is on disk under this name belongs to a deleted stream.
            storage?.directory.removeStream(account: account, region: region, stream: name)
            let shards = HashKey.uniformRanges(count: shardCount).enumerated().map { i, r in
                ShardState(
                    index: i, range: r, parent: nil, adjacentParent: nil, createdAt: now, limits: limits,
                    store: storage?.store(forShard: i))
            }
            let day = Duration.seconds(86_400)
            var meta = StreamMeta(
                status: .creating, shards: shards, open: shards, mode: mode,
                retentionHours: limits.defaultRetentionHours,
                maxRecordSizeKiB: input.maxRecordSizeInKiB ?? limits.defaultMaxRecordSizeKiB,
                warmThroughputMiBps: input.warmThroughputMiBps,
                updateShardCountHistory: RollingWindowCounter(window: day, limit: limits.updateShardCountPerDay),
                modeSwitchHistory: RollingWindowCounter(window: day, limit: limits.streamModeSwitchesPerDay),
                encryptionHistory: RollingWindowCounter(window: day, limit: limits.encryptionChangesPerDay))
            meta.tags = input.tags ?? [:]
            meta.pending = PendingChange(due: now + engine.configuration.delays.create, action: .activate)
            meta.storage = storage
            let stream = StreamState(
                name: name, account: account, region: region, createdAt: now,
                incarnation: engine.nextIncarnation(), meta: meta)
            if storage != nil {
                // Acked only once stream.json is on disk: a restart finds every stream it acked.
                try stream.meta.write { (m: inout StreamMeta) throws(KinesisError) in
                    stream.persist(&m)
                    if m.persisted == nil { throw .storageFailure() }
                }
            }
            reg[name] = stream
            event(
                stream, .streamCreating, now,
                "CreateStream \(name): \(shardCount) shard\(shardCount == 1 ? "" : "s"), \(mode.rawValue)")
        }
        // A deleted stream replaced before a tick removed it: its records leave the budget now.
        if let existing { release(existing) }
        return EmptyOutput()
    }

    public func deleteStream(_ input: DeleteStreamInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.streamName(input.streamName)
        v.streamARN(input.streamARN)
        try v.check()
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(.deleteStream, now: now)
        try s.update { (m: inout StreamMeta) throws(KinesisError) in
            if m.status == .deleting { return }
            let liveConsumers = m.consumers.values.filter { effectiveStatus($0, now) != nil }
            if !liveConsumers.isEmpty && input.enforceConsumerDeletion != true {
                throw .streamHasConsumers(s.name, account)
            }
            if m.status == .creating { m.deletedWhileCreating = true }
            m.status = .deleting
            s.schedule(PendingChange(due: now + engine.configuration.delays.delete, action: .delete), in: &m)
        }
        event(s, .streamDeleting, now, "DeleteStream \(s.name)")
        return EmptyOutput()
    }

    // MARK: - Describe / List

    public func describeStream(_ input: DescribeStreamInput) throws(KinesisError) -> DescribeStreamOutput {
        var v = Validator()
        v.int(input.limit, "limit", range: 1...10_000)
        v.string(
            input.exclusiveStartShardId, "exclusiveStartShardId", length: 1...128, pattern: Validator.streamNamePattern)
        v.streamName(input.streamName)
        v.streamARN(input.streamARN)
        try v.check()
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(.describeStream, now: now)
        let limit = min(input.limit ?? 100, 100)
        let after = input.exclusiveStartShardId.flatMap(ShardID.index) ?? -1
        return s.meta.read { m in
            let visible = m.shardsVisible ? listedShards(m, now: now, retentionHours: m.retentionHours) : []
            let page = visible.filter { $0.index > after }
            let shown = page.prefix(limit).map { shape($0) }
            return DescribeStreamOutput(
                streamDescription: StreamDescription(
                    streamName: s.name, streamARN: s.arn, streamStatus: m.status,
                    streamModeDetails: StreamModeDetails(streamMode: m.mode), shards: Array(shown),
                    hasMoreShards: page.count > limit, retentionPeriodHours: m.retentionHours,
                    streamCreationTimestamp: s.createdAt.date,
                    enhancedMonitoring: [EnhancedMetrics(shardLevelMetrics: m.shardLevelMetrics)],
                    encryptionType: m.encryption, keyId: m.keyId))
        }
    }

    public func describeStreamSummary(_ input: StreamInput) throws(KinesisError) -> DescribeStreamSummaryOutput {
        var v = Validator()
        v.streamName(input.streamName)
        v.streamARN(input.streamARN)
        try v.check()
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(.describeStreamSummary, now: now)
        return s.meta.read { m in
            DescribeStreamSummaryOutput(
                streamDescriptionSummary: StreamDescriptionSummary(
                    streamName: s.name, streamARN: s.arn, streamStatus: m.status,
                    streamModeDetails: StreamModeDetails(streamMode: m.mode), retentionPeriodHours: m.retentionHours,
                    streamCreationTimestamp: s.createdAt.date,
                    enhancedMonitoring: [EnhancedMetrics(shardLevelMetrics: m.shardLevelMetrics)],
                    encryptionType: m.encryption, keyId: m.keyId,
                    openShardCount: m.shardsVisible ? m.open.count : 0,
                    consumerCount: m.consumers.values.filter { effectiveStatus($0, now) != nil }.count,
                    warmThroughput: m.mode == .onDemand
                        ? WarmThroughputObject(
                            targetMiBps: m.warmThroughputMiBps ?? 0, currentMiBps: m.warmThroughputMiBps ?? 0) : nil,
                    maxRecordSizeInKiB: m.maxRecordSizeKiB))
        }
    }

    public func listStreams(_ input: ListStreamsInput) throws(KinesisError) -> ListStreamsOutput {
        var v = Validator()
        v.int(input.limit, "limit", range: 1...10_000)
        v.string(
            input.exclusiveStartStreamName, "exclusiveStartStreamName", length: 1...128,
            pattern: Validator.streamNamePattern)
        v.string(input.nextToken, "nextToken", length: KinesisLimits.nextTokenLength)
        try v.check()
        let now = clock.now()
        try rate(.listStreams, now: now)
        var after = input.exclusiveStartStreamName ?? ""
        if let token = input.nextToken {
            guard let t = PageToken.decode(token, key: engine.tokenKey), t.kind == .listStreams else {
                throw .invalidNextToken()
            }
            if now.millisecondsSinceEpoch - t.issuedAtMillis > limits.nextTokenLifetimeMilliseconds {
                throw .expiredNextToken()
            }
            after = t.after
        }
        let limit = min(input.limit ?? 100, 100)
        let streams = streamsSnapshot().filter { !isGone($0, now) && $0.name > after }.sorted { $0.name < $1.name }
        let page = Array(streams.prefix(limit))
        for s in page { settle(s, now) }
        let more = streams.count > limit
        let token =
            more
            ? PageToken(kind: .listStreams, issuedAtMillis: now.millisecondsSinceEpoch, after: page.last!.name).encode(
                key: engine.tokenKey) : nil
        return ListStreamsOutput(
            streamNames: page.map(\.name), hasMoreStreams: more, nextToken: token,
            streamSummaries: page.map { s in
                s.meta.read { m in
                    StreamSummary(
                        streamName: s.name, streamARN: s.arn, streamStatus: m.status,
                        streamModeDetails: StreamModeDetails(streamMode: m.mode),
                        streamCreationTimestamp: s.createdAt.date)
                }
            })
    }

    public func describeLimits() throws(KinesisError) -> DescribeLimitsOutput {
        let now = clock.now()
        try rate(.describeLimits, now: now)
        var open = 0
        var onDemand = 0
        for s in streamsSnapshot() where !isGone(s, now) {
            settle(s, now)
            s.meta.read { m in
                if m.mode == .onDemand { onDemand += 1 } else { open += m.open.count }
            }
        }
        return DescribeLimitsOutput(
            shardLimit: limits.shardLimit(region: region), openShardCount: open,
            onDemandStreamCount: onDemand, onDemandStreamCountLimit: limits.onDemandStreamsPerAccount)
    }

    // MARK: - Shapes

    func shape(_ shard: ShardState) -> Shard {
        let closedAt = shard.log.withLock { $0.closedAt }
        return Shard(
            shardId: shard.shardId, parentShardId: shard.parentIndex.map(ShardID.string),
            adjacentParentShardId: shard.adjacentParentIndex.map(ShardID.string),
            hashKeyRange: shard.hashKeyRange,
            sequenceNumberRange: SequenceNumberRange(
                startingSequenceNumber: shard.startingSequenceNumber.description,
                endingSequenceNumber: closedAt.map { shard.endingSequenceNumber(closedAt: $0).description }))
    }

    /// Shards DescribeStream/ListShards show: all but those closed longer ago
    /// than the retention period (EXPIRED shards are omitted).
    func listedShards(_ m: StreamMeta, now: Instant, retentionHours: Int) -> [ShardState] {
        m.shards.filter { shard in
            Self.isListed(closedAt: shard.log.withLock({ $0.closedAt }), now: now, retentionHours: retentionHours)
        }
    }

    /// A shard is listed while open, and once closed until its records age out of the retention period.
    static func isListed(closedAt: Instant?, now: Instant, retentionHours: Int) -> Bool {
        guard let closedAt else { return true }
        return closedAt >= now - .seconds(Int64(retentionHours) * 3600)
    }

    func childShards(of index: Int, _ m: StreamMeta) -> [ChildShard] {
        m.children(of: index).map { c in
            ChildShard(
                shardId: c.shardId,
                parentShards: [c.parentIndex, c.adjacentParentIndex].compactMap { $0.map(ShardID.string) },
                hashKeyRange: c.hashKeyRange)
        }
    }
}

extension Instant {
    /// Foundation's `Date`, for the wire shapes.
    public var date: Date { Date(timeIntervalSince1970: Double(millisecondsSinceEpoch) / 1000) }
    /// A `Date` holds epoch time as a Double, good to about a microsecond today: round there,
    /// or a millisecond timestamp such as 1764000000.001 reads back as …000.999999744.
    /// Any `Date` a client can send converts: beyond 1677…2262 it is pinned to
    /// ``distantPast``/``distantFuture`` (see ``Int64/init(saturating:)``).
    public init(_ date: Date) {
        let micros = Int64(saturating: date.timeIntervalSince1970 * 1e6)
        self.init(nanosecondsSinceEpoch: micros.saturatingMultiplied(by: 1_000))
    }
}
