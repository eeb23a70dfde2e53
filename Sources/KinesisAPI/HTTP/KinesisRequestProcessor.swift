import Foundation
import NIOCore
import NIOHTTP1
import StreamEngine

/// One complete HTTP request as the front door sees it.
struct KinesisRequest {
    var method: HTTPMethod
    var uri: String
    var headers: HTTPHeaders
    var body: ByteBuffer
}

/// The answer to one request: a complete body, or an event stream to pump.
struct KinesisResponse {
    enum Body {
        case bytes([UInt8])
        case eventStream(any EventSubscription)
    }

    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: Body
    /// The encoding of the request, which the reply and SubscribeToShard's event payloads use.
    var encoding: KinesisBodyEncoding = .json
    /// Injected latency (`--faults latency`): the reply is written this much later.
    var delay: Duration = .zero
    /// Injected reset (`--faults reset`): the connection is closed with no reply at all.
    var resetConnection = false
}

/// Kinesis's front door, independent of sockets: takes a request, applies the
/// protocol checks in the order AWS applies them, dispatches, and shapes the
/// reply (KINESIS.md §1.1–§1.5, §10).
///
/// The order of the checks comes from kinesalite's connection tests, which
/// were written against live AWS:
/// 1. method and content type decide whether errors are Kinesis errors (400, in the
///    request's encoding: JSON, or CBOR for `application/x-amz-cbor-1.1`) or XML (403);
/// 2. with a JSON or CBOR content type, a body that is not one is a SerializationException
///    and an unknown target an UnknownOperationException, before any auth check;
/// 3. then the Authorization header must exist and be complete;
/// 4. then the signature (only when verification is configured);
/// 5. then the operation's own input validation and logic.
struct KinesisRequestProcessor: Sendable {
    var dispatcher: any OperationDispatcher
    var verifier: SigV4Verifier?
    /// Region for requests whose credential scope names none (or an implausible one).
    var defaultRegion: String
    /// Wall time for signature skew checks; never the engine's (possibly simulated) clock.
    var now: @Sendable () -> Date = { Date() }
    /// Prometheus text for `GET /metrics`, when the process keeps metrics.
    var metricsText: (@Sendable () -> String)?
    /// `GET /ktop/v1/…` (the engine's sample and events as JSON), when serving an engine.
    var ktopRoutes: KtopRoutes?
    /// Faults to inject into Kinesis calls (`--faults`), when asked for.
    var faults: FaultInjector?
    /// Other AWS JSON 1.1 services on the same port, by target prefix (Firehose_20150804).
    var jsonServices: [String: JSONService] = [:]

    func process(_ request: KinesisRequest) -> KinesisResponse {
        var headers = HTTPHeaders()
        headers.add(name: "x-amzn-RequestId", value: UUIDString.random())
        let origin = request.headers.first(name: "origin")
        if request.method == .OPTIONS, origin != nil {
            return corsPreflight(request, headers: headers)
        }
        headers.add(name: "x-amz-id-2", value: Self.extendedRequestId())
        if origin != nil {
            headers.add(name: "Access-Control-Allow-Origin", value: "*")
            headers.add(name: "Access-Control-Expose-Headers", value: "x-amzn-RequestId, x-amz-id-2")
        }
        return respond(to: request, headers: headers)
    }

