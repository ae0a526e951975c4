import Decoding
import Flows
#if canImport(Glibc)
import Glibc
#endif

/// Errors reading a ground-truth file.
package struct LabelError: Error, CustomStringConvertible, Sendable {
    package let path: String
    package let line: Int?
    package let reason: String
    package var description: String {
        if let line { return "\(path):\(line): \(reason)" }
        return "\(path): \(reason)"
    }
}

/// Per-flow ground truth: rows of `src_ip,src_port,dst_ip,dst_port,proto,
/// first_ts,last_ts,…,label[,scenario]` (captures/README.md). A flow record
/// takes the label of the row with the same unordered 5-tuple whose time
/// window overlaps the record's (with `slack` seconds either side); when
/// several overlap, the one overlapping most.
package struct LabelSet: Sendable {
    package struct Row: Sendable {
        package var key: FlowKey
        package var firstNs: Int64
        package var lastNs: Int64
        package var label: String
        package var scenario: String
        /// The row's source and destination as written (the source is the flow's client).
        package var client = IPAddress.zero
        package var clientPort: UInt16 = 0
        package var server = IPAddress.zero
        package var serverPort: UInt16 = 0
    }

    package private(set) var rows: [Row] = []
    private var index: [FlowKey: [Int]] = [:]
    package var slackNs: Int64 = 2_000_000_000

    package init() {}

    package init(csvPath path: String) throws(LabelError) {
        guard let f = fopen(path, "r") else {
            throw LabelError(path: path, line: nil, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var lineBuf: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        defer { free(lineBuf) }
        var lineNo = 0
        var columns: [String: Int] = [:]
        while getline(&lineBuf, &cap, f) > 0 {
            lineNo += 1
            var line = String(cString: lineBuf!)
            // Line ends are stripped by Unicode scalar: "\r\n" is one Character.
            while let last = line.unicodeScalars.last, last == "\n" || last == "\r" { line.unicodeScalars.removeLast() }
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if columns.isEmpty {
                for (i, n) in fields.enumerated() { columns[n.trimmingSpaces] = i }
                for need in ["src_ip", "src_port", "dst_ip", "dst_port", "proto", "first_ts", "last_ts", "label"]
                where columns[need] == nil {
                    throw LabelError(path: path, line: 1, reason: "missing column '\(need)'")
                }
                continue
            }
            func col(_ n: String) -> String { let i = columns[n]!; return i < fields.count ? fields[i] : "" }
            guard let src = IPAddress(col("src_ip")), let dst = IPAddress(col("dst_ip")) else {
                throw LabelError(path: path, line: lineNo, reason: "bad address")
            }
            guard let proto = UInt8(col("proto")), let first = Double(col("first_ts")), let last = Double(col("last_ts")) else {
                throw LabelError(path: path, line: lineNo, reason: "bad proto or timestamps")
            }
            let sp = UInt16(col("src_port")) ?? 0, dp = UInt16(col("dst_port")) ?? 0
            let label = col("label")
            guard !label.isEmpty else { throw LabelError(path: path, line: lineNo, reason: "empty label") }
            add(Row(key: Self.key(src, sp, dst, dp, proto), firstNs: Int64(first * 1e9), lastNs: Int64(last * 1e9),
                    label: label, scenario: columns["scenario"] != nil ? col("scenario") : "",
                    client: src, clientPort: sp, server: dst, serverPort: dp))
        }
        // A directory opens but does not read (EISDIR): not an empty file.
        if ferror(f) != 0 { throw LabelError(path: path, line: nil, reason: "cannot read: \(String(cString: strerror(errno)))") }
        if rows.isEmpty { throw LabelError(path: path, line: nil, reason: "no labelled flows") }
    }

    package mutating func add(_ r: Row) {
        index[r.key, default: []].append(rows.count)
        rows.append(r)
    }

    /// The canonical key with VLANs ignored (ground truth does not carry them).
    package static func key(_ a: IPAddress, _ ap: UInt16, _ b: IPAddress, _ bp: UInt16, _ proto: UInt8) -> FlowKey {
        let aFirst = a < b || (a == b && ap <= bp)
        return aFirst ? FlowKey(a: a, b: b, portA: ap, portB: bp, proto: proto)
                      : FlowKey(a: b, b: a, portA: bp, portB: ap, proto: proto)
    }

    /// The row labelling `r`, or nil when none matches.
    package func match(_ r: FlowRecord) -> Row? {
        // Ground truth has ports for TCP/UDP/SCTP only (ICMP rows carry 0).
        let k = Self.key(r.srcIP, r.hasTransportPorts ? r.srcPort : 0, r.dstIP, r.hasTransportPorts ? r.dstPort : 0, r.proto)
        guard let candidates = index[k] else { return nil }
        var best: Row?
        var bestOverlap = Int64.min
        for i in candidates {
            let row = rows[i]
            let lo = max(row.firstNs - slackNs, r.startNs), hi = min(row.lastNs + slackNs, r.endNs)
            let overlap = hi - lo
            if overlap >= 0 && overlap > bestOverlap { best = row; bestOverlap = overlap }
        }
        return best
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
