import Synchronization
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var signalPipeWriteFD: Int32 = -1

/// Turns SIGHUP, SIGTERM, SIGINT and SIGUSR2 into calls on a dedicated
/// thread. The handler only writes the signal number to a pipe (async-signal
/// safe, whichever thread the kernel picks); the watcher thread reads it and
/// calls `handler` outside signal context.
package final class SignalWatcher: @unchecked Sendable {
    package static let watched: [Int32] = [SIGHUP, SIGTERM, SIGINT, SIGUSR2]
    private let readFD: Int32
    private let writeFD: Int32
    private var thread: pthread_t?
    private let stopFlag = StopFlag()

    /// Installs the handlers now; `handler` runs on the watcher thread.
    /// `tick` is called about every `tickSeconds` (for drain deadlines).
    package init(tickSeconds: Double = 0.25, tick: (@Sendable () -> Void)? = nil,
                handler: @escaping @Sendable (Int32) -> Void) throws(SensorConfigError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw SensorConfigError(file: nil, key: nil, reason: "cannot create the signal pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        readFD = fds[0]
        writeFD = fds[1]
        signalPipeWriteFD = writeFD
        for s in Self.watched {
            var sa = sigaction()
            sa.__sigaction_handler.sa_handler = { sig in
                let saved = errno
                var b = UInt8(truncatingIfNeeded: sig)
                _ = write(signalPipeWriteFD, &b, 1)
                errno = saved
            }
            sa.sa_flags = SA_RESTART
            sigemptyset(&sa.sa_mask)
            sigaction(s, &sa, nil)
        }
        // A parent may have left these blocked (the mask survives exec):
        // unblock them here; threads started later inherit this mask.
        var set = sigset_t()
        sigemptyset(&set)
        for s in Self.watched { sigaddset(&set, s) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        let rfd = readFD
        let stopRef = stopFlag
        thread = spawnThread(name: "fs-signals") {
            var pfd = pollfd(fd: rfd, events: Int16(POLLIN), revents: 0)
            while !stopRef.value.load(ordering: .acquiring) {
                let n = poll(&pfd, 1, Int32(tickSeconds * 1000))
                if n > 0 {
                    var buf = [UInt8](repeating: 0, count: 16)
                    let got = buf.withUnsafeMutableBytes { read(rfd, $0.baseAddress, $0.count) }
                    if got > 0 { for i in 0..<got { handler(Int32(buf[i])) } }
                }
                tick?()
            }
        }
    }

    /// Restores default handling and stops the watcher thread.
    package func stop() {
        for s in Self.watched { signal(s, SIG_DFL) }
        stopFlag.value.store(true, ordering: .releasing)
        if let t = thread { pthread_join(t, nil); thread = nil }
        close(readFD)
        close(writeFD)
    }

    package static func name(_ sig: Int32) -> String {
        switch sig {
        case SIGHUP: "SIGHUP"
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGUSR2: "SIGUSR2"
        default: "signal \(sig)"
        }
    }
}

final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Starts a joinable pthread running `body` (named for `top`/debuggers).
package func spawnThread(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var t = pthread_t()
    let rc = pthread_create(&t, nil, { arg in
        let b = Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue()
        b.body()
        return nil
    }, box)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    return t
}
