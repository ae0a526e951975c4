import Decoding
import Features
import Flows

/// What the record writer adds around a flow's own data.
public struct EveContext: Sendable {
    public var pcapFilename: String? {
        didSet { encodedPcapFilename = pcapFilename.map(JSONBuffer.encodedString) }
    }
    /// `pcapFilename` as an escaped JSON string, encoded once.
    public private(set) var encodedPcapFilename: [UInt8]?
    public var host: String?
    public var inIface: String?
    public var communityIDSeed: UInt16 = 0
    /// Include the first-packets sequence in flow records.
    public var includeSequence = true
    public init() {}
}

/// Writes `proto` as EVE does: "TCP", "UDP", "ICMP", "IPv6-ICMP", else the number (as a string).
public func writeEveProto(_ p: UInt8, into j: inout JSONBuffer) {
    switch p {
    case IPProto.tcp: j.string("TCP" as StaticString)
    case IPProto.udp: j.string("UDP" as StaticString)
    case IPProto.icmp: j.string("ICMP" as StaticString)
    case IPProto.icmpv6: j.string("IPv6-ICMP" as StaticString)
    default: j.string(String(p))
    }
}

/// EVE's protocol name: "TCP", "UDP", "ICMP", "IPv6-ICMP", else the number.
public func eveProtoName(_ p: UInt8) -> String {
    switch p {
    case IPProto.tcp: "TCP"
    case IPProto.udp: "UDP"
    case IPProto.icmp: "ICMP"
    case IPProto.icmpv6: "IPv6-ICMP"
    default: String(p)
    }
}

public extension FlowRecord {
    /// Community ID v1 of this flow.
    func communityID(seed: UInt16 = 0) -> String {
        CommunityID.compute(src: srcIP, dst: dstIP, proto: proto, sport: srcPort, dport: dstPort, seed: seed)
    }
}

/// Writes the EVE header fields shared by flow and alert records.
public func writeEveHeader(_ r: FlowRecord, eventType: StaticString, context: EveContext,
                           into j: inout JSONBuffer) {
    j.key("timestamp"); j.rawString { EveTime.append(ns: r.endNs, to: &$0) }
    j.key("flow_id"); j.uint(r.flowID)
    if let f = context.encodedPcapFilename { j.key("pcap_filename"); j.rawValue(f) }
    if let i = context.inIface { j.key("in_iface"); j.string(i) }
    j.key("event_type"); j.string(eventType)
    if r.key.vlan0 != 0 {
        j.key("vlan"); j.beginArray()
        j.int(r.key.vlan0 &- 1)
        if r.key.vlan1 != 0 { j.int(r.key.vlan1 &- 1) }
        if r.key.vlan2 != 0 { j.int(r.key.vlan2 &- 1) }
        j.endArray()
    }
    j.key("src_ip"); j.rawString { r.srcIP.appendText(to: &$0) }
    if r.hasPorts { j.key("src_port"); j.int(r.srcPort) }
    j.key("dest_ip"); j.rawString { r.dstIP.appendText(to: &$0) }
    if r.hasPorts { j.key("dest_port"); j.int(r.dstPort) }
    j.key("proto"); writeEveProto(r.proto, into: &j)
    if r.proto == IPProto.icmp || r.proto == IPProto.icmpv6 {
        j.key("icmp_type"); j.int(r.srcPort)
    }
    if r.tunnel != .none {
        j.key("tunnel"); j.beginObject()
        j.key("src_ip"); j.rawString { r.tunnelSrc.appendText(to: &$0) }
        j.key("dest_ip"); j.rawString { r.tunnelDst.appendText(to: &$0) }
        j.key("proto"); j.string(r.tunnel.staticName)
        j.endObject()
    }
    j.key("community_id")
    j.rawString {
        CommunityID.append(src: r.srcIP, dst: r.dstIP, proto: r.proto, sport: r.srcPort, dport: r.dstPort,
                           seed: context.communityIDSeed, to: &$0)
    }
    if let h = context.host { j.key("host"); j.string(h) }
}

/// Writes the `flow {…}` summary object.
public func writeEveFlowSummary(_ r: FlowRecord, alerted: Bool, into j: inout JSONBuffer) {
    j.key("flow"); j.beginObject()
    j.key("pkts_toserver"); j.uint(r.pktsToServer)
    j.key("pkts_toclient"); j.uint(r.pktsToClient)
    j.key("bytes_toserver"); j.uint(r.bytesToServer)
    j.key("bytes_toclient"); j.uint(r.bytesToClient)
    j.key("start"); j.rawString { EveTime.append(ns: r.startNs, to: &$0) }
    j.key("end"); j.rawString { EveTime.append(ns: r.endNs, to: &$0) }
    j.key("age"); j.int((r.endNs / 1_000_000_000) - (r.startNs / 1_000_000_000))
    j.key("state"); j.string(r.state.staticName)
    j.key("reason"); j.string(r.reason.staticName)
    j.key("alerted"); j.bool(alerted)
    if r.segment > 0 { j.key("segment"); j.int(r.segment) }
    j.endObject()
}

