import Decoding
import Flows
import Foundation
import Sensor
import Testing

@Suite struct LabelSetTests {
    /// Writes `text` to a fresh temp file, calls `body` with its path, removes it.
    static func withCSV<T>(_ text: String, _ body: (String) throws -> T) rethrows -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fs-labels-\(getpid())-\(UUID().uuidString).csv").path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    static func error(_ text: String) -> String {
        withCSV(text) { path in
            do { _ = try LabelSet(csvPath: path); return "no error" } catch {
                return "\(error)".replacingOccurrences(of: path, with: "FILE")
            }
        }
    }

    static func record(_ src: String, _ sp: UInt16, _ dst: String, _ dp: UInt16, proto: UInt8 = 6,
                       from s: Double, to e: Double) -> FlowRecord {
        var r = FlowRecord.blank
        r.srcIP = IPAddress(src)!; r.dstIP = IPAddress(dst)!
        r.srcPort = sp; r.dstPort = dp; r.proto = proto; r.hasPorts = true
        r.startNs = Int64(s * 1e9); r.endNs = Int64(e * 1e9)
        return r
    }

    static let csv = """
        src_ip, src_port ,dst_ip,dst_port,proto,first_ts,last_ts,packets,label,scenario
        10.0.0.1,40000,10.0.0.2,80,6,100.0,110.0,12,benign,web

        10.0.0.1,40000,10.0.0.2,80,6,200.5,201.0,3,scan,nmap
        10.0.0.9,5353,224.0.0.251,5353,17,50,60,4,benign,
        2001:db8::1,0,2001:db8::2,0,1,10,11,2,dos

        """

    @Test func parsesRowsWithSpacedHeadersShortRowsAndBlankLines() throws {
        let set = try Self.withCSV(Self.csv) { try LabelSet(csvPath: $0) }
        #expect(set.rows.count == 4)
        #expect(set.rows.map(\.label) == ["benign", "scan", "benign", "dos"])
        #expect(set.rows.map(\.scenario) == ["web", "nmap", "", ""])
        #expect(set.rows[1].firstNs == 200_500_000_000 && set.rows[1].lastNs == 201_000_000_000)
        // Keys are canonical: the same pair in either order gives one key.
        #expect(set.rows[0].key == set.rows[1].key)
    }

    /// Ground-truth files from Windows tools end lines in CRLF; Swift
    /// treats "\r\n" as one Character, so stripping by Character suffix
    /// misses it (a blank line read as a row, the last header name and the
    /// last field of every row keeping "\r\n").
    @Test func crlfLineEndingsAreStripped() throws {
        let crlf = Self.csv.replacingOccurrences(of: "\n", with: "\r\n")
        let set = try Self.withCSV(crlf) { try LabelSet(csvPath: $0) }
        #expect(set.rows.map(\.label) == ["benign", "scan", "benign", "dos"])
        #expect(set.rows.map(\.scenario) == ["web", "nmap", "", ""])
        let noBlank = crlf.replacingOccurrences(of: "\r\n\r\n", with: "\r\n")
        let other = try Self.withCSV(noBlank) { try LabelSet(csvPath: $0) }
        #expect(other.rows.map(\.label) == ["benign", "scan", "benign", "dos"])
        #expect(other.rows.map(\.scenario) == ["web", "nmap", "", ""])
    }

    @Test func aRecordTakesTheRowItOverlapsMostInEitherDirection() throws {
        var set = try Self.withCSV(Self.csv) { try LabelSet(csvPath: $0) }
        // Client to server, inside the first window.
        #expect(set.match(Self.record("10.0.0.1", 40000, "10.0.0.2", 80, from: 101, to: 105))?.label == "benign")
        // Reversed endpoints, inside the second window.
        #expect(set.match(Self.record("10.0.0.2", 80, "10.0.0.1", 40000, from: 200.6, to: 200.9))?.label == "scan")
        // Within the 2 s slack after the first window; 3 s after is nothing.
        #expect(set.match(Self.record("10.0.0.1", 40000, "10.0.0.2", 80, from: 111.5, to: 111.9))?.label == "benign")
        #expect(set.match(Self.record("10.0.0.1", 40000, "10.0.0.2", 80, from: 113, to: 114)) == nil)
        set.slackNs = 0
        #expect(set.match(Self.record("10.0.0.1", 40000, "10.0.0.2", 80, from: 111.5, to: 111.9)) == nil)
        // A record spanning both windows: the first overlaps it 10 s, the second 0.5 s.
        #expect(set.match(Self.record("10.0.0.1", 40000, "10.0.0.2", 80, from: 90, to: 300))?.label == "benign")
        // Other port, other protocol: no label.
        #expect(set.match(Self.record("10.0.0.1", 40001, "10.0.0.2", 80, from: 101, to: 105)) == nil)
        #expect(set.match(Self.record("10.0.0.1", 40000, "10.0.0.2", 80, proto: 17, from: 101, to: 105)) == nil)
    }

    @Test func portlessRecordsMatchRowsWithPortZero() throws {
        let set = try Self.withCSV(Self.csv) { try LabelSet(csvPath: $0) }
        var icmp = Self.record("2001:db8::2", 7, "2001:db8::1", 9, proto: 1, from: 10.2, to: 10.4)
        icmp.hasPorts = false
        #expect(set.match(icmp)?.label == "dos")
    }

    @Test func icmpRecordsMatchRowsWithPortZeroThoughTheirKeyHoldsTypes() throws {
        // The flow key carries ICMP's type and counterpart type in its port
        // slots (as Community ID does); ground truth has no ports for ICMP.
        let set = try Self.withCSV(Self.csv) { try LabelSet(csvPath: $0) }
        let icmp = Self.record("2001:db8::2", 128, "2001:db8::1", 129, proto: 1, from: 10.2, to: 10.4)
        #expect(icmp.hasPorts && !icmp.hasTransportPorts)
        #expect(set.match(icmp)?.label == "dos")
    }

    @Test func errorsNameTheFileAndLine() {
        #expect(Self.error("src_ip,src_port,dst_ip,dst_port,proto,first_ts,label\n")
            == "FILE:1: missing column 'last_ts'")
        #expect(Self.error("src_ip,src_port,dst_ip,dst_port,proto,first_ts,last_ts,label\n10.0.0.1,1,10.0.0.2,2,6,1,2,ok\nnope,1,10.0.0.2,2,6,1,2,x\n")
            == "FILE:3: bad address")
        #expect(Self.error("src_ip,src_port,dst_ip,dst_port,proto,first_ts,last_ts,label\n10.0.0.1,1,10.0.0.2,2,tcp,1,2,x\n")
            == "FILE:2: bad proto or timestamps")
        #expect(Self.error("src_ip,src_port,dst_ip,dst_port,proto,first_ts,last_ts,label\n10.0.0.1,1,10.0.0.2,2,6,1,2,\n")
            == "FILE:2: empty label")
        #expect(Self.error("src_ip,src_port,dst_ip,dst_port,proto,first_ts,last_ts,label\n") == "FILE: no labelled flows")
        do {
            _ = try LabelSet(csvPath: "/nonexistent/labels.csv")
            Issue.record("no error")
        } catch {
            #expect(error.description == "/nonexistent/labels.csv: cannot open: No such file or directory")
        }
        // A directory opens but does not read: said as such, not as a file without rows.
        do {
            _ = try LabelSet(csvPath: "/tmp")
            Issue.record("no error")
        } catch {
            #expect(error.description == "/tmp: cannot read: Is a directory")
        }
    }
}
