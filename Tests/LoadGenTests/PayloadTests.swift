import Foundation
import StreamEngine
import Testing

@testable import LoadGen

/// JSON event payloads: what `ktop sql` and Firehose objects read in the built-in stories.
@Suite struct PayloadTests {
    @Test("each event is one JSON object and a newline, padded to the drawn size, tenant fixed by the key")
    func jsonEvents() throws {
        var rng = SeededRandom(seed: 7)
        for (key, size) in [("user-1", 300), ("a\"b\\c\u{1}", 60), ("", 0), ("user-2", 1)] {
            let bytes = PayloadKind.jsonEvent(key: key, size: size, errorRate: 0.5, &rng)
            #expect(bytes.last == UInt8(ascii: "\n"))
            #expect(bytes.count <= max(size, 100), "\(key) \(size): \(bytes.count)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(bytes.dropLast())) as? [String: Any])
            #expect(object["user"] as? String == key)
            let status = try #require(object["status"] as? Int)
            #expect(status == 200 || status == 500)
            let again = PayloadKind.jsonEvent(key: key, size: size, errorRate: 0.5, &rng)
            let other = try #require(try JSONSerialization.jsonObject(with: Data(again.dropLast())) as? [String: Any])
            #expect(other["tenant"] as? String == object["tenant"] as? String)
        }
        // Padding reaches the size when there is room.
        #expect(PayloadKind.jsonEvent(key: "k", size: 500, errorRate: 0, &rng).count >= 490)
    }

    @Test("tenant-3 fails five times as often; a rate of 0 never fails, any rate is clamped")
    func errorRates() throws {
        var rng = SeededRandom(seed: 11)
        var failures: [String: (Int, Int)] = [:]
        for i in 0..<30_000 {
            let bytes = PayloadKind.jsonEvent(key: "user-\(i % 600)", size: 100, errorRate: 0.04, &rng)
            let o = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            let tenant = try #require(o["tenant"] as? String)
            var f = failures[tenant] ?? (0, 0)
            f.0 += (o["status"] as? Int) == 500 ? 1 : 0
            f.1 += 1
            failures[tenant] = f
        }
        #expect(failures.count == PayloadKind.tenants)
        let rate = failures.mapValues { Double($0.0) / Double($0.1) }
        #expect(abs(rate["tenant-3"]! - 0.20) < 0.03)
        #expect(abs(rate["tenant-0"]! - 0.04) < 0.015)
        for r in [0.0, -1, .nan] {
            for _ in 0..<200 {
                let b = PayloadKind.jsonEvent(key: "user-3", size: 80, errorRate: r, &rng)
                #expect(!String(decoding: b, as: UTF8.self).contains("500"))
            }
        }
        _ = PayloadKind.jsonEvent(key: "user-3", size: 80, errorRate: .infinity, &rng)
    }

    @Test("scenario files carry delivery streams, queries and JSON payloads; bad values are refused by name")
    func scenarioFileFields() throws {
        let good = """
            {"name": "f", "stream": {"name": "s"},
             "producers": [{"name": "p", "recordsPerSecond": 10, "keys": {"type": "uniform", "count": 5},
                            "payload": "json", "errorRate": 0.1}],
             "deliveryStreams": [{"name": "d", "sizeInMBs": 1, "intervalInSeconds": 0, "compression": "GZIP"}],
             "queries": [{"name": "q", "sql": "SELECT COUNT(*) FROM SOURCE_SQL_STREAM_001", "window": "tumbling:5s"}]}
            """
        let s = try ScenarioFile.decode(Data(good.utf8))
        #expect(s.producers[0].payload == .jsonEvents(errorRate: 0.1))
        #expect(
            s.deliveryStreams == [
                DeliveryStreamSetup(name: "d", sizeInMBs: 1, intervalInSeconds: 0, compression: "GZIP")
            ])
        #expect(
            s.queries == [
                QuerySetup(name: "q", sql: "SELECT COUNT(*) FROM SOURCE_SQL_STREAM_001", window: "tumbling:5s")
            ])
        #expect(try ScenarioFile.decode(ScenarioFile.encode(s)) == s)
        let producer = #""producers": [{"name": "p", "recordsPerSecond": 1, "keys": {"type": "uniform", "count": 1}, "#
        let bad: [(String, String)] = [
            (#""deliveryStreams": [{"name": "d", "sizeInMBs": 129}]"#, "sizeInMBs must be 1 to 128"),
            (#""deliveryStreams": [{"name": "d", "sizeInMBs": 0}]"#, "sizeInMBs must be 1 to 128"),
            (#""deliveryStreams": [{"name": "d", "intervalInSeconds": 901}]"#, "intervalInSeconds must be 0 to 900"),
            (#""deliveryStreams": [{"name": "d", "compression": "Snappy"}]"#, "compression must be"),
            (producer + #""payload": "xml"}]"#, "unknown payload 'xml'"),
            (producer + #""payload": "json", "errorRate": 2}]"#, "errorRate must be between 0 and 1"),
        ]
        for (field, message) in bad {
            let text = #"{"name": "f", "stream": {"name": "s"}, "# + field + "}"
            #expect(throws: ScenarioFileError.self) { try ScenarioFile.decode(Data(text.utf8)) }
            do { _ = try ScenarioFile.decode(Data(text.utf8)) } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }
}
