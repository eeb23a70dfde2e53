import Foundation
import LoadGen
import StreamEngine

/// The enhanced fan-out consumer a watcher reads through (`WatchOptions.fanOutConsumer`).
///
/// An enhanced fan-out consumer has its own 2 MiB/s per shard and takes nothing
/// from the 5 GetRecords calls a second the stream's polling consumers share; it
/// is one of the stream's 20 registered consumers, registered (CREATING, then
/// ACTIVE) and deregistered by name, and each SubscribeToShard lasts at most
/// 5 minutes (KINESIS.md §3).
struct FanOutState {
    let name: String
    var arn: String?
    var status: ConsumerStatus?
    /// The name is ktop's own (`ktop-attach-<host>-<pid>`), so `close` deregisters it.
    var owned = false
    var nextCheck = Instant.distantPast
    var failures = 0
    /// Registration kept failing (20 consumers already, or no permission): reading by polling.
    var pollingInstead = false
    var createdAt: Instant?
}

extension StreamWatcher {
    /// Registrations refused this many times in a row fall back to polling.
    static let fanOutAttempts = 3
    /// SubscribeToShard: at most one call a second per consumer and shard; a second
    /// subscription within 5 s of one is refused with ResourceInUse.
    static let resubscribeAfterRefusal = Duration.seconds(5)
    static let maxEventsPerStep = 100

