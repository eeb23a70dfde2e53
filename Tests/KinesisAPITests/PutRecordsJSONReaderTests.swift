import Foundation
import StreamEngine
import Testing

@testable import KinesisAPI

/// The bytes-to-input reader of PutRecords against the general path it stands in for
/// (`JSONParser` then `PutRecordsRequestReader`): whatever it takes, the general path takes
/// too, with the same input; what it does not take falls through to the general path.
@Suite struct PutRecordsJSONReaderTests {
    /// The general path's input, nil where it refuses the body (or would send it to the shape decoder).
    private func general(_ body: [UInt8], maximumItems: Int = KinesisBodyEncoding.maximumItems) -> PutRecordsInput? {
        guard let document = try? JSONParser.parse(body, maximumItems: maximumItems) else { return nil }
        return PutRecordsRequestReader.read(document)
    }

    private func fast(_ text: String, maximumItems: Int = KinesisBodyEncoding.maximumItems) -> PutRecordsInput? {
        Array(text.utf8).withUnsafeBytes { PutRecordsJSONReader.read($0, maximumItems: maximumItems) }
    }

    @Test func aPlainBodyReadsAsTheGeneralPathReadsIt() throws {
        let body = #"""
             { "StreamName" : "s" ,"Records":[ {"Data":"AAEC/w==","PartitionKey":"k1"},
            {"PartitionKey":"ключ","ExplicitHashKey":"340282366920938463463374607431768211455","Data":""},
            {"Data":null,"PartitionKey":null,"ExplicitHashKey":null}	] , "StreamARN":null }
            """#
        let input = try #require(fast(body))
        #expect(input == general(Array(body.utf8)))
        #expect(input.streamName == "s")
        #expect(input.streamARN == nil)
        let records = try #require(input.records)
        #expect(records.count == 3)
        #expect(records[0].data == Data([0, 1, 2, 255]))
        #expect(records[0].partitionKey == "k1")
        #expect(records[1].partitionKey == "ключ")
        #expect(records[1].explicitHashKey == "340282366920938463463374607431768211455")
        #expect(records[1].data == Data())
        #expect(records[2] == PutRecordsRequestEntry())
    }

    @Test func edgesOfTheDocument() throws {
        #expect(fast("{}") == PutRecordsInput())
        #expect(fast(#"{"Records":[]}"#) == PutRecordsInput(records: []))
        #expect(fast(#"{"Records":null}"#) == PutRecordsInput())
        #expect(fast(#"{"Records":[{}]}"#) == PutRecordsInput(records: [PutRecordsRequestEntry()]))
        // A repeated member: the last one wins, as in JSONParser.
        #expect(fast(#"{"StreamName":"a","StreamName":"b"}"#)?.streamName == "b")
        #expect(fast(#"{"StreamName":"a","StreamName":null}"#)?.streamName == nil)
        #expect(fast(" \r\n\t{}\t\r\n ") == PutRecordsInput())
    }

    /// Each of these goes to the general path, which decodes it or answers with Coral's error.
    @Test(arguments: [
        "", " ", "{", "}", "[]", "null", #""x""#, "{}x", "{},", "{}{}",
        #"{"StreamName":"s",}"#, #"{"StreamName" "s"}"#, #"{"StreamName":"s""#, #"{"StreamName":nul}"#,
        #"{"StreamName":nullx}"#, #"{"StreamName":1}"#, #"{"StreamName":true}"#, #"{"StreamName":["s"]}"#,
        #"{"StreamName":"a\"b"}"#, #"{"StreamName":"a\u0041"}"#, #"{"Stream\u004eame":"s"}"#,
        #"{"streamName":"s"}"#, #"{"Limit":1}"#, #"{"Records":{}}"#, #"{"Records":[1]}"#, #"{"Records":[{},]}"#,
        #"{"Records":[,{}]}"#, #"{"Records":[{}"#, #"{"Records":[{"Data":"AAE"}]}"#,
        #"{"Records":[{"Data":"AA=A"}]}"#, #"{"Records":[{"Data":"AB=="}]}"#, #"{"Records":[{"Data":"A\/=="}]}"#,
        #"{"Records":[{"Data":1}]}"#, #"{"Records":[{"Extra":"x"}]}"#, #"{"Records":[{"PartitionKey":"\t"}]}"#,
        // A blob's run ends at the first quote: one after a backslash leaves the backslash in it (not base64).
        #"{"Records":[{"Data":"AA\"AA"}]}"#, #"{"Records":[{"Data":"AAA\""}]}"#, #"{"Records":[{"Data":"AA\u0041A"}]}"#,
        #"{"Records":[{"Data":""#,
    ])
    func anythingElseIsLeftToTheGeneralPath(_ body: String) {
        #expect(fast(body) == nil)
    }

    @Test func controlCharactersAndInvalidUTF8AreLeftToTheGeneralPath() {
        for bad: [UInt8] in [[0x01], [0x1F], [0xFF], [0xC3], [0xED, 0xA0, 0x80]] {
            let body = Array(#"{"StreamName":""#.utf8) + bad + Array(#""}"#.utf8)
            #expect(body.withUnsafeBytes { PutRecordsJSONReader.read($0) } == nil)
            #expect(general(body) == nil)
        }
    }

    /// `{"Records":[{},{}]}` holds five values: the document, Records, its list's two entries.
    @Test func theItemLimitIsJSONParsers() {
        let body = #"{"Records":[{},{}]}"#
        #expect(fast(body, maximumItems: 4) != nil)
        #expect(general(Array(body.utf8), maximumItems: 4) != nil)
        #expect(fast(body, maximumItems: 3) == nil)
        #expect(general(Array(body.utf8), maximumItems: 3) == nil)
        #expect(fast("{}", maximumItems: 1) != nil)
        #expect(fast("{}", maximumItems: 0) == nil)
        #expect(general(Array("{}".utf8), maximumItems: 0) == nil)
    }

    /// Bodies built from PutRecords' members and others, of every type, then mutated byte by byte:
    /// where the reader takes a body, the general path must take it with the same input.
    @Test func itNeverTakesWhatTheGeneralPathWouldReadOtherwise() throws {
        var random = SplitMix64(state: 16)
        var taken = 0
        var takenMutated = 0
        for round in 0..<8_000 {
            var body = Array(Self.document(&random).utf8)
            let mutated = round % 2 == 1
            if mutated {
                for _ in 0...random.below(3) { Self.mutate(&body, &random) }
            }
            guard let input = body.withUnsafeBytes({ PutRecordsJSONReader.read($0) }) else { continue }
            taken += 1
            if mutated { takenMutated += 1 }
            let expected = general(body)
            #expect(expected == input, "\(String(decoding: body, as: UTF8.self))")
        }
        // The generator makes plain documents often enough that the comparison is exercised.
        #expect(taken > 1_000)
        #expect(takenMutated > 30)
    }

    private static let names = [
        "StreamName", "StreamARN", "Records", "Data", "PartitionKey", "ExplicitHashKey", "Other", "streamname",
    ]
    private static let strings = [
        "", "s", "k-1", "ключ", "a b", "AAEC", "AAECAw==", "AA==", "3q2+7w==", "/w==", "12345", "a\\\"b", "\\u0041",
    ]

    private static func value(_ random: inout SplitMix64, depth: Int) -> String {
        switch random.below(depth > 2 ? 4 : 7) {
        case 0: return "null"
        case 1: return random.below(2) == 0 ? "1" : "true"
        case 2, 3: return "\"" + strings[random.below(strings.count)] + "\""
        case 4: return "[" + (0..<random.below(3)).map { _ in value(&random, depth: depth + 1) }.joined(separator: ",")
            + "]"
        default: return object(&random, depth: depth + 1)
        }
    }

    private static func object(_ random: inout SplitMix64, depth: Int) -> String {
        let members = (0..<random.below(4)).map { _ -> String in
            let name = names[random.below(random.below(4) == 0 ? names.count : 6)]
            return "\"\(name)\"" + (random.below(5) == 0 ? " : " : ":") + value(&random, depth: depth)
        }
        return "{" + members.joined(separator: random.below(5) == 0 ? " , " : ",") + "}"
    }

    /// A document shaped like PutRecords most of the time, anything from `object` otherwise.
    private static func document(_ random: inout SplitMix64) -> String {
        guard random.below(4) != 0 else { return object(&random, depth: 0) }
        let entries = (0..<random.below(5)).map { _ -> String in
            var members: [String] = []
            if random.below(5) != 0 { members.append(#""Data":""# + strings[random.below(9)] + "\"") }
            if random.below(5) != 0 {
                members.append(#""PartitionKey":""# + strings[random.below(strings.count)] + "\"")
            }
            if random.below(4) == 0 { members.append(#""ExplicitHashKey":"# + value(&random, depth: 3)) }
            if random.below(8) == 0 { members.append("\"\(names[random.below(names.count)])\":null") }
            return "{" + members.joined(separator: ",") + "}"
        }
        return #"{"StreamName":"s","Records":["# + entries.joined(separator: ",") + "]}"
    }

    private static let mutationBytes = Array("{}[],:\" \\nult01/=\u{7}".utf8) + [0xFF, 0xC3]

    private static func mutate(_ body: inout [UInt8], _ random: inout SplitMix64) {
        guard !body.isEmpty else { return }
        let at = random.below(body.count)
        switch random.below(3) {
        case 0: body.remove(at: at)
        case 1: body.insert(mutationBytes[random.below(mutationBytes.count)], at: at)
        default: body[at] = mutationBytes[random.below(mutationBytes.count)]
        }
    }

    /// Through the server: a body the reader takes and one it leaves (an escaped key) store the same records.
    @Test func bothPathsGiveTheSameReplyThroughTheServer() throws {
        let server = try ServerHarness()
        try server.call(.createStream, #"{"StreamName":"s","ShardCount":2}"#)
        let plain = #"{"StreamName":"s","Records":[{"Data":"AAE=","PartitionKey":"A"},{"Data":"","PartitionKey":"b"}]}"#
        let escaped =
            #"{"StreamName":"s","Records":[{"Data":"AAE=","PartitionKey":"\u0041"},{"Data":"","PartitionKey":"b"}]}"#
        #expect(fast(plain) != nil)
        #expect(fast(escaped) == nil)
        let first = try server.call(.putRecords, plain)
        let second = try server.call(.putRecords, escaped)
        let shardsOf = { (reply: [String: Any]) in
            ((reply["Records"] as? [[String: Any]]) ?? []).map { $0["ShardId"] as? String ?? "?" }
        }
        #expect(shardsOf(first).count == 2)
        #expect(shardsOf(first) == shardsOf(second))
        #expect(first["FailedRecordCount"] as? Int == 0)
        #expect(second["FailedRecordCount"] as? Int == 0)
        // A plain body with bad base64 takes the general path, which names the fault as Coral does.
        #expect(throws: (any Error).self) {
            try server.call(.putRecords, #"{"StreamName":"s","Records":[{"Data":"A","PartitionKey":"k"}]}"#)
        }
        // The extremes of the list: 500 entries pass, 501 are refused, on the bytes path as on the other.
        let entry = #"{"Data":"AA==","PartitionKey":"k"}"#
        let five = #"{"StreamName":"s","Records":["# + Array(repeating: entry, count: 500).joined(separator: ",") + "]}"
        #expect(fast(five)?.records?.count == 500)
        #expect(try server.call(.putRecords, five)["FailedRecordCount"] as? Int == 0)
        let over = #"{"StreamName":"s","Records":["# + Array(repeating: entry, count: 501).joined(separator: ",") + "]}"
        #expect(throws: (any Error).self) { try server.call(.putRecords, over) }
    }
}
