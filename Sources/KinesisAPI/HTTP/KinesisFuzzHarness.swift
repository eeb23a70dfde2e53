import NIOCore
import StreamEngine

/// The server's per-connection pipeline, opened to the libFuzzer target in
/// `Fuzz/` (a separate package, so `package` access cannot reach it): it puts
/// on any channel, typically an `EmbeddedChannel`, exactly the handlers that
/// ``KinesisServer`` puts on an accepted connection, in front of `engine`.
///
/// Not API: it is spelled `@_spi(Fuzzing)` and may change with the fuzzer.
@_spi(Fuzzing)
public enum KinesisFuzzHarness {
    /// Installs the connection pipeline. Call on the channel's event loop.
    /// `configuration` is read as ``KinesisServer`` reads it (body limit, account,
    /// default region, signature verification, subscription polling); its
    /// address and thread settings are ignored.
    public static func configureConnection(_ channel: any Channel, engine: KinesisEngine,
                                           configuration: KinesisServer.Configuration) throws {
        let processor = KinesisServer.processor(
            dispatcher: EngineDispatcher(engine: { engine }, account: configuration.account),
            defaultRegion: configuration.defaultRegion ?? engine.configuration.defaultRegion,
            configuration: configuration)
        try KinesisServer.configureConnection(channel.pipeline.syncOperations, processor: processor,
                                              maxBodyBytes: configuration.maxRequestBodyBytes,
                                              polling: KinesisServer.polling(configuration))
    }
}
