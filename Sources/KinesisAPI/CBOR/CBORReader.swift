/// What a ``CBORReader`` builds from the items it reads, bottom-up: ``CBORValue``s for a
/// faithful model (``CBORValueBuilder``), or Kinesis's request document directly
/// (``KinesisCBOR``), so that a request body is never held as two trees at once.
///
/// A builder refuses an item it cannot represent by throwing; the reader adds the offset.
protocol CBORTreeBuilder {
    associatedtype Item
    /// Major type 0 (`negative` false) or 1 (`negative` true: the value is −1 − n).
    func integer(negative: Bool, _ n: UInt64) throws(CBORRefusal) -> Item
    func bytes(_ bytes: [UInt8]) throws(CBORRefusal) -> Item
    func text(_ text: String) throws(CBORRefusal) -> Item
    func array(_ elements: [Item]) throws(CBORRefusal) -> Item
    func map(_ entries: [(key: Item, value: Item)]) throws(CBORRefusal) -> Item
    func tagged(_ tag: UInt64, _ item: Item) throws(CBORRefusal) -> Item
    /// Major type 7 other than a float: false, true, null, undefined or another simple value.
    func simple(_ value: UInt8) throws(CBORRefusal) -> Item
    func float(_ value: Double) throws(CBORRefusal) -> Item
}

/// A builder's reason for refusing a well-formed item.
struct CBORRefusal: Error {
    var reason: String
}

/// Builds the faithful ``CBORValue`` model.
struct CBORValueBuilder: CBORTreeBuilder {
    func integer(negative: Bool, _ n: UInt64) -> CBORValue { negative ? .negative(n) : .unsigned(n) }
    func bytes(_ bytes: [UInt8]) -> CBORValue { .bytes(bytes) }
    func text(_ text: String) -> CBORValue { .text(text) }
    func array(_ elements: [CBORValue]) -> CBORValue { .array(elements) }
    func map(_ entries: [(key: CBORValue, value: CBORValue)]) -> CBORValue {
        .map(entries.map { CBORMapEntry($0.key, $0.value) })
    }
    func tagged(_ tag: UInt64, _ item: CBORValue) -> CBORValue { .tagged(tag, item) }
    func simple(_ value: UInt8) -> CBORValue {
        switch value {
        case 20: .bool(false)
        case 21: .bool(true)
        case 22: .null
        case 23: .undefined
        default: .simple(value)
        }
    }
    func float(_ value: Double) -> CBORValue { .float(value) }
}

/// A strict RFC 8949 reader of exactly one CBOR data item, built for bodies from the
/// network: nothing a client sends can make it trap, allocate more than the body's
/// size, or recurse without bound.
///
/// * all eight major types; definite and indefinite lengths (strings, arrays, maps);
///   half-, single- and double-precision floats; tags; simple values;
/// * every length and count is checked against the bytes that remain before anything is
///   allocated (an item takes at least one byte, a map entry two), so a 9-byte header
///   claiming 2^64 elements is an error, not an attempt;
/// * nesting (arrays, maps, tags) is limited to ``maximumDepth``, as ``JSONParser`` limits JSON, and
///   the number of items to the caller's `maximumItems`: a one-byte item becomes a tree node
///   of tens of bytes, so a body of zeros must not become a tree of gigabytes;
/// * not well-formed per RFC 8949 §3 and Appendix F (reserved additional information
///   28–30, a break outside an indefinite item, a chunk of another type inside an
///   indefinite string, a two-byte simple value below 32, text that is not UTF-8,
///   bytes after the item) is a ``CBORSyntaxError``; so is an item the builder refuses.
struct CBORReader<Builder: CBORTreeBuilder> {
    static var maximumDepth: Int { 128 }

    private let bytes: UnsafeRawBufferPointer
    private let builder: Builder
    private let maximumItems: Int
    private var index = 0
    private var depth = 0
    private var items = 0

    private init(bytes: UnsafeRawBufferPointer, builder: Builder, maximumItems: Int) {
        self.bytes = bytes
        self.builder = builder
        self.maximumItems = maximumItems
    }

