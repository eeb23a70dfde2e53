import Foundation
import StreamEngine

/// One user record inside (or destined for) a KPL aggregate.
public struct UserRecord: Sendable, Equatable, Codable {
    public var partitionKey: String
    public var explicitHashKey: String?
    public var data: Data
    /// Position inside the aggregate (KCL's `subSequenceNumber`); 0 for a plain record.
    public var subSequenceNumber: Int
    /// True when the record came out of an aggregate.
    public var aggregated: Bool

    public init(
        partitionKey: String, explicitHashKey: String? = nil, data: Data, subSequenceNumber: Int = 0,
        aggregated: Bool = false
    ) {
        self.partitionKey = partitionKey
        self.explicitHashKey = explicitHashKey
        self.data = data
        self.subSequenceNumber = subSequenceNumber
        self.aggregated = aggregated
    }

    /// The hash key Kinesis (and KCL) route this record by: the explicit one, else MD5 of the partition key.
    public var effectiveHashKey: UInt128 {
        explicitHashKey.flatMap(HashKey.parse) ?? HashKey.of(partitionKey: partitionKey)
    }
}

/// The KPL aggregated record format (KINESIS.md §7.1): magic `F3 89 9A C2`,
/// a protobuf `AggregatedRecord` (proto2), then the 16-byte MD5 of the
/// protobuf bytes. Encoded by hand — the format is three small messages:
///
/// ```
/// message AggregatedRecord {
///   repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2; repeated Record records = 3;
/// }
/// message Tag    { required string key = 1; optional string value = 2; }
/// message Record {
///   required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2; required bytes data = 3;
///   repeated Tag tags = 4;
/// }
/// ```
public enum KPLAggregation {
    public static let magic = KPLFormat.magic
    /// The KPL's default `AggregationMaxSize` (51,200 bytes) and `AggregationMaxCount`.
    public static let defaultMaxBytes = 51_200
    public static let defaultMaxCount = 4_294_967_295

    /// Encodes user records as one aggregate; partition and explicit hash keys are deduplicated into the tables.
    public static func encode(_ records: [UserRecord]) -> Data {
        var pkIndex: [String: Int] = [:]
        var pkTable: [String] = []
        var ehkIndex: [String: Int] = [:]
        var ehkTable: [String] = []
        var body: [UInt8] = []
        var recordBytes: [[UInt8]] = []
        for r in records {
            let pk: Int
            if let i = pkIndex[r.partitionKey] {
                pk = i
            } else {
                pk = pkTable.count
                pkIndex[r.partitionKey] = pk
                pkTable.append(r.partitionKey)
            }
            var rec: [UInt8] = []
            writeTag(&rec, field: 1, wire: 0)
            writeVarint(&rec, UInt64(pk))
            if let e = r.explicitHashKey {
                let ei: Int
                if let i = ehkIndex[e] {
                    ei = i
                } else {
                    ei = ehkTable.count
                    ehkIndex[e] = ei
                    ehkTable.append(e)
                }
                writeTag(&rec, field: 2, wire: 0)
                writeVarint(&rec, UInt64(ei))
            }
            writeBytes(&rec, field: 3, Array(r.data))
            recordBytes.append(rec)
        }
        for k in pkTable { writeBytes(&body, field: 1, Array(k.utf8)) }
        for k in ehkTable { writeBytes(&body, field: 2, Array(k.utf8)) }
        for rec in recordBytes { writeBytes(&body, field: 3, rec) }
        return Data(magic + body + MD5.digest(body))
    }

    /// Size of the aggregate `encode` would produce, without building it (for batching decisions).
    /// Exact when every key is new; an upper bound otherwise.
    public static func encodedSizeUpperBound(userRecordBytes: Int, keyBytes: Int) -> Int {
        magic.count + 16 + userRecordBytes + keyBytes
    }

    /// Decodes an aggregate, or nil when `data` is not one (the KCL's rule,
    /// implemented once in the engine's `KPLFormat`).
    public static func decode(_ data: Data) -> [UserRecord]? {
        KPLFormat.decode(data)?.enumerated().map { i, r in
            UserRecord(
                partitionKey: r.partitionKey, explicitHashKey: r.explicitHashKey, data: r.data,
                subSequenceNumber: i, aggregated: true)
        }
    }

    /// KCL de-aggregation of one Kinesis record read from a shard: user records
    /// with subsequence numbers 0, 1, 2…; a plain record passes through as
    /// itself. With `shardRange`, user records whose effective hash key falls
    /// outside the shard end the aggregate (the KCL drops the remainder: a
    /// record the producer routed before a reshard).
    public static func deaggregate(
        _ record: Record, shardRange: ClosedRange<UInt128>? = nil
    ) -> (records: [UserRecord], discarded: Int) {
        guard let users = decode(record.data) else {
            return ([UserRecord(partitionKey: record.partitionKey, data: record.data)], 0)
        }
        guard let range = shardRange else { return (users, 0) }
        if let bad = users.firstIndex(where: { !range.contains($0.effectiveHashKey) }) {
            return (Array(users[..<bad]), users.count - bad)
        }
        return (users, 0)
    }

    // MARK: protobuf wire format

    static func writeVarint(_ out: inout [UInt8], _ v: UInt64) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func writeTag(_ out: inout [UInt8], field: Int, wire: Int) { writeVarint(&out, UInt64(field << 3 | wire)) }

    static func writeBytes(_ out: inout [UInt8], field: Int, _ b: [UInt8]) {
        writeTag(&out, field: field, wire: 2)
        writeVarint(&out, UInt64(b.count))
        out.append(contentsOf: b)
    }
}
