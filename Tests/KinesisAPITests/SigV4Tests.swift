import Foundation
import StreamEngine
import Testing

@testable import KinesisAPI

/// The boto3 capture of KINESIS.md §10 / §1.9.
private enum Captured {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let body = Array(
        #"{"StreamName": "s", "Data": "aGVsbG8=", "PartitionKey": "pk", "ExplicitHashKey": "5"}"#.utf8)
    static let signature = "a6c8f4512850883188afe28debf310f76ff2b31890768d8f8226270a532735a1"
    static let authorization =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/kinesis/aws4_request, "
            + "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=\(signature)"
    /// 2026-11-22T20:35:17Z.
    static let signedAt = Date(timeIntervalSince1970: 1_795_379_717)
    /// What botocore holds when it signs (Accept-Encoding and the amz-sdk-* headers are added later).
    static let unsignedHeaders: [(name: String, value: String)] = [
        ("Host", "127.0.0.1:35699"), ("X-Amz-Target", "Kinesis_20131202.PutRecord"),
        ("Content-Type", "application/x-amz-json-1.1"), ("User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11"),
    ]
    /// As received, in boto3's order.
    static var headers: [(name: String, value: String)] {
        [
            ("Host", "127.0.0.1:35699"), ("Accept-Encoding", "identity"),
            ("X-Amz-Target", "Kinesis_20131202.PutRecord"),
            ("Content-Type", "application/x-amz-json-1.1"), ("User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11"),
            ("X-Amz-Date", "20261122T203517Z"), ("X-Amz-Security-Token", "TOKEN123"), ("Authorization", authorization),
            ("amz-sdk-invocation-id", "6f1c0b0e-0000-4000-8000-000000000000"), ("amz-sdk-request", "attempt=1"),
            ("Content-Length", "\(body.count)"),
        ]
    }
    static let verifier = SigV4Verifier(credentials: [
        AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: secret)
    ])
}

@Suite("SigV4 signing and verification (KINESIS.md §10)")
struct SigV4Tests {
    @Test func capturedDateIsWhatTheHeaderSays() {
        #expect(AMZDate.format(Captured.signedAt) == "20261122T203517Z")
        #expect(AMZDate.parse("20261122T203517Z") == 1_795_379_717)
        #expect(AMZDate.parseHTTPDate("Sun, 22 Nov 2026 20:35:17 GMT") == 1_795_379_717)
        #expect(AMZDate.parse("2026-11-22T20:35:17Z") == nil)
    }

