import Foundation

// SplitShard, MergeShards, UpdateShardCount and ListShards, and the code that
// applies a pending change when it falls due.
extension KinesisService {

    public func splitShard(_ input: SplitShardInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.string(input.newStartingHashKey, "newStartingHashKey", required: true, pattern: Validator.hashKeyPattern)
        v.streamName(input.streamName)
        v.string(
            input.shardToSplit, "shardToSplit", required: true, length: 1...128, pattern: Validator.streamNamePattern)
        v.streamARN(input.streamARN)
        let (shardToSplit, key) = try v.check(input.shardToSplit, input.newStartingHashKey)
        try requireShardIndex(shardToSplit, streamName: input.streamName, arn: input.streamARN)
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(.splitShard, now: now)
        try s.update { (m: inout StreamMeta) throws(KinesisError) in
            if m.mode == .onDemand { throw .notInCapacityMode(.splitShard, s.name, .onDemand) }
            try requireActive(s, m)
            let shard = try openShard(shardToSplit, in: s, m)
            guard let k = HashKey.parse(key), k > shard.range.lowerBound + 1, k < shard.range.upperBound else {
                throw .invalidSplitKey(
                    key, shard: shard.shardId, s.name, account,
                    start: String(shard.range.lowerBound), end: String(shard.range.upperBound))
            }
            try checkShardLimit(adding: 1, in: s, ownOpen: m.open.count, now: now)
            m.status = .updating
            s.schedule(
                PendingChange(due: now + engine.configuration.delays.update, action: .split(shard: shard.index, at: k)),
                in: &m)
        }
        event(
            s, .streamUpdating, now, shards: [ShardID.string(ShardID.index(shardToSplit) ?? 0)],
            "SplitShard \(ShardID.string(ShardID.index(shardToSplit) ?? 0)) at \(key)")
        return EmptyOutput()
    }

    public func mergeShards(_ input: MergeShardsInput) throws(KinesisError) -> EmptyOutput {
        var v = Validator()
        v.string(
            input.shardToMerge, "shardToMerge", required: true, length: 1...128, pattern: Validator.streamNamePattern)
        v.string(
            input.adjacentShardToMerge, "adjacentShardToMerge", required: true, length: 1...128,
            pattern: Validator.streamNamePattern)
        v.streamName(input.streamName)
        v.streamARN(input.streamARN)
        let (shardToMerge, adjacentShardToMerge) = try v.check(input.shardToMerge, input.adjacentShardToMerge)
        for id in [shardToMerge, adjacentShardToMerge] {
            try requireShardIndex(id, streamName: input.streamName, arn: input.streamARN)
        }
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(.mergeShards, now: now)
        let (a, b) = try s.update { (m: inout StreamMeta) throws(KinesisError) -> (String, String) in
            if m.mode == .onDemand { throw .notInCapacityMode(.mergeShards, s.name, .onDemand) }
            try requireActive(s, m)
            let a = try openShard(shardToMerge, in: s, m)
            let b = try openShard(adjacentShardToMerge, in: s, m)
            // ShardToMerge must hold the lower range (kinesalite's AWS-run test).
            guard a.range.upperBound != UInt128.max, a.range.upperBound + 1 == b.range.lowerBound else {
                throw .notAdjacent(a.shardId, b.shardId, s.name, account)
            }
            m.status = .updating
            s.schedule(
                PendingChange(
                    due: now + engine.configuration.delays.update, action: .merge(shard: a.index, adjacent: b.index)),
                in: &m)
            return (a.shardId, b.shardId)
        }
        event(s, .streamUpdating, now, shards: [a, b], "MergeShards \(a) + \(b)")
        return EmptyOutput()
    }

