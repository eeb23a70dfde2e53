import NIOCore
import StreamEngine

/// The server's per-connection pipeline, opened to the libFuzzer target in
/// `Fuzz/` (a separate package, so `package` access cannot reach it): it puts
/// on any channel, typically an `EmbeddedChannel`, exactly the handlers that
/// ``KinesisServer`` puts on an admitted connection, in front of `engine`.
/// Like a server, it keeps one request-body budget for all its connections.
///
/// Not API: it is spelled `@_spi(Fuzzing)` and may change with the fuzzer.
@_spi(Fuzzing)
public final class KinesisFuzzHarness {
    private let processor: KinesisRequestProcessor
    private let configuration: KinesisServer.Configuration
    private let budget: RequestBodyBudget
    private let budgetNotice: RateLimitedNotice

    /// `configuration` is read as ``KinesisServer`` reads it (body limit and budget,
    /// timeouts, account, default region, signature verification, subscription
    /// polling); its address, thread and connection-cap settings are ignored.
    public init(engine: KinesisEngine, configuration: KinesisServer.Configuration) {
        self.configuration = configuration
        processor = KinesisServer.processor(
            dispatcher: EngineDispatcher(engine: { engine }, account: configuration.account),
            defaultRegion: configuration.defaultRegion ?? engine.configuration.defaultRegion,
            configuration: configuration)
        budget = RequestBodyBudget(limit: configuration.connectionLimits.maxBufferedBodyBytes)
        budgetNotice = RateLimitedNotice(sink: configuration.notices)
    }

    /// Installs the connection pipeline. Call on the channel's event loop.
    public func configureConnection(_ channel: any Channel) throws {
        try KinesisServer.configureConnection(
            channel.pipeline.syncOperations, processor: processor, maxBodyBytes: configuration.maxRequestBodyBytes,
            polling: KinesisServer.polling(configuration), timeouts: configuration.connectionLimits.timeouts,
            bodyBudget: budget, budgetNotice: budgetNotice)
    }

    /// Request-body bytes held across this harness's connections (0 when none is receiving).
    public var bufferedBodyBytes: Int { budget.inUse }
}
