import StreamEngine

// The built-in scenarios: each tells one story about Kinesis with load, and
// states what it shows as expectations the tests check on a manual clock.

extension Scenario {
    /// The scenario `ktop` runs with no arguments: a lively 4-shard stream with
    /// mild skew (zipf keys make one shard warmer than the rest), one polling
    /// and one enhanced fan-out consumer.
    public static let demo = Scenario(
        name: "demo",
        summary: "A lively 4-shard stream with mild key skew, one polling and one enhanced fan-out consumer",
        stream: StreamSetup(name: "demo", shardCount: 4),
        producers: [
            ProducerConfig(
                name: "web", stream: "demo", recordsPerSecond: 900, keys: .zipf(count: 2_000, s: 0.9),
                size: .uniform(200...1_200)),
            ProducerConfig(
                name: "mobile", stream: "demo", recordsPerSecond: 600, keys: .uniform(count: 10_000),
                size: .uniform(100...600), batchSize: 100),
            ProducerConfig(
                name: "billing", stream: "demo", recordsPerSecond: 40, keys: .uniform(count: 50), size: .fixed(2_048),
                batchSize: 1),
        ],
        pollingConsumers: ["analytics"],
        fanOutConsumers: ["alerts"],
        narration: [
            "Three producers write to 4 shards; zipf-distributed user keys make some shards warmer than others.",
            "'analytics' polls GetRecords and shares each shard's 2 MiB/s; 'alerts' has its own 2 MiB/s pipe per "
                + "shard.",
        ],
        expectations: [
            Expectation("nothing is throttled at this load", MetricQuery(.writeThrottled, from: 0), .equal, 0),
            Expectation(
                "'analytics' reads what is written", MetricQuery(.consumerRecords, "analytics", from: 5, to: 20),
                .atLeast, 0.9,
                relativeTo: MetricQuery(.incomingRecords, from: 5, to: 20)),
            Expectation(
                "'alerts' (EFO) reads what is written", MetricQuery(.consumerRecords, "alerts", from: 5, to: 20),
                .atLeast, 0.9,
                relativeTo: MetricQuery(.incomingRecords, from: 5, to: 20)),
        ],
        duration: nil)

    /// The key that makes shard 3 hot in the hot-key stories: the first
    /// `customer-N` whose MD5 falls in shard 3 of a 4-shard stream.
    public static let hotKeyName: String = KeyFinder.keys(
        prefix: "customer-", count: 1, in: KeyFinder.shardRange(3, of: 4))[0]

    static let shard3 = "shardId-000000000003"

    public static let hotKey = Scenario(
        name: "hot-key",
        summary: "One partition key carries 60% of the traffic: its shard throttles while the other three idle",
        stream: StreamSetup(name: "hot-key", shardCount: 4),
        producers: [
            ProducerConfig(
                name: "checkout", stream: "hot-key", recordsPerSecond: 2_000,
                keys: .hotKey(key: hotKeyName, share: 0.6, count: 10_000), size: .fixed(700), maxRetries: 2)
        ],
        pollingConsumers: ["orders"],
        narration: [
            "2,000 records/s over 4 shards is only half the stream's 4,000 records/s — if keys were spread evenly.",
            "But 60% of records carry the key '\(hotKeyName)', and MD5('\(hotKeyName)') falls in shard 3's hash range.",
        ],
        phases: [
            Phase(
                name: "hot", at: .seconds(5),
                narration: [
                    "Shard 3 takes ~1,400 records/s against its 1,000 records/s limit: PutRecords returns "
                        + "ProvisionedThroughputExceededException for the excess.",
                    "The other shards run at ~200 records/s each. Adding shards would not help: one key always maps "
                        + "to one shard.",
                ])
        ],
        expectations: [
            Expectation(
                "the hot shard throttles", MetricQuery(.writeThrottled, shard3, from: 5, to: 30), .greaterThan, 0),
            Expectation(
                "the other shards do not", MetricQuery(.writeThrottled, "!" + shard3, from: 0, to: 30), .equal, 0),
            Expectation(
                "throttled records are retried, some dropped after the last retry",
                MetricQuery(.producerDropped, from: 5, to: 30), .greaterThan, 0),
        ],
        duration: .seconds(30))

