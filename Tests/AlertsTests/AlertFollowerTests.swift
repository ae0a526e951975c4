import Foundation
import Testing
@testable import Alerts
#if canImport(Glibc)
import Glibc
#endif

/// An alert line in the shape the sensor writes; `n` makes each one unique.
func alertLine(_ n: Int, severity: Int = 1, cls: String = "bruteforce", ts: String = "2026-11-22T10:00:00.123456+0000") -> String {
    #"{"timestamp":"\#(ts)","flow_id":\#(n),"event_type":"alert","src_ip":"10.0.0.1","src_port":\#(1000 + n),"dest_ip":"10.0.0.2","dest_port":22,"proto":"TCP","community_id":"1:abc=","alert":{"action":"allowed","gid":1,"signature_id":9000002,"rev":1,"signature":"FlowSentry ML: \#(cls)","category":"Attempted Administrator Privilege Gain","severity":\#(severity)},"ml":{"class":"\#(cls)","score":0.97,"threshold":0.5,"models":{"cnn":0.9,"lstm":0.95,"lof":0.2,"ocsvm":0.3},"model_version":"x"},"flow":{"pkts_toserver":3,"pkts_toclient":2}}"#
}

final class TempDir {
    let path: String
    init() {
        var template = Array("/tmp/fs-alerts-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Appends to a file through one descriptor, like the sensor's log writer.
final class Writer {
    let fd: Int32
    init(_ path: String) { fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644) }
    func write(_ s: String) { _ = s.withCString { Glibc.write(fd, $0, strlen($0)) } }
    func line(_ s: String) { write(s + "\n") }
    deinit { close(fd) }
}

/// Lines collected by a follower running on another thread.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ l: String) { lock.lock(); lines.append(l); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    var count: Int { all.count }
}

/// Runs `follower` on a thread until `expected` lines arrived or `timeout` passed.
func runFollower(_ follower: AlertFollower, expected: Int, into got: Collected, timeout: Double = 10) -> Thread {
    let t = Thread {
        let deadline = Date().addingTimeInterval(timeout)
        while got.count < expected && Date() < deadline {
            guard let line = try? follower.nextLine() else { break }
            got.append(line)
        }
    }
    t.start()
    // Safety stop so the thread can never outlive the test by much.
    Thread.detachNewThread { Thread.sleep(forTimeInterval: timeout); follower.stop() }
    return t
}

func waitFor(_ cond: () -> Bool, timeout: Double = 10) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !cond() { if Date() > deadline { return false }; usleep(5_000) }
    return true
}

@Suite struct AlertFollowerTests {
    @Test func readsWholeFileWithoutFollowing() throws {
        let dir = TempDir()
        let path = dir.path + "/alerts.json"
        let w = Writer(path)
        w.line(alertLine(1)); w.line("garbage"); w.write(alertLine(2))  // last line unterminated
        let f = try AlertFollower(path: path)
        var lines: [String] = []
        while let l = try f.nextLine() { lines.append(l) }
        #expect(lines == [alertLine(1), "garbage", alertLine(2)])
    }

    @Test func missingFileWithoutFollowNamesIt() {
        do {
            _ = try AlertFollower(path: "/nonexistent/alerts.json")
            Issue.record("opened a missing file")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/alerts.json: cannot open"))
        }
    }

    @Test func followsGrowthAndRenameRotationWithoutLossOrDuplicates() throws {
        let dir = TempDir()
        let path = dir.path + "/alerts.json"
        var w = Writer(path)
        var expected: [String] = []
        func emit(_ n: Int) { let l = alertLine(n); expected.append(l); w.line(l) }
        for n in 0..<50 { emit(n) }
        let follower = try AlertFollower(path: path, follow: true, retryInterval: 0.02)
        let got = Collected()
        let total = 50 + 30 + 10 + 40 + 20
        let thread = runFollower(follower, expected: total, into: got)
        for n in 50..<80 { emit(n); if n % 10 == 0 { usleep(5_000) } }
        #expect(waitFor { got.count >= 80 })
        // logrotate: rename away; the writer keeps writing to the old file
        // until it gets SIGHUP (here: 10 more lines, one written in two parts).
        #expect(rename(path, path + ".1") == 0)
        for n in 80..<89 { emit(n) }
        let split = alertLine(89); expected.append(split)
        w.write(String(split.prefix(40)))
        usleep(100_000)  // the follower sees the path missing meanwhile and keeps the old file
        w.write(String(split.dropFirst(40)) + "\n")
        // 'create': a new file appears; the writer reopens it.
        w = Writer(path)
        for n in 90..<130 { emit(n) }
        #expect(waitFor { got.count >= 130 })
        // A second rotation straight away (rename + create, no gap).
        #expect(rename(path, path + ".2") == 0)
        w = Writer(path)
        for n in 130..<150 { emit(n) }
        #expect(waitFor { got.count >= total })
        follower.stop()
        while thread.isExecuting { usleep(5_000) }
        #expect(got.all.count == expected.count)
        #expect(got.all == expected)
        #expect(follower.rotations == 2)
    }

