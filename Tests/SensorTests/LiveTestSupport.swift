import Decoding
import Locking
import NetnsTestSupport
import Foundation
import Sensor
import Synchronization
import Testing

// Shared by the live tests (LiveSensor, LiveSensorBinary, LiveReplay,
// LiveClosingAlert, Metrics) and LiveSensorOutputsTests.

/// The sensor tests' lab: a `NetnsLab` (Tests/NetnsTestSupport) on
/// 198.18.(120 + tag).0/24 and a scratch directory for the sensor's files.
/// The namespace writes raw Ethernet frames (both directions of each flow,
/// to made-up MACs) out of its end, so they reach `hostIf` as
/// PACKET_OTHERHOST and only packet sockets see them.
struct SensorLab {
    static var ip: String? { NetnsLab.ip }
    static var python: String? { NetnsLab.python }
    static var available: Bool { NetnsLab.available }
    static var skipReason: Comment { Comment(rawValue: NetnsLab.skipReason) }
    typealias CommandFailed = NetnsLab.CommandFailed

    let net: NetnsLab
    let dir: URL
    var ns: String { net.ns }
    var hostIf: String { net.hostIf }
    var nsIf: String { net.nsIf }
    var a: String { net.nsAddr }    // "client" address (namespace side)
    var b: String { net.peerAddr }  // "server" address (made up)

    init(tag: Int) throws {
        net = try NetnsLab(prefix: "fss", tag: tag, subnet: 120 + tag, neighbour: false)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-live-\(getpid())-\(net.ns.suffix(1))")
        try? FileManager.default.removeItem(at: dir)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            net.destroy()
            throw error
        }
    }

    /// Creates the veth pair again, after a test deleted it.
    func addLink() throws { try net.addLink() }

    func destroy() {
        net.destroy()
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    @discardableResult
    static func run(_ args: [String]) throws -> String { try NetnsLab.run(args) }

    @discardableResult
    static func exec(_ path: String, _ args: [String], timeout: Double = 10) throws -> String {
        try NetnsLab.exec(path, args, timeout: timeout)
    }

    /// Sends `flows` (see `trafficScript`) from the namespace and waits (bounded).
    func send(_ flows: [TestFlow], gap: Double = 0, timeout: Double = 20) throws {
        try net.python(trafficScript, [nsIf, a, b, TestFlow.spec(flows), String(gap)], timeout: timeout)
    }

    /// Starts sending in the background; the caller waits on the process.
    func sendInBackground(_ flows: [TestFlow], gap: Double) throws -> Process {
        try net.start(Self.python!, ["-c", trafficScript, nsIf, a, b, TestFlow.spec(flows), String(gap)])
    }
}

/// One test flow: UDP (`rounds` datagrams each way, or one way) or TCP
/// (handshake, `rounds` data segments each way, optionally FIN both ways).
struct TestFlow {
    var tcp = false
    var sport: Int
    var dport: Int
    var rounds = 1
    var bothWays = true
    var fin = false

    var packetsToServer: Int { tcp ? 2 + rounds + (fin ? 2 : 0) : rounds }
    var packetsToClient: Int { tcp ? 1 + rounds + (fin ? 1 : 0) : (bothWays ? rounds : 0) }

    static func spec(_ flows: [TestFlow]) -> String {
        flows.map { "\($0.tcp ? "t" : "u"),\($0.sport),\($0.dport),\($0.rounds),\($0.bothWays ? 1 : 0),\($0.fin ? 1 : 0)" }
            .joined(separator: ";")
    }
}

private let trafficScript = """
import socket, struct, sys, time
ifname, a, b, spec, gap = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
def csum(h):
    if len(h) % 2: h += b"\\0"
    t = sum(struct.unpack("!%dH" % (len(h) // 2), h))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return (~t) & 0xffff
def send(src, dst, proto, l4):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    mac = (bytes.fromhex("02005e100001") + bytes.fromhex("02005e100002")) if src == a else (bytes.fromhex("02005e100002") + bytes.fromhex("02005e100001"))
    s.send(mac + b"\\x08\\x00" + ip + l4)
def udp(src, dst, sp, dp, payload):
    send(src, dst, 17, struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload)
def tcp(src, dst, sp, dp, seq, ack, flags, payload=b""):
    send(src, dst, 6, struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload)
SYN, ACK, PSH, FIN = 2, 16, 8, 1
for item in spec.split(";"):
    kind, sp, dp, rounds, both, fin = item.split(",")
    sp, dp, rounds, both, fin = int(sp), int(dp), int(rounds), both == "1", fin == "1"
    if kind == "u":
        for r in range(rounds):
            udp(a, b, sp, dp, b"FSQ" + struct.pack("!I", r))
            if both: udp(b, a, dp, sp, b"FSR" + struct.pack("!I", r))
    else:
        cs, ss = 1000, 5000
        tcp(a, b, sp, dp, cs, 0, SYN); tcp(b, a, dp, sp, ss, cs + 1, SYN | ACK); tcp(a, b, sp, dp, cs + 1, ss + 1, ACK)
        cs += 1; ss += 1
        for r in range(rounds):
            tcp(a, b, sp, dp, cs, ss, PSH | ACK, b"hello"); cs += 5
            tcp(b, a, dp, sp, ss, cs, PSH | ACK, b"world!"); ss += 6
        if fin:
            tcp(a, b, sp, dp, cs, ss, FIN | ACK); tcp(b, a, dp, sp, ss, cs + 1, FIN | ACK); tcp(a, b, sp, dp, cs + 1, ss + 1, ACK)
    if gap > 0: time.sleep(gap)
"""

/// A flow record as the tests read it back.
struct ReadRecord {
    var flowID: UInt64
    var srcPort: Int
    var dstPort: Int
    var proto: String
    var toServer: Int
    var toClient: Int
    var reason: String
    var host: String?
    var iface: String?

    static func read(_ path: String) -> [ReadRecord] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  o["event_type"] as? String == "flow", let f = o["flow"] as? [String: Any] else { return nil }
            return ReadRecord(flowID: (o["flow_id"] as? NSNumber)?.uint64Value ?? 0,
                              srcPort: o["src_port"] as? Int ?? -1, dstPort: o["dest_port"] as? Int ?? -1,
                              proto: o["proto"] as? String ?? "", toServer: f["pkts_toserver"] as? Int ?? -1,
                              toClient: f["pkts_toclient"] as? Int ?? -1, reason: f["reason"] as? String ?? "",
                              host: o["host"] as? String, iface: o["in_iface"] as? String)
        }
    }
}

final class LogLines: Sendable {
    let lines = FSMutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var sink: @Sendable (String) -> Void { { [self] s in lines.withLock { $0.append(s) } } }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
@discardableResult
func waitUntil(_ timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

final class WaitResult: Sendable {
    let stats = FSMutex<SensorStats?>(nil)
}

/// `stop()` then `wait()` on another thread, bounded: nil if it did not finish.
func stopAndWait(_ sensor: LiveSensor, timeout: Double = 10) -> SensorStats? {
    sensor.stop()
    let result = WaitResult()
    Thread.detachNewThread { let s = sensor.wait(); result.stats.withLock { $0 = s } }
    waitUntil(timeout) { result.stats.withLock { $0 } != nil }
    return result.stats.withLock { $0 }
}
