import Foundation
import StreamEngine

/// How a producer picks partition keys — the knob that makes shards hot or cold.
///
/// Kinesis routes a record by MD5(partition key) as a 128-bit integer, or by
/// its ExplicitHashKey when one is given (KINESIS.md §4). Every case below is
/// a way real producers choose keys, and each has a different effect on shards.
public enum KeyDistribution: Sendable, Equatable, CustomStringConvertible {
    /// `count` keys `user-0…`, equally likely.
    case uniform(count: Int)
    /// Zipf over `count` keys with exponent `s`: a few keys carry most records.
    case zipf(count: Int, s: Double)
    /// One key takes `share` of records; the rest are uniform over `count` keys.
    case hotKey(key: String, share: Double, count: Int)
    /// The hot key spread over `salts` suffixes (`key#0…`): the fix for a hot key.
    case salted(key: String, salts: Int)
    /// The time of writing as the key, truncated to `granularityMillis`
    /// (e.g. 1000: the second). Every record of one period shares a key, so one
    /// shard takes the whole stream's load for that period and the heat moves on.
    case monotonic(granularityMillis: Int)
    /// A fixed set of keys (for instance read from a file), equally likely.
    case keySet([String])
    /// Explicit hash keys (decimal, 0…2^128−1), equally likely; the partition key
    /// is then only carried along. Records go to the shard whose range holds the
    /// hash key, whatever MD5 of the partition key says.
    case explicitHashKeys([String])

    public var description: String {
        switch self {
        case .uniform(let n): "uniform(\(n))"
        case .zipf(let n, let s): "zipf(\(n), s=\(s))"
        case .hotKey(let k, let share, let n): "hot key '\(k)' \(Int((share * 100).rounded()))% + uniform(\(n))"
        case .salted(let k, let salts): "'\(k)' salted ×\(salts)"
        case .monotonic(let g): "monotonic timestamps (per \(g) ms)"
        case .keySet(let keys): "key set (\(keys.count) keys)"
        case .explicitHashKeys(let keys): "explicit hash keys (\(keys.count))"
        }
    }
}

/// A partition key and, optionally, an explicit hash key.
struct KeyChoice: Sendable, Equatable {
    var partitionKey: String
    var explicitHashKey: String?
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

    func next(_ rng: inout SeededRandom) -> String { choose(&rng, now: Instant(nanosecondsSinceEpoch: 0)).partitionKey }

    func choose(_ rng: inout SeededRandom, now: Instant) -> KeyChoice {
        switch distribution {
        case .uniform(let n):
            return KeyChoice(partitionKey: "user-\(rng.next() % UInt64(max(n, 1)))")
        case .zipf:
            let u = rng.unit()
            var lo = 0, hi = cumulative.count - 1
            while lo < hi { let m = (lo + hi) / 2; if cumulative[m] < u { lo = m + 1 } else { hi = m } }
            return KeyChoice(partitionKey: "user-\(lo)")
        case .hotKey(let key, let share, let n):
            return KeyChoice(partitionKey: rng.unit() < share ? key : "user-\(rng.next() % UInt64(max(n, 1)))")
        case .salted(let key, let salts):
            return KeyChoice(partitionKey: "\(key)#\(rng.next() % UInt64(max(salts, 1)))")
        case .monotonic(let g):
            let ms = now.millisecondsSinceEpoch
            let step = Int64(max(g, 1))
            return KeyChoice(partitionKey: String(ms - ms % step))
        case .keySet(let keys):
            guard !keys.isEmpty else { return KeyChoice(partitionKey: "key") }
            return KeyChoice(partitionKey: keys[Int(rng.next() % UInt64(keys.count))])
        case .explicitHashKeys(let keys):
            guard !keys.isEmpty else { return KeyChoice(partitionKey: "ehk") }
            let i = Int(rng.next() % UInt64(keys.count))
            return KeyChoice(partitionKey: "ehk-\(i)", explicitHashKey: keys[i])
        }
    }
}

