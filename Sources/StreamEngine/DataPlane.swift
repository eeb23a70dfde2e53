import Foundation

// PutRecord, PutRecords, GetShardIterator and GetRecords: the hot paths.
// Each takes the stream's read lock and the lock of the shard it touches,
// never a lock shared by all streams or shards.

/// Records one read returned, and where the next read starts.
struct ReadBatch {
    var records: [Record] = []
    var bytes = 0
    var lastArrival: Int64?
    var next: Int64

    init(next: Int64) { self.next = next }

    /// Adds one retained record (from memory or disk) as the wire shapes it.
    mutating func append(
        _ shard: ShardState, position: Int64, arrivalMillis: Int64, data: Data, partitionKey: String,
        encrypted: Bool, size: Int
    ) {
        // Formatted only if someone reads it: the wire encoders write the digits in place.
        let sequence = LazySequenceNumber(shard.sequenceNumber(position: position, arrivalMillis: arrivalMillis))
        records.append(
            Record(
                sequenceNumber: sequence,
                approximateArrivalTimestamp: Instant(millisecondsSinceEpoch: arrivalMillis).date,
                data: data, partitionKey: partitionKey, encryptionType: encrypted ? .kms : EncryptionType.none))
        bytes += size
        lastArrival = arrivalMillis
    }

    /// How far behind the newest record the reader is after this batch (MillisBehindLatest).
    func behind(_ log: ShardLog, now: Instant) -> Int64 {
        if let r = log.record(at: next) { return max(0, now.millisecondsSinceEpoch - r.arrivalMillis) }
        // Still on disk: the age of what was just read is the best figure at hand.
        if next < log.firstPosition, let lastArrival { return max(0, now.millisecondsSinceEpoch - lastArrival) }
        return 0
    }
}

/// One record accepted by the put path, before it is formatted for the wire.
struct Accepted {
    var shard: ShardState
    var sequence: SequenceNumber
}

extension KinesisService {

    // MARK: - Put

    public func putRecord(_ input: PutRecordInput) throws(KinesisError) -> PutRecordOutput {
        var v = Validator()
        v.string(input.sequenceNumberForOrdering, "sequenceNumberForOrdering", pattern: Validator.sequenceNumberPattern)
        v.string(input.partitionKey, "partitionKey", required: true, length: 1...limits.partitionKeyMaxLength)
        v.string(input.explicitHashKey, "explicitHashKey", pattern: Validator.hashKeyPattern)
        v.blob(input.data, "data", required: true, maxLength: limits.maxRecordSizeKiBRange.upperBound * 1024)
        v.streamName(input.streamName)
        v.streamARN(input.streamARN)
        let (data, partitionKey) = try v.check(input.data, input.partitionKey)
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        if let ordering = input.sequenceNumberForOrdering, SequenceNumber(ordering) == nil {
            throw .invalidSequenceNumberForOrdering(ordering, s.name, account)
        }
        let entry = PutRecordsRequestEntry(
            data: data, explicitHashKey: input.explicitHashKey, partitionKey: partitionKey)
        var result: Result<Accepted, KinesisError>?
        let encryption = try put([entry], into: s, now: now) { _, r in result = r }
        let size = data.count + partitionKey.utf8.count
        s.counters.withLock { c in
            if case .success = result! {
                c.putRecordSuccess += 1
                c.putRecordBytes += Int64(size)
            } else {
                c.putRecordThrottled += 1
            }
        }
        switch result! {
        case .success(let a):
            return PutRecordOutput(
                shardId: a.shard.shardId, sequenceNumber: LazySequenceNumber(a.sequence), encryptionType: encryption)
        case .failure(let e):
            throw e
        }
    }

