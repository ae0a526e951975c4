import Foundation
import Sensor
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The watcher installs process-wide handlers: one test, restoring the
/// defaults (stop()) before it returns. Nothing else in this test process
/// installs them (`runUntilStopped` is exercised through the binary, in
/// LiveSensorBinaryTests).
@Suite(.serialized) struct SignalWatcherTests {
    @Test func signalsReachTheHandlerOnItsThreadAndTicksRun() throws {
        final class Seen: Sendable {
            let signals = Mutex<[Int32]>([])
            let ticks = Atomic<Int>(0)
        }
        let s = Seen()
        let got = DispatchSemaphore(value: 0)
        let w = try SignalWatcher(tickSeconds: 0.01, tick: { s.ticks.add(1, ordering: .relaxed) }) { sig in
            s.signals.withLock { $0.append(sig) }
            got.signal()
        }
        defer { w.stop() }
        for sig in [SIGUSR2, SIGHUP, SIGUSR2] {
            #expect(kill(getpid(), sig) == 0)
            // Generous: a missed signal fails here rather than hanging.
            #expect(got.wait(timeout: .now() + 30) == .success, "\(SignalWatcher.name(sig)) not seen")
        }
        #expect(s.signals.withLock { $0 } == [SIGUSR2, SIGHUP, SIGUSR2])
        // Ticks come whether or not signals do (bounded wait: 30 s).
        let before = s.ticks.load(ordering: .relaxed)
        for _ in 0..<30_000 where s.ticks.load(ordering: .relaxed) < before + 2 { usleep(1000) }
        #expect(s.ticks.load(ordering: .relaxed) >= before + 2)
    }

    @Test func names() {
        #expect(SignalWatcher.watched == [SIGHUP, SIGTERM, SIGINT, SIGUSR2])
        #expect(SignalWatcher.watched.map(SignalWatcher.name) == ["SIGHUP", "SIGTERM", "SIGINT", "SIGUSR2"])
        #expect(SignalWatcher.name(SIGKILL) == "signal 9")
    }
}
