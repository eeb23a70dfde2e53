import Dashboard
import Foundation
import Metrics
import StreamEngine

/// The dashboard at a wide stream (issue 16, targets 4 and 5): a stream of
/// `shards` shards fed 20,000 records a second (mostly uniform keys, a few very
/// hot ones) for `history` simulated seconds, then measured as the dashboard's
/// main loop uses it:
/// - one metrics tick: `engine.sample()` and `MetricsStore.ingest` of it, once a second;
/// - the view model: `DashboardData.build` from the store (histories for the shards a screenful
///   can show, and the data shown as `previous`, as the main loop asks) and `DashboardModel.update`,
///   once a refresh: the first refresh after a tick (every shard's row and the advisor), and a second
///   one before the next tick (borrowing the tick's rows and advice: a refresh faster than the tick,
///   or scrolling);
/// - model + frame: the view model and `Renderer.render` into the 200 × 60 cell grid;
/// - metrics memory per shard: the store's documented bound, and the memory it held after the run.
/// Baseline of the time rows: the 1 s refresh interval (and the absolute targets).
func scaleBenchmarks(shards: Int, rounds: Int, scale: Int) -> [Row] {
    var config = EngineConfiguration()
    config.limits = .aws
    config.delays = .immediate
    let clock = ManualClock()
    let engine = KinesisEngine(clock: clock, configuration: config)
    let k = engine.service()
    _ = try! k.createStream(CreateStreamInput(streamName: "bench", shardCount: shards))
    var store = MetricsStore(limits: config.limits)
    let history = scale == 1 ? 60 : 6
    var rng = SystemRandomNumberGenerator()
    let payload = Data(repeating: 0x62, count: 100)
    let callsPerSecond = 40 / scale  // 500 records each: 20,000 records/s
    func load() {
        for _ in 0..<callsPerSecond {
            let records = (0..<500).map { i in
                PutRecordsRequestEntry(
                    data: payload,
                    partitionKey: i % 5 == 0 ? "hot-\(i % 3)" : "user-\(UInt32.random(in: 0...1_000_000, using: &rng))")
            }
            _ = try? k.putRecords(PutRecordsInput(records: records, streamName: "bench"))
        }
    }
    let c = ContinuousClock()
    var sampleTimes: [Double] = []
    var ingestTimes: [Double] = []
    var tickCPUTimes: [Double] = []
    for second in 0..<history {
        clock.advance(by: .seconds(1))
        engine.tick()
        load()
        var s: EngineSample?
        var ds = Duration.zero, di = Duration.zero
        let cpu = threadCPUSeconds {
            ds = c.measure { s = engine.sample() }
            di = c.measure { store.ingest(s!) }
        }
        if second >= 2 {  // the first ticks create the series
            sampleTimes.append(seconds(ds))
            ingestTimes.append(seconds(di))
            tickCPUTimes.append(cpu)
        }
    }
    // As the dashboard's main loop builds it: histories for the shards a screenful can show.
    func build(for model: DashboardModel?) -> DashboardData {
        DashboardData.build(
            store: store, streamName: "bench", scenario: "bench", clockKind: "manual",
            limits: config.limits, scenarios: ["bench"], historyFor: model?.shardIdsShown, previous: model?.data)
    }
    var view = ViewState()
    view.width = 200
    view.height = 60
    var model = DashboardModel(data: build(for: nil), view: view)
    model.ensureSelectionVisible()
    var modelTimes: [Double] = []
    var betweenTicksTimes: [Double] = []
    var frameTimes: [Double] = []
    var viewCPUTimes: [Double] = []
    var sink = 0
    for _ in 0..<(rounds * (scale == 1 ? 4 : 1)) {
        // A tick (not timed here), then the refresh that follows it and one more before the next tick.
        clock.advance(by: .seconds(1))
        engine.tick()
        load()
        store.ingest(engine.sample())
        var dm = Duration.zero, df = Duration.zero
        let cpu = threadCPUSeconds {
            dm = c.measure {
                model.update(data: build(for: model))
                sink &+= model.data.shards.count
            }
            df = c.measure { sink &+= Renderer.render(model).width }
        }
        modelTimes.append(seconds(dm))
        let db = c.measure {
            model.update(data: build(for: model))
            sink &+= model.data.shards.count
        }
        betweenTicksTimes.append(seconds(db))
        frameTimes.append(seconds(df))
        viewCPUTimes.append(cpu)
    }
    precondition(sink > 0 && model.data.shards.count == shards)
    // What the store holds: the heap it hands back when dropped (the model holds its own copies).
    model = DashboardModel()
    let heapWithStore = heapBytes()
    store = MetricsStore(limits: config.limits)
    let heapPerShard = max(0, heapWithStore - heapBytes()) / shards
    let tick = median(sampleTimes) + median(ingestTimes)
    let ingest = median(ingestTimes)
    let vm = median(modelTimes)
    let between = median(betweenTicksTimes)
    let frame = median(frameTimes)
    let n = shards.formatted()
    let ms = { (x: Double) in String(format: "%.2f ms", x * 1e3) }
    let pct = { (x: Double) in String(format: "%.2f %%", x * 100) }
    let bound = MetricsStore.bytesPerShard()
    var rows = [
        Row(
            name: "metrics tick, \(n) shards (engine.sample() + MetricsStore.ingest)",
            ktop: ms(tick), baseline: "1,000 ms (one tick a second)", ratio: pct(tick),
            target: shards == 10_000 ? "≤ 50 ms" : "recorded (≤ 50 ms is for 10,000)",
            met: shards == 10_000 ? tick <= 0.05 : nil,
            note: String(
                format: "MetricsStore.ingest alone: %@; engine.sample(): %@ (median of %d ticks, 20,000 records/s); "
                    + "the thread's CPU time for a tick: %@ (load average %@ when it ran).",
                ms(ingest), ms(median(sampleTimes)), ingestTimes.count, ms(median(tickCPUTimes)), loadAverage())),
        Row(
            name: "dashboard view model, \(n) shards (DashboardData.build + DashboardModel.update)",
            ktop: ms(vm), baseline: "1,000 ms (the refresh interval)", ratio: pct(vm),
            target: shards == 1_000 ? "≤ 5 ms" : "recorded (≤ 5 ms is for 1,000)",
            met: shards == 1_000 ? vm <= 0.005 : nil,
            note: "The first refresh after a tick (every shard's row and the advisor); a refresh before the next "
                + "tick (the tick's rows and advice borrowed): \(ms(between))."),
        Row(
            name: "dashboard model + frame, \(n) shards (view model + render into the 200 × 60 cell grid)",
            ktop: ms(vm + frame), baseline: "1,000 ms (the refresh interval)", ratio: pct(vm + frame),
            target: shards == 10_000 ? "≤ 20 ms" : "recorded (≤ 20 ms is for 10,000)",
            met: shards == 10_000 ? vm + frame <= 0.02 : nil,
            note: "Render alone: \(ms(frame)); the thread's CPU time for model + frame: \(ms(median(viewCPUTimes))); "
                + "a refresh before the next tick and its frame: \(ms(between + frame))."),
    ]
    if shards == 10_000 {
        rows.append(
            Row(
                name: "metrics memory per shard, \(n) shards",
                ktop: "\(bound.formatted()) B (bound)", baseline: "65,536 B (64 KiB)",
                ratio: String(format: "%.2f×", Double(bound) / 65_536), target: "≤ 1× (64 KiB)",
                met: bound <= 65_536,
                note: "The bound is `MetricsStore.bytesPerShard()` (every ring full); the heap the store held after "
                    + "\(history) s (rings part full; the RSS dropping it handed back after malloc_trim): "
                    + "\(heapPerShard.formatted()) B a shard."))
    }
    return rows
}

/// Resident bytes of this process after glibc hands free pages back (`malloc_trim`, found with dlsym: the
/// Glibc module does not export malloc.h), 0 where unknown.
func heapBytes() -> Int {
    if let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
        typealias Trim = @convention(c) (Int) -> Int32
        _ = unsafeBitCast(sym, to: Trim.self)(0)
    }
    return rssBytes(pid: getpid()) ?? 0
}
