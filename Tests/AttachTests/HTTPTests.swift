import Foundation
import Testing
import KinesisAPI
import StreamEngine
@testable import Attach

/// The watcher over the real HTTP client and a loopback ktop server (the engine
/// still on a manual clock): what `ktop attach` does against an endpoint.
@Suite struct HTTPTests {
    /// Runs `body` on a thread of its own: the HTTP client blocks its caller.
    private func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            Thread.detachNewThread { c.resume(with: Result { try body() }) }
        }
    }

    @Test func watchesAStreamOverHTTPWithExactCounts() async throws {
        let rig = Rig()
        try rig.create(shards: 3)
        let server = KinesisServer(engine: rig.engine, configuration: .init(
            host: "127.0.0.1", port: 0, threads: 1, shutdownGracePeriod: .milliseconds(200)))
        let port = try await server.start()
        let endpoint = URL(string: "http://127.0.0.1:\(port)")!
        let client = KinesisHTTPClient(endpoint: endpoint, region: "us-east-1",
                                       credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"),
                                       timeout: .seconds(30))
        let rigBox = UncheckedBox(rig)
        let (records, truth, names, state) = try await offThread { () -> (Int64, Int64, [String], String) in
            let rig = rigBox.value
            let w = StreamWatcher(client: client, options: WatchOptions(stream: "s", endpoint: endpoint.absoluteString,
                                                                        maxReadsPerSecond: 2))
            w.step(now: rig.now)
            try rig.run(w, seconds: 12) { i in if i < 6 { for k in 0..<9 { try rig.put(key: "k\(k)", count: 2) } } }
            let sample = try #require(w.sample(now: rig.now))
            let names = try client.listAllStreams(pause: { rig.clock.advance(by: $0) }).map(\.name)
            return (sample.shards.reduce(0) { $0 + $1.counters.incomingRecords },
                    rig.truth().values.reduce(0) { $0 + $1.counters.incomingRecords }, names, "\(w.state)")
        }
        try await server.shutdown()
        #expect(truth == 6 * 9 * 2)
        #expect(records == truth)
        #expect(names == ["s"])
        #expect(state == "connected")
    }

    @Test func readsByEnhancedFanOutOverHTTP() async throws {
        let rig = Rig()
        try rig.create(shards: 2)
        // The server looks for new records every 5 ms of real time, so events keep up with the test.
        let server = KinesisServer(engine: rig.engine, configuration: .init(
            host: "127.0.0.1", port: 0, threads: 1, shutdownGracePeriod: .milliseconds(200),
            subscriptionPollAfterRecords: .milliseconds(5), subscriptionPollWhenIdle: .milliseconds(5)))
        let port = try await server.start()
        let endpoint = URL(string: "http://127.0.0.1:\(port)")!
        let client = KinesisHTTPClient(endpoint: endpoint, region: "us-east-1",
                                       credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"),
                                       timeout: .seconds(30))
        let rigBox = UncheckedBox(rig)
        let (counted, truth, pipes, consumers) = try await offThread { () -> (Int64, Int64, Int64, [String]) in
            let rig = rigBox.value
            var options = WatchOptions(stream: "s", endpoint: endpoint.absoluteString)
            options.fanOutConsumer = "ktop-attach-http-1"
            let w = StreamWatcher(client: client, options: options)
            w.step(now: rig.now)
            let expected: Int64 = 5 * 8 * 2
            // Manual seconds; a short real pause after each so the pushed events arrive
            // (at most 200 of them: 6 s of real time on a loaded machine).
            for i in 0..<200 {
                if i < 5 { for k in 0..<8 { try rig.put(key: "k\(k)", count: 2) } }
                w.step(now: rig.now)
                rig.clock.advance(by: .seconds(1))
                Thread.sleep(forTimeInterval: 0.03)
                let counted = w.sample(now: rig.now)?.shards.reduce(0) { $0 + $1.counters.incomingRecords } ?? 0
                if i >= 8 && counted == expected { break }
            }
            let sample = try #require(w.sample(now: rig.now))
            w.close(now: rig.now)
            let own = sample.consumers.first { $0.name == "ktop-attach-http-1" }
            let remaining = try client.listStreamConsumers(ListStreamConsumersInput(streamARN: sample.arn))
            return (sample.shards.reduce(0) { $0 + $1.counters.incomingRecords },
                    rig.truth().values.reduce(0) { $0 + $1.counters.incomingRecords },
                    own?.shards.values.reduce(0) { $0 + $1.records } ?? -1,
                    remaining.consumers.filter { $0.consumerStatus != .deleting }.map(\.consumerName))
        }
        try await server.shutdown()
        #expect(truth == 80)
        #expect(counted == truth)
        #expect(pipes == truth)
        #expect(consumers.isEmpty) // deregistered by close
    }

    @Test func anUnreachableEndpointIsDisconnectedNotFatal() async throws {
        let clock = ManualClock()
        // A port nothing listens on: bind one, note it, close it.
        let server = KinesisServer(engine: KinesisEngine(clock: clock), configuration: .init(
            host: "127.0.0.1", port: 0, threads: 1, shutdownGracePeriod: .milliseconds(100)))
        let port = try await server.start()
        try await server.shutdown()
        let client = KinesisHTTPClient(endpoint: URL(string: "http://127.0.0.1:\(port)")!, region: "us-east-1",
                                       credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret"),
                                       timeout: .seconds(2))
        let (state, events) = try await offThread { () -> (String, [String]) in
            let w = StreamWatcher(client: client, options: WatchOptions(stream: "s"))
            w.step(now: clock.now())
            clock.advance(by: .seconds(1))
            w.step(now: clock.now())
            return ("\(w.state)", w.takeEvents().map(\.text))
        }
        #expect(state.hasPrefix("disconnected"))
        #expect(events.count == 2 && events.allSatisfy { $0.contains("cannot reach") })
    }
}

/// Hands a value that is only ever used by one thread at a time to another thread.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
