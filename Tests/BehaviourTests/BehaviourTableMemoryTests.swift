import AppLayer
import Decoding
import Testing
@testable import Behaviour

/// The behaviour table's two ways of getting its memory (`init(prefault:)`):
/// written with the empty entries at start (live capture), or zeroed pages
/// from `calloc` that are touched only when used (replay). An empty entry is
/// all zero fields, so the two must give the same values for every
/// observation — also when entries are evicted and reused, and for packet
/// times in the first bucket after the epoch (an empty bucket's epoch is 0).
@Suite struct BehaviourTableMemoryTests {
    /// A seeded mix of what the table keeps: short TCP sessions from many
    /// clients (pair series, scan state), half-open connections to a few
    /// targets (flood buckets), unanswered datagrams, ICMP errors, DNS look-ups
    /// under a few domains with varied names (DNS series), HTTP misses.
    static func observations(count: Int, startNs: Int64, seed: UInt64) -> [SessionObservation] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        var out: [SessionObservation] = []
        var t = startNs
        for _ in 0..<count {
            t += Int64(next() % 3_000_000_000)
            let client = IPAddress(v4: 10, 1, UInt8(next() % 4), UInt8(next() % 40))
            let server = IPAddress(v4: 10, 2, 0, UInt8(next() % 24))
            let kind = next() % 6
            let proto = kind == 2 || kind == 4 ? IPProto.udp : kind == 3 ? IPProto.icmp : IPProto.tcp
            var o = SessionObservation(
                client: client, server: server, serverPort: kind == 4 ? 53 : UInt16(20 + next() % 8), proto: proto,
                startNs: t, endNs: t + Int64(next() % 5_000_000_000),
                clientBytes: kind == 1 ? 0 : next() % 3000, serverBytes: kind == 1 || kind == 2 ? 0 : next() % 9000,
                clientIPBytes: 400 + next() % 3000, clientPackets: 1 + next() % 20,
                serverPackets: kind == 2 ? 0 : 1 + next() % 20,
                outcome: kind == 1 ? .failed : kind == 2 ? .unknown : .answered)
            o.reset = next() % 7 == 0
            o.icmpError = kind == 3 && next() % 2 == 0
            o.loginRefused = kind == 0 && next() % 4 == 0
            o.login = o.loginRefused
            if kind == 5 {
                o.httpResponses = UInt32(1 + next() % 4)
                o.httpMisses = UInt32(next() % 3)
                o.httpMissedPaths = o.httpMisses > 0 ? 1 << (next() % 64) : 0
            }
            if kind == 4 {
                o.dns.present = true
                o.dns.qtype = next() % 3 == 0 ? 16 : 1
                o.dns.domainHash = 1 + next() % 5
                o.dns.subdomainHash = next() % 200
                o.dns.subdomainLength = UInt8(next() % 40)
                o.dns.subdomainEntropy = Float(next() % 50) / 10
            }
            o.flowID = UInt64(out.count + 1)
            out.append(o)
        }
        return out
    }

    /// Tables of `capacity` entries each: 8 (one probe window: entries are
    /// evicted and their slots taken again) or 2,048 (a few MiB, from mmap).
    static func tables(_ capacity: Int) -> BehaviourConfig {
        var c = BehaviourConfig()
        c.pairCapacity = capacity; c.clientCapacity = capacity; c.dnsCapacity = capacity; c.targetCapacity = capacity
        return c
    }

    @Test(arguments: [Int64(0), 1_700_000_000_000_000_000])
    func zeroedTablesGiveWhatWrittenTablesGive(startNs: Int64) {
        for config in [Self.tables(2048), Self.tables(8)] {
            let written = BehaviourTable(config: config, prefault: true)
            let zeroed = BehaviourTable(config: config, prefault: false)
            var differing = 0, flooded = 0, dns = 0
            for o in Self.observations(count: 3000, startNs: startNs, seed: 7) {
                let a = written.observe(o), b = zeroed.observe(o)
                if a != b { differing += 1 }
                if a.floodOneSided > 0 { flooded += 1 }
                if a.dnsQueries > 0 { dns += 1 }
            }
            #expect(differing == 0)
            // The mix reached the flood and DNS tables (the comparison is not vacuous).
            #expect(flooded > 100 && dns > 100)
            #expect(written.counters == zeroed.counters)
        }
    }
}
