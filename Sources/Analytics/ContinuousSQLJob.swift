import Foundation
import LoadGen
import StreamEngine

/// A continuous query reading a stream as any Kinesis consumer does, through the public API (`KinesisClient`:
/// the embedded engine or an HTTP endpoint): a polling reader that follows resharding and takes one of each
/// shard's five GetRecords calls a second, feeding a `ContinuousSQL` that runs the SELECT as windows close.
/// Not `Sendable`: owned by the one thread that steps it.
public final class ContinuousSQLJob {
    public let runner: ContinuousSQL
    /// How the stream is read.
    public enum Reader {
        case polling(PollingConsumer)
        /// An enhanced fan-out consumer of the job's own, deregistered by `close()`.
        case fanOut(FanOutConsumer)
    }
    public let reader: Reader
    private let client: any KinesisClient
    private var received: [(shard: String, record: Record)] = []
    private var closed = false

    /// One GetRecords call per shard a second, as the KCL polls: a fifth of the shard's shared read budget.
    public static let pollInterval: Duration = .seconds(1)
    /// Windows close this long after their end: a record read on the next poll is still on time.
    public static let defaultLateness: Duration = .seconds(2)

    /// `fanOutConsumer`: read with an enhanced fan-out consumer of this name (registered now) instead of polling.
    public init(
        query: ContinuousQuery, stream: String, client: any KinesisClient, start: StartPosition = .latest,
        limits: ContinuousSQL.Limits = ContinuousSQL.Limits(), allowedLateness: Duration = defaultLateness,
        pollInterval: Duration = pollInterval, fanOutConsumer: String? = nil
    ) throws {
        runner = try ContinuousSQL(query: query, stream: stream, limits: limits, allowedLateness: allowedLateness)
        self.client = client
        let collect: (String, [Record]) -> Void
        if let fanOutConsumer {
            let consumer = FanOutConsumer(name: fanOutConsumer, stream: stream, client: client)
            consumer.startAtTrimHorizon = start == .trimHorizon
            reader = .fanOut(consumer)
        } else {
            reader = .polling(
                PollingConsumer(
                    name: "ktop-sql", stream: stream, client: client, pollInterval: pollInterval, start: start,
                    seed: SeededRandom.seed(from: "ktop-sql-" + stream)))
        }
        collect = { [weak self] shard, records in
            self?.received += records.map { (shard, $0) }
        }
        switch reader {
        case .polling(let c): c.onRecords = collect
        case .fanOut(let c): c.onRecords = collect
        }
    }

    /// The reader's counters (records, calls, throttles, lag, last error).
    public var readerStats: ConsumerStats {
        switch reader {
        case .polling(let c): c.stats
        case .fanOut(let c): c.stats
        }
    }

    /// What a pane or a report shows of the running query, as one value that can cross threads.
    public var status: ContinuousSQLStatus {
        ContinuousSQLStatus(
            query: runner.query.original, window: runner.query.window, windowForm: runner.query.windowForm,
            schema: runner.schema, stats: runner.stats, reader: readerStats,
            readsByFanOut: { if case .fanOut = reader { true } else { false } }(),
            failure: runner.failure?.message)
    }

    /// Reads what is due and returns the windows that closed by `now`.
    public func step(now: Instant) -> [WindowResult] {
        switch reader {
        case .polling(let c): c.step(now: now)
        case .fanOut(let c):
            // One event per shard a step: drain what the subscriptions hold (bounded, so a step stays short).
            for _ in 0..<50 {
                let before = received.count
                c.step(now: now)
                if received.count == before { break }
            }
        }
        let batch = received.map { shard, r in
            SourceRecord(
                arrival: r.approximateArrivalTimestamp.map(Self.arrival) ?? now,
                partitionKey: r.partitionKey, sequenceNumber: r.sequenceNumber, shardId: shard, data: r.data)
        }
        received = []
        runner.add(batch)
        return runner.advance(now: now)
    }

    /// The arrival to the millisecond: the wire carries epoch seconds with a fraction, and 0.123 s read as
    /// 0.12299… must not move a record into the window before. Saturates far outside any real time.
    static func arrival(_ date: Date) -> Instant {
        let ms = (date.timeIntervalSince1970 * 1_000).rounded()
        guard ms.isFinite, abs(ms) < 9e15 else { return Instant(secondsSinceEpoch: date.timeIntervalSince1970) }
        return Instant(millisecondsSinceEpoch: Int64(ms))
    }

