import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One shard's records on disk: an append-only log split into segment files named by the
/// sequence counter of their first entry (`00000000000000000001.seg`), oldest first.
///
/// Models Kinesis's promise that an acknowledged record is durable and keeps its sequence
/// number: entries are written before the ack (and synced first under ``FsyncPolicy/always``),
/// each carries a checksum, and the counter continues above every number ever handed out.
/// Retention deletes whole segments. Appends, reads and trims are made under the shard's lock;
/// syncs may run beside them (the interval flusher, or another put's group commit).
///
/// Complexity: append O(batch bytes); a read starting at a position O(log segments + log marks)
/// to find its place, then sequential; opening scans every segment once (checksums included).
final class ShardStore: Sendable {
    let directory: String
    let policy: FsyncPolicy
    let segmentBytes: Int
    private let state: LockedValue<State>
    /// Serializes syncs; holds the generation last made durable.
    private let syncs = LockedValue<UInt64>(0)
    /// Positions below this are on disk for sure: readers see no further under `always`,
    /// so a record read by anyone is never lost and its number never handed out again.
    private let durable: Atomic<Int64>

    /// A sparse index entry: where in a segment to start reading for a sequence counter or a time.
    struct Mark: Sendable {
        var seqIndex: Int64
        var offset: Int64
        var arrivalMillis: Int64
    }

    struct Segment: Sendable {
        var firstSeqIndex: Int64
        var path: String
        /// Bytes of whole, verified entries: appends go here, reads stop here.
        var size: Int64 = 0
        var count = 0
        var lastSeqIndex: Int64 = 0
        var firstArrivalMillis: Int64 = .max
        var lastArrivalMillis: Int64 = .min
        var marks: [Mark] = []
        /// Found damaged when opened: never appended to again.
        var sealed = false
    }

    private struct State: Sendable {
        var segments: [Segment] = []
        /// The descriptor of `segments.last` while it takes appends; -1 before the first append.
        var activeFD: Int32 = -1
        var nextSeqIndex: Int64 = 1
        /// `interval`: counters up to here may have been handed out; a restart continues above.
        var reservedThrough: Int64 = 0
        var generation: UInt64 = 0
        var directoryExists = false
        /// A failed sync leaves the page cache's state unknown (fsync cannot be retried
        /// safely): the shard takes no more writes until ktop restarts.
        var failed: StorageError?
    }

    /// Counters reserved ahead at a time under `interval` (a restart skips at most this many).
    static let reservationBlock: Int64 = 1 << 20
    /// A sparse index mark at least every this many bytes of a segment.
    static let markSpacing: Int64 = 256 << 10

    private init(directory: String, policy: FsyncPolicy, segmentBytes: Int, state: State) {
        self.directory = directory
        self.policy = policy
        self.segmentBytes = segmentBytes
        self.state = LockedValue(state)
        self.durable = Atomic(state.nextSeqIndex - 1)
    }

    /// A store for a new shard: nothing is created on disk until the first append.
    static func create(directory: String, policy: FsyncPolicy, segmentBytes: Int) -> ShardStore {
        ShardStore(directory: directory, policy: policy, segmentBytes: segmentBytes, state: State())
    }

    /// Opens a shard's directory: verifies every entry, drops a torn last entry, seals a
    /// damaged segment at its damage, and continues the counter above everything issued.
    static func open(
        directory: String, policy: FsyncPolicy, segmentBytes: Int
    )
        throws(StorageError) -> (store: ShardStore, damage: [StorageDamage], records: Int64, bytes: Int64)
    {
        var state = State()
        var damage: [StorageDamage] = []
        var records: Int64 = 0
        var bytes: Int64 = 0
        state.directoryExists = FileIO.isDirectory(directory)
        let names = FileIO.list(directory).filter { $0.hasSuffix(".seg") }
            .compactMap { name -> (Int64, String)? in Int64(name.dropLast(4)).map { ($0, name) } }
            .sorted { $0.0 < $1.0 }
        for (i, (first, name)) in names.enumerated() {
            let path = directory + "/" + name
            var segment = Segment(firstSeqIndex: first, path: path)
            let found = try scan(&segment, last: i == names.count - 1)
            if let d = found {
                damage.append(d)
                if !d.torn && i == names.count - 1 {
                    // The unreadable bytes may hold entries whose numbers were handed out: skip past
                    // as many as they could hold. (In an older segment the next one's name bounds them.)
                    let most = d.lostBytes / Int64(SegmentCodec.headerBytes + SegmentCodec.fixedBodyBytes) + 1
                    state.nextSeqIndex = max(state.nextSeqIndex, segment.lastSeqIndex + 1 + most)
                }
            }
            records += Int64(segment.count)
            bytes += segment.size
            state.segments.append(segment)
            state.nextSeqIndex = max(state.nextSeqIndex, first, segment.lastSeqIndex + 1)
        }
        if let reserved = readReservation(directory) { state.nextSeqIndex = max(state.nextSeqIndex, reserved) }
        state.reservedThrough = state.nextSeqIndex - 1
        return (
            ShardStore(directory: directory, policy: policy, segmentBytes: segmentBytes, state: state), damage, records,
            bytes
        )
    }