    public func putRecords(_ input: PutRecordsInput) throws(KinesisError) -> PutRecordsOutput {
        var v = Validator()
        v.list(
            input.records, "records", required: true, count: 1...limits.putRecordsMaxRecords,
            memberDescription: "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310")
        let maxData = limits.maxRecordSizeKiBRange.upperBound * 1024
        let keyLength = 1...limits.partitionKeyMaxLength
        for (i, r) in (input.records ?? []).enumerated() where v.errors.count < 10 {
            // A well-formed entry adds no error: skip building its member paths
            // (three string allocations per record, a fifth of the put path).
            if let d = r.data, d.count <= maxData, let k = r.partitionKey, r.explicitHashKey == nil,
                keyLength.contains(k.utf16.count)
            {
                continue
            }
            let p = "records.\(i + 1).member"
            v.blob(r.data, p + ".data", required: true, maxLength: limits.maxRecordSizeKiBRange.upperBound * 1024)
            v.string(r.partitionKey, p + ".partitionKey", required: true, length: 1...limits.partitionKeyMaxLength)
            v.string(r.explicitHashKey, p + ".explicitHashKey", pattern: Validator.hashKeyPattern)
        }
        v.streamName(input.streamName)
        v.streamARN(input.streamARN)
        let records = try v.check(input.records)
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        // 5 MiB per request, or 10 MiB on a stream that accepts large records
        // (MaxRecordSizeInKiB above 1024; KINESIS.md §3).
        let total = records.reduce(0) { $0 + $1.data!.count + $1.partitionKey!.utf8.count }
        let cap =
            s.meta.read { $0.maxRecordSizeKiB } > limits.defaultMaxRecordSizeKiB
            ? limits.maxRecordSizeKiBRange.upperBound * 1024 : limits.putRecordsMaxBytes
        if total > cap { throw .putRecordsTooLarge(size: total, limit: cap) }
        var out = [PutRecordsResultEntry](repeating: PutRecordsResultEntry(), count: records.count)
        var failed = 0
        var injected = 0
        // --faults record-failure: drawn before the put, which stores none of the failed entries.
        let failing = engine.faults?.failedRecords(count: records.count)
        let encryption = try put(records, into: s, now: now, failing: failing) { i, r in
            switch r {
            case .success(let a):
                out[i] = PutRecordsResultEntry(sequenceNumber: LazySequenceNumber(a.sequence), shardId: a.shard.shardId)
            case .failure(let e) where e.type == .internalFailure:
                // Per-entry codes drop the "Exception" suffix (KINESIS.md §2.3, PutRecords).
                out[i] = PutRecordsResultEntry(errorCode: "InternalFailure", errorMessage: e.message)
                injected += 1
            case .failure(let e):
                out[i] = PutRecordsResultEntry(errorCode: e.type.rawValue, errorMessage: e.message)
                failed += 1
            }
        }
        var storedBytes: Int64 = 0
        for (i, r) in records.enumerated() where out[i].errorCode == nil {
            storedBytes += Int64(r.data!.count + r.partitionKey!.utf8.count)
        }
        s.counters.withLock { c in
            c.putRecordsCalls += 1
            if failed + injected < records.count { c.putRecordsSuccess += 1 }
            c.putRecordsBytes += storedBytes
            c.putRecordsTotalRecords += Int64(records.count)
            c.putRecordsSuccessfulRecords += Int64(records.count - failed - injected)
            c.putRecordsThrottledRecords += Int64(failed)
        }
        return PutRecordsOutput(failedRecordCount: failed + injected, records: out, encryptionType: encryption)
    }

