import Foundation
import StreamEngine

/// One second of one shard, in CloudWatch's metric names and units
/// (KINESIS.md §6): bytes and counts per second, age in milliseconds.
public struct ShardSecond: Sendable, Equatable {
    public var time: Instant
    public var incomingBytes: Double = 0
    public var incomingRecords: Double = 0
    public var writeProvisionedThroughputExceeded: Double = 0
    /// GetRecords plus enhanced fan-out, as CloudWatch's shard-level OutgoingBytes.
    public var outgoingBytes: Double = 0
    public var outgoingRecords: Double = 0
    public var getRecordsBytes: Double = 0
    public var fanOutBytes: Double = 0
    public var readProvisionedThroughputExceeded: Double = 0
    public var iteratorAgeMilliseconds: Double = 0
    /// max(bytes / byte limit, records / record limit) of the write quota.
    public var utilization: Double = 0
    /// Which write limit binds. Stored as an enum: a `String` member made every copy of a second (the store
    /// and the dashboard copy one per shard per tick) retain and release it.
    public var writeLimit: WriteLimit = .bytes
    /// Which write limit binds: "bytes" or "records".
    public var bindingLimit: String {
        get { writeLimit.rawValue }
        set { writeLimit = WriteLimit(rawValue: newValue) ?? .bytes }
    }
    public var heat: Heat = .cold
    // Added with the rollups: GetRecords alone, and successful GetRecords calls.
    public var getRecordsRecords: Double = 0
    public var getRecordsSuccess: Double = 0
    public var fanOutRecords: Double = 0
}

/// The two write quotas of a shard (KINESIS.md §3: 1 MiB/s **and** 1,000 records/s), as a second's binding one.
public enum WriteLimit: String, Sendable, Equatable {
    case bytes, records
}

/// How hard a shard is working against its write quota.
public enum Heat: String, Sendable, Comparable, CaseIterable {
    case cold, warm, hot, throttled

    /// cold < 25 % of the binding limit ≤ warm < 75 % ≤ hot; any throttled
    /// record in the second makes it `throttled`.
    public static func classify(utilization: Double, throttled: Double) -> Heat {
        if throttled > 0 { return .throttled }
        if utilization >= 0.75 { return .hot }
        if utilization >= 0.25 { return .warm }
        return .cold
    }

    public static func < (a: Heat, b: Heat) -> Bool { a.rank < b.rank }

    /// Position in `allCases` (cold 0 … throttled 3): what `<` compares and the byte a series keeps.
    var rank: Int {
        switch self {
        case .cold: 0
        case .warm: 1
        case .hot: 2
        case .throttled: 3
        }
    }
}

/// What a dashboard refresh reads of every shard: the newest second and the last minute's mean write
/// utilisation (merge advice), without the shard's series (`MetricsStore.shardSummaries`).
public struct ShardSummary: Sendable, Equatable {
    /// The newest second (nil until two samples have been seen).
    public var latest: ShardSecond?
    /// `ShardSeries.minuteMeanUtilization`: nil with less than a minute of seconds.
    public var minuteMeanUtilization: Double?
    public init(latest: ShardSecond?, minuteMeanUtilization: Double?) {
        self.latest = latest
        self.minuteMeanUtilization = minuteMeanUtilization
    }
}

/// Write utilisation of one shard: the larger of its two write quotas' use,
/// and which one that is (KINESIS.md §3: 1 MiB/s **and** 1,000 records/s).
public struct Utilization: Sendable, Equatable {
    public var value: Double
    public var writeLimit: WriteLimit
    /// "bytes" or "records".
    public var bindingLimit: String { writeLimit.rawValue }
    public init(bytesPerSecond: Double, recordsPerSecond: Double, limits: KinesisLimits) {
        self.init(
            bytesPerSecond: bytesPerSecond, recordsPerSecond: recordsPerSecond,
            bytesLimit: limits.shardWriteBytesPerSecond, recordsLimit: limits.shardWriteRecordsPerSecond)
    }

