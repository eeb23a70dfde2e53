import Foundation
@testable import KinesisAPI
import StreamEngine
import Testing

/// `KinesisHTTPClient` asks its credentials provider on every request, so renewed
/// temporary credentials reach the wire without a new client.
@Suite("KinesisHTTPClient credentials provider")
struct HTTPClientCredentialsTests {
    static let old = AWSCredentials(accessKeyId: "AKIDOLD", secretAccessKey: "old-secret", sessionToken: "T1")
    static let renewed = AWSCredentials(accessKeyId: "AKIDNEW", secretAccessKey: "new-secret", sessionToken: "T2")
    static let expiration = Date(timeIntervalSince1970: 2_000_000_000)

    @Test func renewedCredentialsSignTheNextRequest() async throws {
        var engineConfiguration = EngineConfiguration()
        engineConfiguration.delays = .immediate
        let engine = KinesisEngine(clock: ManualClock(), configuration: engineConfiguration)
        var configuration = KinesisServer.Configuration(host: "127.0.0.1", port: 0, verifySigV4: [Self.renewed],
                                                        threads: 1)
        configuration.shutdownGracePeriod = .milliseconds(200)
        let server = KinesisServer(engine: engine, configuration: configuration)
        let port = try await server.start()

        let now = LockedValue(Self.expiration - 3600)
        let provider = AWSCredentialsProvider(
            initial: AWSExpiringCredentials(credentials: Self.old, expiration: Self.expiration),
            source: { () throws(AWSCredentialError) in
                AWSExpiringCredentials(credentials: Self.renewed, expiration: nil)
            },
            now: { now.withLock { $0 } })
        let client = KinesisHTTPClient(endpoint: URL(string: "http://127.0.0.1:\(port)")!, region: "us-east-1",
                                       credentialsProvider: provider, timeout: .seconds(30))
        let first = try await Self.blocking { () -> KinesisErrorType? in
            do throws(KinesisError) {
                _ = try client.listStreams(ListStreamsInput())
                return nil
            } catch {
                return error.type
            }
        }
        // The server knows only the renewed key.
        #expect(first == .unrecognizedClient)
        now.withLock { $0 = Self.expiration - 60 }
        let second = try await Self.blocking { try client.listStreams(ListStreamsInput()).streamNames }
        #expect(second == [])
        try await server.shutdown()
    }

    @Test func providerThatCannotRenewFailsTheCallWithItsReason() throws {
        let provider = AWSCredentialsProvider(
            initial: AWSExpiringCredentials(credentials: Self.old, expiration: Self.expiration),
            source: { () throws(AWSCredentialError) -> AWSExpiringCredentials in
                throw AWSCredentialError(.process,
                                         "credential_process of profile 'x' (helper) failed with exit status 1")
            },
            now: { Self.expiration + 1 })
        // Nothing listens on port 9: the call must fail before any connection is tried.
        let client = KinesisHTTPClient(endpoint: URL(string: "http://127.0.0.1:9")!, region: "us-east-1",
                                       credentialsProvider: provider, timeout: .seconds(2))
        #expect(throws: KinesisError(.unrecognizedClient, "no usable AWS credentials: credential_process of profile "
                                     + "'x' (helper) failed with exit status 1")) {
            try client.listStreams(ListStreamsInput())
        }
    }

    private static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }
}
