import Foundation
@testable import KinesisAPI
import StreamEngine
import Testing

/// The boto3 capture of KINESIS.md §10 / §1.9.
private enum Captured {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let body = Array(#"{"StreamName": "s", "Data": "aGVsbG8=", "PartitionKey": "pk", "ExplicitHashKey": "5"}"#.utf8)
    static let signature = "a6c8f4512850883188afe28debf310f76ff2b31890768d8f8226270a532735a1"
    static let authorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=\(signature)"
    /// 2026-11-22T20:35:17Z.
    static let signedAt = Date(timeIntervalSince1970: 1_795_379_717)
    /// What botocore holds when it signs (Accept-Encoding and the amz-sdk-* headers are added later).
    static let unsignedHeaders: [(name: String, value: String)] = [
        ("Host", "127.0.0.1:35699"), ("X-Amz-Target", "Kinesis_20131202.PutRecord"),
        ("Content-Type", "application/x-amz-json-1.1"), ("User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11"),
    ]
    /// As received, in boto3's order.
    static var headers: [(name: String, value: String)] {
        [("Host", "127.0.0.1:35699"), ("Accept-Encoding", "identity"), ("X-Amz-Target", "Kinesis_20131202.PutRecord"),
         ("Content-Type", "application/x-amz-json-1.1"), ("User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11"),
         ("X-Amz-Date", "20261122T203517Z"), ("X-Amz-Security-Token", "TOKEN123"), ("Authorization", authorization),
         ("amz-sdk-invocation-id", "6f1c0b0e-0000-4000-8000-000000000000"), ("amz-sdk-request", "attempt=1"),
         ("Content-Length", "\(body.count)")]
    }
    static let verifier = SigV4Verifier(credentials: [AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: secret)])
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
        #expect(canonical == """
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
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: Captured.secret,
                                                             sessionToken: "TOKEN123"),
                                 region: "us-east-1")
        let signed = signer.sign(headers: Captured.unsignedHeaders, body: Captured.body, date: Captured.signedAt)
        let authorization = signed.first { $0.name == "Authorization" }?.value
        #expect(authorization == Captured.authorization)
        #expect(signed.contains { $0.name == "X-Amz-Security-Token" && $0.value == "TOKEN123" })
    }

    @Test func verifierAcceptsTheCapturedRequest() throws {
        let scope = try Captured.body.withUnsafeBytes { body in
            try Captured.verifier.verify(method: "POST", uri: "/", headers: Captured.headers, body: body,
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
                try Captured.verifier.verify(method: "POST", uri: "/", headers: Captured.headers, body: body, now: Captured.signedAt)
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
                try Captured.verifier.verify(method: "POST", uri: "/", headers: headers, body: body, now: Captured.signedAt)
            }
        }
        #expect(error?.type == .invalidSignature)
    }

    @Test func unknownAccessKeyIsUnrecognizedClient() {
        let verifier = SigV4Verifier(credentials: [AWSCredentials(accessKeyId: "AKIDOTHER", secretAccessKey: Captured.secret)])
        let error = #expect(throws: KinesisError.self) {
            try Captured.body.withUnsafeBytes { body in
                try verifier.verify(method: "POST", uri: "/", headers: Captured.headers, body: body, now: Captured.signedAt)
            }
        }
        #expect(error == KinesisError(.unrecognizedClient, "The security token included in the request is invalid."))
    }

    @Test func wrongSecretIsInvalidSignature() {
        let verifier = SigV4Verifier(credentials: [AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-the-secret")])
        let error = #expect(throws: KinesisError.self) {
            try Captured.body.withUnsafeBytes { body in
                try verifier.verify(method: "POST", uri: "/", headers: Captured.headers, body: body, now: Captured.signedAt)
            }
        }
        #expect(error?.type == .invalidSignature)
    }

    @Test func staleAndFutureDatesUseKinesisWording() {
        let expired = #expect(throws: KinesisError.self) {
            try Captured.body.withUnsafeBytes { body in
                try Captured.verifier.verify(method: "POST", uri: "/", headers: Captured.headers, body: body,
                                             now: Captured.signedAt + 301)
            }
        }
        #expect(expired == KinesisError(.invalidSignature,
            "Signature expired: 20261122T203517Z is now earlier than 20261122T203518Z (20261122T204018Z - 5 min.)"))

        let early = #expect(throws: KinesisError.self) {
            try Captured.body.withUnsafeBytes { body in
                try Captured.verifier.verify(method: "POST", uri: "/", headers: Captured.headers, body: body,
                                             now: Captured.signedAt - 301)
            }
        }
        #expect(early == KinesisError(.invalidSignature,
            "Signature not yet current: 20261122T203517Z is still later than 20261122T203516Z (20261122T203016Z + 5 min.)"))
    }

    @Test func incompleteAuthorizationMessages() {
        // Kinesalite's AWS-derived connection tests (KINESIS.md §1.5).
        #expect(SigV4Authorization.incompleteMessage(authorization: "X", hasDateHeader: false) ==
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=X")
        #expect(SigV4Authorization.incompleteMessage(authorization: "AWS4- Signature=b, Credential=a", hasDateHeader: true) ==
            "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b, Credential=a")
        #expect(SigV4Authorization.incompleteMessage(authorization: Captured.authorization, hasDateHeader: true) == nil)
    }

    @Test func credentialScopeIsReadWithoutVerifying() {
        let scope = SigV4.credentialScope(authorization: Captured.authorization.replacingOccurrences(of: "us-east-1", with: "eu-west-2"))
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

@Suite("Credentials lists for --verify-sigv4")
struct CredentialsListTests {
    @Test func parsesLinesCommentsAndTokens() throws {
        let list = try AWSCredentials.list(parsing: """
            # ktop credentials
            AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY

            AKIDTEMP:secret:TOKEN
            """)
        #expect(list == [AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                         AWSCredentials(accessKeyId: "AKIDTEMP", secretAccessKey: "secret", sessionToken: "TOKEN")])
    }

    @Test func rejectsMalformedLines() {
        #expect(throws: CredentialsFormatError.self) { try AWSCredentials.list(parsing: "AKID:ok\nonly-a-key\n") }
    }
}