    private func respond(to request: KinesisRequest, headers: HTTPHeaders) -> KinesisResponse {
        // ktop's own scrape endpoint; everything else is Kinesis.
        if request.method == .GET, let metricsText, request.uri.split(separator: "?").first == "/metrics" {
            var h = headers
            h.replaceOrAdd(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
            let text = metricsText() + (faults.map(Self.faultCounters) ?? "")
            return KinesisResponse(status: .ok, headers: h, body: .bytes(Array(text.utf8)))
        }
        if let ktopRoutes, let reply = ktopRoutes.respond(to: request, headers: headers) { return reply }
        // Other methods get Coral's XML refusal: it cannot tell which operation to authorize.
        guard request.method == .POST else {
            return Self.xmlError(
                "AccessDeniedException", "Unable to determine service/operation name to be authorized",
                status: .forbidden, headers: headers)
        }
        // nil: a content type Kinesis does not route, whose errors are XML.
        let encoding = KinesisBodyEncoding(contentType: request.headers.first(name: "content-type"))
        let target = TargetHeader(request.headers.first(name: "x-amz-target"))

        var document = RequestBody.document(.object([:]))
        if encoding == .json, target.operation == .putRecords,
           let input = request.body.withUnsafeReadableBytes({ PutRecordsJSONReader.read($0) }) {
            document = .putRecords(input)
        } else if let encoding {
            do {
                document = .document(try request.body.withUnsafeReadableBytes { raw in
                    Result { () throws(KinesisError) in try encoding.parse(raw) }
                }.get())
            } catch {
                return Self.errorResponse(error, encoding: encoding, headers: headers)
            }
            guard target.operation != nil || jsonService(for: target, encoding) != nil else {
                return Self.errorResponse(KinesisError(.unknownOperation, ""), encoding: encoding, headers: headers)
            }
        }

        let credentials = RequestCredentials(request)
        if let refusal = credentials.incompleteness() {
            guard let encoding else {
                return Self.xmlError(refusal.type.rawValue, refusal.message, status: .forbidden, headers: headers)
            }
            return Self.errorResponse(refusal, encoding: encoding, headers: headers)
        }
        if let service = jsonService(for: target, encoding), let name = target.operationName {
            return respondJSONService(service, operation: name, request, credentials, headers: headers)
        }
        guard let encoding, let operation = target.operation else { return Self.unroutable(target, headers: headers) }
        if let verifier {
            do {
                try credentials.verify(request, with: verifier, now: now())
            } catch {
                return Self.errorResponse(error, encoding: encoding, headers: headers)
            }
        }

        let region = credentials.scope.map(\.region).flatMap(Self.plausibleRegion) ?? defaultRegion
        guard let faults else {
            return dispatch(operation, region: region, document, encoding: encoding, headers: headers)
        }
        // Whole-call faults replace the call (it is not applied); latency delays whatever the answer is.
        var response: KinesisResponse
        switch faults.callFault(operation: operation) {
        case .reset?:
            response = KinesisResponse(status: .ok, headers: headers, body: .bytes([]), resetConnection: true)
        case .unavailable?:
            var h = headers
            h.add(name: "Content-Type", value: encoding.contentType)
            response = KinesisResponse(
                status: .serviceUnavailable, headers: h,
                body: .bytes(encoding.serviceUnavailableBody(message: "Service Unavailable")),
                encoding: encoding)
        case .internalError?:
            let failure = KinesisError(.internalFailure, "Internal service failure.")
            response = Self.errorResponse(failure, encoding: encoding, headers: headers)
        case nil:
            response = dispatch(operation, region: region, document, encoding: encoding, headers: headers)
        }
        response.delay = faults.latency(operation: operation) ?? .zero
        return response
    }

    private func dispatch(
        _ operation: KinesisOperation, region: String, _ document: RequestBody,
        encoding: KinesisBodyEncoding, headers: HTTPHeaders
    ) -> KinesisResponse {
        var h = headers
        do {
            switch try dispatcher.dispatch(operation, region: region, input: document, encoding: encoding) {
            case .body(let body):
                h.add(name: "Content-Type", value: encoding.contentType)
                return KinesisResponse(status: .ok, headers: h, body: .bytes(body), encoding: encoding)
            case .subscription(let subscription):
                h.add(name: "Content-Type", value: KinesisEventStream.contentType)
                return KinesisResponse(status: .ok, headers: h, body: .eventStream(subscription), encoding: encoding)
            }
        } catch {
            return Self.errorResponse(error, encoding: encoding, headers: headers)
        }
    }

    /// The other service a JSON request's target names (JSON 1.1 only: Firehose has no CBOR).
    private func jsonService(for target: TargetHeader, _ encoding: KinesisBodyEncoding?) -> JSONService? {
        guard encoding == .json, let name = target.service, target.operationName != nil else { return nil }
        return jsonServices[name]
    }

    /// A request for another JSON service: the same credential checks (with its signing name), then its handler.
    private func respondJSONService(
        _ service: JSONService, operation: String, _ request: KinesisRequest, _ credentials: RequestCredentials,
        headers: HTTPHeaders
    ) -> KinesisResponse {
        if let verifier {
            do {
                try credentials.verify(request, with: verifier, now: now(), service: service.signingName)
            } catch {
                return Self.errorResponse(error, encoding: .json, headers: headers)
            }
        }
        let region = credentials.scope.map(\.region).flatMap(Self.plausibleRegion) ?? defaultRegion
        let body = request.body.getBytes(at: request.body.readerIndex, length: request.body.readableBytes) ?? []
        let reply = service.handle(operation, body, region)
        var h = headers
        h.add(name: "Content-Type", value: KinesisBodyEncoding.json.contentType)
        return KinesisResponse(
            status: HTTPResponseStatus(statusCode: reply.status), headers: h, body: .bytes(reply.body), encoding: .json)
    }

    /// An authenticated request without a JSON or CBOR content type: Coral cannot route it.
    private static func unroutable(_ target: TargetHeader, headers: HTTPHeaders) -> KinesisResponse {
        guard let service = target.service, let name = target.operationName else {
            return xmlError(
                "AccessDeniedException", "Unable to determine service/operation name to be authorized",
                status: .forbidden, headers: headers)
        }
        guard service == KinesisOperation.targetPrefix else {
            return xmlError(
                "UnrecognizedClientException",
                "No authorization strategy was found for service: \(service), operation: \(name)",
                status: .forbidden, headers: headers)
        }
        // Kinesalite saw AWS answer a known operation with 500 here and an unknown one with 404;
        // ktop answers 404 for both, keeping 500 for its own failures.
        return xmlError("UnknownOperationException", nil, status: .notFound, headers: headers)
    }

    /// `ktop_faults_injected_total{kind,operation}`: every fault `--faults` injected, so a test can
    /// compare what its client saw with what the server did.
    static func faultCounters(_ faults: FaultInjector) -> String {
        var s =
            "# HELP ktop_faults_injected_total Faults injected on purpose by --faults, by kind and operation.\n"
            + "# TYPE ktop_faults_injected_total counter\n"
        for c in faults.counts() {
            let labels = "kind=\"\(c.kind.rawValue)\",operation=\"\(c.operation.rawValue)\""
            s += "ktop_faults_injected_total{\(labels)} \(c.count)\n"
        }
        return s
    }

    // MARK: replies

    /// A Kinesis error in the request's encoding, with the status of its type (KINESIS.md §1.5).
    static func errorResponse(
        _ error: KinesisError, encoding: KinesisBodyEncoding,
        headers: HTTPHeaders
    ) -> KinesisResponse {
        var h = headers
        h.add(name: "Content-Type", value: encoding.contentType)
        return KinesisResponse(
            status: HTTPResponseStatus(statusCode: error.type.httpStatus), headers: h,
            body: .bytes(encoding.errorBody(error)), encoding: encoding)
    }

    /// Coral's XML errors, which carry no Content-Type header (kinesalite's tests assert its absence).
    static func xmlError(
        _ type: String, _ message: String?, status: HTTPResponseStatus, headers: HTTPHeaders
    ) -> KinesisResponse {
        let text: String
        if let message {
            text = "<\(type)>\n  <Message>\(xmlEscaped(message))</Message>\n</\(type)>\n"
        } else {
            text = "<\(type)/>\n"
        }
        return KinesisResponse(status: status, headers: headers, body: .bytes(Array(text.utf8)))
    }

    private func corsPreflight(_ request: KinesisRequest, headers: HTTPHeaders) -> KinesisResponse {
        var h = headers
        h.add(name: "Access-Control-Allow-Origin", value: "*")
        if let requested = request.headers.first(name: "access-control-request-headers") {
            h.add(name: "Access-Control-Allow-Headers", value: requested)
        }
        if let method = request.headers.first(name: "access-control-request-method") {
            h.add(name: "Access-Control-Allow-Methods", value: method)
        }
        h.add(name: "Access-Control-Max-Age", value: "172800")
        return KinesisResponse(status: .ok, headers: h, body: .bytes([]))
    }

    /// `x-amz-id-2`: base64 of 72 random bytes, as AWS sends it.
    static func extendedRequestId() -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 72)
        for i in stride(from: 0, to: 72, by: 8) {
            let r = rng.next()
            for j in 0..<8 { bytes[i + j] = UInt8(truncatingIfNeeded: r >> (j * 8)) }
        }
        return Base64.encode(Data(bytes))
    }

    /// The credential scope's region when it is shaped like one
    /// (``SigV4CredentialScope/isPlausibleRegion(_:)``); without verification anything else falls
    /// back to the default region rather than conjuring an engine region out of a typo.
    static func plausibleRegion(_ region: String) -> String? {
        SigV4CredentialScope.isPlausibleRegion(region) ? region : nil
    }

    static func xmlEscaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// Where a request's SigV4 credentials are: the `Authorization` header, or
