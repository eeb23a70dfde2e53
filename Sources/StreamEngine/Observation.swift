// The shapes have public initializers (spelled out, as Swift's memberwise ones are
// internal) for sources other than the embedded engine: attach builds them from a
// remote stream's control plane and reader.

/// What Metrics and the dashboard read each tick: the topology and the
/// cumulative counters of every shard and consumer, copied under each lock
/// briefly so the data plane is never held up by a reader.
///
/// Its `Codable` form is what `GET /ktop/v1/sample` serves and ``KtopEndpointClient``
/// reads: JSON objects whose keys are the property names; counters as JSON integers;
/// hash keys (``UInt128``) as decimal strings, as Kinesis writes them; every ``Instant``
/// as an integer of nanoseconds since the Unix epoch; an absent optional as `null`.
/// Decoding validates (see `SampleCoding.swift`): JSON the engine could not have
/// produced is a `DecodingError`, never a value that traps a reader later.
public struct EngineSample: Sendable, Equatable {
    public var time: Instant
    public var limitsProfile: String
    public var enforcesThroughput: Bool
    public var clockSpeed: Double
    public var retainedBytes: Int
    public var retainedBytesBudget: Int
    public var streams: [StreamSample]
    /// The data directory the engine keeps streams in (nil: memory only).
    public var storage: StorageSample?

    public init(
        time: Instant, limitsProfile: String, enforcesThroughput: Bool, clockSpeed: Double,
        retainedBytes: Int, retainedBytesBudget: Int, streams: [StreamSample], storage: StorageSample? = nil
    ) {
        self.time = time
        self.limitsProfile = limitsProfile
        self.enforcesThroughput = enforcesThroughput
        self.clockSpeed = clockSpeed
        self.retainedBytes = retainedBytes
        self.retainedBytesBudget = retainedBytesBudget
        self.streams = streams
        self.storage = storage
    }
}

/// Where an engine keeps its streams on disk (`--data-dir`), and how full it is.
public struct StorageSample: Sendable, Equatable, Codable {
    public var directory: String
    /// `always` or `interval:MS` (``FsyncPolicy``).
    public var fsync: String
    /// Bytes of records in segment files.
    public var diskBytes: Int64
    /// Shards that take no writes because a sync failed (until a restart).
    public var failedShards: Int

    public init(directory: String, fsync: String, diskBytes: Int64, failedShards: Int) {
        self.directory = directory
        self.fsync = fsync
        self.diskBytes = diskBytes
        self.failedShards = failedShards
    }
}

/// One stream at sample time.
public struct StreamSample: Sendable, Equatable {
    public var account: String
    public var region: String
    public var name: String
    public var arn: String
    public var status: StreamStatus
    public var mode: StreamMode
    public var retentionHours: Int
    public var encryption: EncryptionType
    public var createdAt: Instant
    /// Every shard not yet expired, by shard index.
    public var shards: [ShardSample]
    public var consumers: [ConsumerSample]
    /// Per-call counters (PutRecord vs PutRecords), cumulative.
    public var counters = StreamCounters()
    /// Where each figure of this stream came from (the embedded engine, a ktop endpoint,
    /// or a foreign endpoint's control plane, a reader and CloudWatch).
    public var provenance: SampleProvenance = .embedded
    public var openShardCount: Int { shards.filter(\.isOpen).count }

    public init(
        account: String, region: String, name: String, arn: String, status: StreamStatus, mode: StreamMode,
        retentionHours: Int, encryption: EncryptionType, createdAt: Instant, shards: [ShardSample],
        consumers: [ConsumerSample], counters: StreamCounters = StreamCounters(),
        provenance: SampleProvenance = .embedded
    ) {
        self.account = account
        self.region = region
        self.name = name
        self.arn = arn
        self.status = status
        self.mode = mode
        self.retentionHours = retentionHours
        self.encryption = encryption
        self.createdAt = createdAt
        self.shards = shards
        self.consumers = consumers
        self.counters = counters
        self.provenance = provenance
    }
}