    /// Reads a segment through, building its marks. A bad or short entry that reaches the end
    /// of the newest segment is a torn write: the file is cut there. Anything else is damage:
    /// the segment is served up to it and takes no more appends.
    private static func scan(_ segment: inout Segment, last: Bool) throws(StorageError) -> StorageDamage? {
        let fd = try FileIO.open(segment.path, last ? O_RDWR : O_RDONLY)
        defer { Glibc.close(fd) }
        let fileSize = try FileIO.size(fd, path: segment.path)
        var offset: Int64 = 0
        var previous = segment.firstSeqIndex - 1
        scanning: while offset < fileSize {
            var chunk = try FileIO.read(fd, count: Int(min(fileSize - offset, 4 << 20)), at: offset, path: segment.path)
            var at = 0
            while at < chunk.count {
                var read = chunk.withUnsafeBytes { SegmentCodec.verify(UnsafeRawBufferPointer(rebasing: $0[at...])) }
                if read == .short && at > 0 { break }  // the rest of it is in the next chunk
                let declared = declaredEnd(chunk, at: at).map { offset + Int64(at) + $0 }
                if read == .short, let end = declared, end <= fileSize {
                    // One entry larger than the chunk: read it whole.
                    chunk = try FileIO.read(fd, count: Int(end - offset), at: offset, path: segment.path)
                    read = chunk.withUnsafeBytes { SegmentCodec.verify($0) }
                }
                guard case .entry(let entry) = read, entry.seqIndex > previous else {
                    let bad = offset + Int64(at)
                    // A cut write leaves a whole header whose entry runs past the end (or not even a
                    // whole header); a garbled length or checksum before the end is damage.
                    let entryBytes = declaredEnd(chunk, at: at) ?? 0
                    let cut =
                        entryBytes <= Int64(SegmentCodec.headerBytes + SegmentCodec.maximumBodyBytes)
                        && (declared.map { $0 >= fileSize } ?? true)
                    let zeros = last && !cut ? try isZeros(fd, from: bad, to: fileSize, path: segment.path) : false
                    let torn = last && (cut || zeros)
                    if torn {
                        guard ftruncate(fd, off_t(bad)) == 0 else { throw .system("truncate", path: segment.path) }
                        try FileIO.sync(fd, path: segment.path)
                    } else {
                        segment.sealed = true
                    }
                    segment.size = bad
                    return StorageDamage(path: segment.path, offset: bad, lostBytes: fileSize - bad, torn: torn)
                }
                let entryOffset = offset + Int64(at)
                if segment.marks.isEmpty || entryOffset - segment.marks.last!.offset >= markSpacing {
                    segment.marks.append(
                        Mark(seqIndex: entry.seqIndex, offset: entryOffset, arrivalMillis: entry.arrivalMillis))
                }
                segment.count += 1
                segment.lastSeqIndex = entry.seqIndex
                segment.firstArrivalMillis = min(segment.firstArrivalMillis, entry.arrivalMillis)
                segment.lastArrivalMillis = max(segment.lastArrivalMillis, entry.arrivalMillis)
                previous = entry.seqIndex
                at += entry.length
                if at >= chunk.count {
                    offset += Int64(at)
                    continue scanning
                }
            }
            offset += Int64(at)
        }
        segment.size = offset
        return nil
    }

    /// Whether the file holds only zero bytes from `start` on (up to 16 MiB looked at): a file
    /// system may extend a file before the data of a cut write reaches it.
    private static func isZeros(
        _ fd: Int32, from start: Int64, to end: Int64, path: String
    ) throws(StorageError) -> Bool {
        guard end - start <= 16 << 20 else { return false }
        return try FileIO.read(fd, count: Int(end - start), at: start, path: path).allSatisfy { $0 == 0 }
    }

