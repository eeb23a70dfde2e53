import Foundation
import Metrics
import StreamEngine

/// Settings of a `StreamWatcher`.
public struct WatchOptions: Sendable {
    /// The stream's name.
    public var stream: String
    /// The endpoint URL, for the samples' provenance (nil for the embedded engine).
    public var endpoint: String?
    /// At most this many shard reads (one GetRecords each, with a GetShardIterator when
    /// the shard needs a new iterator) a second over the whole stream: how many calls
    /// ktop makes, so how many connections it needs. Shards beyond it are read in rotation.
    public var maxReadsPerSecond: Int
    /// Control-plane refresh (DescribeStreamSummary, ListShards, ListStreamConsumers).
    public var refreshInterval: Duration = .seconds(10)
    /// Shortest time between two refreshes, however often `refreshSoon()` is called:
    /// one refresh a second stays within every control-plane quota (KINESIS.md §3).
    public var minRefreshInterval: Duration = .seconds(1)
    /// A second is counted once every shard's reader has read up to this long past it.
    public var settleDelay: Duration = .seconds(2)
    /// A shard whose reader is further behind than this no longer holds the others back:
    /// its records are counted when they are read, as late ones.
    public var maxSettleLag: Duration = .seconds(30)
    /// Longest wait between retries of a throttled or failed control plane.
    public var maxBackoff: Duration = .seconds(60)
    /// The reader's name in the consumers and read-budget panes.
    public var readerName = "ktop-attach (reader)"
    /// Read by enhanced fan-out instead of GetRecords: the consumer name ktop registers
    /// (see `StreamWatcher.fanOutConsumerName()`) and deregisters on `close(now:)`.
    /// Nil: polling.
    public var fanOutConsumer: String?
    /// GetRecords `Limit` (nil: the service default, 10,000).
    public var getRecordsLimit: Int?
    /// The quotas the watcher paces itself by.
    public var limits: KinesisLimits = .aws

    public init(stream: String, endpoint: String? = nil, maxReadsPerSecond: Int = 20) {
        self.stream = stream; self.endpoint = endpoint; self.maxReadsPerSecond = maxReadsPerSecond
    }
}

/// Watches one stream of a Kinesis endpoint from outside, as `ktop attach` shows
/// it: the control plane (DescribeStreamSummary, every page of ListShards,
/// ListStreamConsumers) on a schedule, and a polite polling reader that measures
/// what producers write from the records it reads.
///
/// The reader takes at most one GetRecords call a second from each shard, so the
/// stream's own polling consumers keep 4 of the 5 calls a shard allows them all
/// together (KINESIS.md §3). It reads shards open at attach time from LATEST (from
/// AT_TIMESTAMP of the attach instant when rotation reaches a shard later, so every
/// shard counts from attach), shards that appear later (children of a reshard) from
/// TRIM_HORIZON, follows
/// NextShardIterator to SHARD_END, and resumes AFTER_SEQUENCE_NUMBER of the last
/// record read when an iterator expires (5 minutes unused).
///
/// Stepped and single-owner, like the load generator's consumers: `step(now:)`
/// makes the calls that are due, inline, so tests run it on a `ManualClock`;
/// `ktop attach` steps it on a thread of its own. Not `Sendable`.
public final class StreamWatcher {
    public let options: WatchOptions
    public private(set) var state: WatchState = .connecting
    /// The end of the last second the counters include (see `sample(now:)`).
    public private(set) var settledUntil: Instant?
    /// Calls made, by operation (DescribeStreamSummary, ListShards, …), cumulative.
    public private(set) var calls: [KinesisOperation: Int64] = [:]
    /// When the last control-plane refresh succeeded.
    public private(set) var lastRefresh: Instant?
    /// The stream's description as of the last refresh.
    public private(set) var summary: StreamDescriptionSummary?

    let client: any AttachClient
    private var consumers: [Consumer] = []
    private var consumersFailed = false
    var shards: [String: WatchedShard] = [:]
    var attachedAt: Instant?
    private var settledThrough: Int64 = .min
    private var nextRefresh = Instant.distantPast
    private var lastRefreshAttempt: Instant?
    private var soon = false
    private var failures = 0
    private var events: [WatchEvent] = []
    private var droppedEvents = 0
    /// Enhanced fan-out mode: the consumer ktop registered (nil when polling).
    var fanOut: FanOutState?
    /// After `close()`: no more calls.
    var closed = false

