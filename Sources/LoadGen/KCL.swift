import Foundation
import StreamEngine

/// One row of a KCL lease table (KINESIS.md §7.2: DynamoDB, hash key
/// `leaseKey`). Attribute names are the KCL's; ktop keeps the table in memory.
public struct Lease: Sendable, Equatable {
    /// Checkpoint sentinels (KCL `SentinelCheckpoint`).
    public static let trimHorizon = "TRIM_HORIZON"
    public static let latest = "LATEST"
    public static let atTimestamp = "AT_TIMESTAMP"
    public static let shardEnd = "SHARD_END"

    /// The shard id (single-stream applications).
    public var leaseKey: String
    /// The worker holding the lease, nil when unowned.
    public var leaseOwner: String?
    /// Incremented on every renew and take; writers condition on it.
    public var leaseCounter: Int64 = 0
    public var ownerSwitchesSinceCheckpoint: Int64 = 0
    /// A sequence number, or a sentinel (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`, `SHARD_END`).
    public var checkpoint: String
    /// Position inside a KPL aggregate (0 for plain records).
    public var checkpointSubSequenceNumber: Int64 = 0
    public var pendingCheckpoint: String?
    public var pendingCheckpointSubSequenceNumber: Int64?
    /// `parentShardId` (a string set): one parent after a split, two after a merge.
    public var parentShardId: [String]
    /// `childShardIds`, filled in when the shard ends.
    public var childShardIds: [String] = []
    public var startingHashKey: String
    public var endingHashKey: String
    /// When the holder last renewed (what other workers infer from a changing `leaseCounter`).
    public var lastRenewal: Instant

    public var isFinished: Bool { checkpoint == Lease.shardEnd }
}

/// The lease table of one KCL application, shared by its workers. Writes are
/// conditional on `leaseCounter`, as the KCL's DynamoDB writes are.
/// Not `Sendable`: the workers that share it are stepped in turn on their
/// application's one thread, so the conditional writes need no lock.
public final class LeaseTable {
    public private(set) var leases: [String: Lease] = [:]
    public init() {}

    public var sortedLeases: [Lease] { leases.keys.sorted().map { leases[$0]! } }

    /// Creates the lease unless one exists (DynamoDB `attribute_not_exists(leaseKey)`).
    @discardableResult
    func createIfAbsent(_ lease: Lease) -> Bool {
        guard leases[lease.leaseKey] == nil else { return false }
        leases[lease.leaseKey] = lease
        return true
    }

    /// Applies `change` only if the lease's counter is still `expectedCounter`.
    @discardableResult
    func update(_ key: String, expectedCounter: Int64, _ change: (inout Lease) -> Void) -> Bool {
        guard var l = leases[key], l.leaseCounter == expectedCounter else { return false }
        change(&l)
        leases[key] = l
        return true
    }

    func set(_ key: String, _ change: (inout Lease) -> Void) {
        guard var l = leases[key] else { return }
        change(&l)
        leases[key] = l
    }
}

/// Settings of a KCL-style application (names as in the KCL's configuration).
public struct KCLConfig: Sendable, Equatable {
    /// The application (and lease table) name.
    public var name: String
    public var stream: String
    /// Worker ids started with the application.
    public var workers: [String]
    /// Where shards without a checkpoint start (`initialPositionInStream`).
    public var initialPosition: StartPosition
    /// A lease not renewed for this long may be taken (`failoverTimeMillis`, KCL default 10 s).
    public var failoverTime: Duration
    /// Pause between GetRecords calls per shard (`idleTimeBetweenReadsInMillis`, KCL default 1 s).
    public var idleTimeBetweenReads: Duration
    /// How often the record processor checkpoints.
    public var checkpointInterval: Duration
    /// How often ListShards is called to find new shards (`shardSyncIntervalMillis`).
    public var shardSyncInterval: Duration
    /// GetRecords `Limit` (`maxRecords`, KCL default 10,000).
    public var maxRecords: Int

