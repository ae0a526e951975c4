import Alerts
import Capture
import Flows
import Foundation
import Sensor
import Testing

@Suite struct LiveSensorUnitTests {
    /// The expiry clock: the wall clock, held back to the packet time of a
    /// worker that had packets within 200 ms (the slowest such), never
    /// going backwards.
    @Test func sweepClockFollowsABusyWorkersPacketTime() {
        let s: Int64 = 1_000_000_000
        var last = Int64.min
        // No worker has seen a packet: the wall clock.
        #expect(LiveSensor.sweepClock(wall: 100 * s, workers: [(0, 0), (0, 0)], last: &last) == 100 * s)
        // Worker 1 busy 50 ms ago, 3 s behind in packet time; worker 0 idle for 2 s.
        let lagging = LiveSensor.sweepClock(wall: 101 * s, workers: [(99 * s, 98 * s), (101 * s - s / 20, 98 * s)],
                                            last: &last)
        #expect(lagging == 100 * s)  // never backwards: held at the last sweep's clock
        #expect(LiveSensor.sweepClock(wall: 104 * s, workers: [(99 * s, 98 * s), (104 * s - s / 10, 102 * s)],
                                      last: &last) == 102 * s)
        // Two busy workers: the slower one's packet time.
        #expect(LiveSensor.sweepClock(wall: 105 * s, workers: [(105 * s, 104 * s), (105 * s, 103 * s)],
                                      last: &last) == 103 * s)
        // Busy, but its last packet more than 200 ms ago: idle, the wall clock.
        #expect(LiveSensor.sweepClock(wall: 106 * s, workers: [(106 * s - s / 4, 103 * s)], last: &last) == 106 * s)
        // A packet time ahead of the wall clock does not move the clock forward.
        #expect(LiveSensor.sweepClock(wall: 107 * s, workers: [(107 * s, 200 * s)], last: &last) == 107 * s)
    }

    @Test func boundedQueueDropsAndCountsWhenFull() {
        let q = BoundedQueue<Int>(capacity: 5)
        #expect(q.push(1) && q.push(2))
        var more = [3, 4, 5, 6, 7]
        #expect(q.push(contentsOf: &more) == 2)  // only 3 fit
        #expect(more.isEmpty)
        #expect(!q.push(8))
        #expect(q.depth == 5 && q.overflow == 3)
        var out: [Int] = []
        #expect(q.popAll(into: &out, timeout: 0) == 5)
        #expect(out == [1, 2, 3, 4, 5])
        #expect(q.depth == 0 && q.overflow == 3)
        // A waiting consumer returns after its timeout with nothing.
        let t0 = Date()
        out.removeAll()
        #expect(q.popAll(into: &out, timeout: 0.1) == 0)
        #expect(Date().timeIntervalSince(t0) >= 0.09)
        q.close()
        #expect(!q.push(9) && q.overflow == 4)
    }

    @Test func boundedQueueManyProducersLoseNothingBelowCapacity() {
        let q = BoundedQueue<Int>(capacity: 100_000)
        DispatchQueue.concurrentPerform(iterations: 4) { w in
            for i in 0..<10_000 { q.push(w * 10_000 + i) }
        }
        var out: [Int] = []
        q.popAll(into: &out, timeout: 0)
        #expect(out.count == 40_000 && Set(out).count == 40_000 && q.overflow == 0)
    }

    @Test func boundedQueueWakesAWaitingConsumer() {
        let q = BoundedQueue<Int>(capacity: 4)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { q.push(42) }
        var out: [Int] = []
        let t0 = Date()
        q.popAll(into: &out, timeout: 5)
        #expect(out == [42])
        #expect(Date().timeIntervalSince(t0) < 2)
    }

    @Test func boundedQueuePollingConsumerSeesPushesWakesAndTimeouts() {
        // Events come from their own threads (the shared dispatch pool can be busy
        // for seconds when the suite runs in parallel under sanitizers). Bounds are loose:
        // each case would take the whole 10 s timeout if the event were missed.
        let q = BoundedQueue<Int>(capacity: 4)
        var out: [Int] = []
        // Nothing comes: the whole timeout passes, the polling part (20 ms) included.
        var t0 = Date()
        #expect(q.popAll(into: &out, timeout: 0.12, spin: 0.02) == 0)
        #expect(Date().timeIntervalSince(t0) >= 0.11)
        // A push while it polls (the whole wait is polling) ends the wait.
        Thread.detachNewThread { usleep(10000); q.push(7) }
        t0 = Date()
        #expect(q.popAll(into: &out, timeout: 10, spin: 10) == 1)
        #expect(out == [7] && Date().timeIntervalSince(t0) < 8)
        // A push after the poll gave up wakes the blocked consumer.
        out.removeAll()
        Thread.detachNewThread { usleep(100000); q.push(8) }
        t0 = Date()
        #expect(q.popAll(into: &out, timeout: 10, spin: 0.005) == 1)
        #expect(out == [8] && Date().timeIntervalSince(t0) < 8)
        // wake() and close() end a poll early too.
        out.removeAll()
        Thread.detachNewThread { usleep(10000); q.wake() }
        t0 = Date()
        #expect(q.popAll(into: &out, timeout: 10, spin: 10) == 0)
        #expect(Date().timeIntervalSince(t0) < 8)
        Thread.detachNewThread { usleep(10000); q.close() }
        t0 = Date()
        #expect(q.popAll(into: &out, timeout: 10, spin: 10) == 0)
        #expect(Date().timeIntervalSince(t0) < 8)
    }

    @Test func statsRecordShape() throws {
        var s = SensorStats()
        s.uptimeSeconds = 12.7
        s.kernel = CaptureStats(received: 1000, dropped: 10, ifDropped: 1)
        s.reopens = 2
        s.packets = 990
        s.decoded = 980
        s.flowsActive = 3
        s.flows.created = 7
        s.flows.ended[Int(EndReason.idleTimeout.rawValue)] = 4
        s.memcapBytes = 4096
        s.queueDepth = 1
        s.queueCapacity = 65536
        s.queueOverflow = 5
        s.recordsWritten = 6
        var j = JSONBuffer()
        s.appendRecord(timestampNs: 1_700_000_000_123_456_000, host: "sensor-1", interface: "eth1", into: &j)
        #expect(j.bytes.last == 0x0A)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any])
        #expect(obj["timestamp"] as? String == "2023-11-14T22:13:20.123456+0000")
        #expect(obj["event_type"] as? String == "stats")
        #expect(obj["host"] as? String == "sensor-1")
        #expect(obj["in_iface"] as? String == "eth1")
        let st = try #require(obj["stats"] as? [String: Any])
        #expect(Set(st.keys) == ["uptime_s", "capture", "decoder", "flow", "queue", "output"])
        #expect(st["uptime_s"] as? Int == 12)
        let cap = try #require(st["capture"] as? [String: Any])
        #expect(cap["kernel_packets"] as? Int == 1000 && cap["kernel_drops"] as? Int == 10
            && cap["kernel_ifdrops"] as? Int == 1 && cap["reopens"] as? Int == 2)
        let dec = try #require(st["decoder"] as? [String: Any])
        #expect(dec["packets"] as? Int == 990 && dec["decoded"] as? Int == 980 && dec["invalid"] as? Int == 10)
        let flow = try #require(st["flow"] as? [String: Any])
        #expect(flow["active"] as? Int == 3 && flow["created"] as? Int == 7 && flow["memcap_bytes"] as? Int == 4096)
        let ended = try #require(flow["ended"] as? [String: Int])
        #expect(ended["timeout"] == 4 && ended["shutdown"] == 0 && ended.count == EndReason.allCases.count)
        let queue = try #require(st["queue"] as? [String: Int])
        #expect(queue == ["depth": 1, "capacity": 65536, "overflow": 5])
        let output = try #require(st["output"] as? [String: Int])
        #expect(output == ["records_written": 6, "write_errors": 0, "records_pending": 0, "records_dropped": 0])
        // Key order is fixed: timestamp first, like EVE.
        #expect(String(decoding: j.bytes, as: UTF8.self).hasPrefix(#"{"timestamp":"#))
        #expect(s.summary.contains("kernel_drops 10 (0.99%)"))
    }

    @Test func systemdNotifySendsDatagramsToPathAndAbstractSockets() throws {
        for abstract in [false, true] {
            let name = "fs-notify-\(getpid())-\(abstract ? "a" : "p")"
            let path = abstract ? "@" + name : FileManager.default.temporaryDirectory.appendingPathComponent(name).path
            unlink(path)
            let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            #expect(fd >= 0)
            defer { close(fd); if !abstract { unlink(path) } }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            var bytes = Array(path.utf8)
            if abstract { bytes[0] = 0 }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
            let len = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + (abstract ? 0 : 1))
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
            #expect(rc == 0)
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))

            let n = SystemdNotify(socketPath: path, watchdogUsec: 30_000_000)
            #expect(n.watchdogInterval == 15)
            #expect(n.send("READY=1"))
            var buf = [UInt8](repeating: 0, count: 256)
            let got = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            #expect(got > 0 && String(decoding: buf[0..<max(0, got)], as: UTF8.self) == "READY=1")
        }
        #expect(!SystemdNotify(socketPath: nil).send("READY=1"))
        // A receiver that never reads must not block the sender (its queue fills, messages are dropped).
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fs-notify-full-\(getpid())").path
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd); unlink(path) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let len = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + path.utf8.count + 1)
        #expect(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } } == 0)
        let n = SystemdNotify(socketPath: path)
        let t0 = Date()
        var failures = 0
        for _ in 0..<2000 where !n.send("WATCHDOG=1") { failures += 1 }
        #expect(failures > 0)
        #expect(Date().timeIntervalSince(t0) < 5)
        #expect(SystemdNotify(socketPath: nil, watchdogUsec: 0).watchdogInterval == nil)
    }
}
