import Foundation

extension KinesisEngine {
    /// An engine on `configuration.storage`'s data directory (or in memory without one): locks
    /// the directory and restores every stream it holds. Each shard continues its sequence
    /// counter above every number it ever handed out; its old records are read from disk.
    public static func open(
        clock: any Clock = WallClock(), configuration: EngineConfiguration
    )
        throws(StorageError) -> (engine: KinesisEngine, recovery: RecoveryReport)
    {
        guard let storage = configuration.storage else {
            return (KinesisEngine(clock: clock, configuration: configuration), RecoveryReport())
        }
        let started = ContinuousClock.now
        let directory = try DataDirectory.open(storage)
        let engine = KinesisEngine(clock: clock, configuration: configuration, dataDirectory: directory)
        do {
            var report = try engine.recover(directory)
            report.elapsed = ContinuousClock.now - started
            return (engine, report)
        } catch {
            directory.close()
            throw error
        }
    }

    private func recover(_ directory: DataDirectory) throws(StorageError) -> RecoveryReport {
        var report = RecoveryReport()
        let now = clock.now()
        for (account, region) in Set(directory.streamDirectories().map { "\($0.account)/\($0.region)" })
            .sorted().map({ key in (String(key.split(separator: "/")[0]), String(key.split(separator: "/")[1])) })
        {
            let service = service(account: account, region: region)
            let path = directory.serviceDirectory(account: account, region: region) + "/service.json"
            if let record = try DataDirectory.read(ServiceRecord.self, at: path) {
                service.policies.withLock { $0 = record.policies }
                service.accountSettings.withLock { $0 = record.accountSettings }
            }
        }
        for (account, region, path) in directory.streamDirectories() {
            guard let found = try DataDirectory.read(StreamRecord.self, at: path + "/stream.json") else {
                // CreateStream is acked only after stream.json is written: this one never was.
                directory.remove(streamDirectory: path)
                continue
            }
            let record = try found.validated(path: path + "/stream.json")
            guard DataDirectory.fileName(stream: record.name) == (path as NSString).lastPathComponent,
                  record.account == account, record.region == region else {
                throw StorageError(.corrupt, path: path + "/stream.json",
                                   reason: "names stream \(record.name) of \(record.account)/\(record.region), "
                                       + "which does not live in this folder")
            }
            let service = service(account: account, region: region)
            let stream = try service.restore(record, path: path, directory: directory, report: &report)
            for damage in report.damage where damage.path.hasPrefix(path + "/") {
                events.append(
                    time: now, account: account, region: region, stream: stream.name, kind: .storageDamaged,
                    shards: [], message: damage.message)
            }
            report.streams += 1
        }
        return report
    }

    /// Reports a write or sync the data directory refused, once per stream until the reason changes.
    func storageTrouble(_ error: StorageError, stream s: StreamState, shard: ShardState?, time: Instant) {
        let text = error.description
        let fresh = reportedTrouble.withLock { r in
            defer { r[s.arn] = text }
            return r[s.arn] != text
        }
        guard fresh else { return }
        events.append(
            time: time, account: s.account, region: s.region, stream: s.name, kind: .storageFailed,
            shards: shard.map { [$0.shardId] } ?? [],
            message: "Storage failure: \(text). Puts fail with InternalFailure; nothing unwritten is acked")
    }

    /// Syncs what a put wrote to `stores` before it acks: one fdatasync each for a few shards,
    /// one `syncfs` for many (a call touching hundreds of shards would otherwise wait for
    /// hundreds of syncs). Returns the failure per store, nil where the records are durable.
    func makeDurable(_ stores: [(store: ShardStore, generation: UInt64)]) -> [StorageError?] {
        if stores.count > 2, let directory = dataDirectory {
            let points = stores.map { $0.store.syncPoint() }
            do throws(StorageError) {
                if try directory.syncFileSystem() {
                    for (s, point) in zip(stores, points) { s.store.markSynced(point) }
                    return stores.map { _ in nil }
                }
            } catch {
                // Which file failed is unknown: every store it covered stops taking writes.
                for s in stores { s.store.markFailed(error) }
                return stores.map { _ in error }
            }
        }
        return stores.map { s in
            do throws(StorageError) {
                try s.store.sync(through: s.generation)
                return nil
            } catch { return error }
        }
    }

