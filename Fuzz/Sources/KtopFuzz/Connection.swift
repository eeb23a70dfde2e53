import Foundation
@_spi(Fuzzing) import KinesisAPI
import NIOCore
import NIOEmbedded
import StreamEngine

/// One client connection to the real server pipeline, on an `EmbeddedChannel`:
/// bytes in, bytes out, nothing asynchronous but the event-stream pump, which
/// runs when the harness moves the embedded loop's time.
final class FuzzConnection {
    static let configuration: KinesisServer.Configuration = {
        // Small body limits, so that 413 (over 4 KiB) and the body budget's 503 (over 3 KiB)
        // are reachable with inputs of a few KiB.
        var c = KinesisServer.Configuration(maxRequestBodyBytes: 4096)
        c.connectionLimits.maxBufferedBodyBytes = 3072
        c.defaultRegion = "us-east-1"
        return c
    }()

    let channel = EmbeddedChannel()
    private(set) var output: [UInt8] = []
    /// Values the server returned, for `$IT`-style placeholders in later requests.
    private(set) var bindings: [String: [UInt8]] = [:]

    init(harness: KinesisFuzzHarness) {
        do {
            try harness.configureConnection(channel)
            // An embedded channel starts inactive; NIO's HTTP handlers wait for channelActive.
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40_000)).wait()
        } catch {
            fatalError("ktop-fuzz: cannot set up the pipeline: \(error)")
        }
    }

    var isOpen: Bool { channel.isActive }

    /// Delivers `bytes` as one read from the client and collects what the server wrote.
    /// Returns the bytes written in answer.
    @discardableResult
    func receive(_ bytes: [UInt8]) -> [UInt8] {
        guard isOpen else { return [] }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        // Errors that travel past the last handler (after NIO's 400) are not replies; the output is what counts.
        _ = try? channel.writeInbound(buffer)
        return drain()
    }

    /// Lets scheduled work run (the SubscribeToShard pump), `rounds` idle intervals' worth.
    func pump(rounds: Int) {
        for _ in 0..<rounds where isOpen {
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        _ = drain()
    }

    /// The client goes away; whatever the server still writes is collected.
    func close() {
        if isOpen { _ = try? channel.close().wait() }
        _ = drain()
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    private func drain() -> [UInt8] {
        var fresh: [UInt8] = []
        while let data = try? channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let b) = data { fresh += b.readableBytesView }
        }
        output += fresh
        return fresh
    }

    /// Remembers identifiers from complete JSON or CBOR success replies among `bytes`.
    func learn(from bytes: [UInt8]) {
        guard let replies = try? HTTPResponseReader.responses(in: bytes) else { return }
        for r in replies where r.status == 200 && r.complete && !r.body.isEmpty {
            switch r.header("content-type") {
            case KinesisJSON.contentType:
                if let json = try? JSONSerialization.jsonObject(with: Data(r.body)) { collect(json) }
            case KinesisCBOR.contentType:
                if let object = KinesisCBORFuzzing.foundationObject(r.body) { collect(object) }
            default: break
            }
        }
    }

    private func collect(_ json: Any) {
        if let object = json as? [String: Any] {
            for (key, value) in object {
                if let s = value as? String, let name = Self.bindingNames[key] { bindings[name] = Array(s.utf8) }
                collect(value)
            }
        } else if let array = json as? [Any] {
            array.forEach(collect)
        }
    }

    private static let bindingNames: [String: String] = [
        "ShardIterator": "IT", "NextShardIterator": "IT", "NextToken": "NT", "SequenceNumber": "SN",
        "ConsumerARN": "CA", "StreamARN": "SA", "ShardId": "SH",
    ]
}
