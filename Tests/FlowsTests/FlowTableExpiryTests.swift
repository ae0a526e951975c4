import Foundation
import Testing
@testable import Decoding
@testable import Features
@testable import Flows

@Suite struct IdleGapTests {
    @Test func aPacketAfterTheIdleTimeoutStartsANewFlowEvenBeforeASweep() {
        var c = FlowTableConfig()
        c.setIdleTimeout(10)
        let t = FlowTable(config: c)
        var s = FlowSink()
        t.feed([pkt(0, proto: 17), pkt(5, proto: 17), pkt(15.5, proto: 17)], sink: &s)
        #expect(s.records.count == 1 && s.records[0].reason == .idleTimeout)
        #expect(s.records[0].pktsToServer == 2)
        t.flushAll(sink: &s)
        #expect(s.records.count == 2 && s.records[1].pktsToServer == 1)
    }
}

@Suite struct ChunkedFlushTests {
    /// A table of `n` flows (mixed protocols, some closed TCP) with 4 stripes.
    func filled(_ n: Int) -> FlowTable {
        var c = FlowTableConfig()
        c.stripes = 4
        c.maxFlows = 4096
        let t = FlowTable(config: c)
        var s = FlowSink()
        for i in 0..<n {
            let sp = UInt16(1000 + i)
            let at = Double(n - i) * 0.001  // later ports start earlier: start order is not insertion order
            switch i % 3 {
            case 0: t.feed([pkt(at, sport: sp, proto: 17), pkt(at + 0.5, sport: sp, proto: 17)], sink: &s)
            case 1: t.feed([pkt(at, sport: sp, flags: 0x02), pkt(at + 1, sport: sp, flags: 0x04)], sink: &s)
            default: t.feed([pkt(at, sport: sp, flags: 0x18, len: 100)], sink: &s)
            }
        }
        #expect(s.records.isEmpty && t.activeFlows == n)
        return t
    }

    func describe(_ rs: [FlowRecord]) -> [String] {
        rs.map { "\($0.flowID) \($0.srcPort) \($0.startNs) \($0.pktsToServer) \($0.reason) \($0.features.values)" }
    }

    @Test func chunkedFlushGivesTheSameRecordsInTheSameOrderAChunkAtATime() {
        var whole = FlowSink()
        filled(1000).flushAll(sink: &whole)
        #expect(whole.records.count == 1000)
        #expect(zip(whole.records, whole.records.dropFirst()).allSatisfy { $0.startNs <= $1.startNs })
        #expect(whole.records.contains { $0.reason == .tcpRst } && whole.records.contains { $0.reason == .shutdown })

        let t = filled(1000)
        var s = FlowSink()
        var got: [FlowRecord] = []
        var batches: [Int] = []
        t.flushAll(reason: .shutdown, chunk: 64, sink: &s) { sink in
            batches.append(sink.records.count)
            got += sink.records
            sink.removeAll()
        }
        #expect(describe(got) == describe(Array(whole.records)))
        #expect(batches.max() == 64 && batches.reduce(0, +) == 1000)
        #expect(batches.count == (1000 + 63) / 64)
        #expect(t.activeFlows == 0 && t.counters.ended(.shutdown) + t.counters.ended(.tcpRst) == 1000)
    }

    @Test func chunkedExpireGivesTheSameRecordsInTheSameOrder() {
        var whole = FlowSink()
        filled(1000).expire(now: Int64(1000e9), sink: &whole)
        #expect(whole.records.count == 1000)

        let t = filled(1000)
        var s = FlowSink()
        var got: [FlowRecord] = []
        var batches: [Int] = []
        t.expire(now: Int64(1000e9), chunk: 100, sink: &s) { sink in
            batches.append(sink.records.count)
            got += sink.records
            sink.removeAll()
        }
        #expect(describe(got) == describe(Array(whole.records)))
        #expect(batches.allSatisfy { $0 <= 100 } && batches.reduce(0, +) == 1000 && batches.count == 10)
        #expect(t.activeFlows == 0)
        // Nothing expired: drain is not called.
        var calls = 0
        filled(10).expire(now: 0, chunk: 4, sink: &s) { _ in calls += 1 }
        #expect(calls == 0)
    }
}
