import Foundation
import StreamEngine

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A Kinesis Data Streams client over HTTP for any endpoint that speaks the
/// `awsJson1_1` protocol: real AWS (https), LocalStack, moto, kinesalite or
/// another ktop (KINESIS.md §1).
///
/// Every call is `POST /` with `Content-Type: application/x-amz-json-1.1` and
/// `X-Amz-Target: Kinesis_20131202.<Operation>`, signed with SigV4
/// (KINESIS.md §10). Replies are decoded into the engine's output shapes;
/// error replies become the ``StreamEngine/KinesisError`` Kinesis sent, with
/// `__type` sanitised as Smithy's JSON protocols require (§1.4). Transport
/// failures (refused connection, timeout, TLS) are `InternalFailureException`s
/// whose message starts with `cannot reach <endpoint>:`, so a caller that
/// retries server faults (LoadGen's producers) retries them too.
///
/// Methods are synchronous and have the same signatures as
/// ``StreamEngine/KinesisService``, so the load generator can drive a remote
/// endpoint exactly as it drives the embedded engine. They block the calling
/// thread for at most `timeout`; call them from ordinary threads, never from a
/// URLSession delegate queue.
///
/// The client does not retry: a throttled or failed call is thrown at once,
/// so the caller (LoadGen's producers, with their own backoff) sees and
/// counts every refusal, as ktop's screen must.
///
/// Built on Foundation's URLSession (FoundationNetworking on Linux, i.e.
/// libcurl): it brings TLS for real AWS endpoints without another dependency
/// and keeps connections alive between calls.
public final class KinesisHTTPClient: Sendable {
    public let endpoint: URL
    public let region: String
    public let timeout: Duration
    /// Asked for credentials on every request, so renewed ones are picked up.
    private let credentials: AWSCredentialsProvider
    private let path: String
    private let hostHeader: String
    /// Request/response calls.
    private let session: URLSession
    /// Long-lived SubscribeToShard streams, kept apart so that open
    /// subscriptions never use up the connections unary calls need.
    private let streamSession: URLSession
    private let streams: StreamRouter

    /// How long a SubscribeToShard response may run: Kinesis ends every
    /// subscription after 5 minutes, so a little more than that.
    static let subscriptionLifetime: TimeInterval = 330

    /// - Parameters:
    ///   - endpoint: `http://127.0.0.1:4567`, `https://kinesis.us-east-1.amazonaws.com`, …
    ///     A path in the URL is used as the request path (Kinesis itself uses `/`).
    ///   - region: the region of the SigV4 credential scope (which region's streams ktop
    ///     serves; which region AWS checks the signature against).
    ///   - timeout: the longest a call waits for its whole reply (and SubscribeToShard
    ///     for its initial response). The Java SDK's Kinesis default is 10 s.
    public convenience init(
        endpoint: URL, region: String, credentials: AWSCredentials,
        timeout: Duration = .seconds(10)
    ) {
        self.init(
            endpoint: endpoint, region: region, credentialsProvider: AWSCredentialsProvider(credentials),
            timeout: timeout)
    }

    /// A client that signs each request with what `credentialsProvider` hands out then
    /// (temporary credentials from a `credential_process` are renewed before they expire).
    /// A provider that cannot renew makes the call throw UnrecognizedClientException with
    /// the provider's reason, as AWS answers expired credentials.
    public init(
        endpoint: URL, region: String, credentialsProvider: AWSCredentialsProvider,
        timeout: Duration = .seconds(10)
    ) {
        self.endpoint = endpoint
        self.region = region
        self.timeout = timeout
        self.credentials = credentialsProvider
        let rawPath = endpoint.path
        self.path = rawPath.isEmpty ? "/" : rawPath
        self.hostHeader = Self.hostHeader(for: endpoint)

        // FoundationNetworking truncates timeouts to whole seconds (0.3 s would
        // be 0: fail at once), so URLSession gets a whole second more than
        // `timeout` and the caller's own deadline is what enforces it.
        let unary = Self.unaryConfiguration(timeout: timeout)
        unary.httpMaximumConnectionsPerHost = 16
        session = URLSession(configuration: unary)

        let router = StreamRouter()
        streams = router
        let streaming = URLSessionConfiguration.ephemeral
        streaming.timeoutIntervalForRequest = Self.subscriptionLifetime
        streaming.timeoutIntervalForResource = Self.subscriptionLifetime
        streaming.httpMaximumConnectionsPerHost = 1024
        streaming.requestCachePolicy = .reloadIgnoringLocalCacheData
        streaming.urlCache = nil
        streaming.httpCookieStorage = nil
        streamSession = URLSession(configuration: streaming, delegate: router, delegateQueue: nil)
    }