    public init(
        name: String, stream: String, workers: [String], initialPosition: StartPosition = .trimHorizon,
        failoverTime: Duration = .seconds(10), idleTimeBetweenReads: Duration = .seconds(1),
        checkpointInterval: Duration = .seconds(5), shardSyncInterval: Duration = .seconds(10), maxRecords: Int = 10_000
    ) {
        self.name = name
        self.stream = stream
        self.workers = workers
        self.initialPosition = initialPosition
        self.failoverTime = failoverTime
        self.idleTimeBetweenReads = idleTimeBetweenReads
        self.checkpointInterval = checkpointInterval
        self.shardSyncInterval = shardSyncInterval
        self.maxRecords = maxRecords
    }
}

/// Cumulative counters of a KCL application (all its workers).
public struct KCLStats: Sendable, Equatable {
    /// User records handed to record processors for the first time.
    public var records: Int64 = 0
    public var bytes: Int64 = 0
    /// User records processed again (at-least-once: re-read after a lease changed hands before a checkpoint).
    public var duplicates: Int64 = 0
    /// User records of a child shard processed before a parent reached SHARD_END (must stay 0).
    public var parentOrderViolations: Int64 = 0
    /// Shards processed to the end (checkpoint SHARD_END).
    public var shardsCompleted: Int64 = 0
    public var leasesTaken: Int64 = 0
    public var leasesStolen: Int64 = 0
    public var leasesLost: Int64 = 0
    public var checkpoints: Int64 = 0
    public var getRecordsCalls: Int64 = 0
    public var throttled: Int64 = 0
    /// Polls skipped because a parent shard is not finished (`BlockOnParentShardTask`).
    public var blockedOnParent: Int64 = 0
    /// User records inside aggregates dropped by de-aggregation as outside the shard's range.
    public var discardedByDeaggregation: Int64 = 0
    public var millisBehindLatest: Int64 = 0
}

/// A KCL-style consumer application: workers share a lease table with one
/// lease per shard, balance the leases between them, checkpoint, finish a
/// parent (checkpoint SHARD_END) before processing its children, and
/// de-aggregate KPL records. Delivery is at-least-once; re-delivered user
/// records are counted as duplicates per shard by (sequence, subsequence).
/// Not `Sendable`: owned, with its workers, by the one thread that steps it.
public final class KCLApplication {
    public let config: KCLConfig
    public let table = LeaseTable()
    public private(set) var workers: [KCLWorker] = []
    public private(set) var stats = KCLStats()
    /// Highest (sequence, subsequence) processed per shard: later reads at or below it are duplicates.
    private var highWater: [String: (String, Int)] = [:]
    private var firstProcessed: Set<String> = []
    private let client: any KinesisClient
    private var nextSync: Instant?
    private var rng: SeededRandom

    public var name: String { config.name }
    public var stream: String { config.stream }

    public init(config: KCLConfig, client: any KinesisClient, seed: UInt64) {
        self.config = config
        self.client = client
        self.rng = SeededRandom(seed: seed)
        for w in config.workers { workers.append(KCLWorker(id: w, app: self)) }
    }

    /// Starts another worker (it takes its share of leases over the next lease cycles).
    public func addWorker(_ id: String) {
        guard !workers.contains(where: { $0.id == id }) else { return }
        workers.append(KCLWorker(id: id, app: self))
    }

    /// Stops a worker without a graceful shutdown: its leases expire after
    /// `failoverTime` and other workers resume from the last checkpoints.
    public func removeWorker(_ id: String) { workers.removeAll { $0.id == id } }

    public func step(now: Instant) {
        if nextSync == nil || now >= nextSync! {
            syncShards(now)
            nextSync = now + config.shardSyncInterval
        }
        for w in workers { w.step(now: now) }
        stats.millisBehindLatest = workers.map(\.millisBehindLatest).max() ?? 0
    }

    /// Leases per worker id (the balance the dashboard can show).
    public var leaseCounts: [String: Int] {
        var c: [String: Int] = [:]
        for l in table.leases.values where !l.isFinished { if let o = l.leaseOwner { c[o, default: 0] += 1 } }
        return c
    }

    // MARK: Shard sync (KCL `ShardSyncTask`)