    // The reader's per-second budget and coverage.
    private var window: Int64 = .min
    var readsInWindow = 0
    var shardsInWindow = Set<String>()
    private var shardsLastSecond = 0
    /// The reader's own consumption over every shard it ever read (never decreases).
    private var totals = ShardReadReport(bytes: 0, records: 0, calls: 0, throttled: 0, millisBehindLatest: 0)

    /// Events kept until `takeEvents()`; older ones are dropped past this.
    public static let eventCapacity = 1_000
    /// GetRecords calls the reader makes per shard per second.
    public static let callsPerShardPerSecond = 1
    /// Control-plane pages per refresh: ListShards gives up to 1,000 shards a page (1,000 TPS per
    /// stream); ListStreamConsumers 100 consumers a page at 5 TPS per stream, so 4 pages a refresh
    /// at one refresh a second stays under its quota.
    static let maxShardPages = 100
    /// Refresh interval while the stream is CREATING or UPDATING.
    static let changingRefreshInterval = Duration.seconds(2)
    static let maxConsumerPages = 4

    public init(client: any AttachClient, options: WatchOptions) {
        self.client = client
        self.options = options
        fanOut = options.fanOutConsumer.map { FanOutState(name: $0) }
    }

    // MARK: - Public surface

    /// Makes the calls that are due at `now`: a control-plane refresh when scheduled
    /// (or asked for) and not backing off, then up to the read budget's remaining
    /// GetRecords calls, least recently read shards first.
    public func step(now: Instant) {
        guard !closed else { return }
        if refreshDue(now) { refresh(now) }
        if readsAllowed {
            if fanOut?.pollingInstead == false { readByFanOut(now) } else { readShards(now) }
        }
        advanceSettled(now)
    }

    /// Asks for a control-plane refresh at the next step (after SplitShard,
    /// UpdateShardCount…), still no more than one a `minRefreshInterval` and
    /// never while backing off.
    public func refreshSoon() { soon = true }

    /// Every event since the last call, oldest first.
    public func takeEvents() -> [WatchEvent] {
        var out = events
        if droppedEvents > 0, let first = out.first {
            out.insert(WatchEvent(time: first.time, kind: .warning,
                                  text: "\(droppedEvents) older events were dropped (not read in time)"), at: 0)
        }
        events.removeAll(keepingCapacity: true)
        droppedEvents = 0
        return out
    }

    /// How much of the stream the reader covers.
    public func coverage(now: Instant) -> ReaderCoverage {
        rollWindow(now)
        let reading = shards.values.filter { !$0.done }
        let waits = reading.compactMap { s in s.lastCall.map { now - $0 } }
        return ReaderCoverage(
            shardsReadLastSecond: shardsLastSecond, openShards: shards.values.filter(\.isOpen).count,
            shardsToRead: reading.count, maxReadsPerSecond: options.maxReadsPerSecond,
            callsPerShardPerSecond: readsByFanOut ? 0 : Self.callsPerShardPerSecond,
            callsLeftPerShardPerSecond: max(0, options.limits.shardReadCallsPerSecond
                                            - (readsByFanOut ? 0 : Self.callsPerShardPerSecond)),
            longestWait: reading.contains { $0.lastCall == nil } ? (attachedAt.map { now - $0 }) : waits.max())
    }

