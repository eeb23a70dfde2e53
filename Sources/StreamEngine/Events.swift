import DequeModule
import Synchronization

/// Something rare and worth telling a person about: a stream changing state, a
/// reshard, records trimmed. The engine's only outbound channel besides the
/// counters; Metrics and the dashboard read it, the engine never waits on them.
///
/// JSON (`GET /ktop/v1/events`): the properties by name, `time` in nanoseconds since the
/// epoch (as every ``Instant``), `kind` its raw name (`shardSplit`).
public struct EngineEvent: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case streamCreating, streamActive, streamUpdating, streamDeleting, streamDeleted
        case shardSplit, shardsMerged, shardCountUpdated, onDemandScaled
        /// An on-demand stream's traffic asked for more capacity: the event says how much and when.
        case onDemandScalingPlanned
        case streamModeChanged, retentionChanged, encryptionChanged
        case recordsExpired, recordsEvicted
        case consumerCreating, consumerActive, consumerDeleting, consumerDeleted
        /// The data directory: a damaged or torn segment found at start, a write or sync that failed.
        case storageDamaged, storageFailed
    }
    /// Increasing, so readers can ask for what came after the last one they saw.
    public var id: UInt64
    public var time: Instant
    public var account: String
    public var region: String
    public var stream: String
    public var kind: Kind
    /// Shard ids involved (parents first, then children), if any.
    public var shards: [String]
    /// One line a person can read in the events pane.
    public var message: String
}

/// A bounded log of engine events (a ring of the newest `capacity`).
///
/// Readers poll with the last id they saw: O(k) for k new events, and the
/// writer never blocks on a slow reader.
public final class EventLog: Sendable {
    private struct State { var events = Deque<EngineEvent>(); var nextId: UInt64 = 1; var dropped: UInt64 = 0 }
    private let state = LockedValue(State())
    public let capacity: Int

    public init(capacity: Int = 10_000) { self.capacity = capacity }

    func append(time: Instant, account: String, region: String, stream: String, kind: EngineEvent.Kind,
                shards: [String] = [], message: String) {
        state.withLock { s in
            s.events.append(EngineEvent(id: s.nextId, time: time, account: account, region: region, stream: stream,
                                        kind: kind, shards: shards, message: message))
            s.nextId += 1
            if s.events.count > capacity { s.events.removeFirst(); s.dropped += 1 }
        }
    }

    /// Events with an id greater than `id`, oldest first.
    public func events(after id: UInt64 = 0) -> [EngineEvent] {
        state.withLock { s in
            guard let first = s.events.first else { return [] }
            // In UInt64: a reader's id far past the newest (a remote's `after=`) must not trap `Int(_:)`.
            let skip = id >= first.id ? id - first.id + 1 : 0
            return skip >= UInt64(s.events.count) ? [] : Array(s.events.dropFirst(Int(skip)))
        }
    }

    /// Id of the newest event (0 when none yet).
    public var lastId: UInt64 { state.withLock { $0.nextId - 1 } }
}