/// the query string of a presigned request.
///
/// Without `--verify-sigv4` ktop is meant to accept any client, so it asks only
/// what AWS asks of every request before it looks at keys: that the credentials
/// are there and complete (``incompleteness()``). The credential scope's date,
/// region, service and terminator, which AWS always checks, are checked only
/// when verifying (``SigV4Verifier``): a test client signing for region `local`
/// or with a fixed date still gets answers, routed to the default region.
struct RequestCredentials {
    var authorization: String?
    var query: QueryParameters
    var hasDateHeader: Bool

    init(_ request: KinesisRequest) {
        authorization = request.headers.first(name: "authorization")
        query = QueryParameters(uri: request.uri)
        hasDateHeader = request.headers.contains(name: "x-amz-date") || request.headers.contains(name: "date")
    }

    /// AWS requires credentials that are present and complete even where it
    /// does not check them; so does ktop when verification is off.
    func incompleteness() -> KinesisError? {
        let queryAuth = query.contains("X-Amz-Algorithm")
        if authorization != nil && queryAuth {
            return KinesisError(
                .invalidSignature,
                "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
        }
        guard let authorization else {
            guard queryAuth else { return KinesisError(.missingAuthenticationToken, "Missing Authentication Token") }
            return query.incompleteSignatureMessage().map { KinesisError(.incompleteSignature, $0) }
        }
        return SigV4Authorization.incompleteMessage(authorization: authorization, hasDateHeader: hasDateHeader)
            .map { KinesisError(.incompleteSignature, $0) }
    }

    /// The scope the client signed with, read without verifying.
    var scope: SigV4CredentialScope? {
        authorization.flatMap(SigV4.credentialScope(authorization:))
            ?? query.value("X-Amz-Credential").flatMap(SigV4CredentialScope.init(credential:))
    }

    func verify(
        _ request: KinesisRequest, with verifier: SigV4Verifier, now: Date, service: String = "kinesis"
    ) throws(KinesisError) {
        guard authorization != nil else {
            // SDKs never presign Kinesis calls; ktop checks header signatures only.
            throw KinesisError(
                .invalidSignature,
                "ktop verifies the Authorization header only; query-string signatures are not supported.")
        }
        let pairs = request.headers.map { (name: $0.name, value: $0.value) }
        _ = try request.body.withUnsafeReadableBytes { raw in
            Result { () throws(KinesisError) in
                try verifier.verify(
                    method: request.method.rawValue, uri: request.uri, headers: pairs, body: raw, now: now,
                    service: service)
            }
        }.get()
    }
}

/// Another AWS JSON 1.1 service served beside Kinesis on the same port (Firehose): its target prefix,
/// SigV4 signing name, and a handler from operation name, request body and region to status and body.
public struct JSONService: Sendable {
    public var targetPrefix: String
    public var signingName: String
    public typealias Handler = @Sendable (_ operation: String, _ body: [UInt8], _ region: String) -> (
        status: Int, body: [UInt8]
    )
    public var handle: Handler
    public init(targetPrefix: String, signingName: String, handle: @escaping Handler) {
        self.targetPrefix = targetPrefix
        self.signingName = signingName
        self.handle = handle
    }
}

/// `X-Amz-Target: <service>.<operation>`.
struct TargetHeader {
    var service: String?
    var operationName: String?
    /// Set only for `Kinesis_20131202.<one of the 39 operations>`.
    var operation: KinesisOperation?

