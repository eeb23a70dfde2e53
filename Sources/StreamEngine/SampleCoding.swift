// The checks shared by the `Codable` forms of `EngineSample` and what it holds.
//
// A sample may come from another process (`GET /ktop/v1/sample` of a remote ktop),
// so decoding refuses, with a `DecodingError`, anything the engine could never
// have produced and that a reader would trip over: a negative counter (Metrics
// subtracts consecutive samples; two non-negative Int64s cannot overflow), a hash
// key outside 0…2^128 − 1, a range whose end is below its start, an unknown status.

extension KeyedDecodingContainer {
    /// A cumulative count or a level: an integer in 0…Int64.max.
    func decodeCount(_ key: Key) throws -> Int64 {
        let value = try decode(Int64.self, forKey: key)
        guard value >= 0 else { throw corrupted(key, "must not be negative, got \(value)") }
        return value
    }

    /// A size, index or count held as `Int`: 0…Int.max.
    func decodeNonNegative(_ key: Key) throws -> Int {
        let value = try decode(Int.self, forKey: key)
        guard value >= 0 else { throw corrupted(key, "must not be negative, got \(value)") }
        return value
    }

    /// A 128-bit hash key as Kinesis writes one: a decimal string, `0` to
    /// `340282366920938463463374607431768211455`, without sign or leading zeros.
    func decodeHashKey(_ key: Key) throws -> UInt128 {
        let text = try decode(String.self, forKey: key)
        guard let value = HashKey.parse(text) else {
            throw corrupted(key, "must be a decimal hash key in 0…2^128 − 1, got \"\(text.prefix(64))\"")
        }
        return value
    }

    /// One of the enum's known values: a sample only ever holds those.
    func decodeKnown<E: KinesisEnum>(_ type: E.Type, forKey key: Key) throws -> E {
        let value = try decode(E.self, forKey: key)
        guard value.isKnown else {
            throw corrupted(key, "must be one of \(E.allCases.map(\.rawValue)), got \"\(value.rawValue.prefix(64))\"")
        }
        return value
    }

    func corrupted(_ key: Key, _ message: String) -> DecodingError {
        DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\(key.stringValue) \(message)")
    }
}

extension Sequence {
    /// Whether two elements share a key, for lists a sample keeps unique (shard ids, stream names).
    func hasDuplicate<K: Hashable>(by key: (Element) -> K) -> Bool {
        var seen = Set<K>()
        for element in self where !seen.insert(key(element)).inserted { return true }
        return false
    }
}

