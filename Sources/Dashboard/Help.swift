/// The help pages: every key, and Kafka terms mapped to Kinesis for people
/// who know one and are learning the other.
public enum HelpPane {
    /// Every binding, as shown on the help page (and checked by tests against the handler).
    public static let keys: [(String, String)] = [
        ("F1  ?  h", "this help (Tab: Kafka -> Kinesis terms)"),
        ("Up Down j k", "select a shard (also the mouse, and the wheel)"),
        ("PgUp PgDn g G", "scroll the shard table (1,000+ shards)"),
        ("Tab  r", "sort by the next column / reverse the order"),
        ("/", "filter shards by id, top key or heat; Esc clears"),
        ("a", "show or hide CLOSED shards"),
        ("s", "SplitShard the selected shard (advised hash key pre-filled)"),
        ("m", "MergeShards with an adjacent neighbour (pick which)"),
        ("u", "UpdateShardCount (UNIFORM_SCALING)"),
        ("+  -", "producers' rate up / down by 25%"),
        ("K", "key strategy: uniform, zipf, hot key, salted"),
        ("c", "add or remove a polling or enhanced fan-out consumer"),
        ("o", "UpdateStreamMode: on-demand <-> provisioned"),
        ("space", "pause the view (the engine keeps running)"),
        ("<  >", "refresh interval shorter / longer (default 1 s)"),
        ("f", "clock speed x1, x2, x5, x10, x60 (the header says so)"),
        ("b", "chart in braille or block characters"),
        ("n", "run another scenario (restarts the engine)"),
        ("q  F10", "quit (the terminal is restored)"),
    ]

    /// Kafka → Kinesis, one row per concept; the quotas are those in force (`data`).
    public static func kafka(_ data: DashboardData) -> [(String, String)] {
        [
            ("topic", "stream"),
            ("partition", "shard (a range of the 128-bit hash key space)"),
            (
                "partition key -> murmur2 % partitions",
                "partition key -> MD5 -> 128-bit hash key -> the shard whose range holds it"
            ),
            ("offset", "sequence number (opaque, increasing within a shard)"),
            ("consumer group", "KCL application (leases in a DynamoDB table)"),
            ("committed offset", "KCL checkpoint (sequence number + sub-sequence)"),
            ("consumer lag", "MillisBehindLatest / IteratorAgeMilliseconds (time, not records)"),
            ("add partitions", "SplitShard / UpdateShardCount (and shards can shrink: MergeShards)"),
            ("broker quota", "per shard: write \(data.shardWriteText); read \(data.sharedReadText)"),
            (
                "fetch from partition",
                "GetRecords (polling, shared \(data.sharedReadText)) or SubscribeToShard "
                    + "(EFO, its own \(data.fanOutPipeText))"
            ),
            ("retention.ms", "retention period (24 h default, up to 365 days)"),
            ("log compaction", "none: records expire by age only"),
            ("producer batching / linger", "PutRecords (<= 500 records) and KPL aggregation"),
        ]
    }

    static func draw(page: Int, _ model: DashboardModel, _ ctx: RenderContext, _ grid: inout CellGrid) {
        let r = Rect(x: 0, y: 0, width: grid.width, height: grid.height)
        if page == 0 {
            grid.titleRow(r, "ktop help: keys", right: "Tab: Kafka -> Kinesis  Esc: close", ctx)
            var y = 2
            for (k, what) in keys where y < r.maxY - 1 {
                grid.put(Format.cell(k, 16), x: 2, y: y, style: ctx.style(.title))
                grid.put(what, x: 19, y: y, style: ctx.style(.normal), maxWidth: r.width - 20)
                y += 1
            }
            if y < r.maxY - 1 {
                grid.put(
                    "Every number is Kinesis's own quota; where ktop departs from Kinesis (clock speed, limits off) "
                        + "the header says so.",
                    x: 2, y: y + 1, style: ctx.style(.dim), maxWidth: r.width - 3)
            }
        } else {
            grid.titleRow(r, "Kafka -> Kinesis", right: "Tab: keys  Esc: close", ctx)
            grid.put(Format.cell("Kafka", 40), x: 2, y: 2, style: ctx.style(.header))
            grid.put(Format.cell("Kinesis Data Streams", r.width - 44), x: 43, y: 2, style: ctx.style(.header))
            var y = 3
            for (kafka, kinesis) in kafka(model.data) where y < r.maxY {
                grid.put(Format.cell(kafka, 40), x: 2, y: y, style: ctx.style(.title))
                let lines = Format.wrap(kinesis, max(10, r.width - 44))
                for l in lines where y < r.maxY {
                    grid.put(l, x: 43, y: y, style: ctx.style(.normal))
                    y += 1
                }
            }
        }
    }
}
