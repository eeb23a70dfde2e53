import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StreamEngine

/// A reader of another ktop's own routes (`GET /ktop/v1/sample`, `GET /ktop/v1/events`,
/// served by `ktop serve` and `ktop --listen`): that engine's exact per-shard and
/// per-consumer counters, throttles included, without reading its streams.
///
/// Whether an endpoint is a ktop at all is told by ``probe(stream:region:account:)``: a
/// ktop answers with its `x-ktop-api` header; a foreign endpoint (AWS, LocalStack, moto,
/// kinesalite, a ktop older than these routes) answers the path with a 403, a 404 or
/// anything else without that header, and attach then reads the stream instead.
///
/// The routes are unauthenticated, so nothing is signed. Calls block the calling thread
/// for at most `timeout`, as ``KinesisHTTPClient``'s do (same URLSession set-up); call
/// them from ordinary threads, never from a URLSession delegate queue.
public final class KtopEndpointClient: Sendable {
    public let endpoint: URL
    public let timeout: Duration
    private let session: URLSession

    /// - Parameters:
    ///   - endpoint: the ktop's Kinesis endpoint, e.g. `http://127.0.0.1:4567`. A path in
    ///     the URL is kept in front of `/ktop/v1/…`.
    ///   - timeout: the longest a call waits for its whole reply.
    public init(endpoint: URL, timeout: Duration = .seconds(10)) {
        self.endpoint = endpoint
        self.timeout = timeout
        // FoundationNetworking truncates timeouts to whole seconds; the caller's own
        // deadline (`Outcome.wait`) is what enforces `timeout` (see KinesisHTTPClient).
        session = URLSession(configuration: KinesisHTTPClient.unaryConfiguration(timeout: timeout))
    }

    deinit { session.invalidateAndCancel() }

    /// The endpoint's sample if it is a ktop, nil if it is not (its reply lacks the
    /// `x-ktop-api` header: a foreign Kinesis endpoint). Throws when the endpoint cannot
    /// be reached, or is a ktop that refused or sent a sample that does not decode.
    public func probe(stream: String? = nil, region: String? = nil,
                      account: String? = nil) throws(KtopEndpointError) -> EngineSample? {
        do throws(KtopEndpointError) {
            return try sample(stream: stream, region: region, account: account)
        } catch .notKtop {
            return nil
        }
    }

    /// The endpoint engine's sample, only the streams matching every filter given. Each
    /// stream the endpoint's own engine produced gets ``StreamEngine/SampleProvenance/ktopEndpoint(_:)``
    /// as its provenance.
    public func sample(stream: String? = nil, region: String? = nil,
                       account: String? = nil) throws(KtopEndpointError) -> EngineSample {
        let body = try get("/ktop/v1/sample", [("stream", stream), ("account", account), ("region", region)])
        var sample = try decode(EngineSample.self, body)
        for i in sample.streams.indices where sample.streams[i].provenance.kind == SampleProvenance.embedded.kind {
            sample.streams[i].provenance = .ktopEndpoint(endpoint.absoluteString)
        }
        return sample
    }

    /// The endpoint engine's events with an id above `after`, oldest first, and the newest
    /// id in its log (pass it as `after` next time).
    public func events(after: UInt64 = 0, stream: String? = nil, region: String? = nil,
                       account: String? = nil) throws(KtopEndpointError) -> (lastId: UInt64, events: [EngineEvent]) {
        let body = try get("/ktop/v1/events", [("after", String(after)), ("stream", stream), ("account", account),
                                               ("region", region)])
        let reply = try decode(KtopRoutes.EventsReply.self, body)
        return (reply.lastId, reply.events)
    }

    // MARK: one exchange

