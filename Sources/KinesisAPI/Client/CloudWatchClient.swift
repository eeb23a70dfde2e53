import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A CloudWatch `GetMetricData` client for Kinesis's shard-level metrics, the only place a
/// real stream's per-shard throttling shows (KINESIS.md §6).
///
/// Speaks the AWS query protocol (`POST /`, form-encoded `Action=GetMetricData&
/// Version=2010-08-01&…`, XML reply), which AWS, moto and LocalStack all serve, signed with
/// SigV4 for service `monitoring`. Emulators serve CloudWatch on the same port as Kinesis,
/// so ``monitoringEndpoint(forKinesisEndpoint:region:)`` keeps their URL and maps an AWS
/// Kinesis endpoint to its region's CloudWatch endpoint.
///
/// Calls are synchronous and block for at most `timeout` per page; like
/// ``KinesisHTTPClient`` the client does not retry: a throttled call throws
/// ``CloudWatchError`` with ``CloudWatchError/isThrottling`` set and the caller backs off.
public final class CloudWatchClient: Sendable {
    /// The most queries one GetMetricData call may carry.
    public static let maximumQueriesPerCall = 500
    /// A server that keeps answering NextToken is cut off after this many pages.
    static let maximumPages = 100
    /// Replies larger than this are refused unread (a full page of 100,800 points is ~5 MB).
    static let maximumReplyBytes = 64 << 20

    public let endpoint: URL
    public let region: String
    public let timeout: Duration
    private let credentials: AWSCredentialsProvider
    private let path: String
    private let hostHeader: String
    private let session: URLSession

    /// - Parameters:
    ///   - endpoint: `https://monitoring.us-east-1.amazonaws.com`, or an emulator's URL.
    ///   - region: the region of the SigV4 credential scope.
    public init(endpoint: URL, region: String, credentialsProvider: AWSCredentialsProvider,
                timeout: Duration = .seconds(10)) {
        self.endpoint = endpoint
        self.region = region
        self.timeout = timeout
        self.credentials = credentialsProvider
        let rawPath = endpoint.path
        path = rawPath.isEmpty ? "/" : rawPath
        hostHeader = KinesisHTTPClient.hostHeader(for: endpoint)
        session = URLSession(configuration: KinesisHTTPClient.unaryConfiguration(timeout: timeout))
    }

    deinit { session.invalidateAndCancel() }

    /// CloudWatch's endpoint for a Kinesis endpoint: `kinesis[-fips].<region>.<domain>` on an
    /// AWS domain becomes `monitoring[-fips].<region>.<domain>`; any other AWS host (a VPC
    /// endpoint) gets `https://monitoring.<region>.amazonaws.com`; anything else (LocalStack,
    /// moto, localhost) serves every service on one port and is kept as it is.
    public static func monitoringEndpoint(forKinesisEndpoint url: URL, region: String) -> URL {
        guard let host = url.host?.lowercased() else { return url }
        let awsDomains = [".amazonaws.com", ".amazonaws.com.cn", ".api.aws"]
        guard awsDomains.contains(where: { host.hasSuffix($0) }) else { return url }
        var labels = host.split(separator: ".").map(String.init)
        if labels.count >= 3, labels[0] == "kinesis" || labels[0] == "kinesis-fips",
           SigV4CredentialScope.isPlausibleRegion(labels[1]) {
            labels[0] = labels[0] == "kinesis" ? "monitoring" : "monitoring-fips"
            return URL(string: "https://" + labels.joined(separator: "."))!
        }
        return URL(string: "https://monitoring.\(region).amazonaws.com") ?? url
    }

    // MARK: shard-level metrics

