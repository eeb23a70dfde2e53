import Foundation
import StreamEngine

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A SubscribeToShard over HTTP: the `application/vnd.amazon.eventstream`
/// reply (KINESIS.md §1.7) read incrementally in the background, its
/// `SubscribeToShardEvent`s buffered in arrival order.
///
/// ``nextEvent()`` never waits for the network once the first event has come
/// (it is called from a load generator's step loop):
///
/// * the oldest buffered event, if any;
/// * the error of an `exception` frame (ResourceInUseException when a newer
///   subscription took over, …) or of a broken connection, once, after the
///   events that came before it;
/// * nil once the stream has ended (Kinesis ends every subscription after 5
///   minutes) or after the shard-end event (null ContinuationSequenceNumber);
/// * otherwise — nothing new yet — an event with **no records**, the last
///   event's ContinuationSequenceNumber and MillisBehindLatest, and no
///   ChildShards. Before the first event has arrived it waits for it (Kinesis
///   and ktop send one at once), at most the client's timeout.
///
/// Dropping the last reference (or ``cancel()``) closes the connection.
/// Events are buffered without bound while nobody calls ``nextEvent()``:
/// a subscription is meant to be read continuously (Kinesis itself pushes at
/// most 2 MiB/s per shard and consumer).
public final class KinesisHTTPSubscription: Sendable {
    private let state: SubscriptionState
    private let router: StreamRouter
    private let taskIdentifier: Int

    init(state: SubscriptionState, router: StreamRouter, taskIdentifier: Int) {
        self.state = state
        self.router = router
        self.taskIdentifier = taskIdentifier
    }

    deinit { cancel() }

    public func nextEvent() throws(KinesisError) -> SubscribeToShardEvent? {
        try state.nextEvent()
    }

    /// Ends the subscription: the connection is closed, later ``nextEvent()`` calls return nil.
    public func cancel() {
        state.close()
        router.remove(taskIdentifier)
    }

    /// Events received and not yet returned by ``nextEvent()``.
    public var bufferedEvents: Int { state.bufferedCount }
}

/// Everything one SubscribeToShard task has received, guarded by a condition
/// the waiting caller sleeps on.
// @unchecked: every mutable field is touched only while holding the NSCondition.
final class SubscriptionState: @unchecked Sendable {
    private let condition = NSCondition()
    private let endpoint: String
    private let timeout: Duration
    /// Set once, before the task is resumed.
    nonisolated(unsafe) var task: URLSessionDataTask?

    private var status: Int?
    private var errorHeader: String?
    private var errorBody: [UInt8] = []
    private var decoder = EventStreamDecoder()
    private var accepted = false
    private var events: [SubscribeToShardEvent] = []
    private var failure: KinesisError?
    private var completed = false
    private var closed = false
    private var last: SubscribeToShardEvent?

    init(endpoint: String, timeout: Duration) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    private var deadline: Date { Date(timeIntervalSinceNow: Double(timeout.nanoseconds) / 1e9) }

    // MARK: the caller's side

    /// Waits for the initial response (or a first event); throws the error reply otherwise.
    func waitUntilAccepted() throws(KinesisError) {
        let until = deadline
        condition.lock()
        defer { condition.unlock() }
        while !accepted && failure == nil && !completed {
            if !condition.wait(until: until) { break }
        }
        if accepted { return }
        if let failure { throw failure }
        if completed {
            throw KinesisError(
                .internalFailure, "SubscribeToShard reply from \(endpoint) ended before its initial-response")
        }
        throw KinesisError(.internalFailure, "cannot reach \(endpoint): no SubscribeToShard reply within \(timeout)")
    }

    func nextEvent() throws(KinesisError) -> SubscribeToShardEvent? {
        condition.lock()
        defer { condition.unlock() }
        if closed { return nil }
        if last == nil && events.isEmpty && failure == nil && !completed {
            let until = deadline
            while events.isEmpty && failure == nil && !completed && !closed {
                if !condition.wait(until: until) { break }
            }
        }
        if !events.isEmpty {
            let event = events.removeFirst()
            last = event
            return event
        }
        if let failure {
            closed = true
            throw failure
        }
        if completed {
            closed = true
            return nil
        }
        guard var idle = last else {
            closed = true
            task?.cancel()
            throw KinesisError(.internalFailure, "no SubscribeToShardEvent from \(endpoint) within \(timeout)")
        }
        // The shard-end event was the last one there will ever be.
        if idle.continuationSequenceNumber == nil {
            closed = true
            return nil
        }
        idle.records = []
        idle.childShards = nil
        return idle
    }