    /// Routes, charges and appends a batch. Request-level errors (stream not
    /// writable, a bad hash key, an oversized record) throw before anything is
    /// written; per-record throttling is reported through `result`.
    /// Records are grouped by shard so each shard's lock is taken once per batch.
    /// `failing` marks entries that fail with InternalFailure (injected faults): never stored, no sequence number.
    func put(
        _ records: [PutRecordsRequestEntry], into s: StreamState, now: Instant, failing: [Bool]? = nil,
        result: (Int, Result<Accepted, KinesisError>) -> Void
    ) throws(KinesisError) -> EncryptionType {
        let enforce = limits.enforcesThroughput
        var added = 0
        let encryption = try s.meta.read { (m: StreamMeta) throws(KinesisError) -> EncryptionType in
            guard m.status == .active || m.status == .updating else { throw .streamNotFound(s.name, account) }
            let maxSize = m.maxRecordSizeKiB * 1024
            var hashes = [UInt128](repeating: 0, count: records.count)
            for (i, r) in records.enumerated() {
                let size = r.data!.count + r.partitionKey!.utf8.count
                if size > maxSize {
                    throw .recordTooLarge(index: records.count > 1 ? i : nil, size: size, limit: maxSize)
                }
                if let ehk = r.explicitHashKey {
                    guard let h = HashKey.parse(ehk) else { throw .invalidExplicitHashKey(ehk) }
                    hashes[i] = h
                } else {
                    hashes[i] = HashKey.of(partitionKey: r.partitionKey!)
                }
            }
            // Group by open shard, keeping request order within each shard: a
            // counting sort into one index array (no array per shard, which cost
            // an allocation per touched shard: most of a call on 1,000 shards).
            let shardCount = m.open.count
            var groupOfShard = [Int32](repeating: -1, count: shardCount)
            var groupOfRecord = [Int32](repeating: 0, count: records.count)
            var groupShards: [Int] = []
            var groupEnds: [Int] = []
            for i in records.indices {
                let slot = m.routeIndex(hashes[i])
                var g = groupOfShard[slot]
                if g < 0 {
                    g = Int32(groupShards.count)
                    groupOfShard[slot] = g
                    groupShards.append(slot)
                    groupEnds.append(0)
                }
                groupOfRecord[i] = g
                groupEnds[Int(g)] += 1
            }
            var total = 0
            for g in groupEnds.indices {
                total += groupEnds[g]
                groupEnds[g] = total
            }
            var order = [Int](repeating: 0, count: records.count)
            var fill = [Int](repeating: 0, count: groupEnds.count)
            for g in groupEnds.indices { fill[g] = g == 0 ? 0 : groupEnds[g - 1] }
            for i in records.indices {
                let g = Int(groupOfRecord[i])
                order[fill[g]] = i
                fill[g] += 1
            }
            let encrypted = m.encryption == .kms
            // Positions of accepted records (-1: refused), filled under the shard lock.
            var positions = [Int64](repeating: -1, count: records.count)
            // Records past the quotas (by slot in `order`), and those the data directory could not
            // take (by record): one array each per call, none per shard.
            var admitted = [Bool](repeating: false, count: records.count)
            var unwritten = [Bool](repeating: false, count: records.count)
            var syncs: [(store: ShardStore, generation: UInt64, range: Range<Int>)] = []
            var arrivals = [Int64](repeating: 0, count: groupShards.count)
            let metadataOnDisk = m.storage == nil || m.persisted != nil
            for g in groupShards.indices {
                let shard = m.open[groupShards[g]]
                let range = (g == 0 ? 0 : groupEnds[g - 1])..<groupEnds[g]
                arrivals[g] = shard.log.withLock { log -> Int64 in
                    // Arrival times never decrease within a shard; `now` is fixed for the call.
                    let arrival = max(now.millisecondsSinceEpoch, log.lastArrivalMillis)
                    var count = 0
                    for k in range {
                        let i = order[k]
                        let size = records[i].data!.count + records[i].partitionKey!.utf8.count
                        if let failing, failing[i] { continue }
                        if enforce, !admit(&log, size: size, now: now) { continue }
                        admitted[k] = true
                        count += 1
                    }
                    if let store = shard.store, count > 0 {
                        // Written before anything is acked or readable.
                        var batch = SegmentBatch()
                        for k in range where admitted[k] {
                            let r = records[order[k]]
                            batch.add(
                                seqIndex: log.nextPosition + Int64(batch.count) + 1, arrivalMillis: arrival,
                                encrypted: encrypted, partitionKey: r.partitionKey!, data: r.data!)
                        }
                        do throws(StorageError) {
                            if !metadataOnDisk {
                                throw s.metadataFailure.withLock { $0 }
                                    ?? StorageError(
                                        .io, path: (m.storage?.path ?? "") + "/stream.json",
                                        reason: "not written yet")
                            }
                            let generation = try store.append(batch)
                            syncs.append((store, generation, range))
                            engine.dataDirectory?.written(store)
                        } catch {
                            for k in range where admitted[k] {
                                unwritten[order[k]] = true
                                admitted[k] = false
                            }
                            engine.storageTrouble(error, stream: s, shard: shard, time: now)
                        }
                    }
                    for k in range where admitted[k] {
                        let i = order[k]
                        let r = records[i]
                        let data = r.data!
                        let key = r.partitionKey!
                        let size = data.count + key.utf8.count
                        log.lastArrivalMillis = arrival
                        positions[k] = log.nextPosition
                        log.records.append(
                            StoredRecord(
                                arrivalMillis: arrival, data: data, partitionKey: key,
                                encrypted: encrypted, size: size))
                        let resident = StoredRecord.residentBytes(dataCount: data.count, keyUTF8Count: key.utf8.count)
                        log.retainedBytes += resident
                        log.counters.incomingBytes += Int64(size)
                        log.counters.incomingRecords += 1
                        if KPLFormat.mayBeAggregate(data), let users = KPLFormat.decode(data) {
                            // A KPL aggregate: the hot keys and the split advice are about the
                            // user records inside it, as a KCL consumer sees them.
                            for u in users {
                                let hash =
                                    u.explicitHashKey.flatMap(HashKey.parse) ?? HashKey.of(partitionKey: u.partitionKey)
                                let userSize = u.data.count + u.partitionKey.utf8.count
                                log.keys.record(hash: hash, key: u.partitionKey, size: userSize, second: arrival / 1000)
                                log.hashKeys.record(hash: hash, size: userSize)
                            }
                            log.counters.aggregatedUserRecords += Int64(users.count)
                        } else {
                            log.keys.record(hash: hashes[i], key: key, size: size, second: arrival / 1000)
                            log.hashKeys.record(hash: hashes[i], size: size)
                        }
                        log.counters.putPayloadUnits += Int64(
                            (size + ShardCounters.putPayloadUnitBytes - 1) / ShardCounters.putPayloadUnitBytes)
                        log.counters.billedKiB += Int64((size + 1023) / 1024)
                        added += resident
                    }
                    return arrival
                }
            }
            if case .always = engine.dataDirectory?.configuration.fsync, !syncs.isEmpty {
                // Durable before acked. Records whose sync failed are in memory but never shown
                // (readers stop at the durable end) and never acked.
                let failed = engine.makeDurable(syncs.map { ($0.store, $0.generation) })
                for (sync, error) in zip(syncs, failed) {
                    guard let error else { continue }
                    for k in sync.range where positions[k] >= 0 { unwritten[order[k]] = true }
                    engine.storageTrouble(error, stream: s, shard: nil, time: now)
                }
            }
            for g in groupShards.indices {
                let shard = m.open[groupShards[g]]
                let range = (g == 0 ? 0 : groupEnds[g - 1])..<groupEnds[g]
                for k in range {
                    let position = positions[k]
                    if unwritten[order[k]] {
                        result(order[k], .failure(.storageFailure()))
                    } else if position < 0, let failing, failing[order[k]] {
                        result(order[k], .failure(KinesisError(.internalFailure, KinesisError.internalFailureMessage)))
                    } else if position < 0 {
                        result(order[k], .failure(.shardRate(shard.shardId, s.name, account)))
                    } else {
                        let sequence = shard.sequenceNumber(position: position, arrivalMillis: arrivals[g])
                        result(order[k], .success(Accepted(shard: shard, sequence: sequence)))
                    }
                }
            }
            return m.encryption
        }
        if added > 0 { memoryBackstop(after: added, in: s, now: now) }
        return encryption
    }

