import Testing
@testable import Context
@testable import Decoding
@testable import Features
@testable import Flows

/// The flow table's host events are applied after its stripe lock is
/// released; what a flow's record carries must be what applying them in
/// order gives.
@Suite struct HostEventLogTests {
    @Test func aNewFlowsContextCountsWhatEndedBeforeIt() {
        var c = FlowTableConfig()
        c.hostContext.windowSeconds = 600  // the failures stay in the window
        let t = FlowTable(config: c)
        var s = FlowSink()
        // Three SYNs to three servers, never answered: they expire as failed handshakes.
        for i in 0..<3 {
            t.feed([pkt(Double(i), to: IPAddress(v4: 10, 0, 9, UInt8(i)), sport: UInt16(3000 + i), flags: TCPFlag.syn)],
                   sink: &s)
        }
        t.expire(now: Int64(100e9), sink: &s)
        #expect(s.records.count == 3)
        s.removeAll()
        #expect(s.hostEvents.isEmpty)
        // Then a new flow from the same client to a fourth server.
        t.feed([pkt(101, to: IPAddress(v4: 10, 0, 9, 3), sport: 4000, flags: TCPFlag.syn)], sink: &s)
        t.flushAll(sink: &s)
        let r = s.records[0]
        #expect(r.features[.src_failed_handshakes] == 3)
        #expect(r.features[.src_flows] == 4 && r.features[.src_distinct_dsts] == 4)
        #expect(r.features[.dst_half_open] == 1 && r.features[.dst_flows] == 1)
    }

    /// A sweep ending more half-open flows than one log holds applies it
    /// as it goes: the server's half-open count ends at zero, and every
    /// record still comes out, in order.
    @Test func aSweepLargerThanTheLogLosesNoEvent() {
        var c = FlowTableConfig()
        c.stripes = 1
        let t = FlowTable(config: c)
        var s = FlowSink()
        let n = HostEventLog.capacity * 5
        for i in 0..<n {
            t.feed([pkt(Double(i) * 0.01, from: IPAddress(v4: 10, 1, UInt8(i / 200), UInt8(i % 200)),
                        sport: UInt16(5000 + i), flags: TCPFlag.syn)], sink: &s)
        }
        #expect(s.hostEvents.isEmpty)
        t.expire(now: Int64(1000e9), sink: &s)
        #expect(s.records.count == n && s.hostEvents.isEmpty)
        #expect(zip(s.records, s.records.dropFirst()).allSatisfy { $0.startNs <= $1.startNs })
        // Half-open at the server counted up to n while they were open…
        #expect(s.records.last!.features[.dst_half_open] == Double(n))
        s.removeAll()
        // …and back to zero now: a later flow to it sees none.
        t.feed([pkt(1001, sport: 9999, flags: TCPFlag.syn)], sink: &s)
        t.flushAll(sink: &s)
        #expect(s.records.count == 1 && s.records[0].features[.dst_half_open] == 1)
    }

    @Test func theLogKeepsOrderAndEmpties() {
        var log = HostEventLog()
        #expect(log.isEmpty && !log.isFull)
        for i in 0..<(HostEventLog.capacity - HostEventLog.perUpdate + 1) {
            log.append(.handshakeFailed(client: IPAddress(v4: 10, 0, 0, UInt8(i)), ts: Int64(i)))
        }
        #expect(log.isFull)
        if case let .handshakeFailed(client, ts) = log.events[2] {
            #expect(client == IPAddress(v4: 10, 0, 0, 2) && ts == 2)
        } else {
            Issue.record("event 2 is not the third appended")
        }
        log.removeAll()
        #expect(log.isEmpty)
    }
}