    deinit {
        session.invalidateAndCancel()
        streamSession.invalidateAndCancel()
    }

    /// An ephemeral, cacheless session for request/response calls (this client, CloudWatch's,
    /// the ktop endpoint's), its timeouts a whole second above `timeout` (see `init`).
    static func unaryConfiguration(timeout: Duration) -> URLSessionConfiguration {
        let seconds = (Double(timeout.nanoseconds) / 1e9).rounded(.up) + 1
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = seconds
        configuration.timeoutIntervalForResource = seconds
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        return configuration
    }

    // MARK: the generic call

    /// Calls any operation: encodes `input` with AWS member names, signs and
    /// sends it, and decodes the reply as `Output` (an empty body is
    /// ``StreamEngine/EmptyOutput``). SubscribeToShard goes through
    /// ``subscribeToShard(_:)`` instead.
    public func call<Input: Encodable, Output: Decodable>(
        _ operation: KinesisOperation, _ input: Input, as output: Output.Type = Output.self
    ) throws(KinesisError) -> Output {
        let body = try exchange(operation, requestBody(input))
        if Output.self == EmptyOutput.self, let empty = EmptyOutput() as? Output { return empty }
        do {
            return try KinesisJSON.decode(Output.self, from: body)
        } catch {
            throw KinesisError(
                .internalFailure,
                "cannot read the \(operation.rawValue) reply from \(endpoint.absoluteString): \(error.message)")
        }
    }

    /// Sends one signed request and returns the body of a 200 reply; anything
    /// else is thrown as the error it carries.
    func exchange(_ operation: KinesisOperation, _ body: [UInt8]) throws(KinesisError) -> [UInt8] {
        let request = try makeRequest(
            operation, body: body,
            timeout: (Double(timeout.nanoseconds) / 1e9).rounded(.up) + 1)
        let outcome = Outcome()
        let task = session.dataTask(with: request) { data, response, error in
            outcome.finish(data: data, response: response as? HTTPURLResponse, error: error)
        }
        task.resume()
        guard let result = outcome.wait(for: timeout) else {
            task.cancel()
            throw KinesisError(
                .internalFailure,
                "cannot reach \(endpoint.absoluteString): no \(operation.rawValue) reply within \(timeout)")
        }
        if let error = result.error {
            throw KinesisError(.internalFailure, "cannot reach \(endpoint.absoluteString): \(Self.describe(error))")
        }
        guard let response = result.response else {
            throw KinesisError(.internalFailure, "cannot reach \(endpoint.absoluteString): no HTTP response")
        }
        let bytes = result.data.map { [UInt8]($0) } ?? []
        guard response.statusCode == 200 else {
            throw KinesisErrorReply.error(
                status: response.statusCode,
                headerType: response.value(forHTTPHeaderField: "X-Amzn-Errortype"),
                body: bytes, endpoint: endpoint.absoluteString)
        }
        return bytes
    }

    func requestBody<Input: Encodable>(_ input: Input) throws(KinesisError) -> [UInt8] {
        let body = try KinesisJSON.encode(input)
        // An operation without input sends `{}` (KINESIS.md §1.1).
        return body.isEmpty ? Array("{}".utf8) : body
    }