    /// `ktop-attach-<host>-<pid>`, within Kinesis's consumer-name rules (`[a-zA-Z0-9_.-]`, 1…128).
    public static func fanOutConsumerName(host: String = ProcessInfo.processInfo.hostName,
                                          pid: Int32 = ProcessInfo.processInfo.processIdentifier) -> String {
        let safe = String(host.unicodeScalars.map { scalar -> Character in
            let c = Character(scalar)
            return c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "." || c == "-") ? c : "-"
        })
        let tail = "-\(pid)"
        return "ktop-attach-" + String(safe.prefix(128 - "ktop-attach-".count - tail.count)) + tail
    }

    /// Ends the watch: drops every subscription (closing its connection) and
    /// deregisters the enhanced fan-out consumer ktop registered. No call after it.
    public func close(now: Instant) {
        guard !closed else { return }
        closed = true
        for id in Array(shards.keys) { shards[id]!.subscription = nil }
        guard var f = fanOut, f.owned, let arn = f.arn else { return }
        do {
            _ = try call(.deregisterStreamConsumer) { () throws(KinesisError) in
                try client.deregisterStreamConsumer(StreamConsumerInput(consumerARN: arn))
            }
            note(now, .info, "Deregistered enhanced fan-out consumer \(f.name)")
        } catch where error.type == .resourceNotFound {
            note(now, .info, "Enhanced fan-out consumer \(f.name) was already gone")
        } catch {
            note(now, .error, "Could not deregister enhanced fan-out consumer \(f.name) (\(error)); "
                 + "remove it with DeregisterStreamConsumer, it counts against the stream's 20")
        }
        f.arn = nil
        f.status = nil
        fanOut = f
    }

    // MARK: - Reading by subscriptions

    func readByFanOut(_ now: Instant) {
        guard let arn = ensureConsumer(now) else { return }
        rollWindow(now)
        let due = shards.values.filter { s in !s.done && (s.pausedUntil.map { now >= $0 } ?? true) }
            .sorted { a, b in
                (a.lastCall ?? .distantPast, a.index, a.shardId) < (b.lastCall ?? .distantPast, b.index, b.shardId)
            }
        for s in due {
            // Drain first: a subscription that ends now (its 5 minutes are up) is renewed at once.
            drain(s.shardId, now)
            guard let current = shards[s.shardId], current.subscription == nil, !current.done,
                  current.pausedUntil.map({ now >= $0 }) ?? true,
                  readsInWindow < options.maxReadsPerSecond,
                  current.lastSubscribe.map({ now >= $0 + .seconds(1) }) ?? true else { continue }
            subscribe(s.shardId, arn, now)
            drain(s.shardId, now)
            guard readsAllowed, fanOut?.status == .active else { return }
        }
    }

    /// The consumer's ARN once it is ACTIVE; registers it first (or finds it under
    /// ktop's name), then describes it once a second until it is.
    private func ensureConsumer(_ now: Instant) -> String? {
        guard var f = fanOut else { return nil }
        defer { fanOut = f }
        if f.status == .active, let arn = f.arn { return arn }
        guard now >= f.nextCheck, let streamARN = summary?.streamARN else { return nil }
        f.nextCheck = now + .seconds(1)
        do {
            let before = f.status
            if let arn = f.arn {
                let d = try call(.describeStreamConsumer) { () throws(KinesisError) in
                    try client.describeStreamConsumer(StreamConsumerInput(consumerARN: arn))
                }.consumerDescription
                f.status = d.consumerStatus
            } else {
                let name = f.name
                do {
                    let input = RegisterStreamConsumerInput(streamARN: streamARN, consumerName: name)
                    let c = try call(.registerStreamConsumer) { () throws(KinesisError) in
                        try client.registerStreamConsumer(input)
                    }.consumer
                    (f.arn, f.status) = (c.consumerARN, c.consumerStatus)
                    f.createdAt = Instant(c.consumerCreationTimestamp)
                    note(now, .info, "Registered enhanced fan-out consumer \(name) (\(c.consumerStatus.rawValue))")
                } catch where error.type == .resourceInUse {
                    // Registered under ktop's name already (an earlier run of this process id): use it.
                    let input = StreamConsumerInput(streamARN: streamARN, consumerName: name)
                    let d = try call(.describeStreamConsumer) { () throws(KinesisError) in
                        try client.describeStreamConsumer(input)
                    }.consumerDescription
                    (f.arn, f.status) = (d.consumerARN, d.consumerStatus)
                    f.createdAt = Instant(d.consumerCreationTimestamp)
                    note(now, .info,
                         "Enhanced fan-out consumer \(name) already registered (\(d.consumerStatus.rawValue))")
                }
                f.owned = true
            }
            f.failures = 0
            if f.status == .active, before != .active {
                note(now, .info, "Enhanced fan-out consumer \(f.name) is ACTIVE: subscribing to every open shard")
            }
            return f.status == .active ? f.arn : nil
        } catch {
            if Self.isTransport(error) {
                disconnect(error, now)
                return nil
            }
            if error.type == .resourceNotFound, f.arn != nil {
                // Deregistered by someone else: register again.
                note(now, .warning,
                     "Enhanced fan-out consumer \(f.name) is gone (\(error.message)); registering it again")
                (f.arn, f.status) = (nil, nil)
                return nil
            }
            f.failures += 1
            if f.failures >= Self.fanOutAttempts {
                f.pollingInstead = true
                note(now, .warning, "Cannot use enhanced fan-out (\(error)); reading by GetRecords instead")
            } else {
                f.nextCheck = now + Self.resubscribeAfterRefusal
                note(now, .error, "Enhanced fan-out consumer \(f.name): \(error); trying again in "
                     + seconds(Self.resubscribeAfterRefusal))
            }
            return nil
        }
    }

    /// One SubscribeToShard: after the last position read, else as the polling reader starts.
    private func subscribe(_ id: String, _ consumerARN: String, _ now: Instant) {
        guard var s = shards[id] else { return }
        defer { shards[id] = s }
        readsInWindow += 1
        s.lastSubscribe = now
        s.lastCall = now
        var position = StartingPosition(type: s.start)
        if let after = s.continuation ?? s.lastSequence {
            position = StartingPosition(type: .afterSequenceNumber, sequenceNumber: after)
        } else if s.start == .latest, let attachedAt, now > attachedAt, !s.refusedTimestamp {
            position = StartingPosition(type: .atTimestamp, timestamp: attachedAt.date)
        }
        do {
            let input = SubscribeToShardInput(consumerARN: consumerARN, shardId: id, startingPosition: position)
            s.subscription = try call(.subscribeToShard) { () throws(KinesisError) in try client.subscribe(input) }
            if position.type == .atTimestamp { s.skipsBeforeAttach = true }
            s.fanOut.subscriptions += 1
            s.throttleStreak = 0
        } catch where error.type == .invalidArgument && position.type == .atTimestamp {
            note(now, .warning, "\(id): AT_TIMESTAMP refused (\(error.message)); subscribing from LATEST")
            s.refusedTimestamp = true
        } catch {
            fanOutError(error, &s, now)
        }
    }

    /// Takes every event the subscription has ready (it never waits for the network).
    private func drain(_ id: String, _ now: Instant) {
        guard var s = shards[id], let subscription = s.subscription else { return }
        defer { shards[id] = s }
        shardsInWindow.insert(id)
        for _ in 0..<Self.maxEventsPerStep {
            let event: SubscribeToShardEvent
            do {
                guard let next = try subscription.nextEvent() else {
                    // Kinesis ends every subscription after 5 minutes: renew from where it stopped.
                    s.subscription = nil
                    return
                }
                event = next
            } catch {
                s.subscription = nil
                fanOutError(error, &s, now)
                return
            }
            let bytes = count(event.records, into: &s, now)
            if let c = event.continuationSequenceNumber { s.continuation = c }
            s.fanOut.bytes += bytes
            s.fanOut.records += Int64(event.records.count)
            s.fanOut.events += 1
            s.fanOut.millisBehindLatest = Int64(max(0, event.millisBehindLatest))
            if event.continuationSequenceNumber == nil {
                s.subscription = nil
                s.fanOut.millisBehindLatest = 0
                reachedEnd(&s, children: event.childShards ?? [], now)
                return
            }
            advanceWatermark(&s, caughtUp: event.millisBehindLatest <= 0, newest: newestArrival(event.records), now)
            if event.records.isEmpty { return }
        }
    }

    private func fanOutError(_ error: KinesisError, _ s: inout WatchedShard, _ now: Instant) {
        switch error.type {
        case .resourceInUse, .limitExceeded:
            // Another subscription of this consumer took the shard over, or came too soon after one.
            s.fanOut.rejectedSubscriptions += 1
            s.pausedUntil = now + Self.resubscribeAfterRefusal
            s.throttleStreak += 1
            if s.throttleStreak == 1 {
                note(now, .warning, "\(s.shardId): SubscribeToShard refused (\(error.message))")
            }
        case .resourceNotFound where error.message.contains("onsumer"):
            fanOut?.status = nil
            fanOut?.nextCheck = now
            note(now, .warning, "\(s.shardId): \(error.message); checking the consumer")
        default:
            handleReadError(error, &s, now)
        }
    }

    /// Reading by enhanced fan-out now (not polling, not fallen back).
    var readsByFanOut: Bool { fanOut.map { !$0.pollingInstead } ?? false }

    /// ktop's own consumer with its per-shard pipes, for the consumers pane.
    func fanOutSample(_ now: Instant) -> ConsumerSample? {
        guard let f = fanOut, !f.pollingInstead, let arn = f.arn, let status = f.status else { return nil }
        var pipes: [String: ConsumerShardCounters] = [:]
        for s in shards.values where s.fanOut.subscriptions > 0 || s.fanOut.rejectedSubscriptions > 0 {
            pipes[s.shardId] = s.fanOut
        }
        return ConsumerSample(name: f.name, arn: arn, status: status, createdAt: f.createdAt ?? now, shards: pipes)
    }
}