extension EngineSample: Codable {
    enum CodingKeys: String, CodingKey {
        case time, limitsProfile, enforcesThroughput, clockSpeed, retainedBytes, retainedBytesBudget, streams, storage
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        time = try c.decode(Instant.self, forKey: .time)
        limitsProfile = try c.decode(String.self, forKey: .limitsProfile)
        enforcesThroughput = try c.decode(Bool.self, forKey: .enforcesThroughput)
        clockSpeed = try c.decode(Double.self, forKey: .clockSpeed)
        // 0 is a paused clock.
        guard clockSpeed.isFinite, clockSpeed >= 0 else { throw c.corrupted(.clockSpeed, "must be finite and ≥ 0") }
        retainedBytes = try c.decodeNonNegative(.retainedBytes)
        retainedBytesBudget = try c.decodeNonNegative(.retainedBytesBudget)
        streams = try c.decode([StreamSample].self, forKey: .streams)
        guard !streams.hasDuplicate(by: { [$0.account, $0.region, $0.name] }) else {
            throw c.corrupted(.streams, "holds one stream (account, region, name) twice")
        }
        // Absent from a ktop older than --data-dir.
        storage = try c.decodeIfPresent(StorageSample.self, forKey: .storage)
        if let storage, storage.diskBytes < 0 || storage.failedShards < 0 {
            throw c.corrupted(.storage, "holds a negative count")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(time, forKey: .time)
        try c.encode(limitsProfile, forKey: .limitsProfile)
        try c.encode(enforcesThroughput, forKey: .enforcesThroughput)
        try c.encode(clockSpeed, forKey: .clockSpeed)
        try c.encode(retainedBytes, forKey: .retainedBytes)
        try c.encode(retainedBytesBudget, forKey: .retainedBytesBudget)
        try c.encode(streams, forKey: .streams)
        try c.encode(storage, forKey: .storage)
    }
}

extension StreamSample: Codable {
    enum CodingKeys: String, CodingKey {
        case account, region, name, arn, status, mode, retentionHours, encryption, createdAt, shards, consumers
        case counters, provenance
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        account = try c.decode(String.self, forKey: .account)
        region = try c.decode(String.self, forKey: .region)
        name = try c.decode(String.self, forKey: .name)
        arn = try c.decode(String.self, forKey: .arn)
        status = try c.decodeKnown(StreamStatus.self, forKey: .status)
        mode = try c.decodeKnown(StreamMode.self, forKey: .mode)
        retentionHours = try c.decodeNonNegative(.retentionHours)
        encryption = try c.decodeKnown(EncryptionType.self, forKey: .encryption)
        createdAt = try c.decode(Instant.self, forKey: .createdAt)
        shards = try c.decode([ShardSample].self, forKey: .shards)
        guard !shards.hasDuplicate(by: \.shardId), !shards.hasDuplicate(by: \.index) else {
            throw c.corrupted(.shards, "holds one shard id or index twice")
        }
        consumers = try c.decode([ConsumerSample].self, forKey: .consumers)
        guard !consumers.hasDuplicate(by: \.name) else {
            throw c.corrupted(.consumers, "holds one consumer name twice")
        }
        counters = try c.decode(StreamCounters.self, forKey: .counters)
        provenance = try c.decode(SampleProvenance.self, forKey: .provenance)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(account, forKey: .account)
        try c.encode(region, forKey: .region)
        try c.encode(name, forKey: .name)
        try c.encode(arn, forKey: .arn)
        try c.encode(status, forKey: .status)
        try c.encode(mode, forKey: .mode)
        try c.encode(retentionHours, forKey: .retentionHours)
        try c.encode(encryption, forKey: .encryption)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(shards, forKey: .shards)
        try c.encode(consumers, forKey: .consumers)
        try c.encode(counters, forKey: .counters)
        try c.encode(provenance, forKey: .provenance)
    }
}

extension ShardSample: Codable {
    enum CodingKeys: String, CodingKey {
        case shardId, index, parentShardId, adjacentParentShardId, startingHashKey, endingHashKey, createdAt, closedAt
        case counters, retainedRecords, retainedBytes, topKeys, topKeysByBytes, hashKeyHistogram, cloudWatch
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        shardId = try c.decode(String.self, forKey: .shardId)
        index = try c.decodeNonNegative(.index)
        parentShardId = try c.decodeIfPresent(String.self, forKey: .parentShardId)
        adjacentParentShardId = try c.decodeIfPresent(String.self, forKey: .adjacentParentShardId)
        startingHashKey = try c.decodeHashKey(.startingHashKey)
        endingHashKey = try c.decodeHashKey(.endingHashKey)
        // `hashSpaceShare` subtracts the two.
        guard startingHashKey <= endingHashKey else {
            throw c.corrupted(.endingHashKey, "must not be below startingHashKey")
        }
        createdAt = try c.decode(Instant.self, forKey: .createdAt)
        closedAt = try c.decodeIfPresent(Instant.self, forKey: .closedAt)
        counters = try c.decode(ShardCounters.self, forKey: .counters)
        retainedRecords = try c.decodeNonNegative(.retainedRecords)
        retainedBytes = try c.decodeNonNegative(.retainedBytes)
        topKeys = try c.decodeIfPresent(SpaceSaving.self, forKey: .topKeys)
        guard topKeys.map({ $0.weight == .records }) ?? true else { throw c.corrupted(.topKeys, "must weigh records") }
        topKeysByBytes = try c.decodeIfPresent(SpaceSaving.self, forKey: .topKeysByBytes)
        guard topKeysByBytes.map({ $0.weight == .bytes }) ?? true else {
            throw c.corrupted(.topKeysByBytes, "must weigh bytes")
        }
        hashKeyHistogram = try c.decodeIfPresent(HashKeyHistogram.self, forKey: .hashKeyHistogram)
        // Split advice reads bucket ranges as keys of this shard.
        if let h = hashKeyHistogram, h.lowerBound != startingHashKey || h.upperBound != endingHashKey {
            throw c.corrupted(.hashKeyHistogram, "must cover the shard's hash key range")
        }
        cloudWatch = try c.decodeIfPresent(CloudWatchShardMetrics.self, forKey: .cloudWatch)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(shardId, forKey: .shardId)
        try c.encode(index, forKey: .index)
        try c.encode(parentShardId, forKey: .parentShardId)
        try c.encode(adjacentParentShardId, forKey: .adjacentParentShardId)
        try c.encode(String(startingHashKey), forKey: .startingHashKey)
        try c.encode(String(endingHashKey), forKey: .endingHashKey)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(closedAt, forKey: .closedAt)
        try c.encode(counters, forKey: .counters)
        try c.encode(retainedRecords, forKey: .retainedRecords)
        try c.encode(retainedBytes, forKey: .retainedBytes)
        try c.encode(topKeys, forKey: .topKeys)
        try c.encode(topKeysByBytes, forKey: .topKeysByBytes)
        try c.encode(hashKeyHistogram, forKey: .hashKeyHistogram)
        try c.encode(cloudWatch, forKey: .cloudWatch)
    }
}

extension ConsumerSample: Codable {
    enum CodingKeys: String, CodingKey { case name, arn, status, createdAt, shards }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        arn = try c.decode(String.self, forKey: .arn)
        status = try c.decodeKnown(ConsumerStatus.self, forKey: .status)
        createdAt = try c.decode(Instant.self, forKey: .createdAt)
        shards = try c.decode([String: ConsumerShardCounters].self, forKey: .shards)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(arn, forKey: .arn)
        try c.encode(status, forKey: .status)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(shards, forKey: .shards)
    }
}
