import Foundation
import Testing
@testable import StreamEngine

/// The JSON form of `EngineSample` (what `GET /ktop/v1/sample` serves): a real engine's
/// sample survives the round trip exactly, and JSON the engine could not have produced
/// is a thrown `DecodingError`, never a value that traps a reader later.
@Suite struct SampleCodingTests {
    /// An engine after traffic of every kind a sample records: write throttles (bytes and
    /// records), read throttles, a split (a closed parent and two children), a merge, an
    /// enhanced fan-out consumer that read, hot keys of the last second, a second region.
    static func busyHarness() throws -> Harness {
        let h = Harness()
        let arn = try h.stream("s", shards: 2)
        // 1,100 records in one instant on shard 0: 1,000 fit the records/s quota.
        let entries = (0..<1100).map { i in PutRecordsRequestEntry(data: Data("r\(i)".utf8), explicitHashKey: "0",
                                                                  partitionKey: "k\(i % 7)") }
        let put = try h.k.putRecords(PutRecordsInput(records: Array(entries[0..<500]), streamName: "s"))
        let put2 = try h.k.putRecords(PutRecordsInput(records: Array(entries[500..<1000]), streamName: "s"))
        let put3 = try h.k.putRecords(PutRecordsInput(records: Array(entries[1000...]), streamName: "s"))
        #expect(put.failedRecordCount == 0 && put2.failedRecordCount == 0 && put3.failedRecordCount == 100)
        h.advance(.seconds(1))
        // A MiB on shard 1 at once: the bytes quota refuses the second 600 KiB record.
        _ = try h.put(data: bytes(600 * 1024), key: "big", hash: maxHash)
        #expect(throws: KinesisError.self) { try h.put(data: bytes(600 * 1024), key: "big", hash: maxHash) }
        // Six GetRecords within 5 ms on shard 0: the sixth is refused by the 5 calls/s.
        // (Reads are served into debt of the 2 MiB/s: 1 ms between calls pays back 60 bytes.)
        let iterator = try h.iterator()
        for _ in 0..<5 { _ = try h.get(iterator, limit: 10); h.advance(.milliseconds(1)) }
        #expect(throws: KinesisError.self) { try h.get(iterator, limit: 10) }
        // An EFO consumer that reads shard 1.
        let consumer = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "efo"))
        let subscription = try h.k.subscribeToShard(SubscribeToShardInput(
            consumerARN: consumer.consumer.consumerARN, shardId: "shardId-000000000001",
            startingPosition: StartingPosition(type: .trimHorizon)))
        #expect(try subscription.nextEvent()?.records.isEmpty == false)
        h.advance(.seconds(1))
        // Keys of this second on shard 0, then a split of it and a merge of its children.
        for i in 0..<40 { _ = try h.put(data: bytes(100 + i), key: "hot-\(i % 3)", hash: "12345") }
        _ = try h.k.splitShard(SplitShardInput(streamName: "s", shardToSplit: "shardId-000000000000",
                                               newStartingHashKey: "85070591730234615865843651857942052864"))
        _ = try h.k.mergeShards(MergeShardsInput(streamName: "s", shardToMerge: "shardId-000000000002",
                                                 adjacentShardToMerge: "shardId-000000000003"))
        h.advance(.milliseconds(1500))
        _ = try h.engine.service(region: "eu-west-1")
            .createStream(CreateStreamInput(streamName: "other", shardCount: 1))
        h.engine.tick()
        return h
    }

    static func encode(_ sample: EngineSample) throws -> Data { try JSONEncoder().encode(sample) }
    static func decode(_ data: Data) throws -> EngineSample { try JSONDecoder().decode(EngineSample.self, from: data) }

    @Test func aBusyEnginesSampleSurvivesTheRoundTripExactly() throws {
        let h = try Self.busyHarness()
        let sample = h.engine.sample()
        // The round trip is only worth something if the sample holds every kind of figure.
        let s = try #require(sample.streams.first { $0.name == "s" })
        let shard0 = try #require(s.shards.first { $0.shardId == "shardId-000000000000" })
        let shard1 = try #require(s.shards.first { $0.shardId == "shardId-000000000001" })
        #expect(shard0.counters.writeThrottledRecords == 100 && shard0.counters.writeThrottledByRecords == 100)
        #expect(shard1.counters.writeThrottledBytes > 0 && shard1.counters.writeThrottledByBytes == 1)
        #expect(shard0.counters.readThrottledCalls == 1 && shard0.counters.outgoingRecords == 50)
        #expect(shard1.counters.fanOutRecords == 1)
        #expect(shard0.closedAt != nil && s.shards.count == 5 && s.openShardCount == 2)
        #expect(s.shards.contains { $0.adjacentParentShardId != nil })
        #expect(shard0.topKeys?.entries.isEmpty == false && shard0.topKeysByBytes?.entries.isEmpty == false)
        #expect(shard0.hashKeyHistogram?.records.reduce(0, +) == 1040)
        #expect(s.consumers.first?.shards["shardId-000000000001"]?.records == 1)
        #expect(s.counters.putRecordsThrottledRecords == 100)
        #expect(sample.streams.map(\.region).sorted() == ["eu-west-1", "us-east-1"])

        let decoded = try Self.decode(try Self.encode(sample))
        #expect(decoded == sample)
        // And the same text again (keys sorted: dictionaries have no order): nothing is lost on the way.
        let sorted = JSONEncoder()
        sorted.outputFormatting = .sortedKeys
        #expect(try sorted.encode(decoded) == (try sorted.encode(sample)))
    }

    @Test func theJSONFormIsTheDocumentedOne() throws {
        let h = Harness()
        try h.stream("s", shards: 2)
        _ = try h.put(key: "pk", hash: maxHash)
        h.advance(.seconds(1))
        let sample = h.engine.sample()
        let json = try #require(try JSONSerialization.jsonObject(with: try Self.encode(sample)) as? [String: Any])
        #expect((json["time"] as? NSNumber)?.int64Value == sample.time.nanosecondsSinceEpoch)
        let stream = try #require((json["streams"] as? [[String: Any]])?.first)
        #expect(stream["status"] as? String == "ACTIVE" && stream["mode"] as? String == "PROVISIONED")
        let shards = try #require(stream["shards"] as? [[String: Any]])
        #expect(shards[1]["startingHashKey"] as? String == "170141183460469231731687303715884105728")
        #expect(shards[1]["endingHashKey"] as? String == maxHash)
        #expect(shards[1]["parentShardId"] is NSNull && shards[1]["closedAt"] is NSNull)
        #expect((shards[1]["counters"] as? [String: Any])?["incomingRecords"] as? Int == 1)
        let top = try #require(shards[1]["topKeys"] as? [String: Any])
        #expect(top["weight"] as? String == "records" && top["slots"] as? Int == 16)
        let entry = try #require((top["entries"] as? [[String: Any]])?.first)
        #expect(entry["partitionKey"] as? String == "pk" && entry["hashKey"] as? String == maxHash)
        let histogram = try #require(shards[1]["hashKeyHistogram"] as? [String: Any])
        #expect(histogram["upperBound"] as? String == maxHash && (histogram["records"] as? [Int])?.count == 128)
    }

    @Test func everyCounterCrossesOnItsOwn() throws {
        try Self.eachKeyRoundTrips(ShardCounters())
        try Self.eachKeyRoundTrips(StreamCounters())
        try Self.eachKeyRoundTrips(ConsumerShardCounters())
    }

    /// Sets each encoded key alone to a distinct value and reads it back: a counter the
    /// encoder writes but the decoder forgets would come back as 0.
    static func eachKeyRoundTrips<C: Codable & Equatable>(_ zero: C) throws {
        let encoded = try JSONEncoder().encode(zero)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object.count > 1)
        for (i, key) in object.keys.sorted().enumerated() {
            var changed = object
            changed[key] = 1_000 + i
            let decoded = try JSONDecoder().decode(C.self, from: try JSONSerialization.data(withJSONObject: changed))
            let back = try #require(
                try JSONSerialization.jsonObject(with: try JSONEncoder().encode(decoded)) as? [String: Any])
            #expect(back[key] as? Int == 1_000 + i, "\(C.self).\(key) did not survive decoding")
            #expect(decoded != zero)
        }
    }

    @Test func countersAtTheTopOfInt64Cross() throws {
        var c = ShardCounters()
        c.incomingBytes = .max
        let data = try JSONEncoder().encode(c)
        #expect(String(decoding: data, as: UTF8.self).contains("9223372036854775807"))
        #expect(try JSONDecoder().decode(ShardCounters.self, from: data) == c)
    }

    @Test(arguments: [Instant.distantPast, .distantFuture, Instant(nanosecondsSinceEpoch: 0),
                      Instant(nanosecondsSinceEpoch: 1_764_000_000_123_456_789)])
    func instantsAreExactNanoseconds(_ t: Instant) throws {
        let data = try JSONEncoder().encode([t])
        #expect(String(decoding: data, as: UTF8.self) == "[\(t.nanosecondsSinceEpoch)]")
        #expect(try JSONDecoder().decode([Instant].self, from: data) == [t])
    }

    // MARK: hostile JSON

    /// One change to a valid sample's JSON: the value at `path` replaced by raw JSON text.
    struct Corruption: CustomTestStringConvertible, Sendable {
        var path: [String]
        var raw: String
        var testDescription: String { path.joined(separator: ".") + " = " + raw }
        init(_ path: String, _ raw: String) { self.path = path.split(separator: ".").map(String.init); self.raw = raw }
    }

    static let shard = "streams.0.shards.0"
    static let corruptions: [Corruption] = [
        // Hash keys: one past 2^128 − 1, signs, leading zeros, non-digits, numbers instead of strings.
        Corruption("\(shard).endingHashKey", #""340282366920938463463374607431768211456""#),
        Corruption("\(shard).endingHashKey", #""999999999999999999999999999999999999999999""#),
        Corruption("\(shard).startingHashKey", #""-1""#),
        Corruption("\(shard).startingHashKey", #""+1""#),
        Corruption("\(shard).startingHashKey", #""01""#),
        Corruption("\(shard).startingHashKey", #""""#),
        Corruption("\(shard).startingHashKey", #""1e3""#),
        Corruption("\(shard).startingHashKey", #"" 1""#),
        Corruption("\(shard).startingHashKey", #""0x10""#),
        Corruption("\(shard).startingHashKey", "0"),
        Corruption("\(shard).startingHashKey", "null"),
        // A range upside down (hashSpaceShare would trap on the subtraction).
        Corruption("\(shard).startingHashKey", #""340282366920938463463374607431768211455""#),
        // Counters: negative, beyond Int64, fractional, strings, missing.
        Corruption("\(shard).counters.incomingRecords", "-1"),
        Corruption("\(shard).counters.writeThrottledRecords", "-9223372036854775808"),
        Corruption("\(shard).counters.incomingBytes", "9223372036854775808"),
        Corruption("\(shard).counters.incomingBytes", "1.5"),
        Corruption("\(shard).counters.incomingBytes", "1e300"),
        Corruption("\(shard).counters.incomingBytes", #""5""#),
        Corruption("\(shard).counters", "{}"),
        Corruption("streams.0.counters.putRecordsThrottledRecords", "-1"),
        Corruption("streams.0.consumers.0.shards.shardId-000000000000.bytes", "-1"),
        Corruption("\(shard).retainedRecords", "-1"),
        Corruption("\(shard).index", "-1"),
        Corruption("retainedBytes", "-1"),
        Corruption("retainedBytesBudget", "-5"),
        Corruption("clockSpeed", "-1"),
        Corruption("time", "1e30"),
        Corruption("time", "9223372036854775808"),
        Corruption("time", #""2026-11-24T12:00:01Z""#),
        Corruption("\(shard).createdAt", "-9223372036854775809"),
        // Histograms whose arrays or shift do not match the range, or whose range is not the shard's.
        Corruption("\(shard).hashKeyHistogram.records", "[1, 2, 3]"),
        Corruption("\(shard).hashKeyHistogram.bytes", "[]"),
        Corruption("\(shard).hashKeyHistogram.records.0", "-1"),
        Corruption("\(shard).hashKeyHistogram.shift", "0"),
        Corruption("\(shard).hashKeyHistogram.shift", "200"),
        Corruption("\(shard).hashKeyHistogram.lowerBound", #""340282366920938463463374607431768211455""#),
        Corruption("\(shard).hashKeyHistogram.upperBound", #""340282366920938463463374607431768211456""#),
        Corruption("\(shard).hashKeyHistogram.upperBound", #""85070591730234615865843651857942052862""#),
        // Space-Saving sketches breaking their invariants.
        Corruption("\(shard).topKeys.slots", "1"),
        Corruption("\(shard).topKeys.slots", "0"),
        Corruption("\(shard).topKeys.slots", "-16"),
        Corruption("\(shard).topKeys.slots", "1000000000000"),
        Corruption("\(shard).topKeys.weight", #""keys""#),
        Corruption("\(shard).topKeys.weight", #""bytes""#),
        Corruption("\(shard).topKeys.total", "0"),
        Corruption("\(shard).topKeys.totalBytes", "-1"),
        Corruption("\(shard).topKeys.entries.0.records", "0"),
        Corruption("\(shard).topKeys.entries.0.records", "9223372036854775807"),
        Corruption("\(shard).topKeys.entries.0.error", "9223372036854775807"),
        Corruption("\(shard).topKeys.entries.0.error", "-1"),
        Corruption("\(shard).topKeys.entries.1.hashKey", #""0""#),
        Corruption("\(shard).topKeys.entries.0.hashKey", #""340282366920938463463374607431768211456""#),
        Corruption("\(shard).topKeysByBytes.weight", #""records""#),
        // Statuses ktop never reports, duplicates, wrong shapes.
        Corruption("streams.0.status", #""SLEEPING""#),
        Corruption("streams.0.mode", #""provisioned""#),
        Corruption("streams.0.encryption", #""AES""#),
        Corruption("streams.0.consumers.0.status", #""GONE""#),
        Corruption("streams.0.shards.1.shardId", #""shardId-000000000000""#),
        Corruption("streams.0.retentionHours", "-24"),
        Corruption("streams.0.shards", "{}"),
        Corruption("streams", "null"),
        Corruption("streams.1.name", #""s""#),
        Corruption("streams.1.provenance", "null"),
    ]

    /// A busy engine's sample, with the second stream moved into the same account and
    /// region so the duplicate-stream corruptions can collide with the first.
    static func validSampleJSON() throws -> Data {
        let h = Harness()
        let arn = try h.stream("s", shards: 2)
        for i in 0..<20 { _ = try h.put(data: bytes(10 * i + 1), key: "key-\(i % 5)", hash: String(i % 5)) }
        let consumer = try h.k.registerStreamConsumer(RegisterStreamConsumerInput(streamARN: arn, consumerName: "c"))
        let subscription = try h.k.subscribeToShard(SubscribeToShardInput(
            consumerARN: consumer.consumer.consumerARN, shardId: "shardId-000000000000",
            startingPosition: StartingPosition(type: .trimHorizon)))
        _ = try subscription.nextEvent()
        h.advance(.seconds(1))
        try h.stream("t", shards: 1)
        let sample = h.engine.sample()
        #expect(sample.streams.first?.shards.first?.topKeys?.entries.count == 5)
        return try encode(sample)
    }

    @Test func theUncorruptedSampleDecodes() throws {
        // The control for the corruptions: the same JSON through the same rewriting decodes.
        let data = try Self.corrupt(try Self.validSampleJSON(), Corruption("streams.0.name", #""s""#))
        _ = try Self.decode(data)
    }

    @Test(arguments: corruptions)
    func hostileJSONIsADecodingError(_ corruption: Corruption) throws {
        let data = try Self.corrupt(try Self.validSampleJSON(), corruption)
        #expect(throws: DecodingError.self) { _ = try Self.decode(data) }
    }

    @Test(arguments: ["", "null", "[]", "\"sample\"", "{}", "{\"streams\": []}", "{\"time\": 0"])
    func notASampleIsADecodingError(_ text: String) {
        #expect(throws: (any Error).self) { try Self.decode(Data(text.utf8)) }
    }

    @Test func deepNestingIsAnErrorNotAStackOverflow() {
        let deep = String(repeating: #"{"streams":["#, count: 100_000)
        #expect(throws: (any Error).self) { try Self.decode(Data(deep.utf8)) }
        #expect(throws: (any Error).self) { try Self.decode(Data(String(repeating: "[", count: 100_000).utf8)) }
    }

    @Test func hashKeyBoundariesDecode() throws {
        // 2^128 − 1 is a key; the histogram of a one-key range at the very top has one bucket.
        let top = #"{"lowerBound": "340282366920938463463374607431768211455", "#
            + #""upperBound": "340282366920938463463374607431768211455", "shift": 0, "records": [3], "bytes": [9]}"#
        let h = try JSONDecoder().decode(HashKeyHistogram.self, from: Data(top.utf8))
        #expect(h.bucketCount == 1 && h.records == [3] && h.lowerBound == .max)
        let whole = HashKeyHistogram(range: 0...UInt128.max)
        #expect(try JSONDecoder().decode(HashKeyHistogram.self, from: try JSONEncoder().encode(whole)) == whole)
    }

    @Test func aSketchFullToItsSlotsDecodesAndOneMoreEntryDoesNot() throws {
        var sketch = SpaceSaving(slots: 2)
        for key in ["a", "b", "c", "a"] { sketch.record(hash: HashKey.of(partitionKey: key), key: key, size: 10) }
        let data = try JSONEncoder().encode(sketch)
        #expect(try JSONDecoder().decode(SpaceSaving.self, from: data) == sketch)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var entries = try #require(object["entries"] as? [[String: Any]])
        entries.append(["partitionKey": "d", "hashKey": "7", "records": 1, "bytes": 1, "error": 0])
        object["entries"] = entries
        object["total"] = 100
        object["totalBytes"] = 1000
        let over = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SpaceSaving.self, from: over) }
    }

    @Test func cloudWatchPeriodsBelowASecondAreRefused() throws {
        let metrics = CloudWatchShardMetrics(
            periodStart: Instant(nanosecondsSinceEpoch: 60_000_000_000), periodSeconds: 60,
            values: ["IncomingRecords": 12, "WriteProvisionedThroughputExceeded": 3])
        let data = try JSONEncoder().encode(metrics)
        #expect(try JSONDecoder().decode(CloudWatchShardMetrics.self, from: data) == metrics)
        for period in ["0", "-60", "1.5"] {
            let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: #""periodSeconds":60"#,
                                                                                  with: #""periodSeconds":\#(period)"#)
            #expect(text.contains(#""periodSeconds":\#(period)"#))
            #expect(throws: DecodingError.self) {
                _ = try JSONDecoder().decode(CloudWatchShardMetrics.self, from: Data(text.utf8))
            }
        }
    }

    // MARK: filters and events

    @Test func sampleFiltersByAccountRegionAndStream() throws {
        let h = try Self.busyHarness()
        #expect(h.engine.sample(stream: "s").streams.map(\.name) == ["s"])
        #expect(h.engine.sample(region: "eu-west-1").streams.map(\.name) == ["other"])
        #expect(h.engine.sample(account: account, region: "us-east-1", stream: "other").streams.isEmpty)
        #expect(h.engine.sample(account: "000000000000").streams.isEmpty)
        #expect(h.engine.sample(stream: "s").streams == h.engine.sample().streams.filter { $0.name == "s" })
    }

    @Test func eventsAfterAnyIdAnswerWithoutTrapping() throws {
        let h = try Self.busyHarness()
        let log = h.engine.events
        #expect(log.lastId > 2)
        #expect(log.events(after: .max).isEmpty)
        #expect(log.events(after: .max - 1).isEmpty)
        #expect(log.events(after: log.lastId).isEmpty)
        #expect(log.events(after: log.lastId - 1).map(\.id) == [log.lastId])
        let events = log.events()
        #expect(try JSONDecoder().decode([EngineEvent].self, from: try JSONEncoder().encode(events)) == events)
    }
}

extension SampleCodingTests {
    /// Rewrites `data` with `corruption` applied: the target is first set to a marker
    /// string, then the marker's JSON text is swapped for the raw text, so any JSON
    /// (numbers beyond Int64 included) can be planted.
    static func corrupt(_ data: Data, _ corruption: Corruption) throws -> Data {
        let marker = "@@corrupt@@"
        let root = try JSONSerialization.jsonObject(with: data)
        let changed = try set(root, corruption.path[...], to: marker)
        let text = String(decoding: try JSONSerialization.data(withJSONObject: changed), as: UTF8.self)
        #expect(text.contains("\"\(marker)\""), "no \(corruption.path) in the sample")
        return Data(text.replacingOccurrences(of: "\"\(marker)\"", with: corruption.raw).utf8)
    }

    private static func set(_ node: Any, _ path: ArraySlice<String>, to value: Any) throws -> Any {
        guard let key = path.first else { return value }
        if var object = node as? [String: Any] {
            let child = try #require(object[key], "no \(key) in the sample")
            object[key] = try set(child, path.dropFirst(), to: value)
            return object
        }
        var array = try #require(node as? [Any], "\(key) is not in an object or array")
        let i = try #require(Int(key))
        try #require(array.indices.contains(i), "no element \(i)")
        array[i] = try set(array[i], path.dropFirst(), to: value)
        return array
    }
}
