import Foundation
@_spi(Fuzzing) import KinesisAPI
import StreamEngine

/// What one reply turned out to be; every reply must be one of these.
enum ReplyKind: String, CaseIterable {
    /// 200 with a JSON (or, for a CBOR request, CBOR) object body, or an empty body for the 17
    /// output-less operations (KINESIS.md §1.3).
    case jsonSuccess
    /// `{"__type": …, "message": …}` with the status of its type (§1.4–1.5), in JSON or CBOR.
    case jsonError
    /// Coral's XML refusal without a Content-Type (403, or 404 for an unknown operation).
    case xmlRefusal
    /// A bare 413 that closes the connection.
    case tooLarge
    /// A bare 408 that closes the connection (a request cut short by a deadline).
    case requestTimeout
    /// `503 ServiceUnavailableException` (AWS's JSON envelope): the body budget is spent; SDKs retry.
    case serviceUnavailable
    /// SubscribeToShard's `application/vnd.amazon.eventstream`.
    case eventStream
    /// The CORS preflight answer to `OPTIONS` with an `Origin`.
    case corsPreflight
    /// NIO's own 400 for bytes that are not HTTP (HTTPServerProtocolErrorHandler).
    case httpParseError
}

/// The wire contract every reply is held to. A violation is a bug: the
/// fuzzer stops and saves the input.
enum WireContract {
    /// The 17 operations answered with an empty body (KINESIS.md §1.3).
    static let outputless: Set<String> = [
        "AddTagsToStream", "CreateStream", "DecreaseStreamRetentionPeriod", "DeleteResourcePolicy", "DeleteStream",
        "DeregisterStreamConsumer", "IncreaseStreamRetentionPeriod", "MergeShards", "PutResourcePolicy",
        "RemoveTagsFromStream", "SplitShard", "StartStreamEncryption", "StopStreamEncryption", "TagResource",
        "UntagResource", "UpdateMaxRecordSize", "UpdateStreamMode",
    ]
    static let errorTypes = Set(KinesisErrorType.allCases.map(\.rawValue))

    /// - Parameter operation: the operation the request named, when the harness knows it (script mode).
    static func classify(_ r: WireResponse, operation: String?) throws(ContractViolation) -> ReplyKind {
        guard r.header("x-amzn-RequestId") != nil else {
            // Only NIO's parse-error reply lacks Kinesis's request id.
            guard r.status == 400, r.body.isEmpty, r.closesConnection else {
                throw ContractViolation("reply \(r.status) without x-amzn-RequestId")
            }
            return .httpParseError
        }
        if r.status == 413 || r.status == 408 {
            guard r.body.isEmpty, r.closesConnection else {
                throw ContractViolation("\(r.status) with a body or kept open")
            }
            return r.status == 413 ? .tooLarge : .requestTimeout
        }
        switch r.header("content-type") {
        case let type? where type == KinesisJSON.contentType || type == KinesisCBOR.contentType:
            let cbor = type == KinesisCBOR.contentType
            guard r.complete else { throw ContractViolation("JSON or CBOR reply cut off") }
            if r.status == 200 {
                try checkSuccessBody(r.body, operation: operation, cbor: cbor)
                return .jsonSuccess
            }
            if r.status == 503 {
                guard let object = object(r.body, cbor: cbor) as? [String: Any],
                      object["__type"] as? String == "ServiceUnavailableException", object["message"] is String
                else { throw ContractViolation("503 body is not a ServiceUnavailableException") }
                return .serviceUnavailable
            }
            try checkErrorBody(r.body, status: r.status, cbor: cbor)
            return .jsonError
        case "application/vnd.amazon.eventstream":
            guard r.status == 200, operation == nil || operation == "SubscribeToShard" else {
                throw ContractViolation("event stream with \(r.status) for \(operation ?? "?")")
            }
            try checkEventStream(r.body, complete: r.complete)
            return .eventStream
        case nil:
            if r.status == 200 {
                guard r.body.isEmpty, r.header("access-control-allow-origin") == "*" else {
                    throw ContractViolation("200 without Content-Type that is not a CORS preflight")
                }
                return .corsPreflight
            }
            guard r.status == 403 || r.status == 404 else { throw ContractViolation("XML refusal with \(r.status)") }
            try checkXML(r.body)
            return .xmlRefusal
        case let other?:
            throw ContractViolation("unexpected Content-Type \(other)")
        }
    }