    /// The same from the two write quotas alone (no `KinesisLimits` to copy per point).
    public init(bytesPerSecond: Double, recordsPerSecond: Double, bytesLimit: Int, recordsLimit: Int) {
        let byBytes = bytesPerSecond / Double(bytesLimit)
        let byRecords = recordsPerSecond / Double(recordsLimit)
        value = max(byBytes, byRecords)
        writeLimit = byRecords > byBytes ? .records : .bytes
    }
}

/// What one shard did over one interval: the differences of its cumulative
/// counters between two samples, as CloudWatch counts them. The one place a
/// shard's per-second figures come from: its own series, the stream's sums,
/// the bill and the read budget all read this.
public struct ShardDelta: Sendable, Equatable {
    public var incomingBytes: Double
    public var incomingRecords: Double
    /// GetRecords alone (CloudWatch's stream-level GetRecords.Bytes/Records).
    public var getRecordsBytes: Double
    public var getRecordsRecords: Double
    public var getRecordsSuccess: Double
    public var fanOutBytes: Double
    public var fanOutRecords: Double
    public var writeProvisionedThroughputExceeded: Double
    public var readProvisionedThroughputExceeded: Double
    public var putPayloadUnits: Double
    public var billedKiB: Double
    /// A level, not a difference: the age at the newer sample.
    public var iteratorAgeMilliseconds: Int64

    public init(_ c: ShardCounters, since p: ShardCounters) {
        func d(_ a: Int64, _ b: Int64) -> Double { Double(a - b) }
        incomingBytes = d(c.incomingBytes, p.incomingBytes)
        incomingRecords = d(c.incomingRecords, p.incomingRecords)
        getRecordsBytes = d(c.outgoingBytes, p.outgoingBytes)
        getRecordsRecords = d(c.outgoingRecords, p.outgoingRecords)
        getRecordsSuccess = d(c.getRecordsCalls, p.getRecordsCalls)
        fanOutBytes = d(c.fanOutBytes, p.fanOutBytes)
        fanOutRecords = d(c.fanOutRecords, p.fanOutRecords)
        writeProvisionedThroughputExceeded = d(c.writeThrottledRecords, p.writeThrottledRecords)
        readProvisionedThroughputExceeded = d(c.readThrottledCalls, p.readThrottledCalls)
        putPayloadUnits = d(c.putPayloadUnits, p.putPayloadUnits)
        billedKiB = d(c.billedKiB, p.billedKiB)
        iteratorAgeMilliseconds = c.iteratorAgeMilliseconds
    }

    /// CloudWatch's shard-level OutgoingBytes/OutgoingRecords: GetRecords plus enhanced fan-out.
    public var outgoingBytes: Double { getRecordsBytes + fanOutBytes }
    public var outgoingRecords: Double { getRecordsRecords + fanOutRecords }
}

