import ArgumentParser
import Foundation
import KinesisAPI
import LoadGen
import Metrics
import StreamEngine

/// `ktop`: htop for Kinesis. With no subcommand it runs a scenario on the
/// embedded engine and shows it on the ncurses dashboard (or, with `--headless`, as snapshots).
@main
struct Ktop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ktop",
        abstract: "htop for Kinesis: a faithful Kinesis Data Streams engine, a load generator and a live view.",
        discussion: """
            With no subcommand, ktop runs a scenario (the lively 4-shard 'demo' by
            default) on its embedded engine and shows it live in the terminal:
            per-shard IncomingBytes, throttling, heat, top keys, consumers and
            advice; keys split, merge and reshape the load (F1 lists them).
            With --headless it prints one snapshot a second instead.

            Examples:
              ktop                                   the dashboard on the demo scenario
              ktop --headless --duration 10          ten snapshots on stdout, then exit
              ktop --speed max --duration 60 --seed 7 a repeatable minute, as fast as the CPU allows
              ktop scenarios                         the built-in scenarios
              ktop --scenario hot-key --headless --format text --speed max
                                                     a story with its narration, then its expectations checked
              ktop --scenario story.json --headless  a scenario file (see 'ktop scenarios --show NAME')
              ktop kpl encode < records.json         KPL aggregation as JSON on stdin/stdout
              ktop attach --stream orders            the same console on a real stream (AWS, LocalStack, moto, a ktop)
              ktop --headless --endpoint http://127.0.0.1:4567 --duration 10
                                                     the demo's load against another ktop (or AWS, LocalStack)
            """,
        subcommands: [Run.self, Attach.self, Serve.self, Scenarios.self, KPLCommand.self, SQL.self],
        defaultSubcommand: Run.self)

    /// Catches a mistyped command before the default subcommand swallows it:
    /// `ktop atach` would otherwise be `ktop run atach` and answer with run's usage.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let word = arguments.first, let message = unknownCommand(word) {
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        await main(nil)
    }

    /// The error for a first word that is neither an option nor a command, or nil.
    static func unknownCommand(_ word: String) -> String? {
        let names = configuration.subcommands.map { $0._commandName } + ["help"]
        guard !word.hasPrefix("-"), !names.contains(word) else { return nil }
        let close = names.filter { editDistance($0, word) <= 2 }
        return "Error: unknown command '\(word)'." + (close.isEmpty ? "" : " Did you mean '\(close[0])'?")
            + " The commands are: \(names.dropLast().joined(separator: ", ")); 'ktop --help' explains each."
    }

    /// Levenshtein distance, for the "did you mean" hint.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}

