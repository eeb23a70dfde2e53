import ArgumentParser
import KinesisAPI
import StreamEngine

/// `--faults SPEC`: failures injected on purpose (``FaultPlan``), shared by `ktop serve` and
/// `ktop` (run) through ``EngineOptions``, so a test suite can prove its client's retries.
struct FaultOptions: ParsableArguments {
    @Option(name: .customLong("faults"), help: ArgumentHelp(
        "Inject failures, comma-separated KIND[:OP]=PROBABILITY[@DURATION]. Kinds: record-failure (a PutRecords "
            + "entry fails with InternalFailure, not stored), internal-error (500 InternalFailureException), "
            + "unavailable (503 ServiceUnavailableException), latency (reply later by @200ms, or @50ms-2s uniform), "
            + "reset (connection closed, no reply, call not applied), subscribe-end (a SubscribeToShard stream ends "
            + "with an InternalFailureException event). E.g. record-failure=0.1,internal-error:GetRecords=0.01. "
            + "Counted on /metrics as ktop_faults_injected_total; repeatable with --seed.",
        valueName: "spec"))
    var faults: String?

    func validate() throws { _ = try plan() }

    /// The parsed spec, or nil without `--faults`.
    func plan() throws -> FaultPlan? {
        guard let faults else { return nil }
        do {
            return try FaultPlan.parse(faults)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