    @Test func followsTruncationAndWaitsForAMissingFile() throws {
        let dir = TempDir()
        let path = dir.path + "/alerts.json"
        // Not there yet: the follower waits for it.
        let follower = try AlertFollower(path: path, follow: true, retryInterval: 0.02)
        let got = Collected()
        let thread = runFollower(follower, expected: 25, into: got)
        usleep(100_000)
        let w = Writer(path)
        for n in 0..<20 { w.line(alertLine(n)) }
        #expect(waitFor { got.count >= 20 })
        #expect(ftruncate(w.fd, 0) == 0)
        usleep(100_000)
        for n in 20..<25 { w.line(alertLine(n)) }
        #expect(waitFor { got.count >= 25 })
        follower.stop()
        while thread.isExecuting { usleep(5_000) }
        #expect(got.all == (0..<25).map { alertLine($0) })
        #expect(follower.truncations == 1)
    }
}

@Suite struct AlertSummaryTests {
    @Test func parsesTheSensorsAlertShape() {
        guard case let .alert(a) = AlertSummary.parse(alertLine(7)) else { Issue.record("not parsed"); return }
        #expect(a.severity == 1)
        #expect(a.mlClass == "bruteforce")
        #expect(a.score == 0.97)
        #expect(a.srcIP == "10.0.0.1" && a.srcPort == 1007 && a.destIP == "10.0.0.2" && a.destPort == 22)
        #expect(a.proto == "TCP")
        #expect(a.signature == "FlowSentry ML: bruteforce")
        #expect(a.time == 1_795_341_600.123456)
    }

    @Test func skipsNonJSONAndNonAlerts() {
        #expect(AlertSummary.parse("not json") == .notJSON)
        #expect(AlertSummary.parse("[1,2]") == .notJSON)
        #expect(AlertSummary.parse(#"{"event_type":"flow","src_ip":"10.0.0.1"}"#) == .notAlert)
        #expect(AlertSummary.parse(#"{"src_ip":"10.0.0.1"}"#) == .notAlert)
    }

    @Test func filters() {
        guard case let .alert(a1) = AlertSummary.parse(alertLine(1, severity: 1, cls: "bruteforce")),
              case let .alert(a3) = AlertSummary.parse(alertLine(2, severity: 3, cls: "scan", ts: "2026-11-22T12:00:00.000000+0000"))
        else { Issue.record("not parsed"); return }
        #expect(AlertFilter().matches(a1) && AlertFilter().matches(a3))
        #expect(AlertFilter(minSeverity: 2).matches(a1))
        #expect(!AlertFilter(minSeverity: 2).matches(a3))
        #expect(AlertFilter(classes: ["scan"]).matches(a3) && !AlertFilter(classes: ["scan"]).matches(a1))
        let since = EveTimestamp.parse("2026-11-22T11:00:00Z")!
        #expect(!AlertFilter(since: since).matches(a1) && AlertFilter(since: since).matches(a3))
    }

    @Test func filtersByClassesAddressAndPort() {
        let v6 = alertLine(3).replacingOccurrences(of: "\"10.0.0.2\"", with: "\"2001:db8::7\"")
        guard case let .alert(a1) = AlertSummary.parse(alertLine(1, cls: "bruteforce")),  // 10.0.0.1:1001 -> 10.0.0.2:22
              case let .alert(a2) = AlertSummary.parse(alertLine(2, cls: "scan")),
              case let .alert(a6) = AlertSummary.parse(v6)
        else { Issue.record("not parsed"); return }
        // Several classes: any of them; letters in either case.
        let two = AlertFilter(classes: ["SCAN", "BruteForce"])
        #expect(two.matches(a1) && two.matches(a2))
        #expect(!AlertFilter(classes: ["dos", "c2"]).matches(a1))
        // Addresses: source or destination, a block matching any address in it.
        #expect(AlertFilter(addresses: [CIDR("10.0.0.2")!]).matches(a1))
        #expect(AlertFilter(addresses: [CIDR("10.0.0.1")!]).matches(a1))
        #expect(!AlertFilter(addresses: [CIDR("10.0.0.3")!]).matches(a1))
        #expect(AlertFilter(addresses: [CIDR("10.0.0.0/30")!]).matches(a1))
        #expect(!AlertFilter(addresses: [CIDR("10.0.1.0/24")!]).matches(a1))
        #expect(AlertFilter(addresses: [CIDR("192.0.2.1")!, CIDR("2001:db8::/32")!]).matches(a6))
        #expect(!AlertFilter(addresses: [CIDR("2001:db8::/32")!]).matches(a1))
        // Ports: source or destination.
        #expect(AlertFilter(ports: [22]).matches(a1) && AlertFilter(ports: [1001]).matches(a1))
        #expect(!AlertFilter(ports: [1002]).matches(a1) && AlertFilter(ports: [80, 1002]).matches(a2))
        // Different criteria all hold.
        #expect(!AlertFilter(classes: ["scan"], ports: [1001]).matches(a1))
    }

