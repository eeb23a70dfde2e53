import Foundation
import StreamEngine

// AWS Signature Version 4 as Kinesis uses it (KINESIS.md §10): header-based
// `AWS4-HMAC-SHA256` signing of a POST with service name `kinesis`.

/// An AWS access key pair, optionally with the session token of temporary
/// credentials (sent as `X-Amz-Security-Token` and itself signed).
public struct AWSCredentials: Sendable, Hashable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

extension AWSCredentials {
    /// Reads a credentials list for ``KinesisServer/Configuration/verifySigV4``:
    /// one `ACCESS_KEY_ID:SECRET_ACCESS_KEY` per line (a third `:SESSION_TOKEN`
    /// field is allowed and ignored by the verifier); blank lines and lines
    /// starting with `#` are skipped.
    public static func list(parsing text: String) throws(CredentialsFormatError) -> [AWSCredentials] {
        var out: [AWSCredentials] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 2, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw CredentialsFormatError(line: number + 1)
            }
            out.append(
                AWSCredentials(
                    accessKeyId: fields[0], secretAccessKey: fields[1],
                    sessionToken: fields.count > 2 ? fields[2] : nil))
        }
        return out
    }
}

/// A credentials list line that is not `ACCESS_KEY_ID:SECRET_ACCESS_KEY`.
public struct CredentialsFormatError: Error, Sendable, CustomStringConvertible {
    /// 1-based.
    public var line: Int
    public var description: String { "line \(line): expected ACCESS_KEY_ID:SECRET_ACCESS_KEY" }
}

/// The credential scope of a SigV4 signature:
/// `<AccessKeyId>/<yyyymmdd>/<region>/<service>/aws4_request`.
///
/// The server reads the region from it to pick the engine's regional service,
/// as AWS routes a request by the region its signature is scoped to.
public struct SigV4CredentialScope: Sendable, Hashable {
    public var accessKeyId: String
    /// `yyyymmdd`.
    public var date: String
    public var region: String
    public var service: String
    public var terminator: String

    public init(
        accessKeyId: String, date: String, region: String, service: String = "kinesis",
        terminator: String = "aws4_request"
    ) {
        self.accessKeyId = accessKeyId
        self.date = date
        self.region = region
        self.service = service
        self.terminator = terminator
    }

    /// Parses a `Credential=` value. Access key ids never contain `/`, so the
    /// last four `/`-separated fields are the scope.
    public init?(credential: String) {
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, !parts[0].isEmpty else { return nil }
        self.init(accessKeyId: parts[0], date: parts[1], region: parts[2], service: parts[3], terminator: parts[4])
    }

    /// `<yyyymmdd>/<region>/<service>/aws4_request`, the scope line of the string to sign.
    public var scopeString: String { "\(date)/\(region)/\(service)/\(terminator)" }
    /// The full `Credential=` value.
    public var credential: String { "\(accessKeyId)/\(scopeString)" }

    /// Region names look like `us-east-1`, `us-gov-west-1`, `ap-southeast-5`: lowercase ASCII
    /// words and a number, joined by `-`. The server routes a request to the engine of the
    /// region its signature is scoped to, so anything else must neither conjure an engine
    /// region out of a typo nor (when verifying) pass as a valid scope.
    public static func isPlausibleRegion(_ region: String) -> Bool {
        let parts = region.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard region.utf8.count <= 32, parts.count >= 3, let last = parts.last, !last.isEmpty,
            last.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return false }
        let lowercase = UInt8(ascii: "a")...UInt8(ascii: "z")
        return parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy(lowercase.contains) }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
public struct SigV4Authorization: Sendable, Hashable {
    public static let algorithm = "AWS4-HMAC-SHA256"

    public var algorithm: String
    public var credential: String?
    public var signedHeaders: String?
    public var signature: String?