    /// Bytes from `at` to the end of the entry its header declares, if the header is there.
    private static func declaredEnd(_ chunk: [UInt8], at: Int) -> Int64? {
        guard chunk.count - at >= SegmentCodec.headerBytes else { return nil }
        let length = chunk.withUnsafeBytes { Int64($0.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian) }
        return Int64(SegmentCodec.headerBytes) + length
    }

    // MARK: - Writing

    /// The sequence counter the next appended record gets.
    var nextSeqIndex: Int64 { state.withLock { $0.nextSeqIndex } }

    /// When the newest record on disk arrived (arrival times never go back within a shard).
    var lastArrivalMillis: Int64 {
        state.withLock { s in s.segments.last(where: { $0.count > 0 })?.lastArrivalMillis ?? 0 }
    }

    /// Why the shard takes no writes, if a sync failed.
    var failure: StorageError? { state.withLock { $0.failed } }

    /// Writes a batch (its counters start at ``nextSeqIndex``). On failure nothing of it
    /// counts: the file is cut back, so the next append overwrites what was half written.
    /// Returns the generation to pass to ``sync(through:)`` before acking.
    func append(_ batch: SegmentBatch) throws(StorageError) -> UInt64 {
        try state.withLock { (s: inout State) throws(StorageError) -> UInt64 in
            if let failed = s.failed { throw failed }
            precondition(batch.firstSeqIndex == s.nextSeqIndex, "appends continue the counter")
            if case .interval = policy, batch.lastSeqIndex > s.reservedThrough {
                let through = batch.lastSeqIndex + Self.reservationBlock
                try writeReservation(through, s: &s)
                s.reservedThrough = through
            }
            // A batch that would take the segment past its size starts a new one (a single batch
            // larger than a segment gets one of its own).
            let size = s.segments.last?.size ?? 0
            if s.activeFD < 0 || s.segments.last!.sealed
                || (size > 0 && size + Int64(batch.bytes.count) > Int64(segmentBytes))
            {
                try roll(&s, firstSeqIndex: batch.firstSeqIndex)
            }
            let path = s.segments[s.segments.count - 1].path
            let offset = s.segments[s.segments.count - 1].size
            do throws(StorageError) {
                try FileIO.write(s.activeFD, batch.bytes, at: offset, path: path)
            } catch {
                _ = ftruncate(s.activeFD, off_t(offset))
                throw error
            }
            var segment = s.segments[s.segments.count - 1]
            if segment.marks.isEmpty || offset - segment.marks.last!.offset >= Self.markSpacing {
                segment.marks.append(
                    Mark(seqIndex: batch.firstSeqIndex, offset: offset, arrivalMillis: batch.firstArrivalMillis))
            }
            segment.size += Int64(batch.bytes.count)
            segment.count += batch.count
            segment.lastSeqIndex = batch.lastSeqIndex
            segment.firstArrivalMillis = min(segment.firstArrivalMillis, batch.firstArrivalMillis)
            segment.lastArrivalMillis = max(segment.lastArrivalMillis, batch.lastArrivalMillis)
            s.segments[s.segments.count - 1] = segment
            s.nextSeqIndex = batch.lastSeqIndex + 1
            s.generation += 1
            if case .interval = policy { durable.store(s.nextSeqIndex - 1, ordering: .releasing) }
            return s.generation
        }
    }

    /// Seals the active segment (synced, so everything before it is durable) and starts a
    /// new one named by `firstSeqIndex`.
    private func roll(_ s: inout State, firstSeqIndex: Int64) throws(StorageError) {
        if !s.directoryExists {
            try FileIO.makeDirectories(directory)
            s.directoryExists = true
        }
        let path = directory + "/" + String(format: "%020lld", firstSeqIndex) + ".seg"
        let fd = try FileIO.open(path, O_RDWR | O_CREAT | O_TRUNC)
        do throws(StorageError) {
            try FileIO.syncDirectory(directory)
            if s.activeFD >= 0 { try FileIO.sync(s.activeFD, path: s.segments.last!.path) }
        } catch {
            Glibc.close(fd)
            unlink(path)
            throw error
        }
        if s.activeFD >= 0 { Glibc.close(s.activeFD) }
        s.activeFD = fd
        // An empty segment of the same name (all of its records trimmed) is replaced.
        if let last = s.segments.last, last.path == path { s.segments.removeLast() }
        s.segments.append(Segment(firstSeqIndex: firstSeqIndex, path: path))
    }