/// Record payload sizes in bytes.
public enum SizeDistribution: Sendable, Equatable {
    case fixed(Int)
    case uniform(ClosedRange<Int>)
    /// Normal with the given mean and standard deviation, clamped to 1 byte … 1 MiB.
    case normal(mean: Double, stddev: Double)
    /// Drawn uniformly from observed sizes (for instance a sample file of real payload sizes).
    case samples([Int])

    func next(_ rng: inout SeededRandom) -> Int {
        switch self {
        case .fixed(let n): return n
        case .uniform(let r): return r.lowerBound + Int(rng.next() % UInt64(r.count))
        case .normal(let mean, let sd):
            // Box–Muller: two uniforms give one standard normal.
            let u1 = max(rng.unit(), 1e-12), u2 = rng.unit()
            let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
            return Int((mean + sd * z).rounded()).clamped(to: 1...1_048_000)
        case .samples(let s):
            guard !s.isEmpty else { return 0 }
            return s[Int(rng.next() % UInt64(s.count))]
        }
    }

    public var mean: Double {
        switch self {
        case .fixed(let n): Double(n)
        case .uniform(let r): Double(r.lowerBound + r.upperBound) / 2
        case .normal(let mean, _): mean
        case .samples(let s): s.isEmpty ? 0 : Double(s.reduce(0, +)) / Double(s.count)
        }
    }
}

extension Comparable {
    func clamped(to r: ClosedRange<Self>) -> Self { min(max(self, r.lowerBound), r.upperBound) }
}

/// Keys chosen so that their MD5 hash keys fall in one hash range: how a
/// scenario builds "tenants that all land on shard 3" without guessing.
public enum KeyFinder {
    /// The first `count` keys `prefix0, prefix1, …` whose hash key lies in `range`.
    public static func keys(prefix: String, count: Int, in range: ClosedRange<UInt128>) -> [String] {
        var out: [String] = []
        var i = 0
        while out.count < count && i < 10_000_000 {
            let k = "\(prefix)\(i)"
            if range.contains(HashKey.of(partitionKey: k)) { out.append(k) }
            i += 1
        }
        return out
    }

    /// The hash key range of shard `index` of a freshly created `shardCount`-shard stream.
    public static func shardRange(_ index: Int, of shardCount: Int) -> ClosedRange<UInt128> {
        HashKey.uniformRanges(count: shardCount)[index]
    }
}

/// What a producer's records hold. Random bytes by default (Kinesis never looks inside);
/// JSON events give SQL queries (`ktop sql`) and Firehose objects something to read.
public enum PayloadKind: Sendable, Equatable {
    case random
    /// One JSON object per record, newline-terminated (Firehose adds no delimiter):
    /// `{"user":KEY,"tenant":"tenant-N","status":200|500,"latencyMs":N}`, padded to the drawn size.
    /// `tenant-3` fails five times as often as the rest, so a per-tenant error rate has a story.
    case jsonEvents(errorRate: Double)

    static let tenants = 6

    static func jsonEvent(key: String, size: Int, errorRate: Double, _ rng: inout SeededRandom) -> [UInt8] {
        // The tenant follows the key, so a key's events always belong to one tenant.
        var h: UInt32 = 2_166_136_261
        for b in key.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        let tenant = Int(h % UInt32(tenants))
        let rate = min(1, max(0, errorRate.isFinite ? errorRate : 0) * (tenant == 3 ? 5 : 1))
        let failed = Double(rng.next() >> 11) / Double(1 << 53) < rate
        let latency = 5 + Int(rng.next() % (failed ? 2_000 : 200))
        var quoted = ""
        for c in key.unicodeScalars {
            switch c {
            case "\"", "\\": quoted += "\\" + String(c)
            case _ where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: quoted.unicodeScalars.append(c)
            }
        }
        var text =
            "{\"user\":\"\(quoted)\",\"tenant\":\"tenant-\(tenant)\",\"status\":\(failed ? 500 : 200),"
            + "\"latencyMs\":\(latency)"
        let closing = "}\n"
        let room = size - text.utf8.count - closing.utf8.count - 10
        if room > 0 { text += ",\"pad\":\"" + String(repeating: "x", count: room) + "\"" }
        return Array((text + closing).utf8)
    }
}
