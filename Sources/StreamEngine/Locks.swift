#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reader–writer lock guarding a value: many concurrent readers (the put and
/// get paths looking up streams and routing tables), one writer at a time (a
/// control-plane change). Writers are preferred so a steady stream of puts
/// cannot starve a SplitShard.
///
/// The pthread lock lives in its own heap allocation, as swift-nio's locks do:
/// a `pthread_rwlock_t` stored inline and passed as `&lock` gets whatever
/// address Swift picks for the inout access, which it may not keep stable, so
/// two threads could lock two different copies (ThreadSanitizer saw exactly
/// that: two writers inside one shard's lock at once).
final class ReadWriteLock<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched between lock and unlock of `lock`.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var value: Value

    init(_ value: Value) {
        self.value = value
        lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attr = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attr)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attr, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        let rc = pthread_rwlock_init(lock, &attr)
        precondition(rc == 0, "pthread_rwlock_init failed: \(rc)")
        pthread_rwlockattr_destroy(&attr)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deinitialize(count: 1)
        lock.deallocate()
    }

    func read<R, E: Error>(_ body: (Value) throws(E) -> R) throws(E) -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    func write<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}

/// A mutex guarding a value, on a heap-allocated `pthread_mutex_t` (swift-nio's
/// `NIOLockedValueBox` design).
///
/// Why not the standard library's `Synchronization.Mutex`: on Linux it locks
/// with raw futex calls that ThreadSanitizer does not intercept, so every access
/// under it reads as a data race and a real race would drown in the noise (a
/// two-thread counter under `Mutex` gives four TSan reports and the right total).
/// pthread locks are what TSan understands, which keeps `swift test
/// --sanitize=thread` meaningful for the engine and everything built on it.
public final class LockedValue<Value> {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value. Not reentrant.
    @inline(__always)
    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

// The value is only reached through `withLock`, under the mutex.
extension LockedValue: @unchecked Sendable where Value: Sendable {}