    /// Kinesis's shard-level metrics for `shardIds` of `stream` over `[start, end)`, one point
    /// per `period` seconds: `Sum` of each period, `Maximum` for IteratorAgeMilliseconds.
    ///
    /// Returns shard id → metric name → points in time order, with an entry (maybe empty) for
    /// every shard and metric asked for: all empty means enhanced monitoring is off or the
    /// stream idle (``KinesisShardMetrics/enableCommand(stream:metrics:region:profile:endpoint:)``).
    /// Queries go 500 to a call, each call followed through its NextToken pages.
    public func shardMetrics(stream: String, shardIds: [String], metrics: [String] = KinesisShardMetrics.all,
                             start: Date, end: Date,
                             period: Int = 60) throws(CloudWatchError) -> [String: [String: [CloudWatchDatapoint]]] {
        var queries: [MetricDataQuery] = []
        var wanted: [String: (shard: String, metric: String)] = [:]
        var out: [String: [String: [CloudWatchDatapoint]]] = [:]
        for shard in shardIds {
            for metric in metrics {
                let id = "m\(queries.count)"
                wanted[id] = (shard, metric)
                out[shard, default: [:]][metric] = []
                queries.append(MetricDataQuery(
                    id: id, namespace: KinesisShardMetrics.namespace, metricName: metric,
                    dimensions: [MetricDimension(name: "StreamName", value: stream),
                                 MetricDimension(name: "ShardId", value: shard)],
                    period: period, stat: KinesisShardMetrics.statistic(for: metric)))
            }
        }
        var batchStart = 0
        while batchStart < queries.count {
            let batch = Array(queries[batchStart..<min(batchStart + Self.maximumQueriesPerCall, queries.count)])
            batchStart += batch.count
            for result in try getMetricData(batch, start: start, end: end) {
                guard let (shard, metric) = wanted[result.id] else { continue }
                if result.statusCode == "Forbidden" || result.statusCode == "InternalError" {
                    throw CloudWatchError(.service, code: result.statusCode ?? "",
                                          message: "\(metric) of \(shard): " + (result.messages.first ?? "no data"))
                }
                out[shard, default: [:]][metric, default: []].append(contentsOf: result.datapoints)
            }
        }
        for (shard, byMetric) in out {
            for (metric, points) in byMetric {
                out[shard]?[metric] = points.sorted { $0.timestamp < $1.timestamp }
            }
        }
        return out
    }

    // MARK: GetMetricData

    /// One GetMetricData call (at most 500 queries), followed through every NextToken page;
    /// the pages of one query id are joined. Points come in the order the server sent them
    /// (CloudWatch's default is newest first).
    public func getMetricData(_ queries: [MetricDataQuery], start: Date,
                              end: Date) throws(CloudWatchError) -> [MetricDataResult] {
        guard queries.count <= Self.maximumQueriesPerCall else {
            throw CloudWatchError(.request, code: "InvalidParameterValue",
                                  message: "\(queries.count) queries in one GetMetricData call; the most is 500")
        }
        var results: [MetricDataResult] = []
        var position: [String: Int] = [:]
        var nextToken: String?
        var seenTokens = Set<String>()
        for _ in 0..<Self.maximumPages {
            let page = try Self.parseReply(
                exchange(Self.formBody(queries, start: start, end: end, nextToken: nextToken)),
                endpoint: endpoint.absoluteString)
            for result in page.results {
                if let at = position[result.id] {
                    results[at].datapoints += result.datapoints
                    results[at].messages += result.messages
                    results[at].statusCode = result.statusCode ?? results[at].statusCode
                } else {
                    position[result.id] = results.count
                    results.append(result)
                }
            }
            guard let token = page.nextToken else { return results }
            guard seenTokens.insert(token).inserted else {
                throw CloudWatchError(.malformedReply, code: "MalformedReply",
                                      message: "\(endpoint.absoluteString) repeated NextToken \(token.prefix(40))")
            }
            nextToken = token
        }
        throw CloudWatchError(.malformedReply, code: "MalformedReply",
                              message: "\(endpoint.absoluteString) sent more than \(Self.maximumPages) pages")
    }