    /// - Parameter maximumItems: how many data items (map keys, values and array elements
    ///   each count) the bytes may hold.
    static func read(_ bytes: UnsafeRawBufferPointer, into builder: Builder,
                     maximumItems: Int = .max) throws(CBORSyntaxError) -> Builder.Item {
        var reader = CBORReader(bytes: bytes, builder: builder, maximumItems: maximumItems)
        let value = try reader.readItem()
        guard reader.index == bytes.count else {
            throw reader.error("\(bytes.count - reader.index) bytes after the item")
        }
        return value
    }

    private func error(_ reason: String) -> CBORSyntaxError { CBORSyntaxError(offset: index, reason: reason) }

    private var remaining: Int { bytes.count - index }

    /// One item's initial byte and argument. `argument` is nil for additional information
    /// 31 (indefinite length, or break for major type 7).
    private struct Head {
        var major: CBORMajor
        var info: UInt8
        var argument: UInt64?
    }

    private mutating func readHead() throws(CBORSyntaxError) -> Head {
        guard remaining >= 1 else { throw error("unexpected end of input") }
        let initial = bytes[index]
        index += 1
        let major = CBORMajor(rawValue: initial >> 5)!
        let info = initial & 0x1F
        switch info {
        case 0..<24: return Head(major: major, info: info, argument: UInt64(info))
        case 24: return Head(major: major, info: info, argument: try readUInt(1))
        case 25: return Head(major: major, info: info, argument: try readUInt(2))
        case 26: return Head(major: major, info: info, argument: try readUInt(4))
        case 27: return Head(major: major, info: info, argument: try readUInt(8))
        case 31: return Head(major: major, info: info, argument: nil)
        default: throw error("reserved additional information \(info)")
        }
    }

    /// A big-endian unsigned integer of `width` bytes.
    private mutating func readUInt(_ width: Int) throws(CBORSyntaxError) -> UInt64 {
        guard remaining >= width else { throw error("truncated \(width)-byte argument") }
        var value: UInt64 = 0
        for i in 0..<width { value = value << 8 | UInt64(bytes[index + i]) }
        index += width
        return value
    }

    /// Runs a builder call, turning its refusal into a syntax error at `start`.
    private func build(at start: Int,
                       _ make: () throws(CBORRefusal) -> Builder.Item) throws(CBORSyntaxError) -> Builder.Item {
        do {
            return try make()
        } catch {
            throw CBORSyntaxError(offset: start, reason: error.reason)
        }
    }

    private mutating func readItem() throws(CBORSyntaxError) -> Builder.Item {
        let start = index
        items += 1
        guard items <= maximumItems else { throw error("more than \(maximumItems) items") }
        let head = try readHead()
        switch head.major {
        case .unsigned, .negative:
            guard let n = head.argument else { throw error("indefinite length on an integer") }
            let negative = head.major == .negative
            return try build(at: start) { () throws(CBORRefusal) in try builder.integer(negative: negative, n) }
        case .bytes:
            let content = try readString(head)
            return try build(at: start) { () throws(CBORRefusal) in try builder.bytes(content) }
        case .text:
            let utf8 = try readString(head)
            guard let text = String(validating: utf8, as: UTF8.self) else {
                throw CBORSyntaxError(offset: start, reason: "text string is not UTF-8")
            }
            return try build(at: start) { () throws(CBORRefusal) in try builder.text(text) }
        case .array:
            try enter()
            defer { depth -= 1 }
            var elements: [Builder.Item] = []
            if let count = head.argument {
                // Each element takes at least one byte: a count beyond what remains is a lie.
                guard count <= UInt64(remaining) else { throw error("array of \(count) items in \(remaining) bytes") }
                guard count <= UInt64(maximumItems - items) else { throw error("more than \(maximumItems) items") }
                elements.reserveCapacity(Int(count))
                for _ in 0..<count { elements.append(try readItem()) }
            } else {
                while !(try atBreak()) { elements.append(try readItem()) }
            }
            return try build(at: start) { () throws(CBORRefusal) in try builder.array(elements) }
        case .map:
            try enter()
            defer { depth -= 1 }
            var entries: [(key: Builder.Item, value: Builder.Item)] = []
            if let count = head.argument {
                guard count <= UInt64(remaining) / 2 else {
                    throw error("map of \(count) entries in \(remaining) bytes")
                }
                guard count <= UInt64(maximumItems - items) / 2 else { throw error("more than \(maximumItems) items") }
                entries.reserveCapacity(Int(count))
                for _ in 0..<count { entries.append((try readItem(), try readItem())) }
            } else {
                while !(try atBreak()) {
                    let key = try readItem()
                    guard !(try atBreak(consume: false)) else { throw error("map ends between a key and its value") }
                    entries.append((key, try readItem()))
                }
            }
            return try build(at: start) { () throws(CBORRefusal) in try builder.map(entries) }
        case .tag:
            guard let tag = head.argument else { throw error("indefinite length on a tag") }
            try enter()
            defer { depth -= 1 }
            let item = try readItem()
            return try build(at: start) { () throws(CBORRefusal) in try builder.tagged(tag, item) }
        case .simple:
            return try readSimple(head, at: start)
        }
    }