    init(_ header: String?) {
        guard let header, !header.isEmpty else { return }
        let parts = header.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        service = parts[0].isEmpty ? nil : String(parts[0])
        operationName = parts.count > 1 && !parts[1].isEmpty ? String(parts[1]) : nil
        if service == KinesisOperation.targetPrefix, let name = operationName {
            operation = KinesisOperation(rawValue: name)
        }
    }
}

/// The query string of a request URI, for detecting query-string (presigned) SigV4.
struct QueryParameters {
    private var pairs: [(String, String)] = []

    init(uri: String) {
        guard let q = uri.firstIndex(of: "?") else { return }
        for item in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(kv[0]).removingPercentEncoding ?? String(kv[0])
            let value = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
            pairs.append((key, value))
        }
    }

    func contains(_ key: String) -> Bool { pairs.contains { $0.0 == key } }
    func value(_ key: String) -> String? { pairs.first { $0.0 == key }.map(\.1) }

    /// Kinesalite's AWS-derived wording for incomplete presigned parameters.
    func incompleteSignatureMessage() -> String? {
        var message = ""
        for key in ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"]
        where (value(key) ?? "").isEmpty {
            message += "AWS query-string parameters must include '\(key)'. "
        }
        return message.isEmpty ? nil : message + "Re-examine the query-string parameters."
    }
}
