import Foundation

/// When an appended record reaches the disk, which decides what an ack promises.
///
/// Kinesis acknowledges a record only once it is stored durably; `always` keeps that promise
/// against power loss. `interval` acks after the write reaches the page cache (so a killed
/// process loses nothing) and makes it durable within the interval.
public enum FsyncPolicy: Sendable, Equatable, CustomStringConvertible {
    /// fdatasync before every ack (concurrent puts to one shard share a sync).
    case always
    /// A flusher syncs every segment written to, once per interval.
    case interval(milliseconds: Int)

    /// The longest interval accepted: a minute of acks at risk is already a lot.
    public static let maximumIntervalMilliseconds = 60_000

    /// Parses `always` or `interval:MS` (1…60000); nil otherwise.
    public init?(_ text: String) {
        if text == "always" {
            self = .always
            return
        }
        guard text.hasPrefix("interval:"), let ms = Int(text.dropFirst("interval:".count)),
            (1...Self.maximumIntervalMilliseconds).contains(ms)
        else { return nil }
        self = .interval(milliseconds: ms)
    }

    public var description: String {
        switch self {
        case .always: "always"
        case .interval(let ms): "interval:\(ms)"
        }
    }
}

/// Where and how the engine keeps streams on disk (`--data-dir`). nil in
/// ``EngineConfiguration/storage`` keeps everything in memory, as before.
public struct StorageConfiguration: Sendable, Equatable {
    public var directory: String
    public var fsync: FsyncPolicy = .always
    /// A shard's active segment is sealed and a new one started past this size.
    public var segmentBytes: Int = 64 << 20
    /// The smallest segment accepted (tests use small segments to get many).
    public static let minimumSegmentBytes = 64 << 10
    /// The in-memory window of recent records when a data directory holds the rest.
    public static let defaultMemoryWindowBytes = 256 << 20

    public init(directory: String, fsync: FsyncPolicy = .always, segmentBytes: Int = 64 << 20) {
        self.directory = directory
        self.fsync = fsync
        self.segmentBytes = segmentBytes
    }
}

/// Why storage could not do what was asked: the path involved and the system's reason.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Another process holds the directory's lock.
        case inUse(pid: Int32?)
        /// The directory cannot be written (read-only file system, permissions).
        case notWritable
        /// A read, write or sync failed.
        case io
        /// A metadata file cannot be decoded.
        case corrupt
    }
    public var kind: Kind
    public var path: String
    public var reason: String

    public init(_ kind: Kind, path: String, reason: String) {
        self.kind = kind
        self.path = path
        self.reason = reason
    }

    /// From `errno` after a failed system call.
    static func system(_ what: String, path: String, errno code: Int32 = errno) -> StorageError {
        let reason = "\(what): \(String(cString: strerror(code)))"
        return StorageError(
            code == EROFS || code == EACCES || code == EPERM ? .notWritable : .io, path: path, reason: reason)
    }

    public var description: String {
        switch kind {
        case .inUse(let pid):
            return "\(path) is in use by another ktop" + (pid.map { " (pid \($0))" } ?? "")
                + "; stop it or choose another --data-dir"
        case .notWritable:
            return "\(path) is not writable (\(reason)); ktop needs to write its --data-dir (a read-only directory "
                + "cannot hold streams)"
        case .io, .corrupt:
            return "\(path): \(reason)"
        }
    }
}

/// Damage found in a segment file when it was opened: a torn last entry (dropped: a write
/// that never completed) or a corrupted entry (the segment is served up to it).
public struct StorageDamage: Sendable, Equatable {
    public var path: String
    public var offset: Int64
    /// Bytes that could not be read from `offset` on.
    public var lostBytes: Int64
    /// A torn tail is expected after a crash; anything else is damage a person should know of.
    public var torn: Bool

    public var message: String {
        torn
            ? "dropped a torn last entry (\(lostBytes) bytes, a write cut short) at byte \(offset) of \(path)"
            : "\(path) damaged at byte \(offset): \(lostBytes) bytes after it cannot be read; "
                + "the records before it and in other segments are served"
    }
}

/// What opening a data directory found.
public struct RecoveryReport: Sendable {
    public var streams = 0
    public var shards = 0
    /// Records found in the segment files (retention not yet applied).
    public var records: Int64 = 0
    public var bytes: Int64 = 0
    public var damage: [StorageDamage] = []
    public var elapsed: Duration = .zero
    public init() {}
}
