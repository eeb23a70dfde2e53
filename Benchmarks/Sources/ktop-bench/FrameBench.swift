import Dashboard
import Foundation
import Metrics
import StreamEngine

/// One dashboard frame for a 1,000-shard stream: the renderer drawing the
/// view model into the off-screen cell grid (what the terminal backend then
/// copies), on a 200 × 60 terminal. The view model comes from a real metrics
/// store fed `history` seconds of engine samples with skewed keys, so every
/// pane (shards, heat strips, top keys, advice) has real content.
/// Baseline: the refresh interval (1 s); the target is ≤ 0.2 % of it.
func frameBenchmark(rounds: Int, scale: Int) -> Row {
    var config = EngineConfiguration()
    config.limits = .aws
    config.delays = .immediate
    let clock = ManualClock()
    let engine = KinesisEngine(clock: clock, configuration: config)
    let k = engine.service()
    _ = try! k.createStream(CreateStreamInput(streamName: "bench", shardCount: 1_000))
    var store = MetricsStore(limits: config.limits)
    let history = scale == 1 ? 60 : 5
    var rng = SystemRandomNumberGenerator()
    let payload = Data(repeating: 0x62, count: 200)
    for _ in 0..<history {
        clock.advance(by: .seconds(1))
        engine.tick()
        for _ in 0..<10 {
            // Mostly uniform keys, a few very hot ones.
            let records = (0..<500).map { i in
                PutRecordsRequestEntry(
                    data: payload,
                    partitionKey: i % 5 == 0 ? "hot-\(i % 3)" : "user-\(UInt32.random(in: 0...1_000_000, using: &rng))")
            }
            _ = try? k.putRecords(PutRecordsInput(records: records, streamName: "bench"))
        }
        store.ingest(engine.sample())
    }
    let data = DashboardData.build(
        store: store, streamName: "bench", scenario: "bench", clockKind: "manual",
        limits: config.limits, scenarios: ["bench"])
    var view = ViewState()
    view.width = 200
    view.height = 60
    var model = DashboardModel(data: data, view: view)
    model.ensureSelectionVisible()
    let frames = scale == 1 ? 200 : 5
    var render: [Double] = []
    var build: [Double] = []
    let c = ContinuousClock()
    var sink = 0
    for _ in 0..<rounds {
        for _ in 0..<frames {
            let d = c.measure { sink &+= Renderer.render(model).width }
            render.append(seconds(d))
        }
        for _ in 0..<max(1, frames / 10) {
            let d = c.measure {
                let fresh = DashboardData.build(
                    store: store, streamName: "bench", scenario: "bench", clockKind: "manual",
                    limits: config.limits, scenarios: ["bench"])
                sink &+= fresh.shards.count
            }
            build.append(seconds(d))
        }
    }
    // One metrics tick at 1,000 shards: the engine's sample and the store's
    // ingest (what the main loop does once per simulated second).
    var tick: [Double] = []
    for _ in 0..<(scale == 1 ? 20 : 2) {
        clock.advance(by: .seconds(1))
        let d = c.measure { store.ingest(engine.sample()) }
        tick.append(seconds(d))
    }
    precondition(sink > 0 && data.shards.count == 1_000)
    let frame = median(render)
    let refresh = 1.0
    return Row(
        name: "dashboard frame, 1,000 shards, render into the cell grid (200 × 60)",
        ktop: String(format: "%.3f ms/frame", frame * 1e3), baseline: "1,000 ms (the refresh interval)",
        ratio: String(format: "%.3f %%", frame / refresh * 100), target: "≤ 0.2 % (≈ 2 ms)",
        met: frame / refresh <= 0.002,
        note: String(
            format:
                "Building the view model from the metrics store (once per refresh) takes a further %.2f ms; one "
                    + "metrics tick (engine.sample() + MetricsStore.ingest) at 1,000 shards takes %.2f ms.",
            median(build) * 1e3, median(tick) * 1e3))
}