    var bufferedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return events.count
    }

    func close() {
        condition.lock()
        let running = !completed
        closed = true
        condition.broadcast()
        condition.unlock()
        if running { task?.cancel() }
    }

    // MARK: URLSession's side

    func received(response: URLResponse) {
        condition.lock()
        let http = response as? HTTPURLResponse
        status = http?.statusCode ?? 0
        errorHeader = http?.value(forHTTPHeaderField: "X-Amzn-Errortype")
        let contentType = http?.value(forHTTPHeaderField: "Content-Type") ?? ""
        let notAStream =
            status == 200 && !contentType.isEmpty && !contentType.lowercased().hasPrefix(KinesisEventStream.contentType)
        if notAStream && failure == nil {
            // An endpoint without SubscribeToShard support (some emulators) answering 200 with something else.
            failure = KinesisError(
                .internalFailure,
                "\(endpoint) answered SubscribeToShard with Content-Type \(contentType), not "
                    + "\(KinesisEventStream.contentType)"
            )
            condition.broadcast()
        }
        condition.unlock()
        if notAStream { task?.cancel() }
    }

    func received(data: Data) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, failure == nil else { return }
        guard status == 200 else {
            if errorBody.count < 64 * 1024 { errorBody += data }
            return
        }
        decoder.append(data)
        do {
            while let message = try decoder.next() {
                handle(message)
                if failure != nil { break }
            }
        } catch {
            failure = KinesisError(.internalFailure, "malformed event stream from \(endpoint): \(error)")
        }
        condition.broadcast()
        if failure != nil { task?.cancel() }
    }

    private func handle(_ message: EventStreamMessage) {
        switch message[header: ":message-type"]?.stringValue {
        case "event":
            switch message[header: ":event-type"]?.stringValue {
            case "initial-response":
                accepted = true
            case "SubscribeToShardEvent":
                do {
                    events.append(try KinesisJSON.decode(SubscribeToShardEvent.self, from: message.payload))
                    accepted = true
                } catch {
                    failure = KinesisError(
                        .internalFailure, "cannot read a SubscribeToShardEvent from \(endpoint): \(error.message)")
                }
            default:
                break  // event types added to the model later are skipped, as the SDKs do
            }
        case "exception", "error":
            failure = KinesisErrorReply.error(streamMessage: message)
        default:
            break
        }
    }

    func completed(error: (any Error)?) {
        condition.lock()
        defer { condition.unlock() }
        completed = true
        if failure == nil && !closed {
            if let status, status != 200 {
                failure = KinesisErrorReply.error(
                    status: status, headerType: errorHeader, body: errorBody, endpoint: endpoint)
            } else if let error {
                failure = KinesisError(
                    .internalFailure, "cannot reach \(endpoint): \(KinesisHTTPClient.describe(error))")
            }
        }
        condition.broadcast()
    }
}

/// The stream session's delegate: hands each task's callbacks to its state.
// @unchecked: an NSObject subclass (URLSession's delegate); `states` is guarded by its NSLock.
final class StreamRouter: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var states: [Int: SubscriptionState] = [:]

    func register(_ state: SubscriptionState, for task: Int) {
        lock.lock()
        states[task] = state
        lock.unlock()
    }

    func remove(_ task: Int) {
        lock.lock()
        states[task] = nil
        lock.unlock()
    }

    private func state(_ task: URLSessionTask) -> SubscriptionState? {
        lock.lock()
        defer { lock.unlock() }
        return states[task.taskIdentifier]
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
    ) {
        state(dataTask)?.received(response: response)
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        state(dataTask)?.received(data: data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let s = state(task)
        s?.completed(error: error)
        remove(task.taskIdentifier)
    }
}