    public func updateShardCount(_ input: UpdateShardCountInput) throws(KinesisError) -> UpdateShardCountOutput {
        var v = Validator()
        v.streamName(input.streamName)
        v.int(input.targetShardCount, "targetShardCount", required: true, range: 1...Int.max)
        v.enumValue(input.scalingType, "scalingType", required: true)
        v.streamARN(input.streamARN)
        let target = try v.check(input.targetShardCount)
        let now = clock.now()
        let s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        try rate(.updateShardCount, now: now)
        let current = try s.update { (m: inout StreamMeta) throws(KinesisError) -> Int in
            if m.mode == .onDemand { throw .notInCapacityMode(.updateShardCount, s.name, .onDemand) }
            try requireActive(s, m)
            let current = m.open.count
            let allowed = KinesisLimits.updateShardCountTargets(current: current)
            if target > allowed.upperBound {
                throw KinesisError(
                    .invalidArgument,
                    "UpdateShardCount cannot scale up over double your current open shard count. Current open shard "
                        + "count: \(current) Target shard count: \(target)"
                )
            }
            if target < allowed.lowerBound {
                throw KinesisError(
                    .invalidArgument,
                    "UpdateShardCount cannot scale down below half your current open shard count. Current open shard "
                        + "count: \(current) Target shard count: \(target)"
                )
            }
            if target > limits.maxShardsPerStream && current <= limits.maxShardsPerStream {
                throw KinesisError(
                    .invalidArgument,
                    "UpdateShardCount cannot scale up a stream beyond \(limits.maxShardsPerStream) shards. Current "
                        + "open shard count: \(current) Target shard count: \(target)"
                )
            }
            guard m.updateShardCountHistory.canRecord(now) else {
                throw KinesisError(
                    .limitExceeded,
                    "Stream \(s.name) under account \(account) has exceeded the limit "
                        + "of \(limits.updateShardCountPerDay) UpdateShardCount operations in a rolling 24-hour period."
                )
            }
            if target > current { try checkShardLimit(adding: target - current, in: s, ownOpen: current, now: now) }
            m.updateShardCountHistory.record(now)
            m.status = .updating
            s.schedule(
                PendingChange(due: now + engine.configuration.delays.update, action: .updateShardCount(target: target)),
                in: &m)
            return current
        }
        event(s, .streamUpdating, now, "UpdateShardCount \(s.name): \(current) → \(target)")
        return UpdateShardCountOutput(
            streamName: s.name, currentShardCount: current, targetShardCount: target, streamARN: s.arn)
    }

    /// SplitShard and MergeShards read a shard id before they look the stream up: one with no
    /// index Kinesis can read (`ABKLFD8`, `2.14E4`, `2147483648`) is "Could not find shard" even in
    /// a stream that does not exist (kinesalite's tests, run against Kinesis: KINESIS.md §0).
    private func requireShardIndex(_ id: String, streamName: String?, arn: String?) throws(KinesisError) {
        guard ShardID.index(id) == nil else { return }
        throw .shardIdUnknown(id, streamName ?? arn.flatMap { ARN.stream($0)?.stream } ?? "", account)
    }

    /// The open shard SplitShard or MergeShards names; a missing one is "Could not find shard",
    /// in its normalised id, as those two operations say it (GetShardIterator says "does not exist").
    private func openShard(_ id: String, in s: StreamState, _ m: StreamMeta) throws(KinesisError) -> ShardState {
        guard let index = ShardID.index(id), let shard = m.shard(index) else {
            throw .shardIdUnknown(ShardID.index(id).map(ShardID.string) ?? id, s.name, account)
        }
        if shard.log.withLock({ $0.closedAt }) != nil { throw .shardClosed(shard.shardId, s.name, account) }
        return shard
    }

    /// The account-wide shard quota. The caller holds `stream`'s write lock,
    /// so that stream's own open shards are passed in rather than read.
    private func checkShardLimit(adding n: Int, in stream: StreamState, ownOpen: Int, now: Instant) throws(KinesisError)
    {
        var current = ownOpen
        for s in streamsSnapshot() where s !== stream && !isGone(s, now) {
            current += s.meta.read { $0.mode == .provisioned ? $0.open.count : 0 }
        }
        if n > limits.shardLimit(region: region) - current {
            throw .shardLimit(
                account: account, region: region, current: current, limit: limits.shardLimit(region: region),
                additional: n)
        }
    }

