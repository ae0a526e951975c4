import Capture
import Decoding
import Flows
import Foundation
import Sensor
import Training

/// Rewrites a labelled capture with `Perturbation`s applied to its attack
/// flows, and writes the ground truth to match (each row's first and last
/// time, packets and bytes as they are after the change).
///
/// The capture is read whole into memory (the lab's and the public test
/// captures are megabytes); each packet is matched to its ground-truth row
/// as `LabelSet.match` matches flows (unordered 5-tuple, time window with
/// its slack), changed or not, and the result is written in time order.
public enum PerturbedCapture {
    public struct Summary: Sendable, Equatable {
        public var packetsIn = 0
        public var packetsOut = 0
        /// Ground-truth rows labelled as attacks that have packets in the capture.
        public var attackFlows = 0
        /// Packets whose bytes or time the perturbation changed (added ones included).
        public var packetsChanged = 0
        /// Attack packets that could not be edited (tunnelled, fragmented, cut short).
        public var packetsNotEditable = 0
    }

    struct Item {
        var timeNs: Int64
        var order: Int
        var wireLength: Int
        var bytes: [UInt8]
        var row: Int
        var fromClient: Bool
        /// Sent by the attacker: the client of an attack flow, or either end of a c2 or tunnel flow.
        var attacker = false
        var layout: PacketLayout?
        var changed = false
    }

    /// Writes `capture` with each attack flow changed by one of `perturbations`
    /// (drawn at random per flow when there are several) to `pcapOut`, its
    /// ground truth to `labelsOut`.
    public static func write(capture: String, labels: String, perturbations: [Perturbation], seed: UInt64,
                             pcapOut: String, labelsOut: String) throws -> Summary {
        let truth = try LabelSet(csvPath: labels)
        let reader = try PcapFileReader(path: capture)
        let decoder = PacketDecoder(linkType: reader.linkType)
        var index: [FlowKey: [Int]] = [:]
        for (i, r) in truth.rows.enumerated() { index[r.key, default: []].append(i) }

        var items: [Item] = []
        var summary = Summary()
        var p = DecodedPacket()
        while let cp = try reader.next() {
            let bytes = cp.bytes.withBytes(from: 0, length: cp.bytes.count) { Array($0) }
            var item = Item(timeNs: cp.timestampNs, order: items.count * 2, wireLength: cp.wireLength, bytes: bytes,
                            row: -1, fromClient: false, layout: nil)
            if decoder.decode(cp.bytes, wireLength: cp.wireLength, timestampNs: cp.timestampNs, into: &p) {
                let ported = p.proto == IPProto.tcp || p.proto == IPProto.udp || p.proto == IPProto.sctp
                let key = LabelSet.key(p.src, ported ? p.srcPort : 0, p.dst, ported ? p.dstPort : 0, p.proto)
                if let rows = index[key], let r = nearestRow(rows, truth, timeNs: cp.timestampNs) {
                    item.row = r
                    let row = truth.rows[r]
                    item.fromClient = p.src == row.client && (!ported || p.srcPort == row.clientPort)
                    item.layout = PacketLayout(p, bytes: bytes)
                }
            }
            items.append(item)
        }
        summary.packetsIn = items.count

        let isAttack = truth.rows.map { $0.label != "benign" }
        let ownsBoth = truth.rows.map { Perturbation.attackerOwnsBothEnds.contains($0.label) }
        var rowItems = [[Int]](repeating: [], count: truth.rows.count)
        for (i, it) in items.enumerated() where it.row >= 0 && isAttack[it.row] { rowItems[it.row].append(i) }
        summary.attackFlows = rowItems.filter { !$0.isEmpty }.count
        for list in rowItems {
            for i in list {
                items[i].attacker = items[i].fromClient || ownsBoth[items[i].row]
                if items[i].attacker && items[i].layout == nil { summary.packetsNotEditable += 1 }
            }
        }

        var rng = NNRandom(seed: seed)
        // One perturbation per attack flow, drawn from the list (a list of one: every flow the same).
        let choice = rowItems.map { _ in perturbations.count == 1 ? 0 : Int.random(in: 0..<perturbations.count, using: &rng) }
        var campaignStart: [String: Int64] = [:]  // a campaign: one client's flows of one class
        func campaign(_ r: Int) -> String { "\(truth.rows[r].label)|\(truth.rows[r].client)" }
        for (r, list) in rowItems.enumerated() where !list.isEmpty {
            campaignStart[campaign(r)] = min(campaignStart[campaign(r)] ?? .max, items[list[0]].timeNs)
        }
        var added: [Item] = []
        for (r, list) in rowItems.enumerated() where !list.isEmpty {
            let p = perturbations[choice[r]]
            let s = p.strength
            switch p.kind {
            case .pad:
                pad(list, &items, s, &rng)
            case .split:
                for i in list where items[i].attacker { split(i, &items, &added, s, &rng) }
            case .inject:
                for i in list where items[i].attacker { inject(i, &items, &added, s, &rng) }
            case .jitter, .slow:
                var t = items[list[0]].timeNs
                var previous = t  // the previous packet's time before the change
                for k in list.indices.dropFirst() {
                    let gap = Double(items[list[k]].timeNs - previous)
                    previous = items[list[k]].timeNs
                    var factor = 1.0
                    if items[list[k]].attacker {
                        factor = p.kind == .slow ? 1 + 4 * s : Double.random(in: (1 - s)...(1 + s), using: &rng)
                    }
                    t += Int64((gap * factor).rounded())
                    if t != items[list[k]].timeNs { items[list[k]].changed = true }
                    items[list[k]].timeNs = t
                }
            case .spread:
                let delta = Int64((Double(items[list[0]].timeNs - campaignStart[campaign(r)]!) * 9 * s).rounded())
                guard delta != 0 else { continue }
                for i in list { items[i].timeNs += delta; items[i].changed = true }
            }
        }
        items += added
        items.sort { ($0.timeNs, $0.order) < ($1.timeNs, $1.order) }
        summary.packetsOut = items.count
        summary.packetsChanged = items.filter(\.changed).count

        let writer = try PcapWriter(path: pcapOut, dlt: reader.dlt, snaplen: max(reader.snaplen, 65_535))
        for it in items { try writer.append(timestampNs: it.timeNs, wireLength: it.wireLength, bytes: it.bytes) }
        try writer.close()
        try writeLabels(truth, items: items, to: labelsOut)
        return summary
    }

