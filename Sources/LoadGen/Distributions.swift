import Foundation
import StreamEngine

/// How a producer picks partition keys — the knob that makes shards hot or cold.
public enum KeyDistribution: Sendable, Equatable, CustomStringConvertible {
    /// `count` keys `user-0…`, equally likely.
    case uniform(count: Int)
    /// Zipf over `count` keys with exponent `s`: a few keys carry most records.
    case zipf(count: Int, s: Double)
    /// One key takes `share` of records; the rest are uniform over `count` keys.
    case hotKey(key: String, share: Double, count: Int)
    /// The hot key spread over `salts` suffixes (`key#0…`): the fix for a hot key.
    case salted(key: String, salts: Int)

    public var description: String {
        switch self {
        case .uniform(let n): "uniform(\(n))"
        case .zipf(let n, let s): "zipf(\(n), s=\(s))"
        case .hotKey(let k, let share, let n): "hot key '\(k)' \(Int(share * 100))% + uniform(\(n))"
        case .salted(let k, let salts): "'\(k)' salted ×\(salts)"
        }
    }
}

/// A key sampler; zipf's cumulative table is built once (O(n)), each draw is O(log n).
struct KeySampler: Sendable {
    let distribution: KeyDistribution
    private let cumulative: [Double]

    init(_ d: KeyDistribution) {
        distribution = d
        if case .zipf(let n, let s) = d {
            var acc = 0.0
            var c: [Double] = []
            c.reserveCapacity(n)
            for i in 1...max(n, 1) { acc += 1 / pow(Double(i), s); c.append(acc) }
            cumulative = c.map { $0 / acc }
        } else {
            cumulative = []
        }
    }

    func next(_ rng: inout SeededRandom) -> String {
        switch distribution {
        case .uniform(let n):
            return "user-\(rng.next() % UInt64(max(n, 1)))"
        case .zipf:
            let u = rng.unit()
            var lo = 0, hi = cumulative.count - 1
            while lo < hi { let m = (lo + hi) / 2; if cumulative[m] < u { lo = m + 1 } else { hi = m } }
            return "user-\(lo)"
        case .hotKey(let key, let share, let n):
            return rng.unit() < share ? key : "user-\(rng.next() % UInt64(max(n, 1)))"
        case .salted(let key, let salts):
            return "\(key)#\(rng.next() % UInt64(max(salts, 1)))"
        }
    }
}

/// Record payload sizes in bytes.
public enum SizeDistribution: Sendable, Equatable {
    case fixed(Int)
    case uniform(ClosedRange<Int>)

    func next(_ rng: inout SeededRandom) -> Int {
        switch self {
        case .fixed(let n): n
        case .uniform(let r): r.lowerBound + Int(rng.next() % UInt64(r.count))
        }
    }

    public var mean: Double {
        switch self {
        case .fixed(let n): Double(n)
        case .uniform(let r): Double(r.lowerBound + r.upperBound) / 2
        }
    }
}