    @Test func canonicalRequestMatchesTheVerifiedExample() {
        let canonical = SigV4.canonicalRequest(
            method: "POST", uri: "/", headers: Captured.headers,
            signedHeaders: ["content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"],
            payloadHash: SHA256.hash(Captured.body).hexString)
        #expect(
            canonical == """
                POST
                /

                content-type:application/x-amz-json-1.1
                host:127.0.0.1:35699
                x-amz-date:20261122T203517Z
                x-amz-security-token:TOKEN123
                x-amz-target:Kinesis_20131202.PutRecord

                content-type;host;x-amz-date;x-amz-security-token;x-amz-target
                155b94bf8e9178a124aeb62b075697e3e2041ade4d1b42b34d9dd7b61f9edd1d
                """)
    }

    @Test func signerReproducesBoto3() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyId: "AKIDEXAMPLE", secretAccessKey: Captured.secret,
                sessionToken: "TOKEN123"),
            region: "us-east-1")
        let signed = signer.sign(headers: Captured.unsignedHeaders, body: Captured.body, date: Captured.signedAt)
        let authorization = signed.first { $0.name == "Authorization" }?.value
        #expect(authorization == Captured.authorization)
        #expect(signed.contains { $0.name == "X-Amz-Security-Token" && $0.value == "TOKEN123" })
    }

    @Test func verifierAcceptsTheCapturedRequest() throws {
        let scope = try Captured.body.withUnsafeBytes { body in
            try Captured.verifier.verify(
                method: "POST", uri: "/", headers: Captured.headers, body: body,
                now: Captured.signedAt + 299)
        }
        #expect(scope.region == "us-east-1")
        #expect(scope.accessKeyId == "AKIDEXAMPLE")
    }

    @Test func tamperedBodyIsRejected() {
        var body = Captured.body
        body[body.count - 3] = UInt8(ascii: "6")  // ExplicitHashKey "5" → "6"
        let error = #expect(throws: KinesisError.self) {
            try body.withUnsafeBytes { body in
                try Captured.verifier.verify(
                    method: "POST", uri: "/", headers: Captured.headers, body: body, now: Captured.signedAt)
            }
        }
        #expect(error?.type == .invalidSignature)
        #expect(error?.message == SigV4Verifier.mismatchMessage)
    }

    @Test func tamperedSignedHeaderIsRejected() {
        var headers = Captured.headers
        headers[2] = ("X-Amz-Target", "Kinesis_20131202.DeleteStream")
        let error = #expect(throws: KinesisError.self) {
            try Captured.body.withUnsafeBytes { body in
                try Captured.verifier.verify(
                    method: "POST", uri: "/", headers: headers, body: body, now: Captured.signedAt)
            }
        }
        #expect(error?.type == .invalidSignature)
    }

    @Test func unknownAccessKeyIsUnrecognizedClient() {
        let verifier = SigV4Verifier(credentials: [
            AWSCredentials(accessKeyId: "AKIDOTHER", secretAccessKey: Captured.secret)
        ])
        let error = #expect(throws: KinesisError.self) {
            try Captured.body.withUnsafeBytes { body in
                try verifier.verify(
                    method: "POST", uri: "/", headers: Captured.headers, body: body, now: Captured.signedAt)
            }
        }
        #expect(error == KinesisError(.unrecognizedClient, "The security token included in the request is invalid."))
    }

    @Test func wrongSecretIsInvalidSignature() {
        let verifier = SigV4Verifier(credentials: [
            AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-the-secret")
        ])
        let error = #expect(throws: KinesisError.self) {
            try Captured.body.withUnsafeBytes { body in
                try verifier.verify(
                    method: "POST", uri: "/", headers: Captured.headers, body: body, now: Captured.signedAt)
            }
        }
        #expect(error?.type == .invalidSignature)
    }

    @Test func staleAndFutureDatesUseKinesisWording() {
        let expired = #expect(throws: KinesisError.self) {
            try Captured.body.withUnsafeBytes { body in
                try Captured.verifier.verify(
                    method: "POST", uri: "/", headers: Captured.headers, body: body,
                    now: Captured.signedAt + 301)
            }
        }
        #expect(
            expired
                == KinesisError(
                    .invalidSignature,
                    "Signature expired: 20261122T203517Z is now earlier than 20261122T203518Z (20261122T204018Z - 5 "
                        + "min.)"
                ))

        let early = #expect(throws: KinesisError.self) {
            try Captured.body.withUnsafeBytes { body in
                try Captured.verifier.verify(
                    method: "POST", uri: "/", headers: Captured.headers, body: body,
                    now: Captured.signedAt - 301)
            }
        }
        #expect(
            early
                == KinesisError(
                    .invalidSignature,
                    "Signature not yet current: 20261122T203517Z is still later than 20261122T203516Z "
                        + "(20261122T203016Z + 5 min.)"
                ))
    }

    @Test func incompleteAuthorizationMessages() {
        // Kinesalite's AWS-derived connection tests (KINESIS.md §1.5).
        #expect(
            SigV4Authorization.incompleteMessage(authorization: "X", hasDateHeader: false)
                == "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
                    + "parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header "
                        + "requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=X"
        )
        #expect(
            SigV4Authorization.incompleteMessage(authorization: "AWS4- Signature=b, Credential=a", hasDateHeader: true)
                == "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b, "
                    + "Credential=a"
        )
        #expect(SigV4Authorization.incompleteMessage(authorization: Captured.authorization, hasDateHeader: true) == nil)
        // Empty values are given values: AWS goes on to the signed-headers check.
        #expect(
            SigV4Authorization.incompleteMessage(
                authorization: "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
                hasDateHeader: true) == nil)
    }

    @Test func credentialScopeIsReadWithoutVerifying() {
        let scope = SigV4.credentialScope(
            authorization: Captured.authorization.replacingOccurrences(of: "us-east-1", with: "eu-west-2"))
        #expect(scope?.region == "eu-west-2")
        #expect(scope?.accessKeyId == "AKIDEXAMPLE")
        #expect(SigV4.credentialScope(authorization: "AWS4-HMAC-SHA256 Credential=x, Signature=y") == nil)
    }

    @Test func canonicalURIAndQueryFollowBotocore() {
        #expect(SigV4.canonicalURI("/") == "/")
        #expect(SigV4.canonicalURI("/a/./b/../c d") == "/a/c%20d")
        #expect(SigV4.canonicalURI("/%41") == "/%2541")
        #expect(SigV4.canonicalQuery("b=2&a=1&a=0&c") == "a=0&a=1&b=2&c=")
    }
}

