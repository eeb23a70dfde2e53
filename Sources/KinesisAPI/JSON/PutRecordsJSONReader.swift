import Foundation
import StreamEngine

/// PutRecords' input read straight from the JSON body, without building a ``JSONValue`` tree.
///
/// The server's hottest request: parsing 500 entries into a tree cost about 29 % of `ktop serve`'s
/// CPU (perf, issue 16), most of it validating each base64 blob as a `String` and a dictionary per
/// entry. Here a blob goes from the body's bytes to its `Data` in one pass, and member names are
/// compared as bytes.
///
/// It reads a strict subset of RFC 8259: the members PutRecords defines (`StreamName`,
/// `StreamARN`, `Records`; an entry's `Data`, `PartitionKey`, `ExplicitHashKey`), each of its
/// type or null, strings without escapes, blobs that are valid base64. Anything else (an unknown
/// member, an escape, a syntax error, more items than ``KinesisBodyEncoding/maximumItems``)
/// returns nil, and the caller parses the body as any other and takes ``PutRecordsRequestReader``
/// or ``JSONShapeDecoder``, which answer with Coral's exact errors. So whatever this accepts, the
/// general path accepts too, with the same input (`PutRecordsJSONReaderTests` checks both
/// directions on mutated bodies).
struct PutRecordsJSONReader {
    private let bytes: UnsafeRawBufferPointer
    private let maximumItems: Int
    private var index = 0
    /// Values seen, the document included, counted as ``JSONParser`` counts them.
    private var items = 1

    private init(_ bytes: UnsafeRawBufferPointer, maximumItems: Int) {
        self.bytes = bytes
        self.maximumItems = maximumItems
    }

    /// The input, or nil when the body is anything but a plain PutRecords document.
    static func read(_ body: UnsafeRawBufferPointer, maximumItems: Int = KinesisBodyEncoding.maximumItems)
        -> PutRecordsInput?
    {
        guard maximumItems >= 1 else { return nil }
        var reader = PutRecordsJSONReader(body, maximumItems: maximumItems)
        return reader.document()
    }

    static func read(_ body: [UInt8]) -> PutRecordsInput? {
        body.withUnsafeBytes { read($0) }
    }

    // MARK: the document

    private mutating func document() -> PutRecordsInput? {
        var input = PutRecordsInput()
        skipWhitespace()
        let complete = object { reader, name in
            switch name {
            case .streamName: return reader.optionalString(into: &input.streamName)
            case .streamARN: return reader.optionalString(into: &input.streamARN)
            case .records: return reader.records(into: &input.records)
            default: return false
            }
        }
        guard complete else { return nil }
        skipWhitespace()
        return index == bytes.count ? input : nil
    }

    private mutating func records(into records: inout [PutRecordsRequestEntry]?) -> Bool {
        if skipNull() {
            records = nil
            return true
        }
        guard take(UInt8(ascii: "[")) else { return false }
        var entries: [PutRecordsRequestEntry] = []
        // 500 is the API's maximum; a longer list is read (and refused by the engine) all the same.
        entries.reserveCapacity(500)
        skipWhitespace()
        if take(UInt8(ascii: "]")) {
            records = entries
            return true
        }
        while true {
            skipWhitespace()
            guard countItem() else { return false }
            var entry = PutRecordsRequestEntry()
            let complete = object { reader, name in
                switch name {
                case .data: return reader.blob(into: &entry.data)
                case .partitionKey: return reader.optionalString(into: &entry.partitionKey)
                case .explicitHashKey: return reader.optionalString(into: &entry.explicitHashKey)
                default: return false
                }
            }
            guard complete else { return false }
            entries.append(entry)
            skipWhitespace()
            if take(UInt8(ascii: "]")) { break }
            guard take(UInt8(ascii: ",")) else { return false }
        }
        records = entries
        return true
    }

    /// One object: `member` reads each member's value (whitespace before it skipped) and says
    /// whether it was one this reader takes. A repeated member overwrites, as in ``JSONParser``.
    private mutating func object(_ member: (inout PutRecordsJSONReader, MemberName) -> Bool) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        skipWhitespace()
        if take(UInt8(ascii: "}")) { return true }
        while true {
            skipWhitespace()
            guard let name = memberName() else { return false }
            skipWhitespace()
            guard take(UInt8(ascii: ":")) else { return false }
            skipWhitespace()
            guard countItem() else { return false }
            guard member(&self, name) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: "}")) { return true }
            guard take(UInt8(ascii: ",")) else { return false }
        }
    }

    // MARK: values

    /// The members this reader knows; any other name sends the body to the general path.
    private enum MemberName {
        case streamName, streamARN, records, data, partitionKey, explicitHashKey, other
    }

    private mutating func memberName() -> MemberName? {
        guard let run = plainString() else { return nil }
        switch run.count {
        case 4 where equal(run, "Data"): return .data
        case 7 where equal(run, "Records"): return .records
        case 9 where equal(run, "StreamARN"): return .streamARN
        case 10 where equal(run, "StreamName"): return .streamName
        case 12 where equal(run, "PartitionKey"): return .partitionKey
        case 15 where equal(run, "ExplicitHashKey"): return .explicitHashKey
        default: return .other
        }
    }

    private func equal(_ run: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        memcmp(run.baseAddress!, name.utf8Start, run.count) == 0
    }

    /// A string member's value or null (which leaves the member absent, as the shape decoder does).
    private mutating func optionalString(into value: inout String?) -> Bool {
        if skipNull() {
            value = nil
            return true
        }
        guard let run = plainString() else { return false }
        // ASCII needs no validation; anything else must be valid UTF-8, as JSONParser requires.
        if run.allSatisfy({ $0 < 0x80 }) {
            value = String(decoding: run, as: UTF8.self)
        } else {
            guard let s = String(validating: run, as: UTF8.self) else { return false }
            value = s
        }
        return true
    }

    /// A blob member's value or null: base64 text decoded from the body's bytes.
    private mutating func blob(into value: inout Data?) -> Bool {
        if skipNull() {
            value = nil
            return true
        }
        guard let run = blobText(), let data = Base64.decodeIfValid(run) else { return false }
        value = data
        return true
    }

    /// A blob's text: the bytes up to the next quote, found with `memchr` (most of a body is blobs). No
    /// check for escapes or control characters is needed: neither is base64, so decoding refuses a run
    /// holding one, and a quote after a backslash ends the run there, at the backslash it keeps.
    private mutating func blobText() -> UnsafeRawBufferPointer? {
        guard take(UInt8(ascii: "\"")), let base = bytes.baseAddress, index < bytes.count,
              let quote = memchr(base + index, Int32(UInt8(ascii: "\"")), bytes.count - index)
        else { return nil }
        let end = base.distance(to: UnsafeRawPointer(quote))
        let run = UnsafeRawBufferPointer(rebasing: bytes[index..<end])
        index = end + 1
        return run
    }

    /// The bytes of a string without escapes or control characters (nil for any other value).
    private mutating func plainString() -> UnsafeRawBufferPointer? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let run = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return run
            }
            // An escape, a control character: the general path decodes or refuses it.
            guard b != UInt8(ascii: "\\"), b >= 0x20 else { return nil }
            index += 1
        }
        return nil
    }

    /// One more value; false past the limit, where JSONParser stops too (before the list grows).
    private mutating func countItem() -> Bool {
        items += 1
        return items <= maximumItems
    }

    private mutating func skipNull() -> Bool {
        guard bytes.count - index >= 4, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
              bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l")
        else { return false }
        index += 4
        return true
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }
}
