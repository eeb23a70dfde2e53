import StreamEngine

/// One shard as the dashboard shows it: its place in the hash key space, its
/// CloudWatch shard-level metrics of the last second and a short history.
public struct ShardRow: Hashable, Sendable {
    public var shardId: String
    public var open: Bool
    public var parentShardId: String?
    public var adjacentParentShardId: String?
    public var startingHashKey: UInt128
    public var endingHashKey: UInt128
    /// IncomingBytes per second (data + partition keys), last second.
    public var incomingBytes: Double = 0
    public var incomingRecords: Double = 0
    /// max(bytes / 1 MiB/s, records / 1,000/s) of the write quota.
    public var utilization: Double = 0
    /// The write limit that binds: "bytes" or "records".
    public var bindingLimit: String = "bytes"
    public var heat: Heat4 = .cold
    /// WriteProvisionedThroughputExceeded (throttled records) per second.
    public var writeThrottled: Double = 0
    /// ReadProvisionedThroughputExceeded (throttled GetRecords calls) per second.
    public var readThrottled: Double = 0
    public var outgoingBytes: Double = 0
    public var iteratorAgeMilliseconds: Double = 0
    /// Heaviest partition keys of the last second, heaviest first.
    public var topKeys: [TopKey] = []
    /// IncomingBytes per second, oldest first (one point per second).
    public var incomingHistory: [Double] = []
    /// Heat per second, aligned with `incomingHistory`.
    public var heatHistory: [Heat4] = []
    /// The hash key Metrics advises splitting this shard at, if it advises a split.
    public var advisedSplitKey: UInt128?

    public init(shardId: String, open: Bool = true, startingHashKey: UInt128, endingHashKey: UInt128) {
        self.shardId = shardId
        self.open = open
        self.startingHashKey = startingHashKey
        self.endingHashKey = endingHashKey
    }

    /// Share of the 128-bit hash key space, 0…1.
    public var hashSpaceShare: Double {
        HashKey.spaceShare(startingHashKey, endingHashKey)
    }

    /// The key a split of this shard gets by default: the advised key, else the midpoint.
    public var defaultSplitKey: UInt128 {
        advisedSplitKey ?? (startingHashKey + (endingHashKey - startingHashKey) / 2 + 1)
    }
}

/// A heavy partition key and where it hashes.
public struct TopKey: Hashable, Sendable {
    public var key: String
    public var hashKey: UInt128
    public var records: Int64
    /// Share of the shard's records in the last second, 0…1.
    public var share: Double
    public init(key: String, hashKey: UInt128, records: Int64, share: Double) {
        self.key = key
        self.hashKey = hashKey
        self.records = records
        self.share = share
    }
}

/// A consumer reading the stream: polling (GetRecords, sharing each shard's
/// 2 MiB/s and 5 calls/s) or enhanced fan-out (its own 2 MiB/s per shard).
public struct ConsumerRow: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable { case polling, efo }
    public var name: String
    public var kind: Kind
    public var bytesPerSecond: Double
    public var budgetBytesPerSecond: Double
    public var throttledPerSecond: Double
    public var millisBehindLatest: Int64
    public init(
        name: String, kind: Kind, bytesPerSecond: Double, budgetBytesPerSecond: Double,
        throttledPerSecond: Double, millisBehindLatest: Int64
    ) {
        self.name = name
        self.kind = kind
        self.bytesPerSecond = bytesPerSecond
        self.budgetBytesPerSecond = budgetBytesPerSecond
        self.throttledPerSecond = throttledPerSecond
        self.millisBehindLatest = millisBehindLatest
    }
}

/// A simulated producer of the scenario.
public struct ProducerRow: Hashable, Sendable {
    public var name: String
    public var keys: String
    public var targetRecordsPerSecond: Double
    public var ackedPerSecond: Double
    public var throttledPerSecond: Double
    public var dropped: Int64
    public init(
        name: String, keys: String, targetRecordsPerSecond: Double, ackedPerSecond: Double, throttledPerSecond: Double,
        dropped: Int64
    ) {
        self.name = name
        self.keys = keys
        self.targetRecordsPerSecond = targetRecordsPerSecond
        self.ackedPerSecond = ackedPerSecond
        self.throttledPerSecond = throttledPerSecond
        self.dropped = dropped
    }
}