    func syncShards(_ now: Instant) {
        let filter: ShardFilter
        switch config.initialPosition {
        case .latest: filter = ShardFilter(type: .atLatest)
        case .trimHorizon: filter = ShardFilter(type: .fromTrimHorizon)
        case .atTimestamp(let t): filter = ShardFilter(type: .fromTimestamp, timestamp: t.date)
        }
        guard
            let shards = try? client.listShards(ListShardsInput(streamName: config.stream, shardFilter: filter)).shards
        else { return }
        let known = Set(shards.map(\.shardId))
        for s in shards {
            let parents = [s.parentShardId, s.adjacentParentShardId].compactMap { $0 }.filter {
                known.contains($0) || table.leases[$0] != nil
            }
            let initial: String
            if !parents.isEmpty {
                initial = Lease.trimHorizon
            } else {
                switch config.initialPosition {
                case .latest: initial = Lease.latest
                case .trimHorizon: initial = Lease.trimHorizon
                case .atTimestamp: initial = Lease.atTimestamp
                }
            }
            table.createIfAbsent(
                Lease(
                    leaseKey: s.shardId, checkpoint: initial, parentShardId: parents,
                    startingHashKey: s.hashKeyRange.startingHashKey, endingHashKey: s.hashKeyRange.endingHashKey,
                    lastRenewal: Instant(nanosecondsSinceEpoch: 0)))
        }
    }

    func addChildLeases(_ children: [ChildShard]) {
        for c in children {
            table.createIfAbsent(
                Lease(
                    leaseKey: c.shardId, checkpoint: Lease.trimHorizon, parentShardId: c.parentShards,
                    startingHashKey: c.hashKeyRange.startingHashKey, endingHashKey: c.hashKeyRange.endingHashKey,
                    lastRenewal: Instant(nanosecondsSinceEpoch: 0)))
        }
    }

    /// True when every parent of the lease is finished (or has no lease: cleaned up or never tracked).
    func parentsFinished(_ lease: Lease) -> Bool {
        lease.parentShardId.allSatisfy { table.leases[$0]?.isFinished ?? true }
    }

    // MARK: Processing (the record processor)

    func process(_ records: [UserRecord], sequence: String, shardId: String, lease: Lease) {
        for r in records {
            let position = (sequence, r.subSequenceNumber)
            if let hw = highWater[shardId], !Self.isAfter(position, hw) {
                stats.duplicates += 1
                continue
            }
            if !firstProcessed.contains(shardId) {
                firstProcessed.insert(shardId)
                if !parentsFinished(lease) { stats.parentOrderViolations += 1 }
            }
            highWater[shardId] = position
            stats.records += 1
            stats.bytes += Int64(r.data.count + r.partitionKey.utf8.count)
        }
    }

    /// Sequence numbers are decimal strings: longer is larger, then lexicographic.
    static func isAfter(_ a: (String, Int), _ b: (String, Int)) -> Bool {
        if a.0.count != b.0.count { return a.0.count > b.0.count }
        if a.0 != b.0 { return a.0 > b.0 }
        return a.1 > b.1
    }

    func count(_ f: (inout KCLStats) -> Void) { f(&stats) }
    func jitter() -> Double { rng.unit() }
    var kinesis: any KinesisClient { client }
}

/// One KCL worker: renews and takes leases, and runs a shard consumer for each lease it holds.
/// Not `Sendable`: stepped by its application, on that application's thread.
public final class KCLWorker {
    private struct ShardConsumer {
        var iterator: String?
        var nextPoll: Instant
        var lastSequence: String?
        var lastSubSequence = 0
        var lastCheckpoint: Instant
        var behind: Int64 = 0
        var throttleStreak = 0
        var lastSuccess: Instant?
        func lag(_ now: Instant) -> Int64 {
            guard throttleStreak > 0, let t = lastSuccess else { return behind }
            return behind + (now - t).milliseconds
        }
    }
    public let id: String
    unowned let app: KCLApplication
    private var consumers: [String: ShardConsumer] = [:]
    private var nextLeaseCycle: Instant?
    public private(set) var millisBehindLatest: Int64 = 0

    init(id: String, app: KCLApplication) {
        self.id = id
        self.app = app
    }

    /// Shards this worker holds leases on.
    public var heldShards: [String] {
        app.table.sortedLeases.filter { $0.leaseOwner == id && !$0.isFinished }.map(\.leaseKey)
    }

