import StreamEngine

/// One recommendation with the reason a person can check on screen.
public struct Advice: Sendable, Equatable {
    public enum Action: String, Sendable { case split, merge, salt, scale }
    public var action: Action
    public var shardId: String?
    public var adjacentShardId: String?
    /// For `split`: the hash key that halves the shard's observed load.
    public var hashKey: UInt128?
    /// For `scale`: the UpdateShardCount target.
    public var targetShardCount: Int?
    public var reason: String
}

/// Hot-shard rules: split a hot shard where its load halves, salt a key no
/// split can separate, merge cold neighbours, resize a stream whose total
/// load has outgrown or undershot its shards.
public enum Advisor {
    /// Share of a hot shard's records above which one key is "dominant".
    public static let dominantKeyShare = 0.5
    /// Utilisation under which two adjacent shards may be merged.
    public static let coldUtilization = 0.1
    /// A merge's reason after "<shard> and <shard>".
    static let mergeReasonTail =
        " are adjacent and both under \(Int(coldUtilization * 100))% for a minute; merge them to save a shard-hour "
        + "each hour."

    /// `summaries`: `store.shardSummaries(stream)`, when the caller read them already (the dashboard's
    /// rows read the same); nil reads them here.
    public static func advise(
        stream: StreamSample, store: MetricsStore, limits: KinesisLimits, summaries: [ShardSummary?]? = nil
    ) -> [Advice] {
        var out: [Advice] = []
        // Positions of the open shards in hash key order: a shard sample is large to copy, and a wide
        // stream has 10,000 of them.
        let open = stream.shards.indices.filter { stream.shards[$0].isOpen }
            .sorted { stream.shards[$0].startingHashKey < stream.shards[$1].startingHashKey }
        guard stream.status == .active || stream.status == .updating else { return [] }
        // Each open shard's newest second and last minute's mean utilisation, kept at the tick, read in place
        // by position (copying them into a list of reads cost ≈ 1 k instructions a shard).
        let all = summaries.flatMap { $0.count == stream.shards.count ? $0 : nil } ?? store.shardSummaries(stream)
        for i in open {
            guard let s = all[i]?.latest, s.heat >= .hot else { continue }
            let shard = stream.shards[i]
            if let sketch = shard.topKeys, let top = sketch.top.first, sketch.total > 0,
                Double(top.records - top.error) / Double(sketch.total) >= dominantKeyShare
            {
                let share = Int((Double(top.records) / Double(sketch.total) * 100).rounded())
                out.append(
                    Advice(
                        action: .salt, shardId: shard.shardId,
                        reason:
                            "Key '\(top.partitionKey)' carries \(share)% of \(shard.shardId)'s records: a split "
                                + "cannot separate one key. Salt it (\(top.partitionKey)#0…#N) or use a finer key."
                    ))
            } else if stream.mode == .provisioned {
                let weight: SpaceSaving.Weight = s.bindingLimit == "records" ? .records : .bytes
                let series = store.shardSeries(stream, shard.shardId)
                let k = splitPoint(shard, series: series, weight: weight)
                let fromHistogram = (series?.recentRecordsByBucket.reduce(0, +) ?? 0) > 0
                let basis = fromHistogram ? "from its hash key histogram" : "from its top keys"
                out.append(
                    Advice(
                        action: .split, shardId: shard.shardId, hashKey: k,
                        reason:
                            "\(shard.shardId) is \(s.heat.rawValue) at \(Int((s.utilization * 100).rounded()))% of "
                                + "its \(s.bindingLimit) limit; split at \(k) to halve its observed "
                                    + "\(weight.rawValue) (\(basis)), not at the midpoint."
                    ))
            }
        }
        if stream.mode == .provisioned {
            // Whether the pair before was advised: its right shard is this pair's left one, taken. (Searching
            // `out` for that merge instead was quadratic: 5,000 merges of 10,000 cold shards took seconds.)
            var leftTaken = false
            for j in 0..<max(0, open.count - 1) {
                let taken = leftTaken
                leftTaken = false
                guard let ua = all[open[j]]?.minuteMeanUtilization, let ub = all[open[j + 1]]?.minuteMeanUtilization
                else { continue }
                if ua < coldUtilization && ub < coldUtilization && !taken {
                    leftTaken = true
                    let a = stream.shards[open[j]].shardId
                    let b = stream.shards[open[j + 1]].shardId
                    // One allocation a reason: a wide stream's minute of cold shards is 5,000 merges a tick.
                    var reason = ""
                    reason.reserveCapacity(a.utf8.count + b.utf8.count + 5 + mergeReasonTail.utf8.count)
                    reason += a
                    reason += " and "
                    reason += b
                    reason += mergeReasonTail
                    out.append(Advice(action: .merge, shardId: a, adjacentShardId: b, reason: reason))
                }
            }
            // The stream's load: every open shard's newest second, summed in hash key order.
            var bytes = 0.0
            var records = 0.0
            var known = 0
            for i in open {
                guard let s = all[i]?.latest else { continue }
                bytes += s.incomingBytes
                records += s.incomingRecords
                known += 1
            }
            if known == open.count, !open.isEmpty {
                let need = max(
                    bytes / Double(limits.shardWriteBytesPerSecond), records / Double(limits.shardWriteRecordsPerSecond)
                )
                // 25 % headroom, within UpdateShardCount's ×2 / ÷2 bounds.
                let allowed = KinesisLimits.updateShardCountTargets(current: open.count)
                let target = min(max(Int((need * 1.25).rounded(.up)), allowed.lowerBound, 1), allowed.upperBound)
                if target > open.count {
                    // Price both ways so the reason says which is cheaper at this load.
                    let cost = store.cost(stream)
                    let perShard =
                        store.configuration.prices.shardHour
                        + (stream.retentionHours > 24 ? store.configuration.prices.extendedRetentionShardHour : 0)
                    let provisioned = cost.provisionedHourly + Double(target - open.count) * perShard
                    let money = { (x: Double) in "$" + String((x * 1000).rounded() / 1000) }
                    out.append(
                        Advice(
                            action: .scale, targetShardCount: target,
                            reason:
                                "The stream writes \(Int(bytes / 1024)) KiB/s and \(Int(records)) records/s: "
                                    + "\(target) shards give 25% headroom (UpdateShardCount, "
                                        + "≈\(money(provisioned))/h), or switch to ON_DEMAND "
                                            + "(≈\(money(cost.onDemandHourly))/h at this load; prices "
                                                + "\(cost.pricesConfirmed ? "confirmed" : "unconfirmed"))."
                        ))
                }
            }
        }
        return out
    }