    /// The storage side of a tick: sync failures of the interval flusher, metadata writes to retry.
    func tickStorage(_ now: Instant) {
        guard let directory = dataDirectory else { return }
        for failure in directory.takeFlushFailures() {
            events.append(
                time: now, account: configuration.defaultAccount, region: configuration.defaultRegion,
                stream: "", kind: .storageFailed, shards: [],
                message: "Sync failed: \(failure); the shard takes no more writes until ktop restarts")
        }
        for service in allServices {
            for s in service.streamsSnapshot() where s.metadataFailure.withLock({ $0 }) != nil {
                s.meta.write { m in s.persist(&m) }
                if s.metadataFailure.withLock({ $0 }) == nil { reportedTrouble.withLock { $0[s.arn] = nil } }
            }
        }
    }

    /// Makes everything durable and releases the data directory (a graceful shutdown).
    public func close() {
        dataDirectory?.close()
    }
}

extension KinesisService {
    /// Rebuilds a stream from its metadata and its shards' segment files.
    func restore(
        _ record: StreamRecord, path: String, directory: DataDirectory, report: inout RecoveryReport
    )
        throws(StorageError) -> StreamState
    {
        let c = directory.configuration
        var shards: [ShardState] = []
        for r in record.shards {
            let opened = try ShardStore.open(
                directory: DataDirectory.shardDirectory(path, index: r.index), policy: c.fsync,
                segmentBytes: c.segmentBytes)
            report.damage += opened.damage
            report.records += opened.records
            report.bytes += opened.bytes
            report.shards += 1
            let shard = ShardState(
                index: r.index, range: UInt128(r.startingHashKey)!...UInt128(r.endingHashKey)!,
                parent: r.parent, adjacentParent: r.adjacentParent, createdAt: r.createdAt,
                limits: limits, store: opened.store,
                recovered: (opened.store.nextSeqIndex - 1, opened.store.lastArrivalMillis))
            shard.log.withLock { $0.closedAt = r.closedAt }
            shards.append(shard)
        }
        let day = Duration.seconds(86_400)
        var meta = StreamMeta(
            status: record.status, shards: shards,
            open: shards.filter { r in record.shards[r.index].closedAt == nil }
                .sorted { $0.range.lowerBound < $1.range.lowerBound },
            mode: record.mode, retentionHours: record.retentionHours,
            maxRecordSizeKiB: record.maxRecordSizeKiB, warmThroughputMiBps: record.warmThroughputMiBps,
            updateShardCountHistory: RollingWindowCounter(
                window: day, limit: limits.updateShardCountPerDay,
                times: record.updateShardCountTimes),
            modeSwitchHistory: RollingWindowCounter(
                window: day, limit: limits.streamModeSwitchesPerDay,
                times: record.modeSwitchTimes),
            encryptionHistory: RollingWindowCounter(
                window: day, limit: limits.encryptionChangesPerDay,
                times: record.encryptionTimes))
        meta.tags = record.tags
        meta.encryption = record.encryption
        meta.keyId = record.keyId
        meta.shardLevelMetrics = record.shardLevelMetrics
        meta.onDemand.peak = WritePeak(dailyPeaks: record.onDemandPeaks ?? [])
        for consumer in record.consumers {
            meta.consumers[consumer.name] = ConsumerState(
                name: consumer.name, arn: consumer.arn, createdAt: consumer.createdAt,
                status: consumer.status, statusDue: consumer.statusDue,
                tags: consumer.tags)
        }
        meta.pending = record.pending?.change(shardCount: shards.count)
        meta.storage = StreamStorage(directory: directory, path: path)
        meta.persisted = record
        let stream = StreamState(
            name: record.name, account: account, region: region, createdAt: record.createdAt,
            incarnation: engine.nextIncarnation(), meta: meta)
        registry.write { $0[record.name] = stream }
        return stream
    }

    /// Writes `service.json` (resource policies, account settings) after either changed.
    func persistServiceSettings() {
        guard let directory = engine.dataDirectory else { return }
        let record = ServiceRecord(
            account: account, region: region, policies: policies.withLock { $0 },
            accountSettings: accountSettings.withLock { $0 })
        do { try directory.write(record) } catch {
            events.append(
                time: clock.now(), account: account, region: region, stream: "", kind: .storageFailed,
                message: "Storage failure: \(error). The resource policies and account settings are kept in memory only"
            )
        }
    }
}