    /// Ends the run: every open window closes, as Flink closes them at the end of a bounded input.
    public func finish() -> [WindowResult] { runner.finish() }

    /// Deregisters the enhanced fan-out consumer this job registered (it counts against the stream's 20).
    /// Returns an error line when that fails.
    public func close() -> String? {
        guard !closed else { return nil }
        closed = true
        guard case .fanOut(let c) = reader, let arn = c.consumerARN else { return nil }
        do {
            _ = try client.deregisterStreamConsumer(StreamConsumerInput(consumerARN: arn))
            return nil
        } catch where error.type == .resourceNotFound {
            return nil
        } catch {
            return "could not deregister enhanced fan-out consumer \(c.name) (\(error.description)); "
                + "remove it with DeregisterStreamConsumer, it counts against the stream's 20"
        }
    }
}

/// A running query's state for display (the dashboard's query pane, a scenario's report): the query and its
/// window, the discovered columns, the runner's and the reader's counters, and why it stopped if it did.
public struct ContinuousSQLStatus: Sendable, Equatable {
    public var query: String
    public var window: WindowSpec
    public var windowForm: String
    /// Nil until schema discovery has run on the first records.
    public var schema: DiscoveredSchema?
    public var stats: ContinuousSQLStats
    public var reader: ConsumerStats
    public var readsByFanOut: Bool
    public var failure: String?
}

/// Writes result rows to a stream (`--into`): each row one record, its JSON line as the data, partitioned by
/// the first GROUP BY key's value (else `window_start`). PutRecords in batches within its limits (500 records,
/// 5 MiB); records the stream refuses are retried a few times, then counted.
public final class ResultWriter {
    public let stream: String
    private let client: any KinesisClient
    public private(set) var written: Int64 = 0
    public private(set) var failed: Int64 = 0
    public private(set) var lastError: String?

    public init(stream: String, client: any KinesisClient) {
        self.stream = stream
        self.client = client
    }

    /// The records for one window's rows.
    public static func entries(_ result: WindowResult, partitionBy keys: [String]) -> [PutRecordsRequestEntry] {
        let lines = result.jsonLines()
        guard result.error == nil else { return [] }
        let column = keys.lazy.compactMap { k in
            result.columns.firstIndex { $0.caseInsensitiveCompare(k) == .orderedSame }
        }.first
        return zip(lines, result.rows).map { line, row in
            var key = result.windowStartText
            if let column {
                switch row[column] {
                case .text(let s) where !s.isEmpty: key = s
                case .integer(let i): key = String(i)
                case .real(let d): key = "\(d)"
                default: break
                }
            }
            // A partition key is 1 to 256 Unicode characters.
            return PutRecordsRequestEntry(data: Data(line.utf8), partitionKey: String(key.prefix(256)))
        }
    }

    public func write(_ results: [WindowResult], partitionBy keys: [String]) {
        var pending = results.flatMap { Self.entries($0, partitionBy: keys) }
        while !pending.isEmpty {
            var batch: [PutRecordsRequestEntry] = []
            var bytes = 0
            func size(_ e: PutRecordsRequestEntry) -> Int { (e.data?.count ?? 0) + (e.partitionKey?.utf8.count ?? 0) }
            while let next = pending.first, batch.count < 500, size(next) <= 1 << 20, bytes + size(next) <= 5 << 20 {
                bytes += size(next)
                batch.append(pending.removeFirst())
            }
            if batch.isEmpty {
                failed += 1  // one row above 1 MiB: PutRecords would refuse it whatever we do
                pending.removeFirst()
                continue
            }
            put(batch)
        }
    }

    private func put(_ batch: [PutRecordsRequestEntry]) {
        var todo = batch
        for attempt in 0..<4 where !todo.isEmpty {
            if attempt > 0 { Thread.sleep(forTimeInterval: 0.05 * Double(1 << attempt)) }
            do {
                let out = try client.putRecords(PutRecordsInput(records: todo, streamName: stream))
                var retry: [PutRecordsRequestEntry] = []
                for (entry, r) in zip(todo, out.records) {
                    if r.errorCode == nil {
                        written += 1
                    } else {
                        retry.append(entry)
                        lastError = "\(r.errorCode ?? ""): \(r.errorMessage ?? "")"
                    }
                }
                todo = retry
            } catch {
                lastError = error.description
                if error.type != .provisionedThroughputExceeded && error.type != .kmsThrottling { break }
            }
        }
        failed += Int64(todo.count)
    }
}
