import Foundation
import Testing

@testable import StreamEngine

/// A fresh directory under the system's temporary directory, removed by `cleanup()`.
struct ScratchDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "ktop-storage-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }

    func segments(_ sub: String = "") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path + sub)) ?? []).filter { $0.hasSuffix(".seg") }
            .sorted()
    }
}

/// The segment log of one shard on real files: appends, reopening, torn and damaged files, reads, trims.
@Suite struct ShardStoreTests {
    /// Appends `count` records of `size` bytes, one batch, and returns their payloads.
    @discardableResult
    func append(
        _ store: ShardStore, count: Int, size: Int = 100, arrival: Int64 = 1_000, tag: String = "r"
    ) throws -> [Data] {
        var batch = SegmentBatch()
        var payloads: [Data] = []
        let first = store.nextSeqIndex
        for i in 0..<count {
            let data =
                Data("\(tag)\(first + Int64(i))-".utf8) + Data(repeating: UInt8(i % 251), count: max(0, size - 12))
            batch.add(
                seqIndex: first + Int64(i), arrivalMillis: arrival, encrypted: i % 2 == 1, partitionKey: "k\(i)",
                data: data)
            payloads.append(data)
        }
        _ = try store.append(batch)
        return payloads
    }

    func all(_ store: ShardStore) throws -> [LogEntry] {
        var out: [LogEntry] = []
        var position: Int64 = 0
        while true {
            let r = try store.read(from: position, before: .max, limit: 1000, maxBytes: 10 << 20, notBefore: 0)
            out += r.entries
            if r.entries.isEmpty { return out }
            position = r.next
        }
    }

