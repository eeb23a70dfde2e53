import Foundation

/// One record as a segment file holds it: the shard-local sequence counter, the arrival
/// time and the caller's bytes. The sequence number is rebuilt from these plus the shard.
struct LogEntry: Sendable, Equatable {
    /// The sequence number's per-shard counter (``SequenceNumber/seqIndex``), position + 1.
    var seqIndex: Int64
    var arrivalMillis: Int64
    var encrypted: Bool
    var partitionKey: String
    var data: Data

    var position: Int64 { seqIndex - 1 }
    /// What the record counts against quotas: data + partition key bytes.
    var size: Int { data.count + partitionKey.utf8.count }
}

/// The entry format of segment files, little-endian:
///
///     u32 bodyLength | u32 crc32(body) | body
///     body = i64 seqIndex | i64 arrivalMillis | u8 flags (bit 0: KMS) | u16 keyLength | key UTF-8 | data
///
/// The checksum makes a torn write or a flipped bit visible when the file is read back:
/// an entry is either whole and verified or not served at all.
enum SegmentCodec {
    static let headerBytes = 8
    static let fixedBodyBytes = 8 + 8 + 1 + 2
    /// No valid body is longer: a length beyond this is damage, not a record.
    /// (A partition key is at most 256 UTF-16 units, 768 UTF-8 bytes; data at most 10 MiB.)
    static let maximumBodyBytes = fixedBodyBytes + 768 + 10 << 20

    /// Appends one encoded entry to `buffer`.
    static func encode(
        seqIndex: Int64, arrivalMillis: Int64, encrypted: Bool, partitionKey: String, data: Data,
        into buffer: inout [UInt8]
    ) {
        let key = partitionKey.utf8
        let bodyLength = fixedBodyBytes + key.count + data.count
        let start = buffer.count
        buffer.reserveCapacity(start + headerBytes + bodyLength)
        append(UInt32(bodyLength), to: &buffer)
        append(UInt32(0), to: &buffer)  // the checksum, filled in below
        append(UInt64(bitPattern: seqIndex), to: &buffer)
        append(UInt64(bitPattern: arrivalMillis), to: &buffer)
        buffer.append(encrypted ? 1 : 0)
        append(UInt16(key.count), to: &buffer)
        buffer.append(contentsOf: key)
        buffer.append(contentsOf: data)
        let crc = buffer.withUnsafeBytes { all in
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: all[(start + headerBytes)...]))
        }
        buffer.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: start + 4, as: UInt32.self) }
    }

    /// What reading an entry at some offset found.
    enum Read: Equatable {
        case entry(LogEntry, length: Int)
        /// Fewer bytes remain than the entry needs (its header or its body).
        case short
        /// The length is impossible, the checksum does not match, or the body does not parse.
        case bad
    }

    /// An entry's fixed fields, read after its checksum was verified.
    struct Header: Equatable {
        var seqIndex: Int64
        var arrivalMillis: Int64
        var encrypted: Bool
        var keyLength: Int
        /// Header and body together.
        var length: Int
    }

    /// What verifying an entry at some offset found (nothing copied).
    enum Verified: Equatable {
        case entry(Header)
        case short
        case bad
    }

    /// Checks the entry at the start of `bytes`: its length, its checksum and its fixed fields.
    /// Opening a segment needs no more, so it copies no key or data.
    static func verify(_ bytes: UnsafeRawBufferPointer) -> Verified {
        guard bytes.count >= headerBytes else { return .short }
        let length = Int(bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian)
        let crc = bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        guard length >= fixedBodyBytes, length <= maximumBodyBytes else { return .bad }
        guard bytes.count >= headerBytes + length else { return .short }
        let body = UnsafeRawBufferPointer(rebasing: bytes[headerBytes..<(headerBytes + length)])
        guard CRC32.checksum(body) == crc else { return .bad }
        let seq = Int64(bitPattern: body.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian)
        let arrival = Int64(bitPattern: body.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian)
        let flags = body[16]
        let keyLength = Int(body.loadUnaligned(fromByteOffset: 17, as: UInt16.self).littleEndian)
        guard seq > 0, flags <= 1, fixedBodyBytes + keyLength <= length else { return .bad }
        return .entry(Header(seqIndex: seq, arrivalMillis: arrival, encrypted: flags == 1, keyLength: keyLength,
                             length: headerBytes + length))
    }

    /// Decodes the entry at the start of `bytes`.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> Read {
        switch verify(bytes) {
        case .short: return .short
        case .bad: return .bad
        case .entry(let h):
            let keyStart = headerBytes + fixedBodyBytes
            let key = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[keyStart..<(keyStart + h.keyLength)]),
                             as: UTF8.self)
            let data = Data(UnsafeRawBufferPointer(rebasing: bytes[(keyStart + h.keyLength)..<h.length]))
            return .entry(LogEntry(seqIndex: h.seqIndex, arrivalMillis: h.arrivalMillis, encrypted: h.encrypted,
                                   partitionKey: key, data: data),
                          length: h.length)
        }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }
}

/// Records accepted for one shard in one put call, encoded once and written with one call.
struct SegmentBatch {
    var bytes: [UInt8] = []
    var firstSeqIndex: Int64 = 0
    var lastSeqIndex: Int64 = 0
    var firstArrivalMillis: Int64 = 0
    var lastArrivalMillis: Int64 = 0
    var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func add(seqIndex: Int64, arrivalMillis: Int64, encrypted: Bool, partitionKey: String, data: Data) {
        if count == 0 {
            firstSeqIndex = seqIndex
            firstArrivalMillis = arrivalMillis
        }
        lastSeqIndex = seqIndex
        lastArrivalMillis = arrivalMillis
        count += 1
        SegmentCodec.encode(
            seqIndex: seqIndex, arrivalMillis: arrivalMillis, encrypted: encrypted,
            partitionKey: partitionKey, data: data, into: &bytes)
    }
}