    /// The hash key that splits the shard's observed load in half: tracked
    /// heavy keys at their hash, the remaining records spread evenly over the
    /// range. Falls back to the midpoint without traffic. Uses only the
    /// shard's top-key sketch; `splitPoint(_:series:weight:)` is better.
    public static func splitPoint(_ shard: ShardSample) -> UInt128 {
        let lo = shard.startingHashKey
        let hi = shard.endingHashKey
        let width = Double(hi - lo) + 1
        guard let sketch = shard.topKeys, sketch.total > 0 else { return lo + (hi - lo) / 2 + 1 }
        let tracked = sketch.entries.filter { $0.hashKey >= lo && $0.hashKey <= hi }
        let untracked = Double(max(0, sketch.total - tracked.reduce(0) { $0 + $1.records }))
        let half = Double(sketch.total) / 2
        func load(below k: UInt128) -> Double {
            let keyed = tracked.filter { $0.hashKey < k }.reduce(0.0) { $0 + Double($1.records) }
            return keyed + untracked * Double(k - lo) / width
        }
        var a = lo + 2
        var b = hi - 1  // valid split keys: start+1 < k < end
        guard a < b else { return lo + (hi - lo) / 2 + 1 }
        while a < b {
            let mid = a + (b - a) / 2
            if load(below: mid) < half { a = mid + 1 } else { b = mid }
        }
        return a
    }

