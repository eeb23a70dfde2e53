import ArgumentParser
import StreamEngine

/// How long the engine's asynchronous state changes take (``StatusDelays``), shared by
/// `ktop serve` and `ktop` (run) through ``EngineOptions``. The flag names are
/// kinesalite's and kinesis-mock's, so a test suite moving to ktop keeps its settings.
struct DelayOptions: ParsableArguments {
    @Option(name: .customLong("delay-ms"), help: ArgumentHelp(
        "Milliseconds every state change takes (CREATING, UPDATING, DELETING, consumers); 0 makes them immediate "
            + "(default 500, as kinesalite). The flags below override one transition each.",
        valueName: "ms"))
    var delayMs: Double?

    @Option(name: .customLong("create-stream-ms"),
            help: ArgumentHelp("Milliseconds a stream stays CREATING.", valueName: "ms"))
    var createStreamMs: Double?

    @Option(name: .customLong("delete-stream-ms"),
            help: ArgumentHelp("Milliseconds a stream stays DELETING.", valueName: "ms"))
    var deleteStreamMs: Double?

    @Option(name: .customLong("update-stream-ms"), help: ArgumentHelp(
        "Milliseconds a stream stays UPDATING (split, merge, UpdateShardCount, encryption, mode).", valueName: "ms"))
    var updateStreamMs: Double?

    @Option(name: .customLong("consumer-ms"), help: ArgumentHelp(
        "Milliseconds a registered consumer stays CREATING, and a deregistered one DELETING.", valueName: "ms"))
    var consumerMs: Double?

    @Option(name: .customLong("on-demand-scaling-ms"), help: ArgumentHelp(
        "Milliseconds from the second an ON_DEMAND stream's writes first pass half its capacity (it accommodates "
            + "twice its peak) to its new shards; AWS takes up to 15 minutes (default 60000; 0 to 900000). "
            + "--delay-ms leaves it alone.", valueName: "ms"))
    var onDemandScalingMs: Double?

    func validate() throws { _ = try delays(); _ = try onDemandScalingDelay() }

    /// The on-demand scaling delay these flags set, if any (``OnDemandPolicy/scalingDelay``).
    func onDemandScalingDelay() throws -> Duration? {
        guard let ms = onDemandScalingMs else { return nil }
        guard (0...OnDemandPolicy.maximumScalingDelayMilliseconds).contains(ms) else {
            let most = Int(OnDemandPolicy.maximumScalingDelayMilliseconds)
            throw ValidationError("--on-demand-scaling-ms must be a number of milliseconds from 0 to \(most) "
                                  + "(AWS's 15 minutes); got \(ms).")
        }
        return .nanoseconds(Int64((ms * 1_000_000).rounded()))
    }

    /// The delays these flags describe, over the engine's defaults.
    func delays() throws -> StatusDelays {
        var d = StatusDelays()
        if let all = try Self.duration(delayMs, "--delay-ms") {
            d.create = all; d.delete = all; d.update = all; d.consumerCreate = all; d.consumerDelete = all
        }
        if let v = try Self.duration(createStreamMs, "--create-stream-ms") { d.create = v }
        if let v = try Self.duration(deleteStreamMs, "--delete-stream-ms") { d.delete = v }
        if let v = try Self.duration(updateStreamMs, "--update-stream-ms") { d.update = v }
        if let v = try Self.duration(consumerMs, "--consumer-ms") { d.consumerCreate = v; d.consumerDelete = v }
        return d
    }

    private static func duration(_ ms: Double?, _ flag: String) throws -> Duration? {
        guard let ms else { return nil }
        guard let d = StatusDelays.duration(milliseconds: ms) else {
            let most = Int(StatusDelays.maximumMilliseconds)
            throw ValidationError("\(flag) must be a number of milliseconds from 0 to \(most) "
                                  + "(an hour), e.g. \(flag) 0; got \(ms).")
        }
        return d
    }
}