    /// The query-protocol form: `Action`, `Version`, each query's members under
    /// `MetricDataQueries.member.N.` (lists are 1-based `member.N`), the time range in
    /// ISO 8601, and `NextToken` after the first page. Keys and values percent-encoded
    /// as botocore does (RFC 3986 unreserved characters kept).
    static func formBody(_ queries: [MetricDataQuery], start: Date, end: Date, nextToken: String?) -> [UInt8] {
        var fields: [(String, String)] = [("Action", "GetMetricData"), ("Version", "2010-08-01")]
        for (n, query) in queries.enumerated() {
            let q = "MetricDataQueries.member.\(n + 1)."
            fields.append((q + "Id", query.id))
            fields.append((q + "MetricStat.Metric.Namespace", query.namespace))
            fields.append((q + "MetricStat.Metric.MetricName", query.metricName))
            for (d, dimension) in query.dimensions.enumerated() {
                fields.append((q + "MetricStat.Metric.Dimensions.member.\(d + 1).Name", dimension.name))
                fields.append((q + "MetricStat.Metric.Dimensions.member.\(d + 1).Value", dimension.value))
            }
            fields.append((q + "MetricStat.Period", String(query.period)))
            fields.append((q + "MetricStat.Stat", query.stat))
            fields.append((q + "ReturnData", "true"))
        }
        fields.append(("StartTime", AWSTimestamp.format(start)))
        fields.append(("EndTime", AWSTimestamp.format(end)))
        if let nextToken { fields.append(("NextToken", nextToken)) }
        let text = fields
            .map { SigV4.percentEncode($0.0, keeping: "~") + "=" + SigV4.percentEncode($0.1, keeping: "~") }
            .joined(separator: "&")
        return Array(text.utf8)
    }

