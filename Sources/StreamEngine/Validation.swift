import Foundation

/// Collects the model-level constraint violations of one request and reports
/// them as Kinesis's front end does (Coral style, KINESIS.md §1.5):
/// `2 validation errors detected: Value 'x' at 'streamName' failed to satisfy
/// constraint: Member must …; Value null at 'partitionKey' …`.
///
/// Member paths use the lower-camel member name, nested with dots and 1-based
/// list indices (`records.3.member.partitionKey`). At most 10 are listed.
struct Validator {
    private(set) var errors: [String] = []

    static let streamNamePattern = "[a-zA-Z0-9_.-]+"
    static let hashKeyPattern = "0|([1-9]\\d{0,38})"
    static let sequenceNumberPattern = "0|([1-9]\\d{0,128})"
    static let streamARNPattern = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+"
    static let consumerARNPattern =
        "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+"
    static let resourceARNPattern = "arn:aws.*:kinesis:.*:\\d{12}:.*"

    mutating func fail(_ value: String?, _ path: String, _ constraint: String) {
        guard errors.count < 10 else { return }
        let shown = value.map { "'\($0)'" } ?? "null"
        errors.append("Value \(shown) at '\(path)' failed to satisfy constraint: \(constraint)")
    }

    /// Throws the collected errors, if any, as one ValidationException.
    func check() throws(KinesisError) {
        guard !errors.isEmpty else { return }
        let n = errors.count
        throw KinesisError(
            .validation, "\(n) validation error\(n > 1 ? "s" : "") detected: " + errors.joined(separator: "; "))
    }

    /// Throws the collected errors, if any; otherwise returns the required members as values.
    ///
    /// Each member passed here must have been checked as required above, so a nil one is a missing
    /// check in ktop, not bad input: it is an InternalFailure rather than a force unwrap that would
    /// trap and stop the server for every client.
    func check<each T>(_ required: repeat (each T)?) throws(KinesisError) -> (repeat each T) {
        try check()
        return (repeat try Self.vouched(each required))
    }

    private static func vouched<T>(_ value: T?) throws(KinesisError) -> T {
        guard let value else {
            throw KinesisError(.internalFailure, "A required member was not validated (a ktop bug).")
        }
        return value
    }

    // MARK: member checks (each returns the value when present, for chaining)

    mutating func required<T>(_ v: T?, _ path: String) {
        if v == nil { fail(nil, path, "Member must not be null") }
    }

    mutating func string(
        _ v: String?, _ path: String, required: Bool = false, length: ClosedRange<Int>? = nil, pattern: String? = nil
    ) {
        guard let v else {
            if required { fail(nil, path, "Member must not be null") }
            return
        }
        if let pattern, !Self.matches(v, pattern) {
            fail(v, path, "Member must satisfy regular expression pattern: \(pattern)")
        }
        if let length {
            // The model counts UTF-16 code units, as Java strings do.
            let count = v.utf16.count
            if count < length.lowerBound {
                fail(v, path, "Member must have length greater than or equal to \(length.lowerBound)")
            }
            if count > length.upperBound {
                fail(v, path, "Member must have length less than or equal to \(length.upperBound)")
            }
        }
    }

    /// `streamName`: 1–128 characters of `[a-zA-Z0-9_.-]`, as every stream-scoped operation takes it.
    mutating func streamName(_ v: String?, required: Bool = false) {
        string(v, "streamName", required: required, length: 1...128, pattern: Self.streamNamePattern)
    }

    /// `streamARN`: up to 2048 characters matching the model's stream ARN pattern.
    mutating func streamARN(_ v: String?, required: Bool = false) {
        string(v, "streamARN", required: required, length: 1...2048, pattern: Self.streamARNPattern)
    }

