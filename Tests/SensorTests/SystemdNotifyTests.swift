import Foundation
import Sensor
import Testing

@Suite struct SystemdNotifyTests {
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

extension SystemdNotifyTests {
    @Test func disabledUnreachableAndOverlongSocketsReportFalse() {
        #expect(!SystemdNotify(socketPath: "").enabled)
        #expect(!SystemdNotify(socketPath: "").send("READY=1"))
        // Nobody bound here: the send fails, without blocking or throwing.
        let nobody = FileManager.default.temporaryDirectory.appendingPathComponent("fs-notify-none-\(getpid())").path
        unlink(nobody)
        let n = SystemdNotify(socketPath: nobody)
        #expect(n.enabled && !n.send("READY=1"))
        // sun_path holds 108 bytes including the terminator.
        #expect(!SystemdNotify(socketPath: "/tmp/" + String(repeating: "x", count: 120)).send("READY=1"))
        #expect(!SystemdNotify(socketPath: "@" + String(repeating: "x", count: 120)).send("READY=1"))
    }

    @Test func watchdogIntervalIsHalfTheTimeout() {
        #expect(SystemdNotify(socketPath: "/run/notify", watchdogUsec: 1_000_000).watchdogInterval == 0.5)
        #expect(SystemdNotify(socketPath: "/run/notify", watchdogUsec: 3).watchdogInterval == 1.5e-6)
        #expect(SystemdNotify(socketPath: "/run/notify").watchdogInterval == nil)
    }

    /// Every message arrives as its own datagram, in order, byte for byte.
    @Test func eachStateIsOneDatagram() throws {
        let name = "@fs-notify-seq-\(getpid())"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        bytes[0] = 0
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let len = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count)
        try #require(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } } == 0)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let n = SystemdNotify(socketPath: name)
        let states = ["READY=1", "STATUS=capturing on eth1\nMAINPID=\(getpid())", "WATCHDOG=1", "STOPPING=1"]
        for s in states { #expect(n.send(s)) }
        for s in states {
            var buf = [UInt8](repeating: 0, count: 512)
            let got = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            #expect(got == s.utf8.count && String(decoding: buf[0..<max(0, got)], as: UTF8.self) == s)
        }
    }
}
