import Metrics
import StreamEngine

extension Heat4 {
    init(_ h: Heat) {
        switch h {
        case .cold: self = .cold
        case .warm: self = .warm
        case .hot: self = .hot
        case .throttled: self = .throttled
        }
    }
}

extension DashboardData {
    /// The dashboard's view of one stream from the metrics store: the newest
    /// second of every shard and consumer, `historySeconds` of history per
    /// shard, and Metrics' advice. O(shards + shown shards × historySeconds):
    /// with `historyFor` only those shards get their history (the chart and
    /// heat map show a screenful; `DashboardModel.shardIdsShown`), nil gives
    /// every shard its history.
    ///
    /// `previous` (the data shown now) built from the same metrics tick (`DataTick`: the store's
    /// newest sample, the stream, the limits) lends its rows and advice: the figures and the advice
    /// only change with a tick, so refreshes between ticks (a refresh faster than the tick, scrolling
    /// past the built histories) read the store only for the histories newly shown and skip the advisor.
    public static func build(
        store: MetricsStore, streamName: String, scenario: String, clockKind: String,
        limits: KinesisLimits, scenarios: [String], historySeconds: Int = 240, historyFor: Set<String>? = nil,
        source: String? = nil, connection: String? = nil, readOnly: Bool = false, previous: DashboardData? = nil
    ) -> DashboardData {
        var d = DashboardData()
        d.historyShardIds = historyFor
        d.readOnly = readOnly
        d.attachedTo = source
        d.connection = connection
        d.scenario = scenario
        d.streamName = streamName
        d.clockKind = clockKind
        d.scenarios = scenarios
        d.limitsOff = !limits.enforcesThroughput
        d.shardWriteBytes = Double(limits.shardWriteBytesPerSecond)
        d.shardWriteRecords = Double(limits.shardWriteRecordsPerSecond)
        d.shardReadBytes = Double(limits.shardReadBytesPerSecond)
        d.shardReadCalls = limits.shardReadCallsPerSecond
        d.shardWriteText = limits.shardWriteText
        d.sharedReadText = limits.sharedReadText
        d.fanOutPipeText = limits.fanOutPipeText
        guard let sample = store.lastSample else { return d }
        d.time = sample.time.timeOfDay
        d.clockSpeed = sample.clockSpeed
        d.limitsOff = !sample.enforcesThroughput
        if let storage = sample.storage {
            let failed = storage.failedShards
            d.storage =
                "DISK fsync \(storage.fsync) \(Format.bytes(Double(storage.diskBytes)))"
                + (failed > 0 ? ", \(failed) shard\(failed == 1 ? "" : "s") FAILED" : "")
        }
        guard let stream = sample.streams.first(where: { $0.name == streamName }) else {
            d.status = "NOT FOUND"
            return d
        }
        d.mode = stream.mode.rawValue
        d.status = stream.status.rawValue
        d.openShards = MetricsStore.openShardCount(stream)
        d.closedShards = stream.shards.count - d.openShards
        d.hourlyCostUSD = store.cost(stream).hourly
        d.streamARN = stream.arn
        d.throttlesKnown = stream.provenance.figures["throttles"] != nil
        let tick = DataTick(
            time: sample.time, streamARN: stream.arn, shardCount: stream.shards.count,
            historySeconds: historySeconds, limits: limits)
        d.tick = tick
        if let previous, previous.tick == tick, previous.shards.count == stream.shards.count {
            d.advice = previous.advice
            d.shards = previous.shards
            if historyFor != previous.historyShardIds {
                rebuildHistories(
                    &d.shards, of: stream, store: store, seconds: historySeconds, for: historyFor,
                    had: previous.historyShardIds)
            }
        } else {
            buildRows(
                &d, stream: stream, store: store, limits: limits, historySeconds: historySeconds,
                historyFor: historyFor)
        }
        d.consumers = store.consumerRates.values.filter { $0.stream == streamName }
            .sorted { ($0.type, $0.name) < ($1.type, $1.name) }
            .map {
                ConsumerRow(
                    name: $0.name, kind: $0.type == "efo" ? .efo : .polling, bytesPerSecond: $0.bytesPerSecond,
                    budgetBytesPerSecond: $0.budgetBytesPerSecond, throttledPerSecond: $0.throttledPerSecond,
                    millisBehindLatest: $0.millisBehindLatest)
            }
        d.producers = store.producerRates.filter { $0.stream == streamName }.map {
            ProducerRow(
                name: $0.name, keys: $0.keys, targetRecordsPerSecond: $0.targetRecordsPerSecond,
                ackedPerSecond: $0.ackedPerSecond, throttledPerSecond: $0.throttledPerSecond, dropped: $0.droppedTotal)
        }
        return d
    }

    /// Gives the rows of a tick's earlier build the histories `historyFor` asks for (and drops the
    /// ones it no longer asks for, as a fresh build would): O(shards) set look-ups, and a history read
    /// only for the shards whose want changed. `had` is what the earlier build covered.
    private static func rebuildHistories(
        _ rows: inout [ShardRow], of stream: StreamSample, store: MetricsStore, seconds: Int,
        for historyFor: Set<String>?, had: Set<String>?
    ) {
        for i in rows.indices {
            let id = stream.shards[i].shardId
            let wants = historyFor?.contains(id) ?? true
            guard wants != (had?.contains(id) ?? true) else { continue }
            if wants, let history = store.readShard(stream, id, { $0.incomingHistory(last: seconds) }) {
                rows[i].incomingHistory = history.bytesPerSecond
                rows[i].heatHistory = history.heat.map(Heat4.init)
            } else {
                rows[i].incomingHistory = []
                rows[i].heatHistory = []
            }
        }
    }