/// One piece of advice from Metrics, ready to show.
public struct AdviceRow: Hashable, Sendable {
    public var action: String
    public var shardId: String?
    public var reason: String
    /// For "scale": the advised UpdateShardCount target.
    public var targetShardCount: Int?
    public init(action: String, shardId: String?, reason: String, targetShardCount: Int? = nil) {
        self.action = action
        self.shardId = shardId
        self.reason = reason
        self.targetShardCount = targetShardCount
    }
}

/// The metrics tick a `DashboardData` was built from: the store's newest sample
/// (by its time), the stream, its shard count, the history length and the limits
/// in force. Two builds of one tick read the same figures and get the same advice,
/// so the second borrows the first's (`DashboardData.build(previous:)`).
public struct DataTick: Hashable, Sendable {
    public var time: Instant
    public var streamARN: String
    public var shardCount: Int
    public var historySeconds: Int
    public var limits: KinesisLimits

    public init(time: Instant, streamARN: String, shardCount: Int, historySeconds: Int, limits: KinesisLimits) {
        self.time = time
        self.streamARN = streamARN
        self.shardCount = shardCount
        self.historySeconds = historySeconds
        self.limits = limits
    }

    // KinesisLimits is only Equatable: equal ticks hash alike without it.
    public func hash(into h: inout Hasher) {
        h.combine(time)
        h.combine(streamARN)
        h.combine(shardCount)
        h.combine(historySeconds)
    }
}

/// Everything the dashboard shows about the engine at one refresh: a pure
/// value built from Metrics (see `DashboardData.build`), so panes can be
/// rendered and tested without an engine or a terminal.
public struct DashboardData: Hashable, Sendable {
    public var time: String = "--:--:--"
    public var scenario: String = ""
    public var streamName: String = ""
    public var mode: String = "PROVISIONED"
    public var status: String = "CREATING"
    public var openShards: Int = 0
    public var closedShards: Int = 0
    public var clockSpeed: Double = 1
    /// "wall", "accelerated" or "manual".
    public var clockKind: String = "wall"
    public var limitsOff: Bool = false
    /// `ktop --faults`: failures are injected on purpose, and the header says so.
    public var faultsOn: Bool = false
    /// The data directory's banner text ("DISK fsync always"; nil: memory only).
    public var storage: String?
    public var shards: [ShardRow] = []
    public var consumers: [ConsumerRow] = []
    public var producers: [ProducerRow] = []
    public var advice: [AdviceRow] = []
    /// Built-in scenarios the `n` key offers.
    public var scenarios: [String] = []
    /// Per-shard write quota (bytes and records/s) and shared read quota (bytes and calls/s) of the limits in force.
    public var shardWriteBytes = Double(KinesisLimits.aws.shardWriteBytesPerSecond)
    public var shardWriteRecords = Double(KinesisLimits.aws.shardWriteRecordsPerSecond)
    public var shardReadBytes = Double(KinesisLimits.aws.shardReadBytesPerSecond)
    public var shardReadCalls = KinesisLimits.aws.shardReadCallsPerSecond
    /// The same quotas as sentences, for the help page (`KinesisLimits`' texts, so `--limits off` says so).
    public var shardWriteText = KinesisLimits.aws.shardWriteText
    public var sharedReadText = KinesisLimits.aws.sharedReadText
    public var fanOutPipeText = KinesisLimits.aws.fanOutPipeText
    /// The stream's estimated cost per hour in its mode (shard-hours and PUT units, or on-demand), USD.
    public var hourlyCostUSD: Double?
    /// The endpoint attached to (nil: the embedded engine) and its connection state.
    public var attachedTo: String?
    public var connection: String?
    /// Whether throttles are known (the embedded engine and a ktop endpoint count them; a foreign
    /// endpoint shows them only through CloudWatch, a minute late).
    public var throttlesKnown = true
    /// Attached with --read-only: no action reaches the stream.
    public var readOnly = false
    public var streamARN = ""
    /// The shards built with their history (`DashboardData.build(historyFor:)`); nil: every shard.
    public var historyShardIds: Set<String>?
    /// The metrics tick the rows and advice were built from (nil: not built from a store).
    public var tick: DataTick?
    /// Firehose delivery streams and SQL queries running beside the stream (the services pane).
    public var deliveryStreams: [DeliveryStreamRow] = []
    public var queries: [QueryRow] = []
    public init() {}