/// The history of one shard: CloudWatch's shard-level metrics one point a
/// second (default 5 minutes) rolled up to minutes (default 3 hours), a few
/// GetRecords/fan-out extras and the heat per second, and the recent load per
/// hash key bucket that split advice reads.
///
/// Memory per shard is fixed by the capacities; see `MetricsStore.bytesPerShard`.
/// What the dashboard reads every refresh (the newest second, the heat and
/// IncomingBytes history, a minute's mean utilisation) is read straight from
/// the rings or kept from the tick, without building a `ShardSecond` per point.
public struct ShardSeries: Sendable {
    public let shardId: String
    /// CloudWatch's shard-level metrics: counts per interval, gauge levels.
    public private(set) var metrics: MetricSeries<ShardMetric, UInt32>
    /// Per second: GetRecords bytes, GetRecords records, GetRecords calls
    /// that succeeded, fan-out bytes, fan-out records.
    private var extras: RowRing<UInt32>
    /// Heat of each second (a `Heat`'s index), classified once at the tick.
    private var heats: RowRing<UInt8>
    /// The newest point, kept from the tick (`latest`).
    private var newest: ShardSecond?
    var previous: ShardCounters?
    /// The previous sample's hash key histogram (what the next one is differenced against); the series
    /// keeps no more of the sample: the store's `lastSample` has it, and a copy here cost every tick.
    private var lastHistogram: HashKeyHistogram?
    /// Recent records and bytes per hash key bucket, decayed with a
    /// `loadHalfLifeSeconds` half-life (empty until two samples have been seen).
    /// Built on each read from the scaled store below (O(buckets)).
    public var recentRecordsByBucket: [Double] { recentRecordsScaled.map { $0 * recentScale } }
    public var recentBytesByBucket: [Double] { recentBytesScaled.map { $0 * recentScale } }
    /// The last second's records and bytes per bucket.
    public private(set) var lastSecondRecordsByBucket: [Double] = []
    public private(set) var lastSecondBytesByBucket: [Double] = []
    /// The decayed loads divided by `recentScale`. Decaying every bucket every tick was a quarter of a
    /// tick at 10,000 shards, though a shard's second touches a few buckets: the decay multiplies the
    /// one scale instead, and a record adds `count / recentScale` to its bucket alone.
    private var recentRecordsScaled: [Double] = []
    private var recentBytesScaled: [Double] = []
    private var recentScale = 1.0
    /// The buckets the last second wrote to (the ones to clear at the next fold).
    private var lastSecondBuckets: [Int] = []
    private var writeBytesLimit = KinesisLimits.aws.shardWriteBytesPerSecond
    private var writeRecordsLimit = KinesisLimits.aws.shardWriteRecordsPerSecond
    /// The utilisations of the seconds in the window (the newest `utilizationWindow`, or every retained
    /// second while there are fewer), summed in fixed point at the tick: merge advice reads a minute's mean
    /// of every shard every tick, and walking the minute was ≈ 2.4 k instructions a shard. Integers, so the
    /// second that leaves the window takes back exactly what it added (a running sum of doubles drifts).
    private var windowUtilizationUnits: UInt64 = 0

    public static let extrasWidth = 5
    /// The seconds `minuteMeanUtilization` averages: the minute merge advice looks at.
    public static let utilizationWindow = 60
    /// Fixed-point units of one utilisation in `windowUtilizationUnits` (2^32: a second's rounding is under
    /// 2^-33). A second counts at most 2^26 (67 million times its quota), so a minute of them fits a UInt64.
    static let utilizationUnit = 0x1p32
    static let maxUtilizationUnits = UInt64(1) << 58
    public static let loadHalfLifeSeconds = 30.0

    public init(shardId: String, capacity: Int) {
        self.init(shardId: shardId, secondsCapacity: capacity, minutesCapacity: 1440)
    }

    public init(shardId: String, secondsCapacity: Int, minutesCapacity: Int) {
        self.shardId = shardId
        metrics = MetricSeries(secondsCapacity: secondsCapacity, minutesCapacity: minutesCapacity)
        extras = RowRing(width: Self.extrasWidth, capacity: secondsCapacity)
        heats = RowRing(width: 1, capacity: secondsCapacity)
    }

    /// Every retained second, oldest first, as `ShardSecond`s. O(n): built on
    /// each access; prefer `latest` or `history(last:)` for a few points.
    public var seconds: RingBuffer<ShardSecond> {
        var ring = RingBuffer<ShardSecond>(capacity: metrics.secondsCapacity)
        for i in 0..<metrics.secondCount { ring.append(shardSecond(i)) }
        return ring
    }

    /// The newest point.
    public var latest: ShardSecond? { newest }

    /// The newest `n` points, oldest first.
    public func history(last n: Int) -> [ShardSecond] {
        let k = min(n, metrics.secondCount)
        return (metrics.secondCount - k..<metrics.secondCount).map(shardSecond)
    }

