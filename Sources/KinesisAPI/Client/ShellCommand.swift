import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs one command through `/bin/sh -c` with a deadline and collects its stdout and
/// stderr: how ktop runs a profile's `credential_process`.
///
/// Built on `posix_spawn` and `poll` rather than Foundation's `Process` so that the
/// deadline holds whatever the command does: it is killed when the deadline passes, and
/// output is read until the command itself exits, not until every descendant has closed
/// the pipes (a helper that starts a browser for SSO may leave one running). Stdin is
/// inherited, so a command may still prompt on the terminal (an MFA code).
enum ShellCommand {
    enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
    }

    struct Output: Sendable {
        var termination: Termination
        var stdout: [UInt8]
        var stderr: [UInt8]
    }

    enum Failure: Error, Sendable, Equatable {
        case cannotStart(String)
        case timedOut
        case outputTooLarge
    }

    /// - Parameters:
    ///   - environment: the whole environment of the command.
    ///   - outputLimit: the most bytes kept of stdout and of stderr; a command printing
    ///     more is killed (credentials are a few kilobytes).
    static func run(_ command: String, environment: [String: String], timeout: Duration,
                    outputLimit: Int = 1 << 20) throws(Failure) -> Output {
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard makePipe(&stdoutPipe) == 0 else { throw .cannotStart("pipe: \(errnoText())") }
        guard makePipe(&stderrPipe) == 0 else {
            close(stdoutPipe[0]); close(stdoutPipe[1])
            throw .cannotStart("pipe: \(errnoText())")
        }
        for fd in [stdoutPipe[0], stderrPipe[0]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }

        let pid: pid_t
        do {
            pid = try spawn(command, environment: environment, stdout: stdoutPipe[1], stderr: stderrPipe[1])
        } catch {
            for fd in stdoutPipe + stderrPipe { close(fd) }
            throw error
        }
        close(stdoutPipe[1])
        close(stderrPipe[1])

        var readers = [PipeReader(fd: stdoutPipe[0]), PipeReader(fd: stderrPipe[0])]
        defer { for reader in readers where reader.isOpen { close(reader.fd) } }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var status: Int32 = 0
        while true {
            var fds = readers.filter(\.isOpen).map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let remaining = ContinuousClock.now.duration(to: deadline)
            // Wake at least every 20 ms to see whether the command has exited while a
            // descendant still holds the pipes open.
            let slice = min(remaining, .milliseconds(20))
            let (seconds, attoseconds) = slice.components
            let millis = max(0, Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000))
            _ = poll(&fds, nfds_t(fds.count), millis)
            for index in readers.indices where readers[index].isOpen { readers[index].drain(limit: outputLimit) }
            if readers.contains(where: \.overflowed) {
                kill(pid, SIGKILL)
                _ = waitForExit(pid, &status)
                throw .outputTooLarge
            }
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped == -1 && errno == ECHILD) {
                // What the command wrote before it exited is already in the pipes.
                for index in readers.indices where readers[index].isOpen { readers[index].drain(limit: outputLimit) }
                if readers.contains(where: \.overflowed) { throw .outputTooLarge }
                break
            }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitForExit(pid, &status)
                throw .timedOut
            }
        }
        // The wait status: low 7 bits the terminating signal (0 when it exited), next 8 the exit code.
        let signal = status & 0x7f
        let termination: Termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        return Output(termination: termination, stdout: readers[0].bytes, stderr: readers[1].bytes)
    }

    /// A pipe closed on exec. Not atomic (Glibc's module does not export `pipe2`): a process
    /// another thread spawns in between may inherit it, which is harmless here because the
    /// end of a run is decided by the command's exit, not by end of file on the pipes.
    private static func makePipe(_ fds: inout [Int32]) -> Int32 {
        guard pipe(&fds) == 0 else { return -1 }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return 0
    }

    private static func waitForExit(_ pid: pid_t, _ status: inout Int32) -> Bool {
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { return false }
        }
        return true
    }

    private static func spawn(_ command: String, environment: [String: String],
                              stdout: Int32, stderr: Int32) throws(Failure) -> pid_t {
        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t?
        var attributes: posix_spawnattr_t?
        #else
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A server process ignores SIGPIPE; the command should not inherit that, nor a blocked signal.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", command].map { (s: String) in strdup(s) }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { (key, value) in strdup("\(key)=\(value)") }
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            (envp + [nil]).withUnsafeBufferPointer { envBuffer in
                posix_spawn(&pid, "/bin/sh", &actions, &attributes,
                            UnsafeMutablePointer(mutating: argvBuffer.baseAddress!),
                            UnsafeMutablePointer(mutating: envBuffer.baseAddress!))
            }
        }
        guard rc == 0 else { throw .cannotStart("/bin/sh: \(String(cString: strerror(rc)))") }
        return pid
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// The read end of one output pipe, read without blocking.
private struct PipeReader {
    let fd: Int32
    var bytes: [UInt8] = []
    var isOpen = true
    var overflowed = false

    init(fd: Int32) { self.fd = fd }

    /// Reads whatever is there now; closes the pipe at end of file.
    mutating func drain(limit: Int) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while isOpen {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes.append(contentsOf: buffer[0..<n])
                if bytes.count > limit { overflowed = true; return }
            } else if n == 0 {
                close(fd)
                isOpen = false
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                return
            } else {
                close(fd)
                isOpen = false
            }
        }
    }
}