    /// `-n N` after opening at the end: the complete lines before the end,
    /// last first, read backward across block boundaries; a line still being
    /// written is not among them and is read when it is finished.
    @Test func scanBackwardFromTheEnd() throws {
        let dir = TempDir()
        let path = dir.path + "/alerts.json"
        let w = Writer(path)
        // Long lines, so the 64 KiB blocks split some of them.
        let lines = (0..<400).map { "\($0) " + String(repeating: "x", count: 300 + $0 % 97) }
        for l in lines { w.line(l) }
        w.write("partial")
        let f = try AlertFollower(path: path, fromEnd: true)
        var back: [String] = []
        try f.scanBackward { back.append($0); return true }
        #expect(back == Array(lines.reversed()))
        var firstThree: [String] = []
        try f.scanBackward { firstThree.append($0); return firstThree.count < 3 }
        #expect(firstThree == Array(lines.suffix(3).reversed()))
        // Reading on starts with the line that was still open.
        #expect(try f.nextLine() == "partial")
        #expect(try f.nextLine() == nil)
        // An empty file has nothing before its end.
        let empty = dir.path + "/empty.json"
        _ = Writer(empty)
        var none = 0
        try AlertFollower(path: empty, fromEnd: true).scanBackward { _ in none += 1; return true }
        #expect(none == 0)
    }