    /// Every shard's row and Metrics' advice: the part of a build that reads every shard (O(shards)).
    private static func buildRows(
        _ d: inout DashboardData, stream: StreamSample, store: MetricsStore, limits: KinesisLimits,
        historySeconds: Int, historyFor: Set<String>?
    ) {
        // Every shard's newest second and minute's mean, read once for the rows and the advisor.
        let summaries = store.shardSummaries(stream)
        let advice = Advisor.advise(stream: stream, store: store, limits: limits, summaries: summaries)
        d.advice = advice.map {
            AdviceRow(
                action: $0.action.rawValue, shardId: $0.shardId, reason: $0.reason,
                targetShardCount: $0.targetShardCount)
        }
        var splitKeys: [String: UInt128] = [:]
        for a in advice where a.action == .split { if let id = a.shardId, let k = a.hashKey { splitKeys[id] = k } }
        // By index, reading fields in place: a shard sample holds its sketches and histogram, and
        // copying each of 10,000 retains them all.
        let shards = stream.shards
        d.shards = shards.indices.map { i in
            let shardId = shards[i].shardId
            var row = ShardRow(
                shardId: shardId, open: shards[i].isOpen, startingHashKey: shards[i].startingHashKey,
                endingHashKey: shards[i].endingHashKey)
            row.parentShardId = shards[i].parentShardId
            row.adjacentParentShardId = shards[i].adjacentParentShardId
            if let s = summaries[i]?.latest {
                row.incomingBytes = s.incomingBytes
                row.incomingRecords = s.incomingRecords
                row.utilization = s.utilization
                row.bindingLimit = s.bindingLimit
                row.heat = Heat4(s.heat)
                row.writeThrottled = s.writeProvisionedThroughputExceeded
                row.readThrottled = s.readProvisionedThroughputExceeded
                row.outgoingBytes = s.outgoingBytes
                row.iteratorAgeMilliseconds = s.iteratorAgeMilliseconds
            }
            // The series is read (copied out of the store) only for the shards that show a history.
            if historyFor?.contains(shardId) ?? true,
                let history = store.readShard(stream, shardId, { $0.incomingHistory(last: historySeconds) })
            {
                row.incomingHistory = history.bytesPerSecond
                row.heatHistory = history.heat.map(Heat4.init)
            }
            if let sketch = shards[i].topKeys, sketch.total > 0 {
                let entries = sketch.entries
                row.topKeys = heaviest(5, of: entries).map {
                    let e = entries[$0]
                    return TopKey(
                        key: e.partitionKey, hashKey: e.hashKey, records: e.records,
                        share: Double(e.records) / Double(sketch.total))
                }
            }
            row.advisedSplitKey = splitKeys.isEmpty ? nil : splitKeys[shardId]
            return row
        }
    }
}

extension DashboardData {
    /// Positions in `entries` of `sketch.top.prefix(n)`, found without sorting or copying the entries: the
    /// `n` with the most records, heaviest first, ties in slot order as `top`'s stable sort leaves them.
    /// Every shard's row asks for five of sixteen (sorting them was ≈ 2 k instructions a shard).
    static func heaviest(_ n: Int, of entries: [SpaceSaving.Entry]) -> [Int] {
        var best: [Int] = []
        best.reserveCapacity(n + 1)
        entries.withUnsafeBufferPointer { e in
            for i in e.indices {
                // After every kept entry at least as heavy: a later entry never passes an equal one.
                var k = best.count
                while k > 0 && e[best[k - 1]].records < e[i].records { k -= 1 }
                guard k < n else { continue }
                best.insert(i, at: k)
                if best.count > n { best.removeLast() }
            }
        }
        return best
    }
}

extension DashboardModel {
    /// Shows new data (unless paused): logs advice that was not there before
    /// and keeps the selection on a shown shard.
    ///
    /// Data of the tick shown now (a refresh between ticks, `DataTick`) has its
    /// advice and figures: nothing to log, and the listed order stands.
    public mutating func update(data new: DashboardData) {
        let sameTick = new.tick != nil && new.tick == data.tick && new.shards.count == data.shards.count
        // Mostly the advice of the tick before: comparing is cheaper than hashing. What is logged turns on the
        // action and shard alone, so the reasons (5,000 merges' sentences at 10,000 shards) are not compared.
        let (a, b) = (new.advice, data.advice)
        let samePairs = {
            a.count == b.count
                && a.indices.allSatisfy { a[$0].action == b[$0].action && a[$0].shardId == b[$0].shardId }
        }
        if !sameTick && !samePairs() {
            // By action and shard, as pairs: a wide stream's minute of cold shards is 5,000 merges a tick.
            struct Seen: Hashable {
                var action: String
                var shardId: String
            }
            let before = Set(data.advice.map { Seen(action: $0.action, shardId: $0.shardId ?? "") })
            for a in new.advice where !before.contains(Seen(action: a.action, shardId: a.shardId ?? "")) {
                log(EventLine(time: new.time, kind: .advice, text: "Advice (\(a.action)): \(a.reason)"))
            }
        }
        replaceData(new, keepingOrder: sameTick)
        if view.selectedShardId == nil || selectedIndex == nil {
            // A shard that was split or merged away hands the selection to its first child.
            let old = view.selectedShardId
            let child = visibleShards.first {
                old != nil && ($0.parentShardId == old || $0.adjacentParentShardId == old)
            }
            view.selectedShardId = (child ?? visibleShards.first)?.shardId
        }
        ensureSelectionVisible()
    }

    /// Logs an event line stamped with the data's clock.
    public mutating func log(_ kind: EventLine.Kind, _ text: String) {
        log(EventLine(time: data.time, kind: kind, text: text))
    }
}
