import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `--data-dir` of a running engine: its lock, its layout, its metadata files and the
/// interval flusher.
///
/// ```
/// DIR/LOCK                                         flock(2)ed while ktop runs; holds its pid
/// DIR/FORMAT                                       "ktop-data 1"
/// DIR/services/<account>/<region>/service.json     resource policies, account settings
/// DIR/services/<account>/<region>/streams/<name>/stream.json          (``StreamRecord``)
/// DIR/services/<account>/<region>/streams/<name>/shard-<index>/*.seg  (``ShardStore``)
/// ```
/// Metadata files are replaced atomically (write, sync, rename, sync the directory).
public final class DataDirectory: Sendable {
    public let configuration: StorageConfiguration
    public var path: String { configuration.directory }
    private let lockFD: Int32
    /// Stores written since the flusher last ran (`interval` only).
    private let dirty = LockedValue<[ObjectIdentifier: ShardStore]>([:])
    /// Sync failures the flusher met, for the engine to report.
    private let flushFailures = LockedValue<[StorageError]>([])
    private let stopped = LockedValue(false)

    static let format = "ktop-data 1\n"

    private init(configuration: StorageConfiguration, lockFD: Int32) {
        self.configuration = configuration
        self.lockFD = lockFD
    }

    /// Creates (if needed) and locks the directory. Fails if another process holds it, if it
    /// cannot be written, or if it holds something other than ktop's data.
    public static func open(_ configuration: StorageConfiguration) throws(StorageError) -> DataDirectory {
        let root = configuration.directory
        try FileIO.makeDirectories(root)
        let lockPath = root + "/LOCK"
        let fd = try FileIO.open(lockPath, O_RDWR | O_CREAT, what: "open the lock file")
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let pid = (try? FileIO.contents(lockPath)).flatMap {
                Int32(
                    String(decoding: $0, as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines))
            }
            Glibc.close(fd)
            if code == EWOULDBLOCK { throw StorageError(.inUse(pid: pid), path: root, reason: "locked") }
            throw .system("lock", path: lockPath, errno: code)
        }
        do throws(StorageError) {
            let pid = Array("\(getpid())\n".utf8)
            guard ftruncate(fd, 0) == 0 else { throw StorageError.system("truncate", path: lockPath) }
            try FileIO.write(fd, pid, at: 0, path: lockPath)
            let formatPath = root + "/FORMAT"
            if let existing = try? FileIO.contents(formatPath) {
                guard String(decoding: existing, as: UTF8.self) == format else {
                    throw StorageError(.corrupt, path: formatPath, reason: "not a ktop data directory of this version")
                }
            } else {
                // A file system's own lost+found (a mount point used as the directory) is no one's data.
                let entries = FileIO.list(root).filter { $0 != "LOCK" && $0 != "lost+found" }
                guard entries.isEmpty else {
                    let some = entries.sorted().prefix(3).joined(separator: ", ")
                    throw StorageError(
                        .corrupt, path: root,
                        reason: "the directory holds other files (\(some)); give --data-dir an empty or ktop directory")
                }
                try FileIO.writeAtomically(Array(format.utf8), to: formatPath)
            }
            try emptyTrash(root)
        } catch {
            Glibc.close(fd)
            throw error
        }
        let directory = DataDirectory(configuration: configuration, lockFD: fd)
        if case .interval(let ms) = configuration.fsync { directory.startFlusher(every: ms) }
        return directory
    }

    // MARK: - Layout

    func serviceDirectory(account: String, region: String) -> String {
        path + "/services/" + account + "/" + region
    }

    func streamDirectory(account: String, region: String, stream: String) -> String {
        serviceDirectory(account: account, region: region) + "/streams/" + Self.fileName(stream: stream)
    }

    /// A stream name as a directory name. Kinesis allows `[a-zA-Z0-9_.-]+`, so `.`, `..` and
    /// hidden names are stream names: a leading dot is written `%2E` (no name holds a `%`).
    static func fileName(stream: String) -> String {
        stream.hasPrefix(".") ? "%2E" + stream.dropFirst() : stream
    }

    static func shardDirectory(_ streamDirectory: String, index: Int) -> String {
        streamDirectory + "/" + "shard-" + ShardID.string(index).dropFirst("shardId-".count)
    }

    /// (account, region, stream directory) of every stream directory on disk.
    func streamDirectories() -> [(account: String, region: String, directory: String)] {
        var out: [(String, String, String)] = []
        for account in FileIO.list(path + "/services").sorted() {
            for region in FileIO.list(path + "/services/" + account).sorted() {
                let streams = serviceDirectory(account: account, region: region) + "/streams"
                // Stream folders never start with a dot (fileName(stream:)); `.tmp` leftovers and the like do.
                for name in FileIO.list(streams).sorted() where !name.hasPrefix(".") {
                    out.append((account, region, streams + "/" + name))
                }
            }
        }
        return out
    }

    // MARK: - Metadata

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return e
    }()

    func write(_ record: StreamRecord) throws(StorageError) {
        let directory = streamDirectory(account: record.account, region: record.region, stream: record.name)
        try FileIO.makeDirectories(directory)
        try FileIO.writeAtomically(Array(encode(record, path: directory)), to: directory + "/stream.json")
    }

    func write(_ record: ServiceRecord) throws(StorageError) {
        let directory = serviceDirectory(account: record.account, region: record.region)
        try FileIO.makeDirectories(directory)
        try FileIO.writeAtomically(Array(encode(record, path: directory)), to: directory + "/service.json")
    }

    private func encode<T: Encodable>(_ value: T, path: String) throws(StorageError) -> Data {
        do { return try Self.encoder.encode(value) } catch {
            throw StorageError(.io, path: path, reason: "cannot encode metadata: \(error)")
        }
    }

    static func read<T: Decodable>(_ type: T.Type, at path: String) throws(StorageError) -> T? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes = try FileIO.contents(path)
        do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
            throw StorageError(.corrupt, path: path, reason: "cannot be read as ktop metadata (\(error))")
        }
    }

    /// Removes a deleted stream's directory: renamed away first (atomic), then deleted.
    func removeStream(account: String, region: String, stream: String) {
        remove(streamDirectory: streamDirectory(account: account, region: region, stream: stream))
    }

    func remove(streamDirectory directory: String) {
        guard FileIO.isDirectory(directory) else { return }
        let trash = path + "/trash"
        guard (try? FileIO.makeDirectories(trash)) != nil else { return }
        let target = trash + "/" + UUID().uuidString
        if rename(directory, target) == 0 {
            try? FileIO.syncDirectory((directory as NSString).deletingLastPathComponent)
            try? FileManager.default.removeItem(atPath: target)
        }
    }

    private static func emptyTrash(_ root: String) throws(StorageError) {
        for name in FileIO.list(root + "/trash") {
            try? FileManager.default.removeItem(atPath: root + "/trash/" + name)
        }
    }

    // MARK: - Syncing

    /// Syncs every file of the directory's file system with one call (Linux `syncfs`), or
    /// returns false where that call is missing. One call instead of one fdatasync per shard
    /// is what keeps `--fsync always` usable when a PutRecords call touches hundreds of shards.
    func syncFileSystem() throws(StorageError) -> Bool {
        guard let syncfs = Self.syncfs else { return false }
        while syncfs(lockFD) != 0 {
            if errno != EINTR { throw .system("syncfs", path: path) }
        }
        return true
    }

    /// `syncfs(2)`, looked up at run time: Swift's Glibc module does not declare it.
    private static let syncfs: (@convention(c) (Int32) -> Int32)? = {
        guard let symbol = dlsym(nil, "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()

    // MARK: - Flushing (interval)

    /// Notes that `store` has writes to make durable at the next flush.
    func written(_ store: ShardStore) {
        guard case .interval = configuration.fsync else { return }
        dirty.withLock { $0[ObjectIdentifier(store)] = store }
    }

    /// Syncs every store written since the last flush (the flusher's work; tests call it).
    public func flush() {
        let stores = dirty.withLock { d in
            defer { d.removeAll() }
            return Array(d.values)
        }
        for store in stores {
            do { try store.syncAll() } catch { flushFailures.withLock { $0.append(error) } }
        }
    }

    /// Sync failures since the last call.
    func takeFlushFailures() -> [StorageError] {
        flushFailures.withLock { f in
            defer { f.removeAll() }
            return f
        }
    }

    private func startFlusher(every milliseconds: Int) {
        let thread = Thread { [self] in
            while !stopped.withLock({ $0 }) {
                usleep(UInt32(milliseconds) * 1000)
                flush()
            }
        }
        thread.name = "ktop storage flusher"
        thread.start()
    }

    /// Lets go of the lock as a killed process would, without flushing (crash tests).
    func releaseLockForTests() {
        stopped.withLock { $0 = true }
        Glibc.close(lockFD)
    }

    /// Makes everything durable and releases the lock (a graceful shutdown).
    public func close() {
        let first = stopped.withLock { s in
            defer { s = true }
            return !s
        }
        guard first else { return }
        flush()
        Glibc.close(lockFD)
    }
}
