import Behaviour
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
    public var host: String? {
        didSet { encodedHost = host.map(JSONBuffer.encodedString) }
    }
    public var inIface: String? {
        didSet { encodedInIface = inIface.map(JSONBuffer.encodedString) }
    }
    public private(set) var encodedHost: [UInt8]?
    public private(set) var encodedInIface: [UInt8]?
    public var communityIDSeed: UInt16 = 0
    /// What flow records carry.
    public var flowDetail = FlowDetail.full
    /// Whether flow records carry the first-packets sequence (`flowDetail == .full`);
    /// turning it off on a full record leaves the features.
    public var includeSequence: Bool {
        get { flowDetail.writesSequence }
        set { if !newValue && flowDetail == .full { flowDetail = .features } else if newValue { flowDetail = .full } }
    }
    public init() {}
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
/// `eventType` must need no escaping (it is written as is).
public func writeEveHeader(_ r: FlowRecord, eventType: StaticString, context: EveContext,
                           into j: inout JSONBuffer) {
    let capacity = 768 + (context.encodedPcapFilename?.count ?? 0) + (context.encodedInIface?.count ?? 0)
        + (context.encodedHost?.count ?? 0)
    j.rawMembers(capacity: capacity) { w in
        w.lit(#""timestamp":""#); w.eveTime(ns: r.endNs)
        w.lit(#"","flow_id":"#); w.unsigned(r.flowID)
        if let f = context.encodedPcapFilename { w.lit(#","pcap_filename":"#); w.bytes(f) }
        if let i = context.encodedInIface { w.lit(#","in_iface":"#); w.bytes(i) }
        w.lit(#","event_type":""#); w.lit(eventType); w.byte(UInt8(ascii: "\""))
        if r.key.vlan0 != 0 {
            w.lit(#","vlan":["#)
            w.integer(Int64(r.key.vlan0 &- 1))
            if r.key.vlan1 != 0 { w.byte(UInt8(ascii: ",")); w.integer(Int64(r.key.vlan1 &- 1)) }
            if r.key.vlan2 != 0 { w.byte(UInt8(ascii: ",")); w.integer(Int64(r.key.vlan2 &- 1)) }
            w.byte(UInt8(ascii: "]"))
        }
        w.lit(#","src_ip":""#); w.write { r.srcIP.writeText(into: $0) }
        w.byte(UInt8(ascii: "\""))
        if r.hasTransportPorts { w.lit(#","src_port":"#); w.unsigned(UInt64(r.srcPort)) }
        w.lit(#","dest_ip":""#); w.write { r.dstIP.writeText(into: $0) }
        w.byte(UInt8(ascii: "\""))
        if r.hasTransportPorts { w.lit(#","dest_port":"#); w.unsigned(UInt64(r.dstPort)) }
        w.lit(#","proto":"#)
        switch r.proto {
        case IPProto.tcp: w.lit(#""TCP""#)
        case IPProto.udp: w.lit(#""UDP""#)
        case IPProto.icmp: w.lit(#""ICMP""#)
        case IPProto.icmpv6: w.lit(#""IPv6-ICMP""#)
        default: w.byte(UInt8(ascii: "\"")); w.unsigned(UInt64(r.proto)); w.byte(UInt8(ascii: "\""))
        }
        if r.proto == IPProto.icmp || r.proto == IPProto.icmpv6 {
            // As Suricata: the client's first message, and the first reply when there was one.
            if let m = ICMPMessage.decode(r.icmpToServer) {
                w.lit(#","icmp_type":"#); w.unsigned(UInt64(m.type))
                w.lit(#","icmp_code":"#); w.unsigned(UInt64(m.code))
            } else if r.hasPorts {
                w.lit(#","icmp_type":"#); w.unsigned(UInt64(r.srcPort))
            }
            if let m = ICMPMessage.decode(r.icmpToClient) {
                w.lit(#","response_icmp_type":"#); w.unsigned(UInt64(m.type))
                w.lit(#","response_icmp_code":"#); w.unsigned(UInt64(m.code))
            }
        }
        if r.tunnel != .none {
            w.lit(#","tunnel":{"src_ip":""#); w.write { r.tunnelSrc.writeText(into: $0) }
            w.lit(#"","dest_ip":""#); w.write { r.tunnelDst.writeText(into: $0) }
            w.lit(#"","proto":""#); w.lit(r.tunnel.staticName); w.lit(#""}"#)
        }
        w.lit(#","community_id":""#)
        w.write {
            CommunityID.write(src: r.srcIP, dst: r.dstIP, proto: r.proto, sport: r.srcPort, dport: r.dstPort,
                              seed: context.communityIDSeed, into: $0)
        }
        w.byte(UInt8(ascii: "\""))
        if let h = context.encodedHost { w.lit(#","host":"#); w.bytes(h) }
        if let app = r.app { w.lit(#","app_proto":""#); w.lit(app.proto.staticName); w.byte(UInt8(ascii: "\"")) }
    }
}

/// Writes the `flow {…}` summary object.
public func writeEveFlowSummary(_ r: FlowRecord, alerted: Bool, into j: inout JSONBuffer) {
    j.rawMembers(capacity: 512) { w in
        w.lit(#""flow":{"pkts_toserver":"#); w.unsigned(r.pktsToServer)
        w.lit(#","pkts_toclient":"#); w.unsigned(r.pktsToClient)
        w.lit(#","bytes_toserver":"#); w.unsigned(r.bytesToServer)
        w.lit(#","bytes_toclient":"#); w.unsigned(r.bytesToClient)
        w.lit(#","start":""#); w.eveTime(ns: r.startNs)
        w.lit(#"","end":""#); w.eveTime(ns: r.endNs)
        w.lit(#"","age":"#); w.integer((r.endNs / 1_000_000_000) - (r.startNs / 1_000_000_000))
        w.lit(#","state":""#); w.lit(r.state.staticName)
        w.lit(#"","reason":""#); w.lit(r.reason.staticName)
        w.lit(alerted ? #"","alerted":true"# : #"","alerted":false"#)
        if r.segment > 0 { w.lit(#","segment":"#); w.unsigned(UInt64(r.segment)) }
        w.byte(UInt8(ascii: "}"))
    }
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
    /// Written as `alert_pcap {file, first_packet, packets}` after `flow`
    /// (`--alert-pcap`: a record whose packets were written because an
    /// earlier record of its flow alerted; set per record by the writer).
    public var capture: AlertCapture?
    public init(context: EveContext = EveContext()) { self.context = context }

    /// Appends one record (with a trailing newline) to `j.bytes`.
    /// `verdict` writes the flow's ML verdict when scoring ran; `behaviour`
    /// the values of its pair series and client at its end.
    public func append(_ r: FlowRecord, verdict: ((inout JSONBuffer) -> Void)? = nil,
                       behaviour: BehaviourValues? = nil, alerted: Bool = false, into j: inout JSONBuffer) {
        j.beginObject()
        writeEveHeader(r, eventType: "flow", context: context, into: &j)
        writeEveFlowSummary(r, alerted: alerted, into: &j)
        if let c = capture { c.write(into: &j) }
        if r.proto == IPProto.tcp {
            let all = r.tcpFlagsToServer | r.tcpFlagsToClient
            j.rawMembers(capacity: 224) { w in
                func hex(_ v: UInt8) {
                    w.byte(hexDigits[Int(v >> 4)]); w.byte(hexDigits[Int(v & 0xf)])
                }
                w.lit(#""tcp":{"tcp_flags":""#); hex(all)
                w.lit(#"","tcp_flags_ts":""#); hex(r.tcpFlagsToServer)
                w.lit(#"","tcp_flags_tc":""#); hex(r.tcpFlagsToClient)
                w.byte(UInt8(ascii: "\""))
                if all & TCPFlag.syn != 0 { w.lit(#","syn":true"#) }
                if all & TCPFlag.fin != 0 { w.lit(#","fin":true"#) }
                if all & TCPFlag.rst != 0 { w.lit(#","rst":true"#) }
                if all & TCPFlag.psh != 0 { w.lit(#","psh":true"#) }
                if all & TCPFlag.ack != 0 { w.lit(#","ack":true"#) }
                if all & TCPFlag.urg != 0 { w.lit(#","urg":true"#) }
                if all & TCPFlag.ece != 0 { w.lit(#","ecn":true"#) }
                if all & TCPFlag.cwr != 0 { w.lit(#","cwr":true"#) }
                w.lit(#","state":""#); w.lit(r.tcpState.staticName); w.byte(UInt8(ascii: "\""))
                w.byte(UInt8(ascii: "}"))
            }
        }
        writeEveAppLayer(r, into: &j)
        if let verdict { verdict(&j) }
        guard context.flowDetail.writesFeatures else {
            j.endObject()
            j.newline()
            return
        }
        if let behaviour { writeBehaviourValues(behaviour, dns: r.dns, into: &j) }
        // Features and sequence: numbers only, each written as one block.
        j.key("features")
        j.rawValue(capacity: Feature.count * (RawJSONWriter.chunk + RawJSONWriter.maxNumber) + 2) { w in
            featureKeySlots.withUnsafeBytes { keys in
                featureKeyLengths.withUnsafeBufferPointer { lengths in
                    r.features.withValues { values in
                        w.byte(UInt8(ascii: "{"))
                        // The application-layer features only for flows that have an app_proto.
                        for i in 0..<(r.app == nil ? Feature.firstAppLayer.rawValue : Feature.count) {
                            w.chunk(keys.baseAddress! + i * RawJSONWriter.chunk, length: lengths[i])
                            w.double(values[i])
                        }
                        w.byte(UInt8(ascii: "}"))
                    }
                }
            }
        }
        if context.flowDetail.writesSequence {
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
