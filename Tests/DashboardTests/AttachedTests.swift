import Dashboard
import StreamEngine
import Testing

/// Attached to a real stream, actions that change it ask first; `--read-only` refuses them.
@Suite("Attached dashboard")
struct AttachedTests {
    static func attached(readOnly: Bool = false) -> DashboardModel {
        var m = Fixtures.model()
        m.data.attachedTo = "http://127.0.0.1:4567"
        m.data.streamARN = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
        m.data.streamName = "orders"
        m.data.readOnly = readOnly
        return m
    }

    @Test("a split on a real stream opens a confirmation naming operation, stream, account and endpoint")
    func splitAsksFirst() {
        let advised = Fixtures.model().data.shards[1].advisedSplitKey!
        let (m, sent) = Fixtures.press(Self.attached(), [.char("s"), .enter])
        #expect(sent.isEmpty, "nothing reaches the stream before the confirmation")
        guard case .menu(let menu) = m.view.overlay else { Issue.record("no confirmation"); return }
        #expect(menu.isConfirmation)
        #expect(menu.title.contains("SplitShard shardId-000000000001 at hash key \(advised)"))
        #expect(menu.title.contains("stream orders"))
        #expect(menu.title.contains("account 123456789012"))
        #expect(menu.title.contains("http://127.0.0.1:4567"))
        let (after, confirmed) = Fixtures.press(m, [.enter])
        #expect(confirmed == [.splitShard(shardId: "shardId-000000000001", hashKey: String(advised))])
        #expect(after.view.overlay == .none)
    }

    @Test("Escape on the confirmation sends nothing")
    func escapeCancels() {
        let (m, sent) = Fixtures.press(Self.attached(), [.char("s"), .enter, .escape])
        #expect(sent.isEmpty)
        #expect(m.view.overlay == .none)
    }

    @Test("read-only: the action is refused with a line in the events pane")
    func readOnlyRefuses() {
        let (m, sent) = Fixtures.press(Self.attached(readOnly: true), [.char("s"), .enter])
        #expect(sent.isEmpty)
        #expect(m.view.overlay == .none)
        #expect(m.events.last?.text.contains("read-only") == true)
    }

    @Test("the embedded engine does not ask: the command goes straight out")
    func embeddedDoesNotAsk() {
        let (_, sent) = Fixtures.press(Fixtures.model(), [.char("s"), .enter])
        #expect(sent.count == 1)
    }

    @Test("view-only keys still work when attached")
    func viewKeysUnaffected() {
        let (m, sent) = Fixtures.press(Self.attached(readOnly: true), [.down, .char(" ")])
        #expect(sent.isEmpty)
        #expect(m.view.paused)
        #expect(m.view.selectedShardId == "shardId-000000000002")
    }

    @Test("the header shows the hourly cost, the endpoint attached to and a connection problem")
    func header() {
        var m = Self.attached()
        m.view.width = 180
        m.data.hourlyCostUSD = 0.0612
        m.data.connection = "backing off 8 s: LimitExceededException"
        m.data.throttlesKnown = false
        let grid = Renderer.render(m)
        let top = grid.text(of: Rect(x: 0, y: 0, width: grid.width, height: 2))
        #expect(top.contains("$0.061/h"))
        #expect(top.contains("ATTACHED http://127.0.0.1:4567"))
        #expect(top.contains("backing off 8 s: LimitExceededException"))
        #expect(top.contains("throttles n/a (CloudWatch)"))
    }

    @Test("dollars: cents, tenths of a cent below ten cents, whole dollars from a thousand, never a trap")
    func dollars() {
        #expect(Format.dollars(0.015) == "$0.015")
        #expect(Format.dollars(1.234) == "$1.23")
        #expect(Format.dollars(12_345.6) == "$12346")
        #expect(Format.dollars(.infinity) == "$?")
        #expect(Format.dollars(.nan) == "$?")
        #expect(Format.dollars(1e300) == "$9223372036854775807")
    }
}

@Suite("Help page quotas")
struct HelpQuotaTests {
    @Test("the Kafka page's quotas are the limits in force: Kinesis's under aws, 'unthrottled' under --limits off")
    func quotasFollowTheLimits() throws {
        var data = Fixtures.model().data
        let aws = HelpPane.kafka(data).first { $0.0 == "broker quota" }?.1 ?? ""
        #expect(aws == "per shard: write 1 MiB/s and 1000 records/s; read 2 MiB/s and 5 GetRecords/s")
        let off = try #require(KinesisLimits.named("off"))
        data.shardWriteText = off.shardWriteText
        data.sharedReadText = off.sharedReadText
        data.fanOutPipeText = off.fanOutPipeText
        let rows = HelpPane.kafka(data)
        #expect(rows.first { $0.0 == "broker quota" }?.1.contains("unthrottled writes (--limits off)") == true)
        #expect(rows.first { $0.0 == "fetch from partition" }?.1.contains("unthrottled pipe (--limits off)") == true)
    }
}