    /// Tokenises the way AWS's front end does as kinesalite observed it: the
    /// first space- or comma-separated token is the algorithm, the rest are
    /// `Name=value` pairs in any order.
    ///
    /// An empty value still counts as given: AWS answers `SignedHeaders=, Signature=`
    /// with "'Host' must be a 'SignedHeader' in the AWS Authorization.", not with
    /// IncompleteSignatureException (NetSPI/AWSSigner#3; dynalite's note "SignedHeaders
    /// *is* allowed to be an empty string at this point").
    public init(parsing header: String) {
        let tokens = header.split(whereSeparator: { $0 == "," || $0 == " " })
        algorithm = tokens.first.map(String.init) ?? ""
        var params: [Substring: Substring] = [:]
        for token in tokens.dropFirst() {
            let pieces = token.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false)
            guard pieces.count >= 2 else { continue }
            params[pieces[0]] = pieces[1]
        }
        credential = params["Credential"].map(String.init)
        signedHeaders = params["SignedHeaders"].map(String.init)
        signature = params["Signature"].map(String.init)
    }

    public var scope: SigV4CredentialScope? { credential.flatMap(SigV4CredentialScope.init(credential:)) }

    /// The IncompleteSignatureException message for a header missing parts
    /// (KINESIS.md §1.5), or nil when it has them all.
    public static func incompleteMessage(authorization header: String, hasDateHeader: Bool) -> String? {
        let parsed = SigV4Authorization(parsing: header)
        var message = ""
        if parsed.credential == nil { message += "Authorization header requires 'Credential' parameter. " }
        if parsed.signature == nil { message += "Authorization header requires 'Signature' parameter. " }
        if parsed.signedHeaders == nil { message += "Authorization header requires 'SignedHeaders' parameter. " }
        if !hasDateHeader {
            message += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        }
        return message.isEmpty ? nil : message + "Authorization=" + header
    }
}

/// The SigV4 algorithm's pure parts: canonical request, string to sign,
/// signing key. Shared by ``SigV4Signer`` and ``SigV4Verifier`` so the two can
/// never disagree.
public enum SigV4 {
    /// SHA-256 of the empty payload.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Headers botocore never signs (they may be changed by proxies).
    static let unsignableHeaders: Set<String> = [
        "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id", "authorization",
    ]

    /// Reads the credential scope from an `Authorization` header without
    /// verifying anything; nil if the header has no well-formed `Credential`.
    public static func credentialScope(authorization: String) -> SigV4CredentialScope? {
        SigV4Authorization(parsing: authorization).scope
    }

    /// The canonical request: method, canonical URI, canonical query, the
    /// signed headers' canonical lines, the signed-header list and the payload hash.
    public static func canonicalRequest(
        method: String, uri: String, headers: some Sequence<(name: String, value: String)>,
        signedHeaders: [String], payloadHash: String
    ) -> String {
        let (path, query) = splitURI(uri)
        var grouped: [String: [String]] = [:]
        let wanted = Set(signedHeaders)
        for (name, value) in headers {
            let lower = name.lowercased()
            if wanted.contains(lower) { grouped[lower, default: []].append(canonicalHeaderValue(value)) }
        }
        var lines = [method.uppercased(), canonicalURI(path), canonicalQuery(query)]
        for name in signedHeaders {
            lines.append("\(name):\(grouped[name]?.joined(separator: ",") ?? "")")
        }
        lines.append("")
        lines.append(signedHeaders.joined(separator: ";"))
        lines.append(payloadHash)
        return lines.joined(separator: "\n")
    }

