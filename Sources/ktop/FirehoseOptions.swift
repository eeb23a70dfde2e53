import ArgumentParser
import Firehose
import Foundation
import KinesisAPI
import LoadGen
import StreamEngine

/// `ktop serve`'s Firehose flags: where the stand-in for S3 lives, and the stand-ins for Lambda.
struct FirehoseOptions: ParsableArguments {
    @Option(
        name: .customLong("s3-dir"),
        help: ArgumentHelp(
            "Folder standing in for S3: bucket arn:aws:s3:::B is DIR/B/ (created on the first delivery).",
            valueName: "dir"))
    var s3Dir: String = "ktop-s3"

    @Option(
        name: .customLong("processor"),
        help: ArgumentHelp(
            "Stand-in for the Lambda function NAME in a Firehose ProcessingConfiguration: a shell command "
                + "reading Firehose's batch JSON on stdin and writing the response JSON on stdout (repeatable).",
            valueName: "NAME=COMMAND"))
    var processors: [String] = []

    func processorCommands() throws -> [String: String] {
        var out: [String: String] = [:]
        for p in processors {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex, p.index(after: eq) != p.endIndex else {
                throw ValidationError(
                    "--processor takes NAME=COMMAND, e.g. --processor upcase='tr a-z A-Z'; got '\(p)'.")
            }
            out[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        return out
    }

    /// Firehose over `engine`'s Kinesis streams (KinesisStreamAsSource reads them through `KinesisClient`).
    func service(engine: KinesisEngine, clock: any Clock) throws -> FirehoseService {
        FirehoseService(
            clock: clock, s3Directory: URL(fileURLWithPath: s3Dir, isDirectory: true),
            account: engine.configuration.defaultAccount, processors: try processorCommands(),
            kinesis: { account, region in engine.service(account: account, region: region) })
    }
}

extension FirehoseService {
    /// Firehose on the Kinesis port: `Firehose_20150804.*`, signed for service `firehose`.
    var jsonService: JSONService {
        JSONService(targetPrefix: Self.targetPrefix, signingName: Self.signingName) { operation, body, region in
            self.handle(operation: operation, body: body, region: region)
        }
    }
}
