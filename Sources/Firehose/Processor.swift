import Foundation
import StreamEngine

/// One record the processor did not return Ok or Dropped: it goes to ErrorOutputPrefix
/// (`processing-failed`) as one JSON line, in the shape Firehose writes (AWS
/// `data-transformation-failure-handling.md`).
struct ProcessingFailure {
    var record: BufferedRecord
    var errorCode: String
    var errorMessage: String
    var lambdaARN: String

    func jsonLine(now: Instant) -> Data {
        let object: [String: Any] = [
            "attemptsMade": 1,
            "arrivalTimestamp": record.arrival.millisecondsSinceEpoch,
            "errorCode": errorCode,
            "errorMessage": errorMessage,
            "attemptEndingTimestamp": now.millisecondsSinceEpoch,
            "rawData": record.data.base64EncodedString(),
            "lambdaArn": lambdaARN,
        ]
        var line = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        line.append(0x0A)
        return line
    }
}

/// What one processor invocation made of a buffer.
struct ProcessingResult {
    var ok: [BufferedRecord] = []
    var dropped = 0
    var failed: [ProcessingFailure] = []
    /// The invocation itself worked (exit 0, valid JSON answering every recordId).
    var invocationSucceeded = false
}

/// Stand-ins for Lambda data transformation (`--processor NAME=COMMAND`): a Lambda processor whose
/// `LambdaArn` names function NAME (`arn:aws:lambda:<region>:<account>:function:NAME[:qualifier]`) runs
/// COMMAND with `/bin/sh -c`, writes Firehose's batch JSON on its stdin
/// (`{"invocationId","deliveryStreamArn","region","records":[{"recordId","approximateArrivalTimestamp","data"}]}`)
/// and reads `{"records":[{"recordId","result":"Ok|Dropped|ProcessingFailed","data"}]}` from its stdout.
/// A non-zero exit, bad JSON, a timeout or a missing recordId fails the whole batch
/// (ktop does not retry: Firehose's NumberOfRetries is not modeled).
struct ProcessorRegistry: Sendable {
    var commands: [String: String]
    var timeoutSeconds: Double

    /// The enabled Lambda processor's ARN; refuses processors ktop cannot run.
    func lambdaARN(_ p: ProcessingConfiguration) throws(FirehoseError) -> String? {
        guard p.enabled ?? false else { return nil }
        var found: String?
        for processor in p.processors ?? [] {
            guard processor.type == "Lambda" else {
                throw FirehoseError(
                    .invalidArgument, "Processor type \(processor.type) is not supported by ktop; only Lambda is.")
            }
            guard let arn = processor.parameters?.first(where: { $0.parameterName == "LambdaArn" })?.parameterValue
            else {
                throw FirehoseError(.invalidArgument, "LambdaArn is required for a Lambda processor.")
            }
            let name = Self.functionName(arn)
            guard commands[name] != nil else {
                throw FirehoseError(
                    .invalidArgument,
                    "Lambda function \(name) (\(arn)) has no stand-in: start ktop with "
                        + "--processor \(name)=COMMAND.")
            }
            found = arn
        }
        return found
    }

    static func functionName(_ arn: String) -> String {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count >= 7, parts[5] == "function" { return String(parts[6]) }
        return arn
    }

