import Foundation
import Testing

@testable import StreamEngine

/// Each state change's delay on its own (`--delay-ms` and the per-transition flags feed
/// ``StatusDelays``): a delay of 0 settles on the very next call without a tick, and a
/// delay of N ms keeps the old status until exactly N ms have passed.
@Suite struct StatusDelayTests {
    enum Transition: String, CaseIterable, CustomStringConvertible {
        case create, delete, update, consumerCreate, consumerDelete
        var description: String { rawValue }
    }

    static let cases: [(Transition, Int64)] = Transition.allCases.flatMap { t -> [(Transition, Int64)] in
        [(t, 0), (t, 1), (t, 300)]
    }

    /// Only `transition` is slow; the others are immediate, so the test isolates one field.
    func harness(_ transition: Transition, ms: Int64) -> Harness {
        var d = StatusDelays.immediate
        let v = Duration.milliseconds(ms)
        switch transition {
        case .create: d.create = v
        case .delete: d.delete = v
        case .update: d.update = v
        case .consumerCreate: d.consumerCreate = v
        case .consumerDelete: d.consumerDelete = v
        }
        return Harness(delays: d)
    }

    /// Starts the transition and returns a probe saying whether it has completed.
    func start(_ t: Transition, _ h: Harness) throws -> () throws -> Bool {
        let arn = "arn:aws:kinesis:us-east-1:\(account):stream/s"
        if t != .create { _ = try h.k.createStream(CreateStreamInput(streamName: "s", shardCount: 2)) }
        switch t {
        case .create:
            _ = try h.k.createStream(CreateStreamInput(streamName: "s", shardCount: 2))
            // Writable exactly when ACTIVE: a client that puts right after CreateStream sees it.
            return { (try? h.put()) != nil && (try? h.status()) == .active }
        case .delete:
            _ = try h.k.deleteStream(DeleteStreamInput(streamName: "s"))
            return { (try? h.status()) == nil }
        case .update:
            _ = try h.k.updateShardCount(UpdateShardCountInput(streamName: "s", targetShardCount: 4))
            return {
                try h.status() == .active
                    && h.describeAllShards().filter { $0.sequenceNumberRange.endingSequenceNumber == nil }.count == 4
            }
        case .consumerCreate:
            let c = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c"))
                .consumer
            return {
                try h.k.describeStreamConsumer(StreamConsumerInput(consumerARN: c.consumerARN))
                    .consumerDescription.consumerStatus == .active
            }
        case .consumerDelete:
            let c = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c"))
                .consumer
            _ = try h.k.deregisterStreamConsumer(StreamConsumerInput(consumerARN: c.consumerARN))
            return { (try? h.k.describeStreamConsumer(StreamConsumerInput(consumerARN: c.consumerARN))) == nil }
        }
    }

    @Test(arguments: cases)
    func transitionTakesItsDelay(_ t: Transition, _ ms: Int64) throws {
        let h = harness(t, ms: ms)
        let done = try start(t, h)
        if ms > 0 {
            #expect(try !done(), "\(t) completed before its \(ms) ms")
            h.advance(.milliseconds(ms) - .nanoseconds(1))
            #expect(try !done(), "\(t) completed 1 ns before its \(ms) ms")
            h.advance(.nanoseconds(1))
        }
        // No tick: the engine settles the change on the call that looks.
        #expect(try done(), "\(t) not complete after \(ms) ms")
    }

    @Test func commandLineMillisecondsBoundaries() {
        #expect(StatusDelays.duration(milliseconds: 0) == .zero)
        #expect(StatusDelays.duration(milliseconds: 0.5) == .microseconds(500))
        #expect(StatusDelays.duration(milliseconds: 3_600_000) == .seconds(3_600))
        #expect(StatusDelays.duration(milliseconds: 3_600_000.001) == nil)
        #expect(StatusDelays.duration(milliseconds: -0.001) == nil)
        #expect(StatusDelays.duration(milliseconds: .nan) == nil)
        #expect(StatusDelays.duration(milliseconds: .infinity) == nil)
        #expect(StatusDelays.duration(milliseconds: 1e300) == nil)
    }
}
