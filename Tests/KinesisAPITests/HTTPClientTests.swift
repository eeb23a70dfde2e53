import Foundation
import StreamEngine
import Testing

@testable import KinesisAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `KinesisServer` on a free loopback port in front of an engine on a
/// `ManualClock`, and a `KinesisHTTPClient` pointed at it. Time moves only when
/// the test moves it, so quotas do not refill behind the test's back.
private final class Loopback: @unchecked Sendable {
    static let credentials = AWSCredentials(accessKeyId: "AKIDKTOP", secretAccessKey: "s3cr3t/KEY")

    let clock = ManualClock()
    let engine: KinesisEngine
    let server: KinesisServer
    let port: Int

    init(verify: [AWSCredentials]? = nil) async throws {
        var configuration = EngineConfiguration()
        configuration.delays = .immediate
        engine = KinesisEngine(clock: clock, configuration: configuration)
        var serverConfiguration = KinesisServer.Configuration(
            host: "127.0.0.1", port: 0, verifySigV4: verify, threads: 1)
        serverConfiguration.subscriptionPollWhenIdle = .milliseconds(20)
        serverConfiguration.subscriptionPollAfterRecords = .milliseconds(5)
        serverConfiguration.shutdownGracePeriod = .milliseconds(200)
        server = KinesisServer(engine: engine, configuration: serverConfiguration)
        port = try await server.start()
    }

    var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }

    func client(
        credentials: AWSCredentials = Loopback.credentials, timeout: Duration = .seconds(5)
    ) -> KinesisHTTPClient {
        KinesisHTTPClient(endpoint: endpoint, region: "us-east-1", credentials: credentials, timeout: timeout)
    }

    func stop() async throws { try await server.shutdown() }
}

/// Runs blocking client calls off the cooperative pool.
private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

