import StreamEngine

/// PutRecords' reply written straight to JSON, the server's hottest reply. Through the generic
/// ``ShapeNode`` tree its 500 entries cost about a third of the server's CPU a record (three
/// node objects, two arrays and two key strings an entry; perf, issue 16). The bytes are
/// exactly what ``JSONShapeEncoder`` writes for the same shape: members in declaration order,
/// nils left out (KinesisJSONTests compares the two on every kind of entry).
enum PutRecordsReplyJSON {
    static func encode(_ output: PutRecordsOutput) -> [UInt8] {
        var out: [UInt8] = []
        // An accepted entry is ≈ 110 bytes: 56 digits, a shard id and two member names.
        out.reserveCapacity(64 + output.records.count * 112)
        var numbers = SequenceNumberText()
        out.append(UInt8(ascii: "{"))
        var object = ObjectWriter()
        if let n = output.failedRecordCount {
            object.member("FailedRecordCount", into: &out)
            out.append(contentsOf: String(n).utf8)
        }
        object.member("Records", into: &out)
        out.append(UInt8(ascii: "["))
        for (i, entry) in output.records.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            var e = ObjectWriter()
            if let n = entry.lazySequenceNumber {
                e.member("SequenceNumber", into: &out)
                JSONNode.writeSequenceNumber(n, numbers: &numbers, into: &out)
            }
            if let id = entry.shardId {
                e.member("ShardId", into: &out)
                JSONNode.writeString(id, into: &out)
            }
            if let code = entry.errorCode {
                e.member("ErrorCode", into: &out)
                JSONNode.writeString(code, into: &out)
            }
            if let message = entry.errorMessage {
                e.member("ErrorMessage", into: &out)
                JSONNode.writeString(message, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        if let type = output.encryptionType {
            object.member("EncryptionType", into: &out)
            JSONNode.writeString(type.rawValue, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Writes `"Name":`, after a comma for every member but the first.
    private struct ObjectWriter {
        private var started = false

        mutating func member(_ name: String, into out: inout [UInt8]) {
            if started { out.append(UInt8(ascii: ",")) }
            started = true
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: "\":".utf8)
        }
    }
}
