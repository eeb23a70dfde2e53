import Foundation

/// The KPL aggregated record format (KINESIS.md §7.1): magic `F3 89 9A C2`, a
/// protobuf `AggregatedRecord` (proto2), then the 16-byte MD5 of the protobuf
/// bytes. Decoding lives here, the one home of the format's reading rules:
/// the engine counts hot keys by the user records inside aggregates, and
/// LoadGen's KCL-style consumers de-aggregate with it.
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
public enum KPLFormat {
    public static let magic: [UInt8] = [0xF3, 0x89, 0x9A, 0xC2]

    /// One user record inside an aggregate.
    public struct UserRecord: Sendable, Equatable {
        public var partitionKey: String
        public var explicitHashKey: String?
        public var data: Data
    }

    /// Quick test that can only say no: whether `data` could be an aggregate at all.
    @inlinable
    public static func mayBeAggregate(_ data: Data) -> Bool {
        data.count > magic.count + 16 && data.first == 0xF3
    }

    /// The user records of an aggregate, or nil when `data` is not one, by the
    /// KCL's rule: magic must match, more than 16 bytes must follow, the MD5
    /// must match and the protobuf must parse; otherwise it is a plain record.
    public static func decode(_ data: Data) -> [UserRecord]? {
        guard mayBeAggregate(data) else { return nil }
        let bytes = [UInt8](data)
        guard Array(bytes[0..<4]) == magic else { return nil }
        let body = Array(bytes[4..<(bytes.count - 16)])
        guard MD5.digest(body) == Array(bytes[(bytes.count - 16)...]) else { return nil }
        var pkTable: [String] = []
        var ehkTable: [String] = []
        var raw: [(pk: UInt64, ehk: UInt64?, data: [UInt8])] = []
        var reader = ProtoReader(body)
        while !reader.atEnd {
            guard let (field, wire) = reader.tag() else { return nil }
            switch (field, wire) {
            case (1, 2):
                guard let b = reader.lengthDelimited(), let s = String(validating: b, as: UTF8.self) else { return nil }
                pkTable.append(s)
            case (2, 2):
                guard let b = reader.lengthDelimited(), let s = String(validating: b, as: UTF8.self) else { return nil }
                ehkTable.append(s)
            case (3, 2):
                guard let b = reader.lengthDelimited() else { return nil }
                var r = ProtoReader(b)
                var pk: UInt64?
                var ehk: UInt64?
                var payload: [UInt8]?
                while !r.atEnd {
                    guard let (f, w) = r.tag() else { return nil }
                    switch (f, w) {
                    case (1, 0): pk = r.varint()
                    case (2, 0): ehk = r.varint()
                    case (3, 2): payload = r.lengthDelimited()
                    default: guard r.skip(wire: w) else { return nil }
                    }
                }
                guard let pk, let payload else { return nil }
                raw.append((pk, ehk, payload))
            default:
                guard reader.skip(wire: wire) else { return nil }
            }
        }
        var out: [UserRecord] = []
        out.reserveCapacity(raw.count)
        for r in raw {
            guard r.pk < pkTable.count else { return nil }
            var ehk: String?
            if let e = r.ehk {
                guard e < ehkTable.count else { return nil }
                ehk = ehkTable[Int(e)]
            }
            out.append(UserRecord(partitionKey: pkTable[Int(r.pk)], explicitHashKey: ehk, data: Data(r.data)))
        }
        return out
    }

    /// A protobuf wire-format reader over a byte array (varints, tags, length-delimited fields).
    public struct ProtoReader {
        let bytes: [UInt8]
        var i = 0
        public init(_ b: [UInt8]) { bytes = b }
        public var atEnd: Bool { i >= bytes.count }
        public mutating func varint() -> UInt64? {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while i < bytes.count, shift < 64 {
                let b = bytes[i]
                i += 1
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
            }
            return nil
        }
        public mutating func tag() -> (Int, Int)? {
            guard let t = varint(), t >> 3 > 0 else { return nil }
            return (Int(t >> 3), Int(t & 7))
        }
        public mutating func lengthDelimited() -> [UInt8]? {
            guard let n = varint(), n <= UInt64(bytes.count - i) else { return nil }
            defer { i += Int(n) }
            return Array(bytes[i..<(i + Int(n))])
        }
        public mutating func skip(wire: Int) -> Bool {
            switch wire {
            case 0: return varint() != nil
            case 1:
                guard bytes.count - i >= 8 else { return false }
                i += 8
                return true
            case 2: return lengthDelimited() != nil
            case 5:
                guard bytes.count - i >= 4 else { return false }
                i += 4
                return true
            default: return false
            }
        }
    }
}
