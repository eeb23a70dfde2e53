/// How a series stores one value of a per-second point.
///
/// Shard series use `UInt32` (4 bytes: exact counts up to 4 Gi per second,
/// saturating beyond; ages up to 49 days) to keep 10,000 shards affordable;
/// stream and consumer series, of which there are few, use `Double`.
public protocol SeriesScalar: Sendable, Equatable {
    init(seriesValue: Double)
    var seriesValue: Double { get }
}

extension Double: SeriesScalar {
    public init(seriesValue: Double) { self = seriesValue }
    public var seriesValue: Double { self }
}

extension UInt32: SeriesScalar {
    public init(seriesValue v: Double) {
        self = v.isNaN || v <= 0 ? 0 : v >= 4_294_967_295 ? .max : UInt32(v.rounded())
    }
    public var seriesValue: Double { Double(self) }
}

/// A ring of fixed-width rows in one flat buffer: appending past capacity
/// overwrites the oldest row. Storage grows to `capacity × width` and never
/// beyond, so its worst case is known in advance.
///
/// Complexity: `append` O(width); `row` O(1) (a slice of the buffer).
public struct RowRing<Scalar: Sendable>: Sendable {
    public let width: Int
    public let capacity: Int
    private var storage: [Scalar] = []
    private var head = 0
    public private(set) var count = 0

    public init(width: Int, capacity: Int) {
        precondition(width > 0 && capacity > 0)
        self.width = width
        self.capacity = capacity
    }

    public mutating func append<C: Collection>(_ row: C) where C.Element == Scalar {
        precondition(row.count == width)
        if count < capacity {
            reserveForNextRow()
            storage.append(contentsOf: row)
            count += 1
            return
        }
        var i = head * width
        for v in row {
            storage[i] = v
            i += 1
        }
        advanceHead()
    }

    /// A row from a buffer (the per-shard rows, every shard every tick): one copy, no collection to walk.
    public mutating func append(_ row: UnsafeBufferPointer<Scalar>) {
        precondition(row.count == width)
        if count < capacity {
            reserveForNextRow()
            storage.append(contentsOf: row)
            count += 1
            return
        }
        let start = head * width
        storage.withUnsafeMutableBufferPointer { s in
            _ = UnsafeMutableBufferPointer(rebasing: s[start..<start + width]).update(fromContentsOf: row)
        }
        advanceHead()
    }

    /// The row of a width-1 ring (times, intervals, heat).
    public mutating func append(_ value: Scalar) {
        precondition(width == 1)
        if count < capacity {
            reserveForNextRow()
            storage.append(value)
            count += 1
            return
        }
        storage[head] = value
        advanceHead()
    }

    /// Grows the buffer in doublings from 8 rows, never past `capacity` rows: `Array`'s own doubling
    /// reallocated at 1, 2, 4… elements (a young store's first ticks) and could end at up to twice the
    /// bound that `MetricsStore.bytesPerShard` states.
    private mutating func reserveForNextRow() {
        guard storage.count + width > storage.capacity else { return }
        storage.reserveCapacity(Swift.min(capacity, Swift.max(8, 2 * count)) * width)
    }

    private mutating func advanceHead() {
        head = head + 1 == capacity ? 0 : head + 1
    }

    /// Row `i`, oldest first.
    public func row(_ i: Int) -> ArraySlice<Scalar> {
        precondition(i >= 0 && i < count)
        let r = count < capacity ? i : (head + i) % capacity
        return storage[r * width..<(r + 1) * width]
    }

    /// Column `column` of row `i`, oldest first, without slicing.
    @inline(__always)
    public func element(_ i: Int, _ column: Int) -> Scalar {
        let r = count < capacity ? i : (head + i) % capacity
        return storage[r * width + column]
    }

    /// Elements held (for memory accounting).
    public var storedElements: Int { storage.count }

    /// Elements the buffer has room for (what it costs in memory).
    var reservedElements: Int { storage.capacity }
}

/// CloudWatch's statistics of one metric over one rolled-up period
/// (KINESIS.md §6: Sum, Average, Minimum, Maximum, SampleCount). ktop's data
/// points are its own 1-second samples, so `sampleCount` counts seconds, not
/// API calls; for counts `minimum`/`maximum` are per-second figures.
public struct Statistics: Sendable, Equatable {
    public var sum: Double
    public var minimum: Double
    public var maximum: Double
    public var sampleCount: Int
    public var average: Double { sampleCount > 0 ? sum / Double(sampleCount) : 0 }
    public init(sum: Double, minimum: Double, maximum: Double, sampleCount: Int) {
        self.sum = sum
        self.minimum = minimum
        self.maximum = maximum
        self.sampleCount = sampleCount
    }
}

/// One rolled-up minute of a series: the statistics of every rolled-up
/// metric, in column order.
public struct MinutePoint<M: MetricName>: Sendable, Equatable {
    /// Start of the minute, milliseconds since the epoch.
    public var startMillis: Int64
    public var statistics: [Statistics]
    public subscript(_ m: M) -> Statistics { statistics[m.column] }
}

