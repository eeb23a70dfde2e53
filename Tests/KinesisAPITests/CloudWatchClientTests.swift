import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import KinesisAPI
import StreamEngine
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback HTTP/1.1 server that answers each request with the next canned reply
/// (`Connection: close`) and records what it was sent. A request equal to the one before is taken
/// for a libcurl resend and gets the same reply again, unless `replayRepeats` is off.
private final class CannedHTTPServer: Sendable {
    struct Reply: Sendable {
        var status: Int
        var body: String
        var headers: [String: String] = [:]
    }

    struct Request: Sendable {
        var requestLine: String
        var headers: [String: String]   // lowercased names
        var body: String
        /// The form body's fields, decoded.
        var form: [String: String] {
            var out: [String: String] = [:]
            for pair in body.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                out[parts[0].removingPercentEncoding ?? parts[0]] =
                    parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
            }
            return out
        }
    }

    let port: Int
    private let listener: Int32
    private let replies: LockedValue<[Reply]>
    let requests = LockedValue<[Request]>([])
    private let replayRepeats: Bool
    private let lastReply = LockedValue<Reply?>(nil)

    init(_ replies: [Reply], replayRepeats: Bool = true) throws {
        self.replies = LockedValue(replies)
        self.replayRepeats = replayRepeats
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Bool in
                bind(fd, sa, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        guard fd >= 0, bound else { throw POSIXError(.EADDRNOTAVAIL) }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in serve() }
    }

    /// The requests with libcurl's resends (a body equal to the one before) left out.
    var distinctRequests: [Request] {
        let all = requests.withLock { $0 }
        return all.enumerated().filter { $0.offset == 0 || all[$0.offset - 1].body != $0.element.body }.map(\.element)
    }

    /// Wakes the accepting thread, which closes the listener itself. Closing it here raced that thread:
    /// another test's new listener could be given the same descriptor before the thread called accept
    /// again, and the thread then answered that test's requests from this server's empty queue.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else {
                close(listener)
                return
            }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            handle(connection)
            close(connection)
        }
    }

    private func handle(_ connection: Int32) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int?
        var contentLength = 0
        while headerEnd == nil || received.count < headerEnd! + contentLength {
            let n = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            received += buffer[0..<n]
            if headerEnd == nil, let range = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                headerEnd = range.upperBound
                let head = String(decoding: received[..<range.lowerBound], as: UTF8.self)
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        let head = String(decoding: received[..<(headerEnd! - 4)], as: UTF8.self).split(separator: "\r\n")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] =
                line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = Request(requestLine: String(head.first ?? ""), headers: headers,
                              body: String(decoding: received[headerEnd!...], as: UTF8.self))
        // With `replayRepeats`, a body equal to the previous one is libcurl sending it again on a new
        // connection (seen once on a loaded machine): it gets the same reply instead of using up the next.
        let repeated = requests.withLock { list -> Bool in
            defer { list.append(request) }
            return replayRepeats && list.last?.body == request.body
        }
        let reply = replies.withLock { queue -> Reply in
            if repeated, let last = lastReply.withLock({ $0 }) { return last }
            return queue.isEmpty ? Reply(status: 500, body: "no canned reply left") : queue.removeFirst()
        }
        lastReply.withLock { $0 = reply }
        var text = "HTTP/1.1 \(reply.status) Canned\r\nContent-Length: \(reply.body.utf8.count)\r\n"
            + "Connection: close\r\n"
        for (name, value) in reply.headers { text += "\(name): \(value)\r\n" }
        text += "\r\n" + reply.body
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            sent += n
        }
    }
}

private let credentials = AWSCredentialsProvider(AWSCredentials(accessKeyId: "AKIDCW", secretAccessKey: "cw-secret"))

private func client(_ server: CannedHTTPServer) -> CloudWatchClient {
    CloudWatchClient(endpoint: URL(string: "http://127.0.0.1:\(server.port)")!, region: "eu-west-1",
                     credentialsProvider: credentials, timeout: .seconds(30))
}

private func date(_ text: String) -> Date { AWSTimestamp.parse(text)! }