    func step(now: Instant) {
        let cfg = app.config
        if nextLeaseCycle == nil || now >= nextLeaseCycle! {
            renewAndTake(now)
            // The KCL renews every failoverTime/3 and takes on a slower cycle; one cycle each second is close enough.
            nextLeaseCycle = now + .seconds(1)
        }
        for key in consumers.keys.sorted() {
            guard let lease = app.table.leases[key], lease.leaseOwner == id, !lease.isFinished else {
                consumers[key] = nil
                continue
            }
            guard var c = consumers[key], c.nextPoll <= now else { continue }
            defer { consumers[key] = c }
            guard app.parentsFinished(lease) else {
                app.count { $0.blockedOnParent += 1 }
                c.nextPoll = now + cfg.idleTimeBetweenReads
                continue
            }
            poll(key, lease: lease, &c, now: now)
        }
        millisBehindLatest = consumers.values.map { $0.lag(now) }.max() ?? 0
    }

    private func renewAndTake(_ now: Instant) {
        let cfg = app.config
        let table = app.table
        // Renew what we hold; a lease whose owner changed was stolen.
        for l in table.sortedLeases where l.leaseOwner == id {
            table.update(l.leaseKey, expectedCounter: l.leaseCounter) {
                $0.leaseCounter += 1
                $0.lastRenewal = now
            }
        }
        for key in consumers.keys where table.leases[key]?.leaseOwner != id {
            consumers[key] = nil
            app.count { $0.leasesLost += 1 }
        }
        // Take: aim for ceil(active leases / live workers). Workers are counted from
        // the application's registry (KCL 3.x keeps a worker-metrics table; KCL 1.x/2.x
        // infer workers from lease owners, so a worker without leases is invisible and
        // leases thrash while it steals its share).
        let active = table.sortedLeases.filter { !$0.isFinished }
        func expired(_ l: Lease) -> Bool { l.leaseOwner == nil || now - l.lastRenewal > cfg.failoverTime }
        var owners: [String: Int] = [:]
        for w in app.workers { owners[w.id] = 0 }
        owners[id] = 0
        for l in active where !expired(l) { owners[l.leaseOwner!, default: 0] += 1 }
        let target = (active.count + owners.count - 1) / max(owners.count, 1)
        var mine = owners[id] ?? 0
        for l in active where mine < target && expired(l) && l.leaseOwner != id {
            if take(l, now) {
                mine += 1
                app.count { $0.leasesTaken += 1 }
            }
        }
        if mine < target,
            let (victim, count) = owners.filter({ $0.key != id }).max(by: { ($0.value, $1.key) < ($1.value, $0.key) }),
            count > target
        {
            // Steal one lease from the most loaded worker (the KCL steals at most one per cycle).
            if let l = active.last(where: { $0.leaseOwner == victim }), take(l, now) {
                mine += 1
                app.count { $0.leasesStolen += 1 }
            }
        }
        for l in table.sortedLeases where l.leaseOwner == id && !l.isFinished && consumers[l.leaseKey] == nil {
            consumers[l.leaseKey] = ShardConsumer(nextPoll: now, lastCheckpoint: now)
        }
    }

    private func take(_ l: Lease, _ now: Instant) -> Bool {
        app.table.update(l.leaseKey, expectedCounter: l.leaseCounter) {
            if $0.leaseOwner != nil && $0.leaseOwner != self.id { $0.ownerSwitchesSinceCheckpoint += 1 }
            $0.leaseOwner = self.id
            $0.leaseCounter += 1
            $0.lastRenewal = now
        }
    }

