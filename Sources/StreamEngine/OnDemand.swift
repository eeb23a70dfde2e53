import DequeModule
import Foundation

/// A write throughput: bytes (data + partition keys) and records per second.
struct WriteRate: Sendable, Equatable {
    var bytes: Double = 0
    var records: Double = 0
}

/// The highest per-second write throughput of an on-demand stream over the last `days` days,
/// Kinesis's "peak write throughput observed in the previous 30 days". Kept as one maximum per
/// UTC day, so at most `days + 1` entries however long the stream lives; a day's peak leaves
/// the window whole, between 30 and 31 days after it was seen.
struct WritePeak: Sendable, Equatable {
    private var days = Deque<(day: Int64, rate: WriteRate)>()

    static func == (a: WritePeak, b: WritePeak) -> Bool {
        a.days.elementsEqual(b.days) { $0.day == $1.day && $0.rate == $1.rate }
    }

    mutating func record(_ rate: WriteRate, at now: Instant, days window: Int) {
        let day = now.secondsSinceEpoch.floorDiv(86_400)
        if let last = days.last, last.day == day {
            days[days.count - 1].rate.bytes = max(last.rate.bytes, rate.bytes)
            days[days.count - 1].rate.records = max(last.rate.records, rate.records)
        } else {
            days.append((day, rate))
        }
        while let first = days.first, first.day <= day - Int64(window) { days.removeFirst() }
    }

    /// The per-day maxima, oldest first: what `stream.json` keeps so that a restarted ktop
    /// remembers the capacity an on-demand stream has earned.
    var dailyPeaks: [DayPeak] {
        days.map { DayPeak(day: $0.day, bytesPerSecond: $0.rate.bytes, recordsPerSecond: $0.rate.records) }
    }

    init() {}

    /// Restores the maxima `dailyPeaks` gave, dropping any that is not a finite, non-negative rate or is out of
    /// day order (a hand-edited file must not give a stream infinite capacity).
    init(dailyPeaks: [DayPeak]) {
        for p in dailyPeaks where p.bytesPerSecond.isFinite && p.recordsPerSecond.isFinite
            && p.bytesPerSecond >= 0 && p.recordsPerSecond >= 0 && (days.last.map { $0.day < p.day } ?? true)
        {
            days.append((p.day, WriteRate(bytes: p.bytesPerSecond, records: p.recordsPerSecond)))
        }
    }

    func peak(at now: Instant, days window: Int) -> WriteRate {
        let day = now.secondsSinceEpoch.floorDiv(86_400)
        var peak = WriteRate()
        for d in days where d.day > day - Int64(window) {
            peak.bytes = max(peak.bytes, d.rate.bytes)
            peak.records = max(peak.records, d.rate.records)
        }
        return peak
    }
}

/// One UTC day's highest per-second write rate, as `stream.json` keeps it.
struct DayPeak: Codable, Sendable, Equatable {
    /// Days since the epoch (UTC).
    var day: Int64
    var bytesPerSecond: Double
    var recordsPerSecond: Double
}

/// An on-demand stream's capacity bookkeeping (``OnDemandPolicy`` says the rules): what each
/// shard had been sent at the last sample, the 30-day peak, the shards found hot, and when the
/// planned capacity lands. Only the peak is kept on disk (`stream.json`): after a restart the
/// rest starts again from the shards the stream has, which it never goes below.
struct OnDemandScaling: Sendable, Equatable {
    var sampledAt: Instant?
    /// Cumulative writes sent to each shard (accepted + throttled) at `sampledAt`, by shard index.
    var sent: [Int: WriteRate] = [:]
    var peak = WritePeak()
    /// Open shards that went above half their limits: split in the next scaling.
    var hot: Set<Int> = []
    /// Hot shards left alone because one partition key alone is above the threshold (said once).
    var oneKey: Set<Int> = []
    /// When the planned capacity is due; nil while none is planned.
    var due: Instant?
}