/// A request signed by hand, so a test can choose what is signed and how the scope reads.
private struct HandSigned {
    static let secret = Captured.secret
    /// 2026-11-30T12:00:00Z.
    static let now = Date(timeIntervalSince1970: 1_796_040_000)
    static let amzDate = "20261130T120000Z"
    static let describe = #"{"StreamName":"s"}"#

    var headers: [(name: String, value: String)]
    var body: [UInt8]

    /// `extra` is added before signing; `signed` defaults to every header present but Content-Length;
    /// `payloadHash` is what the client claims to have hashed (botocore uses X-Amz-Content-Sha256's value).
    init(
        target: String = "Kinesis_20131202.DescribeStreamSummary", body: String = describe,
        extra: [(name: String, value: String)] = [], dateHeader: (name: String, value: String)? = nil,
        signed: [String]? = nil, scopeDate: String = "20261130", region: String = "us-east-1",
        service: String = "kinesis", terminator: String = "aws4_request", payloadHash: String? = nil,
        accessKeyId: String = "AKIDEXAMPLE"
    ) {
        self.body = Array(body.utf8)
        var headers: [(name: String, value: String)] = [
            ("Host", "127.0.0.1:4567"), ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", target),
        ]
        headers.append(dateHeader ?? ("X-Amz-Date", Self.amzDate))
        headers += extra
        let list = signed ?? Set(headers.map { $0.name.lowercased() }).sorted()
        let scope = SigV4CredentialScope(
            accessKeyId: accessKeyId, date: scopeDate, region: region, service: service,
            terminator: terminator)
        let canonical = SigV4.canonicalRequest(
            method: "POST", uri: "/", headers: headers, signedHeaders: list,
            payloadHash: payloadHash ?? SHA256.hash(self.body).hexString)
        let signature = SigV4.signature(
            secret: Self.secret, scope: scope,
            stringToSign: SigV4.stringToSign(
                amzDate: Self.amzDate, scope: scope,
                canonicalRequest: canonical))
        headers.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(scope.credential), "
                    + "SignedHeaders=\(list.joined(separator: ";")), Signature=\(signature)"
            ))
        headers.append(("Content-Length", "\(self.body.count)"))
        self.headers = headers
    }

    func replacing(_ name: String, with value: String) -> HandSigned {
        var copy = self
        copy.headers = headers.map { $0.name.lowercased() == name.lowercased() ? ($0.name, value) : $0 }
        return copy
    }

    func withBody(_ text: String) -> HandSigned {
        var copy = self
        copy.body = Array(text.utf8)
        return copy
    }

    @discardableResult
    func verify(now: Date = HandSigned.now) throws(KinesisError) -> SigV4CredentialScope {
        try body.withUnsafeBytes { raw in
            Result { () throws(KinesisError) in
                try Captured.verifier.verify(method: "POST", uri: "/", headers: headers, body: raw, now: now)
            }
        }.get()
    }

    /// The refusal, or nil when the request passes.
    var refusal: KinesisError? {
        do {
            try verify()
            return nil
        } catch { return error }
    }
}