    /// Makes everything appended up to `generation` durable. Puts that arrive while a sync
    /// runs share the next one (group commit). A failed sync stops the shard's writes.
    func sync(through generation: UInt64) throws(StorageError) {
        try syncs.withLock { (synced: inout UInt64) throws(StorageError) in
            if synced >= generation { return }
            // A duplicate descriptor: a roll may close the active one meanwhile (after syncing it).
            let (fd, target, end, path, failed) = state.withLock { s in
                (
                    s.activeFD >= 0 ? dup(s.activeFD) : -1, s.generation, s.nextSeqIndex - 1,
                    s.segments.last?.path ?? directory, s.failed
                )
            }
            if let failed { throw failed }
            if fd >= 0 {
                defer { Glibc.close(fd) }
                do throws(StorageError) { try FileIO.sync(fd, path: path) } catch {
                    state.withLock { $0.failed = error }
                    throw error
                }
            }
            synced = target
            durable.store(end, ordering: .releasing)
        }
    }

    /// What a sync started now covers: the generation appended so far and the end position.
    func syncPoint() -> (generation: UInt64, end: Int64) {
        state.withLock { ($0.generation, $0.nextSeqIndex - 1) }
    }

    /// Records that a sync of the whole file system, started after `point` was taken, succeeded.
    func markSynced(_ point: (generation: UInt64, end: Int64)) {
        syncs.withLock { synced in
            guard point.generation > synced else { return }
            synced = point.generation
            durable.store(point.end, ordering: .releasing)
        }
    }

    /// Stops the shard's writes after a sync that covered it failed.
    func markFailed(_ error: StorageError) { state.withLock { $0.failed = error } }

    /// Syncs whatever was appended (the interval flusher).
    func syncAll() throws(StorageError) {
        try sync(through: state.withLock { $0.generation })
    }

    /// Positions below this may be shown to readers.
    var visibleEnd: Int64 { durable.load(ordering: .acquiring) }

    // MARK: - Reservation (interval)

    private var reservationPath: String { directory + "/reserved" }

