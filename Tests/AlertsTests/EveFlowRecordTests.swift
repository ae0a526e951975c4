import Foundation
import Testing
@testable import Alerts
@testable import Decoding
import Features
import Flows

@Suite struct EveFlowRecordTests {
    func line(_ r: FlowRecord, context: EveContext = EveContext(), alerted: Bool = false,
              verdict: ((inout JSONBuffer) -> Void)? = nil) throws -> [String: Any] {
        var j = JSONBuffer(reserve: 4096)
        EveFlowFormatter(context: context).append(r, verdict: verdict, alerted: alerted, into: &j)
        return try parseLine(j.bytes)
    }

    @Test func tcpFlowHeaderSummaryAndFlags() throws {
        // To server SYN ACK PSH FIN (0x1b), to client SYN ACK RST (0x16).
        let o = try line(testRecord(flags: (0x1b, 0x16)))
        #expect(o["event_type"] as? String == "flow")
        #expect(o["timestamp"] as? String == "2023-11-14T22:13:23.100000+0000")  // the flow's end
        #expect((o["flow_id"] as? NSNumber)?.uint64Value == 77)
        #expect(o["src_ip"] as? String == "192.0.2.7" && (o["src_port"] as? Int) == 40000)
        #expect(o["dest_ip"] as? String == "198.51.100.9" && (o["dest_port"] as? Int) == 443)
        #expect(o["proto"] as? String == "TCP")
        // Community ID v1 (seed 0), computed with Python's hashlib per the spec.
        #expect(o["community_id"] as? String == "1:Dp7nglJCFv3kuDE9u+Qr/3ZtgS0=")
        for k in ["vlan", "tunnel", "pcap_filename", "host", "in_iface", "icmp_type"] { #expect(o[k] == nil, "\(k)") }
        let flow = try #require(o["flow"] as? [String: Any])
        #expect(flow["pkts_toserver"] as? Int == 5 && flow["pkts_toclient"] as? Int == 4)
        #expect(flow["bytes_toserver"] as? Int == 420 && flow["bytes_toclient"] as? Int == 3000)
        #expect(flow["start"] as? String == "2023-11-14T22:13:20.900000+0000")
        #expect(flow["end"] as? String == "2023-11-14T22:13:23.100000+0000")
        // Suricata's age: whole seconds of end minus whole seconds of start (…23 − …20).
        #expect(flow["age"] as? Int == 3)
        #expect(flow["state"] as? String == "closed" && flow["reason"] as? String == "tcp_fin")
        #expect(flow["alerted"] as? Bool == false && flow["segment"] == nil)
        let tcp = try #require(o["tcp"] as? [String: Any])
        #expect(tcp["tcp_flags"] as? String == "1f")
        #expect(tcp["tcp_flags_ts"] as? String == "1b" && tcp["tcp_flags_tc"] as? String == "16")
        for k in ["syn", "fin", "rst", "psh", "ack"] { #expect(tcp[k] as? Bool == true, "\(k)") }
        for k in ["urg", "ecn", "cwr"] { #expect(tcp[k] == nil, "\(k)") }
    }

    @Test func featuresByNameAndTheSequence() throws {
        var f = FeatureVector()
        f[.fwd_pkts] = 5; f[.duration_s] = 2.2
        var seq = PacketSequence()
        seq.append(SequenceEntry(direction: 1, tcpFlags: 2, ipLength: 60, payloadLength: 0, iat: 0))
        seq.append(SequenceEntry(direction: -1, tcpFlags: 0x12, ipLength: 60, payloadLength: 0, iat: 0.25))
        let o = try line(testRecord(features: f, sequence: seq))
        let features = try #require(o["features"] as? [String: Any])
        // No app_proto: the application-layer features are left out.
        let base = Feature.allCases.filter { $0.rawValue < Feature.firstAppLayer.rawValue }.map(\.name)
        #expect(features.count == base.count && Set(features.keys) == Set(base))
        #expect((features["fwd_pkts"] as? NSNumber)?.doubleValue == 5)
        #expect((features["duration_s"] as? NSNumber)?.doubleValue == 2.2)
        #expect((features["bwd_pkts"] as? NSNumber)?.doubleValue == 0)
        let s = try #require(o["sequence"] as? [[Any]])
        let rows = s.map { $0.map { ($0 as? NSNumber)?.doubleValue ?? .nan } }
        #expect(rows.count == 2)
        #expect(rows.first == [1, 60, 0, 0, 2])
        #expect(rows.last == [-1, 60, 0, 0.25, 18])
        var ctx = EveContext(); ctx.includeSequence = false
        #expect(try line(testRecord(sequence: seq), context: ctx)["sequence"] == nil)
    }

    @Test func flowDetailLevels() throws {
        var seq = PacketSequence()
        seq.append(SequenceEntry(direction: 1, tcpFlags: 2, ipLength: 60, payloadLength: 0, iat: 0))
        var ctx = EveContext()
        var sizes: [FlowDetail: Int] = [:]
        for d in FlowDetail.allCases {
            ctx.flowDetail = d
            var j = JSONBuffer()
            EveFlowFormatter(context: ctx).append(testRecord(sequence: seq), into: &j)
            sizes[d] = j.bytes.count
            let o = try parseLine(j.bytes)
            #expect((o["features"] != nil) == (d != .summary), "\(d)")
            #expect((o["sequence"] != nil) == (d == .full), "\(d)")
            // The EVE flow fields are in every level.
            #expect(o["flow"] != nil && o["src_ip"] != nil && o["proto"] != nil && o["community_id"] != nil)
        }
        #expect(sizes[.summary]! < sizes[.features]! && sizes[.features]! < sizes[.full]!)
    }

    @Test func contextFieldsAreEscapedStrings() throws {
        var ctx = EveContext()
        ctx.pcapFilename = #"caps/"odd" name\2.pcap"#
        ctx.host = "sensor-1"
        ctx.inIface = "eth0"
        let o = try line(testRecord(), context: ctx)
        #expect(o["pcap_filename"] as? String == #"caps/"odd" name\2.pcap"#)
        #expect(o["host"] as? String == "sensor-1" && o["in_iface"] as? String == "eth0")
        ctx.communityIDSeed = 1
        #expect(try line(testRecord(), context: ctx)["community_id"] as? String == "1:ldg3l/ajj6+xbBR//Yp1jPHMvyU=")
    }

    @Test func vlanTunnelAndSegment() throws {
        // Key VLAN slots hold id + 1 (0 is "no tag").
        let r = testRecord(vlanKey: (101, 1, 0), tunnel: .vxlan, tunnelSrc: "203.0.113.1", tunnelDst: "203.0.113.2",
                           segment: 3)
        let o = try line(r)
        #expect((o["vlan"] as? [Int]) == [100, 0])
        let t = try #require(o["tunnel"] as? [String: Any])
        #expect(t["src_ip"] as? String == "203.0.113.1" && t["dest_ip"] as? String == "203.0.113.2")
        #expect(t["proto"] as? String == "VXLAN")
        #expect((o["flow"] as? [String: Any])?["segment"] as? Int == 3)
    }

    @Test func protocolsWithoutPortsAndICMP() throws {
        let gre = try line(testRecord(sport: 0, dport: 0, proto: 47, hasPorts: false))
        #expect(gre["proto"] as? String == "47")
        #expect(gre["src_port"] == nil && gre["dest_port"] == nil && gre["tcp"] == nil)
        // ICMP echo request: the decoder keeps the type in the source port.
        let icmp = try line(testRecord(sport: 8, dport: 0, proto: 1))
        #expect(icmp["proto"] as? String == "ICMP" && icmp["icmp_type"] as? Int == 8 && icmp["tcp"] == nil)
        let v6 = try line(testRecord(src: "2001:db8::1", dst: "2001:db8::2", sport: 128, dport: 129, proto: 58))
        #expect(v6["proto"] as? String == "IPv6-ICMP" && v6["icmp_type"] as? Int == 128)
        #expect(v6["src_ip"] as? String == "2001:0db8:0000:0000:0000:0000:0000:0001")
        #expect(eveProtoName(6) == "TCP" && eveProtoName(17) == "UDP" && eveProtoName(1) == "ICMP")
        #expect(eveProtoName(58) == "IPv6-ICMP" && eveProtoName(132) == "132" && eveProtoName(0) == "0")
    }

    @Test func aRecordWrittenAfterItsFlowsAlertNamesItsPackets() throws {
        #expect(try line(testRecord())["alert_pcap"] == nil)
        var f = EveFlowFormatter()
        f.capture = AlertCapture(file: "/var/pcap/flowsentry-alerts.2.pcap", firstPacket: 118, packets: 40)
        var j = JSONBuffer(reserve: 4096)
        f.append(testRecord(), into: &j)
        let o = try parseLine(j.bytes)
        let ap = try #require(o["alert_pcap"] as? [String: Any])
        #expect(ap["file"] as? String == "/var/pcap/flowsentry-alerts.2.pcap")
        #expect(ap["first_packet"] as? Int == 118 && ap["packets"] as? Int == 40)
        #expect(o["flow"] != nil)
    }

    @Test func verdictAndAlertedGoWhereTheCallerSays() throws {
        let o = try line(testRecord(), alerted: true) { j in j.key("ml"); j.beginObject(); j.key("x"); j.int(1); j.endObject() }
        #expect((o["flow"] as? [String: Any])?["alerted"] as? Bool == true)
        #expect((o["ml"] as? [String: Any])?["x"] as? Int == 1)
    }
}