    /// The URL of a route under the endpoint, every parameter value percent-encoded
    /// except RFC 3986's unreserved characters.
    func url(_ route: String, _ parameters: [(String, String?)]) -> URL? {
        guard var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false) else { return nil }
        let base = components.percentEncodedPath.hasSuffix("/")
            ? String(components.percentEncodedPath.dropLast()) : components.percentEncodedPath
        components.percentEncodedPath = base + route
        let query = parameters.compactMap { name, value in value.map { "\(name)=\(Self.percentEncoded($0))" } }
        components.percentEncodedQuery = query.isEmpty ? nil : query.joined(separator: "&")
        components.fragment = nil
        return components.url
    }

    static func percentEncoded(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte >> 4, radix: 16, uppercase: true)
                out += String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return out
    }

    private func get(_ route: String, _ parameters: [(String, String?)]) throws(KtopEndpointError) -> Data {
        guard let url = url(route, parameters) else {
            throw .unreachable("\(endpoint.absoluteString) is not a URL a route can be added to")
        }
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData,
                                 timeoutInterval: (Double(timeout.nanoseconds) / 1e9).rounded(.up) + 1)
        request.httpMethod = "GET"
        request.setValue("ktop", forHTTPHeaderField: "User-Agent")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        let outcome = Outcome()
        let task = session.dataTask(with: request) { data, response, error in
            outcome.finish(data: data, response: response as? HTTPURLResponse, error: error)
        }
        task.resume()
        guard let result = outcome.wait(for: timeout) else {
            task.cancel()
            throw .unreachable("cannot reach \(endpoint.absoluteString): no reply to GET \(route) within \(timeout)")
        }
        if let error = result.error {
            throw .unreachable("cannot reach \(endpoint.absoluteString): \(KinesisHTTPClient.describe(error))")
        }
        guard let response = result.response else {
            throw .unreachable("cannot reach \(endpoint.absoluteString): no HTTP response")
        }
        let body = result.data ?? Data()
        guard response.value(forHTTPHeaderField: KtopRoutes.apiHeader) == KtopRoutes.apiVersion else {
            throw .notKtop(status: response.statusCode)
        }
        guard response.statusCode == 200 else {
            let message = (try? JSONDecoder().decode([String: String].self, from: body))?["message"]
                ?? String(decoding: body.prefix(256), as: UTF8.self)
            throw .refused(status: response.statusCode, message: message)
        }
        return body
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: Data) throws(KtopEndpointError) -> T {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw .badReply("\(endpoint.absoluteString) sent a \(T.self) that does not decode: \(Self.describe(error))")
        }
    }

    /// A decoding error as one line: where in the document, and why.
    static func describe(_ error: any Error) -> String {
        let context: DecodingError.Context
        switch error as? DecodingError {
        case .dataCorrupted(let c)?, .keyNotFound(_, let c)?, .typeMismatch(_, let c)?, .valueNotFound(_, let c)?:
            context = c
        default:
            return "\(error)"
        }
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return (path.isEmpty ? "" : "at \(path): ") + context.debugDescription
    }
}

/// Why a ``KtopEndpointClient`` call gave no answer.
public enum KtopEndpointError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No HTTP reply: refused connection, timeout, unknown host.
    case unreachable(String)
    /// The endpoint answered, but not as a ktop (no `x-ktop-api` header): a foreign
    /// Kinesis endpoint, which attach reads through the Kinesis API instead.
    case notKtop(status: Int)
    /// A ktop refused the request (a bad parameter: 400); `message` is its `{"message": …}`.
    case refused(status: Int, message: String)
    /// A ktop's reply did not decode, or broke a sample's invariants.
    case badReply(String)

    public var description: String {
        switch self {
        case .unreachable(let why): return why
        case .notKtop(let status): return "not a ktop endpoint (HTTP \(status) without x-ktop-api)"
        case .refused(let status, let message): return "the ktop endpoint answered HTTP \(status): \(message)"
        case .badReply(let why): return why
        }
    }
}

extension SampleProvenance {
    /// Another ktop's engine read over `GET /ktop/v1/sample`: every figure is that
    /// engine's exact counter, as for ``embedded``.
    public static func ktopEndpoint(_ url: String) -> SampleProvenance {
        SampleProvenance(kind: "ktop-endpoint", endpoint: url, figures: embedded.figures.mapValues { _ in
            "ktop endpoint: exact counters of its engine"
        })
    }
}