    /// The stream as last seen, with the counters of every settled second: nil until
    /// the first DescribeStreamSummary and ListShards succeed.
    ///
    /// Records of a second can still be unread when it ends, so the counters stop at
    /// `settledUntil`: at least `settleDelay` before `now`, more while a shard's
    /// reader lags (by up to `maxSettleLag`). Use `settledUntil` as the
    /// `EngineSample`'s time so Metrics' per-second rates cover the seconds counted;
    /// when it has not moved since the last sample, there is nothing new to ingest.
    public func sample(now: Instant) -> StreamSample? {
        guard let summary else { return nil }
        advanceSettled(now)
        let (account, region) = Self.accountAndRegion(summary.streamARN)
        let shardSamples = shards.values.sorted { ($0.index, $0.shardId) < ($1.index, $1.shardId) }.map(\.sample)
        var consumerSamples = consumers.map { c in
            ConsumerSample(name: c.consumerName, arn: c.consumerARN, status: c.consumerStatus,
                           createdAt: Instant(c.consumerCreationTimestamp))
        }
        if let own = fanOutSample(now) {
            consumerSamples.removeAll { $0.name == own.name }
            consumerSamples.append(own)
        }
        consumerSamples.sort { $0.name < $1.name }
        return StreamSample(account: account, region: region, name: summary.streamName, arn: summary.streamARN,
                            status: summary.streamStatus, mode: summary.streamModeDetails?.streamMode ?? .provisioned,
                            retentionHours: summary.retentionPeriodHours, encryption: summary.encryptionType ?? .none,
                            createdAt: Instant(summary.streamCreationTimestamp), shards: shardSamples,
                            consumers: consumerSamples, provenance: provenance(now))
    }

    /// What the polling reader itself took from the stream, cumulative, per shard: for
    /// the read-budget pane, which shows it next to the stream's other polling consumers.
    /// Nil when reading by enhanced fan-out: that consumer's own pipes are in the
    /// sample's `consumers`, under its name.
    public var readerReport: ConsumerReport? {
        if let fanOut, !fanOut.pollingInstead { return nil }
        var perShard: [String: ShardReadReport] = [:]
        for s in shards.values where s.read.calls > 0 || s.read.throttled > 0 { perShard[s.shardId] = s.read }
        let behind = shards.values.filter { !$0.done }.map(\.read.millisBehindLatest).max() ?? 0
        return ConsumerReport(stream: options.stream, name: options.readerName, bytes: totals.bytes,
                              records: totals.records, throttled: totals.throttled, millisBehindLatest: behind,
                              calls: totals.calls, shards: perShard)
    }

    // MARK: - Control plane

    private func refreshDue(_ now: Instant) -> Bool {
        if now >= nextRefresh { return true }
        guard soon, case .connected = state else { return false }
        return lastRefreshAttempt.map { now >= $0 + options.minRefreshInterval } ?? true
    }

    var readsAllowed: Bool {
        switch state {
        case .connected, .backingOff, .failing: summary != nil
        case .connecting, .disconnected, .streamGone: false
        }
    }

    func call<T>(_ operation: KinesisOperation, _ body: () throws(KinesisError) -> T) throws(KinesisError) -> T {
        calls[operation, default: 0] += 1
        return try body()
    }

    private func refresh(_ now: Instant) {
        lastRefreshAttempt = now
        soon = false
        let stream = options.stream
        do {
            let described = try call(.describeStreamSummary) { () throws(KinesisError) in
                try client.describeStreamSummary(StreamInput(streamName: stream))
            }.streamDescriptionSummary
            // A CREATING stream has no shards to list yet (AWS answers ListShards with ResourceInUse).
            let (listed, complete) = described.streamStatus == .creating ? ([], true) : try listShards()
            let found = try listConsumers(described.streamARN, now)
            apply(described, listed, complete: complete, consumers: found, now)
            succeeded(now)
        } catch {
            failed(error, now)
        }
    }

    /// Every page of ListShards (all shards within retention, open and closed), up to
    /// `maxShardPages`; `complete` is false when there were more.
    private func listShards() throws(KinesisError) -> (shards: [Shard], complete: Bool) {
        var listed: [Shard] = []
        var token: String?
        var pages = 0
        repeat {
            let input = token.map { ListShardsInput(nextToken: $0) } ?? ListShardsInput(streamName: options.stream)
            let page = try call(.listShards) { () throws(KinesisError) in try client.listShards(input) }
            listed += page.shards
            token = page.nextToken
            pages += 1
        } while token != nil && pages < Self.maxShardPages
        return (listed, token == nil)
    }