    func makeRequest(
        _ operation: KinesisOperation, body: [UInt8],
        timeout: TimeInterval
    ) throws(KinesisError) -> URLRequest {
        let signer: SigV4Signer
        do throws(AWSCredentialError) {
            signer = SigV4Signer(credentials: try credentials.credentials(), region: region)
        } catch {
            throw KinesisError(.unrecognizedClient, "no usable AWS credentials: \(error.message)")
        }
        var request = URLRequest(url: endpoint, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "POST"
        let headers = signer.sign(
            method: "POST", uri: path,
            headers: [
                (name: "Host", value: hostHeader),
                (name: "Content-Type", value: KinesisJSON.contentType),
                (name: "X-Amz-Target", value: operation.target),
            ],
            body: body, date: Date())
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.setValue("ktop", forHTTPHeaderField: "User-Agent")
        request.httpBody = Data(body)
        return request
    }

    /// `Host` as the request will carry it: the port only when it is not the scheme's default
    /// (SigV4 signs this exact text).
    static func hostHeader(for url: URL) -> String {
        var host = url.host ?? "localhost"
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        let scheme = url.scheme?.lowercased() ?? "http"
        if let port = url.port, !(scheme == "http" && port == 80) && !(scheme == "https" && port == 443) {
            return "\(host):\(port)"
        }
        return host
    }

    static func describe(_ error: any Error) -> String {
        if let url = error as? URLError {
            switch url.code {
            case .timedOut: return "timed out"
            case .cannotConnectToHost: return "connection refused"
            case .cannotFindHost, .dnsLookupFailed: return "unknown host"
            case .networkConnectionLost: return "connection lost"
            case .cancelled: return "cancelled"
            default: return url.localizedDescription
            }
        }
        return "\(error)"
    }

    // MARK: SubscribeToShard

    /// Starts a SubscribeToShard and returns once the endpoint has accepted it
    /// (its `initial-response` frame, or a first event), or throws what it
    /// answered instead. Events are then read in the background as they arrive;
    /// see ``KinesisHTTPSubscription/nextEvent()``.
    public func subscribeToShard(_ input: SubscribeToShardInput) throws(KinesisError) -> KinesisHTTPSubscription {
        let request = try makeRequest(
            .subscribeToShard, body: try requestBody(input),
            timeout: Self.subscriptionLifetime)
        let state = SubscriptionState(endpoint: endpoint.absoluteString, timeout: timeout)
        let task = streamSession.dataTask(with: request)
        streams.register(state, for: task.taskIdentifier)
        state.task = task
        task.resume()
        do {
            try state.waitUntilAccepted()
        } catch {
            task.cancel()
            streams.remove(task.taskIdentifier)
            throw error
        }
        return KinesisHTTPSubscription(state: state, router: streams, taskIdentifier: task.taskIdentifier)
    }
}

// MARK: the typed operations (KinesisService's signatures)

extension KinesisHTTPClient {
    public func addTagsToStream(_ input: AddTagsToStreamInput) throws(KinesisError) -> EmptyOutput {
        try call(.addTagsToStream, input)
    }
    public func createStream(_ input: CreateStreamInput) throws(KinesisError) -> EmptyOutput {
        try call(.createStream, input)
    }
    public func decreaseStreamRetentionPeriod(_ input: StreamRetentionInput) throws(KinesisError) -> EmptyOutput {
        try call(.decreaseStreamRetentionPeriod, input)
    }
    public func deleteResourcePolicy(_ input: ResourceARNInput) throws(KinesisError) -> EmptyOutput {
        try call(.deleteResourcePolicy, input)
    }
    public func deleteStream(_ input: DeleteStreamInput) throws(KinesisError) -> EmptyOutput {
        try call(.deleteStream, input)
    }
    public func deregisterStreamConsumer(_ input: StreamConsumerInput) throws(KinesisError) -> EmptyOutput {
        try call(.deregisterStreamConsumer, input)
    }
    public func describeAccountSettings() throws(KinesisError) -> DescribeAccountSettingsOutput {
        try call(.describeAccountSettings, EmptyOutput())
    }
    public func describeLimits() throws(KinesisError) -> DescribeLimitsOutput {
        try call(.describeLimits, EmptyOutput())
    }
    public func describeStream(_ input: DescribeStreamInput) throws(KinesisError) -> DescribeStreamOutput {
        try call(.describeStream, input)
    }
    public func describeStreamConsumer(
        _ input: StreamConsumerInput
    ) throws(KinesisError) -> DescribeStreamConsumerOutput {
        try call(.describeStreamConsumer, input)
    }
    public func describeStreamSummary(_ input: StreamInput) throws(KinesisError) -> DescribeStreamSummaryOutput {
        try call(.describeStreamSummary, input)
    }
    public func disableEnhancedMonitoring(
        _ input: EnhancedMonitoringInput
    ) throws(KinesisError) -> EnhancedMonitoringOutput {
        try call(.disableEnhancedMonitoring, input)
    }
    public func enableEnhancedMonitoring(
        _ input: EnhancedMonitoringInput
    ) throws(KinesisError) -> EnhancedMonitoringOutput {
        try call(.enableEnhancedMonitoring, input)
    }
    public func getRecords(_ input: GetRecordsInput) throws(KinesisError) -> GetRecordsOutput {
        try call(.getRecords, input)
    }
    public func getResourcePolicy(_ input: ResourceARNInput) throws(KinesisError) -> GetResourcePolicyOutput {
        try call(.getResourcePolicy, input)
    }
    public func getShardIterator(_ input: GetShardIteratorInput) throws(KinesisError) -> GetShardIteratorOutput {
        try call(.getShardIterator, input)
    }
    public func increaseStreamRetentionPeriod(_ input: StreamRetentionInput) throws(KinesisError) -> EmptyOutput {
        try call(.increaseStreamRetentionPeriod, input)
    }
    public func listShards(_ input: ListShardsInput) throws(KinesisError) -> ListShardsOutput {
        try call(.listShards, input)
    }
    public func listStreamConsumers(_ input: ListStreamConsumersInput) throws(KinesisError) -> ListStreamConsumersOutput
    {
        try call(.listStreamConsumers, input)
    }
    public func listStreams(_ input: ListStreamsInput) throws(KinesisError) -> ListStreamsOutput {
        try call(.listStreams, input)
    }
    public func listTagsForResource(_ input: ResourceARNInput) throws(KinesisError) -> ListTagsForResourceOutput {
        try call(.listTagsForResource, input)
    }
    public func listTagsForStream(_ input: ListTagsForStreamInput) throws(KinesisError) -> ListTagsForStreamOutput {
        try call(.listTagsForStream, input)
    }
    public func mergeShards(_ input: MergeShardsInput) throws(KinesisError) -> EmptyOutput {
        try call(.mergeShards, input)
    }
    public func putRecord(_ input: PutRecordInput) throws(KinesisError) -> PutRecordOutput {
        try call(.putRecord, input)
    }
    public func putRecords(_ input: PutRecordsInput) throws(KinesisError) -> PutRecordsOutput {
        try call(.putRecords, input)
    }
    public func putResourcePolicy(_ input: PutResourcePolicyInput) throws(KinesisError) -> EmptyOutput {
        try call(.putResourcePolicy, input)
    }
    public func registerStreamConsumer(
        _ input: RegisterStreamConsumerInput
    ) throws(KinesisError) -> RegisterStreamConsumerOutput {
        try call(.registerStreamConsumer, input)
    }
    public func removeTagsFromStream(_ input: RemoveTagsFromStreamInput) throws(KinesisError) -> EmptyOutput {
        try call(.removeTagsFromStream, input)
    }
    public func splitShard(_ input: SplitShardInput) throws(KinesisError) -> EmptyOutput {
        try call(.splitShard, input)
    }
    public func startStreamEncryption(_ input: StreamEncryptionInput) throws(KinesisError) -> EmptyOutput {
        try call(.startStreamEncryption, input)
    }
    public func stopStreamEncryption(_ input: StreamEncryptionInput) throws(KinesisError) -> EmptyOutput {
        try call(.stopStreamEncryption, input)
    }
    public func tagResource(_ input: TagResourceInput) throws(KinesisError) -> EmptyOutput {
        try call(.tagResource, input)
    }
    public func untagResource(_ input: UntagResourceInput) throws(KinesisError) -> EmptyOutput {
        try call(.untagResource, input)
    }
    public func updateAccountSettings(
        _ input: UpdateAccountSettingsInput
    ) throws(KinesisError) -> UpdateAccountSettingsOutput {
        try call(.updateAccountSettings, input)
    }
    public func updateMaxRecordSize(_ input: UpdateMaxRecordSizeInput) throws(KinesisError) -> EmptyOutput {
        try call(.updateMaxRecordSize, input)
    }
    public func updateShardCount(_ input: UpdateShardCountInput) throws(KinesisError) -> UpdateShardCountOutput {
        try call(.updateShardCount, input)
    }
    public func updateStreamMode(_ input: UpdateStreamModeInput) throws(KinesisError) -> EmptyOutput {
        try call(.updateStreamMode, input)
    }
    public func updateStreamWarmThroughput(
        _ input: UpdateStreamWarmThroughputInput
    ) throws(KinesisError) -> UpdateStreamWarmThroughputOutput {
        try call(.updateStreamWarmThroughput, input)
    }
}

// MARK: one blocking exchange

/// The reply of one data task, handed from URLSession's queue to the waiting caller
/// (shared with ``KtopEndpointClient``).
// @unchecked: `result` is only read and written while holding the NSCondition.
final class Outcome: @unchecked Sendable {
    struct Result {
        var data: Data?
        var response: HTTPURLResponse?
        var error: (any Error)?
    }
    private let condition = NSCondition()
    private var result: Result?

    func finish(data: Data?, response: HTTPURLResponse?, error: (any Error)?) {
        condition.lock()
        defer { condition.unlock() }
        if result == nil { result = Result(data: data, response: response, error: error) }
        condition.broadcast()
    }

    /// nil when nothing came within `duration`.
    func wait(for duration: Duration) -> Result? {
        let deadline = Date(timeIntervalSinceNow: Double(duration.nanoseconds) / 1e9)
        condition.lock()
        defer { condition.unlock() }
        while result == nil {
            if !condition.wait(until: deadline) { break }
        }
        return result
    }
}