private func expectKinesisError(
    _ type: KinesisErrorType, _ message: String? = nil,
    _ body: () throws(KinesisError) -> Void, sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        try body()
        Issue.record("expected \(type.rawValue)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.type == type, sourceLocation: sourceLocation)
        if let message { #expect(error.message == message, sourceLocation: sourceLocation) }
    }
}

@Suite("KinesisHTTPClient against a loopback KinesisServer")
struct HTTPClientTests {
    @Test func createPutGetListRoundTrip() async throws {
        let loop = try await Loopback()
        let client = loop.client()
        try await blocking {
            let created = try client.createStream(CreateStreamInput(streamName: "rt", shardCount: 2))
            #expect(created == EmptyOutput())
            let summary = try client.describeStreamSummary(StreamInput(streamName: "rt")).streamDescriptionSummary
            #expect(summary.streamName == "rt")
            #expect(summary.streamStatus == .active)
            #expect(summary.openShardCount == 2)

            let put = try client.putRecord(
                PutRecordInput(
                    streamName: "rt", data: Data("hello".utf8), partitionKey: "pk",
                    explicitHashKey: "5"))
            #expect(put.shardId == "shardId-000000000000")
            let batch = try client.putRecords(
                PutRecordsInput(
                    records: (0..<3).map {
                        PutRecordsRequestEntry(
                            data: Data([UInt8($0), 0, 255]), explicitHashKey: "7", partitionKey: "k\($0)")
                    },
                    streamName: "rt"))
            #expect(batch.failedRecordCount == 0)
            #expect(batch.records.count == 3)

            let shards = try client.listShards(ListShardsInput(streamName: "rt")).shards
            #expect(shards.map(\.shardId) == ["shardId-000000000000", "shardId-000000000001"])
            #expect(shards[0].hashKeyRange.startingHashKey == "0")

            let iterator = try client.getShardIterator(
                GetShardIteratorInput(
                    streamName: "rt", shardId: "shardId-000000000000", shardIteratorType: .trimHorizon)
            ).shardIterator
            let got = try client.getRecords(GetRecordsInput(shardIterator: iterator))
            #expect(got.records.map(\.data) == [Data("hello".utf8)] + (0..<3).map { Data([UInt8($0), 0, 255]) })
            #expect(got.records.map(\.partitionKey) == ["pk", "k0", "k1", "k2"])
            #expect(got.records.first?.sequenceNumber == put.sequenceNumber)
            #expect(got.nextShardIterator != nil)

            // Input-less operations send {} and decode their outputs.
            #expect(try client.describeLimits().shardLimit > 0)
            #expect(try client.listStreams(ListStreamsInput()).streamNames == ["rt"])
            // The generic entry point reaches the same operations.
            let described: DescribeStreamOutput = try client.call(
                .describeStream, DescribeStreamInput(streamName: "rt"))
            #expect(described.streamDescription.shards.count == 2)
        }
        try await loop.stop()
    }

    @Test func errorRepliesBecomeTheKinesisErrorSent() async throws {
        let loop = try await Loopback()
        let client = loop.client()
        try await blocking {
            expectKinesisError(.resourceNotFound, "Stream nope under account 123456789012 not found.") {
                () throws(KinesisError) in
                _ = try client.describeStreamSummary(StreamInput(streamName: "nope"))
            }
            _ = try client.createStream(CreateStreamInput(streamName: "dup", shardCount: 1))
            expectKinesisError(.resourceInUse, "Stream dup under account 123456789012 already exists.") {
                () throws(KinesisError) in
                _ = try client.createStream(CreateStreamInput(streamName: "dup", shardCount: 1))
            }
            expectKinesisError(.invalidArgument) { () throws(KinesisError) in
                _ = try client.getRecords(GetRecordsInput(shardIterator: "not-an-iterator"))
            }
        }
        try await loop.stop()
    }

    @Test func writeThrottlingIsProvisionedThroughputExceeded() async throws {
        let loop = try await Loopback()
        let client = loop.client()
        try await blocking {
            _ = try client.createStream(CreateStreamInput(streamName: "hot", shardCount: 1))
            // data + key = exactly 1 MiB: the shard's whole second of write quota (the clock stands still).
            _ = try client.putRecord(
                PutRecordInput(streamName: "hot", data: Data(count: 1_048_576 - 2), partitionKey: "pk"))
            expectKinesisError(
                .provisionedThroughputExceeded,
                "Rate exceeded for shard shardId-000000000000 in stream hot under account 123456789012."
            ) { () throws(KinesisError) in
                _ = try client.putRecord(PutRecordInput(streamName: "hot", data: Data("x".utf8), partitionKey: "k"))
            }
            let batch = try client.putRecords(
                PutRecordsInput(
                    records: [PutRecordsRequestEntry(data: Data("x".utf8), partitionKey: "k")],
                    streamName: "hot"))
            #expect(batch.failedRecordCount == 1)
            #expect(batch.records.first?.errorCode == "ProvisionedThroughputExceededException")
        }
        try await loop.stop()
    }

    @Test func signaturesAreAcceptedByAVerifyingServerAndRefusedWithTheWrongSecret() async throws {
        let loop = try await Loopback(verify: [Loopback.credentials])
        let good = loop.client()
        let wrongSecret = loop.client(
            credentials: AWSCredentials(accessKeyId: Loopback.credentials.accessKeyId, secretAccessKey: "wrong"))
        let unknownKey = loop.client(credentials: AWSCredentials(accessKeyId: "AKIDNOBODY", secretAccessKey: "x"))
        let withToken = KinesisHTTPClient(
            endpoint: loop.endpoint, region: "us-east-1",
            credentials: AWSCredentials(
                accessKeyId: Loopback.credentials.accessKeyId,
                secretAccessKey: Loopback.credentials.secretAccessKey, sessionToken: "TOKEN123"))
        try await blocking {
            _ = try good.createStream(CreateStreamInput(streamName: "signed", shardCount: 1))
            #expect(try good.listStreams(ListStreamsInput()).streamNames == ["signed"])
            _ = try good.putRecord(PutRecordInput(streamName: "signed", data: Data(count: 4096), partitionKey: "pk"))
            #expect(try withToken.listStreams(ListStreamsInput()).streamNames == ["signed"])
            expectKinesisError(.invalidSignature) { () throws(KinesisError) in
                _ = try wrongSecret.listStreams(ListStreamsInput())
            }
            expectKinesisError(.unrecognizedClient, "The security token included in the request is invalid.") {
                () throws(KinesisError) in
                _ = try unknownKey.listStreams(ListStreamsInput())
            }
        }
        try await loop.stop()
    }

    @Test func subscribeReadsRecordsAsTheyArrive() async throws {
        let loop = try await Loopback()
        let client = loop.client()
        try await blocking {
            _ = try client.createStream(CreateStreamInput(streamName: "efo", shardCount: 1))
            let arn = try client.describeStreamSummary(StreamInput(streamName: "efo")).streamDescriptionSummary
                .streamARN
            let consumer = try client.registerStreamConsumer(
                RegisterStreamConsumerInput(streamARN: arn, consumerName: "c")
            ).consumer
            #expect(
                try client.describeStreamConsumer(StreamConsumerInput(consumerARN: consumer.consumerARN))
                    .consumerDescription.consumerStatus == .active)
            _ = try client.putRecord(PutRecordInput(streamName: "efo", data: Data("one".utf8), partitionKey: "a"))

            let subscription = try client.subscribeToShard(
                SubscribeToShardInput(
                    consumerARN: consumer.consumerARN, shardId: "shardId-000000000000",
                    startingPosition: StartingPosition(type: .trimHorizon)))
            var seen: [Data] = []
            var continuation: String?
            // Bounded: the server sends an event every 20 ms; 2 s is ample.
            let deadline = Date(timeIntervalSinceNow: 2)
            var putSecond = false
            while seen.count < 2 && Date() < deadline {
                let event = try #require(try subscription.nextEvent())
                seen += event.records.map(\.data)
                #expect(event.continuationSequenceNumber != nil)
                continuation = event.continuationSequenceNumber ?? continuation
                if seen.count == 1 && !putSecond {
                    putSecond = true
                    _ = try client.putRecord(
                        PutRecordInput(streamName: "efo", data: Data("two".utf8), partitionKey: "b"))
                }
            }
            #expect(seen == [Data("one".utf8), Data("two".utf8)])
            // With nothing new, an event with no records and the last continuation comes back at once.
            let idle = try #require(try subscription.nextEvent())
            #expect(idle.records.isEmpty)
            #expect(idle.continuationSequenceNumber != nil)
            subscription.cancel()
            #expect(try subscription.nextEvent() == nil)
        }
        try await loop.stop()
    }

    @Test func subscribeErrorsAreThrown() async throws {
        let loop = try await Loopback()
        let client = loop.client()
        try await blocking {
            _ = try client.createStream(CreateStreamInput(streamName: "efo", shardCount: 1))
            expectKinesisError(.resourceNotFound) { () throws(KinesisError) in
                _ = try client.subscribeToShard(
                    SubscribeToShardInput(
                        consumerARN: "arn:aws:kinesis:us-east-1:123456789012:stream/efo/consumer/none:1",
                        shardId: "shardId-000000000000",
                        startingPosition: StartingPosition(type: .latest)))
            }
        }
        try await loop.stop()
    }

    @Test func aTakeoverEndsTheOldSubscriptionWithItsExceptionAndLifetimeEndsWithNil() async throws {
        let loop = try await Loopback()
        let client = loop.client()
        try await blocking {
            _ = try client.createStream(CreateStreamInput(streamName: "efo", shardCount: 1))
            let arn = try client.describeStreamSummary(StreamInput(streamName: "efo")).streamDescriptionSummary
                .streamARN
            let consumer = try client.registerStreamConsumer(
                RegisterStreamConsumerInput(streamARN: arn, consumerName: "c")
            ).consumer
            let input = SubscribeToShardInput(
                consumerARN: consumer.consumerARN, shardId: "shardId-000000000000",
                startingPosition: StartingPosition(type: .latest))
            let first = try client.subscribeToShard(input)
            #expect(try first.nextEvent()?.records == [])
            // Within 5 s a second subscription is refused; 5 s later it takes over.
            loop.clock.advance(by: .seconds(1))
            expectKinesisError(.resourceInUse) { () throws(KinesisError) in _ = try client.subscribeToShard(input) }
            loop.clock.advance(by: .seconds(5))
            let second = try client.subscribeToShard(input)
            var thrown: KinesisError?
            let deadline = Date(timeIntervalSinceNow: 3)
            while thrown == nil && Date() < deadline {
                do throws(KinesisError) {
                    guard try first.nextEvent() != nil else { break }
                } catch { thrown = error }
            }
            #expect(thrown?.type == .resourceInUse)
            #expect(
                thrown?.message
                    == "Subscription for consumer \(consumer.consumerARN) and shard shardId-000000000000 was replaced "
                        + "by a newer subscription."
            )
            #expect(try first.nextEvent() == nil)

            // Kinesis ends a subscription after 5 minutes: the stream ends, nextEvent says nil.
            loop.clock.advance(by: .seconds(301))
            var ended = false
            let lifetime = Date(timeIntervalSinceNow: 3)
            while !ended && Date() < lifetime {
                ended = try second.nextEvent() == nil
            }
            #expect(ended)
        }
        try await loop.stop()
    }

    @Test func aSilentServerTimesOutInsteadOfHanging() async throws {
        // A socket that listens but never answers: the kernel completes the handshake, nobody replies.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let endpoint = URL(string: "http://127.0.0.1:\(port)")!
        let client = KinesisHTTPClient(
            endpoint: endpoint, region: "us-east-1", credentials: Loopback.credentials, timeout: .milliseconds(300))
        try await blocking {
            let started = Date()
            expectKinesisError(
                .internalFailure, "cannot reach \(endpoint.absoluteString): no ListStreams reply within 0.3 seconds"
            ) {
                () throws(KinesisError) in _ = try client.listStreams(ListStreamsInput())
            }
            expectKinesisError(.internalFailure) { () throws(KinesisError) in
                _ = try client.subscribeToShard(
                    SubscribeToShardInput(
                        consumerARN: "arn", shardId: "shardId-000000000000",
                        startingPosition: StartingPosition(type: .latest)))
            }
            #expect(Date().timeIntervalSince(started) < 3)
        }
    }

    @Test func aClosedPortIsACleanInternalFailure() async throws {
        // A socket bound but never listening: connecting to it is refused, and while it stays bound no
        // other test (they run in parallel) can be given its port.
        let reserved = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(reserved >= 0)
        defer { close(reserved) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(reserved, $0, length) == 0 && getsockname(reserved, $0, &length) == 0
            }
        }
        #expect(bound)
        let endpoint = URL(string: "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))")!
        // The timeout is far above a refusal's few milliseconds: under CI's load (tests run in parallel
        // on two cores) a 3 s one once expired before the refusal was read.
        let client = KinesisHTTPClient(
            endpoint: endpoint, region: "us-east-1", credentials: Loopback.credentials, timeout: .seconds(15))
        try await blocking {
            let started = Date()
            expectKinesisError(.internalFailure, "cannot reach \(endpoint.absoluteString): connection refused") {
                () throws(KinesisError) in
                _ = try client.listStreams(ListStreamsInput())
            }
            do throws(KinesisError) {
                _ = try client.subscribeToShard(
                    SubscribeToShardInput(
                        consumerARN: "arn", shardId: "shardId-000000000000",
                        startingPosition: StartingPosition(type: .latest)))
                Issue.record("subscribe to a closed port succeeded")
            } catch {
                #expect(error.type == .internalFailure)
                #expect(error.message.hasPrefix("cannot reach \(endpoint.absoluteString)"))
            }
            // Refused, not timed out: both calls return before one timeout.
            #expect(Date().timeIntervalSince(started) < 15)
        }
    }
}

