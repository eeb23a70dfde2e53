import Foundation
import StreamEngine

/// A control-plane call retried on LimitExceededException, as the AWS SDKs retry throttling in their standard
/// mode (up to 5 attempts, exponential backoff with jitter).
///
/// ``KinesisHTTPClient`` never retries (the load generator counts every refusal). A command's one-off checks
/// do: the per-account quotas (DescribeStreamSummary: 20 calls a second) refill within a second, and a test
/// suite or another client of the same account may have spent them just before (`ktop sql --into` after a
/// script polled the new stream until ACTIVE failed that way).
public enum ThrottleRetry {
    /// Backoff before attempt `n` (1-based, n ≥ 2): 100 ms · 2^(n−2), times a jitter in [0.5, 1.5).
    public static func delay(beforeAttempt n: Int, jitter: Double) -> Duration {
        // Capped at 2^10 steps; compared before subtracting, so no attempt number can overflow.
        let doublings = n <= 2 ? 0 : n >= 12 ? 10 : n - 2
        return .milliseconds(Int64((100 * Double(1 << doublings) * jitter).rounded()))
    }

    /// Blocks the calling thread for `d` (a command's own thread, never an event loop).
    public static func wait(_ d: Duration) {
        let c = d.components
        Thread.sleep(forTimeInterval: Double(c.seconds) + Double(c.attoseconds) / 1e18)
    }

    /// `body`'s result; a LimitExceededException is retried up to `attempts` calls in all, then thrown;
    /// any other error is thrown at once. `sleep` waits out the backoff (injected by tests).
    public static func run<T>(
        attempts: Int = 5, sleep: (Duration) -> Void = ThrottleRetry.wait,
        jitter: () -> Double = { Double.random(in: 0.5..<1.5) },
        _ body: () throws(KinesisError) -> T
    ) throws(KinesisError) -> T {
        var attempt = 1
        while true {
            do {
                return try body()
            } catch where error.type == .limitExceeded && attempt < attempts {
                attempt += 1
                sleep(delay(beforeAttempt: attempt, jitter: jitter()))
            }
        }
    }
}
