import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few POSIX calls storage needs, each turning a failure into a ``StorageError`` that
/// names the file. Plain system calls rather than FileHandle: storage must see every
/// short write and every failed fsync, and must never throw an Objective-C exception.
enum FileIO {
    /// Writes all of `bytes` at `offset`, retrying short writes and EINTR.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws(StorageError)
    {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + Int64(done)))
            if n < 0 {
                if errno == EINTR { continue }
                throw .system("write", path: path)
            }
            if n == 0 { throw StorageError(.io, path: path, reason: "write: no progress") }
            done += n
        }
    }

    /// Writes all of `bytes` at `offset`.
    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int64, path: String) throws(StorageError) {
        var failure: StorageError?
        bytes.withUnsafeBytes { b in
            do throws(StorageError) { try write(fd, b, at: offset, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Reads up to `count` bytes at `offset` (fewer only at the end of the file).
    static func read(_ fd: Int32, count: Int, at offset: Int64, path: String) throws(StorageError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, count - done, off_t(offset + Int64(done)))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system("read", path: path)
            }
            if n == 0 { break }
            done += n
        }
        buffer.removeLast(count - done)
        return buffer
    }

    static func open(_ path: String, _ flags: Int32, what: String = "open") throws(StorageError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
            if fd >= 0 { return fd }
            if errno != EINTR { throw .system(what, path: path) }
        }
    }

    static func sync(_ fd: Int32, path: String) throws(StorageError) {
        while fdatasync(fd) != 0 {
            if errno != EINTR { throw .system("fdatasync", path: path) }
        }
    }

    /// Makes a directory's entries (a new or renamed file) durable.
    static func syncDirectory(_ path: String) throws(StorageError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        while fsync(fd) != 0 {
            if errno != EINTR { throw .system("fsync", path: path) }
        }
    }

    /// `mkdir -p`, syncing each parent that gained an entry.
    static func makeDirectories(_ path: String) throws(StorageError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw .system("mkdir", path: path) }
        if !parent.isEmpty { try syncDirectory(parent) }
    }

    /// Replaces `path` with `bytes` atomically: a crash leaves the old or the new file, never a mix.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(StorageError) {
        let temporary = path + ".tmp"
        let fd = try open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do throws(StorageError) {
            try write(fd, bytes, at: 0, path: temporary)
            try sync(fd, path: temporary)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        if rename(temporary, path) != 0 {
            let e = StorageError.system("rename", path: path)
            unlink(temporary)
            throw e
        }
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    static func contents(_ path: String) throws(StorageError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        var out: [UInt8] = []
        while true {
            let chunk = try read(fd, count: 1 << 20, at: Int64(out.count), path: path)
            out += chunk
            if chunk.count < 1 << 20 { return out }
        }
    }

    static func size(_ fd: Int32, path: String) throws(StorageError) -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .system("stat", path: path) }
        return Int64(st.st_size)
    }

    /// Names in a directory (none if it does not exist).
    static func list(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