    mutating func int(_ v: Int?, _ path: String, required: Bool = false, range: ClosedRange<Int>? = nil) {
        guard let v else {
            if required { fail(nil, path, "Member must not be null") }
            return
        }
        if let range {
            if v < range.lowerBound {
                fail(String(v), path, "Member must have value greater than or equal to \(range.lowerBound)")
            }
            if v > range.upperBound {
                fail(String(v), path, "Member must have value less than or equal to \(range.upperBound)")
            }
        }
    }

    mutating func enumValue<E: KinesisEnum>(_ v: E?, _ path: String, required: Bool = false) {
        guard let v else {
            if required { fail(nil, path, "Member must not be null") }
            return
        }
        if !v.isKnown {
            fail(
                v.rawValue, path,
                "Member must satisfy enum value set: [\(E.allCases.map(\.rawValue).joined(separator: ", "))]")
        }
    }

    mutating func blob(_ v: Data?, _ path: String, required: Bool = false, maxLength: Int) {
        guard let v else {
            if required { fail(nil, path, "Member must not be null") }
            return
        }
        if v.count > maxLength {
            fail(
                "java.nio.HeapByteBuffer[pos=0 lim=\(v.count) cap=\(v.count)]", path,
                "Member must have length less than or equal to \(maxLength)")
        }
    }

    mutating func list<T>(
        _ v: [T]?, _ path: String, required: Bool = false, count: ClosedRange<Int>, memberDescription: String
    ) {
        guard let v else {
            if required { fail(nil, path, "Member must not be null") }
            return
        }
        let shown =
            "[" + Array(repeating: memberDescription, count: min(v.count, 3)).joined(separator: ", ")
            + (v.count > 3 ? ", ..." : "") + "]"
        if v.count < count.lowerBound {
            fail(shown, path, "Member must have length greater than or equal to \(count.lowerBound)")
        }
        if v.count > count.upperBound {
            fail(shown, path, "Member must have length less than or equal to \(count.upperBound)")
        }
    }

    mutating func tagMap(_ v: [String: String]?, _ path: String, required: Bool = false, count: ClosedRange<Int>) {
        guard let v else {
            if required { fail(nil, path, "Member must not be null") }
            return
        }
        let shown = "{" + v.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ", ") + "}"
        if v.count < count.lowerBound {
            fail(shown, path, "Member must have length greater than or equal to \(count.lowerBound)")
        }
        if v.count > count.upperBound {
            fail(shown, path, "Member must have length less than or equal to \(count.upperBound)")
        }
        if !v.keys.allSatisfy({ (1...128).contains($0.utf16.count) }) {
            fail(
                shown, path,
                "Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must "
                    + "have length greater than or equal to 1]"
            )
        }
        if !v.values.allSatisfy({ $0.utf16.count <= 256 }) {
            fail(
                shown, path,
                "Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must "
                    + "have length greater than or equal to 0]"
            )
        }
    }

    // MARK: patterns

    /// Whole-string match of the model's patterns. The handful of patterns the
    /// Kinesis model uses are matched by hand in linear time (fast on the put path,
    /// and no backtracking a hostile value can blow up: see ``ARNPatterns``).
    static func matches(_ s: String, _ pattern: String) -> Bool {
        switch pattern {
        case streamNamePattern:
            return !s.isEmpty
                && s.utf8.allSatisfy { c in
                    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 95 || c == 46
                        || c == 45
                }
        case hashKeyPattern: return decimalMatches(s, maxDigits: 39)
        case sequenceNumberPattern: return decimalMatches(s, maxDigits: 129)
        case streamARNPattern: return ARNPatterns.isStreamARN(s)
        case consumerARNPattern: return ARNPatterns.isConsumerARN(s)
        case resourceARNPattern: return ARNPatterns.isResourceARN(s)
        default:
            return (try? Regex("^(?:\(pattern))$").wholeMatch(in: s)) != nil
        }
    }

    private static func decimalMatches(_ s: String, maxDigits: Int) -> Bool {
        let u = s.utf8
        guard !u.isEmpty, u.count <= maxDigits, u.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        return u.count == 1 || u.first != 48
    }
}
