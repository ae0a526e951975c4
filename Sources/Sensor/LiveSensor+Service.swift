import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension LiveSensor {
    /// Seconds a graceful shutdown (writing every open flow) may take before
    /// the process gives up and exits with status 1.
    package static let drainSeconds = 10.0

    /// Runs the sensor as the `run` service until it is stopped, and returns
    /// the final stats. Signals, taken on the `SignalWatcher` thread: SIGHUP
    /// reopens the log files, SIGUSR2 reloads model and policy; the first
    /// SIGTERM or SIGINT starts the graceful shutdown (`stop()`), a second
    /// one, or a drain longer than `drainSeconds`, exits the process at once
    /// with status 1. Errors: the signal pipe, or opening the interface.
    package func runUntilStopped() throws -> SensorStats {
        // A log file on a FIFO whose reader went away: EPIPE, handled as a failed write (held, retried, counted), not death.
        signal(SIGPIPE, SIG_IGN)
        let drain = DrainDeadline()
        let log = self.log
        let watcher = try SignalWatcher(tick: {
            let d = drain.deadline.load(ordering: .acquiring)
            if d != 0 && monotonicMillis() > d {
                log("flowsentry: error: drain took longer than \(LiveSensor.drainSeconds) s; exiting without finishing")
                _exit(1)
            }
        }) { [self] sig in
            switch sig {
            case SIGHUP:
                reopenLogs()
            case SIGUSR2:
                log("flowsentry: SIGUSR2: reload requested")
                requestReload()
            default:
                if isStopping {
                    log("flowsentry: second \(SignalWatcher.name(sig)) while draining: exiting now")
                    _exit(1)
                }
                log("flowsentry: \(SignalWatcher.name(sig)): stopping; writing open flows")
                drain.deadline.store(monotonicMillis() + Int64(LiveSensor.drainSeconds * 1000), ordering: .releasing)
                stop()
            }
        }
        do {
            try start()
        } catch {
            watcher.stop()
            throw error
        }
        let final = wait()
        watcher.stop()
        return final
    }
}

/// When a graceful shutdown is abandoned.
final class DrainDeadline: Sendable {
    /// Monotonic milliseconds after which the drain is abandoned; 0 = not draining.
    let deadline = Atomic<Int64>(0)
}

func monotonicMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