    public static let fixBySalting = Scenario(
        name: "fix-by-salting",
        summary: "The hot key again, then salted with a suffix 0…15: the heat spreads and throttling stops",
        stream: StreamSetup(name: "salting", shardCount: 4),
        producers: [
            ProducerConfig(
                name: "hot", stream: "salting", recordsPerSecond: 1_200, keys: .keySet([hotKeyName]), size: .fixed(700),
                maxRetries: 2),
            ProducerConfig(
                name: "background", stream: "salting", recordsPerSecond: 800, keys: .uniform(count: 10_000),
                size: .fixed(700)),
        ],
        pollingConsumers: ["orders"],
        narration: [
            "1,200 records/s carry the one key '\(hotKeyName)' (shard 3); 800 records/s are spread over 10,000 keys."
        ],
        phases: [
            Phase(
                name: "hot", at: .seconds(3), narration: ["Shard 3 throttles: one key cannot use more than one "
                    + "shard."]),
            Phase(
                name: "salt", at: .seconds(20),
                actions: [.setKeys(producer: "hot", keys: .salted(key: hotKeyName, salts: 16))],
                narration: [
                    "The producer now writes '\(hotKeyName)#0' … '\(hotKeyName)#15': 16 keys hash to all 4 shards.",
                    "Consumers that need the records of one customer together must now merge 16 keys — the price of "
                        + "salting.",
                ]),
        ],
        expectations: [
            Expectation(
                "before salting, the hot shard throttles", MetricQuery(.writeThrottled, shard3, from: 5, to: 20),
                .greaterThan, 0),
            Expectation(
                "after salting, throttling falls to zero", MetricQuery(.writeThrottled, from: 23, to: 40), .equal, 0),
            Expectation(
                "after salting, every record is acknowledged", MetricQuery(.producerAcked, from: 23, to: 40), .atLeast,
                0.99,
                relativeTo: MetricQuery(.incomingRecords, from: 23, to: 40)),
        ],
        duration: .seconds(40))

    /// Tenants whose keys all land in shard 3 of 4: ten in each half of its hash range.
    public static let hotShardTenants: [String] = {
        let r = KeyFinder.shardRange(3, of: 4)
        let mid = r.lowerBound + (r.upperBound - r.lowerBound) / 2 + 1
        return KeyFinder.keys(prefix: "tenant-", count: 10, in: r.lowerBound...(mid - 1))
            + KeyFinder.keys(prefix: "tenant-", count: 10, in: mid...r.upperBound)
    }()

    public static let splitTheHotShard = Scenario(
        name: "split-the-hot-shard",
        summary:
            "Twenty busy tenants share shard 3; SplitShard at its midpoint halves the load and the throttling stops",
        stream: StreamSetup(name: "tenants", shardCount: 4),
        producers: [
            ProducerConfig(
                name: "tenants", stream: "tenants", recordsPerSecond: 1_600, keys: .keySet(hotShardTenants),
                size: .fixed(600), maxRetries: 2),
            ProducerConfig(
                name: "background", stream: "tenants", recordsPerSecond: 400, keys: .uniform(count: 10_000),
                size: .fixed(600)),
        ],
        pollingConsumers: ["billing"],
        narration: [
            "Twenty tenants write 1,600 records/s; by chance of MD5 all their keys fall in shard 3's hash range.",
            "Unlike one hot key, many keys on one shard can be split apart.",
        ],
        phases: [
            Phase(
                name: "hot", at: .seconds(3),
                narration: ["Shard 3 needs ~1,700 records/s and may take 1,000: it throttles."]),
            Phase(
                name: "split", at: .seconds(20), actions: [.splitShard(shardId: shard3, at: .midpoint)],
                narration: [
                    "SplitShard shardId-000000000003 at the middle of its range: children 4 and 5 each get ten "
                        + "tenants (~850 records/s).",
                    "Shard 3 closes; its records stay readable until retention ends, and consumers finish it before "
                        + "its children.",
                ]),
        ],
        expectations: [
            Expectation(
                "before the split, shard 3 throttles", MetricQuery(.writeThrottled, shard3, from: 5, to: 20),
                .greaterThan, 0),
            Expectation("after the split, throttling stops", MetricQuery(.writeThrottled, from: 23, to: 40), .equal, 0),
            Expectation("five shards are open", MetricQuery(.openShards, from: 0, to: 40), .equal, 5),
            Expectation(
                "the consumer follows the children", MetricQuery(.consumerRecords, "billing", from: 25, to: 40),
                .atLeast, 0.9,
                relativeTo: MetricQuery(.incomingRecords, from: 25, to: 40)),
        ],
        duration: .seconds(40))

