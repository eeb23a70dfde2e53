/// One element of an AWS query-protocol XML reply: its local name (any `prefix:` dropped),
/// its child elements in order and the character data directly inside it.
///
/// Query-protocol replies (CloudWatch's GetMetricData, its `ErrorResponse`) use elements
/// and text only; attributes are read past and dropped.
struct XMLElementNode: Sendable, Equatable {
    var name: String
    var children: [XMLElementNode] = []
    var text = ""

    func child(_ name: String) -> XMLElementNode? { children.first { $0.name == name } }
    func children(_ name: String) -> [XMLElementNode] { children.filter { $0.name == name } }

    /// The element reached by following `names` one child at a time.
    func descendant(_ names: String...) -> XMLElementNode? {
        var node = self
        for name in names {
            guard let next = node.child(name) else { return nil }
            node = next
        }
        return node
    }
}

/// Why a reply is not well-formed XML (for the error message: where and what).
struct XMLSyntaxError: Error, Equatable {
    var offset: Int
    var reason: String
}

/// A small strict XML parser for AWS replies, over raw bytes.
///
/// Why not FoundationXML: on Linux it pulls libxml2 into ktop as one more shared library
/// to find at run time, and its `parse()` answered `true` for a mismatched end tag here
/// (only `parserError` told). The replies ktop reads are a tiny subset of XML, so this
/// parser owns them: elements, attributes (skipped), text with the five predefined
/// entities and character references, CDATA, comments and processing instructions.
/// A document type declaration is refused (AWS sends none, and it is how entity-expansion
/// attacks start); so are unknown entities, invalid UTF-8, mismatched or unclosed tags,
/// nesting deeper than ``maximumDepth`` and anything after the root element but
/// comments. Every malformed input is an ``XMLSyntaxError``, never a trap or a hang.
struct XMLReplyParser {
    static let maximumDepth = 64

    private let bytes: [UInt8]
    private var index = 0

    private init(bytes: [UInt8]) { self.bytes = bytes }

    static func parse(_ bytes: [UInt8]) throws(XMLSyntaxError) -> XMLElementNode {
        var parser = XMLReplyParser(bytes: bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.index = 3 }
        try parser.skipMisc(allowDeclaration: true)
        guard parser.peek == UInt8(ascii: "<") else { throw parser.error("expected the root element") }
        let root = try parser.parseElement(depth: 1)
        try parser.skipMisc(allowDeclaration: false)
        guard parser.index == bytes.count else { throw parser.error("content after the root element") }
        return root
    }

    private func error(_ reason: String) -> XMLSyntaxError { XMLSyntaxError(offset: index, reason: reason) }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func starts(with literal: String) -> Bool {
        var i = index
        for byte in literal.utf8 {
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
        }
        return true
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    private mutating func skipSpace() {
        while let byte = peek, Self.isSpace(byte) { index += 1 }
    }

    /// Moves past `terminator`, or throws `reason` if the input ends first.
    private mutating func skip(past terminator: String, _ reason: String) throws(XMLSyntaxError) {
        let end = Array(terminator.utf8)
        while index < bytes.count {
            if bytes[index] == end[0] && bytes[index...].starts(with: end) {
                index += end.count
                return
            }
            index += 1
        }
        throw error(reason)
    }

    /// Whitespace, comments and processing instructions (the `<?xml …?>` declaration too)
    /// before or after the root element.
    private mutating func skipMisc(allowDeclaration: Bool) throws(XMLSyntaxError) {
        while true {
            skipSpace()
            if starts(with: "<?") {
                try skip(past: "?>", "unterminated processing instruction")
            } else if starts(with: "<!--") {
                try skip(past: "-->", "unterminated comment")
            } else if starts(with: "<!") {
                throw error("document type declarations are not accepted")
            } else {
                return
            }
        }
    }

    /// A name up to whitespace, `/`, `>` or `=`; at least one byte, none of them markup.
    private mutating func parseName() throws(XMLSyntaxError) -> String {
        let start = index
        while let byte = peek, !Self.isSpace(byte), byte != UInt8(ascii: "/"), byte != UInt8(ascii: ">"),
              byte != UInt8(ascii: "=") {
            if byte == UInt8(ascii: "<") || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "\"")
                || byte == UInt8(ascii: "'") { throw error("invalid character in a name") }
            index += 1
        }
        guard index > start else { throw error("expected a name") }
        guard let name = String(validating: bytes[start..<index], as: UTF8.self) else {
            throw error("a name that is not UTF-8")
        }
        return name
    }