extension KinesisService {
    /// Once a second per on-demand stream: measures what producers sent, keeps the 30-day peak,
    /// plans more shards when the traffic asks for them and starts the splits when the plan
    /// falls due (``OnDemandPolicy``).
    func scaleOnDemand(_ s: StreamState, _ now: Instant) {
        let policy = engine.configuration.onDemand
        var notes: [(EngineEvent.Kind, [String], String)] = []
        var scheduled = false
        s.meta.write { m in
            guard m.mode == .onDemand else {
                if m.onDemand != OnDemandScaling() {
                    m.onDemand = OnDemandScaling()
                    s.persist(&m)
                }
                return
            }
            guard let measured = measureWrites(&m, now) else { return }
            let before = m.onDemand.peak
            m.onDemand.peak.record(measured.stream, at: now, days: policy.peakDays)
            // A new daily maximum is capacity the stream keeps for 30 days, restarts included.
            if m.onDemand.peak != before { s.persist(&m) }
            let maxShards = KinesisLimits.onDemandMaximumShards(region: region)
            for (shard, rate) in measured.shards where m.open.count < maxShards {
                guard rate.bytes > Double(policy.splitThresholdBytesPerSecond)
                        || rate.records > Double(policy.splitThresholdRecordsPerSecond) else { continue }
                if let key = dominantKey(shard, policy, now) {
                    if m.onDemand.oneKey.insert(shard.index).inserted {
                        notes.append((.onDemandScalingPlanned, [shard.shardId],
                                      "On-demand: \(shard.shardId) is above half its limits because of one hash "
                                        + "key (partition key '\(key)'); Kinesis does not isolate hot keys, so it "
                                        + "is not split"))
                    }
                } else {
                    m.onDemand.hot.insert(shard.index)
                }
            }
            let target = onDemandTarget(m, now)
            let needed = target > m.open.count || !m.onDemand.hot.isEmpty
            if needed, m.onDemand.due == nil {
                let due = now + policy.scalingDelay
                m.onDemand.due = due
                let peak = m.onDemand.peak.peak(at: now, days: policy.peakDays)
                let hot = m.onDemand.hot.sorted().map(ShardID.string)
                notes.append((.onDemandScalingPlanned, hot, "On-demand capacity: writes peaked at "
                    + "\(Self.mibText(peak.bytes)) and \(Int(peak.records.rounded())) records/s; Kinesis accommodates "
                    + "twice the peak, so \(s.name) grows from \(m.open.count) to "
                    + "\(max(target, m.open.count + hot.count)) shards"
                    + (hot.isEmpty ? "" : " (splitting \(hot.joined(separator: ", ")), above half their limits)")
                    + " at \(due.timeOfDay), \(Self.durationText(policy.scalingDelay)) from now (ktop's scaling "
                    + "delay; AWS: within 15 minutes)"))
            }
            guard let due = m.onDemand.due, now >= due, m.status == .active, m.pending == nil else { return }
            m.onDemand.due = nil
            guard needed else { return }
            m.status = .updating
            let round = now + engine.configuration.delays.update
            s.schedule(PendingChange(due: round, action: .scaleOnDemand(target: target)), in: &m)
            s.persist(&m)
            scheduled = true
        }
        for (kind, shards, message) in notes { event(s, kind, now, shards: shards, message) }
        if scheduled { settle(s, now) }
    }

    /// Open shards the stream needs: twice its 30-day peak in shards of the shard limits, never
    /// fewer than it has, never more than the region's on-demand ceiling.
    func onDemandTarget(_ m: StreamMeta, _ now: Instant) -> Int {
        let policy = engine.configuration.onDemand
        let peak = m.onDemand.peak.peak(at: now, days: policy.peakDays)
        let maxShards = KinesisLimits.onDemandMaximumShards(region: region)
        func shards(_ rate: Double, _ perShard: Int) -> Int {
            let n = (2 * rate / Double(max(perShard, 1))).rounded(.up)
            return n.isFinite ? Int(min(max(n, 0), Double(maxShards))) : maxShards
        }
        let needed = max(shards(peak.bytes, limits.shardWriteBytesPerSecond),
                         shards(peak.records, limits.shardWriteRecordsPerSecond))
        return min(max(needed, m.open.count), max(maxShards, m.open.count))
    }