    private func writeReservation(_ through: Int64, s: inout State) throws(StorageError) {
        if !s.directoryExists {
            try FileIO.makeDirectories(directory)
            s.directoryExists = true
        }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(bitPattern: through).littleEndian) { bytes.append(contentsOf: $0) }
        let crc = CRC32.checksum(bytes)
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
        try FileIO.writeAtomically(bytes, to: reservationPath)
    }

    /// The counter a restart must continue from, if a run under `interval` reserved one.
    private static func readReservation(_ directory: String) -> Int64? {
        guard let bytes = try? FileIO.contents(directory + "/reserved"), bytes.count == 12 else { return nil }
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian }
        let crc = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian }
        guard CRC32.checksum(bytes[0..<8]) == crc, value < UInt64(Int64.max) else { return nil }
        return Int64(value) + 1
    }

    // MARK: - Reading

    /// Up to `limit` records with positions in `position..<end` (and no more than `maxBytes`, at
    /// least one) that arrived at or after `notBefore`, in order; and the position to read next.
    /// Positions need not be dense: a restart under `interval` skips counters, so when the disk
    /// holds nothing more below `end` the next position is `end`.
    func read(
        from position: Int64, before end: Int64, limit: Int, maxBytes: Int, notBefore: Int64
    )
        throws(StorageError) -> (entries: [LogEntry], next: Int64)
    {
        guard position < end, position >= 0 else { return ([], max(position, end)) }
        let segments = state.withLock { $0.segments }
        var out: [LogEntry] = []
        var bytes = 0
        var next = position
        let wanted = position + 1
        let first = segments.lastIndex(where: { $0.firstSeqIndex <= wanted }) ?? 0
        for segment in segments[min(first, segments.count)...] {
            if segment.count == 0 || segment.lastSeqIndex < wanted || segment.lastArrivalMillis < notBefore { continue }
            let start = segment.marks.last(where: { $0.seqIndex <= wanted })?.offset ?? 0
            var stop = false
            var reachedEnd = false
            try forEachEntry(segment, from: start) { e in
                if e.position >= end {
                    reachedEnd = true
                    return false
                }
                if out.count >= limit {
                    stop = true
                    return false
                }
                if e.seqIndex < wanted { return true }
                if e.arrivalMillis < notBefore {
                    next = e.position + 1
                    return true
                }
                if !out.isEmpty && bytes + e.size > maxBytes {
                    stop = true
                    return false
                }
                out.append(e)
                bytes += e.size
                next = e.position + 1
                return true
            }
            if reachedEnd { return (out, out.count < limit ? max(next, end) : next) }
            if stop || out.count >= limit { return (out, next) }
        }
        return (out, max(next, end))
    }

    /// Calls `visit` with each entry of `segment` from byte `start` on, until it returns false.
    private func forEachEntry(_ segment: Segment, from start: Int64, _ visit: (LogEntry) -> Bool) throws(StorageError) {
        guard let fd = try? FileIO.open(segment.path, O_RDONLY) else { return }  // trimmed meanwhile: expired
        defer { Glibc.close(fd) }
        var offset = start
        while offset < segment.size {
            var chunk = try FileIO.read(
                fd, count: Int(min(segment.size - offset, 1 << 20)), at: offset, path: segment.path)
            var at = 0
            decoding: while at < chunk.count {
                switch chunk.withUnsafeBytes({ SegmentCodec.decode(UnsafeRawBufferPointer(rebasing: $0[at...])) }) {
                case .entry(let e, let length):
                    at += length
                    if !visit(e) { return }
                case .short:
                    break decoding
                case .bad:
                    throw StorageError(
                        .corrupt, path: segment.path, reason: "unreadable entry at byte \(offset + Int64(at))")
                }
            }
            if at == 0 {
                // One entry larger than the chunk: read it whole.
                let length =
                    chunk.count >= SegmentCodec.headerBytes
                    ? chunk.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian) }
                    : -1
                guard length >= 0, length <= SegmentCodec.maximumBodyBytes else {
                    throw StorageError(.corrupt, path: segment.path, reason: "unreadable entry at byte \(offset)")
                }
                chunk = try FileIO.read(fd, count: SegmentCodec.headerBytes + length, at: offset, path: segment.path)
                guard case .entry(let e, let l) = chunk.withUnsafeBytes({ SegmentCodec.decode($0) }) else {
                    throw StorageError(.corrupt, path: segment.path, reason: "unreadable entry at byte \(offset)")
                }
                at = l
                if !visit(e) { return }
            }
            offset += Int64(at)
        }
    }

    /// Position of the first record that arrived at or after `millis`, or nil if none on disk.
    func position(atOrAfter millis: Int64) throws(StorageError) -> Int64? {
        let segments = state.withLock { $0.segments }
        guard let segment = segments.first(where: { $0.count > 0 && $0.lastArrivalMillis >= millis }) else {
            return nil
        }
        if segment.firstArrivalMillis >= millis { return firstPosition(of: segment) }
        let start = segment.marks.last(where: { $0.arrivalMillis < millis })?.seqIndex ?? segment.firstSeqIndex
        let found = try read(from: start - 1, before: .max, limit: 1, maxBytes: .max, notBefore: millis)
        return found.entries.first?.position
    }

    private func firstPosition(of segment: Segment) -> Int64 {
        (segment.marks.first?.seqIndex ?? segment.firstSeqIndex) - 1
    }

    /// Position of the oldest record on disk that arrived at or after `notBefore`, if any.
    func firstPosition(notBefore: Int64) throws(StorageError) -> Int64? {
        try position(atOrAfter: notBefore)
    }

    // MARK: - Retention and removal

    /// Deletes every segment whose records all arrived before `cutoffMillis` (the active one
    /// is sealed first when it is among them). Returns the records and bytes removed.
    @discardableResult
    func trim(before cutoffMillis: Int64) -> (records: Int64, bytes: Int64) {
        state.withLock { s in
            var removed: (records: Int64, bytes: Int64) = (0, 0)
            while let first = s.segments.first, first.count > 0, first.lastArrivalMillis < cutoffMillis {
                if s.segments.count == 1 {
                    // Keep a file named by the next counter, so a restart continues above.
                    guard (try? roll(&s, firstSeqIndex: s.nextSeqIndex)) != nil else { break }
                }
                if unlink(first.path) != 0 && errno != ENOENT { break }
                removed.records += Int64(first.count)
                removed.bytes += first.size
                s.segments.removeFirst()
            }
            return removed
        }
    }

    /// Bytes held on disk.
    var diskBytes: Int64 { state.withLock { $0.segments.reduce(0) { $0 + $1.size } } }

    /// Closes the active file (the store is dropped or its stream deleted).
    func close() {
        state.withLock { s in
            if s.activeFD >= 0 {
                Glibc.close(s.activeFD)
                s.activeFD = -1
            }
        }
    }

    deinit { close() }
}
