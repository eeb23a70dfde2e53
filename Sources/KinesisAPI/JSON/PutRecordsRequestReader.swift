import Foundation
import StreamEngine

/// PutRecords' input read straight from the parsed document, the server's hottest request.
/// Through `Codable` its 500 entries cost about 28 % of `ktop serve`'s CPU (perf, issue 16):
/// a keyed container, a coding path and three optional decodes an entry.
///
/// It takes only the plain, well-typed document: members of the right type or null, blobs
/// that are valid base64 (or CBOR byte strings). Anything else returns nil, and the caller
/// takes ``JSONShapeDecoder``, which answers with Coral's exact SerializationException.
/// Where both accept a document they give the same input (KinesisJSONTests checks it).
enum PutRecordsRequestReader {
    static func read(_ document: JSONValue) -> PutRecordsInput? {
        guard case .object(let members) = document else { return nil }
        var input = PutRecordsInput()
        for (name, value) in members {
            switch name {
            case "StreamName":
                guard case .some(let s) = string(value) else { return nil }
                input.streamName = s
            case "StreamARN":
                guard case .some(let s) = string(value) else { return nil }
                input.streamARN = s
            case "Records":
                if case .null = value { continue }
                guard case .array(let elements) = value else { return nil }
                var records: [PutRecordsRequestEntry] = []
                records.reserveCapacity(elements.count)
                for element in elements {
                    guard let entry = entry(element) else { return nil }
                    records.append(entry)
                }
                input.records = records
            default: continue  // unknown members are ignored, as Coral ignores them
            }
        }
        return input
    }

    private static func entry(_ value: JSONValue) -> PutRecordsRequestEntry? {
        guard case .object(let members) = value else { return nil }
        var entry = PutRecordsRequestEntry()
        for (name, value) in members {
            switch name {
            case "Data":
                switch value {
                case .null: continue
                case .bytes(let bytes): entry.data = Data(bytes)
                case .string(let text):
                    guard case .success(let data) = Base64.decode(text) else { return nil }
                    entry.data = data
                default: return nil
                }
            case "PartitionKey":
                guard case .some(let s) = string(value) else { return nil }
                entry.partitionKey = s
            case "ExplicitHashKey":
                guard case .some(let s) = string(value) else { return nil }
                entry.explicitHashKey = s
            default: continue
            }
        }
        return entry
    }

    /// `.some(nil)` for null (an absent member), `.some(s)` for a string, nil for any other type.
    private static func string(_ value: JSONValue) -> String?? {
        switch value {
        case .null: return .some(nil)
        case .string(let s): return .some(s)
        default: return nil
        }
    }
}
