import Foundation
import StreamEngine

/// Hands out the credentials to sign the next request with, and renews temporary ones
/// before they expire: ``KinesisHTTPClient`` and ``CloudWatchClient`` ask it once per
/// request.
///
/// Fixed credentials (environment, profile keys) are returned as they are. Credentials
/// from a refreshable source (a `credential_process`) are fetched again once their
/// expiration is less than ``refreshWindow`` away (5 minutes), by one caller at a time;
/// meanwhile other callers keep signing with the still-valid ones. When a renewal fails
/// and the old credentials have not yet expired, they are used on and the renewal is
/// retried after ``retryAfterFailure``; once they have expired, the failure is thrown
/// (and the source is not run again before ``retryAfterFailure`` has passed, so a
/// broken helper is not started once per request).
///
/// Thread-safe: state lives in `LockedValue`s (ThreadSanitizer cannot see the standard
/// library's `Mutex` on Linux).
public final class AWSCredentialsProvider: Sendable {
    public static let refreshWindow: TimeInterval = 5 * 60
    public static let retryAfterFailure: TimeInterval = 30

    private struct State {
        var current: AWSExpiringCredentials
        var refreshing = false
        var lastFailure: (at: Date, error: AWSCredentialError)?
    }

    private enum Step {
        case use(AWSCredentials)
        case fail(AWSCredentialError)
        case refresh
    }

    private let state: LockedValue<State>
    /// Held while the source runs, so only one caller renews.
    private let renewal = LockedValue<Void>(())
    private let source: (@Sendable () throws(AWSCredentialError) -> AWSExpiringCredentials)?
    private let now: @Sendable () -> Date

    /// Fixed credentials that never need renewing.
    public init(_ credentials: AWSCredentials) {
        state = LockedValue(State(current: AWSExpiringCredentials(credentials: credentials)))
        source = nil
        now = { Date() }
    }

    /// Credentials renewed from `source` before they expire.
    /// - Parameters:
    ///   - initial: what `source` returned first (the caller ran it to report errors early).
    ///   - now: the clock deciding when they are due (tests inject one).
    public init(initial: AWSExpiringCredentials,
                source: @escaping @Sendable () throws(AWSCredentialError) -> AWSExpiringCredentials,
                now: @escaping @Sendable () -> Date = { Date() }) {
        state = LockedValue(State(current: initial))
        self.source = source
        self.now = now
    }

    /// The expiration of the credentials now held (nil: they never expire).
    public var expiration: Date? { state.withLock { $0.current.expiration } }

    /// The credentials to sign with now, renewed first if due.
    public func credentials() throws(AWSCredentialError) -> AWSCredentials {
        guard let source else { return state.withLock { $0.current.credentials } }
        switch state.withLock({ Self.step($0, at: now()) }) {
        case .use(let credentials): return credentials
        case .fail(let error): throw error
        case .refresh: break
        }
        return try renewal.withLock { (_: inout Void) throws(AWSCredentialError) -> AWSCredentials in
            // Another caller may have renewed while this one waited.
            let start = now()
            switch state.withLock({ Self.step($0, at: start) }) {
            case .use(let credentials): return credentials
            case .fail(let error): throw error
            case .refresh: break
            }
            state.withLock { $0.refreshing = true }
            do throws(AWSCredentialError) {
                let fresh = try source()
                state.withLock { $0 = State(current: fresh) }
                return fresh.credentials
            } catch {
                let failedAt = now()
                return try state.withLock { (s: inout State) throws(AWSCredentialError) -> AWSCredentials in
                    s.refreshing = false
                    s.lastFailure = (failedAt, error)
                    if let expiration = s.current.expiration, failedAt >= expiration { throw error }
                    return s.current.credentials
                }
            }
        }
    }

    private static func step(_ s: State, at now: Date) -> Step {
        guard let expiration = s.current.expiration, now >= expiration - refreshWindow else {
            return .use(s.current.credentials)
        }
        let stillValid = now < expiration
        if s.refreshing && stillValid { return .use(s.current.credentials) }
        if let failure = s.lastFailure, now < failure.at + retryAfterFailure {
            return stillValid ? .use(s.current.credentials) : .fail(failure.error)
        }
        return .refresh
    }
}
