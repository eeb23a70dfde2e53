import Foundation
import Histogram
import StreamEngine
import Testing

@testable import Metrics

@Suite struct StoreTests {
    @Test func minuteRollupsCarrySumAverageMinMaxAndSampleCount() throws {
        var rig = Rig()
        try rig.create("roll", shards: 1)
        // Start on a minute boundary so each rolled-up minute has 60 seconds.
        let now = rig.clock.now().millisecondsSinceEpoch
        rig.clock.advance(to: Instant(millisecondsSinceEpoch: (now / 60_000 + 1) * 60_000))
        rig.store.ingest(rig.engine.sample())
        var perSecond: [Double] = []
        var bytesPerSecond: [Double] = []
        for i in 0..<150 {
            let n = (i * 7) % 23 + 1
            let entries = (0..<n).map { PutRecordsRequestEntry(data: payload(10), partitionKey: "k\($0)") }
            _ = try rig.kinesis.putRecords(PutRecordsInput(records: entries, streamName: "roll"))
            perSecond.append(Double(n))
            bytesPerSecond.append(Double(entries.reduce(0) { $0 + 10 + $1.partitionKey!.utf8.count }))
            rig.tick()
        }
        let series = try #require(rig.store.shardSeries(rig.stream("roll"), "shardId-000000000000"))
        #expect(series.metrics.minuteCount == 2)
        for (m, minute) in series.metrics.minutes.enumerated() {
            let seconds = Array(perSecond[(m * 60)..<(m * 60 + 60)])
            let s = minute[.incomingRecords]
            #expect(s.sampleCount == 60)
            #expect(s.sum == seconds.reduce(0, +))
            #expect(s.minimum == seconds.min())
            #expect(s.maximum == seconds.max())
            #expect(abs(s.average - seconds.reduce(0, +) / 60) < 1e-9)
            #expect(minute[.incomingBytes].sum == bytesPerSecond[(m * 60)..<(m * 60 + 60)].reduce(0, +))
        }
        let open = try #require(series.metrics.openMinutePoint)
        #expect(open[.incomingRecords].sampleCount == 30)
        // The stream rolls up too.
        let streamMinutes = try #require(rig.store.streamSeries(rig.stream("roll"))?.metrics.minutes)
        #expect(streamMinutes.count == 2)
        #expect(streamMinutes[0][.putRecordsTotalRecords].sum == perSecond[0..<60].reduce(0, +))
    }

    @Test func memoryPerShardIsAConstantCheckedAtTenThousandShards() throws {
        // The documented figure, from the element sizes it is made of.
        #expect(MemoryLayout<UInt32>.stride == 4)
        // Shards keep 300 s and 180 min (issue 16: at most 64 KiB a shard; before, 900 s and 1,440 min).
        let rings = 300 * (8 + 4 + 7 * 4) + 180 * (8 + 2 + 7 * (8 + 2 * 4))
        #expect(MetricSeries<ShardMetric, UInt32>.ringBytes(secondsCapacity: 300, minutesCapacity: 180) == rings)
        // Per second also 5 UInt32 extras and the heat byte.
        #expect(MetricsStore.bytesPerShard() == rings + 300 * (5 * 4 + 1) + MetricsStore.fixedBytesPerShard)
        #expect(MetricsStore.bytesPerShard() <= 64 * 1024)
        #expect(MetricsStore.bytesPerShard() == 59_396)  // the figure documented on bytesPerShard (64-bit platforms)
        // The old capacities: the old figure (18,432 B of it fixed) plus the heat byte a second; the fixed part
        // now holds the heat ring's header, the newest point kept from the tick and the list of the buckets the
        // last second wrote (128 Ints), and no copy of the last sample.
        #expect(MetricsStore.fixedBytesPerShard == 19_136)
        #expect(
            MetricsStore.bytesPerShard(secondsCapacity: 900, minutesCapacity: 1_440)
                == 248_112 - 18_432 + 900 + MetricsStore.fixedBytesPerShard)
        #expect(MetricsStore.bytesPerShard(secondsCapacity: 60, minutesCapacity: 60) < MetricsStore.bytesPerShard())