    /// IncomingBytes per second and heat of the newest `n` seconds, oldest first: what the dashboard's
    /// chart and heat map show, read from the rings (`history(last:)` builds whole points).
    public func incomingHistory(last n: Int) -> (bytesPerSecond: [Double], heat: [Heat]) {
        let count = metrics.secondCount
        let k = max(0, min(n, count))
        var bytes: [Double] = []
        var heat: [Heat] = []
        bytes.reserveCapacity(k)
        heat.reserveCapacity(k)
        for i in count - k..<count {
            bytes.append(metrics.rate(.incomingBytes, ofSecond: i))
            heat.append(Heat.allCases[Int(heats.element(i, 0))])
        }
        return (bytes, heat)
    }

    /// Mean write utilisation of the newest `n` seconds (nil with fewer than `n`):
    /// `history(last: n)`'s utilisations summed oldest first, over `n`.
    public func meanUtilization(lastSeconds n: Int) -> Double? {
        let count = metrics.secondCount
        guard n > 0, count >= n else { return nil }
        var sum = 0.0
        for i in count - n..<count { sum += utilization(ofSecond: i).value }
        return sum / Double(n)
    }

    /// Mean write utilisation of the newest minute (`utilizationWindow` seconds; nil with fewer), in O(1)
    /// from the sum kept at the tick. Within 2^-32 of `meanUtilization(lastSeconds: 60)`, which sums the
    /// same seconds as doubles (each second is rounded to fixed point); exactly 0 for a minute without writes.
    public var minuteMeanUtilization: Double? {
        guard metrics.secondCount >= Self.utilizationWindow else { return nil }
        return Double(windowUtilizationUnits) / Self.utilizationUnit / Double(Self.utilizationWindow)
    }

    /// What a refresh reads of the shard: its newest second and the minute's mean utilisation.
    var summary: ShardSummary { ShardSummary(latest: newest, minuteMeanUtilization: minuteMeanUtilization) }

    /// Second `i`'s utilisation in the window's fixed point: rounded, saturating, NaN (a zero quota) as 0.
    private func utilizationUnits(ofSecond i: Int) -> UInt64 { Self.units(utilization(ofSecond: i).value) }

    static func units(_ u: Double) -> UInt64 {
        guard u > 0 else { return 0 }  // also NaN
        let scaled = u * Self.utilizationUnit
        return scaled >= Double(Self.maxUtilizationUnits) ? Self.maxUtilizationUnits : UInt64(scaled.rounded())
    }

    /// The window's sum walked from the ring: at a change of the write quotas, which every second's
    /// utilisation is measured against.
    private func walkedWindowUtilizationUnits() -> UInt64 {
        let count = metrics.secondCount
        var sum: UInt64 = 0
        for i in max(0, count - windowLength)..<count { sum &+= utilizationUnits(ofSecond: i) }
        return sum
    }

    /// Seconds the window holds once the ring has that many (a ring shorter than a minute: all of it).
    private var windowLength: Int { min(Self.utilizationWindow, metrics.secondsCapacity) }

    private func utilization(ofSecond i: Int) -> Utilization {
        Utilization(
            bytesPerSecond: metrics.rate(.incomingBytes, ofSecond: i),
            recordsPerSecond: metrics.rate(.incomingRecords, ofSecond: i),
            bytesLimit: writeBytesLimit, recordsLimit: writeRecordsLimit)
    }