private func signedHeaderMessage(_ name: String) -> String {
    "'\(name)' must be a 'SignedHeader' in the AWS Authorization."
}

@Suite("SigV4: the payload hash is the received body's")
struct SigV4PayloadTests {
    @Test func aSignedMatchingContentSHA256Passes() throws {
        let hash = SHA256.hash(Array(HandSigned.describe.utf8)).hexString
        #expect(HandSigned(extra: [("X-Amz-Content-Sha256", hash)]).refusal == nil)
    }

    @Test func aSwappedBodyWithTheOriginalHashHeaderIsRefused() {
        let hash = SHA256.hash(Array(HandSigned.describe.utf8)).hexString
        let original = HandSigned(extra: [("X-Amz-Content-Sha256", hash)])
        let swapped = original.withBody(#"{"StreamName":"t"}"#)
        #expect(swapped.refusal == KinesisError(.invalidSignature, SigV4Verifier.mismatchMessage))
    }

    @Test(arguments: [
        String(repeating: "0", count: 64), "UNSIGNED-PAYLOAD",
        SHA256.hash(Array(HandSigned.describe.utf8)).hexString.uppercased(), "",
    ])
    func aClaimedHashOtherThanTheBodysIsRefused(claimed: String) {
        // The client signed over its claim, as botocore does when the header is set.
        let request = HandSigned(extra: [("X-Amz-Content-Sha256", claimed)], payloadHash: claimed)
        #expect(request.refusal == KinesisError(.invalidSignature, SigV4Verifier.mismatchMessage))
    }

    @Test func everyCopyOfTheHashHeaderMustMatch() {
        let hash = SHA256.hash(Array(HandSigned.describe.utf8)).hexString
        let request = HandSigned(extra: [("X-Amz-Content-Sha256", hash), ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")])
        #expect(request.refusal == KinesisError(.invalidSignature, SigV4Verifier.mismatchMessage))
    }
}

@Suite("SigV4: headers that must be signed")
struct SigV4SignedHeadersTests {
    @Test func hostMustBeSigned() {
        let request = HandSigned(signed: ["content-type", "x-amz-date", "x-amz-target"])
        #expect(request.refusal == KinesisError(.invalidSignature, SigV4Verifier.hostNotSignedMessage))
    }

    @Test func emptySignedHeadersLackHost() {
        let request = HandSigned(signed: [""])
        #expect(request.refusal == KinesisError(.invalidSignature, SigV4Verifier.hostNotSignedMessage))
        let semicolons = HandSigned(signed: [";;"])
        #expect(semicolons.refusal == KinesisError(.invalidSignature, SigV4Verifier.hostNotSignedMessage))
    }

    @Test func anEmptyCredentialHasNotFiveElements() {
        let request = HandSigned().replacing(
            "Authorization",
            with: "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host;x-amz-date;x-amz-target, Signature=")
        #expect(
            request.refusal
                == KinesisError(
                    .incompleteSignature,
                    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
                        + "got ''"
                ))
    }

    @Test func anEmptySignatureIsAMismatch() {
        let request = HandSigned().replacing(
            "Authorization",
            with:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/kinesis/aws4_request, "
                    + "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="
        )
        #expect(request.refusal == KinesisError(.invalidSignature, SigV4Verifier.mismatchMessage))
    }

    @Test func xAmzDateMustBeSigned() {
        let request = HandSigned(signed: ["content-type", "host", "x-amz-target"])
        #expect(request.refusal == KinesisError(.invalidSignature, signedHeaderMessage("X-Amz-Date")))
    }

    @Test func aDateHeaderUsedInsteadMustBeSigned() {
        let date = (name: "Date", value: "Mon, 30 Nov 2026 12:00:00 GMT")
        #expect(HandSigned(dateHeader: date).refusal == nil)
        let unsigned = HandSigned(dateHeader: date, signed: ["content-type", "host", "x-amz-target"])
        #expect(unsigned.refusal == KinesisError(.invalidSignature, signedHeaderMessage("Date")))
    }

    @Test func anUnsignedTargetCannotBeReplayedAsAnotherOperation() {
        let captured = HandSigned(signed: ["content-type", "host", "x-amz-date"])
        let replay = captured.replacing("X-Amz-Target", with: "Kinesis_20131202.DeleteStream")
        #expect(captured.refusal == KinesisError(.invalidSignature, signedHeaderMessage("X-Amz-Target")))
        #expect(replay.refusal == KinesisError(.invalidSignature, signedHeaderMessage("X-Amz-Target")))
    }

    @Test(arguments: ["X-Amz-Security-Token", "x-amz-content-sha256", "X-AMZ-FOO"])
    func everyXAmzHeaderSentMustBeSigned(name: String) {
        let request = HandSigned(extra: [(name, "v")], signed: ["content-type", "host", "x-amz-date", "x-amz-target"])
        #expect(
            request.refusal
                == KinesisError(.invalidSignature, signedHeaderMessage(SigV4Verifier.displayName(name.lowercased()))))
    }

    @Test func displayNamesAreSpelledAsAWSSpellsThem() {
        #expect(SigV4Verifier.displayName("x-amz-security-token") == "X-Amz-Security-Token")
        #expect(SigV4Verifier.displayName("date") == "Date")
        #expect(SigV4Verifier.displayName("x-amz--") == "X-Amz--")
    }

    @Test func aSignedSecurityTokenPasses() {
        #expect(HandSigned(extra: [("X-Amz-Security-Token", "TOKEN")]).refusal == nil)
    }

    @Test func xAmznHeadersAreNotXAmzHeaders() {
        // botocore never signs X-Amzn-Trace-Id (KINESIS.md §10).
        let request = HandSigned(
            extra: [("X-Amzn-Trace-Id", "Root=1")],
            signed: ["content-type", "host", "x-amz-date", "x-amz-target"])
        #expect(request.refusal == nil)
    }
}

@Suite("SigV4: the credential scope")
struct SigV4ScopeTests {
    static let dateMessage =
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP. "
    static let regionMessage = "Credential should be scoped to a valid region. "
    static let serviceMessage = "Credential should be scoped to correct service: 'kinesis'. "