    /// The row whose time window (with the slack) holds `timeNs`, the nearest if several.
    static func nearestRow(_ candidates: [Int], _ truth: LabelSet, timeNs: Int64) -> Int? {
        var best: Int?
        var bestDistance = Int64.max
        for i in candidates {
            let r = truth.rows[i]
            let d = timeNs < r.firstNs ? r.firstNs - timeNs : (timeNs > r.lastNs ? timeNs - r.lastNs : 0)
            if d <= truth.slackNs && d < bestDistance { best = i; bestDistance = d }
        }
        return best
    }

    /// Pads every payload the attacker sends where its protocol carries
    /// padding (`ProtocolPadding`); TCP sequence numbers after it (and the
    /// other side's acknowledgements) move by the bytes added.
    static func pad(_ list: [Int], _ items: inout [Item], _ s: Double, _ rng: inout NNRandom) {
        var shift: [UInt32] = [0, 0]  // bytes added so far by the client (0) and the server (1)
        var streams = [ProtocolPadding.Stream(), ProtocolPadding.Stream()]
        for i in list {
            guard var l = items[i].layout else { continue }
            let dir = items[i].fromClient ? 0 : 1
            var b = items[i].bytes
            if l.isTCP && (shift[0] != 0 || shift[1] != 0) {
                PacketSurgery.put32(&b, l.l4Offset + 4, PacketSurgery.seq(b, l) &+ shift[dir])
                if PacketSurgery.tcpFlags(b, l) & TCPFlag.ack != 0 {
                    PacketSurgery.put32(&b, l.l4Offset + 8, PacketSurgery.ack(b, l) &+ shift[1 - dir])
                }
                PacketSurgery.fixChecksums(&b, l)
                items[i].changed = true
            }
            if items[i].attacker && l.payloadLength > 0 {
                let room = max(0, 1500 - (l.payloadEnd - l.ipOffset))
                let n = min(room, Int((Double.random(in: 0..<1, using: &rng) * s * 512).rounded()))
                let original = Array(b[l.payloadOffset..<l.payloadEnd])
                let d = Int(b[l.l4Offset]) << 8 | Int(b[l.l4Offset + 1]), e = Int(b[l.l4Offset + 2]) << 8 | Int(b[l.l4Offset + 3])
                let payload = ProtocolPadding.padded(original, by: n, room: room, udp: l.proto == IPProto.udp,
                                                     ports: (UInt16(d), UInt16(e)), stream: &streams[dir], rng: &rng)
                let n2 = payload.count - original.count
                if n2 > 0 {
                    (b, l) = PacketSurgery.replacingPayload(b, l, with: payload[...])
                    items[i].layout = l
                    items[i].wireLength = b.count
                    items[i].changed = true
                    if l.isTCP { shift[dir] &+= UInt32(n2) }
                }
            }
            items[i].bytes = b
        }
    }

