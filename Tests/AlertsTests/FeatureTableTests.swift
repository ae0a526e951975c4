import Foundation
import Testing
@testable import Alerts
@testable import Decoding
import Features
import Flows

@Suite struct FeatureTableTests {
    @Test func columnsIdentityThenSchemaThenSequence() {
        let c = FeatureTableFormatter(format: .csv).columns
        #expect(Array(c.prefix(12)) == ["flow_id", "pcap_filename", "start_s", "end_s", "src_ip", "src_port",
                                        "dest_ip", "dest_port", "proto", "vlan", "community_id", "reason"])
        #expect(Array(c[12..<(12 + Feature.count)]) == Feature.schema)
        #expect(c.count == 12 + Feature.count + 5 * PacketSequence.length)
        #expect(c[12 + Feature.count] == "seq01_dir" && c.last == "seq\(PacketSequence.length)_tcp_flags")
        #expect(c.contains("seq09_iat_s") && c.contains("seq10_ip_len"))
        #expect(Set(c).count == c.count)
        #expect(FeatureTableFormatter(format: .csv, includeSequence: false).columns.count == 12 + Feature.count)
        // JSON lines have no header line; CSV's ends in a newline.
        #expect(FeatureTableFormatter(format: .jsonl).header().isEmpty)
        let h = String(decoding: FeatureTableFormatter(format: .csv).header(), as: UTF8.self)
        #expect(h.hasPrefix("flow_id,pcap_filename,start_s,") && h.hasSuffix(",seq32_tcp_flags\n"))
    }

    /// RFC 4180 fields: quoted when they hold a comma, quote, CR or LF; quotes doubled.
    func csvFields(_ line: String) -> [String] {
        var out: [String] = [], cur = "", quoted = false
        var it = Array(line).makeIterator(); var pending: Character? = nil
        while let ch = pending ?? it.next() {
            pending = nil
            if quoted {
                if ch == "\"" {
                    if let n = it.next() { if n == "\"" { cur.append("\"") } else { quoted = false; pending = n } }
                    else { quoted = false }
                } else { cur.append(ch) }
            } else if ch == "\"" { quoted = true }
            else if ch == "," { out.append(cur); cur = "" }
            else { cur.append(ch) }
        }
        out.append(cur)
        return out
    }

    @Test func csvRowValuesAndQuoting() {
        var f = FeatureVector()
        f[.fwd_pkts] = 5; f[.duration_s] = 2.2
        var seq = PacketSequence()
        seq.append(SequenceEntry(direction: 1, tcpFlags: 2, ipLength: 60, payloadLength: 0, iat: 0))
        let r = testRecord(vlanKey: (11, 21, 0), features: f, sequence: seq)
        let fmt = FeatureTableFormatter(format: .csv)
        var j = JSONBuffer(reserve: 8192)
        fmt.append(r, pcapFilename: #"a,b "c".pcap"#, into: &j)
        let text = String(decoding: j.bytes, as: UTF8.self)
        #expect(text.hasSuffix("\n") && text.filter { $0 == "\n" }.count == 1)
        let v = csvFields(String(text.dropLast()))
        let cols = fmt.columns
        #expect(v.count == cols.count)
        let row = Dictionary(uniqueKeysWithValues: zip(cols, v))
        #expect(row["flow_id"] == "77" && row["pcap_filename"] == #"a,b "c".pcap"#)
        #expect(text.contains(#","a,b ""c"".pcap","#))
        #expect(row["start_s"] == "1700000000.9" && row["end_s"] == "1700000003.1")
        #expect(row["src_ip"] == "192.0.2.7" && row["src_port"] == "40000" && row["dest_port"] == "443")
        #expect(row["proto"] == "6" && row["vlan"] == "10.20" && row["reason"] == "tcp_fin")
        #expect(row["community_id"] == "1:Dp7nglJCFv3kuDE9u+Qr/3ZtgS0=")
        #expect(row["fwd_pkts"].flatMap(Double.init) == 5 && row["duration_s"].flatMap(Double.init) == 2.2)
        #expect(row["seq01_dir"] == "1" && row["seq01_ip_len"] == "60" && row["seq01_tcp_flags"] == "2")
        // Past the flow's packets the sequence is zero-padded.
        #expect(row["seq02_dir"] == "0" && row["seq32_ip_len"] == "0")
    }

    @Test func csvPortlessFlowHasEmptyPortCells() {
        let r = testRecord(sport: 0, dport: 0, proto: 47, hasPorts: false)
        var j = JSONBuffer(reserve: 8192)
        let fmt = FeatureTableFormatter(format: .csv, includeSequence: false)
        fmt.append(r, pcapFilename: "x.pcap", into: &j)
        let v = csvFields(String(decoding: j.bytes.dropLast(), as: UTF8.self))
        let row = Dictionary(uniqueKeysWithValues: zip(fmt.columns, v))
        #expect(row["src_port"] == "" && row["dest_port"] == "" && row["vlan"] == "")
        #expect(v.count == fmt.columns.count)
    }

    @Test func jsonLinesRowHasTheSameColumns() throws {
        var f = FeatureVector()
        f[.fwd_pkts] = 5
        let fmt = FeatureTableFormatter(format: .jsonl)
        var j = JSONBuffer(reserve: 16384)
        fmt.append(testRecord(sport: 0, dport: 0, proto: 47, hasPorts: false, features: f),
                   pcapFilename: "x.pcap", into: &j)
        let o = try parseLine(j.bytes)
        #expect(Set(o.keys) == Set(fmt.columns))
        #expect(o["flow_id"] as? Int == 77 && o["pcap_filename"] as? String == "x.pcap")
        #expect((o["start_s"] as? NSNumber)?.doubleValue == 1_700_000_000.9)
        #expect(o["src_port"] is NSNull && o["dest_port"] is NSNull)
        #expect((o["fwd_pkts"] as? NSNumber)?.doubleValue == 5 && o["vlan"] as? String == "")
        #expect((o["seq01_dir"] as? NSNumber)?.doubleValue == 0)
    }
}