    /// Charges one record against the shard's write quota (``ShardWriteQuota``: 1 MiB/s and
    /// 1,000 records/s in every trailing second, and the large-record burst allowance of
    /// KINESIS.md §3), counting a refusal under the limit that refused it.
    func admit(_ log: inout ShardLog, size: Int, now: Instant) -> Bool {
        let verdict = log.write.admit(size: size, now: now)
        guard verdict.admitted else {
            log.counters.writeThrottledRecords += 1
            log.counters.writeThrottledBytes += Int64(size)
            if !verdict.bytesOK { log.counters.writeThrottledByBytes += 1 }
            if !verdict.recordsOK { log.counters.writeThrottledByRecords += 1 }
            return false
        }
        return true
    }

    /// Keeps memory bounded even between ticks: past 1.125× the budget, the
    /// writing stream's oldest records are trimmed at once (and reported).
    func memoryBackstop(after added: Int, in s: StreamState, now: Instant) {
        let total = engine.retainedBytes.wrappingAdd(added, ordering: .relaxed).newValue
        let budget = engine.configuration.retainedBytesBudget
        guard total > budget + budget / 8 else { return }
        let excess = total - budget
        let lost = KinesisEngine.evictOldest(s.meta.read { $0.shards }, bytes: excess)
        let evicted = (records: lost.reduce(0) { $0 + $1.records }, bytes: lost.reduce(0) { $0 + $1.bytes })
        let shardIds = lost.map(\.shard.shardId)
        engine.retainedBytes.wrappingSubtract(evicted.bytes, ordering: .relaxed)
        if evicted.records > 0 {
            event(
                s, .recordsEvicted, now, shards: shardIds,
                s.meta.read { $0.storage } == nil
                    ? "Memory budget exceeded: trimmed \(evicted.records) oldest records (\(evicted.bytes) bytes) "
                        + "of \(s.name) early"
                    : "Memory window full: the \(evicted.records) oldest records of \(s.name) are now read from disk")
        }
    }