    // MARK: - ListShards

    public func listShards(_ input: ListShardsInput) throws(KinesisError) -> ListShardsOutput {
        var v = Validator()
        v.streamName(input.streamName)
        v.string(input.nextToken, "nextToken", length: KinesisLimits.nextTokenLength)
        v.string(
            input.exclusiveStartShardId, "exclusiveStartShardId", length: 1...128, pattern: Validator.streamNamePattern)
        v.int(input.maxResults, "maxResults", range: 1...10_000)
        v.enumValue(input.shardFilter?.type, "shardFilter.type", required: input.shardFilter != nil)
        v.string(
            input.shardFilter?.shardId, "shardFilter.shardId", length: 1...128, pattern: Validator.streamNamePattern)
        v.streamARN(input.streamARN)
        try v.check()
        let now = clock.now()
        var filter = input.shardFilter
        var after = input.exclusiveStartShardId.flatMap(ShardID.index) ?? -1
        let s: StreamState
        if let tokenText = input.nextToken {
            if input.streamName != nil || input.exclusiveStartShardId != nil || input.streamCreationTimestamp != nil {
                throw .nextTokenWithStreamName()
            }
            guard let t = PageToken.decode(tokenText, key: engine.tokenKey), t.kind == .listShards, let name = t.stream
            else {
                throw .invalidNextToken()
            }
            if now.millisecondsSinceEpoch - t.issuedAtMillis > limits.nextTokenLifetimeMilliseconds {
                throw .expiredNextToken()
            }
            s = try resolve(name: name, arn: nil, now: now)
            guard s.incarnation == t.incarnation else { throw .invalidNextToken() }
            after = Int(t.after) ?? -1
            filter = t.filterType.map {
                ShardFilter(
                    type: ShardFilterType(rawValue: $0), shardId: t.filterShardId,
                    timestamp: t.filterTimestampMillis.map { Instant(millisecondsSinceEpoch: $0).date })
            }
        } else {
            if input.streamName == nil && input.streamARN == nil { throw .nextTokenOrStreamName() }
            s = try resolve(name: input.streamName, arn: input.streamARN, now: now)
        }
        try rate(.listShards, stream: s.name, now: now)
        if let f = filter {
            if f.type == .afterShardId, f.shardId == nil {
                throw KinesisError(.invalidArgument, "ShardId must be specified for ShardFilterType AFTER_SHARD_ID.")
            }
            if f.type == .atTimestamp || f.type == .fromTimestamp, f.timestamp == nil {
                throw KinesisError(
                    .invalidArgument, "Timestamp must be specified for ShardFilterType \(f.type!.rawValue).")
            }
            if f.type == .afterShardId, let id = f.shardId { after = max(after, ShardID.index(id) ?? -1) }
        }
        let limit = min(input.maxResults ?? 1000, 1000)
        return s.meta.read { m in
            let retentionCutoff = now - .seconds(Int64(m.retentionHours) * 3600)
            let candidates = (m.shardsVisible ? listedShards(m, now: now, retentionHours: m.retentionHours) : [])
                .filter { $0.index > after }
                .filter { shard in
                    let closed = shard.log.withLock { $0.closedAt }
                    switch filter?.type {
                    case .atLatest?: return closed == nil
                    case .atTrimHorizon?:
                        // Open at the trim horizon: created before it and not closed before it.
                        return shard.createdAt <= retentionCutoff
                            ? (closed == nil || closed! >= retentionCutoff)
                            : (shard.parentIndex == nil && shard.adjacentParentIndex == nil)
                    case .atTimestamp?:
                        let t = Instant(filter!.timestamp!)
                        return shard.createdAt <= t && (closed == nil || closed! >= t)
                            || (shard.createdAt > t && shard.parentIndex == nil && shard.adjacentParentIndex == nil)
                    case .fromTimestamp?:
                        let t = max(Instant(filter!.timestamp!), retentionCutoff)
                        return closed == nil || closed! >= t
                    default: return true
                    }
                }
            let page = Array(candidates.prefix(limit))
            var token: String?
            if candidates.count > limit, let last = page.last {
                token = PageToken(
                    kind: .listShards, issuedAtMillis: now.millisecondsSinceEpoch, stream: s.name,
                    incarnation: s.incarnation, after: String(last.index), filterType: filter?.type?.rawValue,
                    filterShardId: filter?.shardId,
                    filterTimestampMillis: filter?.timestamp.map { Instant($0).millisecondsSinceEpoch }
                )
                .encode(key: engine.tokenKey)
            }
            return ListShardsOutput(shards: page.map { shape($0) }, nextToken: token)
        }
    }