/// One second of a series, values in column order: counts for `.count`
/// metrics (over `intervalMillis`), levels for `.gauge` metrics.
public struct SecondPoint<M: MetricName>: Sendable, Equatable {
    /// End of the interval, milliseconds since the epoch.
    public var timeMillis: Int64
    public var intervalMillis: Int64
    public var values: [Double]
    /// What happened in the interval (counts) or the level (gauges).
    public subscript(_ m: M) -> Double { values[m.column] }
    /// Per second over the interval for counts; the level for gauges.
    public func rate(_ m: M) -> Double {
        m.kind == .gauge || intervalMillis <= 0 ? values[m.column] : values[m.column] * 1000 / Double(intervalMillis)
    }
}

/// Per-second points of one metric set in a ring (default 15 minutes), rolled
/// up to 1-minute points in a second ring (default 24 hours).
///
/// Memory is fixed by the two capacities: seconds × (8 + 4 + width × size of
/// Scalar) plus minutes × (8 + 2 + width × (8 + 2 × size of Scalar)), plus
/// the open minute's accumulators. `MetricsStore.bytesPerShard` states the
/// figure for shards.
public struct MetricSeries<M: MetricName, Scalar: SeriesScalar>: Sendable {
    public static var width: Int { M.allCases.count }
    private var times: RowRing<Int64>
    private var intervals: RowRing<UInt32>
    private var values: RowRing<Scalar>
    private var minuteStarts: RowRing<Int64>
    private var minuteCounts: RowRing<UInt16>
    private var minuteSums: RowRing<Double>
    private var minuteMinMax: RowRing<Scalar>
    // The minute being filled.
    private var openMinute: Int64 = .min
    private var openCount = 0
    /// The open minute's sums, minimums and maximums (width each, in that order), in one buffer.
    private var open: [Double] = []

    public init(secondsCapacity: Int = 900, minutesCapacity: Int = 1440) {
        let w = Self.width
        times = RowRing(width: 1, capacity: secondsCapacity)
        intervals = RowRing(width: 1, capacity: secondsCapacity)
        values = RowRing(width: w, capacity: secondsCapacity)
        minuteStarts = RowRing(width: 1, capacity: minutesCapacity)
        minuteCounts = RowRing(width: 1, capacity: minutesCapacity)
        minuteSums = RowRing(width: w, capacity: minutesCapacity)
        minuteMinMax = RowRing(width: 2 * w, capacity: minutesCapacity)
    }

    public var secondsCapacity: Int { times.capacity }
    public var minutesCapacity: Int { minuteStarts.capacity }
    public var secondCount: Int { times.count }
    /// Completed minutes (the open minute is not counted until it closes).
    public var minuteCount: Int { minuteStarts.count }

    /// Appends the point for the interval ending at `timeMillis`. Values are
    /// in column order: counts for `.count` metrics, levels for gauges.
    public mutating func append(timeMillis: Int64, intervalMillis: Int64, values row: [Double]) {
        row.withUnsafeBufferPointer { append(timeMillis: timeMillis, intervalMillis: intervalMillis, values: $0) }
    }

    /// The same from a row the caller holds (on the stack, for the per-shard series every tick). One pass
    /// over the row quantises it for the seconds ring and folds it into the open minute.
    public mutating func append(timeMillis: Int64, intervalMillis: Int64, values row: UnsafeBufferPointer<Double>) {
        let width = Self.width
        precondition(row.count == width)
        times.append(timeMillis)
        intervals.append(UInt32(clamping: max(0, intervalMillis)))
        // Roll up by the minute the interval ends in (the second it is labelled with).
        let minute = (timeMillis - 1).floorDivided(by: 60_000) * 60_000
        if minute != openMinute {
            closeMinute()
            openMinute = minute
        }
        let rate = intervalMillis > 0 ? 1000 / Double(intervalMillis) : 1
        if open.isEmpty { open = Array(repeating: 0, count: 3 * width) }
        let first = openCount == 0
        withUnsafeTemporaryAllocation(of: Scalar.self, capacity: width) { scalars in
            // Every shard, every tick: through buffer pointers, without a uniqueness check per metric.
            open.withUnsafeMutableBufferPointer { acc in
                for (i, m) in M.allCases.enumerated() {
                    let scalar = Scalar(seriesValue: row[i])
                    scalars.initializeElement(at: i, to: scalar)
                    // The minute sums what the seconds ring keeps (quantised), so the two agree.
                    let v = scalar.seriesValue
                    let perSecond = m.kind == .count ? v * rate : v
                    if first {
                        acc[i] = v
                        acc[width + i] = perSecond
                        acc[2 * width + i] = perSecond
                    } else {
                        acc[i] += v
                        acc[width + i] = min(acc[width + i], perSecond)
                        acc[2 * width + i] = max(acc[2 * width + i], perSecond)
                    }
                }
            }
            defer { _ = scalars.deinitialize() }
            values.append(UnsafeBufferPointer(scalars))
        }
        openCount += 1
    }

