import Foundation

/// The failures Kinesis clients must survive, which `--faults` injects on purpose so a test
/// suite can prove its retries (KINESIS.md §1.5, §2.4): a PutRecords entry failing with
/// `InternalFailure`, a whole call failing with InternalFailureException (500) or
/// ServiceUnavailableException (503), a slow reply, a connection reset with no reply, and a
/// SubscribeToShard stream ended by an InternalFailureException event.
public enum FaultKind: String, CaseIterable, Sendable, Hashable {
    case recordFailure = "record-failure"
    case internalError = "internal-error"
    case unavailable
    case latency
    case reset
    case subscribeEnd = "subscribe-end"

    /// The one operation a kind is bound to, if any (a per-record failure exists only in PutRecords).
    public var onlyOperation: KinesisOperation? {
        switch self {
        case .recordFailure: .putRecords
        case .subscribeEnd: .subscribeToShard
        default: nil
        }
    }
}

/// One `KIND[:OP]=PROBABILITY[@PARAM]` of a `--faults` spec.
public struct FaultRule: Sendable, Equatable {
    public var kind: FaultKind
    /// nil: every operation the kind applies to.
    public var operation: KinesisOperation?
    /// Chance per call (per entry for `record-failure`, per event for `subscribe-end`), 0…1.
    public var probability: Double
    /// For `latency`: the extra delay, drawn uniformly from this range (one value: fixed).
    public var latency: ClosedRange<Duration>?

    public init(
        kind: FaultKind, operation: KinesisOperation? = nil, probability: Double,
        latency: ClosedRange<Duration>? = nil
    ) {
        self.kind = kind
        self.operation = operation
        self.probability = probability
        self.latency = latency
    }
}

/// A bad `--faults` spec: the message names the part that is wrong.
public struct FaultSpecError: Error, Equatable, CustomStringConvertible {
    public var description: String
}

/// A parsed `--faults` spec: comma-separated `KIND[:OP]=PROBABILITY[@PARAM]`, e.g.
/// `record-failure=0.1,internal-error:GetRecords=0.01,latency=0.05@200ms,latency:PutRecords=0.1@50ms-2s`.
public struct FaultPlan: Sendable, Equatable {
    public var rules: [FaultRule]

    public init(rules: [FaultRule]) { self.rules = rules }

    /// Longest injected latency: a minute is past every SDK's default read timeout.
    public static let maximumLatency = Duration.seconds(60)

    /// Parses a spec; an `:OP` is one of the 39 operation names (``KinesisOperation``).
    public static func parse(_ spec: String) throws(FaultSpecError) -> FaultPlan {
        let items = spec.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard !(items.count == 1 && items[0].isEmpty) else {
            throw FaultSpecError(
                description: "--faults is empty; write e.g. "
                    + "--faults record-failure=0.1,unavailable=0.01.")
        }
        var rules: [FaultRule] = []
        for item in items {
            let rule = try parseRule(item)
            if rules.contains(where: { $0.kind == rule.kind && $0.operation == rule.operation }) {
                throw FaultSpecError(description: "--faults names '\(item.split(separator: "=").first ?? "")' twice.")
            }
            rules.append(rule)
        }
        return FaultPlan(rules: rules)
    }

    private static func parseRule(_ item: String) throws(FaultSpecError) -> FaultRule {
        func bad(_ why: String) -> FaultSpecError { FaultSpecError(description: "--faults '\(item)': \(why)") }
        let kinds = FaultKind.allCases.map(\.rawValue).joined(separator: ", ")
        guard !item.isEmpty else {
            throw FaultSpecError(description: "--faults has an empty part (two commas in a row?).")
        }
        let sides = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard sides.count == 2 else { throw bad("expected KIND[:OP]=PROBABILITY, e.g. record-failure=0.1") }
        let target = sides[0].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let kind = FaultKind(rawValue: String(target[0])) else {
            throw bad("unknown kind '\(target[0])'; the kinds are \(kinds)")
        }
        var operation: KinesisOperation?
        if target.count == 2 {
            let name = String(target[1])
            guard !name.isEmpty else { throw bad("empty operation after ':'") }
            guard let op = KinesisOperation(rawValue: name) else { throw bad("unknown operation '\(name)'") }
            if let only = kind.onlyOperation, op != only {
                throw bad("\(kind.rawValue) applies to \(only.rawValue) only")
            }
            operation = op
        }
        let value = sides[1].split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        guard let p = Double(value[0]), (0...1).contains(p) else {
            throw bad("probability '\(value[0])' is not a number from 0 to 1")
        }
        var latency: ClosedRange<Duration>?
        if kind == .latency {
            guard value.count == 2 else { throw bad("latency needs a duration, e.g. latency=0.05@200ms or @50ms-2s") }
            latency = try parseLatency(String(value[1]), bad)
        } else if value.count == 2 {
            throw bad("only latency takes an @duration")
        }
        return FaultRule(kind: kind, operation: operation, probability: p, latency: latency)
    }

    private static func parseLatency(
        _ text: String, _ bad: (String) -> FaultSpecError
    ) throws(FaultSpecError)
        -> ClosedRange<Duration>
    {
        let ends = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var parsed: [Duration] = []
        for end in ends {
            guard let d = duration(end), d <= maximumLatency else {
                throw bad("latency '\(end)' is not a duration from 0 to 60s such as 200ms or 1.5s")
            }
            parsed.append(d)
        }
        guard parsed.count == 1 || parsed[0] <= parsed[1] else { throw bad("latency range '\(text)' runs backwards") }
        return parsed[0]...parsed[parsed.count - 1]
    }