    /// Drops records past the stream's retention period from every shard and
    /// reports it in the event log (one event per call that trimmed anything).
    func expire(_ s: StreamState, _ now: Instant) {
        var freed = 0
        var records: Int64 = 0
        var payload: Int64 = 0
        var diskFreed: Int64 = 0
        var diskSegments = 0
        var shardIds: [String] = []
        var hours = 0
        s.meta.read { m in
            hours = m.retentionHours
            let cutoff = now.millisecondsSinceEpoch - Int64(m.retentionHours) * 3_600_000
            for shard in m.shards {
                let (resident, n, bytes) = shard.log.withLock { log -> (Int, Int64, Int64) in
                    let before = log.counters
                    let resident = log.expire(before: cutoff)
                    // On disk retention deletes whole segments, once all their records are past it.
                    if let trimmed = shard.store?.trim(before: cutoff), trimmed.records > 0 {
                        diskFreed += trimmed.bytes
                        diskSegments += 1
                    }
                    return (
                        resident, log.counters.expiredRecords - before.expiredRecords,
                        log.counters.expiredBytes - before.expiredBytes
                    )
                }
                if n > 0 { shardIds.append(shard.shardId) }
                freed += resident
                records += n
                payload += bytes
            }
        }
        if freed > 0 { engine.retainedBytes.wrappingSubtract(freed, ordering: .relaxed) }
        if records > 0 {
            event(
                s, .recordsExpired, now, shards: shardIds,
                "Retention (\(hours) h): \(records) records (\(payload) bytes) of \(s.name) expired")
        }
        if diskFreed > 0 {
            event(
                s, .recordsExpired, now,
                "Retention (\(hours) h): segment files of \(diskSegments) shard(s) of \(s.name) deleted "
                    + "(\(diskFreed) bytes)")
        }
    }

