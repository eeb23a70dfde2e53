import DequeModule
import Foundation

/// A shard's retained records, oldest first, in chunks of up to ``chunkSize``: appending never moves a
/// stored record.
///
/// A `Deque` of records doubled its buffer as a shard filled, copying every record into fresh pages each
/// time: under a steady PutRecords load the copies and their page faults were about a tenth of
/// `ktop serve`'s CPU (perf, issue 16). Here only the first chunk grows (in doublings, so a quiet shard
/// holds little); once full, each later chunk is reserved whole and filled in place.
///
/// Complexity: `append`, `removeFirst`, `first` and the subscript O(1).
struct RecordLog: Sendable {
    /// Records a chunk holds (a power of two: an index splits by shift and mask). 4,096 records of
    /// 56 bytes: about 224 KiB, the most a shard reserves ahead of its records.
    static let chunkSize = 4_096
    private static let chunkShift = 12

    /// Every chunk but the last holds `chunkSize` slots; the first `head` slots of the first are vacant.
    private var chunks = Deque<ContiguousArray<StoredRecord>>()
    private var head = 0
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }

    var first: StoredRecord? { count == 0 ? nil : chunks[0][head] }

    /// The `i`th retained record, oldest first.
    subscript(i: Int) -> StoredRecord {
        precondition(i >= 0 && i < count, "record index out of range")
        let slot = head + i
        return chunks[slot >> Self.chunkShift][slot & (Self.chunkSize - 1)]
    }

    mutating func append(_ record: StoredRecord) {
        if chunks.isEmpty || chunks[chunks.count - 1].count == Self.chunkSize {
            var chunk = ContiguousArray<StoredRecord>()
            // The first chunk grows with the shard; later ones are taken whole (the shard is busy).
            chunk.reserveCapacity(chunks.isEmpty ? 16 : Self.chunkSize)
            chunks.append(chunk)
        }
        let last = chunks.count - 1
        if chunks[last].count == chunks[last].capacity {
            chunks[last].reserveCapacity(Swift.min(Self.chunkSize, 2 * chunks[last].capacity))
        }
        chunks[last].append(record)
        count += 1
    }

    /// Drops the oldest record (the log must not be empty). Its slot is cleared at once, so its payload
    /// and key are freed now, not when its chunk goes.
    mutating func removeFirst() {
        precondition(count > 0, "removeFirst on an empty log")
        chunks[0][head] = .vacant
        head += 1
        count -= 1
        if count == 0 {
            // Drained (expired or evicted): the shard holds no slots until its next record.
            chunks.removeAll()
            head = 0
        } else if head == Self.chunkSize {
            chunks.removeFirst()
            head = 0
        }
    }
}

extension StoredRecord {
    /// What a dropped record's slot holds until its chunk goes: nothing on the heap.
    static let vacant = StoredRecord(arrivalMillis: 0, data: Data(), partitionKey: "", encrypted: false, size: 0)
}