    @Test func scopeDateMustBeTheRequestDate() {
        #expect(HandSigned(scopeDate: "20200101").refusal == KinesisError(.invalidSignature, Self.dateMessage))
        // One day off either way, and the date header's own day, at the edges of the day.
        #expect(HandSigned(scopeDate: "20261129").refusal == KinesisError(.invalidSignature, Self.dateMessage))
        #expect(HandSigned(scopeDate: "20261201").refusal == KinesisError(.invalidSignature, Self.dateMessage))
        #expect(HandSigned(scopeDate: "2026113").refusal == KinesisError(.invalidSignature, Self.dateMessage))
    }

    @Test(arguments: [
        "nowhere", "", "US-EAST-1", "us-east-", "us-east-1a", "us--1", "ü-east-1",
        String(repeating: "a-", count: 20) + "1",
    ])
    func scopeRegionMustBeARegion(region: String) {
        #expect(HandSigned(region: region).refusal == KinesisError(.invalidSignature, Self.regionMessage))
    }

    @Test(arguments: ["eu-west-1", "us-gov-west-1", "ap-southeast-5"])
    func anyRegionShapedRegionPasses(region: String) throws {
        #expect(try HandSigned(region: region).verify().region == region)
    }

    @Test func scopeServiceMustBeKinesis() {
        #expect(HandSigned(service: "s3").refusal == KinesisError(.invalidSignature, Self.serviceMessage))
        #expect(HandSigned(service: "Kinesis").refusal == KinesisError(.invalidSignature, Self.serviceMessage))
    }