    public static let mergeColdShards = Scenario(
        name: "merge-cold-shards",
        summary: "Eight shards for a trickle of traffic: MergeShards pairs them down to four, halving shard-hours",
        stream: StreamSetup(name: "cold", shardCount: 8),
        producers: [
            ProducerConfig(
                name: "sensors", stream: "cold", recordsPerSecond: 400, keys: .uniform(count: 5_000), size: .fixed(300))
        ],
        pollingConsumers: ["dashboard"],
        narration: [
            "400 small records/s on 8 shards: each shard is used at ~1% — and each is billed per shard-hour."
        ],
        phases: [
            Phase(
                name: "merge-1", at: .seconds(10),
                actions: [.mergeShards(shardId: "shardId-000000000000", adjacentShardId: "shardId-000000000001")],
                narration: [
                    "MergeShards 0 + 1 (adjacent hash ranges) → shard 8. One merge at a time: the stream is UPDATING "
                        + "meanwhile."
                ]),
            Phase(
                name: "merge-2", at: .seconds(12),
                actions: [.mergeShards(shardId: "shardId-000000000002", adjacentShardId: "shardId-000000000003")]),
            Phase(
                name: "merge-3", at: .seconds(14),
                actions: [.mergeShards(shardId: "shardId-000000000004", adjacentShardId: "shardId-000000000005")]),
            Phase(
                name: "merge-4", at: .seconds(16),
                actions: [.mergeShards(shardId: "shardId-000000000006", adjacentShardId: "shardId-000000000007")],
                narration: [
                    "Four open shards now carry the same traffic at ~2% each, for half the shard-hours. The consumer "
                        + "read both parents of each merge before the child."
                ]),
        ],
        expectations: [
            Expectation("eight shards open before merging", MetricQuery(.openShards, from: 0, to: 9), .equal, 8),
            Expectation("four shards open after merging", MetricQuery(.openShards, from: 0, to: 30), .equal, 4),
            Expectation("merging never throttles", MetricQuery(.writeThrottled, from: 0, to: 30), .equal, 0),
            Expectation(
                "the consumer keeps reading the merged shards",
                MetricQuery(.consumerRecords, "dashboard", from: 20, to: 30), .atLeast, 0.9,
                relativeTo: MetricQuery(.incomingRecords, from: 20, to: 30)),
        ],
        duration: .seconds(30))