    func shardSecond(_ i: Int) -> ShardSecond {
        let interval = metrics.intervalMillis(ofSecond: i)
        let perSecond = interval > 0 ? 1000 / Double(interval) : 1
        func x(_ c: Int) -> Double { Double(extras.element(i, c)) * perSecond }
        var s = ShardSecond(time: Instant(millisecondsSinceEpoch: metrics.timeMillis(ofSecond: i)))
        s.incomingBytes = metrics.rate(.incomingBytes, ofSecond: i)
        s.incomingRecords = metrics.rate(.incomingRecords, ofSecond: i)
        s.writeProvisionedThroughputExceeded = metrics.rate(.writeProvisionedThroughputExceeded, ofSecond: i)
        s.outgoingBytes = metrics.rate(.outgoingBytes, ofSecond: i)
        s.outgoingRecords = metrics.rate(.outgoingRecords, ofSecond: i)
        s.readProvisionedThroughputExceeded = metrics.rate(.readProvisionedThroughputExceeded, ofSecond: i)
        s.iteratorAgeMilliseconds = metrics.rate(.iteratorAgeMilliseconds, ofSecond: i)
        s.getRecordsBytes = x(0)
        s.getRecordsRecords = x(1)
        s.getRecordsSuccess = x(2)
        s.fanOutBytes = x(3)
        s.fanOutRecords = x(4)
        let u = utilization(ofSecond: i)
        s.utilization = u.value
        s.writeLimit = u.writeLimit
        s.heat = Heat.classify(utilization: s.utilization, throttled: s.writeProvisionedThroughputExceeded)
        return s
    }