/// What produced the figures of a `StreamSample`: attach shows a real stream's
/// numbers next to the embedded engine's, and a reader must always be able to tell
/// an exact counter from one inferred by reading records or from CloudWatch.
public struct SampleProvenance: Sendable, Equatable, Codable {
    /// "embedded", "ktop-endpoint" or "foreign-endpoint".
    public var kind: String
    /// The endpoint URL (nil for the embedded engine).
    public var endpoint: String?
    /// Per family of figures, one line saying where it comes from. The families:
    /// `topology`, `incoming`, `outgoing`, `throttles`, `consumers`, `topKeys`,
    /// `hashKeys`, `cloudWatch`. A family that is missing is not available from this source.
    public var figures: [String: String]

    public init(kind: String, endpoint: String?, figures: [String: String]) {
        self.kind = kind
        self.endpoint = endpoint
        self.figures = figures
    }

    /// The embedded engine: every figure is the engine's own exact counter.
    public static let embedded = SampleProvenance(
        kind: "embedded", endpoint: nil,
        figures: Dictionary(
            uniqueKeysWithValues: ["topology", "incoming", "outgoing", "throttles", "consumers", "topKeys", "hashKeys"]
                .map { ($0, "engine: exact counters") }))
}

/// One shard's CloudWatch shard-level ("enhanced") metrics for one period, as
/// GetMetricData returned them: the only place a real stream's throttling shows.
public struct CloudWatchShardMetrics: Sendable, Equatable, Codable {
    /// Start of the datapoint's period.
    public var periodStart: Instant
    public var periodSeconds: Int
    /// Sum (or Maximum for IteratorAgeMilliseconds) over the period, by CloudWatch metric name.
    public var values: [String: Double]

    public init(periodStart: Instant, periodSeconds: Int, values: [String: Double]) {
        self.periodStart = periodStart
        self.periodSeconds = periodSeconds
        self.values = values
    }

    /// Readers divide by the period: decoding refuses one below a second.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        periodStart = try c.decode(Instant.self, forKey: .periodStart)
        periodSeconds = try c.decode(Int.self, forKey: .periodSeconds)
        guard periodSeconds >= 1 else { throw c.corrupted(.periodSeconds, "must be at least 1, got \(periodSeconds)") }
        values = try c.decode([String: Double].self, forKey: .values)
    }
}

/// One shard at sample time.
public struct ShardSample: Sendable, Equatable {
    public var shardId: String
    public var index: Int
    public var parentShardId: String?
    public var adjacentParentShardId: String?
    public var startingHashKey: UInt128
    public var endingHashKey: UInt128
    public var createdAt: Instant
    public var closedAt: Instant?
    public var isOpen: Bool { closedAt == nil }
    public var counters: ShardCounters
    public var retainedRecords: Int
    public var retainedBytes: Int
    /// Heaviest partition keys of the last complete second (nil without traffic then).
    public var topKeys: SpaceSaving?
    /// The same second's heaviest keys weighed by bytes (a bytes-weighted sketch).
    public var topKeysByBytes: SpaceSaving? = nil
    /// Cumulative records and bytes per hash key bucket of the shard's range.
    public var hashKeyHistogram: HashKeyHistogram? = nil
    /// The newest CloudWatch datapoints of this shard (attach to a foreign endpoint only).
    public var cloudWatch: CloudWatchShardMetrics? = nil
    /// Share of the hash key space, 0…1.
    public var hashSpaceShare: Double {
        HashKey.spaceShare(startingHashKey, endingHashKey)
    }