    @Test func followingAMissingFileWaitsAndSaysSo() throws {
        let dir = TempDir()
        let path = dir.path + "/later.json"
        #expect(throws: AlertFollowerError.self) { _ = try AlertFollower(path: path) }
        let f = try AlertFollower(path: path, follow: true, fromEnd: true, retryInterval: 0.01)
        #expect(f.isWaiting)
        let appeared = Collected()
        f.onAppear = { appeared.append($0) }
        let got = Collected()
        let t = runFollower(f, expected: 1, into: got)
        let w = Writer(path)
        w.line(alertLine(1))
        #expect(waitFor { got.count == 1 })
        f.stop()
        while t.isExecuting { usleep(1000) }
        // A file that appears is read from its start, whatever fromEnd said.
        #expect(got.all == [alertLine(1)] && appeared.all == [path] && !f.isWaiting)
        // A file that exists but cannot be read is an error, not a wait.
        #expect(throws: AlertFollowerError.self) { _ = try AlertFollower(path: path + "/below-a-file", follow: true) }
        #expect(throws: AlertFollowerError.cannotOpen(path: dir.path, reason: "Is a directory")) {
            _ = try AlertFollower(path: dir.path, follow: true)
        }
    }

    @Test func readableLineAndColour() {
        guard case let .alert(a) = AlertSummary.parse(alertLine(1)) else { Issue.record("not parsed"); return }
        let plain = AlertLineFormatter.format(a, color: false)
        #expect(plain.hasPrefix("2026-11-22T10:00:00.123456+0000  sev 1  bruteforce"))
        #expect(plain.contains("0.97  10.0.0.1:1001 -> 10.0.0.2:22 TCP  FlowSentry ML: bruteforce"))
        #expect(!plain.contains("\u{1B}"))
        let coloured = AlertLineFormatter.format(a, color: true)
        #expect(coloured.hasPrefix("\u{1B}[1;31m") && coloured.hasSuffix("\u{1B}[0m"))
        #expect(!AlertLineFormatter.shouldColor(fd: STDOUT_FILENO, environment: ["NO_COLOR": "1"]))
        let pipe = Pipe()
        #expect(!AlertLineFormatter.shouldColor(fd: pipe.fileHandleForWriting.fileDescriptor, environment: [:]))
    }

    @Test func aggregatedAndClosingAlertsSayHowManyFlowsTheyStandFor() {
        let base = #"{"timestamp":"2026-11-22T10:00:00.000000+0000","event_type":"alert","src_ip":"10.0.0.9","src_port":40000,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","alert":{"severity":2,"signature":"FlowSentry ML: dos"},"ml":{"class":"dos","score":0.99"#
        guard case let .alert(plain) = AlertSummary.parse(base + "}}"),
              case let .alert(folded) = AlertSummary.parse(base + #","aggregated_flows":41}}"#),
              case let .alert(closing) = AlertSummary.parse(base + #","aggregated_flows":7,"aggregate":"closing","closing_reason":"end"}}"#)
        else { Issue.record("not parsed"); return }
        #expect(!AlertLineFormatter.format(plain, color: false).contains("folded"))
        #expect(AlertLineFormatter.format(folded, color: false).hasSuffix("FlowSentry ML: dos  +41 flows folded"))
        #expect(AlertLineFormatter.format(closing, color: false).hasSuffix("+7 flows folded  (closing: end)"))
    }

    @Test func timestamps() {
        #expect(EveTimestamp.parse("1970-01-01T00:00:00Z") == 0)
        #expect(EveTimestamp.parse("1970-01-01T01:00:00+0100") == 0)
        #expect(EveTimestamp.parse("1970-01-01T00:00:00-01:30") == 5400)
        #expect(EveTimestamp.parse("2000-03-01") == 951_868_800)
        #expect(EveTimestamp.parse("2026-11-22T10:00") == 1_795_341_600)
        #expect(EveTimestamp.parse("yesterday") == nil)
        #expect(EveTimestamp.parse("2026-13-01T00:00:00Z") == nil)
        #expect(EveTimestamp.parseSince("-1h", now: 10_000) == 6_400)
        #expect(EveTimestamp.parseSince("30m", now: 10_000) == 8_200)
        #expect(EveTimestamp.parseSince("-2d", now: 200_000) == 27_200)
        #expect(EveTimestamp.parseSince("1970-01-01T00:00:10Z", now: 0) == 10)
    }
}

@Suite struct AlertAppLayerTests {
    static let tlsLine = #"{"timestamp":"2026-12-06T10:00:00.000000+0000","event_type":"alert","src_ip":"10.0.0.1","src_port":40000,"dest_ip":"10.0.0.2","dest_port":443,"proto":"TCP","app_proto":"tls","alert":{"severity":2,"signature":"FlowSentry ML c2"},"tls":{"sni":"Beacon.Example.ORG","ja3":{"hash":"abc","string":"771,1-2,,,"},"client_alpns":["h2","http/1.1"]}}"#
    static let dnsLine = #"{"timestamp":"2026-12-06T10:00:00.000000+0000","event_type":"alert","src_ip":"10.0.0.1","dest_ip":"10.0.0.53","proto":"UDP","app_proto":"dns","alert":{"severity":1,"signature":"x"},"dns":{"rcode":"NXDOMAIN","queries":[{"rrname":"a1b2.tunnel.xyz","rrtype":"TXT"}]}}"#

    @Test func lineShowsTheApplicationDetail() throws {
        guard case let .alert(t) = AlertSummary.parse(Self.tlsLine), case let .alert(d) = AlertSummary.parse(Self.dnsLine)
        else { Issue.record("not parsed"); return }
        #expect(t.appProto == "tls" && t.appDetail == "sni Beacon.Example.ORG")
        #expect(AlertLineFormatter.format(t, color: false).hasSuffix("tls: sni Beacon.Example.ORG"))
        #expect(d.appDetail == "query a1b2.tunnel.xyz TXT NXDOMAIN")
        let ssh = #"{"event_type":"alert","src_ip":"a","dest_ip":"b","proto":"TCP","app_proto":"ssh","alert":{"severity":1,"signature":"x"},"ssh":{"client":{"proto_version":"2.0","software_version":"libssh_0.10.6"}}}"#
        guard case let .alert(s) = AlertSummary.parse(ssh) else { Issue.record("not parsed"); return }
        #expect(AlertLineFormatter.format(s, color: false).hasSuffix("ssh: client libssh_0.10.6"))
    }

    @Test func matchFiltersOnAnyFieldByGlob() throws {
        guard case let .alert(t) = AlertSummary.parse(Self.tlsLine), case let .alert(d) = AlertSummary.parse(Self.dnsLine)
        else { Issue.record("not parsed"); return }
        func keep(_ m: String...) -> (Bool, Bool) {
            let f = AlertFilter(fieldMatches: m.compactMap(FieldMatch.init))
            return (f.matches(t), f.matches(d))
        }
        #expect(keep("tls.sni=*.example.org") == (true, false))          // letters in either case
        #expect(keep("tls.sni='*.example.org'") == (true, false))        // shell quotes kept by the caller
        #expect(keep("tls.client_alpns=h2") == (true, false))            // any array element
        #expect(keep("dns.queries.rrname=*.xyz") == (false, true))
        #expect(keep("dns.queries.rrname=*.xyz", "dns.rcode=NOERROR") == (false, false))  // all must hold
        #expect(keep("alert.severity=[12]") == (true, true))              // numbers as JSON writes them
        #expect(keep("tls.sni=other.org") == (false, false))
        #expect(FieldMatch("no-equals") == nil && FieldMatch("=x") == nil)
    }
}
