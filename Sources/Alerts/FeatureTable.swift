import Decoding
import Features
import Flows

/// Flows as a feature table: one row per flow, a header naming each column.
/// Identity columns first, then every feature in schema order, then the
/// first-packets sequence as `seqNN_*` columns (zero-padded past the flow's end).
public struct FeatureTableFormatter: Sendable {
    public enum Format: String, Sendable, CaseIterable { case csv, jsonl }
    public let format: Format
    public let includeSequence: Bool

    public static let identityColumns = ["flow_id", "pcap_filename", "start_s", "end_s", "src_ip", "src_port",
                                         "dest_ip", "dest_port", "proto", "vlan", "community_id", "reason"]
    public static let sequenceFields = ["dir", "ip_len", "payload_len", "iat_s", "tcp_flags"]

    public init(format: Format, includeSequence: Bool = true) {
        self.format = format
        self.includeSequence = includeSequence
    }

    public var columns: [String] {
        var c = Self.identityColumns + Feature.schema
        if includeSequence {
            for i in 1...PacketSequence.length {
                let n = i < 10 ? "0\(i)" : "\(i)"
                for f in Self.sequenceFields { c.append("seq\(n)_\(f)") }
            }
        }
        return c
    }

    /// The CSV header line (nothing for JSON lines).
    public func header() -> [UInt8] {
        guard format == .csv else { return [] }
        return Array((columns.joined(separator: ",") + "\n").utf8)
    }

    public func append(_ r: FlowRecord, pcapFilename: String, into j: inout JSONBuffer) {
        let cols = columns
        var i = 0
        var csv = format == .csv
        func name() -> String { defer { i += 1 }; return cols[i] }
        func sep() { if csv && i > 0 { j.bytes.append(UInt8(ascii: ",")) } }
        if !csv { j.beginObject() }
        func str(_ s: String) {
            if csv { sep(); _ = name(); appendCSV(s, &j.bytes) } else { j.key(name()); j.string(s) }
        }
        func num(_ v: Double) {
            if csv { sep(); _ = name(); var t = JSONBuffer(reserve: 24); t.double(v); j.bytes += t.bytes }
            else { j.key(name()); j.double(v) }
        }
        func int(_ v: Int64) {
            if csv { sep(); _ = name(); j.bytes += Array(String(v).utf8) } else { j.key(name()); j.int(v) }
        }
        func opt(_ v: UInt16?) {
            if let v { int(Int64(v)) } else if csv { sep(); _ = name() } else { j.key(name()); j.null() }
        }
        func secs(_ ns: Int64) {
            if csv { sep(); _ = name(); var t = JSONBuffer(reserve: 24); t.seconds(ns: ns); j.bytes += t.bytes }
            else { j.key(name()); j.seconds(ns: ns) }
        }
        if csv { sep(); _ = name(); j.bytes += Array(String(r.flowID).utf8) } else { j.key(name()); j.uint(r.flowID) }
        str(pcapFilename)
        secs(r.startNs); secs(r.endNs)
        str(r.srcIP.description); opt(r.hasTransportPorts ? r.srcPort : nil)
        str(r.dstIP.description); opt(r.hasTransportPorts ? r.dstPort : nil)
        int(Int64(r.proto))
        str(r.key.vlans.map(String.init).joined(separator: "."))
        str(r.communityID()); str(r.reason.name)
        r.features.withValues { values in for k in 0..<Feature.count { num(values[k]) } }
        if includeSequence {
            for k in 0..<PacketSequence.length {
                let e = k < Int(r.sequence.count) ? r.sequence[k] : .empty
                int(Int64(e.direction)); int(Int64(e.ipLength)); int(Int64(e.payloadLength))
                num(Double(e.iat)); int(Int64(e.tcpFlags))
            }
        }
        if !csv { j.endObject() }
        csv = false
        j.newline()
    }
}

/// RFC 4180 quoting when needed.
func appendCSV(_ s: String, _ out: inout [UInt8]) {
    if s.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
        out.append(34)
        for c in s.utf8 { if c == 34 { out.append(34) }; out.append(c) }
        out.append(34)
    } else {
        out.append(contentsOf: s.utf8)
    }
}