    public static func stringToSign(amzDate: String, scope: SigV4CredentialScope, canonicalRequest: String) -> String {
        let hashed = SHA256.hash(Array(canonicalRequest.utf8)).hexString
        return "\(SigV4Authorization.algorithm)\n\(amzDate)\n\(scope.scopeString)\n\(hashed)"
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`.
    public static func signingKey(secret: String, scope: SigV4CredentialScope) -> [UInt8] {
        let kDate = HMACSHA256.authenticate(key: Array("AWS4\(secret)".utf8), message: scope.date)
        let kRegion = HMACSHA256.authenticate(key: kDate, message: scope.region)
        let kService = HMACSHA256.authenticate(key: kRegion, message: scope.service)
        return HMACSHA256.authenticate(key: kService, message: scope.terminator)
    }

    public static func signature(secret: String, scope: SigV4CredentialScope, stringToSign: String) -> String {
        HMACSHA256.authenticate(key: signingKey(secret: secret, scope: scope), message: stringToSign).hexString
    }

    // MARK: canonical pieces

    static func splitURI(_ uri: String) -> (path: Substring, query: Substring) {
        guard let q = uri.firstIndex(of: "?") else { return (uri[...], "") }
        return (uri[..<q], uri[uri.index(after: q)...])
    }

    /// Trims and collapses internal whitespace runs, as botocore's `' '.join(value.split())`.
    static func canonicalHeaderValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    /// The path with dot segments removed and URI-encoded once more (keeping
    /// `/` and `~`), as botocore does for every service but S3.
    static func canonicalURI(_ rawPath: Substring) -> String {
        var segments: [Substring] = []
        for segment in rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            switch segment {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(segment)
            }
        }
        var path = "/" + segments.joined(separator: "/")
        if rawPath.hasSuffix("/") && !path.hasSuffix("/") { path += "/" }
        return percentEncode(path, keeping: "/~")
    }

    /// Pairs sorted by name then value, each always with `=` (botocore's URL form).
    static func canonicalQuery(_ query: Substring) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&").map { pair -> (Substring, Substring) in
            guard let eq = pair.firstIndex(of: "=") else { return (pair, "") }
            return (pair[..<eq], pair[pair.index(after: eq)...])
        }
        return pairs.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map { "\($0.0)=\($0.1)" }.joined(
            separator: "&")
    }

    static func percentEncode(_ s: String, keeping extra: String) -> String {
        let keep = Set(extra.utf8)
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case _ where keep.contains(byte):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// Constant-time equality so a forger learns nothing from response timing.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        HMACSHA256.constantTimeEqual(a.utf8, b.utf8)
    }
}

/// Signs Kinesis requests for an HTTP client (the `ktop attach` path): adds
/// `X-Amz-Date`, `X-Amz-Security-Token` (temporary credentials) and
/// `Authorization`, signing every header botocore would sign.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String = "kinesis") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Returns `headers` plus the SigV4 headers. `headers` must already hold
    /// `Host` and every header that will be sent and should be signed.
    public func sign(
        method: String = "POST", uri: String = "/", headers: [(name: String, value: String)],
        body: some Sequence<UInt8>, date: Date
    ) -> [(name: String, value: String)] {
        let amzDate = AMZDate.format(date)
        var all = headers.filter {
            let n = $0.name.lowercased()
            return n != "x-amz-date" && n != "x-amz-security-token" && n != "authorization"
        }
        all.append((name: "X-Amz-Date", value: amzDate))
        if let token = credentials.sessionToken { all.append((name: "X-Amz-Security-Token", value: token)) }
        let signed = Set(all.map { $0.name.lowercased() }).subtracting(SigV4.unsignableHeaders).sorted()
        let scope = SigV4CredentialScope(
            accessKeyId: credentials.accessKeyId, date: String(amzDate.prefix(8)),
            region: region, service: service)
        let canonical = SigV4.canonicalRequest(
            method: method, uri: uri, headers: all, signedHeaders: signed,
            payloadHash: SHA256.hash(body).hexString)
        let signature = SigV4.signature(
            secret: credentials.secretAccessKey, scope: scope,
            stringToSign: SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        all.append(
            (
                name: "Authorization",
                value:
                    "\(SigV4Authorization.algorithm) Credential=\(scope.credential), "
                        + "SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature)"
            ))
        return all
    }
}

/// Verifies SigV4-signed requests as Kinesis does (KINESIS.md §10).
///
/// The checks run in the order AWS's Coral front end runs them, as dynalite
/// recorded it against live DynamoDB (same front end; mhart/dynalite `index.js`):
/// 1. the Authorization header is complete (IncompleteSignatureException);
/// 2. the date parses (IncompleteSignatureException) and is within 5 minutes of now;
/// 3. the headers that must be signed are in SignedHeaders (`host`, the date
///    header used, every `x-amz-*` header sent);
/// 4. the algorithm, then the Credential's shape (IncompleteSignatureException);
/// 5. the credential scope: region, service, terminator, date, all reported at once;
/// 6. the access key (UnrecognizedClientException);
/// 7. the signature, over the canonical request rebuilt from the received headers
///    and the hash of the received body.
///
/// Everything from step 2 on, except 4 and 6, is InvalidSignatureException, HTTP 400.
public struct SigV4Verifier: Sendable {
    /// Secrets by access key id.
    public var secrets: [String: String]
    /// Kinesis tolerates 5 minutes of clock skew either way.
    public var allowedSkewSeconds: Int64

    public init(credentials: [AWSCredentials], allowedSkewSeconds: Int64 = 300) {
        secrets = Dictionary(
            credentials.map { ($0.accessKeyId, $0.secretAccessKey) }, uniquingKeysWith: { _, last in last })
        self.allowedSkewSeconds = allowedSkewSeconds
    }

    static let mismatchMessage =
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
            + "Key and signing method. Consult the service documentation for details."

    /// Seen from AWS (aws/aws-sdk-php#2469; scratchstack-aws-signature's AWS-compatible messages);
    /// dynalite recorded the older "'Host' must be a 'SignedHeader' in the AWS Authorization.".
    static let hostNotSignedMessage = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."

    /// Checks the request and returns its credential scope, or throws the Kinesis error AWS would send.
    /// `now` is wall time: a simulated engine clock must not make signatures stale.
    @discardableResult
    public func verify(
        method: String, uri: String, headers: [(name: String, value: String)],
        body: UnsafeRawBufferPointer, now: Date, service: String = "kinesis"
    ) throws(KinesisError) -> SigV4CredentialScope {
        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name }?.value }

        guard let authorization = header("authorization") else {
            throw KinesisError(.missingAuthenticationToken, "Missing Authentication Token")
        }
        let amzDateHeader = header("x-amz-date")
        let dateHeader = header("date")
        if let message = SigV4Authorization.incompleteMessage(
            authorization: authorization,
            hasDateHeader: amzDateHeader != nil || dateHeader != nil)
        {
            throw KinesisError(.incompleteSignature, message)
        }
        let auth = SigV4Authorization(parsing: authorization)
        guard let credential = auth.credential, let signature = auth.signature, let signedList = auth.signedHeaders
        else { throw KinesisError(.incompleteSignature, "Authorization=\(authorization)") }  // ruled out just above

        let (requestTime, amzDate) = try Self.requestDate(amzDateHeader: amzDateHeader, dateHeader: dateHeader)
        try checkSkew(requestTime: requestTime, amzDate: amzDate, now: now)

        let signedHeaders = signedList.split(separator: ";").map { $0.lowercased() }
        try Self.requireSigned(
            signedHeaders, received: headers,
            dateHeaderName: amzDateHeader != nil ? "x-amz-date" : "date")

        guard auth.algorithm == SigV4Authorization.algorithm else {
            // Not captured from Kinesis; worded as other AWS JSON services word it.
            throw KinesisError(.incompleteSignature, "Unsupported AWS 'algorithm': '\(auth.algorithm)'")
        }
        guard let scope = SigV4CredentialScope(credential: credential) else {
            // dynalite's AWS capture: "… got 'a/b/c/d'".
            throw KinesisError(
                .incompleteSignature,
                "Credential must have exactly 5 slash-delimited elements, "
                    + "e.g. keyid/date/region/service/term, got '\(credential)'")
        }
        if let message = Self.scopeProblems(scope, amzDate: amzDate, service: service) {
            throw KinesisError(.invalidSignature, message)
        }
        guard let secret = secrets[scope.accessKeyId] else {
            throw KinesisError(.unrecognizedClient, "The security token included in the request is invalid.")
        }

        // The payload hash is always the received body's. Kinesis is not S3: it has no
        // XAmzContentSHA256Mismatch error and no UNSIGNED-PAYLOAD mode; an AWS JSON service
        // hashes the body it received into the canonical request, so a client whose
        // X-Amz-Content-Sha256 differs from that hash (a swapped body, a wrong hash,
        // UNSIGNED-PAYLOAD) ends in the ordinary signature mismatch. Refusing it outright
        // gives the same answer without relying on the HMAC to disagree.
        let payloadHash = SHA256.hash(body).hexString
        for claim in headers where claim.name.lowercased() == "x-amz-content-sha256" && claim.value != payloadHash {
            throw KinesisError(.invalidSignature, Self.mismatchMessage)
        }
        let canonical = SigV4.canonicalRequest(
            method: method, uri: uri, headers: headers,
            signedHeaders: signedHeaders, payloadHash: payloadHash)
        let stringToSign = SigV4.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical)
        let expected = SigV4.signature(secret: secret, scope: scope, stringToSign: stringToSign)
        guard SigV4.constantTimeEqual(expected, signature) else {
            throw KinesisError(.invalidSignature, Self.mismatchMessage)
        }
        return scope
    }

    /// The request time and its ISO-8601 basic form: `X-Amz-Date` wins over `Date`, as AWS documents
    /// ("Handling dates in Signature Version 4": AWS looks first for x-amz-date, then the date header).
    static func requestDate(amzDateHeader: String?, dateHeader: String?) throws(KinesisError) -> (Int64, String) {
        if let value = amzDateHeader {
            guard let t = AMZDate.parse(value) else { throw badDate(value) }
            return (t, value)
        }
        guard let value = dateHeader, let t = AMZDate.parseHTTPDate(value) else { throw badDate(dateHeader ?? "") }
        return (t, AMZDate.format(epochSeconds: t))
    }

    private static func badDate(_ value: String) -> KinesisError {
        KinesisError(
            .incompleteSignature,
            "Date must be in ISO-8601 'basic format'. Got '\(value)'. " + "See http://en.wikipedia.org/wiki/ISO_8601")
    }

    private func checkSkew(requestTime: Int64, amzDate: String, now: Date) throws(KinesisError) {
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        if requestTime < nowSeconds - allowedSkewSeconds {
            throw KinesisError(
                .invalidSignature,
                "Signature expired: \(amzDate) is now earlier than "
                    + "\(AMZDate.format(epochSeconds: nowSeconds - allowedSkewSeconds)) "
                        + "(\(AMZDate.format(epochSeconds: nowSeconds)) - 5 min.)"
            )
        }
        if requestTime > nowSeconds + allowedSkewSeconds {
            throw KinesisError(
                .invalidSignature,
                "Signature not yet current: \(amzDate) is still later than "
                    + "\(AMZDate.format(epochSeconds: nowSeconds + allowedSkewSeconds)) "
                        + "(\(AMZDate.format(epochSeconds: nowSeconds)) + 5 min.)"
            )
        }
    }

    /// The headers a signature must cover, so that a captured signature cannot be replayed
    /// with one of them changed (another `X-Amz-Target` turning a DescribeStreamSummary
    /// into a DeleteStream, another host, another date).
    ///
    /// AWS's rule ("Create a signed AWS API request", IAM User Guide,
    /// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
    /// the canonical headers must include the HTTP host header, and "any x-amz-* headers that you
    /// plan to include in your request must also be added", for example x-amz-security-token.
    /// The date header AWS reads the time from is signed with them (it is `x-amz-date`, or `date`
    /// when there is no x-amz-date). The host text is AWS's; for the other headers AWS's exact
    /// words were not found, so ktop says it the same way:
    /// "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.".
    static func requireSigned(
        _ signed: [String], received: [(name: String, value: String)],
        dateHeaderName: String
    ) throws(KinesisError) {
        let signedSet = Set(signed)
        guard signedSet.contains("host") else { throw KinesisError(.invalidSignature, hostNotSignedMessage) }
        if !signedSet.contains(dateHeaderName) { throw notSigned(dateHeaderName) }
        for (name, _) in received {
            let lower = name.lowercased()
            if lower.hasPrefix("x-amz-") && !signedSet.contains(lower) { throw notSigned(lower) }
        }
    }

    private static func notSigned(_ name: String) -> KinesisError {
        KinesisError(.invalidSignature, "'\(displayName(name))' must be a 'SignedHeader' in the AWS Authorization.")
    }

    /// `x-amz-security-token` → `X-Amz-Security-Token`, as AWS's messages spell header names
    /// ('X-Amz-Date', 'Host'), whatever case the client sent.
    static func displayName(_ lowercased: String) -> String {
        lowercased.split(separator: "-", omittingEmptySubsequences: false)
            .map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: "-")
    }

    /// Every way the credential scope is wrong, in AWS's words and order, or nil when it is right.
    ///
    /// AWS reports all of them in one message (dynalite's capture from DynamoDB, the same Coral
    /// front end; scratchstack-aws-signature reproduces the same concatenation). The wording is
    /// Kinesis's current one where it was seen, which no longer echoes the client's values:
    /// - date: `{"__type":"InvalidSignatureException","message":"Date in Credential scope does not
    ///   match YYYYMMDD from ISO-8601 version of date from HTTP. "}` from Kinesis ListStreams
    ///   (disneystreaming/smithy4s#387, 2022). Older front ends appended `: '<scope>' != '<date>',
    ///   from '<x-amz-date>'.` (dynalite 2013; Kinesis Video Streams, aws-samples/
    ///   amazon-kinesis-video-streams-producer-embedded-c#52).
    /// - region: "Credential should be scoped to a valid region. " (recent 400 InvalidSignatureException
    ///   answers of JSON services and STS; older front ends added `, not '<region>'`, e.g. SQS in
    ///   aws/aws-sdk-ruby#508, IAM in aws/aws-sdk-php#493; Kinesis's own text was not found).
    ///   A region is valid here when it is shaped like one
    ///   (``SigV4CredentialScope/isPlausibleRegion(_:)``): ktop runs one regional engine per
    ///   region the clients name.
    /// - service: "Credential should be scoped to correct service: 'kinesis'. " (Kinesis,
    ///   twitchscience/kinsumer#57; SageMaker's identical form, disneystreaming/smithy4s#1568).
    /// - terminator: "Credential should be scoped with a valid terminator: 'aws4_request', not 'x'. "
    ///   (dynalite's AWS capture; the only server text found).
    /// `service` is the signing name of the service the target names (`firehose` for Firehose_20150804).
    static func scopeProblems(_ scope: SigV4CredentialScope, amzDate: String, service: String = "kinesis") -> String? {
        var message = ""
        if !SigV4CredentialScope.isPlausibleRegion(scope.region) {
            message += "Credential should be scoped to a valid region. "
        }
        if scope.service != service {
            message += "Credential should be scoped to correct service: '\(service)'. "
        }
        if scope.terminator != "aws4_request" {
            message +=
                "Credential should be scoped with a valid terminator: 'aws4_request', "
                + "not '\(scope.terminator)'. "
        }
        if scope.date != String(amzDate.prefix(8)) {
            message += "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP. "
        }
        return message.isEmpty ? nil : message
    }
}

/// `yyyyMMdd'T'HHmmss'Z'` (ISO 8601 basic, UTC), the `X-Amz-Date` format.
enum AMZDate {
    static func format(_ date: Date) -> String {
        format(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    static func format(epochSeconds t: Int64) -> String {
        let c = CivilTime(secondsSinceEpoch: t)
        return String(c.year).leftPadded(to: 4) + String(c.month).leftPadded(to: 2) + String(c.day).leftPadded(to: 2)
            + "T"
            + String(c.hour).leftPadded(to: 2) + String(c.minute).leftPadded(to: 2) + String(c.second).leftPadded(to: 2)
            + "Z"
    }

    static func parse(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard let y = num(0..<4), let mo = num(4..<6), let d = num(6..<8),
            let h = num(9..<11), let mi = num(11..<13), let se = num(13..<15)
        else { return nil }
        return epoch(year: y, month: mo, day: d, hour: h, minute: mi, second: se)
    }

    /// RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the `Date` header SigV4 accepts instead of
    /// X-Amz-Date. Fields must have their fixed widths (2-digit day, 4-digit year, `HH:MM:SS`): the
    /// header is the client's, and an unbounded year would overflow the calendar arithmetic.
    static func parseHTTPDate(_ s: String) -> Int64? {
        let parts = s.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let d = digits(parts[1], count: 2),
            let y = digits(parts[3], count: 4)
        else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let m = months.firstIndex(of: String(parts[2])) else { return nil }
        let hms = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard hms.count == 3, let h = digits(hms[0], count: 2), let mi = digits(hms[1], count: 2),
            let se = digits(hms[2], count: 2)
        else { return nil }
        return epoch(year: y, month: m + 1, day: d, hour: h, minute: mi, second: se)
    }

    /// The value of exactly `count` ASCII digits, or nil.
    private static func digits(_ s: Substring, count: Int) -> Int? {
        guard s.utf8.count == count else { return nil }
        var v = 0
        for b in s.utf8 {
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int(b - UInt8(ascii: "0"))
        }
        return v
    }

    private static func epoch(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64? {
        CivilTime.secondsSinceEpoch(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
