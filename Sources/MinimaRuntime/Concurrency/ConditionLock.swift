import CMinimaSupport
#if canImport(Glibc)
import Glibc
#endif

/// State guarded by a mutex, with a condition variable on that same mutex: the shape of
/// swift-nio's `ConditionLock`, generalised to carry the state it guards.
///
/// Every read and write of the state happens with the lock held; waiters re-check their
/// predicate under the lock, and signallers change the state and signal while holding it, so a
/// wake-up cannot be lost between a check and a wait. No wait needs a deadline to recover.
public final class ConditionLock<State>: @unchecked Sendable {
    // @unchecked: `state` is only touched with `mutex` held (every accessor below).
    private var state: State
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init(_ state: State) {
        self.state = state
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(condition, &attributes) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with the lock held.
    public func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Runs `body` with the lock held, then wakes every waiter before releasing it.
    public func withLockBroadcasting<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        return try body(&state)
    }

    /// Runs `body` with the lock held, then wakes every waiter if `wake` holds of the new state.
    public func withLock<Result>(broadcastingIf wake: (State) -> Bool, _ body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            if wake(state) { pthread_cond_broadcast(condition) }
            pthread_mutex_unlock(mutex)
        }
        return try body(&state)
    }

    /// Waits until `ready` holds, then runs `body` with the lock still held.
    public func withLock<Result>(when ready: (State) -> Bool, _ body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !ready(state) { pthread_cond_wait(condition, mutex) }
        return try body(&state)
    }
}

/// A thread that is joined, not polled: ``join()`` returns once its body has returned.
public final class JoinableThread: Sendable {
    private let handle: pthread_t

    /// Starts `body` on a new thread named `name` (at most 15 bytes are kept).
    public init(name: String, stackSize: Int = 8 << 20, _ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable {   // handed to exactly one thread, once
            let body: @Sendable () -> Void
            let name: String
            init(_ body: @escaping @Sendable () -> Void, name: String) { self.body = body; self.name = name }
        }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, stackSize)
        let box = Unmanaged.passRetained(Box(body, name: name)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(&handle, &attributes, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            minima_name_this_thread(box.name)
            box.body()
            return nil
        }, box)
        pthread_attr_destroy(&attributes)
        precondition(status == 0, "pthread_create failed: \(status)")
        self.handle = handle
    }

    /// Waits for the body to return. Call once.
    public func join() {
        pthread_join(handle, nil)
    }
}