    public static let fanOutStarvation = Scenario(
        name: "fan-out-starvation",
        summary:
            "Five polling consumers share each shard's 2 MiB/s and 5 calls/s and starve; five EFO consumers each get "
                + "2 MiB/s",
        stream: StreamSetup(name: "fanout", shardCount: 2),
        producers: [
            ProducerConfig(
                name: "events", stream: "fanout", recordsPerSecond: 1_600, keys: .uniform(count: 10_000),
                size: .fixed(1_000))
        ],
        narration: [
            "1,600 records/s of 1 KB over 2 shards: ~800 KB/s per shard. One polling consumer keeps up easily."
        ],
        phases: [
            Phase(
                name: "one-poller", at: .zero,
                actions: [.addPollingConsumer(name: "poll-1", start: .latest, pollInterval: .milliseconds(200))]),
            Phase(
                name: "five-pollers", at: .seconds(15),
                actions: [
                    .addPollingConsumer(name: "poll-2", start: .latest, pollInterval: .milliseconds(200)),
                    .addPollingConsumer(name: "poll-3", start: .latest, pollInterval: .milliseconds(200)),
                    .addPollingConsumer(name: "poll-4", start: .latest, pollInterval: .milliseconds(200)),
                    .addPollingConsumer(name: "poll-5", start: .latest, pollInterval: .milliseconds(200)),
                ],
                narration: [
                    "Four more polling consumers: 5 × 5 GetRecords calls/s per shard against a quota of 5, and 5 × "
                        + "800 KB/s against 2 MiB/s.",
                    "GetRecords throttles (ReadProvisionedThroughputExceeded), consumers back off and fall behind: "
                        + "MillisBehindLatest climbs.",
                    "When a starved consumer does get a call it reads its whole backlog at once — and the shard's "
                        + "read budget is spent for seconds.",
                ]),
            Phase(
                name: "fan-out", at: .seconds(40),
                actions: [
                    .removeConsumer("poll-1"), .removeConsumer("poll-2"), .removeConsumer("poll-3"),
                    .removeConsumer("poll-4"), .removeConsumer("poll-5"),
                    .addFanOutConsumer("efo-1"), .addFanOutConsumer("efo-2"), .addFanOutConsumer("efo-3"),
                    .addFanOutConsumer("efo-4"), .addFanOutConsumer("efo-5"),
                ],
                narration: [
                    "The five move to enhanced fan-out: RegisterStreamConsumer, then SubscribeToShard per shard.",
                    "Each consumer gets its own 2 MiB/s per shard, pushed — nobody waits for anybody.",
                ]),
        ],
        expectations: [
            Expectation("one poller alone is not throttled", MetricQuery(.readThrottled, from: 3, to: 14), .equal, 0),
            Expectation(
                "five pollers throttle each other", MetricQuery(.readThrottled, from: 20, to: 40), .greaterThan, 0),
            Expectation(
                "together the five pollers read at most 2 MiB/s per shard, not the 5× the stream they need",
                MetricQuery(.consumerBytes, from: 20, to: 39), .lessThan, 3.0,
                relativeTo: MetricQuery(.incomingBytes, from: 20, to: 39)),
            Expectation(
                "starved pollers fall seconds behind", MetricQuery(.consumerLag, from: 0, to: 39), .greaterThan, 5_000),
            Expectation("with EFO nothing is read-throttled", MetricQuery(.readThrottled, from: 42, to: 60), .equal, 0),
            Expectation(
                "each EFO consumer receives everything", MetricQuery(.consumerBytes, "efo-5", from: 45, to: 60),
                .atLeast, 0.95,
                relativeTo: MetricQuery(.incomingBytes, from: 45, to: 60)),
        ],
        duration: .seconds(60))