    /// Adds the point for the interval since the previous sample; returns the
    /// interval's counter differences (nil for a shard's first sample). Takes the
    /// two parts of the shard's sample it reads: passing the whole sample copied
    /// it, retaining every field, for every shard every tick.
    @discardableResult
    mutating func ingest(
        counters: ShardCounters, histogram: HashKeyHistogram?, at time: Instant, elapsedSeconds: Double,
        limits: KinesisLimits
    ) -> ShardDelta? {
        if writeBytesLimit != limits.shardWriteBytesPerSecond
            || writeRecordsLimit != limits.shardWriteRecordsPerSecond
        {
            writeBytesLimit = limits.shardWriteBytesPerSecond
            writeRecordsLimit = limits.shardWriteRecordsPerSecond
            windowUtilizationUnits = walkedWindowUtilizationUnits()
        }
        let before = lastHistogram
        defer {
            previous = counters
            lastHistogram = histogram
        }
        guard let p = previous, elapsedSeconds > 0 else { return nil }
        let delta = ShardDelta(counters, since: p)
        let interval = Int64((elapsedSeconds * 1000).rounded())
        // The second that leaves the window, read before the ring may overwrite it. Wrapping arithmetic: it
        // takes back what it added (the same stored figures and quotas), so the sum cannot go below zero.
        if metrics.secondCount >= windowLength {
            windowUtilizationUnits &-= utilizationUnits(ofSecond: metrics.secondCount - windowLength)
        }
        // Rows on the stack: two arrays a shard a tick were 2 of the tick's 4 heap blocks per shard.
        withUnsafeTemporaryAllocation(of: Double.self, capacity: ShardMetric.allCases.count) { row in
            // In ShardMetric's column order.
            row[ShardMetric.incomingBytes.column] = delta.incomingBytes
            row[ShardMetric.incomingRecords.column] = delta.incomingRecords
            row[ShardMetric.outgoingBytes.column] = delta.outgoingBytes
            row[ShardMetric.outgoingRecords.column] = delta.outgoingRecords
            row[ShardMetric.iteratorAgeMilliseconds.column] = Double(delta.iteratorAgeMilliseconds)
            row[ShardMetric.writeProvisionedThroughputExceeded.column] = delta.writeProvisionedThroughputExceeded
            row[ShardMetric.readProvisionedThroughputExceeded.column] = delta.readProvisionedThroughputExceeded
            metrics.append(
                timeMillis: time.millisecondsSinceEpoch, intervalMillis: interval, values: UnsafeBufferPointer(row))
        }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: Self.extrasWidth) { row in
            row[0] = UInt32(seriesValue: delta.getRecordsBytes)
            row[1] = UInt32(seriesValue: delta.getRecordsRecords)
            row[2] = UInt32(seriesValue: delta.getRecordsSuccess)
            row[3] = UInt32(seriesValue: delta.fanOutBytes)
            row[4] = UInt32(seriesValue: delta.fanOutRecords)
            extras.append(UnsafeBufferPointer(row))
        }
        // Derived once here, read every refresh.
        let point = shardSecond(metrics.secondCount - 1)
        windowUtilizationUnits &+= Self.units(point.utilization)  // utilizationUnits(ofSecond:) of the newest
        heats.append(UInt8(point.heat.rank))
        newest = point
        // The engine counts a record into the histogram and the counters under one lock: a shard that took
        // nothing has no bucket to compare (most of a wide stream's shards, most seconds).
        let wrote = delta.incomingRecords != 0 || delta.incomingBytes != 0
        foldHistogram(new: histogram, old: before, elapsedSeconds: elapsedSeconds, compare: wrote)
        return delta
    }

    private mutating func foldHistogram(
        new: HashKeyHistogram?, old: HashKeyHistogram?, elapsedSeconds: Double, compare: Bool
    ) {
        guard let new, let old, new.bucketCount == old.bucketCount else { return }
        let n = new.bucketCount
        if recentRecordsScaled.count != n {
            recentRecordsScaled = Array(repeating: 0, count: n)
            recentBytesScaled = recentRecordsScaled
            lastSecondRecordsByBucket = recentRecordsScaled
            lastSecondBytesByBucket = recentRecordsScaled
            lastSecondBuckets = []
            recentScale = 1
        }
        recentScale *= exp2(-elapsedSeconds / Self.loadHalfLifeSeconds)
        if recentScale < Self.renormalizeBelow {
            // Every half-life halves the scale; after 600 of them (5 hours at a 30 s half-life), long
            // before a double would run out of range, the stored loads are multiplied out and the scale is 1.
            for i in 0..<n {
                recentRecordsScaled[i] *= recentScale
                recentBytesScaled[i] *= recentScale
            }
            recentScale = 1
        }
        for i in lastSecondBuckets {
            lastSecondRecordsByBucket[i] = 0
            lastSecondBytesByBucket[i] = 0
        }
        lastSecondBuckets.removeAll(keepingCapacity: true)
        guard compare else { return }
        // Every shard, every tick: compare through buffer pointers (no bounds or uniqueness check per
        // bucket); only the buckets that took records are written. The counts are cumulative and
        // non-negative, so the differences cannot overflow. O(buckets) compares, O(changed) writes.
        let inverse = 1 / recentScale
        new.records.withUnsafeBufferPointer { newRecords in
            old.records.withUnsafeBufferPointer { oldRecords in
                new.bytes.withUnsafeBufferPointer { newBytes in
                    old.bytes.withUnsafeBufferPointer { oldBytes in
                        // Eight buckets at a time, branch-free (it vectorises): a second touches few.
                        var start = 0
                        while start < n {
                            let end = min(start + 8, n)
                            var differs: Int64 = 0
                            for i in start..<end {
                                differs |= (newRecords[i] ^ oldRecords[i]) | (newBytes[i] ^ oldBytes[i])
                            }
                            if differs != 0 {
                                for i in start..<end
                                where newRecords[i] != oldRecords[i] || newBytes[i] != oldBytes[i] {
                                    let records = Double(newRecords[i] - oldRecords[i])
                                    let bytes = Double(newBytes[i] - oldBytes[i])
                                    lastSecondRecordsByBucket[i] = records
                                    lastSecondBytesByBucket[i] = bytes
                                    recentRecordsScaled[i] += records * inverse
                                    recentBytesScaled[i] += bytes * inverse
                                    lastSecondBuckets.append(i)
                                }
                            }
                            start = end
                        }
                    }
                }
            }
        }
    }

    /// The scale below which the stored loads are multiplied out (2^-600: far from a double's range).
    static let renormalizeBelow = 0x1p-600

    /// Bytes of ring storage currently held (grows to the documented bound).
    public var storedBytes: Int { metrics.storedBytes + extras.storedElements * 4 + heats.storedElements }
}
