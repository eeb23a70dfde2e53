import Foundation

/// Firehose's JSON 1.1 operations (`X-Amz-Target: Firehose_20150804.<Operation>`), from a request
/// body to a reply body, independent of HTTP: the wire server hands the body here after its own
/// protocol checks (content type, credentials, SigV4 with service `firehose`).
extension FirehoseService {
    public static let targetPrefix = "Firehose_20150804"
    public static let signingName = "firehose"

    /// The reply's HTTP status and JSON body (`{"__type","message"}` on errors).
    public func handle(operation: String, body: [UInt8], region: String) -> (status: Int, body: [UInt8]) {
        do {
            let out = try dispatch(operation, Data(body.isEmpty ? Array("{}".utf8) : body), region: region)
            return (200, out)
        } catch let e as FirehoseError {
            return (e.type.httpStatus, Self.errorBody(e))
        } catch {
            let e = FirehoseError(.serialization, "Internal error: \(error)")
            return (e.type.httpStatus, Self.errorBody(e))
        }
    }

    static func errorBody(_ e: FirehoseError) -> [UInt8] {
        let object = ["__type": e.type.rawValue, "message": e.message]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    private func dispatch(_ operation: String, _ body: Data, region: String) throws -> [UInt8] {
        switch operation {
        case "CreateDeliveryStream":
            return try encode(createDeliveryStream(decode(body), region: region))
        case "DeleteDeliveryStream":
            try deleteDeliveryStream(decode(body), region: region)
        case "DescribeDeliveryStream":
            return try encode(describeDeliveryStream(decode(body), region: region))
        case "ListDeliveryStreams":
            return try encode(listDeliveryStreams(decode(body), region: region))
        case "PutRecord":
            return try encode(putRecord(decode(body), region: region))
        case "PutRecordBatch":
            return try encode(putRecordBatch(decode(body), region: region))
        case "UpdateDestination":
            try updateDestination(decode(body), region: region)
        case "TagDeliveryStream":
            try tagDeliveryStream(decode(body), region: region)
        case "UntagDeliveryStream":
            try untagDeliveryStream(decode(body), region: region)
        case "ListTagsForDeliveryStream":
            return try encode(listTagsForDeliveryStream(decode(body), region: region))
        case "StartDeliveryStreamEncryption":
            try startDeliveryStreamEncryption(decode(body), region: region)
        case "StopDeliveryStreamEncryption":
            try stopDeliveryStreamEncryption(decode(body), region: region)
        default:
            throw FirehoseError(.unknownOperation, "")
        }
        return Array("{}".utf8)
    }

    private func decode<T: Decodable>(_ body: Data) throws(FirehoseError) -> T {
        do {
            return try FirehoseJSON.decoder().decode(T.self, from: body)
        } catch let DecodingError.keyNotFound(key, context) {
            let path = (context.codingPath + [key]).map { k in
                k.intValue.map { String($0 + 1) } ?? k.stringValue
            }.joined(separator: ".")
            throw FirehoseError(
                .validation,
                "1 validation error detected: Value null at '\(path)' failed to satisfy constraint: "
                    + "Member must not be null")
        } catch let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw FirehoseError(
                .validation,
                "1 validation error detected: Value null at '\(path)' failed to satisfy constraint: "
                    + "Member must not be null")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw FirehoseError(.serialization, "Could not read the value of '\(path)': not valid base64 or JSON.")
        } catch {
            throw FirehoseError(.serialization, "Start of structure or map found where not expected.")
        }
    }

    private func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try FirehoseJSON.encoder().encode(value))
    }
}