    public var openRows: [ShardRow] { shards.filter(\.open) }
    public var totalIncomingBytes: Double { shards.reduce(0) { $0 + $1.incomingBytes } }
    public var totalIncomingRecords: Double { shards.reduce(0) { $0 + $1.incomingRecords } }
    public var totalOutgoingBytes: Double { shards.reduce(0) { $0 + $1.outgoingBytes } }
    public var throttlesPerSecond: Double { shards.reduce(0) { $0 + $1.writeThrottled + $1.readThrottled } }
    public var writeCapacityBytes: Double { Double(openShards) * shardWriteBytes }
    public var writeCapacityRecords: Double { Double(openShards) * shardWriteRecords }
    /// Read capacity: each shard's shared 2 MiB/s for polling readers plus 2 MiB/s per EFO consumer.
    public var readCapacityBytes: Double {
        Double(openShards) * shardReadBytes * Double(1 + consumers.filter { $0.kind == .efo }.count)
    }
    public var targetRecordsPerSecond: Double { producers.reduce(0) { $0 + $1.targetRecordsPerSecond } }
}

/// The shards the table lists: the data's rows read through their listed positions, in order.
///
/// A view, not a copy: a row holds seven reference-counted fields, and copying 10,000 rows into a
/// list (and releasing the last tick's copies) each tick was a third of the first refresh after it
/// at 10,000 shards. Equal when the listed rows are, as the array it replaces was.
public struct ListedShards: RandomAccessCollection, Hashable, Sendable {
    /// Every row of the data (`DashboardData.shards`), listed or not.
    let rows: [ShardRow]
    /// Positions in `rows` of the listed ones, in listed order.
    let positions: [Int]

    init(_ rows: [ShardRow] = [], _ positions: [Int] = []) {
        self.rows = rows
        self.positions = positions
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { positions.count }
    public subscript(i: Int) -> ShardRow { rows[positions[i]] }

    /// Where the shard `id` is listed (nil: not listed, or no id), comparing ids in place: a whole row
    /// copied out per comparison would retain every field it holds.
    public func index(ofShard id: String?) -> Int? {
        guard let id else { return nil }
        return positions.firstIndex { rows[$0].shardId == id }
    }

    public static func == (a: ListedShards, b: ListedShards) -> Bool {
        a.count == b.count && a.indices.allSatisfy { a.rows[a.positions[$0]] == b.rows[b.positions[$0]] }
    }

    public func hash(into h: inout Hasher) {
        h.combine(count)
        for p in positions { h.combine(rows[p]) }
    }
}

/// A line of the events pane.
public struct EventLine: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable { case engine, advice, narration, error, action }
    public var time: String
    public var kind: Kind
    public var text: String
    public init(time: String, kind: Kind, text: String) {
        self.time = time
        self.kind = kind
        self.text = text
    }
}

/// Columns the shard table sorts by.
public enum SortKey: String, CaseIterable, Hashable, Sendable {
    case hashKey = "hash key"
    case incoming = "IncomingBytes"
    case utilization = "utilisation"
    case throttled = "throttles"
    case iteratorAge = "iterator age"
}

/// The key strategies `K` cycles through (LoadGen's key distributions).
public enum KeyStrategy: String, CaseIterable, Hashable, Sendable {
    case scenario = "scenario's own"
    case uniform, zipf
    case hotKey = "hot key"
    case salted

