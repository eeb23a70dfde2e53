import Foundation
import StreamEngine

/// One record read from the source stream, as the query sees it.
public struct SourceRecord: Sendable, Equatable {
    /// ApproximateArrivalTimestamp: when the stream accepted the record. Windows are by this time.
    public var arrival: Instant
    public var partitionKey: String
    public var sequenceNumber: String
    public var shardId: String
    public var data: Data

    public init(arrival: Instant, partitionKey: String, sequenceNumber: String, shardId: String, data: Data) {
        self.arrival = arrival
        self.partitionKey = partitionKey
        self.sequenceNumber = sequenceNumber
        self.shardId = shardId
        self.data = data
    }
}

/// A value SQLite returned: the five storage classes.
public enum SQLValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// The payload columns found by schema discovery, as Kinesis Data Analytics discovered an input schema from
/// sample records: each top-level JSON field of the sampled objects becomes a column typed INTEGER, REAL or
/// TEXT (booleans as INTEGER 0/1, nested objects and arrays as their JSON text). Later records fill the columns
/// they have (a missing field is NULL) and their extra fields are ignored; SQLite's JSON functions read them.
public struct DiscoveredSchema: Sendable, Equatable {
    /// A column's declared type, which is SQLite's column affinity.
    public enum ColumnType: String, Sendable, Equatable {
        case integer = "INTEGER", real = "REAL", text = "TEXT"
    }
    public struct Column: Sendable, Equatable {
        public var name: String
        public var type: ColumnType
    }

    /// The columns every row has before the payload's: the record's metadata.
    public static let metadataColumns = [
        "ROWTIME", "APPROXIMATE_ARRIVAL_TIME", "PARTITION_KEY", "SEQUENCE_NUMBER", "SHARD_ID",
    ]
    /// Columns the window adds.
    public static let windowColumns = ["window_start", "window_end", "window_time"]
    /// More payload fields than this are left out (and listed in `skipped`).
    public static let maximumColumns = 256

    /// The payload's columns, by name.
    public var columns: [Column]
    /// Fields left out: their names clash with a metadata or window column, or another field's name in another
    /// case (SQLite's names are case-insensitive), contain a double quote, or there were more than
    /// `maximumColumns`.
    public var skipped: [String]
    /// Sampled records whose payload was not a JSON object.
    public var nonJSONSamples: Int

    /// Discovers the columns from `samples`; an error when none of them is a JSON object.
    public static func discover(from samples: [Data]) throws(SQLQueryError) -> DiscoveredSchema {
        var types: [String: ColumnType?] = [:]
        var objects = 0
        for data in samples {
            guard let fields = JSONPayload.object(data) else { continue }
            objects += 1
            for (key, value) in fields {
                let seen = types[key] ?? nil
                types[key] = merge(seen, value.columnType)
            }
        }
        guard objects > 0 else {
            throw SQLQueryError(
                "schema discovery found no JSON object in the first \(samples.count) record(s) of the stream: "
                    + "ktop sql reads records whose data is a JSON object, e.g. {\"user\":\"a\",\"amount\":3}")
        }
        var taken = Set((metadataColumns + windowColumns).map { $0.lowercased() })
        var columns: [Column] = []
        var skipped: [String] = []
        for name in types.keys.sorted() {
            // A name with a double quote cannot be written in SQLite's JSON path ($."name").
            guard columns.count < maximumColumns, !name.isEmpty, !name.contains("\""),
                taken.insert(name.lowercased()).inserted
            else {
                skipped.append(name)
                continue
            }
            columns.append(Column(name: name, type: (types[name] ?? nil) ?? .text))
        }
        return DiscoveredSchema(columns: columns, skipped: skipped, nonJSONSamples: samples.count - objects)
    }

    /// Two samples' types for one field: integers and reals are REAL, anything with text is TEXT.
    private static func merge(_ a: ColumnType?, _ b: ColumnType?) -> ColumnType? {
        guard let a else { return b }
        guard let b else { return a }
        if a == b { return a }
        if Set([a, b]) == [.integer, .real] { return .real }
        return .text
    }

}

/// A JSON value, decoded strictly enough to tell integers, reals and booleans apart.
enum JSONPayload: Decodable, Equatable {
    case null, bool(Bool), integer(Int64), real(Double), string(String), array([JSONPayload])
    case object([String: JSONPayload])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null
        } else if let b = try? c.decode(Bool.self) { self = .bool(b)
        } else if let i = try? c.decode(Int64.self) { self = .integer(i)
        } else if let d = try? c.decode(Double.self) { self = .real(d)
        } else if let s = try? c.decode(String.self) { self = .string(s)
        } else if let a = try? c.decode([JSONPayload].self) { self = .array(a)
        } else { self = .object(try c.decode([String: JSONPayload].self)) }
    }

    /// The top-level fields of `data`, or nil when it is not a JSON object.
    static func object(_ data: Data) -> [String: JSONPayload]? {
        // Cheap refusal first: most non-JSON payloads do not start with '{'.
        guard let first = data.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }), first == UInt8(ascii: "{"),
            case .object(let fields)? = try? JSONDecoder().decode(JSONPayload.self, from: data)
        else { return nil }
        return fields
    }

    var columnType: DiscoveredSchema.ColumnType? {
        switch self {
        case .null: nil
        case .bool, .integer: .integer
        case .real: .real
        case .string, .array, .object: .text
        }
    }

}