    @Test func scopeTerminatorMustBeAws4Request() {
        #expect(
            HandSigned(terminator: "xyz").refusal
                == KinesisError(
                    .invalidSignature,
                    "Credential should be scoped with a valid terminator: 'aws4_request', not 'xyz'. "))
    }

    @Test func everyScopeProblemIsReportedAtOnceInAWSOrder() {
        let request = HandSigned(scopeDate: "20200101", region: "nowhere", service: "s3", terminator: "xyz")
        #expect(
            request.refusal
                == KinesisError(
                    .invalidSignature,
                    Self.regionMessage + Self.serviceMessage
                        + "Credential should be scoped with a valid terminator: 'aws4_request', not 'xyz'. "
                        + Self.dateMessage))
    }

    @Test func scopeIsCheckedBeforeTheAccessKey() {
        let request = HandSigned(region: "nowhere", accessKeyId: "AKIDUNKNOWN")
        #expect(request.refusal == KinesisError(.invalidSignature, Self.regionMessage))
        #expect(HandSigned(accessKeyId: "AKIDUNKNOWN").refusal?.type == .unrecognizedClient)
    }

    @Test func aCredentialWithoutFiveElementsIsIncomplete() {
        let request = HandSigned().replacing(
            "Authorization",
            with:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/kinesis, "
                    + "SignedHeaders=host;x-amz-date;x-amz-target, Signature=00"
        )
        #expect(
            request.refusal
                == KinesisError(
                    .incompleteSignature,
                    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
                        + "got 'AKIDEXAMPLE/20261130/us-east-1/kinesis'"
                ))
    }

    @Test func aDateHeaderScopeUsesItsISODay() {
        let date = (name: "Date", value: "Mon, 30 Nov 2026 12:00:00 GMT")
        #expect(
            HandSigned(dateHeader: date, scopeDate: "20261129").refusal
                == KinesisError(.invalidSignature, Self.dateMessage))
    }
}