    public var next: KeyStrategy {
        switch self {
        case .scenario, .salted: .uniform
        case .uniform: .zipf
        case .zipf: .hotKey
        case .hotKey: .salted
        }
    }
}

/// A question the dashboard is asking in the prompt line.
public struct Prompt: Hashable, Sendable {
    public enum Purpose: Hashable, Sendable {
        case split(shardId: String)
        case updateShardCount
        case filter
    }
    public var purpose: Purpose
    public var label: String
    public var text: String
    public init(purpose: Purpose, label: String, text: String) {
        self.purpose = purpose
        self.label = label
        self.text = text
    }
}

/// A pick-one list (merge neighbour, consumers, scenarios).
public struct Menu: Hashable, Sendable {
    public struct Item: Hashable, Sendable {
        public var label: String
        public var command: DashboardCommand
        public init(_ label: String, _ command: DashboardCommand) {
            self.label = label
            self.command = command
        }
    }
    public var title: String
    public var items: [Item]
    public var selected: Int = 0
    /// A confirmation of an action on a real stream: its item is carried out as is.
    public var isConfirmation = false
    public init(title: String, items: [Item]) {
        self.title = title
        self.items = items
    }
}

/// What the dashboard is showing on top of the panes.
public enum Overlay: Hashable, Sendable {
    case none
    case help(page: Int)
    case prompt(Prompt)
    case menu(Menu)
}

/// How the dashboard is set up by the user: everything that is not engine data.
public struct ViewState: Hashable, Sendable {
    public var width: Int = 80
    public var height: Int = 24
    public var capabilities: TerminalCapabilities = .full
    public var selectedShardId: String?
    public var sortKey: SortKey = .hashKey
    public var sortDescending = false
    public var filter = ""
    /// Index of the first table row shown.
    public var scroll = 0
    public var showClosed = false
    public var paused = false
    /// Seconds between refreshes of the shown data (default 1 s).
    public var refreshInterval: Double = 1
    public var overlay: Overlay = .none
    public var keyStrategy: KeyStrategy = .scenario
    /// Braille (false) or block (true) chart when Unicode is available.
    public var blockChart = false
    /// Multiplier applied to the scenario's producer rates by `+`/`-`.
    public var rateFactor: Double = 1
    public init() {}
}

/// The whole view model: engine data, view state and the events log. The
/// renderer draws it; `DashboardModel.handle(_:)` maps keys to a new model
/// and commands. A value type: copying is cheap and tests build it by hand.
///
/// The shards the table lists (`visibleShards`) are filtered and sorted once
/// when the data or the view's filter, sort or closed-shard setting changes,
/// not on every read: a frame reads them several times, and a wide stream
/// has 10,000 of them.
public struct DashboardModel: Hashable, Sendable {
    public var data: DashboardData { didSet { refreshVisibleShards(keepingOrder: keepOrderOnce) } }
    public var view: ViewState {
        didSet {
            if view.showClosed != oldValue.showClosed || view.filter != oldValue.filter
                || view.sortKey != oldValue.sortKey || view.sortDescending != oldValue.sortDescending
            {
                refreshVisibleShards()
            } else if view.selectedShardId != oldValue.selectedShardId {
                refreshSelection()
            }
        }
    }
    /// Newest last, bounded by `maxEvents`.
    public private(set) var events: [EventLine] = []
    public static let maxEvents = 500
    /// Shards the table lists, filtered and sorted as the view asks.
    public private(set) var visibleShards = ListedShards()
    /// Where the selected shard is in `visibleShards` (nil: not listed).
    public private(set) var selectedIndex: Int?
    /// Set by `replaceData(_:keepingOrder:)` for the one assignment it makes.
    private var keepOrderOnce = false

    public init(data: DashboardData = DashboardData(), view: ViewState = ViewState()) {
        self.data = data
        self.view = view
        refreshVisibleShards()
    }

    public mutating func log(_ line: EventLine) {
        events.append(line)
        if events.count > Self.maxEvents { events.removeFirst(events.count - Self.maxEvents) }
    }