    /// The hash key that halves the shard's recent load, from the histogram
    /// of observed hash keys inside the shard (`ShardSeries.recent…ByBucket`,
    /// a decayed window of about `ShardSeries.loadHalfLifeSeconds`).
    ///
    /// Buckets before the halfway bucket count whole; inside it, keys the
    /// Space-Saving sketch tracks are placed at their exact hash with their
    /// share of that bucket (by their guaranteed lower bound), and the rest of
    /// the bucket is spread evenly. So a skewed shard is split where its load
    /// halves, not at the midpoint, and to within one bucket's untracked load.
    /// Falls back to `splitPoint(_:)` before the histogram has data.
    public static func splitPoint(
        _ shard: ShardSample, series: ShardSeries?, weight: SpaceSaving.Weight = .records
    ) -> UInt128 {
        guard let series, let geometry = shard.hashKeyHistogram else { return splitPoint(shard) }
        let load = weight == .records ? series.recentRecordsByBucket : series.recentBytesByBucket
        let lastSecond = weight == .records ? series.lastSecondRecordsByBucket : series.lastSecondBytesByBucket
        guard load.count == geometry.bucketCount, load.reduce(0, +) > 0 else { return splitPoint(shard) }
        let sketch = weight == .records ? shard.topKeys : shard.topKeysByBytes
        var heavy: [(hash: UInt128, share: Double)] = []
        for e in sketch?.entries ?? [] where e.hashKey >= geometry.lowerBound && e.hashKey <= geometry.upperBound {
            let b = geometry.bucket(of: e.hashKey)
            let weightOfKey = Double(weight == .records ? e.records - e.error : e.bytes - e.error)
            if lastSecond[b] > 0, weightOfKey > 0 { heavy.append((e.hashKey, min(1, weightOfKey / lastSecond[b]))) }
        }
        return splitPoint(histogram: geometry, load: load, heavyKeys: heavy)
    }

    /// The split key for bucket loads `load` over `histogram`'s geometry,
    /// with `heavyKeys` as point masses holding `share` of their bucket.
    public static func splitPoint(
        histogram h: HashKeyHistogram, load: [Double], heavyKeys: [(hash: UInt128, share: Double)]
    ) -> UInt128 {
        let lo = h.lowerBound
        let hi = h.upperBound
        let midpoint = lo + (hi - lo) / 2 + 1
        let total = load.reduce(0, +)
        guard total > 0, hi - lo > 3 else { return midpoint }
        let half = total / 2
        var before = 0.0
        var j = 0
        while j < load.count - 1 && before + load[j] < half {
            before += load[j]
            j += 1
        }
        let bucket = h.range(ofBucket: j)
        var keys = heavyKeys.filter { bucket.contains($0.hash) }.map { (hash: $0.hash, load: $0.share * load[j]) }
        let keyed = keys.reduce(0) { $0 + $1.load }
        if keyed > load[j] { keys = keys.map { ($0.hash, $0.load * load[j] / keyed) } }
        let residual = max(0, load[j] - keys.reduce(0) { $0 + $1.load })
        let span = Double(bucket.upperBound - bucket.lowerBound) + 1
        // Load strictly below k (k in bucket.lowerBound ... bucket.upperBound + 1).
        func below(_ k: UInt128) -> Double {
            before + residual * Double(k - bucket.lowerBound) / span
                + keys.filter { $0.hash < k }.reduce(0) { $0 + $1.load }
        }
        var a = bucket.lowerBound
        var b = bucket.upperBound == UInt128.max ? bucket.upperBound : bucket.upperBound + 1
        while a < b {
            let mid = a + (b - a) / 2
            if below(mid) < half { a = mid + 1 } else { b = mid }
        }
        // The first key reaching half may overshoot by a tracked key's load: take the closer side.
        var k = a
        if k > bucket.lowerBound, abs(below(k - 1) - half) < abs(below(k) - half) { k -= 1 }
        return min(max(k, lo + 2), hi - 1)  // valid split keys: start+1 < k < end
    }
}
