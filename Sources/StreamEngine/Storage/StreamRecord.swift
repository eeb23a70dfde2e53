import Foundation

/// A stream's metadata as `stream.json` holds it: everything about the stream except its
/// records (which live in the shards' segment files). Written whole and atomically whenever
/// the metadata changes, under the stream's write lock, so a put never lands in a shard the
/// file does not know. Times are ``Instant``s (integer nanoseconds since the epoch).
///
/// Not kept: rate-limit windows and on-demand scaling's running averages (they restart, as
/// after a failover), and the subscription slots of enhanced fan-out consumers. On-demand's
/// 30-day write peak is kept: it is the capacity the stream has earned.
struct StreamRecord: Codable, Sendable, Equatable {
    var format = 1
    var name: String
    var account: String
    var region: String
    var createdAt: Instant
    var status: StreamStatus
    var mode: StreamMode
    var retentionHours: Int
    var tags: [String: String]
    var encryption: EncryptionType
    var keyId: String?
    var shardLevelMetrics: [MetricsName]
    var maxRecordSizeKiB: Int
    var warmThroughputMiBps: Int?
    var consumers: [ConsumerRecord]
    var pending: PendingRecord?
    /// When the once-a-day quotas were spent (UpdateShardCount, mode switches, encryption changes).
    var updateShardCountTimes: [Instant]
    var modeSwitchTimes: [Instant]
    var encryptionTimes: [Instant]
    /// On-demand's per-day write peaks (absent in files written before they were kept).
    var onDemandPeaks: [DayPeak]?
    var shards: [ShardRecord]

    struct ShardRecord: Codable, Sendable, Equatable {
        var index: Int
        var startingHashKey: String
        var endingHashKey: String
        var parent: Int?
        var adjacentParent: Int?
        var createdAt: Instant
        var closedAt: Instant?
    }

    struct ConsumerRecord: Codable, Sendable, Equatable {
        var name: String
        var arn: String
        var createdAt: Instant
        var status: ConsumerStatus
        var statusDue: Instant?
        var tags: [String: String]
    }

    struct PendingRecord: Codable, Sendable, Equatable {
        /// activate, split, merge, updateShardCount, scaleOnDemand, mode, encryption, delete.
        var action: String
        var due: Instant
        var shard: Int?
        var adjacent: Int?
        var hashKey: String?
        var target: Int?
        var mode: StreamMode?
        var encryption: EncryptionType?
        var keyId: String?
    }
}

extension StreamRecord {
    /// The record of a stream as it is now. Call under the stream's lock (the shards' locks are taken).
    init(_ s: StreamState, _ m: StreamMeta) {
        name = s.name
        account = s.account
        region = s.region
        createdAt = s.createdAt
        status = m.status
        mode = m.mode
        retentionHours = m.retentionHours
        tags = m.tags
        encryption = m.encryption
        keyId = m.keyId
        shardLevelMetrics = m.shardLevelMetrics
        maxRecordSizeKiB = m.maxRecordSizeKiB
        warmThroughputMiBps = m.warmThroughputMiBps
        consumers = m.consumers.values.sorted { $0.name < $1.name }.map {
            ConsumerRecord(
                name: $0.name, arn: $0.arn, createdAt: $0.createdAt, status: $0.status, statusDue: $0.statusDue,
                tags: $0.tags)
        }
        pending = m.pending.map(PendingRecord.init)
        updateShardCountTimes = m.updateShardCountHistory.times
        modeSwitchTimes = m.modeSwitchHistory.times
        encryptionTimes = m.encryptionHistory.times
        let peaks = m.onDemand.peak.dailyPeaks
        onDemandPeaks = peaks.isEmpty ? nil : peaks
        shards = m.shards.map { shard in
            ShardRecord(
                index: shard.index, startingHashKey: String(shard.range.lowerBound),
                endingHashKey: String(shard.range.upperBound), parent: shard.parentIndex,
                adjacentParent: shard.adjacentParentIndex, createdAt: shard.createdAt,
                closedAt: shard.log.withLock { $0.closedAt })
        }
    }

    /// Checks what a hand-edited or damaged file could break: shard indices, ranges, lineage.
    func validated(path: String) throws(StorageError) -> StreamRecord {
        func bad(_ why: String) -> StorageError { StorageError(.corrupt, path: path, reason: why) }
        guard format == 1 else { throw bad("format \(format) is not one this ktop reads") }
        guard Validator.matches(name, Validator.streamNamePattern), (1...128).contains(name.count) else {
            throw bad("stream name '\(name)' is not valid")
        }
        guard !shards.isEmpty else { throw bad("the stream has no shards") }
        for (i, shard) in shards.enumerated() {
            guard shard.index == i else { throw bad("shard \(i) is recorded as \(shard.index)") }
            guard let lo = UInt128(shard.startingHashKey), let hi = UInt128(shard.endingHashKey), lo <= hi else {
                throw bad("shard \(i) has no valid hash key range")
            }
            for p in [shard.parent, shard.adjacentParent].compactMap({ $0 }) where !(0..<i).contains(p) {
                throw bad("shard \(i) names parent \(p), which is not an older shard")
            }
        }
        return self
    }
}

extension StreamRecord.PendingRecord {
    init(_ change: PendingChange) {
        due = change.due
        switch change.action {
        case .activate: action = "activate"
        case .split(let shard, let at):
            action = "split"
            self.shard = shard
            hashKey = String(at)
        case .merge(let shard, let adjacent):
            action = "merge"
            self.shard = shard
            self.adjacent = adjacent
        case .updateShardCount(let target):
            action = "updateShardCount"
            self.target = target
        case .scaleOnDemand(let target):
            action = "scaleOnDemand"
            self.target = target
        case .mode(let mode):
            action = "mode"
            self.mode = mode
        case .encryption(let type, let keyId):
            action = "encryption"
            encryption = type
            self.keyId = keyId
        case .delete: action = "delete"
        }
    }

    /// The change, or nil if the record does not describe one of a stream with `shardCount` shards.
    func change(shardCount: Int) -> PendingChange? {
        let shardOK = { (i: Int?) in i.map { (0..<shardCount).contains($0) } ?? false }
        let action: PendingChange.Action
        switch self.action {
        case "activate": action = .activate
        case "split":
            guard shardOK(shard), let key = hashKey.flatMap(UInt128.init) else { return nil }
            action = .split(shard: shard!, at: key)
        case "merge":
            guard shardOK(shard), shardOK(adjacent) else { return nil }
            action = .merge(shard: shard!, adjacent: adjacent!)
        case "updateShardCount":
            guard let target, target >= 1 else { return nil }
            action = .updateShardCount(target: target)
        case "scaleOnDemand":
            guard let target, target >= 1 else { return nil }
            action = .scaleOnDemand(target: target)
        case "mode":
            guard let mode else { return nil }
            action = .mode(mode)
        case "encryption":
            guard let encryption else { return nil }
            action = .encryption(encryption, keyId: keyId)
        case "delete": action = .delete
        default: return nil
        }
        return PendingChange(due: due, action: action)
    }
}

/// An account's settings in one region as `service.json` holds them.
struct ServiceRecord: Codable, Sendable, Equatable {
    var format = 1
    var account: String
    var region: String
    var policies: [String: String]
    var accountSettings: MinimumThroughputBillingCommitmentOutput?
}