    public static let onDemandBurst = Scenario(
        name: "on-demand-burst",
        summary:
            "An on-demand stream meets a 3× burst and grows to twice its new peak by itself "
                + "(scaling shortened to 10 s)",
        stream: StreamSetup(name: "ondemand", shardCount: 4, mode: .onDemand),
        producers: [
            ProducerConfig(
                name: "app", stream: "ondemand", recordsPerSecond: 1_000, keys: .uniform(count: 20_000),
                size: .fixed(1_000))
        ],
        pollingConsumers: ["reader"],
        narration: [
            "An ON_DEMAND stream starts with 4 shards: 4 MiB/s and 4,000 records/s of writes. Traffic: ~1 MB/s.",
            "It accommodates twice its peak write throughput.",
            "ktop shortens the scaling from AWS's 'within 15 minutes' to 10 s, so the class sees it.",
        ],
        phases: [
            Phase(
                name: "burst", at: .seconds(15),
                actions: [.ramp(producer: "app", recordsPerSecond: 3_000, over: .seconds(5))],
                narration: [
                    "Burst: the rate ramps to 3,000 records/s — ~750 KB/s per shard, above half a shard's 1 MiB/s: "
                        + "twice the new peak needs more shards."
                ]),
            Phase(
                name: "scaled", at: .seconds(35),
                narration: [
                    "10 s after the new peak Kinesis splits the shards above half their limits: capacity follows "
                        + "demand, no SplitShard call needed."
                ]),
        ],
        expectations: [
            Expectation("four shards before the burst", MetricQuery(.openShards, from: 0, to: 14), .equal, 4),
            Expectation(
                "on-demand splits shards during the burst", MetricQuery(.openShards, from: 0, to: 60), .atLeast, 6),
            Expectation(
                "the burst is absorbed without write throttling", MetricQuery(.writeThrottled, from: 0, to: 60), .equal,
                0),
        ],
        duration: .seconds(60),
        engine: ScenarioEngineSettings(onDemandSustainSeconds: 10))

    public static let retentionReplay = Scenario(
        name: "retention-replay",
        summary:
            "A consumer added late replays the stream from a timestamp (AT_TIMESTAMP): retained records are re-read",
        stream: StreamSetup(name: "ledger", shardCount: 2),
        producers: [
            ProducerConfig(
                name: "payments", stream: "ledger", recordsPerSecond: 300, keys: .uniform(count: 1_000),
                size: .uniform(200...800))
        ],
        narration: [
            "Records stay in the stream for the retention period (24 h by default), whether read or not.",
            "Consumer 'live' polls each shard once a second (the KCL's default), leaving GetRecords calls to spare.",
        ],
        phases: [
            Phase(
                name: "live", at: .zero,
                actions: [.addPollingConsumer(name: "live", start: .latest, pollInterval: .seconds(1))]),
            Phase(name: "mark", at: .seconds(10), narration: ["Remember this moment: second 10."]),
            Phase(
                name: "replay", at: .seconds(30),
                actions: [
                    .addPollingConsumer(
                        name: "replay", start: .atOffset(.seconds(10)), pollInterval: .milliseconds(500))
                ],
                narration: [
                    "A new consumer asks GetShardIterator for AT_TIMESTAMP = second 10 and re-reads 20 s of history, "
                        + "then keeps up.",
                    "Its MillisBehindLatest starts near 20,000 and falls to 0 as it catches up.",
                ]),
        ],
        expectations: [
            Expectation(
                "the replay consumer re-reads everything since second 10",
                MetricQuery(.consumerRecords, "replay", from: 0, to: 45), .atLeast, 0.98,
                relativeTo: MetricQuery(.producerAcked, from: 10, to: 45)),
            Expectation(
                "and no more than that", MetricQuery(.consumerRecords, "replay", from: 0, to: 45), .atMost, 1.02,
                relativeTo: MetricQuery(.producerAcked, from: 10, to: 45)),
            Expectation(
                "the replay catches up", MetricQuery(.consumerLag, "replay", from: 0, to: 45), .lessThan, 2_000),
        ],
        duration: .seconds(45))

