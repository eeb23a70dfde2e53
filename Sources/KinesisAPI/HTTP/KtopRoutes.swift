import Foundation
import NIOCore
import NIOHTTP1
import StreamEngine

/// ktop's own read-only JSON routes beside the Kinesis API, so that `ktop attach`
/// to another ktop shows that engine's exact counters (throttles included) without
/// reading its streams:
///
/// - `GET /ktop/v1/sample[?stream=NAME&account=ID&region=R]`: the engine's
///   ``StreamEngine/EngineSample`` as JSON (its form is documented on `EngineSample`),
///   only the streams matching every parameter given.
/// - `GET /ktop/v1/events[?after=ID&stream=…&account=…&region=…]`:
///   `{"lastId": N, "events": [EngineEvent, …]}`, the engine's retained events with an id
///   above `after` (default 0), oldest first. `lastId` is the newest id in the log, matched
///   or not: ask with it next time.
///
/// Unauthenticated and read-only, like `GET /metrics`: they need no SigV4 signature even
/// under `--verify-sigv4`, change nothing, and expose stream names, counters and the
/// heaviest partition keys to whoever can reach the port. Parameters are percent-decoded;
/// an unknown, repeated, empty or malformed one is `400` with `{"message": "…"}`, and any
/// other path under `/ktop/` is `404` with the same shape. Every reply carries
/// `x-ktop-api: 1`, by which a client tells a ktop from a foreign endpoint.
///
/// `EngineSample` is copied under each lock briefly (``StreamEngine/KinesisEngine/sample(account:region:stream:)``)
/// and encoded after every lock is released; the streams filtered out are not read at all.
struct KtopRoutes: Sendable {
    static let prefix = "/ktop/"
    static let samplePath = "/ktop/v1/sample"
    static let eventsPath = "/ktop/v1/events"
    /// Names the route family and its version on every reply.
    static let apiHeader = "x-ktop-api"
    static let apiVersion = "1"

    /// The engine being served (asked per request: `--listen` follows the dashboard's engine).
    var engine: @Sendable () -> KinesisEngine

    /// The reply to `request`, or nil when it is not a `GET` under `/ktop/` (then it is Kinesis's).
    func respond(to request: KinesisRequest, headers: HTTPHeaders) -> KinesisResponse? {
        guard request.method == .GET else { return nil }
        let path = request.uri.prefix { $0 != "?" }
        guard path.hasPrefix(Self.prefix) else { return nil }
        let query = request.uri.firstIndex(of: "?").map { request.uri[request.uri.index(after: $0)...] } ?? ""
        do throws(KtopRouteError) {
            switch path {
            case Self.samplePath:
                let p = try KtopQuery(query, allowed: ["stream", "account", "region"])
                let sample = engine().sample(account: p["account"], region: p["region"], stream: p["stream"])
                return try Self.json(sample, headers: headers)
            case Self.eventsPath:
                let p = try KtopQuery(query, allowed: ["after", "stream", "account", "region"])
                var after: UInt64 = 0
                if let text = p["after"] {
                    // Digits only: UInt64("+5") would pass.
                    guard text.utf8.allSatisfy({ (48...57).contains($0) }), let id = UInt64(text) else {
                        throw KtopRouteError(.badRequest,
                                             "after must be an event id, 0…\(UInt64.max), got \"\(text.prefix(64))\"")
                    }
                    after = id
                }
                let log = engine().events
                let lastId = log.lastId
                let events = log.events(after: after).filter { e in
                    p["stream"].map { $0 == e.stream } ?? true && p["account"].map { $0 == e.account } ?? true
                        && p["region"].map { $0 == e.region } ?? true
                }
                return try Self.json(EventsReply(lastId: lastId, events: events), headers: headers)
            default:
                throw KtopRouteError(.notFound, "No ktop route \(path.prefix(128)); there are "
                                     + "\(Self.samplePath) and \(Self.eventsPath).")
            }
        } catch {
            return Self.reply(error.status, Array(Self.message(error.message).utf8), headers: headers)
        }
    }

    /// `GET /ktop/v1/events`'s body.
    struct EventsReply: Codable {
        var lastId: UInt64
        var events: [EngineEvent]
    }

    static func json(_ value: some Encodable, headers: HTTPHeaders) throws(KtopRouteError) -> KinesisResponse {
        do {
            return reply(.ok, Array(try JSONEncoder().encode(value)), headers: headers)
        } catch {
            // Only a non-finite number can fail to encode; none is in an engine's sample.
            throw KtopRouteError(.internalServerError, "Cannot encode the reply: \(error)")
        }
    }

    static func reply(_ status: HTTPResponseStatus, _ body: [UInt8], headers: HTTPHeaders) -> KinesisResponse {
        var h = headers
        h.add(name: "Content-Type", value: "application/json")
        h.add(name: apiHeader, value: apiVersion)
        return KinesisResponse(status: status, headers: h, body: .bytes(body))
    }

    /// `{"message": "…"}` with the text escaped by the JSON encoder.
    static func message(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(["message": text])) ?? Data(#"{"message":"error"}"#.utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Why a ktop route refused: its status and a message for `{"message": …}`.
struct KtopRouteError: Error {
    var status: HTTPResponseStatus
    var message: String
    init(_ status: HTTPResponseStatus, _ message: String) { self.status = status; self.message = message }
}

/// The query string of a ktop route, checked strictly: every name known and given
/// once, every value non-empty and validly percent-encoded (`%2D` is `-`; `+` stays `+`).
struct KtopQuery {
    private var values: [String: String] = [:]

    init(_ query: Substring, allowed: Set<String>) throws(KtopRouteError) {
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = String(kv[0]).removingPercentEncoding, kv.count == 2,
                  let value = String(kv[1]).removingPercentEncoding else {
                throw KtopRouteError(.badRequest, "Malformed query parameter \"\(item.prefix(64))\": "
                                     + "use name=value, percent-encoded.")
            }
            guard allowed.contains(name) else {
                let known = allowed.sorted().joined(separator: ", ")
                throw KtopRouteError(.badRequest,
                                     "Unknown query parameter \"\(name.prefix(64))\"; this route takes \(known).")
            }
            guard values[name] == nil else {
                throw KtopRouteError(.badRequest, "Query parameter \(name) is given twice.")
            }
            guard !value.isEmpty, value.utf8.count <= 256 else {
                throw KtopRouteError(.badRequest, "Query parameter \(name) must be 1 to 256 bytes long.")
            }
            values[name] = value
        }
    }

    subscript(name: String) -> String? { values[name] }
}
