import Foundation
import Testing

/// The built `flowsentry` binary, if there is one (swift build --build-tests builds it):
/// $FLOWSENTRY_BIN (scripts/sanitize.sh points it at the sanitized build), else the
/// newer of .build/debug and .build/release.
let flowsentryBinary: String? = {
    if let b = ProcessInfo.processInfo.environment["FLOWSENTRY_BIN"], FileManager.default.isExecutableFile(atPath: b) {
        return b
    }
    let root = Repo.root.appendingPathComponent(".build")
    let candidates = ["debug/flowsentry", "release/flowsentry"].map { root.appendingPathComponent($0).path }
    return candidates.filter { FileManager.default.isExecutableFile(atPath: $0) }
        .max { (mtime($0) ?? 0) < (mtime($1) ?? 0) }
}()

private func mtime(_ path: String) -> Double? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)?.timeIntervalSince1970
}

/// A bound AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET.
private final class NotifyListener {
    let path: String
    let fd: Int32
    var messages: [String] = []

    init(path: String) throws {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let len = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + 1)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard rc == 0 else { throw SensorLab.CommandFailed(command: "bind \(path)", status: errno, output: "") }
        var tv = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd); unlink(path) }

    /// Reads whatever arrived (each read waits at most 50 ms).
    func poll() {
        var buf = [UInt8](repeating: 0, count: 512)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            messages.append(String(decoding: buf[0..<n], as: UTF8.self))
        }
    }

    func has(_ prefix: String) -> Bool { messages.contains { $0.hasPrefix(prefix) } }
}

@Suite(.serialized, .enabled(if: SensorLab.available && flowsentryBinary != nil,
                              "needs root, ip, python3 and the built flowsentry binary (swift build)"))