    // MARK: - Applying a due change

    /// Applies `change` at its due time. Called with the stream's write lock held.
    func apply(_ change: PendingChange, to s: StreamState, _ m: inout StreamMeta) {
        let at = change.due
        s.schedule(nil, in: &m)
        switch change.action {
        case .activate:
            m.status = .active
            event(s, .streamActive, at, "\(s.name) is ACTIVE")
        case .split(let index, let key):
            let (lo, hi) = split(index, at: key, in: &m, time: at)
            m.status = .active
            event(
                s, .shardSplit, at, shards: [ShardID.string(index), lo.shardId, hi.shardId],
                "Split \(ShardID.string(index)) into \(lo.shardId) and \(hi.shardId)")
        case .merge(let a, let b):
            let child = merge(a, b, in: &m, time: at)
            m.status = .active
            event(
                s, .shardsMerged, at, shards: [ShardID.string(a), ShardID.string(b), child.shardId],
                "Merged \(ShardID.string(a)) and \(ShardID.string(b)) into \(child.shardId)")
        case .updateShardCount(let target):
            let before = m.open.count
            let firstNew = m.shards.count
            scale(to: target, in: &m, time: at)
            m.status = .active
            event(
                s, .shardCountUpdated, at,
                shards: m.shards[firstNew...].filter { sh in m.open.contains { $0 === sh } }.map(\.shardId),
                "UpdateShardCount \(s.name): \(before) → \(m.open.count) open shards (\(m.shards.count - firstNew) "
                    + "shards created)"
            )
        case .scaleOnDemand(let target):
            applyOnDemandScaling(target: target, to: s, &m, at: at)
        case .mode(let mode):
            m.mode = mode
            m.status = .active
            event(s, .streamModeChanged, at, "\(s.name) is now \(mode.rawValue)")
        case .encryption(let type, let keyId):
            m.encryption = type
            m.keyId = keyId
            m.status = .active
            event(s, .encryptionChanged, at, "Encryption of \(s.name) is \(type.rawValue)")
        case .delete:
            m.status = .deleting
            s.schedule(change, in: &m)  // stays: the registry removes the stream
            event(s, .streamDeleted, at, "\(s.name) deleted")
        }
    }

    private func newShard(
        _ range: ClosedRange<UInt128>, parent: Int?, adjacent: Int?, in m: inout StreamMeta, time: Instant
    ) -> ShardState {
        let shard = ShardState(
            index: m.shards.count, range: range, parent: parent, adjacentParent: adjacent,
            createdAt: time, limits: limits, store: m.storage?.store(forShard: m.shards.count))
        m.shards.append(shard)
        return shard
    }

    private func close(_ index: Int, in m: inout StreamMeta, time: Instant) {
        m.shards[index].log.withLock { $0.closedAt = time }
        m.open.removeAll { $0.index == index }
    }

    private func reopenSorted(_ m: inout StreamMeta) {
        m.open.sort { $0.range.lowerBound < $1.range.lowerBound }
    }

