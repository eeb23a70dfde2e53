import Foundation

/// One AWS shared configuration file, `~/.aws/credentials` or `~/.aws/config`, read
/// the way botocore (and so the AWS CLI) reads it: Python's `configparser.RawConfigParser`.
///
/// What that accepts, and so what this accepts:
/// - `[section]` headers; the name is everything between the first `[` and the last `]`,
///   untrimmed; text after the `]` is ignored.
/// - `key = value` or `key: value`, split at the first `=` or `:`; keys are lowercased,
///   both sides trimmed. An empty value is a value (`aws_session_token =`).
/// - Whole-line comments: a line whose first non-blank character is `#` or `;`. There are
///   no inline comments: in `region = us-east-1 # home` the value is `us-east-1 # home`.
/// - A line indented deeper than its key's line continues that value (botocore's nested
///   `s3 =` blocks); the parts are joined with newlines.
/// - `[DEFAULT]` (uppercase) holds defaults that every other section inherits.
///
/// What botocore rejects, this rejects too, naming the file and line: a key before any
/// section, a line that is neither header, key, comment nor continuation, a section or a
/// key given twice. A file that does not exist is not an error (the caller looks elsewhere).
/// One leniency: a UTF-8 byte order mark (Windows editors write one) is skipped, where
/// botocore fails on it.
struct AWSConfigFile: Sendable, Equatable {
    let path: String
    /// Sections by their bracketed name, each with its keys (lowercased), `[DEFAULT]` merged in.
    let sections: [String: [String: String]]
    /// Section names in file order (a later `[profile x]` and `[default]` clash is won by order).
    let order: [String]

    /// Reads `path`; nil when there is no regular file there.
    static func load(path: String) throws(AWSCredentialError) -> AWSConfigFile? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return nil
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let why = FileManager.default.isReadableFile(atPath: path) ? Self.reason(error) : "permission denied"
            throw AWSCredentialError(.malformedFile, "cannot read \(path): \(why)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw AWSCredentialError(.malformedFile, "cannot read \(path): it is not UTF-8 text")
        }
        return try AWSConfigFile(parsing: text, path: path)
    }

    init(parsing text: String, path: String) throws(AWSCredentialError) {
        self.path = path
        var sections: [String: [String: [String]]] = [:]
        var order: [String] = []
        var defaults: [String: [String]] = [:]
        var current: String?   // nil before the first header; "DEFAULT" for the defaults
        var option: String?    // the key that a deeper-indented line continues
        var indentLevel = 0

        func fail(_ number: Int, _ reason: String) -> AWSCredentialError {
            AWSCredentialError(.malformedFile, "\(path) line \(number): \(reason)")
        }

        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        // Python's universal newlines: \n, \r\n (one Character in Swift) and \r.
        let lines = body.split(omittingEmptySubsequences: false,
                               whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            let value = raw.trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("#") || value.hasPrefix(";") { continue }
            if value.isEmpty {
                // configparser keeps blank lines inside a multi-line value; trailing ones are trimmed below.
                if let section = current, let key = option {
                    if section == "DEFAULT" { defaults[key]?.append("") } else { sections[section]?[key]?.append("") }
                }
                continue
            }
            let indent = raw.prefix(while: { $0 == " " || $0 == "\t" }).count
            if let section = current, let key = option, indent > indentLevel {
                if section == "DEFAULT" { defaults[key]?.append(value) } else { sections[section]?[key]?.append(value) }
                continue
            }
            indentLevel = indent
            if value.hasPrefix("["), let close = value.lastIndex(of: "]"),
               value.index(after: value.startIndex) < close {
                let name = String(value[value.index(after: value.startIndex)..<close])
                if name == "DEFAULT" {
                    current = name
                } else {
                    guard sections[name] == nil else { throw fail(number, "section [\(name)] appears twice") }
                    sections[name] = [:]
                    order.append(name)
                    current = name
                }
                option = nil
                continue
            }
            guard let section = current else {
                throw fail(number, "a key before the first [section] header")
            }
            guard let delimiter = value.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw fail(number, "expected [section] or key = value")
            }
            let key = value[..<delimiter].trimmingCharacters(in: .whitespaces).lowercased()
            guard !key.isEmpty else { throw fail(number, "a value without a key") }
            let rest = value[value.index(after: delimiter)...].trimmingCharacters(in: .whitespaces)
            if section == "DEFAULT" {
                guard defaults[key] == nil else { throw fail(number, "key \(key) appears twice in [DEFAULT]") }
                defaults[key] = [rest]
            } else {
                guard sections[section]?[key] == nil else {
                    throw fail(number, "key \(key) appears twice in [\(section)]")
                }
                sections[section]?[key] = [rest]
            }
            option = key
        }

        func join(_ parts: [String]) -> String {
            var joined = parts.joined(separator: "\n")
            while let last = joined.last, last.isWhitespace { joined.removeLast() }
            return joined
        }
        let inherited = defaults.mapValues(join)
        self.sections = sections.mapValues { keys in inherited.merging(keys.mapValues(join)) { _, own in own } }
        self.order = order
    }

    /// A section of a credentials file: `[NAME]`.
    func credentialsProfile(_ name: String) -> [String: String]? { sections[name] }

    /// A profile of a config file: `[profile NAME]` (the name split as a shell word, so
    /// `[profile "a b"]` is `a b`), and `[default]`, which needs no `profile` prefix.
    func configProfile(_ name: String) -> [String: String]? {
        var found: [String: String]?
        for section in order where Self.configProfileName(section) == name { found = sections[section] }
        return found
    }

    /// Every profile name the file defines, in file order.
    var credentialsProfileNames: [String] { order }
    var configProfileNames: [String] { order.compactMap(Self.configProfileName) }

    /// botocore's `build_profile_map`: a section starting with `profile` whose shell words
    /// are exactly two names the second; `default` names itself; anything else is no profile.
    static func configProfileName(_ section: String) -> String? {
        if section == "default" { return "default" }
        guard section.hasPrefix("profile"), let words = shellWords(section), words.count == 2 else { return nil }
        return words[1]
    }

    /// POSIX `shlex.split`: whitespace separates words; quotes group; a backslash escapes
    /// the next character (inside double quotes only `\` and `"`).
    /// nil for an unterminated quote or a trailing backslash, which botocore skips.
    static func shellWords(_ text: String) -> [String]? {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaping = false
        for c in text {
            if escaping {
                if quote == "\"" && c != "\\" && c != "\"" { word.append("\\") }
                word.append(c)
                escaping = false
                continue
            }
            switch (quote, c) {
            case ("'", "'"), ("\"", "\""): quote = nil
            case ("'", _): word.append(c)
            case ("\"", "\\"), (nil, "\\"): escaping = true; inWord = true
            case ("\"", _): word.append(c)
            case (nil, "'"), (nil, "\""): quote = c; inWord = true
            case (nil, _) where c.isWhitespace:
                if inWord { words.append(word); word = ""; inWord = false }
            default: word.append(c); inWord = true
            }
        }
        guard quote == nil, !escaping else { return nil }
        if inWord { words.append(word) }
        return words
    }

    static func reason(_ error: any Error) -> String {
        (error as NSError).localizedDescription
    }
}