    /// Sends one signed page request; returns the body of a 200 reply.
    private func exchange(_ body: [UInt8]) throws(CloudWatchError) -> [UInt8] {
        let signer: SigV4Signer
        do throws(AWSCredentialError) {
            signer = SigV4Signer(credentials: try credentials.credentials(), region: region, service: "monitoring")
        } catch {
            throw CloudWatchError(.credentials, code: "NoCredentials", message: error.message)
        }
        let seconds = (Double(timeout.nanoseconds) / 1e9).rounded(.up) + 1
        var request = URLRequest(url: endpoint, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: seconds)
        request.httpMethod = "POST"
        let headers = signer.sign(
            method: "POST", uri: path,
            headers: [(name: "Host", value: hostHeader),
                      (name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")],
            body: body, date: Date())
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.setValue("ktop", forHTTPHeaderField: "User-Agent")
        request.httpBody = Data(body)

        let outcome = Outcome()
        let task = session.dataTask(with: request) { data, response, error in
            outcome.finish(data: data, response: response as? HTTPURLResponse, error: error)
        }
        task.resume()
        let place = endpoint.absoluteString
        guard let result = outcome.wait(for: timeout) else {
            task.cancel()
            throw CloudWatchError(.transport, code: "Timeout",
                                  message: "cannot reach \(place): no GetMetricData reply within \(timeout)")
        }
        if let error = result.error {
            throw CloudWatchError(.transport, code: "ConnectionFailed",
                                  message: "cannot reach \(place): \(KinesisHTTPClient.describe(error))")
        }
        guard let response = result.response else {
            throw CloudWatchError(.transport, code: "ConnectionFailed",
                                  message: "cannot reach \(place): no HTTP response")
        }
        let bytes = result.data.map { [UInt8]($0) } ?? []
        guard response.statusCode == 200 else {
            throw Self.errorReply(status: response.statusCode, body: bytes, endpoint: place,
                                  queryErrorHeader: response.value(forHTTPHeaderField: "x-amzn-query-error"))
        }
        return bytes
    }

    // MARK: reading replies

    struct Page: Equatable {
        var results: [MetricDataResult]
        var nextToken: String?
    }

    /// Reads a `GetMetricDataResponse`; an `ErrorResponse` in a 200 is still an error.
    static func parseReply(_ body: [UInt8], endpoint: String) throws(CloudWatchError) -> Page {
        let root = try parseXML(body, endpoint: endpoint)
        if let error = serviceError(root, status: 200, endpoint: endpoint) { throw error }
        func garbled(_ why: String) -> CloudWatchError {
            CloudWatchError(.malformedReply, code: "MalformedReply",
                            message: "GetMetricData reply from \(endpoint): \(why)")
        }
        guard root.name == "GetMetricDataResponse" else { throw garbled("root element <\(root.name)>") }
        guard let result = root.child("GetMetricDataResult") else { throw garbled("no GetMetricDataResult") }
        var results: [MetricDataResult] = []
        for member in result.child("MetricDataResults")?.children("member") ?? [] {
            guard let id = member.child("Id")?.text, !id.isEmpty else { throw garbled("a result without an Id") }
            let timestamps = member.child("Timestamps")?.children("member") ?? []
            let values = member.child("Values")?.children("member") ?? []
            guard timestamps.count == values.count else {
                throw garbled("result \(id) has \(timestamps.count) timestamps but \(values.count) values")
            }
            var points: [CloudWatchDatapoint] = []
            points.reserveCapacity(values.count)
            for (t, v) in zip(timestamps, values) {
                let timeText = trimmed(t.text)
                let valueText = trimmed(v.text)
                guard let time = AWSTimestamp.parse(timeText) else {
                    throw garbled("result \(id) has timestamp \(timeText.prefix(40))")
                }
                guard let value = Double(valueText), value.isFinite else {
                    throw garbled("result \(id) has value \(valueText.prefix(40))")
                }
                points.append(CloudWatchDatapoint(timestamp: time, value: value))
            }
            let messages = (member.child("Messages")?.children("member") ?? []).map { message in
                [message.child("Code")?.text, message.child("Value")?.text].compactMap { $0 }.joined(separator: ": ")
            }
            results.append(MetricDataResult(id: id, label: member.child("Label")?.text,
                                            statusCode: member.child("StatusCode")?.text, datapoints: points,
                                            messages: messages))
        }
        let token = result.child("NextToken")?.text.trimmingCharacters(in: .whitespacesAndNewlines)
        return Page(results: results, nextToken: token?.isEmpty == false ? token : nil)
    }

    /// The error a non-200 reply carries: the query protocol's `ErrorResponse/Error/{Code,Message}`
    /// (or EC2-style `Response/Errors/Error`), the `x-amzn-query-error: Code;Sender` header, a
    /// JSON `__type`/`message` body, or else the HTTP status and the body's first line.
    static func errorReply(status: Int, body: [UInt8], endpoint: String,
                           queryErrorHeader: String? = nil) -> CloudWatchError {
        if let root = try? XMLReplyParser.parse(body),
           let error = serviceError(root, status: status, endpoint: endpoint) {
            return error
        }
        if let header = queryErrorHeader, let code = header.split(separator: ";").first, !code.isEmpty {
            return CloudWatchError(.service, code: String(code), message: firstLine(body), httpStatus: status)
        }
        if case .object(let fields)? = try? JSONParser.parse(body),
           case .string(let type)? = fields["__type"] ?? fields["code"] {
            var message = ""
            if case .string(let text)? = fields["message"] ?? fields["Message"] { message = text }
            return CloudWatchError(.service, code: KinesisErrorReply.sanitize(type), message: message,
                                   httpStatus: status)
        }
        let line = firstLine(body)
        return CloudWatchError(.service, code: "HTTP\(status)",
                               message: "HTTP \(status) from \(endpoint)" + (line.isEmpty ? "" : ": \(line)"),
                               httpStatus: status)
    }

    private static func serviceError(_ root: XMLElementNode, status: Int, endpoint: String) -> CloudWatchError? {
        let error: XMLElementNode?
        switch root.name {
        case "ErrorResponse": error = root.child("Error")
        case "Response": error = root.descendant("Errors", "Error")
        case "Error": error = root
        default: return nil
        }
        guard let error else { return nil }
        let code = error.child("Code")?.text ?? ""
        return CloudWatchError(.service, code: code.isEmpty ? "HTTP\(status)" : code,
                               message: error.child("Message")?.text ?? "", httpStatus: status)
    }

    private static func parseXML(_ body: [UInt8], endpoint: String) throws(CloudWatchError) -> XMLElementNode {
        guard body.count <= maximumReplyBytes else {
            throw CloudWatchError(.malformedReply, code: "MalformedReply",
                                  message: "GetMetricData reply from \(endpoint) is larger than "
                                      + "\(maximumReplyBytes) bytes")
        }
        do throws(XMLSyntaxError) {
            return try XMLReplyParser.parse(body)
        } catch {
            throw CloudWatchError(.malformedReply, code: "MalformedReply",
                                  message: "GetMetricData reply from \(endpoint) is not XML: \(error.reason) "
                                      + "at byte \(error.offset)")
        }
    }

    /// `text` without surrounding whitespace; the common case (none) without Foundation's cost.
    static func trimmed(_ text: String) -> String {
        guard let first = text.utf8.first, let last = text.utf8.last else { return text }
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        return blank(first) || blank(last) ? text.trimmingCharacters(in: .whitespacesAndNewlines) : text
    }

    /// The first non-blank line of a body, at most 200 characters, for messages.
    static func firstLine(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        let line = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .first { !$0.isEmpty } ?? ""
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }
}

/// One CloudWatch datapoint: the start of its period and the statistic's value.
public struct CloudWatchDatapoint: Sendable, Hashable {
    public var timestamp: Date
    public var value: Double

    public init(timestamp: Date, value: Double) {
        self.timestamp = timestamp
        self.value = value
    }
}

/// A CloudWatch metric dimension (`StreamName=demo`).
public struct MetricDimension: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One `MetricDataQuery` of GetMetricData, the `MetricStat` kind: one metric, one statistic.
public struct MetricDataQuery: Sendable, Hashable {
    /// Unique in its call; CloudWatch wants a lowercase letter first, then letters, digits, `_`.
    public var id: String
    public var namespace: String
    public var metricName: String
    public var dimensions: [MetricDimension]
    /// Seconds: 60 or a multiple of it (1, 5, 10, 30 for high-resolution metrics).
    public var period: Int
    /// `Sum`, `Maximum`, `Average`, `Minimum`, `SampleCount`, `p99`, …
    public var stat: String

    public init(id: String, namespace: String, metricName: String, dimensions: [MetricDimension],
                period: Int, stat: String) {
        self.id = id
        self.namespace = namespace
        self.metricName = metricName
        self.dimensions = dimensions
        self.period = period
        self.stat = stat
    }
}

/// One query's answer: its points and CloudWatch's `StatusCode` (`Complete`, `PartialData`
/// while pages remain, `Forbidden`, `InternalError`) with any messages.
public struct MetricDataResult: Sendable, Hashable {
    public var id: String
    public var label: String?
    public var statusCode: String?
    public var datapoints: [CloudWatchDatapoint]
    public var messages: [String]

    public init(id: String, label: String?, statusCode: String?, datapoints: [CloudWatchDatapoint],
                messages: [String] = []) {
        self.id = id
        self.label = label
        self.statusCode = statusCode
        self.datapoints = datapoints
        self.messages = messages
    }
}

/// A failed GetMetricData: CloudWatch's error `Code` and `Message` (AccessDenied,
/// Throttling, InvalidParameterValue, …), or why no reply could be read.
public struct CloudWatchError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The service answered with an error.
        case service
        /// No reply: connection refused, timeout, TLS.
        case transport
        /// A reply that is not a well-formed GetMetricData answer.
        case malformedReply
        /// No credentials to sign with (``AWSCredentialsProvider`` failed).
        case credentials
        /// The request was refused before it was sent (too many queries).
        case request
    }

    public var kind: Kind
    public var code: String
    public var message: String
    public var httpStatus: Int?

    public init(_ kind: Kind, code: String, message: String, httpStatus: Int? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
    }

    /// CloudWatch asks the caller to slow down: back off before the next call.
    public var isThrottling: Bool {
        ["Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
         "TooManyRequestsException", "LimitExceeded", "LimitExceededException"].contains(code)
            || httpStatus == 429
    }

    /// The credentials may not call GetMetricData (`cloudwatch:GetMetricData` is missing).
    public var isAccessDenied: Bool {
        ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "NotAuthorized"].contains(code)
    }

    public var description: String {
        switch kind {
        case .service: return message.isEmpty ? "CloudWatch \(code)" : "CloudWatch \(code): \(message)"
        default: return message
        }
    }
}