    @discardableResult
    func split(_ index: Int, at key: UInt128, in m: inout StreamMeta, time: Instant) -> (ShardState, ShardState) {
        let parent = m.shards[index]
        close(index, in: &m, time: time)
        let lo = newShard(parent.range.lowerBound...(key - 1), parent: index, adjacent: nil, in: &m, time: time)
        let hi = newShard(key...parent.range.upperBound, parent: index, adjacent: nil, in: &m, time: time)
        m.open.append(lo)
        m.open.append(hi)
        reopenSorted(&m)
        return (lo, hi)
    }

    @discardableResult
    func merge(_ a: Int, _ b: Int, in m: inout StreamMeta, time: Instant) -> ShardState {
        let ra = m.shards[a].range
        let rb = m.shards[b].range
        close(a, in: &m, time: time)
        close(b, in: &m, time: time)
        let child = newShard(
            min(ra.lowerBound, rb.lowerBound)...max(ra.upperBound, rb.upperBound), parent: a, adjacent: b, in: &m,
            time: time)
        m.open.append(child)
        reopenSorted(&m)
        return child
    }

    /// UNIFORM_SCALING as a sequence of real splits and merges, so every new
    /// shard has at most two parents and lineage stays readable, with as few
    /// shards created as that allows. Kinesis documents only that it "performs
    /// splits or merges on individual shards" and "can cause short-lived shards
    /// to be created" (KINESIS.md §2.3); which ones is not documented (§12).
    ///
    /// Only a split adds a boundary and only a merge removes one, so the fewest
    /// shards come from splitting once at every target boundary not already in
    /// place (two shards each) and merging once across every boundary that
    /// must go (one shard each): 4 → 5 creates 11, 10 → 15 creates 25,
    /// 4 → 8 creates 8, 8 → 4 creates 4. See ``uniformScalingBoundaries``.
    func scale(to target: Int, in m: inout StreamMeta, time: Instant) {
        let existing = m.open.dropFirst().map(\.range.lowerBound)
        let final = Self.uniformScalingBoundaries(existing: existing, target: target)
        let kept = Set(final)
        let inPlace = Set(existing)
        let added = final.filter { !inPlace.contains($0) }
        // 1. Split at every target boundary that is not in place yet (ascending,
        //    so each later boundary lies in the upper child of the previous split).
        var next = 0
        for shard in m.open {
            var current = shard
            while next < added.count, added[next] <= current.range.upperBound {
                current = split(current.index, at: added[next], in: &m, time: time).1
                next += 1
            }
        }
        // 2. Merge across every boundary that must go, left to right.
        for boundary in existing where !kept.contains(boundary) {
            guard let right = m.open.firstIndex(where: { $0.range.lowerBound == boundary }), right > 0 else { continue }
            merge(m.open[right - 1].index, m.open[right].index, in: &m, time: time)
        }
    }

    /// The StartingHashKeys (all but the first, 0) of the open shards after
    /// UpdateShardCount to `target`, given those of the open shards now.
    ///
    /// Target boundary i is CreateStream's, i·floor(2^128/target) (KINESIS.md §4),
    /// unless a boundary already in place lies within `current + target` hash
    /// keys of it: then that one is kept. Layouts of different counts that share
    /// a boundary in exact arithmetic (10 and 15 shards share 1/5, 2/5, …) miss
    /// each other by a few keys after flooring; keeping the existing boundary
    /// spares a split into a sliver of a few keys and a merge to undo it. The
    /// tolerance is ktop's choice (AWS documents none): a range then differs
    /// from floor(2^128/target) by at most 2·(current + target) keys, about
    /// 10^-33 of its width.
    static func uniformScalingBoundaries(existing: [UInt128], target: Int) -> [UInt128] {
        let ideal = HashKey.uniformRanges(count: target).dropFirst().map(\.lowerBound)
        let tolerance = UInt128(existing.count + 1 + target)
        var j = 0
        return ideal.map { b in
            // Both lists ascend: advance to the first existing boundary not below b - tolerance.
            while j < existing.count, existing[j] < b, b - existing[j] > tolerance { j += 1 }
            guard j < existing.count else { return b }
            let e = existing[j]
            return (e >= b ? e - b : b - e) <= tolerance ? e : b
        }
    }
}
