import ArgumentParser
import Foundation
import LoadGen
import StreamEngine

/// `ktop kpl encode|decode`: the KPL aggregated record format (magic
/// F3 89 9A C2, protobuf AggregatedRecord, MD5 trailer) as JSON on stdin and
/// stdout, so other tools (and the aws-kinesis-agg round-trip test) can check
/// ktop's aggregation against theirs.
struct KPLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kpl",
        abstract: "Encode or decode KPL aggregated records (JSON on stdin/stdout).",
        discussion: """
            encode reads  {"records": [{"partitionKey": "k", "data": "<base64>",
                                        "explicitHashKey": "123" (optional)}, ...]}
                   writes {"partitionKey": "<first key>", "data": "<base64 aggregate>",
                           "explicitHashKey": "<first record's hash key>"}
                   (the Kinesis record a KPL would put, routed by its first user record)
            decode reads  {"data": "<base64>", "partitionKey": "k" (optional)}
                   writes {"aggregated": true|false, "records": [{"partitionKey",
                           "explicitHashKey", "data", "subSequenceNumber"}, ...]}
                   (data that is not a valid aggregate — magic, length, MD5,
                   protobuf — passes through as one record, as in the KCL)
            """,
        subcommands: [Encode.self, Decode.self])

    struct UserRecordJSON: Codable {
        var partitionKey: String
        var explicitHashKey: String?
        var data: Data
        var subSequenceNumber: Int?
    }

    struct Encode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "User records (JSON) → one KPL aggregate (JSON with base64 data).")
        struct Input: Codable { var records: [UserRecordJSON] }
        struct Output: Codable {
            var partitionKey: String
            var explicitHashKey: String
            var data: Data
        }

        func run() throws {
            let input = try readJSON(Input.self)
            guard let first = input.records.first else {
                throw KPLInputError("encode needs at least one record in \"records\".")
            }
            let users = input.records.map {
                UserRecord(partitionKey: $0.partitionKey, explicitHashKey: $0.explicitHashKey, data: $0.data)
            }
            let out = Output(
                partitionKey: first.partitionKey, explicitHashKey: String(users[0].effectiveHashKey),
                data: KPLAggregation.encode(users))
            try writeJSON(out)
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A Kinesis record's data (base64 in JSON) → its user records (JSON).")
        struct Input: Codable {
            var data: Data
            var partitionKey: String?
        }
        struct Output: Codable {
            var aggregated: Bool
            var records: [UserRecordJSON]
        }

        func run() throws {
            let input = try readJSON(Input.self)
            if let users = KPLAggregation.decode(input.data) {
                try writeJSON(
                    Output(
                        aggregated: true,
                        records: users.map {
                            UserRecordJSON(
                                partitionKey: $0.partitionKey, explicitHashKey: $0.explicitHashKey, data: $0.data,
                                subSequenceNumber: $0.subSequenceNumber)
                        }))
            } else {
                try writeJSON(
                    Output(
                        aggregated: false,
                        records: [
                            UserRecordJSON(
                                partitionKey: input.partitionKey ?? "", explicitHashKey: nil, data: input.data,
                                subSequenceNumber: 0)
                        ]))
            }
        }
    }
}

/// Bad input on stdin: one line on stderr, exit status 1, no usage banner.
struct KPLInputError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

private func readJSON<T: Decodable>(_ type: T.Type) throws -> T {
    let data = FileHandle.standardInput.readDataToEndOfFile()
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
        throw KPLInputError("cannot read the JSON on stdin (\(error)); see 'ktop kpl --help' for its shape")
    }
}

private func writeJSON<T: Encodable>(_ value: T) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    FileHandle.standardOutput.write(try e.encode(value) + Data("\n".utf8))
}