    /// The registered consumers, or nil when the endpoint would not list them (which
    /// does not fail the refresh: moto and older emulators lack ListStreamConsumers).
    /// Throttling, a missing stream and transport failures fail the refresh as usual.
    private func listConsumers(_ arn: String, _ now: Instant) throws(KinesisError) -> [Consumer]? {
        var found: [Consumer] = []
        var token: String?
        var pages = 0
        repeat {
            let input = token.map { ListStreamConsumersInput(streamARN: arn, nextToken: $0) }
                ?? ListStreamConsumersInput(streamARN: arn)
            do {
                let page = try call(.listStreamConsumers) { () throws(KinesisError) in
                    try client.listStreamConsumers(input)
                }
                found += page.consumers
                token = page.nextToken
                pages += 1
            } catch {
                if error.type == .limitExceeded || error.type == .resourceNotFound || Self.isTransport(error) {
                    throw error
                }
                if !consumersFailed {
                    note(now, .warning, "ListStreamConsumers failed (\(error)); consumers are not shown until it works")
                }
                consumersFailed = true
                return nil
            }
        } while token != nil && pages < Self.maxConsumerPages
        if consumersFailed { note(now, .info, "ListStreamConsumers works again") }
        consumersFailed = false
        return found
    }

    private func succeeded(_ now: Instant) {
        switch state {
        case .connected: break
        case .connecting:
            let open = shards.values.filter(\.isOpen).count
            note(now, .info, "Attached to \(options.stream) (\(summary?.streamStatus.rawValue ?? "?"), "
                 + "\(open) open shard\(open == 1 ? "" : "s")); "
                 + "reading \(Self.callsPerShardPerSecond) GetRecords/s per shard")
        case .backingOff:
            note(now, .info, "Control plane answering again; refreshing every \(seconds(options.refreshInterval))")
        case .disconnected: note(now, .info, "Reconnected to \(options.endpoint ?? "the endpoint")")
        case .streamGone: note(now, .info, "Stream \(options.stream) exists again")
        case .failing: note(now, .info, "Control plane answering again")
        }
        state = .connected
        failures = 0
        lastRefresh = now
        // While the stream is being created or resharded, its shards change soon: look sooner.
        let changing = summary?.streamStatus == .creating || summary?.streamStatus == .updating
        nextRefresh = now + (changing ? min(options.refreshInterval, Self.changingRefreshInterval)
                                      : options.refreshInterval)
    }

    private func failed(_ error: KinesisError, _ now: Instant) {
        failures += 1
        switch error.type {
        case .limitExceeded:
            let until = now + backoff(base: .seconds(1))
            note(now, .warning, "Control plane throttled (\(error)); no control-plane call for \(seconds(until - now))")
            state = .backingOff(until: until, reason: error.type.rawValue)
            nextRefresh = until
        case .resourceNotFound:
            let retry = now + backoff(base: .seconds(5))
            if case .streamGone(let since, _) = state {
                state = .streamGone(since: since, retryAt: retry)
            } else {
                note(now, .error, "Stream \(options.stream) not found (\(error.message)); "
                     + (summary == nil ? "" : "keeping its last topology; ")
                     + "retrying every \(seconds(retry - now)) or so")
                state = .streamGone(since: now, retryAt: retry)
            }
            nextRefresh = retry
        default:
            if Self.isTransport(error) {
                disconnect(error, now)
            } else {
                let retry = now + backoff(base: .seconds(2))
                note(now, .error, "Control plane: \(error); retrying in \(seconds(retry - now))")
                state = .failing(retryAt: retry, reason: error.description)
                nextRefresh = retry
            }
        }
    }

    func disconnect(_ error: KinesisError, _ now: Instant) {
        if case .disconnected = state { } else { failures = max(failures, 1) }
        let retry = now + backoff(base: .seconds(1))
        // Open subscriptions died with the connection: subscribe again once back.
        for id in Array(shards.keys) where shards[id]!.subscription != nil { shards[id]!.subscription = nil }
        note(now, .error, "\(error.message); retrying in \(seconds(retry - now))")
        state = .disconnected(retryAt: retry, reason: error.message)
        nextRefresh = retry
    }

    /// HTTP transport failures reach the watcher as InternalFailure "cannot reach …" (KinesisHTTPClient).
    static func isTransport(_ error: KinesisError) -> Bool {
        error.type == .internalFailure && error.message.hasPrefix("cannot reach")
    }