    func process(
        _ records: [BufferedRecord], lambdaARN: String, deliveryStreamARN: String, region: String, now: Instant
    ) -> ProcessingResult {
        func failAll(_ code: String, _ message: String) -> ProcessingResult {
            ProcessingResult(
                failed: records.map {
                    ProcessingFailure(record: $0, errorCode: code, errorMessage: message, lambdaARN: lambdaARN)
                })
        }
        guard let command = commands[Self.functionName(lambdaARN)] else {
            return failAll("Lambda.FunctionError", "No --processor for \(lambdaARN)")
        }
        let batch: [String: Any] = [
            "invocationId": UUID().uuidString.lowercased(),
            "deliveryStreamArn": deliveryStreamARN,
            "region": region,
            "records": records.map {
                [
                    "recordId": $0.recordId,
                    "approximateArrivalTimestamp": $0.arrival.millisecondsSinceEpoch,
                    "data": $0.data.base64EncodedString(),
                ] as [String: Any]
            },
        ]
        guard let input = try? JSONSerialization.data(withJSONObject: batch) else {
            return failAll("Lambda.FunctionError", "Cannot encode the batch")
        }
        let run = ShellRun.run(command, stdin: input, timeoutSeconds: timeoutSeconds)
        switch run {
        case .timedOut:
            return failAll("Lambda.FunctionTimeout", "The processor did not answer within \(timeoutSeconds) s")
        case .failed(let message):
            return failAll("Lambda.FunctionError", message)
        case .exited(let status, _) where status != 0:
            return failAll("Lambda.FunctionError", "The processor exited with status \(status)")
        case .exited(_, let output):
            guard let json = try? JSONSerialization.jsonObject(with: output) as? [String: Any],
                let answers = json["records"] as? [[String: Any]]
            else {
                return failAll("Lambda.JsonProcessingException", "The processor's output is not the response JSON")
            }
            var byId: [String: [String: Any]] = [:]
            for a in answers { if let id = a["recordId"] as? String { byId[id] = a } }
            var result = ProcessingResult(invocationSucceeded: true)
            for r in records {
                guard let a = byId[r.recordId] else {
                    return failAll("Lambda.MissingRecordId", "recordId \(r.recordId) is missing from the response")
                }
                switch a["result"] as? String {
                case "Ok":
                    guard let b64 = a["data"] as? String, let data = Data(base64Encoded: b64) else {
                        return failAll("Lambda.JsonProcessingException", "recordId \(r.recordId) has no base64 data")
                    }
                    var out = r
                    out.data = data
                    result.ok.append(out)
                case "Dropped":
                    result.dropped += 1
                case "ProcessingFailed":
                    result.failed.append(
                        ProcessingFailure(
                            record: r, errorCode: "Lambda.ProcessingFailedStatus",
                            errorMessage: "The processor returned ProcessingFailed", lambdaARN: lambdaARN))
                default:
                    return failAll(
                        "Lambda.InvalidResult",
                        "recordId \(r.recordId) has a result other than Ok, Dropped, "
                            + "ProcessingFailed")
                }
            }
            return result
        }
    }
}

/// One `/bin/sh -c COMMAND` run with a deadline. stdin is written and stdout read on their own
/// threads so that a command that never reads, or writes a lot, cannot block the delivery loop.
enum ShellRun {
    case exited(status: Int32, output: Data)
    case timedOut
    case failed(String)

    static func run(_ command: String, stdin input: Data, timeoutSeconds: Double) -> ShellRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let inPipe = Pipe()
        let outPipe = Pipe()
        process.standardInput = inPipe
        process.standardOutput = outPipe
        process.standardError = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do { try process.run() } catch { return .failed("Cannot start the processor: \(error)") }
        let output = LockedValue(Data())
        let readDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let data = outPipe.fileHandleForReading.readDataToEndOfFile()
            output.withLock { $0 = data }
            readDone.signal()
        }
        // A command that exits early must not kill ktop with SIGPIPE; the failed write is the answer.
        signal(SIGPIPE, SIG_IGN)
        Thread.detachNewThread {
            // A command that exits without reading makes this write fail (EPIPE); that is its answer.
            try? inPipe.fileHandleForWriting.write(contentsOf: input)
            try? inPipe.fileHandleForWriting.close()
        }
        let seconds = timeoutSeconds.isFinite ? max(0, min(timeoutSeconds, 86_400)) : 86_400
        guard finished.wait(timeout: .now() + seconds) == .success else {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            return .timedOut
        }
        // The command exited; its stdout closes with it unless a child it left still holds it.
        guard readDone.wait(timeout: .now() + 5) == .success else {
            return .failed("The processor's stdout stayed open")
        }
        return .exited(status: process.terminationStatus, output: output.withLock { $0 })
    }
}