    /// Shows `new`; with `keepingOrder` (data of the tick shown now: the same figures, so the same
    /// filter and sort outcome) the listed order stands and only the rows are taken anew (their histories).
    mutating func replaceData(_ new: DashboardData, keepingOrder: Bool) {
        keepOrderOnce = keepingOrder && new.shards.count == data.shards.count
        data = new
        keepOrderOnce = false
    }

    private mutating func refreshVisibleShards(keepingOrder: Bool = false) {
        let positions = keepingOrder ? visibleShards.positions : Self.listedPositions(data.shards, view)
        visibleShards = ListedShards(data.shards, positions)
        refreshSelection()
    }

    private mutating func refreshSelection() {
        selectedIndex = visibleShards.index(ofShard: view.selectedShardId)
    }

    /// Positions in `shards` of the rows listed, filtered and sorted as `view` asks. Sorts positions rather than
    /// rows (a row carries its history), with the same comparisons, so the order is
    /// the one sorting the rows gives.
    static func listedPositions(_ shards: [ShardRow], _ view: ViewState) -> [Int] {
        var rows = shards.indices.filter { view.showClosed || shards[$0].open }
        let f = view.filter.lowercased()
        if !f.isEmpty {
            rows = rows.filter { i in
                let r = shards[i]
                return r.shardId.lowercased().contains(f) || r.heat.rawValue == f
                    || r.topKeys.contains { $0.key.lowercased().contains(f) }
            }
        }
        // The sort keys, read once per row (a row is large to copy into a comparison).
        let keys = shards.map { r in
            let metric: Double =
                switch view.sortKey {
                case .hashKey: 0
                case .incoming: r.incomingBytes
                case .utilization: r.utilization
                case .throttled: r.writeThrottled + r.readThrottled
                case .iteratorAge: r.iteratorAgeMilliseconds
                }
            return (open: r.open, start: r.startingHashKey, metric: metric)
        }
        rows.sort { i, j in
            let a = keys[i]
            let b = keys[j]
            if view.sortKey == .hashKey {
                if a.open != b.open { return a.open }
                let less = a.start != b.start ? a.start < b.start : shards[i].shardId < shards[j].shardId
                return view.sortDescending ? !less : less
            }
            if a.metric != b.metric { return view.sortDescending ? a.metric > b.metric : a.metric < b.metric }
            return a.start < b.start
        }
        return rows
    }

    /// The selected shard, or the first visible one.
    public var selectedShard: ShardRow? {
        selectedIndex.map { visibleShards[$0] } ?? visibleShards.first
    }

    /// The shards whose history the screen shows now or within a page of
    /// scrolling (the table's window and the selected shard's, a page either
    /// side), for `DashboardData.build(historyFor:)`; nil when the stream is
    /// small enough to build every shard's history.
    public var shardIdsShown: Set<String>? {
        let page = max(layout.tableBodyRows, layout.heat.height, 1)
        guard visibleShards.count > 6 * page else { return nil }
        var ids = Set<String>()
        for centre in [view.scroll, selectedIndex ?? 0] {
            for i in max(0, centre - page)..<min(visibleShards.count, centre + 2 * page) {
                ids.insert(visibleShards[i].shardId)
            }
        }
        return ids
    }

    /// Whether a shard on screen (the table's rows, the heat map's, the
    /// selected one) was built without its history: scrolled past what the
    /// last build covered, so the data should be rebuilt.
    public var needsHistory: Bool {
        guard let built = data.historyShardIds else { return false }
        let page = max(layout.tableBodyRows, layout.heat.height, 1)
        let first = min(view.scroll, max(0, visibleShards.count - page))
        let selected = selectedIndex ?? 0
        let windows = [first..<min(visibleShards.count, first + page), max(0, selected - page + 1)..<selected + 1]
        for w in windows where w.upperBound <= visibleShards.count {
            for i in w where !built.contains(visibleShards[i].shardId) { return true }
        }
        return false
    }
}