    /// A reply body as Foundation objects, read in the encoding its Content-Type names.
    static func object(_ body: [UInt8], cbor: Bool) -> Any? {
        cbor ? KinesisCBORFuzzing.foundationObject(body) : try? JSONSerialization.jsonObject(with: Data(body))
    }

    static func checkSuccessBody(_ body: [UInt8], operation: String?, cbor: Bool) throws(ContractViolation) {
        if let operation, KinesisOperationNames.all.contains(operation) {
            if outputless.contains(operation) {
                guard body.isEmpty else { throw ContractViolation("\(operation) answered with a body") }
                return
            }
            guard !body.isEmpty else { throw ContractViolation("\(operation) answered with an empty body") }
        }
        if body.isEmpty { return }
        guard object(body, cbor: cbor) is [String: Any] else {
            throw ContractViolation("success body is not a \(cbor ? "CBOR map" : "JSON object")")
        }
    }

    static func checkErrorBody(_ body: [UInt8], status: Int, cbor: Bool) throws(ContractViolation) {
        guard let object = object(body, cbor: cbor) as? [String: Any] else {
            throw ContractViolation("error body is not a \(cbor ? "CBOR map" : "JSON object")")
        }
        guard let type = object["__type"] as? String, errorTypes.contains(type) else {
            throw ContractViolation("error __type \(String(describing: object["__type"])) is not a Kinesis error")
        }
        guard Set(object.keys).isSubset(of: ["__type", "message", "Message"]),
              object.values.allSatisfy({ $0 is String })
        else { throw ContractViolation("error body has other members \(object.keys.sorted())") }
        let expected = KinesisErrorType(rawValue: type)!.httpStatus
        guard status == expected else { throw ContractViolation("\(type) sent with \(status), not \(expected)") }
    }

    /// `<Type>\n  <Message>text</Message>\n</Type>\n` or `<Type/>\n`.
    static func checkXML(_ body: [UInt8]) throws(ContractViolation) {
        let text = String(decoding: body, as: UTF8.self)
        guard text.hasPrefix("<"), let close = text.firstIndex(of: ">") else {
            throw ContractViolation("XML refusal \(text.debugDescription)")
        }
        var name = text[text.index(after: text.startIndex)..<close]
        if name.hasSuffix("/") {
            name = name.dropLast()
            guard text == "<\(name)/>\n" else { throw ContractViolation("XML refusal \(text.debugDescription)") }
        } else {
            let open = "<\(name)>\n  <Message>", end = "</Message>\n</\(name)>\n"
            guard text.hasPrefix(open), text.hasSuffix(end), text.count >= open.count + end.count,
                  !text.dropFirst(open.count).dropLast(end.count).contains("<")
            else { throw ContractViolation("XML refusal \(text.debugDescription)") }
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw ContractViolation("XML refusal names \(name.debugDescription)")
        }
    }

    /// initial-response first, then SubscribeToShardEvents, at most one exception and nothing after it.
    static func checkEventStream(_ body: [UInt8], complete: Bool) throws(ContractViolation) {
        let frames = try EventStreamFrames.frames(body, complete: complete)
        for (i, frame) in frames.enumerated() {
            switch frame.headers[":message-type"] {
            case "event":
                let expected = i == 0 ? "initial-response" : "SubscribeToShardEvent"
                guard frame.headers[":event-type"] == expected else {
                    let name = frame.headers[":event-type"] ?? "unnamed"
                    throw ContractViolation("event \(i) is \(name), not \(expected)")
                }
            case "exception":
                guard i > 0, i == frames.count - 1, let type = frame.headers[":exception-type"],
                      errorTypes.contains(type)
                else { throw ContractViolation("exception frame \(i): \(frame.headers)") }
            default:
                throw ContractViolation("event frame \(i) headers \(frame.headers)")
            }
            // A CBOR SubscribeToShard gets CBOR payloads (KinesisCBOR quirk 7), labelled so.
            let cbor = frame.headers[":content-type"] == KinesisCBOR.contentType
            guard object(frame.payload, cbor: cbor) is [String: Any] else {
                throw ContractViolation("event frame \(i) payload is not a \(cbor ? "CBOR map" : "JSON object")")
            }
        }
    }
}

/// The 39 operation names, as X-Amz-Target spells them.
enum KinesisOperationNames {
    static let all = Set(KinesisOperation.allCases.map(\.rawValue))
}