    /// Records from `position` on, as the wire shapes them: from disk while `position` is below
    /// the memory window (one batch from one place), then from memory up to `end`. Called
    /// under the shard's lock, as GetRecords and SubscribeToShard read.
    func readRecords(
        _ shard: ShardState, _ log: ShardLog, from start: Int64, end: Int64, limit: Int, maxBytes: Int,
        cutoff: Int64, stream s: StreamState, now: Instant
    ) throws(KinesisError) -> ReadBatch {
        var batch = ReadBatch(next: max(start, shard.oldestReadablePosition(log)))
        if let store = shard.store, batch.next < log.firstPosition {
            let found: (entries: [LogEntry], next: Int64)
            do throws(StorageError) {
                found = try store.read(
                    from: batch.next, before: log.firstPosition, limit: limit, maxBytes: maxBytes,
                    notBefore: cutoff)
            } catch {
                engine.storageTrouble(error, stream: s, shard: shard, time: now)
                throw .storageFailure()
            }
            for e in found.entries {
                batch.append(
                    shard, position: e.position, arrivalMillis: e.arrivalMillis, data: e.data,
                    partitionKey: e.partitionKey, encrypted: e.encrypted, size: e.size)
            }
            batch.next = found.next
            if !found.entries.isEmpty || batch.next < log.firstPosition { return batch }
        }
        var position = max(batch.next, log.firstPosition)
        batch.records.reserveCapacity(max(0, min(limit, Int(clamping: end - position))))
        while position < end, batch.records.count < limit {
            let r = log.records[Int(position - log.firstPosition)]
            if !batch.records.isEmpty && batch.bytes + r.size > maxBytes { break }
            batch.append(
                shard, position: position, arrivalMillis: r.arrivalMillis, data: r.data,
                partitionKey: r.partitionKey, encrypted: r.encrypted, size: r.size)
            position += 1
        }
        batch.next = max(position, batch.next)
        return batch
    }

    // MARK: - Iterators

    public func getShardIterator(_ input: GetShardIteratorInput) throws(KinesisError) -> GetShardIteratorOutput {
        try getShardIterator(input, charge: true)
    }

