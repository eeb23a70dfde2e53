import Foundation
import StreamEngine

/// Where Firehose puts an object in S3 (KINESIS.md §9, AWS `s3-prefixes.md`):
/// `<evaluated prefix><name>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid><extension>`.
///
/// A prefix may hold `!{timestamp:<Java DateTimeFormatter pattern>}` (UTC, at the arrival of the
/// object's oldest record), `!{firehose:random-string}` (11 characters) and, in ErrorOutputPrefix
/// only, `!{firehose:error-output-type}`. The default prefix is `yyyy/MM/dd/HH/`; a prefix with no
/// timestamp expression gets `yyyy/MM/dd/HH/` appended, as Firehose appends `!{timestamp:yyyy/MM/dd/HH/}`.
public enum S3ObjectKeys {
    public static let defaultTimestampPattern = "yyyy/MM/dd/HH/"

    /// Checks a Prefix or ErrorOutputPrefix once, at CreateDeliveryStream or UpdateDestination.
    static func validate(prefix: String?, errorOutputPrefix: String?) throws(FirehoseError) {
        // Keys become paths under the bucket's folder: a `..` segment would write outside it.
        for (field, value) in [("Prefix", prefix), ("ErrorOutputPrefix", errorOutputPrefix)]
        where (value ?? "").split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw FirehoseError(
                .invalidArgument, "\(field) may not contain a '..' segment: ktop stores S3 objects as files.")
        }
        let p = try expressions(in: prefix ?? "", field: "Prefix")
        _ = try expressions(in: errorOutputPrefix ?? "", field: "ErrorOutputPrefix")
        if p.contains(where: { $0.namespace == "firehose" && $0.value == "error-output-type" }) {
            throw FirehoseError(
                .invalidArgument, "The 'firehose:error-output-type' expression is only allowed in ErrorOutputPrefix.")
        }
        if !p.isEmpty && (errorOutputPrefix ?? "").isEmpty {
            throw FirehoseError(
                .invalidArgument, "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions.")
        }
    }

    /// The evaluated prefix: `prefix` (or the default) at `arrival`.
    /// `errorOutputType` is the error kind for ErrorOutputPrefix (e.g. `processing-failed`), nil for Prefix.
    public static func evaluate(
        _ prefix: String?, arrival: Instant, errorOutputType: String? = nil,
        random: () -> String = randomString
    ) throws(FirehoseError) -> String {
        var template = prefix ?? ""
        if template.isEmpty, let errorOutputType { template = errorOutputType + "/" }
        let parts = try expressions(in: template, field: errorOutputType == nil ? "Prefix" : "ErrorOutputPrefix")
        var out = ""
        var index = template.startIndex
        for e in parts {
            out += template[index..<e.range.lowerBound]
            switch (e.namespace, e.value) {
            case ("timestamp", let pattern): out += try format(arrival, javaPattern: pattern)
            case ("firehose", "random-string"): out += random()
            case ("firehose", "error-output-type"): out += errorOutputType ?? ""
            default: break  // validate() refused anything else
            }
            index = e.range.upperBound
        }
        out += template[index...]
        if !parts.contains(where: { $0.namespace == "timestamp" }) {
            out += try format(arrival, javaPattern: defaultTimestampPattern)
        }
        return out
    }

    /// `name-version-yyyy-MM-dd-HH-mm-ss-<uuid>` plus the compression's extension.
    /// `fileExtension` (ExtendedS3 `FileExtension`) replaces the compression's extension when set.
    public static func objectName(
        deliveryStream: String, version: Int, at time: Instant, uuid: String, format: CompressionFormat,
        fileExtension: String? = nil
    ) -> String {
        let stamp = (try? Self.format(time, javaPattern: "yyyy-MM-dd-HH-mm-ss")) ?? ""
        return "\(deliveryStream)-\(version)-\(stamp)-\(uuid)\(fileExtension ?? format.fileExtension)"
    }

    /// FileExtension's model pattern, `^$|\.[0-9a-z!\-_.*'()]+`, at most 128 characters.
    static func validate(fileExtension: String?) throws(FirehoseError) {
        guard let e = fileExtension, !e.isEmpty else { return }
        let allowed = Set("0123456789abcdefghijklmnopqrstuvwxyz!-_.*'()")
        guard e.count <= 128, e.hasPrefix("."), e.count > 1, e.dropFirst().allSatisfy({ allowed.contains($0) }) else {
            throw FirehoseError.constraint(
                "fileExtension", "satisfy regular expression pattern: ^$|\\.[0-9a-z!\\-_.*'()]+", value: e)
        }
    }

    /// 11 random lower-case letters and digits, as `!{firehose:random-string}` gives.
    public static func randomString() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<11).map { _ in alphabet.randomElement()! })
    }

    struct Expression {
        var range: Range<String.Index>
        var namespace: String
        var value: String
    }

    static func expressions(in template: String, field: String) throws(FirehoseError) -> [Expression] {
        var found: [Expression] = []
        var search = template.startIndex
        while let start = template.range(of: "!{", range: search..<template.endIndex) {
            guard let end = template.range(of: "}", range: start.upperBound..<template.endIndex) else {
                throw FirehoseError(.invalidArgument, "\(field) has an unterminated expression: '\(template)'.")
            }
            let body = template[start.upperBound..<end.lowerBound]
            guard let colon = body.firstIndex(of: ":") else {
                throw FirehoseError(.invalidArgument, "\(field) has an invalid expression: '!{\(body)}'.")
            }
            let e = Expression(
                range: start.lowerBound..<end.upperBound, namespace: String(body[..<colon]),
                value: String(body[body.index(after: colon)...]))
            switch (e.namespace, e.value) {
            case ("timestamp", let pattern): _ = try format(Instant(nanosecondsSinceEpoch: 0), javaPattern: pattern)
            case ("firehose", "random-string"), ("firehose", "error-output-type"): break
            case ("partitionKeyFromQuery", _), ("partitionKeyFromLambda", _):
                throw FirehoseError(
                    .invalidArgument,
                    "\(field) expression '!{\(body)}' needs dynamic partitioning, which ktop does not implement.")
            default:
                throw FirehoseError(.invalidArgument, "\(field) has an unsupported expression: '!{\(body)}'.")
            }
            found.append(e)
            search = end.upperBound
        }
        return found
    }

    /// A subset of Java's DateTimeFormatter in UTC: `y` (yyyy, yy), `M`, `d`, `H`, `m`, `s` (a doubled
    /// letter pads to two digits), text in single quotes, and any other non-letter as itself.
    public static func format(_ t: Instant, javaPattern: String) throws(FirehoseError) -> String {
        let c = CivilTime(secondsSinceEpoch: t.secondsSinceEpoch)
        let chars = Array(javaPattern)
        var out = ""
        var i = 0
        while i < chars.count {
            let ch = chars[i]
            if ch == "'" {
                if i + 1 < chars.count, chars[i + 1] == "'" {
                    out.append("'")
                    i += 2
                    continue
                }
                guard let close = chars[(i + 1)...].firstIndex(of: "'") else {
                    throw FirehoseError(.invalidArgument, "Unterminated quote in timestamp pattern '\(javaPattern)'.")
                }
                out += String(chars[(i + 1)..<close])
                i = close + 1
                continue
            }
            guard ch.isLetter else {
                out.append(ch)
                i += 1
                continue
            }
            var run = 1
            while i + run < chars.count, chars[i + run] == ch { run += 1 }
            let value: Int
            switch ch {
            case "y", "u": value = run == 2 ? c.year % 100 : c.year
            case "M": value = c.month
            case "d": value = c.day
            case "H": value = c.hour
            case "m": value = c.minute
            case "s": value = c.second
            default:
                throw FirehoseError(
                    .invalidArgument, "Unsupported pattern letter '\(ch)' in timestamp expression '\(javaPattern)'.")
            }
            let digits = String(value)
            out += String(repeating: "0", count: max(0, min(run, 4) - digits.count)) + digits
            i += run
        }
        return out
    }
}
