import CZlib
import Foundation

/// Firehose's `CompressionFormat` for S3 objects (KINESIS.md §9). GZIP and ZIP deflate with the
/// system zlib (a well-kept library; no hand-written deflate); the ZIP container around zlib's raw
/// deflate stream is one stored entry, which Python's `zipfile` and `unzip` read.
/// `Snappy` and `HADOOP_SNAPPY` are refused at CreateDeliveryStream/UpdateDestination with
/// InvalidArgumentException: ktop has no Snappy codec (see ``FirehoseLimits``).
public enum CompressionFormat: String, Codable, Sendable, CaseIterable {
    case uncompressed = "UNCOMPRESSED"
    case gzip = "GZIP"
    case zip = "ZIP"
    case snappy = "Snappy"
    case hadoopSnappy = "HADOOP_SNAPPY"

    /// The extension Firehose appends to the object name.
    public var fileExtension: String {
        switch self {
        case .uncompressed: ""
        case .gzip: ".gz"
        case .zip: ".zip"
        case .snappy, .hadoopSnappy: ".snappy"
        }
    }

    var isSupported: Bool { self == .uncompressed || self == .gzip || self == .zip }
}

/// zlib through its C API: a gzip member, or a one-entry ZIP archive.
public enum Compressor {
    /// The whole payload as one gzip member (RFC 1952), as `gzip` writes it.
    public static func gzip(_ data: Data) -> Data { deflate(data, windowBits: 15 + 16) }

    /// A ZIP archive holding `data` as one deflated entry called `entryName`.
    public static func zip(_ data: Data, entryName: String) -> Data {
        let raw = deflate(data, windowBits: -15)
        let crc = data.withUnsafeBytes { p -> UInt32 in
            UInt32(truncatingIfNeeded: crc32(0, p.bindMemory(to: Bytef.self).baseAddress, uInt(p.count)))
        }
        let name = Array(entryName.utf8)
        // Objects are at most 128 MiB + one record, well inside ZIP's 32-bit sizes (no ZIP64 needed).
        let compressedSize = UInt32(clamping: raw.count)
        let size = UInt32(clamping: data.count)
        var out = Data()
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        // The fields both headers share, from "version needed" to "extra field length": version 2.0, no flags,
        // method 8 (deflate), DOS time 1980-01-01 00:00, the CRC, both sizes, the name's length, no extra field.
        func entryFields() {
            u16(20)
            u16(0)
            u16(8)
            u16(0)
            u16(0x21)
            u32(crc)
            u32(compressedSize)
            u32(size)
            u16(UInt16(clamping: name.count))
            u16(0)
        }
        // Local file header.
        u32(0x0403_4b50)
        entryFields()
        out.append(contentsOf: name)
        out.append(raw)
        // Central directory header: "version made by" 2.0, then the same fields.
        let centralStart = UInt32(clamping: out.count)
        u32(0x0201_4b50)
        u16(20)
        entryFields()
        u16(0)
        u16(0)
        u16(0)
        u32(0)
        u32(0)
        out.append(contentsOf: name)
        let centralSize = UInt32(clamping: out.count) - centralStart
        u32(0x0605_4b50)
        u16(0)
        u16(0)
        u16(1)
        u16(1)
        u32(centralSize)
        u32(centralStart)
        u16(0)
        return out
    }

    /// The payload compressed for `format` (Snappy formats never reach here: they are refused at create).
    public static func compress(_ data: Data, format: CompressionFormat, entryName: String) -> Data {
        switch format {
        case .gzip: gzip(data)
        case .zip: zip(data, entryName: entryName)
        case .uncompressed, .snappy, .hadoopSnappy: data
        }
    }

    private static func deflate(_ data: Data, windowBits: Int32) -> Data {
        var stream = z_stream()
        let initialized = deflateInit2_(
            &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
            Int32(MemoryLayout<z_stream>.size))
        precondition(initialized == Z_OK, "zlib deflateInit2 failed: \(initialized)")
        defer { deflateEnd(&stream) }
        var input = [UInt8](data)
        let bound = Int(deflateBound(&stream, uLong(input.count))) + 32
        var output = [UInt8](repeating: 0, count: bound)
        let written = input.withUnsafeMutableBufferPointer { inp -> Int in
            output.withUnsafeMutableBufferPointer { outp -> Int in
                stream.next_in = inp.baseAddress
                stream.avail_in = uInt(inp.count)
                stream.next_out = outp.baseAddress
                stream.avail_out = uInt(outp.count)
                // The output buffer is deflateBound's size, so one Z_FINISH completes the stream.
                let status = CZlib.deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "zlib deflate did not finish: \(status)")
                return outp.count - Int(stream.avail_out)
            }
        }
        return Data(output[0..<written])
    }
}
