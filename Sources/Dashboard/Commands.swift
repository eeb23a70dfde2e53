/// What the dashboard asks the rest of ktop to do. Produced by key handling,
/// carried out by the main loop through the engine's public Kinesis API (or
/// the load generator), whose result or Kinesis error comes back as an event.
public enum DashboardCommand: Hashable, Sendable {
    /// SplitShard at `hashKey` (decimal, as the API takes it).
    case splitShard(shardId: String, hashKey: String)
    /// MergeShards: `shardId` holds the lower hash range, `adjacentShardId` the next one.
    case mergeShards(shardId: String, adjacentShardId: String)
    /// UpdateShardCount with UNIFORM_SCALING.
    case updateShardCount(target: Int)
    /// Multiplies every producer's target rate by `factor` (relative to the scenario's).
    case setRateFactor(Double)
    case setKeyStrategy(KeyStrategy)
    case addConsumer(ConsumerRow.Kind)
    case removeConsumer(name: String, kind: ConsumerRow.Kind)
    /// UpdateStreamMode to "PROVISIONED" or "ON_DEMAND".
    case setStreamMode(String)
    /// Simulated seconds per real second (AcceleratedClock.setSpeed).
    case setClockSpeed(Double)
    /// Starts a built-in scenario afresh on a new engine.
    case runScenario(String)
    case quit

    /// Whether the command changes the stream itself (attached to a real stream, these ask first).
    public var changesStream: Bool {
        switch self {
        case .splitShard, .mergeShards, .updateShardCount, .setStreamMode, .removeConsumer: true
        default: false
        }
    }

    /// The operation in Kinesis's words, for a confirmation.
    public var operation: String {
        switch self {
        case .splitShard(let id, let key): "SplitShard \(id) at hash key \(key)"
        case .mergeShards(let a, let b): "MergeShards \(a) + \(b)"
        case .updateShardCount(let n): "UpdateShardCount to \(n) (UNIFORM_SCALING)"
        case .setStreamMode(let mode): "UpdateStreamMode to \(mode)"
        case .removeConsumer(let name, _): "DeregisterStreamConsumer \(name)"
        default: "\(self)"
        }
    }
}

/// A key press or terminal event, as the backend decodes it.
public enum Key: Hashable, Sendable {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, backspace, tab, backTab
    case function(Int)
    /// A left click at a cell.
    case click(x: Int, y: Int)
    case wheelUp, wheelDown
    /// The terminal now has this size.
    case resize(width: Int, height: Int)
}