    private func backoff(base: Duration) -> Duration {
        let doublings = min(max(failures - 1, 0), 30)
        let wait = base.nanoseconds.saturatingMultiplied(by: Int64(1) << doublings)
        return .nanoseconds(min(wait, options.maxBackoff.nanoseconds))
    }

    /// Folds a refresh into the topology: new shards get a reader (LATEST on the
    /// first listing, TRIM_HORIZON afterwards), closed ones are marked, shards past
    /// retention (no longer listed) are dropped.
    private func apply(_ described: StreamDescriptionSummary, _ listed: [Shard], complete: Bool,
                       consumers found: [Consumer]?, _ now: Instant) {
        if let known = summary, known.streamCreationTimestamp != described.streamCreationTimestamp {
            note(now, .warning, "Stream \(options.stream) was deleted and created again: counting starts afresh")
            shards.removeAll()
            attachedAt = nil
            consumers = []
        }
        if let known = summary, known.streamStatus != described.streamStatus, attachedAt != nil {
            note(now, .info, "Stream \(options.stream) is \(described.streamStatus.rawValue)")
        }
        summary = described
        let first = attachedAt == nil
        if first {
            attachedAt = now
            // The attach second counts from here; every earlier second is settled (empty).
            settledThrough = max(settledThrough, now.floorSecond - 1)
            settledUntil = .startOf(second: settledThrough &+ 1)
        }
        var seen = Set<String>()
        for (ordinal, shard) in listed.enumerated() {
            seen.insert(shard.shardId)
            if var known = shards[shard.shardId] {
                let (created, closed) = WatchedShard.times(of: shard, seenAt: now)
                if known.isOpen, let closed {
                    known.closedAt = closed
                    note(now, .info, "\(shard.shardId) closed")
                }
                if !known.createdAtKnown, let created {
                    known.createdAt = created
                    known.createdAtKnown = true
                }
                known.parentShardId = shard.parentShardId
                known.adjacentParentShardId = shard.adjacentParentShardId
                shards[shard.shardId] = known
                continue
            }
            let open = shard.sequenceNumberRange.endingSequenceNumber == nil
            // On the first listing only open shards are read (from LATEST); a shard
            // that appears later was created since, so it is read from its start.
            let watched = WatchedShard(shard, ordinal: ordinal, seenAt: now, start: first ? .latest : .trimHorizon,
                                       done: first && !open, settledThrough: settledThrough)
            shards[shard.shardId] = watched
            if !first {
                note(now, .info, "New shard \(shard.shardId)" + lineage(watched) + "; reading it from TRIM_HORIZON")
            }
        }
        if complete {
            for id in shards.keys where !seen.contains(id) {
                shards[id] = nil
                note(now, .info, "\(id) expired (no longer listed)")
            }
        }
        if let found { noteConsumers(found, now, quiet: first) }
    }

    private func lineage(_ s: WatchedShard) -> String {
        switch (s.parentShardId, s.adjacentParentShardId) {
        case (let p?, let a?): " (merged from \(p) and \(a))"
        case (let p?, nil): " (split from \(p))"
        default: ""
        }
    }

    private func noteConsumers(_ found: [Consumer], _ now: Instant, quiet: Bool) {
        let before = Dictionary(consumers.map { ($0.consumerName, $0) }, uniquingKeysWith: { $1 })
        let after = Dictionary(found.map { ($0.consumerName, $0) }, uniquingKeysWith: { $1 })
        if !quiet {
            for (name, c) in after.sorted(by: { $0.key < $1.key }) {
                if let old = before[name] {
                    if old.consumerStatus != c.consumerStatus {
                        note(now, .info, "Consumer \(name) is \(c.consumerStatus.rawValue)")
                    }
                } else {
                    note(now, .info, "Consumer \(name) registered (\(c.consumerStatus.rawValue))")
                }
            }
            for name in before.keys.sorted() where after[name] == nil {
                note(now, .info, "Consumer \(name) deregistered")
            }
        }
        consumers = found
    }

    // MARK: - Reader