    /// `200ms`, `1.5s`: a finite, non-negative number with its unit (a bare number is ambiguous).
    static func duration(_ text: String) -> Duration? {
        let (number, scale): (Substring, Double) =
            text.hasSuffix("ms")
            ? (text.dropLast(2), 1e6)
            : text.hasSuffix("s") ? (text.dropLast(1), 1e9) : ("", 0)
        guard scale > 0, let v = Double(number), v >= 0, v <= 3_600 else { return nil }  // NaN fails >= 0
        return .nanoseconds(Int64((v * scale).rounded()))
    }

    /// The rule for `kind` on `operation`: one naming the operation wins over one for every operation.
    func rule(_ kind: FaultKind, _ operation: KinesisOperation) -> FaultRule? {
        var general: FaultRule?
        for r in rules where r.kind == kind {
            if r.operation == operation { return r }
            if r.operation == nil { general = r }
        }
        return general
    }
}

/// What the front door does to one call instead of answering it normally.
public enum CallFault: Sendable, Equatable {
    /// HTTP 500 InternalFailureException.
    case internalError
    /// HTTP 503 ServiceUnavailableException.
    case unavailable
    /// Close the connection without a reply (the request is not applied).
    case reset
}

/// How many faults of one kind were injected into one operation.
public struct FaultCount: Sendable, Equatable, Hashable {
    public var kind: FaultKind
    public var operation: KinesisOperation
    public var count: Int
}

/// Draws the faults of a ``FaultPlan``: thread-safe, deterministic for a seed (the sequence of
/// draws repeats; which call gets which draw depends on the order calls arrive), and counting
/// every fault it injects (`ktop_faults_injected_total` on `/metrics`). Its plan can change
/// mid-run (a scenario phase switching faults on and off); the counts and the draws go on.
public final class FaultInjector: Sendable {
    private struct State {
        var plan: FaultPlan
        var rng: SplitMix64
        var counts: [Key: Int] = [:]
    }
    private struct Key: Hashable {
        var kind: FaultKind
        var operation: KinesisOperation
    }
    private let state: LockedValue<State>

    public init(plan: FaultPlan, seed: UInt64) {
        state = LockedValue(State(plan: plan, rng: SplitMix64(seed: seed)))
    }

    /// The faults drawn from now on.
    public var plan: FaultPlan { state.withLock { $0.plan } }

    /// Replaces the plan (an empty one injects nothing); the counts keep counting, as a counter must.
    public func setPlan(_ plan: FaultPlan) { state.withLock { $0.plan = plan } }

    /// The whole-call fault for this call, if one is drawn: reset, then unavailable, then internal-error.
    public func callFault(operation: KinesisOperation) -> CallFault? {
        let order: [(FaultKind, CallFault)] = [
            (.reset, .reset), (.unavailable, .unavailable), (.internalError, .internalError),
        ]
        for (kind, fault) in order {
            if draw(kind, operation) != nil { return fault }
        }
        return nil
    }

    /// Extra latency for this call's reply, if drawn.
    public func latency(operation: KinesisOperation) -> Duration? {
        draw(.latency, operation) { (rule, rng) -> Duration? in
            guard let range = rule.latency else { return nil }
            let low = range.lowerBound
            let span = (range.upperBound - low) / .nanoseconds(1)
            return span > 0 ? low + .nanoseconds(Int64(rng.nextDouble() * span)) : low
        } ?? nil
    }

    /// Which of `count` PutRecords entries fail with InternalFailure; nil when none does.
    public func failedRecords(count: Int) -> [Bool]? {
        state.withLock { s in
            guard let rule = s.plan.rule(.recordFailure, .putRecords), rule.probability > 0 else { return nil }
            var failed = [Bool](repeating: false, count: count)
            var n = 0
            for i in 0..<count where s.rng.nextDouble() < rule.probability {
                failed[i] = true
                n += 1
            }
            guard n > 0 else { return nil }
            s.counts[Key(kind: .recordFailure, operation: .putRecords), default: 0] += n
            return failed
        }
    }

    /// Whether a SubscribeToShard stream ends now, with an InternalFailureException event.
    public func endsSubscription() -> Bool { draw(.subscribeEnd, .subscribeToShard) != nil }

    /// Every (kind, operation) with at least one injected fault, sorted.
    public func counts() -> [FaultCount] {
        state.withLock { s in
            s.counts.map { FaultCount(kind: $0.key.kind, operation: $0.key.operation, count: $0.value) }
        }
        .sorted { ($0.kind.rawValue, $0.operation.rawValue) < ($1.kind.rawValue, $1.operation.rawValue) }
    }

    /// Total faults injected so far.
    public var total: Int { state.withLock { $0.counts.values.reduce(0, +) } }

    private func draw(_ kind: FaultKind, _ operation: KinesisOperation) -> Void? {
        draw(kind, operation) { _, _ in () }
    }

    private func draw<T>(
        _ kind: FaultKind, _ operation: KinesisOperation, _ value: (FaultRule, inout SplitMix64) -> T
    ) -> T? {
        state.withLock { s in
            guard let rule = s.plan.rule(kind, operation), rule.probability > 0,
                s.rng.nextDouble() < rule.probability
            else { return nil }
            s.counts[Key(kind: kind, operation: operation), default: 0] += 1
            return value(rule, &s.rng)
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and good enough for fault draws.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1): 53 random bits.
    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }
}