/// What moto 5.2.1 answered to a query-protocol GetMetricData (captured by hand).
private let motoReply = """
    <GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricDataResult>\
    <MetricDataResults><member><Id>q0</Id><Label>IncomingBytes Sum</Label><Timestamps>\
    <member>2026-11-30T08:18:00Z</member><member>2026-11-30T08:17:00Z</member><member>2026-11-30T08:16:00Z</member>\
    </Timestamps><Values><member>1000.0</member><member>2000.0</member><member>3000.0</member></Values>\
    <StatusCode>Complete</StatusCode></member><member><Id>q1</Id><Label>IteratorAgeMilliseconds Maximum</Label>\
    <Timestamps><member>2026-11-30T08:18:00Z</member><member>2026-11-30T08:17:00Z</member>\
    <member>2026-11-30T08:16:00Z</member></Timestamps><Values><member>5.0</member><member>10.0</member>\
    <member>15.0</member></Values><StatusCode>Complete</StatusCode></member></MetricDataResults>\
    </GetMetricDataResult><ResponseMetadata><RequestId>krcN6M7LcjfWTsCf3lFe9Yi9prnYrVNsSrToHlzG33VhcsPgwTTx\
    </RequestId></ResponseMetadata></GetMetricDataResponse>
    """

/// A reply carrying `points` for query ids, with an optional NextToken.
private func page(_ results: [(id: String, points: [(String, String)])], nextToken: String? = nil,
                  status: String = "Complete") -> String {
    var xml = "<?xml version=\"1.0\"?>\n"
        + "<GetMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
        + "<GetMetricDataResult><MetricDataResults>"
    for result in results {
        xml += "<member><Id>\(result.id)</Id><StatusCode>\(status)</StatusCode><Timestamps>"
        xml += result.points.map { "<member>\($0.0)</member>" }.joined() + "</Timestamps><Values>"
        xml += result.points.map { "<member>\($0.1)</member>" }.joined() + "</Values></member>"
    }
    xml += "</MetricDataResults>" + (nextToken.map { "<NextToken>\($0)</NextToken>" } ?? "")
    return xml + "</GetMetricDataResult></GetMetricDataResponse>"
}

@Suite("CloudWatch GetMetricData client")
struct CloudWatchClientTests {
    // MARK: reading replies