    private mutating func parseElement(depth: Int) throws(XMLSyntaxError) -> XMLElementNode {
        guard depth <= Self.maximumDepth else { throw error("elements nested deeper than \(Self.maximumDepth)") }
        index += 1  // "<"
        let qualified = try parseName()
        var element = XMLElementNode(name: Self.localName(qualified))
        // Attributes: read past.
        while true {
            skipSpace()
            guard let byte = peek else { throw error("unterminated start tag <\(qualified)>") }
            if byte == UInt8(ascii: ">") { index += 1; break }
            if byte == UInt8(ascii: "/") {
                index += 1
                guard peek == UInt8(ascii: ">") else { throw error("expected > after / in <\(qualified)>") }
                index += 1
                return element
            }
            _ = try parseName()
            skipSpace()
            guard peek == UInt8(ascii: "=") else { throw error("expected = after an attribute name") }
            index += 1
            skipSpace()
            guard let quote = peek, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                throw error("expected a quoted attribute value")
            }
            index += 1
            while let c = peek, c != quote {
                if c == UInt8(ascii: "<") { throw error("< inside an attribute value") }
                index += 1
            }
            guard peek == quote else { throw error("unterminated attribute value") }
            index += 1
        }
        // Content.
        var text: [UInt8] = []
        while true {
            guard let byte = peek else { throw error("unclosed element <\(qualified)>") }
            if byte == UInt8(ascii: "&") {
                try parseReference(into: &text)
            } else if byte != UInt8(ascii: "<") {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "<"), bytes[index] != UInt8(ascii: "&") {
                    index += 1
                }
                text.append(contentsOf: bytes[start..<index])
            } else if starts(with: "</") {
                index += 2
                let closing = try parseName()
                skipSpace()
                guard peek == UInt8(ascii: ">") else { throw error("expected > to end </\(closing)") }
                index += 1
                guard closing == qualified else { throw error("</\(closing)> closes <\(qualified)>") }
                guard let decoded = String(validating: text, as: UTF8.self) else {
                    throw error("text in <\(qualified)> is not UTF-8")
                }
                element.text = decoded
                return element
            } else if starts(with: "<!--") {
                try skip(past: "-->", "unterminated comment")
            } else if starts(with: "<![CDATA[") {
                index += 9
                let start = index
                try skip(past: "]]>", "unterminated CDATA section")
                text.append(contentsOf: bytes[start..<(index - 3)])
            } else if starts(with: "<?") {
                try skip(past: "?>", "unterminated processing instruction")
            } else if starts(with: "<!") {
                throw error("unexpected <! in content")
            } else {
                element.children.append(try parseElement(depth: depth + 1))
            }
        }
    }

    /// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` `&#NN;` `&#xHH;`, appended as UTF-8.
    private mutating func parseReference(into text: inout [UInt8]) throws(XMLSyntaxError) {
        let start = index
        index += 1
        while let byte = peek, byte != UInt8(ascii: ";") {
            guard index - start < 12 else { throw error("unterminated entity reference") }
            index += 1
        }
        guard peek == UInt8(ascii: ";") else { throw error("unterminated entity reference") }
        let body = bytes[(start + 1)..<index]
        index += 1
        let scalar: Unicode.Scalar?
        switch String(decoding: body, as: UTF8.self) {
        case "amp": scalar = "&"
        case "lt": scalar = "<"
        case "gt": scalar = ">"
        case "quot": scalar = "\""
        case "apos": scalar = "'"
        case let reference where reference.hasPrefix("#x"):
            scalar = UInt32(reference.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
        case let reference where reference.hasPrefix("#"):
            scalar = UInt32(reference.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init)
        default:
            index = start
            throw error("unknown entity &\(String(decoding: body, as: UTF8.self));")
        }
        guard let scalar, scalar.value != 0 else {
            index = start
            throw error("invalid character reference")
        }
        text.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    static func localName(_ qualified: String) -> String {
        guard let colon = qualified.lastIndex(of: ":") else { return qualified }
        return String(qualified[qualified.index(after: colon)...])
    }
}
