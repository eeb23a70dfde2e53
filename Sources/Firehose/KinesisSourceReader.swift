import Foundation
import LoadGen
import StreamEngine

/// KinesisStreamAsSource's reader: Firehose reads the source stream as any polling consumer does,
/// through the public Kinesis API (`KinesisClient`), one GetRecords per shard per second, so it takes
/// its share of the shard's 5 calls/s and 2 MiB/s that every polling reader shares. It starts at the
/// delivery stream's creation (DeliveryStartTimestamp, AT_TIMESTAMP), follows resharding (children
/// once their parents are drained) and de-aggregates KPL records into user records.
/// Not `Sendable`: owned by ``FirehoseService``'s lock.
final class KinesisSourceReader {
    private struct ShardReader {
        var iterator: String?
        var nextPoll: Instant
        var lastSequence: String?
        var parents: [String] = []
        var fromTrimHorizon = false
        var done = false
    }

    let streamName: String
    let client: any KinesisClient
    let start: Instant
    static let pollInterval: Duration = .seconds(1)
    private var shards: [String: ShardReader] = [:]
    private var listed = false
    private(set) var lastError: String?
    private(set) var millisBehindLatest: Int64 = 0

    init(streamName: String, client: any KinesisClient, start: Instant) {
        self.streamName = streamName
        self.client = client
        self.start = start
    }

    /// Reads whatever is due at `now` and hands back the user records with their arrival times.
    func step(now: Instant, counters: inout FirehoseCounters) -> [(data: Data, arrival: Instant)] {
        if !listed {
            let filter = ShardFilter(type: .atTimestamp, timestamp: start.date)
            guard let out = try? client.listShards(ListShardsInput(streamName: streamName, shardFilter: filter))
            else { return [] }
            for s in out.shards { shards[s.shardId] = ShardReader(nextPoll: now) }
            listed = true
        }
        var delivered: [(data: Data, arrival: Instant)] = []
        var behind: Int64 = 0
        for id in shards.keys.sorted() {
            guard var r = shards[id], !r.done, r.nextPoll <= now else { continue }
            if r.parents.contains(where: { shards[$0].map { !$0.done } ?? false }) { continue }
            defer { shards[id] = r }
            r.nextPoll = now + Self.pollInterval
            do {
                if r.iterator == nil { r.iterator = try client.getShardIterator(iteratorInput(id, r)).shardIterator }
                let out = try client.getRecords(GetRecordsInput(shardIterator: r.iterator))
                counters.kinesisGetRecordsCalls += 1
                for record in out.records {
                    counters.dataReadFromKinesisStreamRecords += 1
                    counters.dataReadFromKinesisStreamBytes += Int64(record.data.count)
                    let arrival =
                        record.approximateArrivalTimestamp.map { Instant(secondsSinceEpoch: $0.timeIntervalSince1970) }
                        ?? now
                    if let users = KPLFormat.decode(record.data) {
                        for u in users { delivered.append((u.data, arrival)) }
                    } else {
                        delivered.append((record.data, arrival))
                    }
                }
                if let last = out.records.last { r.lastSequence = last.sequenceNumber }
                behind = max(behind, Int64(out.millisBehindLatest ?? 0))
                r.iterator = out.nextShardIterator
                if out.nextShardIterator == nil {
                    r.done = true
                    for child in out.childShards ?? [] where shards[child.shardId] == nil {
                        shards[child.shardId] = ShardReader(
                            nextPoll: now, parents: child.parentShards, fromTrimHorizon: true)
                    }
                }
            } catch {
                lastError = error.description
                if error.type == .provisionedThroughputExceeded { counters.throttledGetRecords += 1 }
                if error.type == .expiredIterator { r.iterator = nil }
            }
        }
        millisBehindLatest = behind
        return delivered
    }

    private func iteratorInput(_ shardId: String, _ r: ShardReader) -> GetShardIteratorInput {
        if let seq = r.lastSequence {
            return GetShardIteratorInput(
                streamName: streamName, shardId: shardId, shardIteratorType: .afterSequenceNumber,
                startingSequenceNumber: seq)
        }
        if r.fromTrimHorizon {
            return GetShardIteratorInput(streamName: streamName, shardId: shardId, shardIteratorType: .trimHorizon)
        }
        return GetShardIteratorInput(
            streamName: streamName, shardId: shardId, shardIteratorType: .atTimestamp, timestamp: start.date)
    }
}
