import ArgumentParser
import Attach
import Foundation
import KinesisAPI
import Metrics
import StreamEngine

/// `ktop attach`: the console on a stream that lives elsewhere (AWS, LocalStack,
/// moto, another ktop), the same panes as the embedded view.
struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Watch a real stream (AWS, LocalStack, moto, another ktop) on the dashboard, or as snapshots with "
                + "--headless.",
        discussion: """
            Without --endpoint, the region's AWS endpoint (https://kinesis.REGION.amazonaws.com).
            Credentials come the way every AWS tool finds them: AWS_ACCESS_KEY_ID and
            AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), else the profile (--profile, AWS_PROFILE,
            else 'default') in ~/.aws/credentials and ~/.aws/config, including credential_process
            (which covers SSO through the AWS CLI). Local emulators accept any keys.

            What is measured depends on the endpoint. Another ktop (serve or --listen) gives its
            exact per-shard counters, throttles included, without reading the stream. Any other
            endpoint is watched through its API: ListShards and DescribeStreamSummary for the
            topology, a reader that takes at most 1 of each shard's 5 GetRecords calls/s for
            IncomingBytes/Records (by ApproximateArrivalTimestamp), top keys and the hash-key
            histogram, and CloudWatch's shard-level metrics (GetMetricData, 1-minute) where enabled:
            the only place a real stream's throttling shows. Each figure says its source.

            Actions (split, merge, UpdateShardCount) change the real stream: the dashboard asks first,
            naming the stream, account and endpoint; --headless needs --yes; --read-only turns them off.

            Examples:
              ktop attach --stream orders                       the dashboard on an AWS stream
              ktop attach --endpoint http://127.0.0.1:4567      a picker of another ktop's streams
              ktop attach --endpoint http://localhost:4566 --stream s --headless --duration 30
              ktop attach --stream s --headless --split hot --yes   split the hottest shard at the advised key
            """)

    @Option(help: ArgumentHelp("The Kinesis endpoint (default: the region's AWS endpoint).", valueName: "url"))
    var endpoint: String?

    @Option(
        help: ArgumentHelp(
            "Region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1).",
            valueName: "region"))
    var region: String?

    @Option(
        help: ArgumentHelp(
            "Profile in ~/.aws/credentials and ~/.aws/config (default: AWS_PROFILE, else 'default').",
            valueName: "name"))
    var profile: String?

    @Option(
        help: ArgumentHelp(
            "The stream to watch (default: pick one from a list; --headless needs it).", valueName: "name"))
    var stream: String?

    @Flag(
        help: ArgumentHelp(
            "Read with an enhanced fan-out consumer of ktop's own (registered now, deregistered on exit; billed on "
                + "AWS) instead of polling."))
    var efo = false

    @Flag(name: .customLong("read-only"), help: "Never change the stream: no split, merge or UpdateShardCount.")
    var readOnly = false

    @Flag(help: "No terminal UI: one snapshot a second on stdout.")
    var headless = false

    @Option(help: ArgumentHelp("Snapshot format: 'json' (JSON Lines) or 'text'.", valueName: "json|text"))
    var format: String = "json"

    @Option(help: ArgumentHelp("Stop after this many snapshots (seconds).", valueName: "seconds"))
    var duration: Double?

    @Option(
        help: ArgumentHelp(
            "How to measure: 'auto' (a ktop's exact counters when the endpoint is a ktop, else the API), "
                + "'ktop' or 'api' (read the stream, even on a ktop).",
            valueName: "auto|ktop|api"))
    var source: String = "auto"

    @Option(
        name: .customLong("max-reads-per-second"),
        help: ArgumentHelp(
            "GetRecords calls the reader makes per second over all shards (at most one per shard each second); "
                + "wider streams are read in rotation and the screen says so.",
            valueName: "n"))
    var maxReadsPerSecond: Int = 50

    @Option(
        help: ArgumentHelp(
            "CloudWatch endpoint for shard-level metrics (default: the Kinesis endpoint for a "
                + "local emulator, monitoring.REGION.amazonaws.com for AWS; 'off' to skip).",
            valueName: "url|off"))
    var cloudwatch: String?

    @Option(
        help: ArgumentHelp(
            "Headless: split a shard once the stream shows traffic: 'hot' (the busiest open shard) or a "
                + "shard id, at the advised hash key (else the midpoint), or SHARD@HASHKEY.",
            valueName: "hot|shard[@key]"))
    var split: String?

    @Option(help: ArgumentHelp("Headless: MergeShards of two adjacent open shards.", valueName: "shard,shard"))
    var merge: String?

    @Option(
        name: .customLong("update-shard-count"),
        help: ArgumentHelp(
            "Headless: UpdateShardCount to this target (UNIFORM_SCALING).",
            valueName: "n"))
    var updateShardCount: Int?

    @Flag(help: "Confirm the headless action (--split, --merge, --update-shard-count) on the real stream.")
    var yes = false

    @OptionGroup var priceOptions: PriceOptions

    /// The one action asked for on the command line.
    var action: AttachAction? {
        if let split {
            let parts = split.split(separator: "@", maxSplits: 1).map(String.init)
            return .split(shard: parts[0], hashKey: parts.count > 1 ? parts[1] : nil)
        }
        if let merge {
            let ids = merge.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return .merge(ids[0], ids[1])
        }
        return updateShardCount.map { .updateShardCount($0) }
    }

    func validate() throws {
        if let endpoint {
            guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(),
                ["http", "https"].contains(scheme),
                url.host != nil
            else {
                throw ValidationError(
                    "--endpoint must be an http(s) URL, e.g. --endpoint http://127.0.0.1:4567 or "
                        + "https://kinesis.us-east-1.amazonaws.com.")
            }
        }
        guard ["json", "text"].contains(format) else {
            throw ValidationError("Unknown --format '\(format)'. Use --format json or --format text.")
        }
        guard ["auto", "ktop", "api"].contains(source) else {
            throw ValidationError("Unknown --source '\(source)'. Use --source auto, ktop or api.")
        }
        if let duration, !(duration > 0 && duration <= 1e9) {
            throw ValidationError("--duration must be a positive number of seconds, e.g. --duration 30.")
        }
        if efo && source == "ktop" {
            throw ValidationError(
                "--efo reads the stream with a consumer of ktop's own; --source ktop reads a ktop's counters instead. "
                    + "Drop one."
            )
        }
        guard (1...10_000).contains(maxReadsPerSecond) else {
            throw ValidationError("--max-reads-per-second must be between 1 and 10000, e.g. --max-reads-per-second 50.")
        }
        if let merge {
            let ids = merge.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard ids.count == 2, !ids[0].isEmpty, !ids[1].isEmpty else {
                throw ValidationError(
                    "--merge takes two shard ids, e.g. --merge shardId-000000000000,shardId-000000000001.")
            }
        }
        if let split {
            let parts = split.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
            guard !parts[0].isEmpty, parts.count == 1 || HashKey.parse(String(parts[1])) != nil else {
                throw ValidationError(
                    "--split takes 'hot', a shard id, or SHARD@HASHKEY with a decimal hash key below 2^128, "
                        + "e.g. --split shardId-000000000001@170141183460469231731687303715884105728.")
            }
        }
        let actions = [split != nil, merge != nil, updateShardCount != nil].filter { $0 }.count
        guard actions <= 1 else {
            throw ValidationError("Give one action at a time: --split, --merge or --update-shard-count.")
        }
        if actions == 1 {
            guard headless else {
                throw ValidationError(
                    "--split, --merge and --update-shard-count are for --headless; on the dashboard press s, m or u.")
            }
            guard !readOnly else {
                throw ValidationError("--read-only forbids --split, --merge and --update-shard-count.")
            }
            guard yes else {
                throw ValidationError(
                    "The action changes the real stream: add --yes to confirm it (or --read-only to watch only).")
            }
        }
        if let updateShardCount, updateShardCount < 1 {
            throw ValidationError("--update-shard-count must be a positive number of shards.")
        }
        if yes && actions == 0 {
            throw ValidationError("--yes confirms an action; give --split, --merge or --update-shard-count.")
        }
        if let cloudwatch, cloudwatch != "off" {
            guard let url = URL(string: cloudwatch), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                url.host != nil
            else {
                throw ValidationError(
                    "--cloudwatch must be an http(s) URL or 'off', e.g. --cloudwatch "
                        + "https://monitoring.us-east-1.amazonaws.com."
                )
            }
        }
        _ = try priceOptions.metricsConfiguration()
    }

    func run() throws { try run(query: nil) }

    /// A continuous query to run beside the dashboard (`ktop sql` without --headless), built on the source's
    /// thread from the client the attach made.
    typealias QueryFactory = @Sendable (_ client: KinesisHTTPClient) -> ScenarioQueries

    func run(query: QueryFactory?) throws {
        // 1. Credentials and region, the way every AWS tool finds them.
        let chain = AWSCredentialChain(profile: profile, environment: ProcessInfo.processInfo.environment)
        let resolved: AWSResolvedCredentials
        do { resolved = try chain.resolve(region: region) } catch { fail("\(error)") }
        let region = resolved.region ?? "us-east-1"
        let endpoint =
            self.endpoint.flatMap(URL.init(string:)) ?? URL(string: "https://kinesis.\(region).amazonaws.com")!
        let kinesis = KinesisHTTPClient(endpoint: endpoint, region: region, credentialsProvider: resolved.provider)
        let metrics = try priceOptions.metricsConfiguration()
        func refused(_ e: KinesisError) -> Never {
            let auth: Set<String> = [
                "UnrecognizedClientException", "InvalidSignatureException", "SignatureDoesNotMatch",
                "AccessDeniedException", "IncompleteSignatureException", "ExpiredTokenException",
                "MissingAuthenticationToken",
            ]
            if auth.contains(e.type.rawValue) {
                fail("\(endpoint.absoluteString) rejected the credentials from \(resolved.source): \(e.description)")
            }
            fail("\(endpoint.absoluteString): \(e.description)")
        }

        // 2. The stream: given, else picked from the endpoint's list.
        let stream: String
        if let given = self.stream {
            stream = given
        } else {
            let streams: [StreamChoice]
            do { streams = try kinesis.listAllStreams() } catch { refused(error) }
            let names = streams.map(\.name)
            guard !headless else {
                fail(
                    names.isEmpty
                        ? "no streams at \(endpoint.absoluteString) (region \(region)); --headless needs --stream NAME"
                        : "--headless needs --stream NAME; the streams at \(endpoint.absoluteString) (region "
                            + "\(region)) are: "
                            + names.joined(separator: ", "))
            }
            stream = Self.pick(names, endpoint: endpoint.absoluteString, region: region)
        }
        do {
            _ = try ThrottleRetry.run { () throws(KinesisError) in
                try kinesis.describeStreamSummary(StreamInput(streamName: stream))
            }
        } catch {
            if error.type == .resourceNotFound {
                fail("stream '\(stream)' is not at \(endpoint.absoluteString) (region \(region)): \(error.description)")
            }
            refused(error)
        }

        // 3. How to measure it: a ktop's exact counters, else its API (and CloudWatch).
        var plan: AttachMeasurePlan?
        // --efo reads the stream, so it measures through the API even on a ktop.
        if source != "api" && !efo {
            let ktop = KtopEndpointClient(endpoint: endpoint)
            do {
                if try ktop.probe(stream: stream, region: region) != nil { plan = .ktop(ktop) }
            } catch {
                if source == "ktop" { fail("\(endpoint.absoluteString) did not answer as a ktop: \(error)") }
            }
            if plan == nil && source == "ktop" {
                fail(
                    "\(endpoint.absoluteString) is not a ktop endpoint (no GET /ktop/v1/sample); use --source api or "
                        + "auto."
                )
            }
        }
        if plan == nil {
            var options = WatchOptions(
                stream: stream, endpoint: endpoint.absoluteString, maxReadsPerSecond: maxReadsPerSecond)
            if efo { options.fanOutConsumer = StreamWatcher.fanOutConsumerName() }
            var cloudWatch: CloudWatchClient?
            if cloudwatch != "off" {
                let local = self.endpoint != nil && !(endpoint.host ?? "").hasSuffix(".amazonaws.com")
                let url =
                    cloudwatch.flatMap(URL.init(string:))
                    ?? (local
                        ? endpoint : CloudWatchClient.monitoringEndpoint(forKinesisEndpoint: endpoint, region: region))
                cloudWatch = CloudWatchClient(endpoint: url, region: region, credentialsProvider: resolved.provider)
            }
            plan = .api(
                options, cloudWatch: cloudWatch,
                enableCommand: KinesisShardMetrics.enableCommand(
                    stream: stream, region: region, profile: profile, endpoint: self.endpoint == nil ? nil : endpoint))
        }
        let settings = AttachSource.Settings(
            endpoint: endpoint, region: region, stream: stream, credentialsSource: resolved.source,
            duration: duration, action: action, metrics: metrics)
        guard let plan else { return }
        guard headless else {
            let readOnly = self.readOnly
            let status = DashboardRunner(
                makeSource: {
                    AttachSource(settings: settings, kinesis: kinesis, plan: plan, queries: query.map { $0(kinesis) })
                },
                metrics: metrics, readOnly: readOnly
            ).run()
            if status != 0 { throw ExitCode(status) }
            return
        }
        HeadlessRunner(format: format == "text" ? .text : .json, metrics: metrics)
            .run(AttachSource(settings: settings, kinesis: kinesis, plan: plan))
    }

    /// Asks on the terminal which stream to watch (before the dashboard takes the screen).
    static func pick(_ names: [String], endpoint: String, region: String) -> String {
        guard !names.isEmpty else {
            fail("no streams at \(endpoint) (region \(region)); create one or pass --endpoint/--region")
        }
        if names.count == 1 { return names[0] }
        let list = names.enumerated().map { "  \($0.offset + 1)) \($0.element)" }.joined(separator: "\n")
        FileHandle.standardError.write(
            Data("Streams at \(endpoint) (region \(region)):\n\(list)\nWatch which (number or name)? ".utf8))
        guard let answer = readLine()?.trimmingCharacters(in: .whitespaces), !answer.isEmpty else {
            fail("no stream chosen")
        }
        if let n = Int(answer), names.indices.contains(n - 1) { return names[n - 1] }
        if names.contains(answer) { return answer }
        fail("'\(answer)' is neither a number from 1 to \(names.count) nor one of the streams listed")
    }
}

/// One line on stderr, exit 1: the command-line form of an error ktop cannot go past.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ktop: \(message)\n".utf8))
    Foundation.exit(1)
}

/// An action asked for on `ktop attach`'s command line.
enum AttachAction: Sendable, Equatable {
    /// `shard` is a shard id or "hot"; `hashKey` nil means the advised key, else the midpoint.
    case split(shard: String, hashKey: String?)
    case merge(String, String)
    case updateShardCount(Int)
}