/// Options shared by every mode that runs the embedded engine.
struct EngineOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Quota profile: 'aws' enforces every Kinesis quota; "
                + "'off' lifts throughput quotas (benchmarks, bulk loads).",
            valueName: "aws|off"))
    var limits: String = "aws"

    @Option(
        name: .customLong("memory-budget"),
        help: ArgumentHelp(
            "Memory for retained records before the oldest are trimmed early (and the events say so): e.g. 512MiB, "
                + "4GiB, 25%. "
                + "Default: a quarter of this machine's memory "
                + "(\(EngineOptions.describe(SystemMemory.defaultBudget))).",
            valueName: "size"))
    var memoryBudget: String?

    @OptionGroup(title: "Durable streams") var storageOptions: StorageOptions

    @OptionGroup(title: "State-change delays") var delayOptions: DelayOptions

    @OptionGroup(title: "Fault injection") var faultOptions: FaultOptions

    func kinesisLimits() throws -> KinesisLimits {
        guard let l = KinesisLimits.named(limits) else {
            throw ValidationError(
                "Unknown --limits '\(limits)'. Use --limits aws (every Kinesis quota) or --limits off (no throughput "
                    + "quotas)."
            )
        }
        return l
    }

    /// The engine configuration these options describe; `faultSeed` makes `--faults` repeatable.
    func engineConfiguration(faultSeed: UInt64 = 0) throws -> EngineConfiguration {
        var config = EngineConfiguration()
        config.limits = try kinesisLimits()
        config.delays = try delayOptions.delays()
        if let d = try delayOptions.onDemandScalingDelay() { config.onDemand.scalingDelay = d }
        config.faults = try faultOptions.plan().map { FaultInjector(plan: $0, seed: faultSeed) }
        config.storage = try storageOptions.configuration()
        if config.storage != nil {
            // The budget becomes a window of recent records: older ones are read from disk.
            config.retainedBytesBudget = min(config.retainedBytesBudget, StorageConfiguration.defaultMemoryWindowBytes)
        }
        if let memoryBudget {
            guard let bytes = SystemMemory.parseSize(memoryBudget), bytes >= 1 << 20 else {
                throw ValidationError(
                    "--memory-budget '\(memoryBudget)' is not a size of at least 1MiB; write e.g. --memory-budget "
                        + "512MiB, 4GiB or 25%."
                )
            }
            config.retainedBytesBudget = bytes
        }
        return config
    }

    static func describe(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GiB", Double(bytes) / 0x1p30) : "\(bytes >> 20) MiB"
    }
}

/// `--price NAME=USD`: the cost estimate's prices (KINESIS.md §8 figures are unconfirmed).
struct PriceOptions: ParsableArguments {
    @Option(
        name: .customLong("price"),
        help: ArgumentHelp(
            "Override a price of the cost estimate (USD), repeatable: "
                + PriceTable.overridable.map(\.name).joined(separator: ", ") + ".",
            valueName: "name=usd"))
    var overrides: [String] = []

    func metricsConfiguration() throws -> MetricsConfiguration {
        var m = MetricsConfiguration()
        do { try m.prices.override(overrides) } catch { throw ValidationError(error.description) }
        return m
    }
}

/// How fast simulated time runs.
enum Speed: ExpressibleByArgument, Equatable {
    /// Real time multiplied by a factor (1 = real time).
    case factor(Double)
    /// A manual clock stepped as fast as possible: fully deterministic with --seed.
    case max

    init?(argument: String) {
        if argument == "max" {
            self = .max
            return
        }
        guard let v = Double(argument), v > 0, v <= 10_000 else { return nil }
        self = .factor(v)
    }