        // A ring never grows past its capacity, however long it runs.
        var small = MetricSeries<ShardMetric, UInt32>(secondsCapacity: 10, minutesCapacity: 3)
        let row = [Double](repeating: 1, count: ShardMetric.allCases.count)
        var t: Int64 = 1_000
        for _ in 0..<600 {
            t += 1_000
            small.append(timeMillis: t, intervalMillis: 1_000, values: row)
        }
        #expect(small.secondCount == 10)
        #expect(small.minuteCount == 3)
        #expect(
            small.storedBytes == MetricSeries<ShardMetric, UInt32>.ringBytes(secondsCapacity: 10, minutesCapacity: 3))

        // 10,000 shards: one series per shard, each within the bound.
        var config = EngineConfiguration()
        config.delays = .immediate
        let clock = ManualClock()
        let engine = KinesisEngine(clock: clock, configuration: config)
        _ = try engine.service().createStream(CreateStreamInput(streamName: "wide", shardCount: 10_000))
        var store = MetricsStore()
        for _ in 0..<3 {
            clock.advance(by: .seconds(1))
            store.ingest(engine.sample())
        }
        #expect(store.shards.count == 10_000)
        #expect(store.streams.count == 1)
        let bound = MetricsStore.bytesPerShard()
        #expect(
            store.shards.values.allSatisfy { $0.metrics.secondsCapacity == 300 && $0.metrics.minutesCapacity == 180 })
        #expect(store.shards.values.allSatisfy { $0.storedBytes <= bound && $0.metrics.secondCount == 2 })
        #expect(store.shards.values.allSatisfy { $0.recentRecordsByBucket.count <= HashKeyHistogram.maxBuckets })
    }

    @Test func costFollowsThePriceTableAndCanBeOverridden() throws {
        var rig = Rig()
        try rig.create("bill", shards: 2)
        _ = try rig.kinesis.increaseStreamRetentionPeriod(
            StreamRetentionInput(streamName: "bill", retentionPeriodHours: 48))
        rig.tick()
        for _ in 0..<10 {
            // 20 records a second of 30,000 bytes + key: 2 PUT payload units and 30 KiB billed each.
            let entries = (0..<20).map { PutRecordsRequestEntry(data: payload(30_000), partitionKey: "k\($0)") }
            _ = try rig.kinesis.putRecords(PutRecordsInput(records: entries, streamName: "bill"))
            rig.tick()
        }
        let stream = rig.stream("bill")
        let prices = PriceTable()
        let c = rig.store.cost(stream)
        #expect(!c.pricesConfirmed)
        #expect(c.mode == "PROVISIONED")
        let units = 40.0 * 3600
        let expected =
            2 * prices.shardHour + units * prices.putPayloadUnitsPerMillion / 1e6 + 2
            * prices.extendedRetentionShardHour
        #expect(abs(c.provisionedHourly - expected) < 1e-12)
        #expect(abs(c.monthly - expected * 730) < 1e-9)
        let kib = 20.0 * 30  // each 30,000 + 2 or 3 key bytes → 30 KiB
        let onDemand = prices.onDemandStreamHour + kib * 1024 * 3600 / 1_073_741_824 * prices.onDemandInPerGB
        #expect(abs(c.onDemandHourly - onDemand) < 1e-12)
        var cheaper = PriceTable()
        cheaper.shardHour = 0
        cheaper.putPayloadUnitsPerMillion = 0
        cheaper.extendedRetentionShardHour = 0
        #expect(rig.store.cost(stream, prices: cheaper).provisionedHourly == 0)
    }

    @Test func latencyComesOnlyFromWhatCallersMeasured() throws {
        var rig = Rig()
        try rig.create("lat", shards: 1)
        rig.tick()
        rig.tick()
        #expect(rig.store.streamSeries(rig.stream("lat"))?.lastSecondLatency.isEmpty == true)
        let recorder = LatencyRecorder()
        for ms in 1...100 { recorder.record(stream: "lat", operation: .putRecords, duration: .milliseconds(ms)) }
        recorder.record(stream: "lat", operation: .getRecords, duration: .microseconds(250))
        rig.tick(latencies: recorder.drain())
        let l = try #require(rig.store.streamSeries(rig.stream("lat"))?.lastSecondLatency)
        let put = try #require(l[.putRecords])
        #expect(put.sampleCount == 100)
        #expect(abs(put.minimum - 1) < 0.01 && abs(put.maximum - 100) < 0.1)
        #expect(abs(put.p50 - 50) < 0.1 && abs(put.p99 - 99) < 0.1)
        #expect(abs(put.average - 50.5) < 0.1)
        #expect(abs((l[.getRecords]?.p50 ?? 0) - 0.25) < 0.001)
        #expect(l[.putRecord] == nil)
        #expect(recorder.drain().isEmpty)
    }

    @Test func utilisationNamesTheBindingLimitAndSkewMeasuresSpread() {
        let byRecords = Utilization(bytesPerSecond: 100_000, recordsPerSecond: 800, limits: .aws)
        #expect(byRecords.bindingLimit == "records" && byRecords.value == 0.8)
        let byBytes = Utilization(bytesPerSecond: 1_048_576, recordsPerSecond: 10, limits: .aws)
        #expect(byBytes.bindingLimit == "bytes" && byBytes.value == 1)
        #expect(Heat.classify(utilization: 0.1, throttled: 0) == .cold)
        #expect(Heat.classify(utilization: 0.5, throttled: 0) == .warm)
        #expect(Heat.classify(utilization: 0.8, throttled: 0) == .hot)
        #expect(Heat.classify(utilization: 0.1, throttled: 1) == .throttled)

        let even = Skew(utilizations: [("a", 0.5), ("b", 0.5), ("c", 0.5), ("d", 0.5)])
        #expect(even.peakToAverage == 1 && even.coefficientOfVariation == 0)
        let one = Skew(utilizations: [("a", 1), ("b", 0), ("c", 0), ("d", 0)])
        #expect(one.peakToAverage == 4)
        #expect(abs(one.coefficientOfVariation - 3.0.squareRoot()) < 1e-12)
        #expect(one.hottestShardId == "a")
        let idle = Skew(utilizations: [("a", 0), ("b", 0)])
        #expect(idle.peakToAverage == 0 && idle.coefficientOfVariation == 0 && idle.hottestShardId == nil)
    }

    @Test func pollingReportsAttributeTheSharedReadBudget() throws {
        var rig = Rig()
        try rig.create("reads", shards: 1)
        rig.tick(consumers: [
            ConsumerReport(
                stream: "reads", name: "a", bytes: 0, records: 0, throttled: 0, millisBehindLatest: 0, calls: 0,
                shards: [
                    "shardId-000000000000": ShardReadReport(
                        bytes: 0, records: 0, calls: 0, throttled: 0, millisBehindLatest: 0)
                ])
        ])
        rig.tick(consumers: [
            ConsumerReport(
                stream: "reads", name: "a", bytes: 3_000, records: 3, throttled: 2, millisBehindLatest: 40, calls: 3,
                shards: [
                    "shardId-000000000000": ShardReadReport(
                        bytes: 3_000, records: 3, calls: 3, throttled: 2, millisBehindLatest: 40)
                ])
        ])
        let stream = rig.stream("reads")
        let share = try #require(rig.store.readBudgets[stream.arn]?.first?.pollingConsumers.first)
        #expect(
            share.consumer == "a" && share.bytesPerSecond == 3_000 && share.throttledPerSecond == 2
                && share.callsPerSecond == 3)
        let c = try #require(rig.store.consumerSeries(stream).first { $0.name == "a" }?.metrics.lastSecond)
        #expect(c[.bytes] == 3_000 && c[.throttled] == 2 && c[.millisBehindLatest] == 40 && c[.success] == 3)
    }
}