    /// Sends a TCP payload as two segments, the second 1 µs after the first.
    static func split(_ i: Int, _ items: inout [Item], _ added: inout [Item], _ s: Double, _ rng: inout NNRandom) {
        guard let l = items[i].layout, l.isTCP, l.payloadLength >= 2,
              Double.random(in: 0..<1, using: &rng) < s else { return }
        let b = items[i].bytes
        let k = Int.random(in: 1..<l.payloadLength, using: &rng)
        var (first, l1) = PacketSurgery.replacingPayload(b, l, with: b[l.payloadOffset..<(l.payloadOffset + k)])
        first[l1.l4Offset + 13] &= ~(TCPFlag.fin | TCPFlag.psh)
        PacketSurgery.fixChecksums(&first, l1)
        var (second, l2) = PacketSurgery.replacingPayload(b, l, with: b[(l.payloadOffset + k)..<l.payloadEnd])
        PacketSurgery.put32(&second, l2.l4Offset + 4, PacketSurgery.seq(b, l) &+ UInt32(k))
        if l2.ipVersion == 4 { PacketSurgery.put16(&second, l2.ipOffset + 4, PacketSurgery.u16(b, l.ipOffset + 4) &+ 1) }
        PacketSurgery.fixChecksums(&second, l2)
        items[i].bytes = first
        items[i].layout = l1
        items[i].wireLength = first.count
        items[i].changed = true
        var next = items[i]
        next.bytes = second
        next.layout = l2
        next.wireLength = second.count
        next.timeNs += 1000
        next.order += 1
        added.append(next)
    }

    /// After an established TCP segment, a pure ACK from the same side (as a
    /// window update looks), 1 µs later.
    static func inject(_ i: Int, _ items: inout [Item], _ added: inout [Item], _ s: Double, _ rng: inout NNRandom) {
        guard let l = items[i].layout, l.isTCP else { return }
        let b = items[i].bytes
        let flags = PacketSurgery.tcpFlags(b, l)
        guard flags & TCPFlag.ack != 0, flags & (TCPFlag.syn | TCPFlag.fin | TCPFlag.rst) == 0,
              Double.random(in: 0..<1, using: &rng) < s else { return }
        var (ack, la) = PacketSurgery.replacingPayload(b, l, with: [])
        ack[la.l4Offset + 13] = TCPFlag.ack
        PacketSurgery.put32(&ack, la.l4Offset + 4, PacketSurgery.seq(b, l) &+ UInt32(l.payloadLength))
        if la.ipVersion == 4 { PacketSurgery.put16(&ack, la.ipOffset + 4, PacketSurgery.u16(b, l.ipOffset + 4) &+ 1) }
        PacketSurgery.fixChecksums(&ack, la)
        var extra = items[i]
        extra.bytes = ack
        extra.layout = la
        extra.wireLength = ack.count
        extra.timeNs += 1000
        extra.order += 1
        extra.changed = true
        added.append(extra)
    }

    static func writeLabels(_ truth: LabelSet, items: [Item], to path: String) throws(PerturbationError) {
        struct Span { var first = Int64.max, last = Int64.min, packets = 0, bytes = 0 }
        var spans = [Span](repeating: Span(), count: truth.rows.count)
        for it in items where it.row >= 0 {
            spans[it.row].first = min(spans[it.row].first, it.timeNs)
            spans[it.row].last = max(spans[it.row].last, it.timeNs)
            spans[it.row].packets += 1
            spans[it.row].bytes += it.wireLength
        }
        func seconds(_ ns: Int64) -> String {
            let frac = String(ns % 1_000_000_000 / 1000)
            return "\(ns / 1_000_000_000)." + String(repeating: "0", count: 6 - frac.count) + frac
        }
        var out = "src_ip,src_port,dst_ip,dst_port,proto,first_ts,last_ts,packets,bytes,label,scenario\n"
        for (r, row) in truth.rows.enumerated() {
            let sp = spans[r]
            let first = sp.packets > 0 ? sp.first : row.firstNs, last = sp.packets > 0 ? sp.last : row.lastNs
            out += "\(row.client),\(row.clientPort),\(row.server),\(row.serverPort),\(row.key.proto),"
            out += "\(seconds(first)),\(seconds(last)),\(sp.packets),\(sp.bytes),\(row.label),\(row.scenario)\n"
        }
        do {
            try out.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw PerturbationError("\(path): cannot write: \(error.localizedDescription)")
        }
    }
}