    public init(
        shardId: String, index: Int, parentShardId: String?, adjacentParentShardId: String?,
        startingHashKey: UInt128, endingHashKey: UInt128, createdAt: Instant, closedAt: Instant?,
        counters: ShardCounters, retainedRecords: Int = 0, retainedBytes: Int = 0,
        topKeys: SpaceSaving? = nil, topKeysByBytes: SpaceSaving? = nil,
        hashKeyHistogram: HashKeyHistogram? = nil, cloudWatch: CloudWatchShardMetrics? = nil
    ) {
        self.shardId = shardId
        self.index = index
        self.parentShardId = parentShardId
        self.adjacentParentShardId = adjacentParentShardId
        self.startingHashKey = startingHashKey
        self.endingHashKey = endingHashKey
        self.createdAt = createdAt
        self.closedAt = closedAt
        self.counters = counters
        self.retainedRecords = retainedRecords
        self.retainedBytes = retainedBytes
        self.topKeys = topKeys
        self.topKeysByBytes = topKeysByBytes
        self.hashKeyHistogram = hashKeyHistogram
        self.cloudWatch = cloudWatch
    }
}

/// One registered consumer at sample time, with its per-shard pipes.
public struct ConsumerSample: Sendable, Equatable {
    public var name: String
    public var arn: String
    public var status: ConsumerStatus
    public var createdAt: Instant
    /// Counters keyed by shard id, for shards it has subscribed to.
    public var shards: [String: ConsumerShardCounters]

    public init(
        name: String, arn: String, status: ConsumerStatus, createdAt: Instant,
        shards: [String: ConsumerShardCounters] = [:]
    ) {
        self.name = name
        self.arn = arn
        self.status = status
        self.createdAt = createdAt
        self.shards = shards
    }
}

extension KinesisEngine {
    /// A consistent-enough copy of every stream's state and counters.
    /// O(shards + consumers); takes each lock only for the copy.
    ///
    /// - Parameters: `account`, `region`, `stream`: when given, only the streams
    ///   with that account, region and name are copied (the others are not even read).
    public func sample(account: String? = nil, region: String? = nil, stream: String? = nil) -> EngineSample {
        let now = clock.now()
        var streams: [StreamSample] = []
        for service in allServices
        where account.map({ $0 == service.account }) ?? true
            && region.map({ $0 == service.region }) ?? true
        {
            for s in service.streamsSnapshot().sorted(by: { $0.name < $1.name })
            where stream.map({ $0 == s.name }) ?? true && !service.isGone(s, now) {
                service.settle(s, now)
                let slots = s.subscriptions.withLock { $0 }
                streams.append(
                    s.meta.read { m in
                        // One lock a shard, appending in place: `listedShards` then a map took each lock twice
                        // and copied every sample out of the closure (issue 16: 10,000 shards a tick).
                        var shards: [ShardSample] = []
                        shards.reserveCapacity(m.shards.count)
                        for shard in m.shards {
                            shard.log.withLock { log in
                                guard
                                    KinesisService.isListed(
                                        closedAt: log.closedAt, now: now, retentionHours: m.retentionHours)
                                else { return }
                                shards.append(
                                    ShardSample(
                                        shardId: shard.shardId, index: shard.index,
                                        parentShardId: shard.parentIndex.map(ShardID.string),
                                        adjacentParentShardId: shard.adjacentParentIndex.map(ShardID.string),
                                        startingHashKey: shard.range.lowerBound,
                                        endingHashKey: shard.range.upperBound,
                                        createdAt: shard.createdAt, closedAt: log.closedAt, counters: log.counters,
                                        retainedRecords: log.records.count, retainedBytes: log.retainedBytes,
                                        topKeys: log.keys.lastComplete(at: now.secondsSinceEpoch),
                                        topKeysByBytes: log.keys.lastCompleteByBytes(at: now.secondsSinceEpoch),
                                        hashKeyHistogram: log.sampleHashKeys()))
                            }
                        }
                        let consumers = m.consumers.values.compactMap { c -> ConsumerSample? in
                            guard let status = service.effectiveStatus(c, now) else { return nil }
                            var perShard: [String: ConsumerShardCounters] = [:]
                            for (key, slot) in slots
                            where key.consumerName == c.name && slot.consumerCreatedAt == c.createdAt {
                                perShard[ShardID.string(key.shardIndex)] = slot.counters
                            }
                            return ConsumerSample(
                                name: c.name, arn: c.arn, status: status, createdAt: c.createdAt, shards: perShard)
                        }.sorted { $0.name < $1.name }
                        return StreamSample(
                            account: service.account, region: service.region, name: s.name, arn: s.arn,
                            status: m.status, mode: m.mode, retentionHours: m.retentionHours,
                            encryption: m.encryption, createdAt: s.createdAt, shards: shards, consumers: consumers,
                            counters: s.counters.withLock { $0 })
                    })
            }
        }
        return EngineSample(
            time: now, limitsProfile: limits.profile, enforcesThroughput: limits.enforcesThroughput,
            clockSpeed: clock.speed, retainedBytes: retainedPayloadBytes,
            retainedBytesBudget: configuration.retainedBytesBudget, streams: streams,
            storage: storageSample())
    }