    /// `charge: false` is SubscribeToShard reusing the position rules without
    /// spending the GetShardIterator quota.
    func getShardIterator(_ input: GetShardIteratorInput, charge: Bool) throws(KinesisError) -> GetShardIteratorOutput {
        var v = Validator()
        v.string(input.shardId, "shardId", required: true, length: 1...128, pattern: Validator.streamNamePattern)
        v.enumValue(input.shardIteratorType, "shardIteratorType", required: true)
        v.string(input.startingSequenceNumber, "startingSequenceNumber", pattern: Validator.sequenceNumberPattern)
        v.streamName(input.streamName)
        v.streamARN(input.streamARN)
        let (requested, type) = try v.check(input.shardId, input.shardIteratorType)
        let hasSequence = input.startingSequenceNumber != nil
        switch type {
        case .atSequenceNumber, .afterSequenceNumber:
            if !hasSequence { throw .iteratorTypeMismatch(type, hasSequence: false) }
        case .trimHorizon, .latest:
            if hasSequence { throw .iteratorTypeMismatch(type, hasSequence: true) }
            if input.timestamp != nil { throw .timestampWithWrongType(type) }
        default:
            if hasSequence { throw .iteratorTypeMismatch(type, hasSequence: true) }
            if input.timestamp == nil { throw .missingTimestamp() }
        }
        let now = clock.now()
        // Kinesis looks the shard up, so a missing stream reads as a missing shard.
        func missing(_ stream: String) -> KinesisError {
            guard let index = ShardID.index(requested) else { return .shardIdUnknown(requested, stream, account) }
            return .shardNotFound(ShardID.string(index), stream, account)
        }
        let s: StreamState
        do { s = try resolve(name: input.streamName, arn: input.streamARN, now: now) } catch
            where error.type == .resourceNotFound
        {
            throw missing(input.streamName ?? input.streamARN.flatMap { ARN.stream($0)?.stream } ?? "")
        }
        let position = try s.meta.read { (m: StreamMeta) throws(KinesisError) -> (Int, Int64) in
            guard m.status != .creating, let index = ShardID.index(requested), let shard = m.shard(index),
                listedShards(m, now: now, retentionHours: m.retentionHours).contains(where: { $0 === shard })
            else { throw missing(s.name) }
            var sequence: SequenceNumber?
            if let text = input.startingSequenceNumber {
                guard let seq = SequenceNumber(text) else {
                    // A small number reads as Kinesis's oldest (version 0) format, whose low 16 bits name a
                    // shard: AWS answered "It encodes shardId-…" for `5` on another shard (kinesalite's
                    // live-AWS getShardIterator.js).
                    if let small = UInt128(text), small < (1 << 124), case let encoded = Int(small & 0xFFFF),
                        encoded != shard.index
                    {
                        throw .sequenceFromOtherShard(encoded: ShardID.string(encoded), used: shard.shardId)
                    }
                    throw KinesisError(
                        .invalidArgument,
                        "StartingSequenceNumber \(text) used in GetShardIterator on shard \(shard.shardId) in "
                            + "stream \(s.name) under account \(account) is invalid."
                    )
                }
                if Int(seq.shardIndex) != shard.index {
                    throw .sequenceFromOtherShard(encoded: seq.shardId, used: shard.shardId)
                }
                if seq.shardCreateSeconds != shard.createSeconds {
                    throw .sequenceFromOtherStream(text, shard: shard.shardId, s.name, account)
                }
                sequence = seq
            }
            let cutoff = now.millisecondsSinceEpoch - Int64(m.retentionHours) * 3_600_000
            return try shard.log.withLock { (log: inout ShardLog) throws(KinesisError) -> (Int, Int64) in
                if charge { log.counters.getShardIteratorCalls += 1 }
                if charge, limits.enforcesThroughput, !log.iteratorCalls.tryTake(now) {
                    log.counters.getShardIteratorThrottled += 1
                    throw .getShardIteratorRate(shard.shardId, s.name, account)
                }
                let freed = log.expire(before: cutoff)
                if freed > 0 { engine.retainedBytes.wrappingSubtract(freed, ordering: .relaxed) }
                let end = log.nextPosition
                switch type {
                case .trimHorizon: return (index, shard.oldestReadablePosition(log))
                case .latest: return (index, end)
                case .atSequenceNumber:
                    guard let seq = sequence else { throw .iteratorTypeMismatch(type, hasSequence: false) }
                    return (
                        index, seq.seqIndex == SequenceNumber.endIndex ? end : min(Int64(max(seq.seqIndex, 1) - 1), end)
                    )
                case .afterSequenceNumber:
                    guard let seq = sequence else { throw .iteratorTypeMismatch(type, hasSequence: false) }
                    return (index, seq.seqIndex == SequenceNumber.endIndex ? end : min(Int64(seq.seqIndex), end))
                default:
                    guard let timestamp = input.timestamp else { throw .missingTimestamp() }
                    let t = Instant(timestamp).millisecondsSinceEpoch
                    if t > now.millisecondsSinceEpoch { throw .futureTimestamp(t, now.millisecondsSinceEpoch) }
                    if let store = shard.store, t < log.records.first?.arrivalMillis ?? .max {
                        // Older than the memory window: the disk knows where it starts.
                        do throws(StorageError) {
                            if let p = try store.position(atOrAfter: max(t, cutoff)), p < log.firstPosition {
                                return (index, p)
                            }
                        } catch {
                            engine.storageTrouble(error, stream: s, shard: shard, time: now)
                            throw .storageFailure()
                        }
                    }
                    return (index, log.position(atOrAfter: t))
                }
            }
        }
        let token = ShardIteratorToken(
            issuedAtMillis: now.millisecondsSinceEpoch, incarnation: s.incarnation,
            shardIndex: position.0, position: position.1, account: account, region: region, stream: s.name)
        return GetShardIteratorOutput(shardIterator: token.encode(key: engine.tokenKey))
    }