    /// What producers sent each open shard and the whole stream per second since the last
    /// sample, at least a second ago; nil for the first sample or too soon after the last.
    private func measureWrites(_ m: inout StreamMeta, _ now: Instant)
        -> (stream: WriteRate, shards: [(ShardState, WriteRate)])? {
        let previous = m.onDemand.sampledAt
        if let previous, now - previous < .seconds(1) { return nil }
        func sentSoFar(_ shard: ShardState) -> WriteRate {
            shard.log.withLock { log in
                WriteRate(bytes: Double(log.counters.incomingBytes + log.counters.writeThrottledBytes),
                          records: Double(log.counters.incomingRecords + log.counters.writeThrottledRecords))
            }
        }
        var open: [Int: WriteRate] = [:]
        for shard in m.open { open[shard.index] = sentSoFar(shard) }
        let before = m.onDemand.sent
        m.onDemand.sampledAt = now
        m.onDemand.sent = open
        m.onDemand.hot = m.onDemand.hot.filter { open[$0] != nil }
        m.onDemand.oneKey = m.onDemand.oneKey.filter { open[$0] != nil }
        guard let previous else { return nil }
        let seconds = Double((now - previous).nanoseconds) / 1e9
        var stream = WriteRate()
        func add(_ total: WriteRate, since start: WriteRate) -> WriteRate {
            let rate = WriteRate(bytes: (total.bytes - start.bytes) / seconds,
                                 records: (total.records - start.records) / seconds)
            stream.bytes += rate.bytes
            stream.records += rate.records
            return rate
        }
        // A shard opened since the last sample was sent everything it holds in that time.
        let shards = m.open.map { shard in
            (shard, add(open[shard.index] ?? WriteRate(), since: before[shard.index] ?? WriteRate()))
        }
        // Shards closed since (a split) still count what they were sent until they closed.
        for (index, start) in before where open[index] == nil {
            if let shard = m.shard(index) { _ = add(sentSoFar(shard), since: start) }
        }
        return (stream, shards)
    }

    /// The partition key that alone went above the split threshold in the shard's last complete
    /// second, if one did: splitting the shard at its middle cannot bring that key under it.
    /// Counted by what the sketch guarantees (its count less its error), never by an estimate.
    private func dominantKey(_ shard: ShardState, _ policy: OnDemandPolicy, _ now: Instant) -> String? {
        shard.log.withLock { log in
            let second = now.secondsSinceEpoch
            if let top = log.keys.lastCompleteByBytes(at: second)?.topByBytes.first,
               top.bytes - top.error > Int64(policy.splitThresholdBytesPerSecond) { return top.partitionKey }
            if let top = log.keys.lastComplete(at: second)?.top.first,
               top.records - top.error > Int64(policy.splitThresholdRecordsPerSecond) { return top.partitionKey }
            return nil
        }
    }

    /// One round of on-demand splits, at the due time of a `.scaleOnDemand` change (write lock
    /// held): the hot shards first, then the widest, each split once at its middle. Rounds
    /// follow each other `delays.update` apart (at once when that is zero) until `target`
    /// shards are open, so a stream can more than double in one scaling.
    func applyOnDemandScaling(target: Int, to s: StreamState, _ m: inout StreamMeta, at: Instant) {
        var split: [String] = []
        var created: [String] = []
        repeat {
            let hot = m.onDemand.hot
            let candidates = m.open.filter { $0.range.upperBound - $0.range.lowerBound > 2 }.sorted { a, b in
                let (ha, hb) = (hot.contains(a.index), hot.contains(b.index))
                if ha != hb { return ha }
                let (wa, wb) = (a.range.upperBound - a.range.lowerBound, b.range.upperBound - b.range.lowerBound)
                return wa != wb ? wa > wb : a.range.lowerBound < b.range.lowerBound
            }
            let hotCount = candidates.filter { hot.contains($0.index) }.count
            let count = min(candidates.count, max(hotCount, target - m.open.count))
            guard count > 0 else { break }
            for shard in candidates.prefix(count) {
                let mid = shard.range.lowerBound + (shard.range.upperBound - shard.range.lowerBound) / 2 + 1
                let (lo, hi) = self.split(shard.index, at: mid, in: &m, time: at)
                m.onDemand.hot.remove(shard.index)
                split.append(shard.shardId)
                created += [lo.shardId, hi.shardId]
            }
        } while m.open.count < target && engine.configuration.delays.update == .zero
        if m.open.count < target, !split.isEmpty {
            let round = at + engine.configuration.delays.update
            s.schedule(PendingChange(due: round, action: .scaleOnDemand(target: target)), in: &m)
        } else {
            m.status = .active
        }
        let open = m.open.count
        event(s, .onDemandScaled, at, shards: split + created,
              "On-demand scaling: split \(split.count == 1 ? "1 shard" : "\(split.count) shards") of \(s.name); "
                + "\(open) open shards: \(KinesisLimits.rateText(bytes: open * limits.shardWriteBytesPerSecond)) and "
                + "\(open * limits.shardWriteRecordsPerSecond) records/s of writes"
                + (m.open.count < target ? "; \(target) shards due" : ""))
    }

    static func mibText(_ bytesPerSecond: Double) -> String {
        String(format: "%.1f MiB/s", bytesPerSecond / 1_048_576)
    }

    static func durationText(_ d: Duration) -> String {
        let ms = d.milliseconds
        return ms % 1_000 == 0 ? "\(ms / 1_000) s" : "\(ms) ms"
    }
}
