import Foundation
import StreamEngine

/// Reads a Kinesis error reply the way the AWS SDKs do (KINESIS.md §1.4): the
/// type from the body's `__type` (or `code`), else the `X-Amzn-Errortype`
/// header, sanitised to the text after `#` and before `:`; the message from
/// `message` or `Message`.
public enum KinesisErrorReply {
    /// Maps an error type name to a ``StreamEngine/KinesisErrorType``.
    ///
    /// Kinesis's own names map to themselves, also without their `Exception`
    /// suffix (`InternalFailure`). Generic AWS names map to their Kinesis
    /// counterpart (`ThrottlingException` → LimitExceededException, Kinesis's
    /// control-plane throttle; `ExpiredTokenException` → UnrecognizedClientException).
    /// Anything else is nil: the caller falls back by HTTP status.
    public static func type(named raw: String) -> KinesisErrorType? {
        if let known = KinesisErrorType(rawValue: raw) ?? KinesisErrorType(rawValue: raw + "Exception") { return known }
        switch raw {
        case "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
            "RequestLimitExceeded", "SlowDown":
            return .limitExceeded
        case "ServiceUnavailable", "ServiceUnavailableException", "InternalError", "InternalServerError",
            "InternalServerErrorException", "InternalFailure":
            return .internalFailure
        case "ExpiredTokenException", "ExpiredToken", "InvalidClientTokenId", "InvalidAccessKeyId":
            return .unrecognizedClient
        case "SignatureDoesNotMatch", "RequestExpired":
            return .invalidSignature
        case "AccessDenied", "UnauthorizedOperation":
            return .accessDenied
        default:
            return nil
        }
    }

    /// Smithy's rule: the text after the last `#` and before the first `:`
    /// (`aws.protocoltests#FooError:http://internal.amazon.com/…` → `FooError`).
    public static func sanitize(_ type: String) -> String {
        var name = Substring(type)
        if let colon = name.firstIndex(of: ":") { name = name[..<colon] }
        if let hash = name.lastIndex(of: "#") { name = name[name.index(after: hash)...] }
        return name.trimmingCharacters(in: .whitespaces)
    }

    /// The error a non-200 reply carries.
    ///
    /// An unknown type keeps its name at the front of the message and becomes
    /// InternalFailureException (5xx) or InvalidArgumentException (4xx). A
    /// reply with no type at all (a proxy's page, a wrong endpoint) is judged by
    /// its status: 403 AccessDenied, 429 LimitExceeded, else InternalFailure,
    /// with the status and the start of the body in the message.
    public static func error(status: Int, headerType: String?, body: [UInt8], endpoint: String) -> KinesisError {
        var typeName: String?
        var message: String?
        if let document = try? KinesisJSON.parse(body), case .object(let members) = document {
            if case .string(let t) = members["__type"] ?? .null {
                typeName = t
            } else if case .string(let t) = members["code"] ?? .null {
                typeName = t
            }
            if case .string(let m) = members["message"] ?? .null {
                message = m
            } else if case .string(let m) = members["Message"] ?? .null {
                message = m
            }
        }
        if typeName == nil, let headerType, !headerType.isEmpty { typeName = headerType }
        guard let raw = typeName.map(sanitize), !raw.isEmpty else {
            let text = String(decoding: body.prefix(200), as: UTF8.self)
            let detail = "HTTP \(status) from \(endpoint)" + (text.isEmpty ? "" : ": \(text)")
            switch status {
            case 403: return KinesisError(.accessDenied, detail)
            case 429: return KinesisError(.limitExceeded, detail)
            default: return KinesisError(.internalFailure, detail)
            }
        }
        if let known = type(named: raw) {
            let isKinesisName =
                KinesisErrorType(rawValue: raw) != nil || KinesisErrorType(rawValue: raw + "Exception") != nil
            return KinesisError(known, isKinesisName ? (message ?? "") : "\(raw): \(message ?? "")")
        }
        return KinesisError(
            status >= 500 ? .internalFailure : .invalidArgument, "\(raw): \(message ?? "HTTP \(status)")")
    }

    /// An event-stream `exception` frame (`:exception-type` + `{"message": …}`) or
    /// `error` frame (`:error-code`, `:error-message`).
    static func error(streamMessage message: EventStreamMessage) -> KinesisError {
        let kind = message[header: ":message-type"]?.stringValue
        if kind == "error" {
            let code = message[header: ":error-code"]?.stringValue ?? "InternalFailure"
            return error(
                status: 500, headerType: code,
                body: Array("{\"message\":\(quoted(message[header: ":error-message"]?.stringValue ?? ""))}".utf8),
                endpoint: "")
        }
        let type = message[header: ":exception-type"]?.stringValue ?? "InternalFailure"
        return error(status: 400, headerType: type, body: message.payload, endpoint: "")
    }

    private static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        JSONNode.writeString(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