/// Hex of a TCP flags byte as Suricata writes it ("1b").
func appendHexByte(_ v: UInt8, to out: inout [UInt8]) {
    out.append(hexDigits[Int(v >> 4)]); out.append(hexDigits[Int(v & 0xf)])
}

/// `"feature_name":` for every feature (after the first with its comma),
/// encoded once, each in a zero-padded 32-byte slot so that it is copied
/// with one 32-byte move; `featureKeyLengths[i]` is feature i's real length.
let featureKeySlots: [UInt8] = {
    var slots: [UInt8] = []
    for (i, f) in Feature.schema.enumerated() {
        var k = (i > 0 ? [UInt8(ascii: ",")] : []) + JSONBuffer.encodedKey(f)
        precondition(k.count <= RawJSONWriter.chunk, "feature name too long for its key slot: \(f)")
        k += Array(repeating: 0, count: RawJSONWriter.chunk - k.count)
        slots += k
    }
    return slots
}()
let featureKeyLengths: [Int] = Feature.schema.enumerated().map { (i, f) in (i > 0 ? 1 : 0) + JSONBuffer.encodedKey(f).count }

/// Formats flow records as EVE `flow` events, one JSON object per line.
public struct EveFlowFormatter: Sendable {
    public var context: EveContext
    public init(context: EveContext = EveContext()) { self.context = context }

    /// Appends one record (with a trailing newline) to `j.bytes`.
    /// `verdict` writes the flow's ML verdict when scoring ran.
    public func append(_ r: FlowRecord, verdict: ((inout JSONBuffer) -> Void)? = nil,
                       alerted: Bool = false, into j: inout JSONBuffer) {
        j.beginObject()
        writeEveHeader(r, eventType: "flow", context: context, into: &j)
        writeEveFlowSummary(r, alerted: alerted, into: &j)
        if r.proto == IPProto.tcp {
            let all = r.tcpFlagsToServer | r.tcpFlagsToClient
            j.key("tcp"); j.beginObject()
            j.key("tcp_flags"); j.rawString { appendHexByte(all, to: &$0) }
            j.key("tcp_flags_ts"); j.rawString { appendHexByte(r.tcpFlagsToServer, to: &$0) }
            j.key("tcp_flags_tc"); j.rawString { appendHexByte(r.tcpFlagsToClient, to: &$0) }
            if all & TCPFlag.syn != 0 { j.key("syn"); j.bool(true) }
            if all & TCPFlag.fin != 0 { j.key("fin"); j.bool(true) }
            if all & TCPFlag.rst != 0 { j.key("rst"); j.bool(true) }
            if all & TCPFlag.psh != 0 { j.key("psh"); j.bool(true) }
            if all & TCPFlag.ack != 0 { j.key("ack"); j.bool(true) }
            if all & TCPFlag.urg != 0 { j.key("urg"); j.bool(true) }
            if all & TCPFlag.ece != 0 { j.key("ecn"); j.bool(true) }
            if all & TCPFlag.cwr != 0 { j.key("cwr"); j.bool(true) }
            j.endObject()
        }
        if let verdict { verdict(&j) }
        // Features and sequence: numbers only, each written as one block.
        j.key("features")
        j.rawValue(capacity: Feature.count * (RawJSONWriter.chunk + RawJSONWriter.maxNumber) + 2) { w in
            featureKeySlots.withUnsafeBytes { keys in
                featureKeyLengths.withUnsafeBufferPointer { lengths in
                    r.features.withValues { values in
                        w.byte(UInt8(ascii: "{"))
                        for i in 0..<Feature.count {
                            w.chunk(keys.baseAddress! + i * RawJSONWriter.chunk, length: lengths[i])
                            w.double(values[i])
                        }
                        w.byte(UInt8(ascii: "}"))
                    }
                }
            }
        }
        if context.includeSequence {
            j.key("sequence")
            j.rawValue(capacity: PacketSequence.length * (5 * (RawJSONWriter.maxNumber + 1) + 3) + 2) { w in
                w.byte(UInt8(ascii: "["))
                for i in 0..<Int(r.sequence.count) {
                    let e = r.sequence[i]
                    if i > 0 { w.byte(UInt8(ascii: ",")) }
                    w.byte(UInt8(ascii: "["))
                    w.integer(Int64(e.direction)); w.byte(UInt8(ascii: ","))
                    w.integer(Int64(e.ipLength)); w.byte(UInt8(ascii: ","))
                    w.integer(Int64(e.payloadLength)); w.byte(UInt8(ascii: ","))
                    w.double(Double(e.iat)); w.byte(UInt8(ascii: ","))
                    w.integer(Int64(e.tcpFlags))
                    w.byte(UInt8(ascii: "]"))
                }
                w.byte(UInt8(ascii: "]"))
            }
        }
        j.endObject()
        j.newline()
    }
}