    /// The data directory's figures (nil without one).
    func storageSample() -> StorageSample? {
        guard let directory = dataDirectory else { return nil }
        var bytes: Int64 = 0
        var failed = 0
        for service in allServices {
            for s in service.streamsSnapshot() {
                for shard in s.meta.read({ $0.shards }) {
                    guard let store = shard.store else { continue }
                    bytes += store.diskBytes
                    if store.failure != nil { failed += 1 }
                }
            }
        }
        return StorageSample(
            directory: directory.path, fsync: directory.configuration.fsync.description,
            diskBytes: bytes, failedShards: failed)
    }
}

extension KinesisService {
    /// Applies everything due at `now` in this account and region.
    func tick(_ now: Instant) {
        var gone: [StreamState] = []
        for s in streamsSnapshot() {
            settle(s, now)
            if isGone(s, now) {
                gone.append(s)
                continue
            }
            expire(s, now)
            settleConsumers(s, now)
            scaleOnDemand(s, now)
        }
        if !gone.isEmpty {
            let removed = registry.write { reg in
                gone.filter { s in
                    guard reg[s.name] === s else { return false }
                    reg[s.name] = nil
                    return true
                }
            }
            for s in gone { release(s) }
            // A stream re-created under the same name has already replaced these files.
            for s in removed {
                s.meta.read { $0.shards }.forEach { $0.store?.close() }
                engine.dataDirectory?.removeStream(account: account, region: region, stream: s.name)
            }
        }
    }

    /// Returns a removed stream's retained bytes to the memory budget.
    func release(_ s: StreamState) {
        // Exactly once: tick and a CreateStream reusing the name may both get here.
        guard s.released.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let bytes = s.meta.read { m in m.shards.reduce(0) { acc, sh in acc + sh.log.withLock { $0.retainedBytes } } }
        engine.retainedBytes.wrappingSubtract(bytes, ordering: .relaxed)
        engine.returnMemory.store(true, ordering: .relaxed)
    }

    func settleConsumers(_ s: StreamState, _ now: Instant) {
        var changes: [(String, EngineEvent.Kind)] = []
        let due = s.meta.read { m in m.consumers.values.contains { c in c.statusDue.map { now >= $0 } ?? false } }
        guard due else { return }
        s.update { m in
            for (name, c) in m.consumers {
                guard let due = c.statusDue, now >= due else { continue }
                if c.status == .creating {
                    m.consumers[name]?.status = .active
                    m.consumers[name]?.statusDue = nil
                    changes.append((name, .consumerActive))
                } else if c.status == .deleting {
                    m.consumers[name] = nil
                    changes.append((name, .consumerDeleted))
                }
            }
        }
        for (name, kind) in changes {
            events.append(
                time: now, account: account, region: region, stream: s.name, kind: kind,
                message: kind == .consumerActive ? "Consumer \(name) is ACTIVE" : "Consumer \(name) deregistered")
        }
    }
}