    // MARK: - GetRecords

    public func getRecords(_ input: GetRecordsInput) throws(KinesisError) -> GetRecordsOutput {
        var v = Validator()
        v.int(input.limit, "limit", range: 1...limits.getRecordsMaxRecords)
        v.string(input.shardIterator, "shardIterator", required: true, length: 1...512)
        v.streamARN(input.streamARN)
        let shardIterator = try v.check(input.shardIterator)
        let now = clock.now()
        guard let token = ShardIteratorToken.decode(shardIterator, key: engine.tokenKey),
            token.account == account, token.region == region
        else { throw .invalidShardIterator() }
        if now.millisecondsSinceEpoch - token.issuedAtMillis > limits.shardIteratorLifetimeMilliseconds {
            throw .iteratorExpired(created: Instant(millisecondsSinceEpoch: token.issuedAtMillis), now: now)
        }
        if let arn = input.streamARN, ARN.stream(arn)?.stream != token.stream {
            throw KinesisError(.invalidArgument, "StreamARN \(arn) does not match the stream of the shard iterator.")
        }
        guard let s = registry.read({ $0[token.stream] }), s.incarnation == token.incarnation, !isGone(s, now) else {
            throw .shardNotFound(ShardID.string(token.shardIndex), token.stream, account)
        }
        settle(s, now)
        let limit = input.limit ?? limits.getRecordsMaxRecords
        let maxBytes = limits.getRecordsMaxBytes
        let enforce = limits.enforcesThroughput
        return try s.meta.read { (m: StreamMeta) throws(KinesisError) -> GetRecordsOutput in
            guard let shard = m.shard(token.shardIndex) else {
                throw .shardNotFound(ShardID.string(token.shardIndex), s.name, account)
            }
            let cutoff = now.millisecondsSinceEpoch - Int64(m.retentionHours) * 3_600_000
            let read = try shard.log.withLock {
                (
                    log: inout ShardLog
                ) throws(KinesisError) -> (records: [Record], next: Int64, atEnd: Bool, behind: Int64) in
                if enforce {
                    guard log.readBytes.isSolvent(now), log.readCalls.tryTake(now) else {
                        log.counters.readThrottledCalls += 1
                        throw .shardRate(shard.shardId, s.name, account)
                    }
                }
                let freed = log.expire(before: cutoff)
                if freed > 0 { engine.retainedBytes.wrappingSubtract(freed, ordering: .relaxed) }
                log.counters.getRecordsCalls += 1
                let end = shard.readableEnd(log)
                let batch = try readRecords(
                    shard, log, from: token.position, end: end, limit: limit, maxBytes: maxBytes,
                    cutoff: cutoff, stream: s, now: now)
                let (out, bytes, position) = (batch.records, batch.bytes, batch.next)
                if enforce && bytes > 0 { log.readBytes.spend(Int64(bytes), now) }
                log.counters.outgoingBytes += Int64(bytes)
                log.counters.outgoingRecords += Int64(out.count)
                if let lastArrival = batch.lastArrival {
                    log.counters.iteratorAgeMilliseconds = max(0, now.millisecondsSinceEpoch - lastArrival)
                } else if position >= end {
                    log.counters.iteratorAgeMilliseconds = 0
                }
                let behind = batch.behind(log, now: now)
                return (out, position, log.closedAt != nil && position >= end, behind)
            }
            if read.atEnd {
                return GetRecordsOutput(
                    records: read.records, nextShardIterator: nil, millisBehindLatest: 0,
                    childShards: childShards(of: shard.index, m))
            }
            let next = ShardIteratorToken(
                issuedAtMillis: now.millisecondsSinceEpoch, incarnation: s.incarnation,
                shardIndex: shard.index, position: read.next, account: account, region: region, stream: s.name)
            return GetRecordsOutput(
                records: read.records, nextShardIterator: next.encode(key: engine.tokenKey),
                millisBehindLatest: Int(read.behind), childShards: nil)
        }
    }
}
