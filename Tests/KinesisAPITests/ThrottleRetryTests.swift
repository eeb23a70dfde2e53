import StreamEngine
import Testing

@testable import KinesisAPI

/// A command's one-off control-plane calls ride out a throttled second as the SDKs do, and nothing else.
@Suite struct ThrottleRetryTests {
    @Test func throttlesAreRetriedWithGrowingBackoffThenSucceed() throws {
        var calls = 0
        var waits: [Duration] = []
        let value = try ThrottleRetry.run(
            sleep: { waits.append($0) }, jitter: { 1 }
        ) { () throws(KinesisError) -> Int in
            calls += 1
            if calls < 4 { throw KinesisError(.limitExceeded, "Rate exceeded for DescribeStreamSummary") }
            return 42
        }
        #expect(value == 42 && calls == 4)
        #expect(waits == [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
    }

    @Test func theLastThrottleIsThrownAfterTheAttempts() {
        var calls = 0
        var waits = 0
        #expect(throws: KinesisError.self) {
            try ThrottleRetry.run(
                attempts: 5, sleep: { _ in waits += 1 }, jitter: { 1.49 }
            ) { () throws(KinesisError) in
                calls += 1
                throw KinesisError(.limitExceeded, "Rate exceeded")
            }
        }
        #expect(calls == 5 && waits == 4)
        // One attempt: no retry at all.
        calls = 0
        #expect(throws: KinesisError.self) {
            try ThrottleRetry.run(attempts: 1, sleep: { _ in waits += 1 }) { () throws(KinesisError) in
                calls += 1
                throw KinesisError(.limitExceeded, "Rate exceeded")
            }
        }
        #expect(calls == 1 && waits == 4)
    }

    @Test func otherErrorsAreThrownAtOnce() {
        var calls = 0
        var waited = false
        #expect(throws: KinesisError.self) {
            try ThrottleRetry.run(sleep: { _ in waited = true }) { () throws(KinesisError) in
                calls += 1
                throw KinesisError(.resourceNotFound, "Stream s under account 123456789012 not found.")
            }
        }
        #expect(calls == 1 && !waited)
    }

    @Test func theBackoffDoublesWithinItsJitterAndStaysBounded() {
        #expect(ThrottleRetry.delay(beforeAttempt: 2, jitter: 0.5) == .milliseconds(50))
        #expect(ThrottleRetry.delay(beforeAttempt: 3, jitter: 1.0) == .milliseconds(200))
        // A huge attempt number neither traps nor grows past 2^10 · 100 ms · jitter.
        #expect(ThrottleRetry.delay(beforeAttempt: .max, jitter: 1.0) == .milliseconds(102_400))
        #expect(ThrottleRetry.delay(beforeAttempt: .min, jitter: 1.0) == .milliseconds(100))
    }
}
