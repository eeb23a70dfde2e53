/// CloudWatch units (KINESIS.md §6), as CloudWatch spells them.
public enum MetricUnit: String, Sendable, Equatable {
    case bytes = "Bytes"
    case count = "Count"
    case milliseconds = "Milliseconds"
    case none = "None"
}

/// How a per-second point relates to what happened in its interval.
public enum MetricKind: Sendable, Equatable {
    /// Things that happened in the interval (bytes, records, calls): stored as
    /// counts, shown as per-second rates, summed by rollups.
    case count
    /// A level read at the end of the interval (an age): averaged by rollups.
    case gauge
}

/// A metric's name as CloudWatch publishes it (namespace `AWS/Kinesis`), its
/// unit and kind.
public protocol MetricName: CaseIterable, Hashable, Sendable, RawRepresentable
where RawValue == String, AllCases == [Self] {
    var unit: MetricUnit { get }
    var kind: MetricKind { get }
    var help: String { get }
    /// Position in `allCases`: the column of this metric in a series row.
    var column: Int { get }
}

extension MetricName {
    /// A linear search: fine for the per-stream metrics; the per-shard ones, read for every shard every
    /// tick and refresh, answer with a switch (CatalogTests checks both agree for every case).
    public var column: Int { Self.allCases.firstIndex(of: self)! }
}

/// The enhanced (shard-level) metrics: dimensions StreamName, ShardId.
public enum ShardMetric: String, MetricName {
    case incomingBytes = "IncomingBytes"
    case incomingRecords = "IncomingRecords"
    case outgoingBytes = "OutgoingBytes"
    case outgoingRecords = "OutgoingRecords"
    case iteratorAgeMilliseconds = "IteratorAgeMilliseconds"
    case writeProvisionedThroughputExceeded = "WriteProvisionedThroughputExceeded"
    case readProvisionedThroughputExceeded = "ReadProvisionedThroughputExceeded"

    public var unit: MetricUnit {
        switch self {
        case .incomingBytes, .outgoingBytes: .bytes
        case .iteratorAgeMilliseconds: .milliseconds
        default: .count
        }
    }
    public var kind: MetricKind { self == .iteratorAgeMilliseconds ? .gauge : .count }
    public var column: Int {
        switch self {
        case .incomingBytes: 0
        case .incomingRecords: 1
        case .outgoingBytes: 2
        case .outgoingRecords: 3
        case .iteratorAgeMilliseconds: 4
        case .writeProvisionedThroughputExceeded: 5
        case .readProvisionedThroughputExceeded: 6
        }
    }
    public var help: String {
        switch self {
        case .incomingBytes: "Bytes (data + partition key) accepted by the shard"
        case .incomingRecords: "Records accepted by the shard"
        case .outgoingBytes: "Bytes served by GetRecords and pushed to enhanced fan-out consumers"
        case .outgoingRecords: "Records served by GetRecords and pushed to enhanced fan-out consumers"
        case .iteratorAgeMilliseconds: "Age of the last record returned by GetRecords on the shard"
        case .writeProvisionedThroughputExceeded: "Records refused by the shard's write quota (1 MiB/s, 1000 records/s)"
        case .readProvisionedThroughputExceeded:
            "GetRecords calls refused by the shard's read quota (2 MiB/s, 5 calls/s)"
        }
    }
}

/// The basic (stream-level) metrics: dimension StreamName. Stream-level
/// IteratorAge and MillisBehindLatest are the maximum over shards.
/// Latency metrics live in `LatencyStatistics`, not here.
public enum StreamMetric: String, MetricName {
    case incomingBytes = "IncomingBytes"
    case incomingRecords = "IncomingRecords"
    case putRecordBytes = "PutRecord.Bytes"
    case putRecordSuccess = "PutRecord.Success"
    case putRecordsBytes = "PutRecords.Bytes"
    case putRecordsSuccess = "PutRecords.Success"
    case putRecordsRecords = "PutRecords.Records"
    case putRecordsTotalRecords = "PutRecords.TotalRecords"
    case putRecordsSuccessfulRecords = "PutRecords.SuccessfulRecords"
    case putRecordsFailedRecords = "PutRecords.FailedRecords"
    case putRecordsThrottledRecords = "PutRecords.ThrottledRecords"
    case getRecordsBytes = "GetRecords.Bytes"
    case getRecordsRecords = "GetRecords.Records"
    case getRecordsSuccess = "GetRecords.Success"
    case getRecordsIteratorAgeMilliseconds = "GetRecords.IteratorAgeMilliseconds"
    case writeProvisionedThroughputExceeded = "WriteProvisionedThroughputExceeded"
    case readProvisionedThroughputExceeded = "ReadProvisionedThroughputExceeded"
    case subscribeToShardSuccess = "SubscribeToShard.Success"
    case subscribeToShardRateExceeded = "SubscribeToShard.RateExceeded"
    case subscribeToShardEventBytes = "SubscribeToShardEvent.Bytes"
    case subscribeToShardEventRecords = "SubscribeToShardEvent.Records"
    case subscribeToShardEventSuccess = "SubscribeToShardEvent.Success"
    case subscribeToShardEventMillisBehindLatest = "SubscribeToShardEvent.MillisBehindLatest"