    public static let reshardingWithKCL = Scenario(
        name: "resharding-with-kcl",
        summary:
            "A KCL application with a lease table rides out a split, a merge and a worker crash: parents finish "
                + "before children",
        stream: StreamSetup(name: "orders", shardCount: 2),
        producers: [
            ProducerConfig(
                name: "orders", stream: "orders", recordsPerSecond: 400, keys: .uniform(count: 5_000),
                size: .uniform(100...400)),
            ProducerConfig(
                name: "kpl", stream: "orders", recordsPerSecond: 600, keys: .uniform(count: 5_000), size: .fixed(120),
                linger: .milliseconds(100), aggregation: AggregationConfig()),
        ],
        narration: [
            "Application 'fulfil' runs KCL-style workers w1 and w2 sharing a lease table: one lease per shard, with "
                + "checkpoints.",
            "Producer 'kpl' aggregates user records KPL-style; the workers de-aggregate them and checkpoint "
                + "(sequence, subsequence).",
        ],
        kclApplications: [KCLConfig(name: "fulfil", stream: "orders", workers: ["w1", "w2"])],
        phases: [
            Phase(
                name: "split", at: .seconds(15), actions: [.splitShard(shardId: "shardId-000000000000", at: .midpoint)],
                narration: [
                    "SplitShard 0 → 2 and 3. The leases of 2 and 3 name parentShardId 0: they wait until 0's "
                        + "checkpoint is SHARD_END."
                ]),
            Phase(
                name: "merge", at: .seconds(25),
                actions: [.mergeShards(shardId: "shardId-000000000003", adjacentShardId: "shardId-000000000001")],
                narration: [
                    "MergeShards 3 + 1 → 4: shard 4 has two parents and waits for both."
                ]),
            Phase(
                name: "scale-out", at: .seconds(35), actions: [.addKCLWorker(application: "fulfil", worker: "w3")],
                narration: [
                    "Worker w3 joins. Two shards are open and w1, w2 hold one lease each: w3 stands by — workers "
                        + "beyond the shard count add no throughput."
                ]),
            Phase(
                name: "crash", at: .seconds(45), actions: [.removeKCLWorker(application: "fulfil", worker: "w1")],
                narration: [
                    "Worker w1 dies without checkpointing. After failoverTime (10 s) its leases expire and others "
                        + "take them,",
                    "resuming from the last checkpoint: records since then are processed twice — at-least-once, "
                        + "duplicates counted.",
                ]),
        ],
        expectations: [
            Expectation(
                "children are never processed before their parents finish",
                MetricQuery(.kclParentOrderViolations, from: 0, to: 75), .equal, 0),
            Expectation(
                "shards 0, 3 and 1 are processed to SHARD_END",
                MetricQuery(.kclShardsCompleted, "fulfil", from: 0, to: 75), .equal, 3),
            Expectation(
                "nothing is lost: every acknowledged record is processed",
                MetricQuery(.consumerRecords, "fulfil", from: 0, to: 75), .atLeast, 0.97,
                relativeTo: MetricQuery(.producerAcked, from: 0, to: 75)),
            Expectation(
                "the crash causes duplicates", MetricQuery(.kclDuplicates, "fulfil", from: 45, to: 75),
                .greaterThan, 0),
            Expectation("leases end balanced", MetricQuery(.kclLeaseSpread, "fulfil", from: 0, to: 75), .atMost, 1),
        ],
        duration: .seconds(75))