/// Series columns are read by `column`; the per-shard metrics answer with a switch, which must keep
/// `allCases`' order (the series rows are laid out in it).
@Suite struct MetricColumnTests {
    @Test func everyColumnIsItsPositionInAllCases() {
        for (i, m) in ShardMetric.allCases.enumerated() { #expect(m.column == i, "\(m)") }
        for (i, m) in StreamMetric.allCases.enumerated() { #expect(m.column == i, "\(m)") }
        for (i, m) in ConsumerMetric.allCases.enumerated() { #expect(m.column == i, "\(m)") }
        for (i, h) in Heat.allCases.enumerated() { #expect(h.rank == i, "\(h)") }
        #expect(Heat.cold < .warm && .warm < .hot && .hot < .throttled && !(Heat.hot < .hot))
    }

    @Test func theBindingLimitReadsAndWritesAsText() {
        var s = ShardSecond(time: Instant(millisecondsSinceEpoch: 0))
        #expect(s.bindingLimit == "bytes")
        s.bindingLimit = "records"
        #expect(s.writeLimit == .records && s.bindingLimit == "records")
        let u = Utilization(bytesPerSecond: 10, recordsPerSecond: 900, bytesLimit: 1_048_576, recordsLimit: 1000)
        #expect(u.writeLimit == .records && u.bindingLimit == "records")
        // A tie binds on bytes, as before.
        let tie = Utilization(
            bytesPerSecond: 1_048_576, recordsPerSecond: 1000, bytesLimit: 1_048_576, recordsLimit: 1000)
        #expect(tie.bindingLimit == "bytes")
    }
}

/// The ring's three ways in (any collection, a buffer, one value) keep the same rows, oldest first,
/// while it grows and once it wraps, down to a capacity of one row.
@Suite struct RowRingTests {
    @Test(arguments: [1, 2, 5])
    func everyAppendKeepsTheNewestRowsInOrder(capacity: Int) {
        var byCollection = RowRing<UInt32>(width: 3, capacity: capacity)
        var byBuffer = RowRing<UInt32>(width: 3, capacity: capacity)
        var model: [[UInt32]] = []
        for n in UInt32(0)..<UInt32(3 * capacity + 2) {
            let row: [UInt32] = [n, n &* 7, .max - n]
            byCollection.append(row)
            row.withUnsafeBufferPointer { byBuffer.append($0) }
            model.append(row)
            let kept = Array(model.suffix(capacity))
            #expect(byCollection.count == kept.count && byBuffer.count == kept.count)
            for i in kept.indices {
                #expect(Array(byCollection.row(i)) == kept[i])
                #expect(Array(byBuffer.row(i)) == kept[i])
                #expect(byBuffer.element(i, 2) == kept[i][2])
            }
        }
        #expect(byBuffer.storedElements == 3 * capacity)
    }

    @Test(arguments: [1, 4])
    func singleValuesMatchOneElementRows(capacity: Int) {
        var byValue = RowRing<Int64>(width: 1, capacity: capacity)
        var byCollection = RowRing<Int64>(width: 1, capacity: capacity)
        for v in [Int64.min, -1, 0, 1, .max, 42, 7] {
            byValue.append(v)
            byCollection.append(CollectionOfOne(v))
            #expect((0..<byValue.count).map { byValue.element($0, 0) }
                == (0..<byCollection.count).map { byCollection.element($0, 0) })
        }
        #expect(byValue.count == capacity)
        #expect(byValue.element(capacity - 1, 0) == 7)
    }
}

extension RowRingTests {
    /// The buffer never holds room for more than `capacity` rows (plus the allocator's rounding), so the
    /// per-shard bound holds for the memory reserved, not only for the rows stored.
    @Test(arguments: [(7, 300), (1, 300), (5, 1), (14, 180), (1, 9)])
    func theBufferStopsAtTheBound(width: Int, capacity: Int) {
        var ring = RowRing<UInt32>(width: width, capacity: capacity)
        let row = [UInt32](repeating: 1, count: width)
        for _ in 0..<capacity * 2 {
            row.withUnsafeBufferPointer { ring.append($0) }
            #expect(ring.reservedElements <= capacity * width + 8)
        }
        #expect(ring.reservedElements >= capacity * width)
    }
}
