import Foundation
import Testing

@testable import StreamEngine

/// The chunked record log against an array doing the same appends and drops: every record readable at its
/// index, oldest first, across chunk boundaries, draining to empty and filling again.
@Suite struct RecordLogTests {
    private func record(_ n: Int) -> StoredRecord {
        StoredRecord(
            arrivalMillis: Int64(n), data: Data(repeating: UInt8(truncatingIfNeeded: n), count: n % 40),
            partitionKey: "key-\(n)-with-a-heap-buffer", encrypted: n % 2 == 0, size: n)
    }

    private func check(_ log: RecordLog, _ model: [StoredRecord]) {
        #expect(log.count == model.count)
        #expect(log.isEmpty == model.isEmpty)
        #expect(log.first?.arrivalMillis == model.first?.arrivalMillis)
        // Every index near the ends and the chunk boundaries, and a stride through the rest.
        let probes = Set(
            [0, 1, model.count - 1, model.count - 2] + Array(stride(from: 0, to: model.count, by: 97))
                + (1...4).flatMap { [$0 * RecordLog.chunkSize - 1, $0 * RecordLog.chunkSize] })
        for i in probes where i >= 0 && i < model.count {
            #expect(log[i].arrivalMillis == model[i].arrivalMillis, "index \(i)")
            #expect(log[i].data == model[i].data && log[i].partitionKey == model[i].partitionKey)
        }
    }

    @Test func appendsAndDropsAgreeWithAnArray() {
        var log = RecordLog()
        var model: [StoredRecord] = []
        var next = 0
        var random = UInt64(7)
        func roll(_ n: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(n))
        }
        check(log, model)
        // Grow past three chunks, drop across two boundaries, drain, refill, with mixed steps between.
        for (appends, drops) in [(1, 0), (1, 1), (RecordLog.chunkSize * 3 + 5, 0), (0, RecordLog.chunkSize + 3),
                                 (17, RecordLog.chunkSize), (0, 0), (100, 0)] {
            for _ in 0..<appends {
                log.append(record(next))
                model.append(record(next))
                next += 1
            }
            for _ in 0..<drops where !model.isEmpty {
                log.removeFirst()
                model.removeFirst()
            }
            check(log, model)
        }
        while !model.isEmpty {
            log.removeFirst()
            model.removeFirst()
        }
        check(log, model)
        for _ in 0..<2_000 {
            if roll(3) == 0, !model.isEmpty {
                log.removeFirst()
                model.removeFirst()
            } else {
                log.append(record(next))
                model.append(record(next))
                next += 1
            }
        }
        check(log, model)
    }

    /// A dropped record's payload is freed when it is dropped, not when its chunk goes.
    @Test func aDroppedRecordIsReleasedAtOnce() {
        final class Flag: @unchecked Sendable { var freed = false }
        let flag = Flag()
        var log = RecordLog()
        do {
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
            bytes.initializeMemory(as: UInt8.self, repeating: 1, count: 64)
            let data = Data(bytesNoCopy: bytes, count: 64, deallocator: .custom { pointer, _ in
                pointer.deallocate()
                flag.freed = true
            })
            log.append(StoredRecord(arrivalMillis: 1, data: data, partitionKey: "k", encrypted: false, size: 65))
        }
        log.append(record(2))
        #expect(!flag.freed)
        log.removeFirst()
        #expect(log.count == 1 && log.first?.arrivalMillis == 2)
        #expect(flag.freed)
    }
}