    @Test func entriesSurviveReopeningWithTheirCountersKeysAndBytes() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let store = ShardStore.create(directory: dir.path, policy: .always, segmentBytes: 64 << 10)
        let a = try append(store, count: 300, size: 500)
        let b = try append(store, count: 1, size: 0, arrival: 2_000)
        try store.syncAll()
        store.close()
        let reopened = try ShardStore.open(directory: dir.path, policy: .always, segmentBytes: 64 << 10)
        #expect(reopened.damage.isEmpty)
        #expect(reopened.records == 301)
        #expect(dir.segments().count > 1, "300 × 500 B must roll 64 KiB segments")
        let entries = try all(reopened.store)
        #expect(entries.map(\.seqIndex) == Array(1...301))
        #expect(entries.map(\.data) == a + b)
        #expect(entries[1].encrypted && !entries[0].encrypted)
        #expect(entries[7].partitionKey == "k7")
        #expect(entries.last!.arrivalMillis == 2_000)
        #expect(reopened.store.nextSeqIndex == 302)
        #expect(reopened.store.lastArrivalMillis == 2_000)
    }

    @Test func aTornLastEntryIsDroppedAndTheNextAppendTakesItsPlace() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let store = ShardStore.create(directory: dir.path, policy: .always, segmentBytes: 1 << 20)
        let kept = try append(store, count: 5)
        store.close()
        // The first 11 bytes of a valid entry: a write cut short by a power loss.
        var partial = SegmentBatch()
        partial.add(seqIndex: 6, arrivalMillis: 1_000, encrypted: false, partitionKey: "k", data: Data(count: 50))
        let file = dir.path + "/" + dir.segments().last!
        let handle = FileHandle(forWritingAtPath: file)!
        handle.seekToEndOfFile()
        let goodSize = handle.offsetInFile
        handle.write(Data(partial.bytes.prefix(11)))
        handle.closeFile()
        let reopened = try ShardStore.open(directory: dir.path, policy: .always, segmentBytes: 1 << 20)
        #expect(reopened.damage.count == 1)
        #expect(reopened.damage.first?.torn == true)
        #expect(reopened.damage.first?.offset == Int64(goodSize))
        #expect(reopened.damage.first?.message.contains(file) == true)
        let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int
        #expect(size == Int(goodSize), "the torn bytes are cut from the file")
        #expect(try all(reopened.store).map(\.data) == kept)
        #expect(reopened.store.nextSeqIndex == 6)
        try append(reopened.store, count: 2)
        #expect(try all(reopened.store).map(\.seqIndex) == Array(1...7))
    }

    @Test(arguments: ["checksum", "zeros", "length"])
    func aDamagedLastEntryIsTornOnlyWhenItEndsTheFile(kind: String) throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let store = ShardStore.create(directory: dir.path, policy: .always, segmentBytes: 1 << 20)
        try append(store, count: 3, size: 64)
        let file = dir.path + "/" + dir.segments().last!
        let lastEntry = try #require(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        try append(store, count: 1, size: 64)
        store.close()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        switch kind {
        case "checksum": bytes[bytes.count - 1] ^= 0xFF  // the last entry's body: torn
        case "zeros": bytes += Data(count: 4096)  // a file extended before its data arrived: torn
        default: bytes[lastEntry + 3] = 0x7F  // the last entry's length garbled far past the end: damage
        }
        try bytes.write(to: URL(fileURLWithPath: file))
        let reopened = try ShardStore.open(directory: dir.path, policy: .always, segmentBytes: 1 << 20)
        #expect(reopened.damage.count == 1)
        #expect(reopened.damage[0].torn == (kind != "length"))
        let expected = kind == "zeros" ? 4 : 3
        #expect(try all(reopened.store).count == expected)
        // Either way the counter continues above every entry the file held: past damage, above
        // as many entries as the unreadable bytes could hold.
        #expect(reopened.store.nextSeqIndex >= Int64(expected + 1))
        if kind == "length" { #expect(reopened.store.nextSeqIndex > 4) }
    }

    @Test func aCorruptedSegmentIsServedUpToTheDamageAndTheLaterSegmentsStayReadable() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let store = ShardStore.create(directory: dir.path, policy: .always, segmentBytes: 64 << 10)
        for _ in 0..<6 { try append(store, count: 100, size: 700) }  // a segment each (73 KB > 64 KiB)
        store.close()
        let names = dir.segments()
        #expect(names.count >= 3)
        let victim = dir.path + "/" + names[1]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: victim))
        let flipped = bytes.count / 2
        bytes[flipped] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: victim))
        let reopened = try ShardStore.open(directory: dir.path, policy: .always, segmentBytes: 64 << 10)
        #expect(reopened.damage.count == 1)
        let damage = try #require(reopened.damage.first)
        #expect(!damage.torn)
        #expect(damage.path == victim)
        #expect(damage.offset <= Int64(flipped) && damage.offset + damage.lostBytes == Int64(bytes.count))
        #expect(damage.message.contains("damaged at byte"))
        let entries = try all(reopened.store)
        #expect(entries.map(\.seqIndex) == entries.map(\.seqIndex).sorted())
        #expect(entries.first?.seqIndex == 1)
        #expect(entries.last?.seqIndex == 600, "segments after the damaged one are served")
        #expect(entries.count < 600)
        // A damaged segment takes no more appends; new records go to a new segment.
        try append(reopened.store, count: 1)
        #expect(try all(reopened.store).last?.seqIndex == 601)
    }

    @Test func readsHonourLimitsBytesRetentionAndGapsInPositions() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let store = ShardStore.create(directory: dir.path, policy: .interval(milliseconds: 10), segmentBytes: 64 << 10)
        try append(store, count: 50, size: 100, arrival: 1_000)
        try append(store, count: 50, size: 100, arrival: 5_000)
        store.close()
        // Under `interval` a restart continues above the reserved block: positions jump.
        let reopened = try ShardStore.open(
            directory: dir.path, policy: .interval(milliseconds: 10), segmentBytes: 64 << 10)
        let next = reopened.store.nextSeqIndex
        // The first batch reserved 2^20 counters past its last; the second stayed inside them.
        #expect(next == 50 + ShardStore.reservationBlock + 1)
        try append(reopened.store, count: 10, size: 100, arrival: 9_000)
        let s = reopened.store
        let limited = try s.read(from: 0, before: .max, limit: 7, maxBytes: .max, notBefore: 0)
        #expect(limited.entries.map(\.seqIndex) == Array(1...7) && limited.next == 7)
        let oneBig = try s.read(from: 0, before: .max, limit: 100, maxBytes: 1, notBefore: 0)
        #expect(oneBig.entries.count == 1, "at least one record even past maxBytes")
        let recent = try s.read(from: 0, before: .max, limit: 1000, maxBytes: .max, notBefore: 5_000)
        #expect(recent.entries.first?.seqIndex == 51 && recent.entries.count == 60)
        let inGap = try s.read(from: 200, before: .max, limit: 1000, maxBytes: .max, notBefore: 0)
        #expect(inGap.entries.first?.seqIndex == next)
        let bounded = try s.read(from: 0, before: 30, limit: 1000, maxBytes: .max, notBefore: 0)
        #expect(bounded.entries.count == 30 && bounded.next == 30)
        #expect(try s.position(atOrAfter: 4_000) == 50)
        #expect(try s.position(atOrAfter: 9_000) == next - 1)
        #expect(try s.position(atOrAfter: 9_001) == nil)
    }

    @Test func retentionDeletesWholeSegmentsAndTheCounterOutlivesThem() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let store = ShardStore.create(directory: dir.path, policy: .always, segmentBytes: 64 << 10)
        for i in 0..<4 { try append(store, count: 100, size: 700, arrival: Int64(i) * 1_000) }  // a segment each
        #expect(dir.segments().count == 4)
        #expect(store.trim(before: 0).records == 0)
        let partial = store.trim(before: 1_500)
        #expect(partial.records == 200 && dir.segments().count == 2)
        let left = try all(store)
        #expect(left.count == 200 && left.allSatisfy { $0.arrivalMillis >= 2_000 })
        let everything = store.trim(before: 10_000)
        #expect(everything.records > 0)
        #expect(try all(store).isEmpty)
        // An empty segment named by the next counter keeps the numbering across a restart.
        #expect(dir.segments() == [String(format: "%020d.seg", 401)])
        store.close()
        let reopened = try ShardStore.open(directory: dir.path, policy: .always, segmentBytes: 64 << 10)
        #expect(reopened.store.nextSeqIndex == 401)
    }

    @Test func anEntryLargerThanAReadChunkIsWrittenScannedAndRead() throws {
        let dir = ScratchDirectory()
        defer { dir.cleanup() }
        let store = ShardStore.create(directory: dir.path, policy: .always, segmentBytes: 64 << 10)
        try append(store, count: 2, size: 10)
        let big = try append(store, count: 1, size: 5 << 20)
        try append(store, count: 2, size: 10)
        store.close()
        let reopened = try ShardStore.open(directory: dir.path, policy: .always, segmentBytes: 64 << 10)
        #expect(reopened.damage.isEmpty)
        let entries = try all(reopened.store)
        #expect(entries.count == 5 && entries[2].data == big[0])
    }

    @Test func theCodecRejectsEveryImpossibleHeader() {
        var batch = SegmentBatch()
        batch.add(seqIndex: 1, arrivalMillis: 5, encrypted: false, partitionKey: "k", data: Data("abc".utf8))
        let good = batch.bytes
        #expect(good.withUnsafeBytes { SegmentCodec.decode($0) } != .short)
        for cut in [0, 3, 7, 8, good.count - 1] {
            #expect(Array(good.prefix(cut)).withUnsafeBytes { SegmentCodec.decode($0) } == .short, "cut at \(cut)")
        }
        for (offset, value) in [(0, UInt8(0)), (3, 0xFF), (4, 0x00), (16 + 8, 0x07), (8, 0x00)] {
            var bad = good
            bad[offset] = value == bad[offset] ? value ^ 1 : value
            if offset == 8 { bad.replaceSubrange(8..<16, with: [UInt8](repeating: 0, count: 8)) }
            let read = bad.withUnsafeBytes { SegmentCodec.decode($0) }
            #expect(read == .bad || read == .short, "byte \(offset)")
        }
    }
}
