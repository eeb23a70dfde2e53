import NIOCore

/// What a client speaks, told from the first bytes it sends.
enum SniffedProtocol: Sendable, Equatable {
    /// Anything else: NIO's HTTP/1.1 parser takes it (and answers 400 to garbage).
    case http1
    /// The HTTP/2 connection preface (RFC 9113 §3.4): h2c with prior knowledge.
    case http2
    /// A TLS handshake record (content type 22, RFC 8446 §5.1).
    case tls

    /// The client connection preface every HTTP/2 client sends first.
    static let http2Preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// The protocol `bytes` begin, or nil while they are a proper prefix of the HTTP/2
    /// preface (more bytes are needed). An HTTP/1.1 request is told at its first or second
    /// byte ("POST" differs from "PRI" at the second), so it waits for nothing.
    static func classify(_ bytes: ByteBufferView) -> SniffedProtocol? {
        guard let first = bytes.first else { return nil }
        if first == 0x16 { return .tls }
        for (index, byte) in zip(http2Preface.indices, bytes) where byte != http2Preface[index] {
            return .http1
        }
        return bytes.count >= http2Preface.count ? .http2 : nil
    }
}

/// The first handler on a plain or TLS port's connection: holds the client's first bytes
/// until they tell the protocol (``SniffedProtocol``), lets `configure` put that protocol's
/// handlers after it, hands them the held bytes and removes itself. The held bytes are at
/// most the 24 of the HTTP/2 preface, so a client cannot make it buffer more.
///
/// A client that connects and sends too few bytes to tell is left to the
/// ``ConnectionDeadlineHandler`` in front, which closes it after the header timeout.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Installs the handlers for the told protocol after the sniffer; false: the connection
    /// was answered and closed instead (a plain client on a TLS port), the bytes are dropped.
    typealias Configure = (SniffedProtocol, ChannelHandlerContext) throws -> Bool

    private let configure: Configure
    private var held: ByteBuffer?
    private var decided = false

    init(configure: @escaping Configure) { self.configure = configure }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        var bytes = unwrapInboundIn(data)
        if var earlier = held {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        guard let told = SniffedProtocol.classify(bytes.readableBytesView) else {
            held = bytes
            return
        }
        decided = true
        held = nil
        do {
            guard try configure(told, context) else { return }
        } catch {
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Nothing was handed on while the protocol is still unknown.
        if decided { context.fireChannelReadComplete() }
    }
}
