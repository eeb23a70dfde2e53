import DequeModule
import Foundation
import StreamEngine

/// What a producer does: how fast, with which keys and sizes, how it batches
/// and how it retries throttled records.
public struct ProducerConfig: Sendable, Equatable {
    public var name: String
    public var stream: String
    public var recordsPerSecond: Double
    public var keys: KeyDistribution
    public var size: SizeDistribution
    /// 1 = PutRecord per record; more = PutRecords of up to this many (≤ 500).
    public var batchSize: Int
    /// Retries of a throttled record before it is counted as dropped.
    public var maxRetries: Int
    /// First backoff; doubles per attempt, with ±50 % jitter (as the AWS SDKs do).
    public var backoffBase: Duration

    public init(name: String, stream: String, recordsPerSecond: Double, keys: KeyDistribution,
                size: SizeDistribution = .fixed(512), batchSize: Int = 500, maxRetries: Int = 3,
                backoffBase: Duration = .milliseconds(100)) {
        self.name = name; self.stream = stream; self.recordsPerSecond = recordsPerSecond; self.keys = keys
        self.size = size; self.batchSize = min(max(batchSize, 1), 500); self.maxRetries = maxRetries
        self.backoffBase = backoffBase
    }
}

/// Cumulative producer counters: nothing is hidden, dropped records included.
public struct ProducerStats: Sendable, Equatable {
    public var generated: Int64 = 0
    public var acked: Int64 = 0
    public var ackedBytes: Int64 = 0
    /// Throttled attempts (a record throttled twice counts twice).
    public var throttled: Int64 = 0
    public var retried: Int64 = 0
    /// Records given up on after `maxRetries`.
    public var dropped: Int64 = 0
    /// Records refused for a reason retrying cannot fix (e.g. stream gone).
    public var failed: Int64 = 0
    public var lastError: String?
}

/// A simulated producer application. Driven by `step(now:)`, which sends what
/// is due by `now`; deterministic for a given seed and sequence of steps.
public final class Producer: @unchecked Sendable {
    private struct Pending { var key: String; var data: Data; var attempt: Int; var due: Instant }

    public private(set) var config: ProducerConfig
    public private(set) var stats = ProducerStats()
    private var sampler: KeySampler
    private var rng: SeededRandom
    private var owed = 0.0
    private var last: Instant?
    private var retries = Deque<Pending>()
    private let client: any KinesisClient

    public init(config: ProducerConfig, client: any KinesisClient, seed: UInt64) {
        self.config = config
        self.client = client
        self.sampler = KeySampler(config.keys)
        self.rng = SeededRandom(seed: seed)
    }

    /// Changes the target rate (the dashboard's `+`/`-`).
    public func setRate(_ recordsPerSecond: Double) { config.recordsPerSecond = max(0, recordsPerSecond) }

    /// Changes the key strategy (the dashboard's `k`).
    public func setKeys(_ keys: KeyDistribution) {
        config.keys = keys
        sampler = KeySampler(keys)
    }

    /// Sends the records due between the previous step and `now`, then retries that are due.
    public func step(now: Instant) {
        defer { last = now }
        guard let last else { return }
        owed += config.recordsPerSecond * Double((now - last).nanoseconds) / 1e9
        var batch: [Pending] = []
        while let r = retries.first, r.due <= now {
            batch.append(retries.removeFirst())
        }
        let fresh = Int(owed)
        owed -= Double(fresh)
        for _ in 0..<fresh {
            let key = sampler.next(&rng)
            let size = config.size.next(&rng)
            var bytes = [UInt8](repeating: 0, count: size)
            for i in stride(from: 0, to: size, by: 8) {
                let v = rng.next()
                for j in 0..<min(8, size - i) { bytes[i + j] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(j))) }
            }
            batch.append(Pending(key: key, data: Data(bytes), attempt: 0, due: now))
            stats.generated += 1
        }
        var i = 0
        while i < batch.count {
            let chunk = Array(batch[i..<min(i + config.batchSize, batch.count)])
            send(chunk, now: now)
            i += chunk.count
        }
    }

    private func send(_ chunk: [Pending], now: Instant) {
        if chunk.count == 1 && config.batchSize == 1 {
            let p = chunk[0]
            do {
                let out = try client.putRecord(PutRecordInput(streamName: config.stream, data: p.data, partitionKey: p.key))
                _ = out
                stats.acked += 1
                stats.ackedBytes += Int64(p.data.count + p.key.utf8.count)
            } catch {
                handle(p, error: error, now: now)
            }
            return
        }
        do {
            let out = try client.putRecords(PutRecordsInput(
                records: chunk.map { PutRecordsRequestEntry(data: $0.data, partitionKey: $0.key) }, streamName: config.stream))
            for (p, r) in zip(chunk, out.records) {
                if r.sequenceNumber != nil {
                    stats.acked += 1
                    stats.ackedBytes += Int64(p.data.count + p.key.utf8.count)
                } else {
                    handle(p, error: KinesisError(KinesisErrorType(rawValue: r.errorCode ?? "") ?? .internalFailure, r.errorMessage ?? ""), now: now)
                }
            }
        } catch {
            for p in chunk { handle(p, error: error, now: now) }
        }
    }

    private func handle(_ p: Pending, error: KinesisError, now: Instant) {
        stats.lastError = error.description
        switch error.type {
        case .provisionedThroughputExceeded, .internalFailure, .limitExceeded:
            if error.type == .provisionedThroughputExceeded { stats.throttled += 1 }
            guard p.attempt < config.maxRetries else { stats.dropped += 1; return }
            let base = Double(config.backoffBase.nanoseconds) * pow(2, Double(p.attempt))
            let delay = Int64(base * (0.5 + rng.unit()))
            var r = p
            r.attempt += 1
            r.due = now + .nanoseconds(delay)
            stats.retried += 1
            // Keep the retry queue ordered by due time.
            let at = retries.firstIndex { $0.due > r.due } ?? retries.endIndex
            retries.insert(r, at: at)
        default:
            stats.failed += 1
        }
    }
}