struct LiveSensorBinaryTests {
    /// `flowsentry run` as systemd would run it: READY=1 after capture starts,
    /// WATCHDOG=1 pings, SIGHUP after a rename moves writing to the new file
    /// with nothing lost or doubled, SIGUSR2 reloads (RELOADING=1/READY=1),
    /// SIGTERM writes open flows with reason shutdown and exits 0 (STOPPING=1).
    @Test func signalsRotationAndNotifyWithTheRealBinary() throws {
        let lab = try SensorLab(tag: 5)
        defer { lab.destroy() }
        let notify = try NotifyListener(path: lab.path("notify.sock"))
        // A copy of the bundled model, so the test can break it before a reload.
        let modelCopy = lab.path("model.fsb")
        let good = try Data(contentsOf: Repo.root.appendingPathComponent("rules/flowsentry.fsb"))
        try good.write(to: URL(fileURLWithPath: modelCopy))
        // Indicators: the lab's server address, reloaded with the model (docs/indicators.md).
        let feed = lab.path("feed.intel")
        func writeFeed(_ source: String, _ line: String? = nil) throws {
            try ("#fields\tindicator\tindicator_type\tmeta.source\n" + (line ?? "\(lab.b)\tIntel::ADDR\t\(source)\n"))
                .write(toFile: feed, atomically: true, encoding: .utf8)
        }
        try writeFeed("lab-feed-1")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: flowsentryBinary!)
        p.arguments = ["run", "--interface", lab.hostIf, "--flows", lab.path("flows.json"), "--stats", lab.path("stats.json"),
                       "--idle-timeout", "1", "--stats-interval", "1", "--filter", "ip", "--max-flows", "4096",
                       "--buffer-mb", "4", "--sensor-name", "bin-test", "--model", modelCopy,
                       "--alerts", lab.path("alerts.json"), "--indicators", feed]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notify.path
        env["WATCHDOG_USEC"] = "1000000"
        env.removeValue(forKey: "WATCHDOG_PID")
        p.environment = env
        let errPipe = Pipe()
        p.standardError = errPipe
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }

        #expect(waitUntil(10) { notify.poll(); return notify.has("READY=1") }, "no READY=1: \(notify.messages)")
        #expect(waitUntil(3) { notify.poll(); return notify.has("WATCHDOG=1") }, "no WATCHDOG=1: \(notify.messages)")

        let flows = (0..<100).map { TestFlow(sport: 46000 + $0, dport: 7100, rounds: 2) }
        let sender = try lab.sendInBackground(flows, gap: 0.025)
        defer { if sender.isRunning { sender.terminate() } }
        let live = lab.path("flows.json"), rotated = lab.path("flows.json.1")
        #expect(waitUntil(6) { ReadRecord.read(live).count >= 10 })
        #expect(rename(live, rotated) == 0)
        kill(p.processIdentifier, SIGHUP)
        #expect(waitUntil(15) { !sender.isRunning })

        // A corrupt bundle is rejected on reload and the running one stays; a good one loads.
        try good.prefix(good.count / 3).write(to: URL(fileURLWithPath: modelCopy))
        try writeFeed("", "\(lab.b)\tIntel::ADDR\tlab-feed-2\nnot-an-address\tIntel::ADDR\tlab-feed-2\n")
        notify.messages.removeAll()
        kill(p.processIdentifier, SIGUSR2)
        #expect(waitUntil(3) { notify.poll(); return notify.has("RELOADING=1") && notify.has("READY=1") })
        try good.write(to: URL(fileURLWithPath: modelCopy))
        try writeFeed("lab-feed-2")
        usleep(300_000)
        notify.messages.removeAll()
        kill(p.processIdentifier, SIGUSR2)
        #expect(waitUntil(3) { notify.poll(); return notify.has("RELOADING=1") && notify.has("READY=1") })

        // Open flows at SIGTERM end with reason shutdown.
        let last = (0..<3).map { TestFlow(sport: 46500 + $0, dport: 7200, rounds: 1) }
        #expect(waitUntil(5) { ReadRecord.read(live).count + ReadRecord.read(rotated).count >= flows.count })
        try lab.send(last)
        usleep(100_000)
        kill(p.processIdentifier, SIGTERM)
        let exited = waitUntil(12) { notify.poll(); return !p.isRunning }
        #expect(exited, "did not exit within 12 s of SIGTERM")
        guard exited else { return }
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        notify.poll()
        #expect(notify.has("STOPPING=1"))

        let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("reopened log files"), "\(stderr)")
        #expect(stderr.contains("reload requested"))
        #expect(stderr.contains("reload rejected, keeping flowsentry-ml"), "\(stderr)")
        #expect(stderr.contains("reloaded flowsentry-ml"), "\(stderr)")
        #expect(stderr.contains("indicator reload rejected, keeping 1 indicators"), "\(stderr)")
        #expect(stderr.contains("\(feed):3: 'not-an-address' is not an IPv4 or IPv6 address"), "\(stderr)")
        #expect(stderr.contains("reloaded indicators \(feed): 1 (1 ip) from 1 source"), "\(stderr)")
        // Every flow to the listed server has its indicator alert; the flows
        // that began after the good reload, under the new file's source.
        let indicatorAlerts = (try? String(contentsOfFile: lab.path("alerts.json"), encoding: .utf8))?
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["indicator"] != nil } ?? []
        let sourceByPort = Dictionary(indicatorAlerts.map { a in
            ((a["src_port"] as? Int) ?? 0, ((a["indicator"] as? [String: Any])?["source"] as? String) ?? "")
        }, uniquingKeysWith: { first, _ in first })
        #expect(Set(sourceByPort.keys) == Set((flows + last).map(\.sport)), "\(sourceByPort.count) indicator alerts")
        #expect(last.allSatisfy { sourceByPort[$0.sport] == "lab-feed-2" }, "\(sourceByPort)")
        #expect(Set(sourceByPort.values).isSubset(of: ["lab-feed-1", "lab-feed-2"]))
        #expect(stderr.contains("kernel_drops 0 (0.00%)"))

        let before = ReadRecord.read(rotated), after = ReadRecord.read(live)
        #expect(!before.isEmpty && !after.isEmpty, "\(before.count) before, \(after.count) after SIGHUP")
        let all = before + after
        #expect(all.count == flows.count + last.count)
        #expect(Set(all.map(\.flowID)).count == all.count, "duplicated records")
        #expect(Set(all.map(\.srcPort)) == Set((flows + last).map(\.sport)), "lost records")
        #expect(all.filter { $0.reason == "shutdown" }.map(\.srcPort).sorted() == last.map(\.sport))
        #expect(all.allSatisfy { $0.host == "bin-test" })
    }
}
