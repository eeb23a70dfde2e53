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
    public static func build(
        store: MetricsStore, streamName: String, scenario: String, clockKind: String,
        limits: KinesisLimits, scenarios: [String], historySeconds: Int = 240, historyFor: Set<String>? = nil,
        source: String? = nil, connection: String? = nil, readOnly: Bool = false
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
        let advice = Advisor.advise(stream: stream, store: store, limits: limits)
        d.advice = advice.map {
            AdviceRow(
                action: $0.action.rawValue, shardId: $0.shardId, reason: $0.reason,
                targetShardCount: $0.targetShardCount)
        }
        var splitKeys: [String: UInt128] = [:]
        for a in advice where a.action == .split { if let id = a.shardId, let k = a.hashKey { splitKeys[id] = k } }
        d.shards = stream.shards.map { shard in
            var row = ShardRow(
                shardId: shard.shardId, open: shard.isOpen, startingHashKey: shard.startingHashKey,
                endingHashKey: shard.endingHashKey)
            row.parentShardId = shard.parentShardId
            row.adjacentParentShardId = shard.adjacentParentShardId
            let wantsHistory = historyFor?.contains(shard.shardId) ?? true
            let read = store.readShard(stream, shard.shardId) { series in
                (latest: series.latest, history: wantsHistory ? series.incomingHistory(last: historySeconds) : nil)
            }
            if let s = read?.latest {
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
            if let history = read?.history {
                row.incomingHistory = history.bytesPerSecond
                row.heatHistory = history.heat.map(Heat4.init)
            }
            if let sketch = shard.topKeys, sketch.total > 0 {
                row.topKeys = sketch.top.prefix(5).map {
                    TopKey(
                        key: $0.partitionKey, hashKey: $0.hashKey, records: $0.records,
                        share: Double($0.records) / Double(sketch.total))
                }
            }
            row.advisedSplitKey = splitKeys[shard.shardId]
            return row
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
}

extension DashboardModel {
    /// Shows new data (unless paused): logs advice that was not there before
    /// and keeps the selection on a shown shard.
    public mutating func update(data new: DashboardData) {
        let before = Set(data.advice.map { "\($0.action)/\($0.shardId ?? "")" })
        for a in new.advice where !before.contains("\(a.action)/\(a.shardId ?? "")") {
            log(EventLine(time: new.time, kind: .advice, text: "Advice (\(a.action)): \(a.reason)"))
        }
        data = new
        if view.selectedShardId == nil || !visibleShards.contains(where: { $0.shardId == view.selectedShardId }) {
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