    @Test func readsMotosReply() throws {
        let page = try CloudWatchClient.parseReply(Array(motoReply.utf8), endpoint: "e")
        #expect(page.nextToken == nil)
        #expect(page.results.map(\.id) == ["q0", "q1"])
        #expect(page.results[0].label == "IncomingBytes Sum")
        #expect(page.results[0].statusCode == "Complete")
        #expect(page.results[0].datapoints == [
            CloudWatchDatapoint(timestamp: date("2026-11-30T08:18:00Z"), value: 1000),
            CloudWatchDatapoint(timestamp: date("2026-11-30T08:17:00Z"), value: 2000),
            CloudWatchDatapoint(timestamp: date("2026-11-30T08:16:00Z"), value: 3000),
        ])
        #expect(page.results[1].datapoints.map(\.value) == [5, 10, 15])
    }

    @Test func readsAnEmptyResult() throws {
        let moto = "<GetMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
            + "<GetMetricDataResult><MetricDataResults/></GetMetricDataResult>"
            + "<ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>"
            + "</GetMetricDataResponse>"
        #expect(try CloudWatchClient.parseReply(Array(moto.utf8), endpoint: "e") == .init(results: [], nextToken: nil))
        let aws = page([(id: "m0", points: [])])
        let result = try CloudWatchClient.parseReply(Array(aws.utf8), endpoint: "e").results
        #expect(result == [MetricDataResult(id: "m0", label: nil, statusCode: "Complete", datapoints: [])])
    }

    @Test func readsEntitiesCDATACommentsAndPrefixes() throws {
        let xml = "\u{FEFF}<?xml version='1.0' encoding='UTF-8'?><!-- hi --><cw:GetMetricDataResponse xmlns:cw='x'>"
            + "<cw:GetMetricDataResult><MetricDataResults><member><Id>m0</Id>"
            + "<Label>a&amp;b &lt;&#65;&#x42;&gt; &quot;&apos;<![CDATA[<raw>&amp;]]></Label>"
            + "<Timestamps><member> 2026-11-30T08:16:00.000Z </member></Timestamps>"
            + "<Values><member>1.5E3</member></Values>"
            + "<Messages><member><Code>ArithmeticError</Code><Value>divide by zero</Value></member></Messages>"
            + "</member></MetricDataResults><NextToken>a+b/c==</NextToken></cw:GetMetricDataResult>"
            + "</cw:GetMetricDataResponse>\n<!-- trailer -->\n"
        let page = try CloudWatchClient.parseReply(Array(xml.utf8), endpoint: "e")
        #expect(page.results.first?.label == "a&b <AB> \"'<raw>&amp;")
        #expect(page.results.first?.datapoints
                == [CloudWatchDatapoint(timestamp: date("2026-11-30T08:16:00Z"), value: 1500)])
        #expect(page.results.first?.messages == ["ArithmeticError: divide by zero"])
        #expect(page.nextToken == "a+b/c==")
    }

    @Test(arguments: [
        "",
        "   ",
        "not xml at all",
        "<GetMetricDataResponse>",
        "<GetMetricDataResponse><GetMetricDataResult></GetMetricDataResponse>",
        "<GetMetricDataResponse></GetMetricDataResponse><second/>",
        "<GetMetricDataResponse></GetMetricDataResponse>",
        "<Other/>",
        "<a b=\"1></a>",
        "<a b=1></a>",
        "<a>&bogus;</a>",
        "<a>&amp</a>",
        "<a>&#0;</a>",
        "<a>&#xD800;</a>",
        "<a>&#99999999999;</a>",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
        "<a><![CDATA[never closed</a>",
        "<a><!-- never closed</a>",
        "<?xml never closed",
        "<>",
        "</a>",
        "<a></b>",
        String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000),
        page([(id: "m0", points: [("2026-11-30T08:16:00Z", "1")])])
            .replacingOccurrences(of: "</Values>", with: "<member>2</member></Values>"),
        page([(id: "m0", points: [("2026-02-30T08:16:00Z", "1")])]),
        page([(id: "m0", points: [("yesterday", "1")])]),
        page([(id: "m0", points: [("2026-11-30T08:16:00Z", "NaN")])]),
        page([(id: "m0", points: [("2026-11-30T08:16:00Z", "1e999")])]),
        page([(id: "m0", points: [("2026-11-30T08:16:00Z", "")])]),
        page([(id: "", points: [])]),
    ])
    func garbledRepliesAreErrorsNotCrashes(xml: String) {
        #expect(throws: CloudWatchError.self) {
            let page = try CloudWatchClient.parseReply(Array(xml.utf8), endpoint: "e")
            Issue.record("parsed \(page)")
        }
        do {
            _ = try CloudWatchClient.parseReply(Array(xml.utf8), endpoint: "e")
        } catch {
            #expect(error.kind == .malformedReply)
            #expect(error.message.hasPrefix("GetMetricData reply from e"))
        }
    }

    @Test func invalidUTF8AndRandomBytesAreErrors() {
        var bytes = Array("<a>".utf8) + [0xC3, 0x28] + Array("</a>".utf8)
        #expect(throws: CloudWatchError.self) { try CloudWatchClient.parseReply(bytes, endpoint: "e") }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let count = Int.random(in: 0..<200, using: &generator)
            bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Bool.random(using: &generator) { bytes = Array("<GetMetricDataResponse>".utf8) + bytes }
            #expect(throws: CloudWatchError.self) { try CloudWatchClient.parseReply(bytes, endpoint: "e") }
        }
    }

    @Test func errorRepliesKeepCodeAndMessage() {
        let throttled = """
            <ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
              <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>
              <RequestId>1a2b</RequestId>
            </ErrorResponse>
            """
        let error = CloudWatchClient.errorReply(status: 400, body: Array(throttled.utf8), endpoint: "e")
        #expect(error == CloudWatchError(.service, code: "Throttling", message: "Rate exceeded", httpStatus: 400))
        #expect(error.isThrottling && !error.isAccessDenied)
        #expect(error.description == "CloudWatch Throttling: Rate exceeded")

        let denied = "<ErrorResponse><Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::1:user/x is not "
            + "authorized to perform: cloudwatch:GetMetricData</Message></Error></ErrorResponse>"
        let deniedError = CloudWatchClient.errorReply(status: 403, body: Array(denied.utf8), endpoint: "e")
        #expect(deniedError.isAccessDenied && !deniedError.isThrottling)
        #expect(deniedError.message.hasSuffix("cloudwatch:GetMetricData"))

        let ec2Style = "<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>bad</Message></Error>"
            + "</Errors></Response>"
        #expect(CloudWatchClient.errorReply(status: 400, body: Array(ec2Style.utf8), endpoint: "e").code
                == "InvalidParameterValue")

        // An error reply in a 200 is still an error.
        #expect(throws: CloudWatchError(.service, code: "Throttling", message: "Rate exceeded", httpStatus: 200)) {
            try CloudWatchClient.parseReply(Array(throttled.utf8), endpoint: "e")
        }
    }

    @Test func errorRepliesThatAreNotXML() {
        // moto answers a request it cannot handle with Flask's HTML page.
        let html = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
        let motoError = CloudWatchClient.errorReply(status: 500, body: Array(html.utf8), endpoint: "http://m")
        #expect(motoError == CloudWatchError(.service, code: "HTTP500",
                                             message: "HTTP 500 from http://m: <!doctype html>", httpStatus: 500))
        let json = #"{"__type": "com.amazonaws#ThrottlingException:http://x", "message": "slow down"}"#
        let jsonError = CloudWatchClient.errorReply(status: 400, body: Array(json.utf8), endpoint: "e")
        #expect(jsonError.code == "ThrottlingException" && jsonError.message == "slow down" && jsonError.isThrottling)
        let header = CloudWatchClient.errorReply(status: 400, body: [], endpoint: "e",
                                                 queryErrorHeader: "AccessDenied;Sender")
        #expect(header.code == "AccessDenied")
        #expect(CloudWatchClient.errorReply(status: 429, body: [], endpoint: "e").isThrottling)
        #expect(CloudWatchClient.errorReply(status: 503, body: [], endpoint: "e").message == "HTTP 503 from e")
    }

    // MARK: requests

    @Test func formBodyIsTheQueryProtocol() {
        let query = MetricDataQuery(id: "m0", namespace: "AWS/Kinesis", metricName: "IncomingBytes",
                                    dimensions: [MetricDimension(name: "StreamName", value: "my stream+1"),
                                                 MetricDimension(name: "ShardId", value: "shardId-000000000000")],
                                    period: 60, stat: "Sum")
        let body = String(decoding: CloudWatchClient.formBody([query], start: date("2026-11-30T08:00:00.9Z"),
                                                               end: date("2026-11-30T09:00:00Z"), nextToken: "t/k=="),
                          as: UTF8.self)
        #expect(body == "Action=GetMetricData&Version=2010-08-01"
                + "&MetricDataQueries.member.1.Id=m0"
                + "&MetricDataQueries.member.1.MetricStat.Metric.Namespace=AWS%2FKinesis"
                + "&MetricDataQueries.member.1.MetricStat.Metric.MetricName=IncomingBytes"
                + "&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=StreamName"
                + "&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value=my%20stream%2B1"
                + "&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.2.Name=ShardId"
                + "&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.2.Value=shardId-000000000000"
                + "&MetricDataQueries.member.1.MetricStat.Period=60"
                + "&MetricDataQueries.member.1.MetricStat.Stat=Sum"
                + "&MetricDataQueries.member.1.ReturnData=true"
                + "&StartTime=2026-11-30T08%3A00%3A00Z&EndTime=2026-11-30T09%3A00%3A00Z&NextToken=t%2Fk%3D%3D")
    }

    @Test func shardMetricsSignsForMonitoringAndMapsPointsBack() throws {
        let server = try CannedHTTPServer([
            .init(status: 200, body: page([
                (id: "m0", points: [("2026-11-30T08:02:00Z", "30"), ("2026-11-30T08:01:00Z", "20")]),
                (id: "m1", points: [("2026-11-30T08:01:00Z", "400")]),
                (id: "m3", points: [("2026-11-30T08:01:00Z", "7")]),
            ])),
        ])
        defer { server.stop() }
        let metrics = try client(server).shardMetrics(
            stream: "demo", shardIds: ["shardId-000000000000", "shardId-000000000001"],
            metrics: ["IncomingBytes", "IteratorAgeMilliseconds"],
            start: date("2026-11-30T08:00:00Z"), end: date("2026-11-30T08:05:00Z"))
        #expect(metrics["shardId-000000000000"]?["IncomingBytes"] == [
            CloudWatchDatapoint(timestamp: date("2026-11-30T08:01:00Z"), value: 20),
            CloudWatchDatapoint(timestamp: date("2026-11-30T08:02:00Z"), value: 30),
        ])
        #expect(metrics["shardId-000000000000"]?["IteratorAgeMilliseconds"]?.map(\.value) == [400])
        #expect(metrics["shardId-000000000001"]?["IncomingBytes"] == [])
        #expect(metrics["shardId-000000000001"]?["IteratorAgeMilliseconds"]?.map(\.value) == [7])

        let request = try #require(server.requests.withLock { $0 }.first)
        #expect(request.requestLine == "POST / HTTP/1.1")
        #expect(request.headers["content-type"] == "application/x-www-form-urlencoded; charset=utf-8")
        let authorization = try #require(request.headers["authorization"])
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDCW/"))
        #expect(authorization.contains("/eu-west-1/monitoring/aws4_request"))
        let form = request.form
        #expect(form["Action"] == "GetMetricData")
        #expect(form["MetricDataQueries.member.2.Id"] == "m1")
        #expect(form["MetricDataQueries.member.2.MetricStat.Metric.MetricName"] == "IteratorAgeMilliseconds")
        #expect(form["MetricDataQueries.member.2.MetricStat.Stat"] == "Maximum")
        #expect(form["MetricDataQueries.member.3.MetricStat.Stat"] == "Sum")
        #expect(form["MetricDataQueries.member.3.MetricStat.Metric.Dimensions.member.2.Value"]
                == "shardId-000000000001")
        #expect(form["MetricDataQueries.member.5.Id"] == nil)
    }

    @Test func followsNextTokenAndJoinsPages() throws {
        let server = try CannedHTTPServer([
            .init(status: 200, body: page([(id: "m0", points: [("2026-11-30T08:03:00Z", "3"),
                                                                ("2026-11-30T08:02:00Z", "2")])],
                                          nextToken: "page-2 token/+=", status: "PartialData")),
            .init(status: 200, body: page([(id: "m0", points: [("2026-11-30T08:01:00Z", "1")])])),
        ])
        defer { server.stop() }
        let metrics = try client(server).shardMetrics(
            stream: "demo", shardIds: ["shardId-000000000000"], metrics: ["IncomingRecords"],
            start: date("2026-11-30T08:00:00Z"), end: date("2026-11-30T08:05:00Z"))
        #expect(metrics["shardId-000000000000"]?["IncomingRecords"]?.map(\.value) == [1, 2, 3])
        let requests = server.distinctRequests
        #expect(requests.count == 2)
        #expect(requests.first?.form["NextToken"] == nil)
        #expect(requests.last?.form["NextToken"] == "page-2 token/+=")
        #expect(requests.last?.form["MetricDataQueries.member.1.Id"] == "m0")
    }

    @Test func aServerRepeatingItsNextTokenIsCutOff() throws {
        let looping = page([], nextToken: "same")
        let server = try CannedHTTPServer([.init(status: 200, body: looping), .init(status: 200, body: looping)])
        defer { server.stop() }
        #expect(throws: CloudWatchError.self) {
            try client(server).getMetricData([], start: Date(timeIntervalSince1970: 0),
                                             end: Date(timeIntervalSince1970: 60))
        }
        #expect(server.distinctRequests.count == 2)
    }

    @Test func batchesAtMost500QueriesPerCall() throws {
        let server = try CannedHTTPServer([.init(status: 200, body: page([])), .init(status: 200, body: page([]))])
        defer { server.stop() }
        // 72 shards × 7 metrics = 504 queries.
        let shards = (0..<72).map { "shardId-0000000000" + ($0 < 10 ? "0" : "") + String($0) }
        let metrics = try client(server).shardMetrics(stream: "s", shardIds: shards,
                                                      start: date("2026-11-30T08:00:00Z"),
                                                      end: date("2026-11-30T08:05:00Z"))
        #expect(metrics.count == 72)
        #expect(metrics.values.allSatisfy { $0.count == 7 && $0.values.allSatisfy(\.isEmpty) })
        let requests = server.distinctRequests
        #expect(requests.count == 2)
        #expect(requests[0].form["MetricDataQueries.member.500.Id"] == "m499")
        #expect(requests[0].form["MetricDataQueries.member.501.Id"] == nil)
        #expect(requests[1].form["MetricDataQueries.member.4.Id"] == "m503")
        #expect(requests[1].form["MetricDataQueries.member.5.Id"] == nil)
        #expect(throws: CloudWatchError.self) {
            try client(server).getMetricData(Array(repeating: MetricDataQuery(
                id: "m", namespace: "n", metricName: "x", dimensions: [], period: 60, stat: "Sum"), count: 501),
                start: Date(), end: Date())
        }
    }

    @Test func serviceErrorsReachTheCaller() throws {
        let server = try CannedHTTPServer([
            .init(status: 400, body: "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                  + "<Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>",
                  headers: ["Content-Type": "text/xml"]),
            .init(status: 200, body: page([(id: "m0", points: [])], status: "Forbidden")),
        ], replayRepeats: false)  // the same call twice: equal bodies are meant to get the next reply
        defer { server.stop() }
        let cw = client(server)
        let start = date("2026-11-30T08:00:00Z"), end = date("2026-11-30T08:05:00Z")
        #expect(throws: CloudWatchError(.service, code: "Throttling", message: "Rate exceeded", httpStatus: 400)) {
            try cw.shardMetrics(stream: "s", shardIds: ["a"], metrics: ["IncomingBytes"], start: start, end: end)
        }
        #expect(throws: CloudWatchError(.service, code: "Forbidden", message: "IncomingBytes of a: no data")) {
            try cw.shardMetrics(stream: "s", shardIds: ["a"], metrics: ["IncomingBytes"], start: start, end: end)
        }
    }

    @Test func transportAndCredentialFailures() throws {
        let server = try CannedHTTPServer([])
        let port = server.port
        server.stop()  // nothing listens there now
        let refused = CloudWatchClient(endpoint: URL(string: "http://127.0.0.1:\(port)")!, region: "us-east-1",
                                       credentialsProvider: credentials, timeout: .seconds(3))
        do {
            _ = try refused.getMetricData([], start: Date(), end: Date())
            Issue.record("expected a transport error")
        } catch {
            #expect(error.kind == .transport)
            #expect(error.message.hasPrefix("cannot reach http://127.0.0.1:\(port)"))
        }
        let expired = AWSCredentialsProvider(
            initial: AWSExpiringCredentials(credentials: AWSCredentials(accessKeyId: "A", secretAccessKey: "S"),
                                            expiration: Date(timeIntervalSince1970: 0)),
            source: { () throws(AWSCredentialError) -> AWSExpiringCredentials in
                throw AWSCredentialError(.process, "helper failed")
            })
        let noCredentials = CloudWatchClient(endpoint: URL(string: "http://127.0.0.1:\(port)")!, region: "us-east-1",
                                             credentialsProvider: expired)
        #expect(throws: CloudWatchError(.credentials, code: "NoCredentials", message: "helper failed")) {
            try noCredentials.getMetricData([], start: Date(), end: Date())
        }
    }

    // MARK: endpoints and the enable command

    @Test(arguments: [
        ("https://kinesis.us-east-1.amazonaws.com", "https://monitoring.us-east-1.amazonaws.com"),
        ("https://kinesis.eu-west-1.amazonaws.com/", "https://monitoring.eu-west-1.amazonaws.com"),
        ("https://kinesis-fips.us-gov-west-1.amazonaws.com", "https://monitoring-fips.us-gov-west-1.amazonaws.com"),
        ("https://kinesis.cn-north-1.amazonaws.com.cn", "https://monitoring.cn-north-1.amazonaws.com.cn"),
        ("https://kinesis.us-east-1.api.aws", "https://monitoring.us-east-1.api.aws"),
        ("https://vpce-0abc-xyz.kinesis.us-east-1.vpce.amazonaws.com", "https://monitoring.ap-south-1.amazonaws.com"),
        ("http://localhost:4566", "http://localhost:4566"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000/"),
        ("https://kinesis.internal.example.com", "https://kinesis.internal.example.com"),
    ])
    func monitoringEndpoints(kinesis: String, monitoring: String) {
        #expect(CloudWatchClient.monitoringEndpoint(forKinesisEndpoint: URL(string: kinesis)!, region: "ap-south-1")
                    .absoluteString == monitoring)
    }

    @Test func enableEnhancedMonitoringCommand() {
        #expect(KinesisShardMetrics.enableCommand(stream: "demo")
                == "aws kinesis enable-enhanced-monitoring --stream-name demo --shard-level-metrics IncomingBytes "
                + "IncomingRecords OutgoingBytes OutgoingRecords WriteProvisionedThroughputExceeded "
                + "ReadProvisionedThroughputExceeded IteratorAgeMilliseconds")
        #expect(KinesisShardMetrics.enableCommand(stream: "it's", metrics: ["IncomingBytes"], region: "eu-west-1",
                                                  profile: "my profile", endpoint: URL(string: "http://localhost:4566"))
                == "aws kinesis enable-enhanced-monitoring --stream-name 'it'\\''s' "
                + "--shard-level-metrics IncomingBytes --region eu-west-1 --profile 'my profile' "
                + "--endpoint-url http://localhost:4566")
        #expect(KinesisShardMetrics.enableCommand(stream: "s", metrics: []).hasSuffix("--shard-level-metrics ALL"))
        #expect(KinesisShardMetrics.statistic(for: "IteratorAgeMilliseconds") == "Maximum")
        #expect(KinesisShardMetrics.statistic(for: "WriteProvisionedThroughputExceeded") == "Sum")
    }

    // MARK: timestamps

    @Test func timestampsParseAndFormat() {
        #expect(AWSTimestamp.parse("1970-01-01T00:00:00Z") == Date(timeIntervalSince1970: 0))
        #expect(AWSTimestamp.parse("2024-02-29T23:59:59Z") == Date(timeIntervalSince1970: 1_709_251_199))
        #expect(AWSTimestamp.parse("2026-11-30T14:00:00+02:00") == AWSTimestamp.parse("2026-11-30T12:00:00Z"))
        #expect(AWSTimestamp.parse("2026-11-30T10:30:00-01:30") == AWSTimestamp.parse("2026-11-30T12:00:00Z"))
        #expect(AWSTimestamp.parse("1969-12-31T23:59:59.5Z") == Date(timeIntervalSince1970: -0.5))
        for bad in ["2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-11-30T24:00:00Z",
                    "2026-11-30T12:60:00Z", "2026-11-30T12:00:00", "2026-11-30T12:00:00.Z", "2026-11-30 12:00:00Z",
                    "2026-11-30T12:00:00Zjunk", "2026-11-30T12:00:00+0200", "", "２026-11-30T12:00:00Z"] {
            #expect(AWSTimestamp.parse(bad) == nil, "\(bad)")
        }
        #expect(AWSTimestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(AWSTimestamp.format(Date(timeIntervalSince1970: 1_709_251_199.999)) == "2024-02-29T23:59:59Z")
        #expect(AWSTimestamp.format(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
        #expect(AWSTimestamp.format(.distantFuture) == "4001-01-01T00:00:00Z")
        #expect(AWSTimestamp.format(Date(timeIntervalSince1970: .infinity)) == "1970-01-01T00:00:00Z")
        #expect(AWSTimestamp.format(Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59Z")
        for t in stride(from: -86_400.0 * 800, to: 86_400.0 * 800, by: 86_400.0 * 13 + 3_607) {
            let date = Date(timeIntervalSince1970: t)
            #expect(AWSTimestamp.parse(AWSTimestamp.format(date)) == date)
        }
    }

    // MARK: against a running moto_server

    /// Set `KTOP_MOTO_URL=http://127.0.0.1:5999` with `python3 -m moto.server -p 5999` running.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KTOP_MOTO_URL"] != nil, "KTOP_MOTO_URL is not set"))
    func againstMoto() throws {
        let endpoint = try #require(URL(string: ProcessInfo.processInfo.environment["KTOP_MOTO_URL"] ?? ""))
        let stream = "ktop-cw-\(UInt32.random(in: 0...UInt32.max))"
        let minute = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60
        // PutMetricData through the same query protocol, two shards, three minutes.
        var fields = ["Action=PutMetricData", "Version=2010-08-01", "Namespace=AWS%2FKinesis"]
        var n = 0
        for (s, shard) in ["shardId-000000000000", "shardId-000000000001"].enumerated() {
            for m in 1...3 {
                for (metric, value) in [("IncomingBytes", 1000 * m + s), ("IteratorAgeMilliseconds", 10 * m + s)] {
                    n += 1
                    let p = "MetricData.member.\(n)."
                    fields += ["\(p)MetricName=\(metric)", "\(p)Value=\(value)",
                               "\(p)Timestamp="
                                   + AWSTimestamp.format(Date(timeIntervalSince1970: minute - Double(60 * m)))
                                       .replacingOccurrences(of: ":", with: "%3A"),
                               "\(p)Dimensions.member.1.Name=StreamName", "\(p)Dimensions.member.1.Value=\(stream)",
                               "\(p)Dimensions.member.2.Name=ShardId", "\(p)Dimensions.member.2.Value=\(shard)"]
                }
            }
        }
        var put = URLRequest(url: endpoint)
        put.httpMethod = "POST"
        put.setValue("application/x-www-form-urlencoded; charset=utf-8", forHTTPHeaderField: "Content-Type")
        put.setValue("AWS4-HMAC-SHA256 Credential=AKIDCW/20260101/us-east-1/monitoring/aws4_request, "
                     + "SignedHeaders=host, Signature=00", forHTTPHeaderField: "Authorization")
        put.httpBody = Data(fields.joined(separator: "&").utf8)
        let done = LockedValue<Int?>(nil)
        let finished = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: put) { _, response, _ in
            done.withLock { $0 = (response as? HTTPURLResponse)?.statusCode ?? -1 }
            finished.signal()
        }.resume()
        _ = finished.wait(timeout: .now() + 10)
        #expect(done.withLock { $0 } == 200)

        let cw = CloudWatchClient(endpoint: endpoint, region: "us-east-1", credentialsProvider: credentials)
        let metrics = try cw.shardMetrics(
            stream: stream, shardIds: ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"],
            metrics: ["IncomingBytes", "IteratorAgeMilliseconds", "OutgoingBytes"],
            start: Date(timeIntervalSince1970: minute - 600), end: Date(timeIntervalSince1970: minute + 60))
        #expect(metrics["shardId-000000000000"]?["IncomingBytes"]?.map(\.value) == [3000, 2000, 1000])
        #expect(metrics["shardId-000000000001"]?["IncomingBytes"]?.map(\.value) == [3001, 2001, 1001])
        #expect(metrics["shardId-000000000001"]?["IteratorAgeMilliseconds"]?.map(\.value) == [31, 21, 11])
        #expect(metrics["shardId-000000000000"]?["IncomingBytes"]?.map(\.timestamp)
                == [3, 2, 1].map { Date(timeIntervalSince1970: minute - Double(60 * $0)) })
        #expect(metrics["shardId-000000000000"]?["OutgoingBytes"] == [])
        #expect(metrics["shardId-000000000002"]?["IncomingBytes"] == [])
    }
}