    func rollWindow(_ now: Instant) {
        let second = now.floorSecond
        guard second != window else { return }
        shardsLastSecond = second == window &+ 1 ? shardsInWindow.count : 0
        shardsInWindow.removeAll(keepingCapacity: true)
        readsInWindow = 0
        window = second
    }

    private func readShards(_ now: Instant) {
        rollWindow(now)
        let budget = options.maxReadsPerSecond - readsInWindow
        guard budget > 0 else { return }
        let due = shards.values.filter { s in
            !s.done && (s.pausedUntil.map { now >= $0 } ?? true)
                && (s.lastCall.map { now >= $0 + .seconds(1) } ?? true)
        }
        // Round robin: the shard that has waited longest goes first; never-read ones before all.
        let order = due.sorted { a, b in
            (a.lastCall ?? .distantPast, a.index, a.shardId) < (b.lastCall ?? .distantPast, b.index, b.shardId)
        }
        for s in order.prefix(budget) {
            read(s.shardId, now)
            guard readsAllowed else { return }
        }
    }

    private func read(_ id: String, _ now: Instant) {
        guard var s = shards[id] else { return }
        readsInWindow += 1
        shardsInWindow.insert(id)
        s.lastCall = now
        defer { shards[id] = s }
        do {
            if s.iterator == nil { s.iterator = try iterator(for: &s, now) }
            let input = GetRecordsInput(shardIterator: s.iterator, limit: options.getRecordsLimit)
            let out = try call(.getRecords) { () throws(KinesisError) in try client.getRecords(input) }
            absorb(out, into: &s, now)
        } catch {
            handleReadError(error, &s, now)
        }
    }

    /// The shard's next iterator: after the last record read; else, for a shard open at
    /// attach, LATEST in the attach step and AT_TIMESTAMP of the attach instant later
    /// (a shard first read in rotation still counts from attach; LATEST if the endpoint
    /// refuses the timestamp, e.g. its clock is behind ktop's); else TRIM_HORIZON.
    private func iterator(for s: inout WatchedShard, _ now: Instant) throws(KinesisError) -> String {
        var input = GetShardIteratorInput(streamName: options.stream, shardId: s.shardId, shardIteratorType: s.start)
        if let last = s.lastSequence {
            input.shardIteratorType = .afterSequenceNumber
            input.startingSequenceNumber = last
        } else if s.start == .latest, let attachedAt, now > attachedAt, !s.refusedTimestamp {
            input.shardIteratorType = .atTimestamp
            input.timestamp = attachedAt.date
        }
        do {
            let it = try call(.getShardIterator) { () throws(KinesisError) in try client.getShardIterator(input) }
            if input.shardIteratorType == .atTimestamp { s.skipsBeforeAttach = true }
            return it.shardIterator
        } catch where error.type == .invalidArgument && input.shardIteratorType == .atTimestamp {
            note(now, .warning, "\(s.shardId): AT_TIMESTAMP refused (\(error.message)); reading from LATEST")
            s.refusedTimestamp = true
            input.shardIteratorType = .latest
            input.timestamp = nil
            return try call(.getShardIterator) { () throws(KinesisError) in
                try client.getShardIterator(input)
            }.shardIterator
        }
    }

    private func absorb(_ out: GetRecordsOutput, into s: inout WatchedShard, _ now: Instant) {
        let bytes = count(out.records, into: &s, now)
        s.read.calls += 1
        s.read.records += Int64(out.records.count)
        s.read.bytes += bytes
        s.read.millisBehindLatest = max(0, Int64(clamping: out.millisBehindLatest ?? 0))
        totals.calls += 1
        totals.records += Int64(out.records.count)
        totals.bytes += bytes
        if s.throttleStreak > 0 { s.throttleStreak = 0 }
        s.iterator = out.nextShardIterator
        if out.nextShardIterator == nil {
            s.read.millisBehindLatest = 0
            reachedEnd(&s, children: out.childShards ?? [], now)
            return
        }
        let caughtUp = out.millisBehindLatest.map { $0 <= 0 }
            ?? (out.records.count < (options.getRecordsLimit ?? options.limits.getRecordsMaxRecords))
        advanceWatermark(&s, caughtUp: caughtUp, newest: newestArrival(out.records), now)
    }