    /// Two producers write the same load; 10 % of PutRecords entries fail with InternalFailure
    /// from second 10 to 30. The one that retries failed entries loses nothing; the one that does not
    /// loses a tenth of what it writes while the faults are on.
    public static let retriesUnderFaults = Scenario(
        name: "retries-under-faults",
        summary: "10% of PutRecords entries fail with InternalFailure for 20 s: "
            + "the producer that retries loses nothing, the other ~10%",
        stream: StreamSetup(name: "faults", shardCount: 2),
        producers: [
            ProducerConfig(
                name: "retrying", stream: "faults", recordsPerSecond: 300,
                keys: .uniform(count: 10_000), size: .fixed(500), maxRetries: 5),
            ProducerConfig(
                name: "fire-and-forget", stream: "faults", recordsPerSecond: 300,
                keys: .uniform(count: 10_000), size: .fixed(500), maxRetries: 0),
        ],
        pollingConsumers: ["audit"],
        narration: [
            "Two producers each write 300 records/s to 2 shards, far below the limits: nothing fails yet.",
            "'retrying' resends failed PutRecords entries with backoff (up to 5 times); "
                + "'fire-and-forget' never resends.",
        ],
        phases: [
            Phase(
                name: "faults-on", at: .seconds(10), actions: [.setFaults("record-failure=0.1")],
                narration: [
                    "Faults on: 10% of PutRecords entries now fail with ErrorCode InternalFailure "
                        + "(the call itself returns 200).",
                    "PutRecords is not all-or-nothing: FailedRecordCount says how many entries failed; "
                        + "each must be resent.",
                    "'retrying' resends them and loses nothing; 'fire-and-forget' drops every failed entry, ~30 "
                        + "records/s.",
                ]),
            Phase(
                name: "faults-off", at: .seconds(30), actions: [.setFaults(nil)],
                narration: [
                    "Faults off. The records 'fire-and-forget' dropped are gone for good: no consumer will ever see "
                        + "them."
                ]),
        ],
        expectations: [
            Expectation(
                "no faults before they are switched on",
                MetricQuery(.faultsInjected, from: 0, to: 10), .equal, 0),
            Expectation(
                "about 10% of entries fail while faults are on",
                MetricQuery(.faultsInjected, "record-failure", from: 11, to: 30), .atLeast, 0.08,
                relativeTo: MetricQuery(.incomingRecords, from: 11, to: 30)),
            Expectation(
                "no faults after they are switched off",
                MetricQuery(.faultsInjected, from: 31, to: 45), .equal, 0),
            Expectation(
                "the retrying producer drops (almost) nothing",
                MetricQuery(.producerDropped, "retrying", from: 0, to: 45), .atMost, 0.001,
                relativeTo: MetricQuery(.producerAcked, "retrying", from: 0, to: 45)),
            // Losing 10 % of what it writes is 1 record dropped per 9 delivered (0.111); the bounds are ±6σ.
            Expectation(
                "the non-retrying producer loses ~10% while faults are on (dropped ≥ 8% of delivered)",
                MetricQuery(.producerDropped, "fire-and-forget", from: 11, to: 30), .atLeast, 0.08,
                relativeTo: MetricQuery(.producerAcked, "fire-and-forget", from: 11, to: 30)),
            Expectation(
                "the non-retrying producer loses ~10% while faults are on (dropped ≤ 14% of delivered)",
                MetricQuery(.producerDropped, "fire-and-forget", from: 11, to: 30), .atMost, 0.14,
                relativeTo: MetricQuery(.producerAcked, "fire-and-forget", from: 11, to: 30)),
            Expectation(
                "it drops nothing once faults are off",
                MetricQuery(.producerDropped, "fire-and-forget", from: 31, to: 45), .equal, 0),
            Expectation(
                "a failed entry is never stored: stored records equal acknowledged ones",
                MetricQuery(.incomingRecords, from: 0, to: 45), .equal, 1,
                relativeTo: MetricQuery(.producerAcked, from: 0, to: 45)),
            Expectation(
                "the consumer reads what is stored",
                MetricQuery(.consumerRecords, "audit", from: 5, to: 40), .atLeast, 0.95,
                relativeTo: MetricQuery(.incomingRecords, from: 5, to: 40)),
        ],
        duration: .seconds(45))

