import Foundation
import Synchronization

/// The whole simulated Kinesis: every account and region, one clock, one
/// limits table, one event log and one memory budget.
///
/// The engine has no I/O and no threads of its own. Callers (the HTTP server,
/// the load generator, the dashboard) call `KinesisService` operations from
/// any thread; something calls `tick()` about once a second to apply the
/// time-driven rules (retention, status transitions, on-demand scaling,
/// the memory budget). Every operation also applies due transitions lazily,
/// so correctness never depends on the tick's timing.
public final class KinesisEngine: Sendable {
    public let clock: any Clock
    public let configuration: EngineConfiguration
    public let events = EventLog()
    private let services = LockedValue<[String: KinesisService]>([:])
    /// Memory held by retained records across all streams (``StoredRecord/residentBytes``).
    let retainedBytes = Atomic<Int>(0)
    /// Set when a deleted stream's records were let go: the next tick hands the
    /// freed pages back to the system.
    let returnMemory = Atomic<Bool>(false)
    let incarnations = Atomic<UInt64>(1)
    /// Key for the integrity check of shard iterators and pagination tokens,
    /// so a forged or corrupted token is rejected as Kinesis rejects it.
    let tokenKey: [UInt8]
    /// The faults injected now: `configuration.faults`, until ``setFaults(_:seed:)`` changes them.
    private let faultInjector: LockedValue<FaultInjector?>
    /// Where streams are kept on disk (`--data-dir`); nil: in memory only.
    public let dataDirectory: DataDirectory?
    /// Storage failures already reported, by stream, so a full disk is one event, not one per put.
    let reportedTrouble = LockedValue<[String: String]>([:])

    /// An engine that keeps everything in memory (`configuration.storage` is ignored: see
    /// ``open(clock:configuration:)``).
    public convenience init(
        clock: any Clock = WallClock(),
        configuration: EngineConfiguration = EngineConfiguration()
    ) {
        self.init(clock: clock, configuration: configuration, dataDirectory: nil)
    }

    init(clock: any Clock, configuration: EngineConfiguration, dataDirectory: DataDirectory?) {
        self.clock = clock
        self.configuration = configuration
        self.dataDirectory = dataDirectory
        faultInjector = LockedValue(configuration.faults)
        var rng = SystemRandomNumberGenerator()
        self.tokenKey = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    public var limits: KinesisLimits { configuration.limits }

    /// The fault injector in use (nil: faults were never asked for).
    public var faults: FaultInjector? { faultInjector.withLock { $0 } }

    /// Changes the faults injected from now on (a scenario phase switching them on or off; nil: none).
    /// The one injector stays, so its counts only grow; `seed` seeds it if this creates it.
    public func setFaults(_ plan: FaultPlan?, seed: UInt64) {
        faultInjector.withLock { injector in
            if let injector {
                injector.setPlan(plan ?? FaultPlan(rules: []))
            } else if let plan {
                injector = FaultInjector(plan: plan, seed: seed)
            }
        }
    }

    /// The Kinesis endpoint of one account in one region. Streams in different
    /// accounts or regions are separate, as in AWS.
    public func service(account: String? = nil, region: String? = nil) -> KinesisService {
        let account = account ?? configuration.defaultAccount
        let region = region ?? configuration.defaultRegion
        return services.withLock { s in
            let key = account + "/" + region
            if let existing = s[key] { return existing }
            let created = KinesisService(engine: self, account: account, region: region)
            s[key] = created
            return created
        }
    }

    /// Every service that has been used, in a stable order.
    public var allServices: [KinesisService] {
        services.withLock { Array($0.values) }.sorted { ($0.account, $0.region) < ($1.account, $1.region) }
    }

    /// Memory held by retained records (payload plus per-record bookkeeping),
    /// against `configuration.retainedBytesBudget`.
    public var retainedPayloadBytes: Int { retainedBytes.load(ordering: .relaxed) }

    func nextIncarnation() -> UInt64 { incarnations.wrappingAdd(1, ordering: .relaxed).newValue }

    /// Applies everything that is due at the clock's current time: status
    /// transitions, retention, on-demand scaling and the memory budget. Cheap
    /// when nothing is due; call it about once a second.
    public func tick() {
        let now = clock.now()
        for service in allServices { service.tick(now) }
        if dataDirectory != nil { tickStorage(now) }
        enforceMemoryBudget(now)
        if returnMemory.exchange(false, ordering: .relaxed) { SystemMemory.returnFreedPages() }
    }

    /// Trims the globally oldest records until retained payload fits the budget.
    /// Runs off the put path; the put path only has a hard backstop (see PutRecords).
    func enforceMemoryBudget(_ now: Instant) {
        let budget = configuration.retainedBytesBudget
        let excess = retainedBytes.load(ordering: .relaxed) - budget
        guard excess > 0 else { return }
        var owner: [ObjectIdentifier: StreamState] = [:]
        var shards: [ShardState] = []
        for service in allServices {
            for stream in service.streamsSnapshot() {
                stream.meta.read { m in
                    for shard in m.shards {
                        owner[ObjectIdentifier(shard)] = stream
                        shards.append(shard)
                    }
                }
            }
        }
        let evicted = Self.evictOldest(shards, bytes: excess)
        retainedBytes.wrappingSubtract(evicted.reduce(0) { $0 + $1.bytes }, ordering: .relaxed)
        for e in evicted {
            let stream = owner[ObjectIdentifier(e.shard)]!
            events.append(
                time: now, account: stream.account, region: stream.region, stream: stream.name,
                kind: .recordsEvicted, shards: [e.shard.shardId],
                message: e.shard.store == nil
                    ? "Memory budget reached: trimmed the \(e.records) oldest records (\(e.bytes) bytes) of "
                        + "\(e.shard.shardId) early"
                    : "Memory window full: the \(e.records) oldest records of \(e.shard.shardId) are now "
                        + "read from disk")
        }
    }

    /// Frees `target` bytes of the oldest records among `shards`, oldest first
    /// across all of them: each round takes from the shard whose head is oldest,
    /// up to the next-oldest head. O(shards) per round; only shard locks are taken.
    /// Returns what each shard lost, in the order shards first lost records.
    static func evictOldest(
        _ shards: [ShardState], bytes target: Int
    ) -> [(shard: ShardState, records: Int, bytes: Int)] {
        var out: [(shard: ShardState, records: Int, bytes: Int)] = []
        var freed = 0
        while freed < target {
            var heads: [(shard: ShardState, head: Int64)] = []
            for shard in shards {
                if let head = shard.log.withLock({ $0.records.first?.arrivalMillis }) { heads.append((shard, head)) }
            }
            guard let oldest = heads.min(by: { $0.head < $1.head }) else { break }
            let next = heads.filter { $0.shard !== oldest.shard }.map(\.head).min() ?? .max
            let e = oldest.shard.log.withLock { $0.evict(bytes: target - freed, notAfter: next) }
            if e.records == 0 { break }
            if let i = out.firstIndex(where: { $0.shard === oldest.shard }) {
                out[i].records += e.records
                out[i].bytes += e.bytes
            } else {
                out.append((oldest.shard, e.records, e.bytes))
            }
            freed += e.bytes
        }
        return out
    }
}
