/// A sequence number as the API shapes carry it (`Record`, `PutRecordOutput`,
/// `PutRecordsResultEntry`): the decimal text Kinesis puts on the wire, written
/// out only when someone reads it.
///
/// The engine's own numbers stay a 188-bit ``SequenceNumber`` until then, so the put and
/// get paths allocate no 56-digit string per record (a fifth of GetRecords' profile), and
/// the wire encoders write the digits straight into a response through
/// ``withDigits(_:_:)``. Numbers from elsewhere (an attached endpoint, a caller, a decoded
/// response) keep their text exactly as it came: Kinesis promises only a decimal string.
///
/// Equality and hashing are by text, so the two forms of one number are the same value.
public struct LazySequenceNumber: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    private enum Storage: Sendable {
        case issued(SequenceNumber)
        case text(String)
    }

    private let storage: Storage

    /// A number the engine issued, formatted when read.
    public init(_ number: SequenceNumber) { storage = .issued(number) }

    /// A number as text, kept verbatim.
    public init(_ text: String) { storage = .text(text) }

    public init(stringLiteral value: String) { storage = .text(value) }

    /// The engine's number, when this one was issued by it (not parsed back from text).
    public var issued: SequenceNumber? {
        if case .issued(let n) = storage { return n }
        return nil
    }

    /// The wire text. Formats (and allocates) on every read of an issued number.
    public var description: String {
        switch storage {
        case .issued(let n): return n.description
        case .text(let s): return s
        }
    }

    /// Calls `body` with the text's UTF-8 bytes. `formatter` carries the last number
    /// written, so a run of consecutive numbers costs a short decimal add each.
    public func withDigits<R>(
        _ formatter: inout SequenceNumberText, _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        switch storage {
        case .issued(let n): return try formatter.withDigits(n, body)
        case .text(var s): return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
        }
    }

    public static func == (a: LazySequenceNumber, b: LazySequenceNumber) -> Bool {
        switch (a.storage, b.storage) {
        case (.issued(let x), .issued(let y)): return x.limbs == y.limbs
        case (.text(let x), .text(let y)): return x == y
        default:
            var f = SequenceNumberText()
            return a.withDigits(&f) { x in
                var g = SequenceNumberText()
                return b.withDigits(&g) { y in x.elementsEqual(y) }
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        var f = SequenceNumberText()
        withDigits(&f) { hasher.combine(bytes: $0) }
    }
}

extension LazySequenceNumber: Codable {
    /// Decodes the text verbatim: a number read from a response is whatever the service sent.
    public init(from decoder: any Decoder) throws {
        storage = .text(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