    static var defaultValueDescription: String { "1" }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run a scenario on the embedded engine (the default command), or its load against a remote endpoint with "
                + "--endpoint."
    )

    @Option(
        help: ArgumentHelp(
            "A built-in scenario (see 'ktop scenarios') or a scenario file (JSON; 'ktop scenarios --show NAME' "
                + "prints one to start from).",
            valueName: "name|file"))
    var scenario: String = Scenario.demo.name

    @Option(
        help: ArgumentHelp(
            "Seed for keys, sizes and jitter: the same seed repeats a run exactly with --speed max (default: the "
                + "scenario's seed, else random)."))
    var seed: UInt64?

    @Option(
        help: ArgumentHelp(
            "Simulated seconds per real second, or 'max' to step a manual clock as fast as possible (the output says "
                + "so).",
            valueName: "x|max"))
    var speed: Speed = .factor(1)

    @Flag(help: "No terminal UI: one snapshot a second on stdout.")
    var headless = false

    @Option(
        help: ArgumentHelp(
            "Stop after this many simulated seconds (default: the scenario's length; the demo runs until interrupted).",
            valueName: "seconds"))
    var duration: Double?

    @Option(help: ArgumentHelp("Snapshot format: 'json' (JSON Lines) or 'text'.", valueName: "json|text"))
    var format: String = "json"

    @Option(
        help: ArgumentHelp(
            "Also serve the Kinesis API on this address, so your own SDK apps write to the engine on screen.",
            valueName: "[host:]port"))
    var listen: ListenAddress?

    @OptionGroup(title: "Connection limits of the --listen server") var connectionOptions: ConnectionOptions

    @Option(
        name: .customLong("s3-dir"),
        help: ArgumentHelp(
            "Folder standing in for S3, where a scenario's Firehose delivery streams write (bucket B is DIR/B/).",
            valueName: "dir"))
    var s3Dir: String = "ktop-s3"

    @OptionGroup(title: "TLS of the --listen server") var tlsOptions: TLSOptions

    @OptionGroup var engineOptions: EngineOptions

    @OptionGroup var priceOptions: PriceOptions

    @Option(
        help: ArgumentHelp(
            "Run the scenario's producers and consumers against this Kinesis endpoint (AWS, LocalStack, moto, "
                + "another ktop) instead of the embedded engine. Needs --headless: each second shows what the load "
                    + "generator sees (records acked, throttled, dropped; consumer records and lag), not per-shard "
                        + "metrics, heat or advice, which need the embedded engine. Creates the scenario's stream if "
                            + "missing and never deletes it (on AWS it is billed). Credentials come as for 'ktop "
                                + "attach' (AWS_* variables, else the AWS_PROFILE or default profile, "
                                    + "credential_process included; with none, placeholder keys, which local "
                                        + "emulators accept); --limits and --speed do not apply.",
            valueName: "url"))
    var endpoint: String?

    @Option(
        help: ArgumentHelp(
            "Region for --endpoint's SigV4 signature (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, "
                + "else us-east-1).",
            valueName: "region"))
    var region: String?

    /// A built-in by name, else a scenario file.
    func resolveScenario() throws -> Scenario {
        if let builtIn = Scenario.named(scenario) { return builtIn }
        guard FileManager.default.fileExists(atPath: scenario) else {
            throw ValidationError(
                "Unknown scenario '\(scenario)': neither a built-in nor a file. Run 'ktop scenarios' to list them, "
                    + "e.g. --scenario \(Scenario.demo.name)."
            )
        }
        do { return try ScenarioFile.load(path: scenario) } catch { throw ValidationError("\(error)") }
    }

    func validate() throws {
        _ = try resolveScenario()
        if let endpoint {
            guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(),
                ["http", "https"].contains(scheme), url.host != nil
            else {
                throw ValidationError(
                    "--endpoint must be an http(s) URL, e.g. --endpoint http://127.0.0.1:4567 or "
                        + "https://kinesis.us-east-1.amazonaws.com."
                )
            }
            guard headless else {
                throw ValidationError(
                    "--endpoint runs with --headless only: the dashboard needs the embedded engine's per-shard "
                        + "samples. Add --headless."
                )
            }
            guard speed == .factor(1) else {
                throw ValidationError("--speed does not apply to --endpoint: a remote endpoint runs in real time.")
            }
        }
        guard ["json", "text"].contains(format) else {
            throw ValidationError("Unknown --format '\(format)'. Use --format json or --format text.")
        }
        if let duration, !(duration > 0) {
            throw ValidationError("--duration must be a positive number of seconds, e.g. --duration 10.")
        }
        if connectionOptions.given && listen == nil {
            throw ValidationError(
                "The connection limits (--header-timeout, --max-connections, ...) bound the "
                    + "--listen server: add --listen [HOST:]PORT.")
        }
        if tlsOptions.given && listen == nil {
            throw ValidationError("--tls-cert, --tls-key and --tls-self-signed secure the --listen server: "
                                  + "add --listen [HOST:]PORT.")
        }
        _ = try engineOptions.engineConfiguration()
        _ = try priceOptions.metricsConfiguration()
    }

    func run() throws {
        let scenario = try resolveScenario()
        var listen = self.listen
        listen?.connectionLimits = try connectionOptions.connectionLimits()
        if listen != nil {
            do {
                let loaded = try tlsOptions.load()
                listen?.tls = loaded?.tls
                for note in loaded?.notes ?? [] { FileHandle.standardError.write(Data("ktop: \(note)\n".utf8)) }
            } catch {
                FileHandle.standardError.write(Data("ktop: \(error.description)\n".utf8))
                throw ExitCode(1)
            }
        }
        let seed = self.seed ?? scenario.seed ?? UInt64.random(in: 1...999_999)
        if let endpoint, let url = URL(string: endpoint) {
            // The same credential chain as attach; with none anywhere, placeholder keys (local emulators take any).
            let chain = AWSCredentialChain(environment: ProcessInfo.processInfo.environment)
            let resolved: AWSResolvedCredentials?
            do { resolved = try chain.resolve(region: region) } catch  where error.kind == .notFound {
                resolved = nil
            } catch {
                fail("\(error)")
            }
            let region = resolved?.region ?? "us-east-1"
            let credentials =
                resolved?.provider
                ?? AWSCredentialsProvider(AWSCredentials(accessKeyId: "ktop", secretAccessKey: "ktop"))
            let length = duration ?? scenario.duration.map { Double($0.nanoseconds) / 1e9 + 1 }
            RemoteRunner(
                scenario: scenario, seed: seed, duration: length, format: format == "text" ? .text : .json,
                endpoint: url, region: region, credentials: credentials
            ).run()
            return
        }
        let config = try engineOptions.engineConfiguration(faultSeed: seed)
        if let storage = config.storage {
            // A locked or unwritable --data-dir is said here, before a dashboard takes the terminal.
            do { try DataDirectory.open(storage).close() } catch { fail("\(error)") }
        }
        let metrics = try priceOptions.metricsConfiguration()
        // A scenario's story gets one extra second: its stream takes a moment to become ACTIVE.
        let length = duration ?? scenario.duration.map { Double($0.nanoseconds) / 1e9 + 1 }
        let speed = self.speed
        let address = listen
        let s3 = URL(fileURLWithPath: s3Dir, isDirectory: true)
        guard headless else {
            // The live dashboard; without a terminal it says to use --headless and exits nonzero.
            let status = DashboardRunner(
                makeSource: {
                    EmbeddedSource(
                        scenario: scenario, seed: seed, speed: speed, configuration: config, listen: address,
                        s3Directory: s3)
                }, metrics: metrics, faultsOn: config.faults != nil
            ).run()
            if status != 0 { throw ExitCode(status) }
            return
        }
        HeadlessRunner(format: format == "text" ? .text : .json, metrics: metrics).run(
            EmbeddedSource(
                scenario: scenario, seed: seed, speed: speed, configuration: config, listen: listen,
                s3Directory: s3, duration: length, checkExpectations: format == "text"))
    }
}

struct Scenarios: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the built-in scenarios.",
        discussion: """
            Each built-in tells one story (a hot key, salting, splitting, merging, fan-out starvation,
            on-demand scaling, replay, resharding under a KCL application, retries under injected
            faults) in timed phases with narration, and states expectations that 'ktop --scenario
            NAME --headless --format text --speed max' checks at the end. '--show NAME' prints one as
            a scenario file (JSON) to copy
            and change; run the copy with 'ktop --scenario FILE'.
            """)

    @Option(help: ArgumentHelp("Print this built-in scenario in the scenario file format (JSON).", valueName: "name"))
    var show: String?

    func validate() throws {
        if let show, Scenario.named(show) == nil {
            throw ValidationError("Unknown scenario '\(show)'. Run 'ktop scenarios' to list them.")
        }
    }

    func run() throws {
        if let show, let s = Scenario.named(show) {
            FileHandle.standardOutput.write(try ScenarioFile.encode(s) + Data("\n".utf8))
            return
        }
        let width = Scenario.builtIns.map(\.name.count).max() ?? 0
        for s in Scenario.builtIns {
            print(s.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + s.summary)
        }
    }
}