    private mutating func enter() throws(CBORSyntaxError) {
        depth += 1
        if depth > Self.maximumDepth { throw error("nesting deeper than \(Self.maximumDepth)") }
    }

    /// Whether the next byte is a break (`0xFF`), consuming it if so and asked to.
    private mutating func atBreak(consume: Bool = true) throws(CBORSyntaxError) -> Bool {
        guard remaining >= 1 else { throw error("indefinite-length item never ends") }
        guard bytes[index] == 0xFF else { return false }
        if consume { index += 1 }
        return true
    }

    /// The content of a byte or text string: one definite run, or the chunks of an
    /// indefinite one, each of which must be a definite string of the same major type.
    private mutating func readString(_ head: Head) throws(CBORSyntaxError) -> [UInt8] {
        if let length = head.argument { return try take(length) }
        var joined: [UInt8] = []
        while !(try atBreak()) {
            let chunk = try readHead()
            guard chunk.major == head.major, let length = chunk.argument else {
                throw error("an indefinite-length string holds something other than a definite chunk of its type")
            }
            joined += try take(length)
        }
        return joined
    }

    private mutating func take(_ length: UInt64) throws(CBORSyntaxError) -> [UInt8] {
        guard length <= UInt64(remaining) else { throw error("string of \(length) bytes in \(remaining)") }
        let n = Int(length)
        defer { index += n }
        return [UInt8](UnsafeRawBufferPointer(rebasing: bytes[index..<index + n]))
    }

    private mutating func readSimple(_ head: Head, at start: Int) throws(CBORSyntaxError) -> Builder.Item {
        let value: Double
        switch head.info {
        case 0..<24:
            return try build(at: start) { () throws(CBORRefusal) in try builder.simple(head.info) }
        case 24:
            // RFC 8949 §3.3: the two-byte form is for simple values 32…255 only.
            let simple = UInt8(head.argument!)
            guard simple >= 32 else {
                throw CBORSyntaxError(offset: start, reason: "simple value \(simple) in two bytes")
            }
            return try build(at: start) { () throws(CBORRefusal) in try builder.simple(simple) }
        case 25: value = HalfFloat.decode(UInt16(head.argument!))
        case 26: value = Double(Float(bitPattern: UInt32(head.argument!)))
        case 27: value = Double(bitPattern: head.argument!)
        default: throw CBORSyntaxError(offset: start, reason: "break outside an indefinite-length item")  // 31
        }
        return try build(at: start) { () throws(CBORRefusal) in try builder.float(value) }
    }
}

extension CBORReader where Builder == CBORValueBuilder {
    static func read(_ bytes: [UInt8]) throws(CBORSyntaxError) -> CBORValue {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(CBORSyntaxError) in try read(raw, into: CBORValueBuilder()) }
        }
        return try result.get()
    }
}
