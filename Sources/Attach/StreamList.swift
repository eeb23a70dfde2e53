import Foundation
import StreamEngine

/// One stream of an endpoint, for the stream picker. ListStreams gives the
/// summaries since 2022; older endpoints (kinesalite) give only names, so
/// everything but the name may be missing.
public struct StreamChoice: Sendable, Equatable {
    public var name: String
    public var arn: String?
    public var status: StreamStatus?
    public var mode: StreamMode?
    public var createdAt: Instant?

    public init(name: String, arn: String? = nil, status: StreamStatus? = nil, mode: StreamMode? = nil,
                createdAt: Instant? = nil) {
        self.name = name; self.arn = arn; self.status = status; self.mode = mode; self.createdAt = createdAt
    }
}

extension AttachClient {
    /// Every stream of the endpoint, in name order, following ListStreams' pages.
    ///
    /// Pages by NextToken, or by ExclusiveStartStreamName (the last name) when an
    /// endpoint says HasMoreStreams without a token. ListStreams allows 5 calls a
    /// second per account (KINESIS.md §3), shared with everything else the account
    /// runs, so this makes at most `callsPerSecond` calls before pausing for a second,
    /// and on LimitExceededException pauses (1, 2, 4… up to 8 s) and tries again,
    /// `maxRetries` times. `pause` waits (the thread sleeps; tests advance a manual clock).
    public func listAllStreams(pageSize: Int? = nil, callsPerSecond: Int = 4, maxPages: Int = 1_000,
                               maxRetries: Int = 5,
                               pause: (Duration) -> Void = {
                                   Thread.sleep(forTimeInterval: Double($0.milliseconds) / 1000)
                               })
    throws(KinesisError) -> [StreamChoice] {
        var out: [StreamChoice] = []
        var seen = Set<String>()
        var token: String?
        var after: String?
        var pages = 0
        var callsThisSecond = 0
        var retries = 0
        while pages < maxPages {
            if callsThisSecond >= max(callsPerSecond, 1) {
                pause(.seconds(1))
                callsThisSecond = 0
            }
            let input = token.map { ListStreamsInput(limit: pageSize, nextToken: $0) }
                ?? ListStreamsInput(limit: pageSize, exclusiveStartStreamName: after)
            let page: ListStreamsOutput
            callsThisSecond += 1
            do {
                page = try listStreams(input)
            } catch where error.type == .limitExceeded && retries < maxRetries {
                retries += 1
                pause(.seconds(Int64(1) << min(retries - 1, 3)))
                callsThisSecond = 0
                continue
            }
            retries = 0
            pages += 1
            let summaries = Dictionary(page.streamSummaries.map { ($0.streamName, $0) },
                                       uniquingKeysWith: { a, _ in a })
            var names = page.streamNames
            for s in page.streamSummaries where !names.contains(s.streamName) { names.append(s.streamName) }
            for name in names where seen.insert(name).inserted {
                let s = summaries[name]
                out.append(StreamChoice(name: name, arn: s?.streamARN, status: s?.streamStatus,
                                        mode: s?.streamModeDetails?.streamMode,
                                        createdAt: s?.streamCreationTimestamp.map(Instant.init)))
            }
            guard page.hasMoreStreams || page.nextToken != nil else { break }
            if let next = page.nextToken {
                token = next
            } else if let last = names.last, last != after {
                token = nil
                after = last
            } else {
                break // "more" without a way to ask for it: stop rather than loop
            }
        }
        return out.sorted { $0.name < $1.name }
    }
}
