// libFuzzer's entry point: every input is one client connection to ktop's real
// server pipeline (NIO's HTTP/1.1 codec + KinesisHTTPHandler) in front of one
// KinesisEngine on a ManualClock. Each reply must satisfy WireContract; anything
// else (a trap, an ASan report, a hang past -timeout, a contract violation)
// stops the fuzzer with the input saved. See Fuzz/README.md.
import CFuzzerDriver
import Foundation
@_spi(Fuzzing) import KinesisAPI
import StreamEngine

/// The engine shared by consecutive inputs: state built by one input (streams,
/// records, consumers, closed shards) is there for the next, which reaches
/// deeper code than a fresh engine per input. Replaced every `recycleEvery`
/// inputs so memory and per-input time stay bounded.
final class FuzzWorld {
    /// `KTOP_FUZZ_RECYCLE=1` gives every input a fresh engine (to check whether a crash needs earlier state).
    static let recycleEvery = ProcessInfo.processInfo.environment["KTOP_FUZZ_RECYCLE"].flatMap(Int.init) ?? 2_000
    /// `KTOP_FUZZ_VERBOSE=1` prints every input's requests and replies (to read what a seed or crasher does).
    static let verbose = ProcessInfo.processInfo.environment["KTOP_FUZZ_VERBOSE"] != nil
    /// The consumer the prelude registers, for seeds that subscribe.
    static let consumerARN = "arn:aws:kinesis:us-east-1:123456789012:stream/fuzz/consumer/c:1764000001"

    private(set) var clock = ManualClock()
    private(set) var engine: KinesisEngine
    private(set) var harness: KinesisFuzzHarness
    private var inputsOnEngine = 0
    var inputs = 0
    var recycles = 0
    var replies: [ReplyKind: Int] = [:]
    var writeErrors = 0

    init() {
        (clock, engine, harness) = Self.makeEngine()
    }

    /// Small quotas where the AWS ones would let one input allocate thousands of
    /// shards; everything else is Kinesis's. Two streams (provisioned `fuzz` with
    /// a consumer `c` and three records, on-demand `od`) exist from the start.
    static func makeEngine() -> (ManualClock, KinesisEngine, KinesisFuzzHarness) {
        let clock = ManualClock()
        var configuration = EngineConfiguration()
        configuration.limits.shardLimitPerAccount = 64
        configuration.retainedBytesBudget = 32 << 20
        let engine = KinesisEngine(clock: clock, configuration: configuration)
        let prelude: [(String, String)] = [
            ("CreateStream", #"{"StreamName":"fuzz","ShardCount":2}"#),
            ("CreateStream", #"{"StreamName":"od","StreamModeDetails":{"StreamMode":"ON_DEMAND"}}"#),
            ("+", ""),
            ("RegisterStreamConsumer",
             #"{"StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/fuzz","ConsumerName":"c"}"#),
            ("PutRecord", #"{"StreamName":"fuzz","Data":"AAEC","PartitionKey":"a"}"#),
            ("PutRecord", #"{"StreamName":"fuzz","Data":"aGVsbG8=","PartitionKey":"b"}"#),
            ("PutRecord", #"{"StreamName":"fuzz","Data":"","PartitionKey":"c","ExplicitHashKey":"0"}"#),
            ("+", ""),
        ]
        let harness = KinesisFuzzHarness(engine: engine, configuration: FuzzConnection.configuration)
        let connection = FuzzConnection(harness: harness)
        for (operation, body) in prelude {
            if operation == "+" {
                clock.advance(by: .seconds(1))
                engine.tick()
                continue
            }
            let request = ScriptedRequest(Array("\(operation)\n\(body)".utf8))
            let answer = connection.receive(request.wireBytes(bindings: [:]))
            connection.learn(from: answer)
            guard answer.starts(with: Array("HTTP/1.1 200".utf8)) else {
                fatalError("ktop-fuzz prelude \(operation) failed:\n\(String(decoding: answer, as: UTF8.self))")
            }
        }
        connection.close()
        let arn = connection.bindings["CA"].map { String(decoding: $0, as: UTF8.self) }
        precondition(arn == consumerARN,
                     "ktop-fuzz prelude registered \(arn ?? "no consumer"), seeds expect \(consumerARN)")
        return (clock, engine, harness)
    }

    func nextInput() -> (ManualClock, KinesisFuzzHarness) {
        inputs += 1
        inputsOnEngine += 1
        if inputsOnEngine > Self.recycleEvery {
            (clock, engine, harness) = Self.makeEngine()
            inputsOnEngine = 1
            recycles += 1
        }
        // A second per input: rate limits refill and asynchronous transitions finish.
        clock.advance(by: .seconds(1))
        engine.tick()
        return (clock, harness)
    }

    func summary() -> String {
        let kinds = ReplyKind.allCases.map { "\($0.rawValue)=\(replies[$0, default: 0])" }.joined(separator: " ")
        return "ktop-fuzz: \(inputs) inputs, \(recycles) engine recycles; replies: \(kinds)"
    }
}

/// The one world of this process. A static, not a top-level variable: under
/// `swift build --sanitize=fuzzer` libFuzzer's `main` runs instead of this file's
/// top-level code, which would initialize one.
enum Fuzzer {
    nonisolated(unsafe) static var world: FuzzWorld?
}

@_cdecl("LLVMFuzzerTestOneInput")
public func ktopFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if Fuzzer.world == nil {
        Fuzzer.world = FuzzWorld()
        atexit { if let world = Fuzzer.world { FileHandle.standardError.write(Data((world.summary() + "\n").utf8)) } }
    }
    let world = Fuzzer.world!
    let bytes = size > 0 ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    let (clock, harness) = world.nextInput()
    let outcome = FuzzRun(input: FuzzInput(bytes), clock: clock, harness: harness).run()
    if FuzzWorld.verbose { FileHandle.standardError.write(Data(outcome.transcript.utf8)) }
    switch outcome.result {
    case .success(let kinds):
        for k in kinds { world.replies[k, default: 0] += 1 }
    case .failure(let violation):
        FileHandle.standardError.write(Data(violation.report.utf8))
        fatalError("ktop-fuzz: wire contract violated: \(violation.violation)")
    }
    return 0
}

// SwiftPM points `main` at this file's top-level code, so it starts libFuzzer's driver itself.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, ktopFuzzOneInput))
