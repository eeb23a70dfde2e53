import ArgumentParser
import StreamEngine

/// `--data-dir`, `--fsync`, `--segment-size`: streams kept on disk across restarts.
struct StorageOptions: ParsableArguments {
    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp(
            "Keep streams on disk in this directory: acked records survive a crash or restart, and records older "
                + "than the memory window (--memory-budget, default 256MiB with a data dir) are read from disk. "
                + "One ktop at a time per directory.",
            valueName: "dir"))
    var dataDir: String?

    @Option(
        help: ArgumentHelp(
            "When a record is acked: 'always' after it is synced to disk (survives power loss; the default), "
                + "'interval:MS' after it is written, syncing every MS ms (survives a crash of ktop; a power loss "
                + "may lose the last MS of acks, never a sequence number).",
            valueName: "always|interval:MS"))
    var fsync: String?

    @Option(
        name: .customLong("segment-size"),
        help: ArgumentHelp(
            "Size at which a shard's segment file is closed and a new one started (at least 64KiB; default 64MiB). "
                + "Retention deletes whole segments.",
            valueName: "size"))
    var segmentSize: String?

    /// The storage these options ask for (nil: in memory, as without --data-dir).
    func configuration() throws -> StorageConfiguration? {
        guard let dataDir else {
            if fsync != nil || segmentSize != nil {
                throw ValidationError("--fsync and --segment-size apply to a data directory: add --data-dir DIR.")
            }
            return nil
        }
        guard !dataDir.isEmpty else {
            throw ValidationError("--data-dir needs a directory, e.g. --data-dir ./ktop-data.")
        }
        var c = StorageConfiguration(directory: dataDir)
        if let fsync {
            guard let policy = FsyncPolicy(fsync) else {
                throw ValidationError(
                    "--fsync '\(fsync)' is not a policy; write --fsync always or --fsync interval:MS "
                        + "with MS from 1 to \(FsyncPolicy.maximumIntervalMilliseconds), e.g. interval:100.")
            }
            c.fsync = policy
        }
        if let segmentSize {
            guard let bytes = SystemMemory.parseSize(segmentSize), !segmentSize.hasSuffix("%"),
                bytes >= StorageConfiguration.minimumSegmentBytes, bytes <= 1 << 40
            else {
                throw ValidationError(
                    "--segment-size '\(segmentSize)' is not a size from 64KiB to 1TiB; write e.g. "
                        + "--segment-size 64MiB.")
            }
            c.segmentBytes = bytes
        }
        return c
    }
}