@Suite("Kinesis error replies as the SDKs read them")
struct ErrorReplyTests {
    @Test func typeIsSanitisedAndMessageReadEitherWay() {
        let e = KinesisErrorReply.error(
            status: 400, headerType: nil,
            body: Array(
                (#"{"__type":"com.amazon.coral.validate#ValidationException:http://internal.amazon.com/x","#
                    + #""Message":"bad"}"#).utf8),
            endpoint: "http://x")
        #expect(e == KinesisError(.validation, "bad"))
        let header = KinesisErrorReply.error(
            status: 400, headerType: "ResourceNotFoundException:http://internal.amazon.com/",
            body: Array(#"{"message":"gone"}"#.utf8), endpoint: "http://x")
        #expect(header == KinesisError(.resourceNotFound, "gone"))
        #expect(
            KinesisErrorReply.sanitize("aws.protocoltests.restjson#FooError:http://internal.amazon.com/") == "FooError")
    }

    @Test func unknownAndGenericTypesFallBackKeepingTheirName() {
        let unknown = KinesisErrorReply.error(
            status: 400, headerType: nil,
            body: Array(#"{"__type":"WeirdException","message":"odd"}"#.utf8), endpoint: "e")
        #expect(unknown == KinesisError(.invalidArgument, "WeirdException: odd"))
        let unknownFault = KinesisErrorReply.error(
            status: 503, headerType: nil,
            body: Array(#"{"__type":"Meltdown","message":"hot"}"#.utf8), endpoint: "e")
        #expect(unknownFault == KinesisError(.internalFailure, "Meltdown: hot"))
        let throttle = KinesisErrorReply.error(
            status: 400, headerType: nil,
            body: Array(#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.utf8), endpoint: "e")
        #expect(throttle == KinesisError(.limitExceeded, "ThrottlingException: Rate exceeded"))
        #expect(
            KinesisErrorReply.error(
                status: 500, headerType: nil, body: Array(#"{"__type":"InternalFailure"}"#.utf8), endpoint: "e"
            ).type
                == .internalFailure)
        let html = KinesisErrorReply.error(
            status: 502, headerType: nil, body: Array("<html>Bad Gateway</html>".utf8), endpoint: "http://p")
        #expect(html == KinesisError(.internalFailure, "HTTP 502 from http://p: <html>Bad Gateway</html>"))
        #expect(
            KinesisErrorReply.error(status: 403, headerType: nil, body: [], endpoint: "http://p").type == .accessDenied)
    }

    @Test func eventStreamExceptionFrames() {
        let frame = KinesisEventStream.exception(KinesisError(.resourceInUse, "taken over"))
        #expect(KinesisErrorReply.error(streamMessage: frame) == KinesisError(.resourceInUse, "taken over"))
        let error = EventStreamMessage(
            headers: [
                EventStreamHeader(":message-type", .string("error")),
                EventStreamHeader(":error-code", .string("InternalFailure")),
                EventStreamHeader(":error-message", .string("boom")),
            ], payload: [])
        #expect(KinesisErrorReply.error(streamMessage: error) == KinesisError(.internalFailure, "boom"))
    }

    @Test func hostHeaderKeepsOnlyNonDefaultPorts() {
        #expect(KinesisHTTPClient.hostHeader(for: URL(string: "http://127.0.0.1:4567")!) == "127.0.0.1:4567")
        #expect(
            KinesisHTTPClient.hostHeader(for: URL(string: "https://kinesis.us-east-1.amazonaws.com")!)
                == "kinesis.us-east-1.amazonaws.com")
        #expect(KinesisHTTPClient.hostHeader(for: URL(string: "https://h:443")!) == "h")
        #expect(KinesisHTTPClient.hostHeader(for: URL(string: "http://h:80/")!) == "h")
    }
}