    private mutating func closeMinute() {
        guard openCount > 0 else { return }
        minuteStarts.append(openMinute)
        minuteCounts.append(UInt16(clamping: openCount))
        let width = Self.width
        minuteSums.append(open[0..<width])
        var mm: [Scalar] = []
        mm.reserveCapacity(2 * width)
        for i in 0..<width {
            mm.append(Scalar(seriesValue: open[width + i]))
            mm.append(Scalar(seriesValue: open[2 * width + i]))
        }
        minuteMinMax.append(mm)
        openCount = 0
    }

    /// Second `i`, oldest first.
    public func second(_ i: Int) -> SecondPoint<M> {
        SecondPoint(
            timeMillis: times.row(i).first!, intervalMillis: Int64(intervals.row(i).first!),
            values: values.row(i).map(\.seriesValue))
    }

    public var lastSecond: SecondPoint<M>? { secondCount > 0 ? second(secondCount - 1) : nil }

    /// End of second `i`'s interval (oldest first), milliseconds since the epoch; no point is built.
    public func timeMillis(ofSecond i: Int) -> Int64 { times.element(i, 0) }

    /// Length of second `i`'s interval in milliseconds.
    public func intervalMillis(ofSecond i: Int) -> Int64 { Int64(intervals.element(i, 0)) }

    /// `second(i)[m]` without building the point.
    public func value(_ m: M, ofSecond i: Int) -> Double { values.element(i, m.column).seriesValue }

    /// `second(i).rate(m)` without building the point: per second for counts, the level for gauges.
    public func rate(_ m: M, ofSecond i: Int) -> Double {
        let v = value(m, ofSecond: i)
        let interval = intervalMillis(ofSecond: i)
        return m.kind == .gauge || interval <= 0 ? v : v * 1000 / Double(interval)
    }

    /// The newest `n` seconds, oldest first.
    public func seconds(last n: Int) -> [SecondPoint<M>] {
        let k = Swift.min(n, secondCount)
        return (secondCount - k..<secondCount).map(second)
    }

    /// Minute `i`, oldest first. For gauges `sum` is the sum of the levels,
    /// so `average` is the minute's mean level.
    public func minute(_ i: Int) -> MinutePoint<M> {
        let n = Int(minuteCounts.row(i).first!)
        let sums = minuteSums.row(i)
        let mm = minuteMinMax.row(i)
        var stats: [Statistics] = []
        stats.reserveCapacity(Self.width)
        for c in 0..<Self.width {
            stats.append(
                Statistics(
                    sum: sums[sums.startIndex + c], minimum: mm[mm.startIndex + 2 * c].seriesValue,
                    maximum: mm[mm.startIndex + 2 * c + 1].seriesValue, sampleCount: n))
        }
        return MinutePoint(startMillis: minuteStarts.row(i).first!, statistics: stats)
    }

    /// The minute being filled, if it has any seconds.
    public var openMinutePoint: MinutePoint<M>? {
        guard openCount > 0 else { return nil }
        return MinutePoint(
            startMillis: openMinute,
            statistics: (0..<Self.width).map {
                Statistics(
                    sum: open[$0], minimum: open[Self.width + $0], maximum: open[2 * Self.width + $0],
                    sampleCount: openCount)
            })
    }

    public var minutes: [MinutePoint<M>] { (0..<minuteCount).map(minute) }

    /// Statistics of the newest `n` seconds of one metric (per-second rates
    /// for counts, levels for gauges).
    public func statistics(_ m: M, lastSeconds n: Int) -> Statistics? {
        let pts = seconds(last: n)
        guard !pts.isEmpty else { return nil }
        let r = pts.map { $0.rate(m) }
        return Statistics(sum: r.reduce(0, +), minimum: r.min()!, maximum: r.max()!, sampleCount: r.count)
    }

    /// Worst-case bytes of ring storage for given capacities (excluding array headers).
    public static func ringBytes(secondsCapacity: Int, minutesCapacity: Int) -> Int {
        let s = MemoryLayout<Scalar>.stride
        return secondsCapacity * (8 + 4 + width * s) + minutesCapacity * (8 + 2 + width * (8 + 2 * s))
    }

    /// Elements currently stored (for tests of the bound).
    public var storedBytes: Int {
        let s = MemoryLayout<Scalar>.stride
        return times.storedElements * 8 + intervals.storedElements * 4 + values.storedElements * s
            + minuteStarts.storedElements * 8 + minuteCounts.storedElements * 2 + minuteSums.storedElements * 8
            + minuteMinMax.storedElements * s
    }
}

extension Int64 {
    func floorDivided(by d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