    /// Counts records read from a shard (by GetRecords or a SubscribeToShard event),
    /// remembers the last one's sequence number, and returns their bytes.
    func count(_ records: [Record], into s: inout WatchedShard, _ now: Instant) -> Int64 {
        var bytes: Int64 = 0
        let latest = now.floorSecond &+ 60
        for r in records {
            bytes += Int64(r.data.count + r.partitionKey.utf8.count)
            let arrival = r.approximateArrivalTimestamp.map(Instant.init) ?? now
            // A shard read from TRIM_HORIZON or AT_TIMESTAMP may hold records from before
            // ktop attached (by clock skew): read, not counted. (A LATEST iterator holds none,
            // whatever the endpoint's clock says.)
            if s.skipsBeforeAttach, let attachedAt, arrival < attachedAt { continue }
            // An arrival time far ahead of this clock is held no more than a minute.
            s.tally.add(r, second: min(arrival.floorSecond, latest))
        }
        if let last = records.last { s.lastSequence = last.sequenceNumber }
        return bytes
    }

    func newestArrival(_ records: [Record]) -> Instant? {
        records.compactMap { $0.approximateArrivalTimestamp.map(Instant.init) }.max()
    }

    /// Caught up at `now`: everything that arrived before it is read. Behind: at least
    /// everything up to the newest record read (never past `now`).
    func advanceWatermark(_ s: inout WatchedShard, caughtUp: Bool, newest: Instant?, _ now: Instant) {
        if caughtUp {
            s.watermark = max(s.watermark, now)
        } else if let newest {
            s.watermark = max(s.watermark, min(newest, now))
        }
    }

    /// SHARD_END: every record is read; its children carry on from their start.
    func reachedEnd(_ s: inout WatchedShard, children: [ChildShard], _ now: Instant) {
        s.done = true
        s.watermark = .distantFuture
        if s.closedAt == nil { s.closedAt = now }
        note(now, .info, "\(s.shardId) read to SHARD_END"
             + (children.isEmpty ? "" : "; children \(children.map(\.shardId).joined(separator: ", "))"))
        for child in children { adopt(child, now) }
        refreshSoon()
    }

    /// A child shard named by its parent's last GetRecords, read from TRIM_HORIZON
    /// before the next listing describes it.
    private func adopt(_ child: ChildShard, _ now: Instant) {
        guard shards[child.shardId] == nil else { return }
        let watched = WatchedShard(
            shardId: child.shardId, index: ShardID.index(child.shardId) ?? shards.count,
            parentShardId: child.parentShards.first, adjacentParentShardId: child.parentShards.dropFirst().first,
            range: WatchedShard.range(child.hashKeyRange), createdAt: nil, closedAt: nil, seenAt: now,
            start: .trimHorizon, done: false, settledThrough: settledThrough)
        shards[child.shardId] = watched
        note(now, .info, "New shard \(child.shardId)" + lineage(watched) + "; reading it from TRIM_HORIZON")
    }

    func handleReadError(_ error: KinesisError, _ s: inout WatchedShard, _ now: Instant) {
        switch error.type {
        case .provisionedThroughputExceeded:
            // The shard's 5 calls/s or 2 MiB/s are used by the stream's own consumers
            // (or GetShardIterator's 5/s): the reader's own throttle, tried again next second.
            s.read.throttled += 1
            totals.throttled += 1
            s.throttleStreak += 1
            if s.throttleStreak == 1 { note(now, .warning, "\(s.shardId): reader throttled (\(error.message))") }
        case .expiredIterator:
            s.iterator = nil
            let resume = s.lastSequence != nil ? "resuming after the last record read"
                : s.start == .latest ? "starting again from the attach time" : "starting again from TRIM_HORIZON"
            note(now, .info, "\(s.shardId): iterator expired (unused for 5 minutes); \(resume)")
        case .resourceNotFound:
            s.iterator = nil
            s.pausedUntil = now + options.refreshInterval
            note(now, .warning, "\(s.shardId): \(error.message); checking the stream")
            refreshSoon()
        case .invalidArgument where s.lastSequence != nil:
            // A sequence number the endpoint no longer takes (e.g. trimmed): start over.
            note(now, .error, "\(s.shardId): \(error.message); starting again from \(s.start.rawValue)")
            s.lastSequence = nil
            s.iterator = nil
        default:
            if Self.isTransport(error) {
                disconnect(error, now)
                return
            }
            s.iterator = nil
            s.pausedUntil = now + options.refreshInterval
            note(now, .error, "\(s.shardId): \(error); trying again in \(seconds(options.refreshInterval))")
        }
    }

