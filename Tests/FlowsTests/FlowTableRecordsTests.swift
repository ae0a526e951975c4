import Foundation
import Testing
@testable import Decoding
@testable import Features
@testable import Flows

@Suite struct FlowTableRecordsTests {
    /// Records are written in place over storage left from earlier batches:
    /// nothing of a big earlier record (32-packet sequence, tunnel, VLAN,
    /// payload) may show through a small later one. Every stored field is
    /// compared (by reflection, so a field added later is covered too) with
    /// the same flow's record from a fresh sink.
    @Test func aRecordWrittenOverAnEarlierOneKeepsNothingOfIt() {
        func fields(_ r: FlowRecord) -> [String: String] {
            var d: [String: String] = [:]
            for c in Mirror(reflecting: r).children where c.label != "sequence" {
                d[c.label ?? "?"] = String(describing: c.value)
            }
            return d
        }
        var big: [DecodedPacket] = []
        for k in 0..<40 {
            var p = k % 2 == 0 ? pkt(Double(k) * 0.01, flags: 0x18, len: 1400) : reply(Double(k) * 0.01, flags: 0x19, len: 900)
            p.vlanCount = 1; p.vlan0 = 7
            p.tunnel = .gre; p.tunnelSrc = IPAddress(v4: 192, 0, 2, 1); p.tunnelDst = IPAddress(v4: 192, 0, 2, 2)
            p.payloadLength = 100
            big.append(p)
        }
        let small = [pkt(100, from: IPAddress(v4: 10, 9, 9, 9), sport: 5353, dport: 53, proto: 17, len: 61)]

        var reused = FlowSink()
        let t1 = FlowTable()
        t1.feed(big, sink: &reused)
        t1.flushAll(sink: &reused)
        #expect(reused.count == 1 && reused.records[0].sequence.count == 32)
        reused.removeAll()
        let t2 = FlowTable()
        t2.feed(small, sink: &reused)
        t2.flushAll(sink: &reused)

        var fresh = FlowSink()
        let t3 = FlowTable()
        t3.feed(small, sink: &fresh)
        t3.flushAll(sink: &fresh)
        #expect(reused.count == 1 && fresh.count == 1)
        let a = reused.records[0], b = fresh.records[0]
        #expect(fields(a) == fields(b))
        #expect(fields(a).count >= 25)
        #expect(a.sequence.count == 1 && b.sequence.count == 1)
        for i in 0..<PacketSequence.length { #expect(a.sequence[i] == b.sequence[i]) }
        #expect(a.tunnel == .none && a.vlanCount == 0 && a.pktsToServer == 1 && a.features[.pkt_len_max] == 61)
    }
}