    public var unit: MetricUnit {
        switch self {
        case .incomingBytes, .putRecordBytes, .putRecordsBytes, .getRecordsBytes, .subscribeToShardEventBytes: .bytes
        case .getRecordsIteratorAgeMilliseconds, .subscribeToShardEventMillisBehindLatest: .milliseconds
        default: .count
        }
    }
    public var kind: MetricKind {
        self == .getRecordsIteratorAgeMilliseconds || self == .subscribeToShardEventMillisBehindLatest ? .gauge : .count
    }
    public var help: String {
        switch self {
        case .incomingBytes: "Bytes accepted by the stream"
        case .incomingRecords: "Records accepted by the stream"
        case .putRecordBytes: "Bytes stored by PutRecord"
        case .putRecordSuccess: "Successful PutRecord calls"
        case .putRecordsBytes: "Bytes stored by PutRecords"
        case .putRecordsSuccess: "PutRecords calls with at least one stored record"
        case .putRecordsRecords: "Records stored by PutRecords (deprecated name of SuccessfulRecords)"
        case .putRecordsTotalRecords: "Records sent in PutRecords calls"
        case .putRecordsSuccessfulRecords: "Records stored by PutRecords"
        case .putRecordsFailedRecords: "PutRecords records refused by internal failures (the engine has none)"
        case .putRecordsThrottledRecords: "PutRecords records refused by the write quota"
        case .getRecordsBytes: "Bytes served by GetRecords"
        case .getRecordsRecords: "Records served by GetRecords"
        case .getRecordsSuccess: "Successful GetRecords calls"
        case .getRecordsIteratorAgeMilliseconds: "Largest GetRecords iterator age over the stream's shards"
        case .writeProvisionedThroughputExceeded: "Records refused by the write quotas of the stream's shards"
        case .readProvisionedThroughputExceeded: "GetRecords calls refused by the read quotas of the stream's shards"
        case .subscribeToShardSuccess: "Successful SubscribeToShard calls"
        case .subscribeToShardRateExceeded: "SubscribeToShard calls refused (in use or too frequent)"
        case .subscribeToShardEventBytes: "Bytes pushed to enhanced fan-out consumers"
        case .subscribeToShardEventRecords: "Records pushed to enhanced fan-out consumers"
        case .subscribeToShardEventSuccess: "SubscribeToShardEvent events delivered"
        case .subscribeToShardEventMillisBehindLatest: "Largest MillisBehindLatest over the stream's subscriptions"
        }
    }
}

/// Per-consumer metrics. Enhanced fan-out consumers use CloudWatch's
/// dimensions StreamName, ConsumerName; polling consumers have no CloudWatch
/// counterpart, so ktop reports what their own GetRecords calls saw under the
/// same names.
public enum ConsumerMetric: String, MetricName {
    case bytes = "Bytes"
    case records = "Records"
    case success = "Success"
    case throttled = "Throttled"
    case millisBehindLatest = "MillisBehindLatest"

    public var unit: MetricUnit {
        switch self {
        case .bytes: .bytes
        case .millisBehindLatest: .milliseconds
        default: .count
        }
    }
    public var kind: MetricKind { self == .millisBehindLatest ? .gauge : .count }
    public var help: String {
        switch self {
        case .bytes: "Bytes the consumer received (SubscribeToShardEvent.Bytes or its GetRecords bytes)"
        case .records: "Records the consumer received"
        case .success: "SubscribeToShardEvent events or successful GetRecords calls"
        case .throttled:
            "Refused reads: SubscribeToShard.RateExceeded (EFO) or ReadProvisionedThroughputExceeded (polling)"
        case .millisBehindLatest: "Largest MillisBehindLatest over the consumer's shards"
        }
    }
}