    // MARK: - Settling

    /// Moves the counted seconds forward to `settleDelay` before the slowest reader's
    /// watermark (ignoring readers lagging more than `maxSettleLag`). Frozen while the
    /// endpoint is unreachable: those seconds are unknown, not empty. A deleted stream
    /// receives nothing more, so its seconds settle with what was read.
    private func advanceSettled(_ now: Instant) {
        guard attachedAt != nil else { return }
        var horizon = now - options.settleDelay
        switch state {
        case .connecting, .disconnected: return
        case .streamGone: break
        case .connected, .backingOff, .failing:
            let floor = now - options.maxSettleLag
            for s in shards.values where !s.done && s.watermark >= floor {
                horizon = min(horizon, s.watermark - options.settleDelay)
            }
        }
        let second = horizon.floorSecond &- 1
        guard second > settledThrough else { return }
        settledThrough = second
        settledUntil = .startOf(second: second &+ 1)
        for id in Array(shards.keys) { shards[id]!.tally.settle(through: second) }
    }

    // MARK: - Samples

    private func provenance(_ now: Instant) -> SampleProvenance {
        let refreshed = lastRefresh.map { "\(seconds(now - $0)) ago" } ?? "never"
        let coverage = coverage(now: now)
        let late = shards.values.reduce(Int64(0)) { $0 + $1.tally.lateRecords }
        let unplaced = shards.values.reduce(Int64(0)) { $0 + $1.tally.unplacedRecords }
        var figures = [
            "topology": "DescribeStreamSummary + ListShards every \(seconds(options.refreshInterval)) "
                + "(last \(refreshed)); \(state)",
            "incoming": "counted from the records ktop's reader reads ("
                + (readsByFanOut ? "enhanced fan-out consumer \(fanOut?.name ?? ""), SubscribeToShard"
                    : "\(Self.callsPerShardPerSecond) GetRecords/s per shard")
                + "; \(coverage.shardsReadLastSecond) of \(coverage.shardsToRead) shards read last second), "
                + "by ApproximateArrivalTimestamp, since attach; a second is counted "
                + "\(seconds(options.settleDelay)) after every reader has passed it"
                + (late > 0 ? "; \(late) records read after their second was counted" : ""),
            "topKeys": "Space-Saving over the partition keys read, per counted second",
            "hashKeys": "MD5 of the partition keys read"
                + (unplaced > 0 ? "; \(unplaced) records routed by ExplicitHashKey are not placed" : ""),
        ]
        figures["consumers"] = consumersFailed
            ? "ListStreamConsumers failed: not available"
            : "ListStreamConsumers every \(seconds(options.refreshInterval)): status only, no per-shard counters"
        return SampleProvenance(kind: "foreign-endpoint", endpoint: options.endpoint, figures: figures)
    }

    static func accountAndRegion(_ arn: String) -> (account: String, region: String) {
        // arn:aws:kinesis:<region>:<account>:stream/<name>
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6 else { return ("", "") }
        return (String(parts[4]), String(parts[3]))
    }

    func note(_ time: Instant, _ kind: WatchEvent.Kind, _ text: String) {
        if events.count >= Self.eventCapacity {
            events.removeFirst()
            droppedEvents += 1
        }
        events.append(WatchEvent(time: time, kind: kind, text: text))
    }

    func seconds(_ d: Duration) -> String {
        let ms = d.milliseconds
        return ms % 1000 == 0 ? "\(ms / 1000) s" : String(format: "%.1f s", Double(ms) / 1000)
    }
}

@available(*, unavailable) extension StreamWatcher: Sendable {}