@Suite("SigV4: hostile input never traps")
struct SigV4HostileInputTests {
    @Test(arguments: [
        "20261330T120000Z", "20261100T120000Z", "20261130T250000Z", "20261130T126000Z",
        "999991130T120000Z", "2026113OT120000Z", "20261130T120000z", "２０２61130T120000Z", "", "Z",
    ])
    func malformedAmzDatesAreIncomplete(value: String) {
        let request = HandSigned().replacing("X-Amz-Date", with: value)
        #expect(
            request.refusal
                == KinesisError(
                    .incompleteSignature,
                    "Date must be in ISO-8601 'basic format'. Got '\(value)'. See http://en.wikipedia.org/wiki/ISO_8601"
                ))
    }

    @Test(arguments: [
        "Mon, 30 Nov 9223372036854775807 12:00:00 GMT", "Mon, 30 Nov -9223372036854775808 12:00:00 GMT",
        "Mon, 30 Nov 99999 12:00:00 GMT", "Mon, 30 Nov +026 12:00:00 GMT", "Mon, 99 Nov 2026 12:00:00 GMT",
        "Mon, 30 Nov 2026 9223372036854775807:00:00 GMT", "Mon, 30 Nov 2026 12:00 GMT",
        "Mon, 30 Nov 2026 12:00:00:00 GMT", "Mon, 3 Nov 2026 12:00:00 GMT", "Mon, 30 Foo 2026 12:00:00 GMT",
    ])
    func malformedDateHeadersAreIncomplete(value: String) {
        let request = HandSigned(dateHeader: ("Date", value))
        #expect(request.refusal?.type == .incompleteSignature)
        #expect(AMZDate.parseHTTPDate(value) == nil)
    }

    @Test func farFutureAndPastDatesAreOutsideTheWindow() {
        #expect(
            HandSigned().replacing("X-Amz-Date", with: "99991231T235959Z").refusal?.message
                .hasPrefix("Signature not yet current: 99991231T235959Z") == true)
        #expect(
            HandSigned().replacing("X-Amz-Date", with: "00000101T000000Z").refusal?.message
                .hasPrefix("Signature expired: 00000101T000000Z") == true)
    }

    @Test func nonASCIIEverywhereIsRefusedNotTrapped() {
        let request = HandSigned(extra: [("X-Amz-Ünïcödé", "välue ☃")], region: "ü-east-1")
        #expect(request.refusal?.type == .invalidSignature)
        let authorization = HandSigned().replacing(
            "Authorization",
            with:
                "AWS4-HMAC-SHA256 Credential=ÄKID/20261130/us-east-1/kinesis/aws4_request, "
                    + "SignedHeaders=höst;host;x-amz-date;x-amz-target, Signature=☃"
        )
        #expect(authorization.refusal?.type == .unrecognizedClient)
    }

    @Test func hugeHeadersAreRefusedNotTrapped() {
        let many = (0..<20_000).map { "h\($0)" }.joined(separator: ";")
        let request = HandSigned().replacing(
            "Authorization",
            with:
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/kinesis/aws4_request, "
                    + "SignedHeaders=host;x-amz-date;x-amz-target;\(many), "
                        + "Signature=\(String(repeating: "f", count: 100_000))"
        )
        #expect(request.refusal == KinesisError(.invalidSignature, SigV4Verifier.mismatchMessage))
    }

    @Test func duplicateHeadersAreAllSigned() {
        var request = HandSigned()
        request.headers.insert(("X-Amz-Target", "Kinesis_20131202.DeleteStream"), at: 3)
        #expect(request.refusal == KinesisError(.invalidSignature, SigV4Verifier.mismatchMessage))
        var dates = HandSigned()
        dates.headers.insert(("X-Amz-Date", "20200101T000000Z"), at: 0)
        #expect(dates.refusal?.type == .invalidSignature)
    }

    @Test func signatureComparisonIsExactAndLengthSensitive() {
        #expect(SigV4.constantTimeEqual("abc", "abc"))
        #expect(!SigV4.constantTimeEqual("abc", "abd"))
        #expect(!SigV4.constantTimeEqual("abc", "abcd"))
        #expect(!SigV4.constantTimeEqual("abc", "ab"))
        #expect(!SigV4.constantTimeEqual("", "a"))
        #expect(SigV4.constantTimeEqual("", ""))
    }
}

@Suite("SigV4 in the front door, verification off")
struct SigV4PermissiveTests {
    @Test func scopeIsNotCheckedWithoutVerification() throws {
        let h = try ServerHarness()
        let auth = "AWS4-HMAC-SHA256 Credential=ANY/20200101/nowhere/s3/xyz, SignedHeaders=x-amz-date, Signature=00"
        let r = try h.send(target: "Kinesis_20131202.ListStreams", body: "{}", authorization: auth)
        #expect(r.status == 200)
    }

    @Test func incompleteCredentialsAreStillRefused() throws {
        let h = try ServerHarness()
        let r = try h.send(
            target: "Kinesis_20131202.ListStreams", body: "{}",
            authorization: "AWS4-HMAC-SHA256 Credential=ANY/20200101/nowhere/s3/xyz, Signature=00")
        #expect(r.json["__type"] as? String == "IncompleteSignatureException")
    }
}

@Suite("Credentials lists for --verify-sigv4")
struct CredentialsListTests {
    @Test func parsesLinesCommentsAndTokens() throws {
        let list = try AWSCredentials.list(
            parsing: """
                # ktop credentials
                AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY

                AKIDTEMP:secret:TOKEN
                """)
        #expect(
            list == [
                AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                AWSCredentials(accessKeyId: "AKIDTEMP", secretAccessKey: "secret", sessionToken: "TOKEN"),
            ])
    }

    @Test func rejectsMalformedLines() {
        #expect(throws: CredentialsFormatError.self) { try AWSCredentials.list(parsing: "AKID:ok\nonly-a-key\n") }
    }
}