    /// Firehose beside the stream: a delivery stream reads the stream (KinesisStreamAsSource), its
    /// buffer fills and flushes by size, then, when the load drops, by time; then a consumer
    /// replays the stream from its start, which Firehose cannot do.
    public static let firehoseBuffering: Scenario = {
        var s = Scenario(
            name: "firehose-buffering",
            summary: "A Firehose delivery stream buffers the stream into S3 objects: a flush by size, one by time, "
                + "and a replay Firehose cannot do",
            stream: StreamSetup(name: "clicks", shardCount: 2),
            producers: [
                ProducerConfig(
                    name: "web", stream: "clicks", recordsPerSecond: 250, keys: .uniform(count: 5_000),
                    size: .uniform(600...1_000))
            ],
            narration: [
                "Firehose 'clicks-to-s3' reads 'clicks' as a polling consumer (1 GetRecords per shard per second, "
                    + "within the shared 2 MiB/s) and buffers: SizeInMBs 1, IntervalInSeconds 20.",
                "About 200 KB/s arrive, so the 1 MiB size hint fills first: an object every ~5 s.",
            ],
            phases: [
                Phase(
                    name: "quiet", at: .seconds(30), actions: [.setRate(producer: "web", recordsPerSecond: 10)],
                    narration: [
                        "The load drops to ~8 KB/s: 1 MiB would take two minutes, so the 20 s interval flushes now.",
                        "Each object holds what arrived in its window: Firehose delivers at least once, in near real "
                            + "time, never sooner than its buffer allows.",
                    ]),
                Phase(
                    name: "replay", at: .seconds(70),
                    actions: [
                        .addPollingConsumer(name: "replay", start: .trimHorizon, pollInterval: .milliseconds(200))
                    ],
                    narration: [
                        "'replay' reads the stream again from TRIM_HORIZON: the stream keeps every record for its "
                            + "retention period.",
                        "Firehose cannot replay: what it delivered left its buffer; S3 holds the only copy.",
                    ]),
            ],
            expectations: [
                Expectation("nothing is throttled", MetricQuery(.writeThrottled, from: 0), .equal, 0),
                Expectation(
                    "the replay re-reads everything the stream holds",
                    MetricQuery(.consumerRecords, "replay", from: 0, to: 90), .atLeast, 0.98,
                    relativeTo: MetricQuery(.producerAcked, from: 0, to: 90)),
            ],
            duration: .seconds(90))
        s.deliveryStreams = [DeliveryStreamSetup(name: "clicks-to-s3", sizeInMBs: 1, intervalInSeconds: 20)]
        return s
    }()

    /// Continuous SQL over a stream of JSON events: the top keys and each tenant's error rate
    /// per 10-second tumbling window, closing live.
    public static let sqlWindows: Scenario = {
        var producer = ProducerConfig(
            name: "api", stream: "requests", recordsPerSecond: 400, keys: .zipf(count: 500, s: 1.1),
            size: .uniform(120...200))
        producer.payload = .jsonEvents(errorRate: 0.02)
        var s = Scenario(
            name: "sql-windows",
            summary: "SQL over a stream: top keys and error rate per tenant in 10 s tumbling windows",
            stream: StreamSetup(name: "requests", shardCount: 2),
            producers: [producer],
            narration: [
                "Each record is a JSON request event; schema discovery turns its fields into columns of "
                    + "SOURCE_SQL_STREAM_001.",
                "Two queries read the stream as polling consumers; each 10 s window's rows appear when it closes.",
            ],
            expectations: [
                Expectation("nothing is throttled", MetricQuery(.writeThrottled, from: 0), .equal, 0)
            ],
            duration: .seconds(60))
        s.queries = [
            QuerySetup(
                name: "top-users",
                sql: "SELECT PARTITION_KEY, COUNT(*) AS n FROM TABLE(TUMBLE(TABLE requests, DESCRIPTOR(ROWTIME), "
                    + "INTERVAL '10' SECOND)) GROUP BY window_start, window_end, PARTITION_KEY "
                    + "ORDER BY n DESC LIMIT 3"),
            QuerySetup(
                name: "tenant-errors",
                sql: "SELECT tenant, ROUND(AVG(status >= 500) * 100, 1) AS error_pct, COUNT(*) AS n "
                    + "FROM TABLE(TUMBLE(TABLE requests, DESCRIPTOR(ROWTIME), INTERVAL '10' SECOND)) "
                    + "GROUP BY window_start, window_end, tenant ORDER BY error_pct DESC"),
        ]
        return s
    }()

    public static let builtIns: [Scenario] = [
        .demo, .hotKey, .fixBySalting, .splitTheHotShard, .mergeColdShards, .fanOutStarvation, .onDemandBurst,
        .retentionReplay, .reshardingWithKCL,
        .retriesUnderFaults, .firehoseBuffering, .sqlWindows,
    ]
}