    private func iteratorInput(_ shardId: String, _ lease: Lease, _ c: ShardConsumer) -> GetShardIteratorInput {
        let stream = app.config.stream
        if let seq = c.lastSequence {
            return GetShardIteratorInput(
                streamName: stream, shardId: shardId, shardIteratorType: .afterSequenceNumber,
                startingSequenceNumber: seq)
        }
        switch lease.checkpoint {
        case Lease.trimHorizon:
            return GetShardIteratorInput(streamName: stream, shardId: shardId, shardIteratorType: .trimHorizon)
        case Lease.latest:
            return GetShardIteratorInput(streamName: stream, shardId: shardId, shardIteratorType: .latest)
        case Lease.atTimestamp:
            let t: Instant
            if case .atTimestamp(let ts) = app.config.initialPosition {
                t = ts
            } else {
                t = Instant(nanosecondsSinceEpoch: 0)
            }
            return GetShardIteratorInput(
                streamName: stream, shardId: shardId, shardIteratorType: .atTimestamp, timestamp: t.date)
        default:
            // A checkpoint inside an aggregate re-reads that record and skips the processed user records.
            return lease.checkpointSubSequenceNumber > 0
                ? GetShardIteratorInput(
                    streamName: stream, shardId: shardId, shardIteratorType: .atSequenceNumber,
                    startingSequenceNumber: lease.checkpoint)
                : GetShardIteratorInput(
                    streamName: stream, shardId: shardId, shardIteratorType: .afterSequenceNumber,
                    startingSequenceNumber: lease.checkpoint)
        }
    }

    private func poll(_ key: String, lease: Lease, _ c: inout ShardConsumer, now: Instant) {
        let cfg = app.config
        let client = app.kinesis
        do {
            if c.iterator == nil {
                c.iterator = try client.getShardIterator(iteratorInput(key, lease, c)).shardIterator
            }
            let out = try client.getRecords(GetRecordsInput(shardIterator: c.iterator, limit: cfg.maxRecords))
            app.count { $0.getRecordsCalls += 1 }
            c.throttleStreak = 0
            c.lastSuccess = now
            let range = HashKey.parse(lease.startingHashKey).flatMap { lo in
                HashKey.parse(lease.endingHashKey).map { lo...$0 }
            }
            for r in out.records {
                let (users, discarded) = KPLAggregation.deaggregate(r, shardRange: range)
                if discarded > 0 { app.count { $0.discardedByDeaggregation += Int64(discarded) } }
                app.process(users, sequence: r.sequenceNumber, shardId: key, lease: lease)
                c.lastSequence = r.sequenceNumber
                c.lastSubSequence = users.last?.aggregated == true ? users.last!.subSequenceNumber : 0
            }
            c.behind = Int64(out.millisBehindLatest ?? 0)
            c.iterator = out.nextShardIterator
            c.nextPoll = now + cfg.idleTimeBetweenReads
            if out.nextShardIterator == nil {
                // Shard end: checkpoint SHARD_END, record the children, create their leases.
                let children = out.childShards ?? []
                app.table.set(key) {
                    $0.checkpoint = Lease.shardEnd
                    $0.checkpointSubSequenceNumber = 0
                    $0.childShardIds = children.map(\.shardId)
                    $0.ownerSwitchesSinceCheckpoint = 0
                }
                app.addChildLeases(children)
                app.count {
                    $0.shardsCompleted += 1
                    $0.checkpoints += 1
                }
                c.behind = 0
                return
            }
            if now - c.lastCheckpoint >= cfg.checkpointInterval, let seq = c.lastSequence {
                let sub = c.lastSubSequence
                app.table.set(key) {
                    guard $0.leaseOwner == self.id else { return }
                    $0.checkpoint = seq
                    $0.checkpointSubSequenceNumber = Int64(sub)
                    $0.ownerSwitchesSinceCheckpoint = 0
                }
                c.lastCheckpoint = now
                app.count { $0.checkpoints += 1 }
            }
        } catch {
            if error.type == .provisionedThroughputExceeded {
                app.count { $0.throttled += 1 }
                c.throttleStreak += 1
                let backoff =
                    Double(cfg.idleTimeBetweenReads.nanoseconds) * (1 + app.jitter()) * Double(min(c.throttleStreak, 5))
                c.nextPoll = now + .nanoseconds(Int64(backoff))
            } else {
                if error.type == .expiredIterator { c.iterator = nil }
                c.nextPoll = now + cfg.idleTimeBetweenReads
            }
        }
    }
}

// Single-owner types: sharing one between threads is a compile error, not a race.
@available(*, unavailable) extension LeaseTable: Sendable {}
@available(*, unavailable) extension KCLApplication: Sendable {}
@available(*, unavailable) extension KCLWorker: Sendable {}
