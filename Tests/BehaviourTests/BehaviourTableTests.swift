import AppLayer
import Decoding
import Foundation
import Testing
@testable import Behaviour

/// Sessions built by hand: an SSH-like short exchange (client 800 B, server
/// 1,200 B in 12 packets), answered, from 10.0.0.9 to 10.0.0.5:22.
func session(at seconds: Double, client: IPAddress = IPAddress(v4: 10, 0, 0, 9), server: IPAddress = IPAddress(v4: 10, 0, 0, 5),
             port: UInt16 = 22, proto: UInt8 = IPProto.tcp, clientBytes: UInt64 = 800, serverBytes: UInt64 = 1200,
             serverPackets: UInt64 = 12, outcome: SessionOutcome = .answered, duration: Double = 2) -> SessionObservation {
    let start = Int64(seconds * 1e9) + 1_700_000_000_000_000_000
    return SessionObservation(client: client, server: server, serverPort: port, proto: proto, startNs: start,
                              endNs: start + Int64(duration * 1e9), clientBytes: clientBytes, serverBytes: serverBytes,
                              clientIPBytes: clientBytes + 40 * 12, clientPackets: 12, serverPackets: serverPackets,
                              outcome: outcome)
}

@Suite struct BehaviourTableTests {
    @Test func similarShortSessionsAtAnAttackersPaceRepeat() {
        // Gaps alternate 4 s and 7 s: median 5.5, MAD 1.5, IQR 3 (< 10: no skew)
        // → ts = (1 + 4/5.5)/2 = 0.864; spread (7 − 4)/5.5 > 0.2: not a clock;
        // sizes equal (similarity 1); pace 1 (5.5 s ≤ 45 s); count (s − 2)/3 → 1
        // from the 5th; campaign span/20 s: the 3rd starts at 11 s (0.55 × 1/3 =
        // 0.183), the 4th at 15 s (0.75 × 2/3 = 0.5), the 5th at 22 s (1).
        let t = BehaviourTable()
        var at = 0.0, last = BehaviourValues()
        for i in 0..<11 {
            last = t.observe(session(at: at))
            at += i % 2 == 0 ? 4 : 7
            if i == 2 { #expect(last.repetition == 0.183) }
            if i == 3 { #expect(last.repetition == 0.5) }
            if i == 4 { #expect(last.repetition == 1) }
        }
        #expect(last.sessions == 11 && last.shortSessions == 11)
        #expect(last.tsScore == 0.864)
        #expect(last.repetition == 1)
        #expect(last.medianGapSeconds == 5.5)
    }

    @Test func aClockDrivenPollerDoesNotRepeatAndATypoDoesNot() {
        let t = BehaviourTable()
        var last = BehaviourValues()
        for i in 0..<20 { last = t.observe(session(at: Double(i) * 30)) }
        #expect(last.tsScore == 1)
        #expect(last.repetition == 0)
        let u = BehaviourTable()
        _ = u.observe(session(at: 0)); last = u.observe(session(at: 6))
        last = u.observe(session(at: 12, serverBytes: 90_000, serverPackets: 120, duration: 300))
        #expect(last.shortSessions == 2 && last.repetition == 0)
    }

    @Test func slowerThanTheNoPaceGapDoesNotRepeat() {
        let t = BehaviourTable()
        var last = BehaviourValues()
        for i in 0..<12 { last = t.observe(session(at: Double(i) * 100 + (i % 2 == 0 ? 0 : 9))) }
        #expect(last.medianGapSeconds >= 90)
        #expect(last.repetition == 0)
    }

    @Test func beaconComponentsFollowRITA() {
        // 14 sessions every 60 s, equal sizes: ts 1, ds 1, count min(1, 11/9, 780/120) = 1.
        let t = BehaviourTable()
        var last = BehaviourValues()
        for i in 0..<14 { last = t.observe(session(at: Double(i) * 60, port: 443, serverBytes: 9000, serverPackets: 20)) }
        #expect(last.tsScore == 1 && last.dsScore == 1 && last.countScore == 1)
        #expect(last.beaconing == 1)
        // Five sessions over 4 min: count = min((5 − 3)/9, 240/120) = 0.222; beaconing = 0.222 · (2 + 1)/3.
        let u = BehaviourTable()
        for i in 0..<5 { last = u.observe(session(at: Double(i) * 60, port: 443, serverBytes: 9000, serverPackets: 20)) }
        #expect(abs(last.countScore - 2.0 / 9) < 1e-12)
        #expect(last.beaconing == 0.222)
    }

    @Test func aResolverAndTimeSyncAreNotBeacons() {
        let t = BehaviourTable()
        var last = BehaviourValues()
        for i in 0..<20 {
            last = t.observe(session(at: Double(i) * 64, port: 53, proto: IPProto.udp, clientBytes: 40, serverBytes: 80))
        }
        #expect(last.beaconing == 0 && last.tsScore == 0)
        let u = BehaviourTable()
        for i in 0..<20 {
            var o = session(at: Double(i) * 64, port: 123, proto: IPProto.udp, clientBytes: 48, serverBytes: 48, serverPackets: 1)
            o.clientPackets = 1
            last = u.observe(o)
        }
        #expect(last.beaconExempt == .timeSync && last.beaconing == 0 && last.tsScore == 1)
    }

    @Test func aPollerOfThreeServersOnOneScheduleIsExempt() {
        let t = BehaviourTable()
        var last = BehaviourValues()
        for i in 0..<14 {
            for s in 1...3 {
                last = t.observe(session(at: Double(i) * 30 + Double(s), server: IPAddress(v4: 10, 0, 1, UInt8(s)), port: 80,
                                         serverBytes: 5000, serverPackets: 10))
            }
        }
        #expect(last.tsScore == 1 && last.beaconExempt == .poller && last.beaconing == 0)
    }

    @Test func failedFirstContactsWalkToScanner() {
        // Four unanswered SYNs to new hosts decide; the probes carry the score,
        // the scanner's answered session to a known host does not.
        let t = BehaviourTable()
        var v = BehaviourValues()
        for i in 0..<3 { v = t.observe(session(at: Double(i) * 60, server: IPAddress(v4: 10, 0, 2, UInt8(i)), outcome: .failed)) }
        #expect(!v.scanner && v.firstContact && abs(v.scanning - 3 * 1.3862943611198906 / 4.59511985013459) < 1e-9)
        v = t.observe(session(at: 200, server: IPAddress(v4: 10, 0, 2, 3), outcome: .failed))
        #expect(v.scanner && v.scanning == 1 && v.failedFirstContacts == 4)
        v = t.observe(session(at: 210, server: IPAddress(v4: 10, 0, 2, 3), outcome: .failed))
        #expect(!v.firstContact && v.scanning == 0 && v.scanner)
        // Vertical: new ports on one host are first contacts too.
        let u = BehaviourTable()
        for p in 1...4 { v = u.observe(session(at: Double(p), port: UInt16(1000 + p), outcome: .failed)) }
        #expect(v.scanner)
        // UDP and outcomes nobody can tell take no step.
        v = u.observe(session(at: 9, port: 53, proto: IPProto.udp, outcome: .answered))
        #expect(!v.firstContact && v.firstContacts == 4)
    }

    @Test func theWindowForgetsOldSessions() {
        let t = BehaviourTable()
        for i in 0..<5 { _ = t.observe(session(at: Double(i) * 5)) }
        let v = t.observe(session(at: 1800 + 600))
        #expect(v.sessions == 1 && v.shortSessions == 1)
    }

    @Test func aFullTableEvictsAndCounts() {
        var c = BehaviourConfig()
        c.pairCapacity = 16; c.clientCapacity = 16
        let t = BehaviourTable(config: c)
        for i in 0..<100 {
            _ = t.observe(session(at: Double(i), client: IPAddress(v4: 10, 1, UInt8(i / 256), UInt8(i % 256))))
        }
        #expect(t.counters.pairsHeld == 16 && t.counters.pairEvictions == 84)
        #expect(t.counters.clientsHeld == 16 && t.counters.clientEvictions == 84)
        #expect(t.counters.observed == 100)
        // Entries idle past the horizon are reused without counting an eviction.
        _ = t.observe(session(at: 100 + Double(c.beaconHorizonSeconds) + 1, client: IPAddress(v4: 10, 2, 0, 1)))
        #expect(t.counters.pairEvictions == 84)
    }

    /// A DNS query flow from 10.0.0.9 to its resolver with a question built by hand.
    func dnsQuery(at seconds: Double, domain: UInt64 = 7, subdomain: UInt64, length: UInt8, entropy: Float,
                  qtype: UInt16) -> SessionObservation {
        var o = session(at: seconds, server: IPAddress(v4: 10, 0, 0, 53), port: 53, proto: IPProto.udp,
                        clientBytes: 60, serverBytes: 120, serverPackets: 1)
        o.dns.present = true
        o.dns.qtype = qtype; o.dns.domainHash = domain; o.dns.subdomainHash = subdomain
        o.dns.subdomainLength = length; o.dns.subdomainEntropy = entropy
        return o
    }

    @Test func dnsTunnelScoreByHand() {
        // 40 TXT queries for 40 names whose hashes land on 40 different bits:
        // distinct = −512 ln(472/512) = 41.65; volume = (41.65 − 8)/(64 − 8) = 0.601;
        // TXT share 1 → dns_tunnel = 0.601.
        let t = BehaviourTable()
        var v = BehaviourValues()
        for i in 0..<40 { v = t.observe(dnsQuery(at: Double(i) * 5, subdomain: UInt64(i + 1), length: 8, entropy: 3, qtype: 16)) }
        let distinct = -512 * log(472.0 / 512)
        #expect(abs(v.dnsDistinctSubdomains - (distinct * 10).rounded() / 10) < 1e-9)
        #expect(v.dnsQueries == 40 && v.dnsDataTypeShare == 1)
        #expect(v.dnsTunnel == ((distinct - 8) / 56 * 1000).rounded() / 1000)
        // The same names as A queries, 8 characters long: the shape is long_random =
        // clamp((8 − 10)/20) = 0 → dns_tunnel 0. With 24-character names of entropy
        // 4.0 (bound log2 24 = 4.585): long_random = 0.7 × 4/4.585 = 0.611 → 0.601 × 0.611.
        let u = BehaviourTable()
        for i in 0..<40 { v = u.observe(dnsQuery(at: Double(i) * 5, subdomain: UInt64(i + 1), length: 8, entropy: 3, qtype: 1)) }
        #expect(v.dnsTunnel == 0)
        let w = BehaviourTable()
        for i in 0..<40 { v = w.observe(dnsQuery(at: Double(i) * 5, subdomain: UInt64(i + 1), length: 24, entropy: 4, qtype: 1)) }
        let longRandom = 0.7 * Double(Float(4)) / log2(24.0)
        #expect(abs(v.dnsMeanEntropy - Double(Float(4)) / log2(24.0)) < 1e-9)
        #expect(v.dnsTunnel == ((distinct - 8) / 56 * longRandom * 1000).rounded() / 1000)
        // Another domain of the same client is its own series; a repeated name adds no distinct name.
        v = w.observe(dnsQuery(at: 300, domain: 8, subdomain: 1, length: 24, entropy: 4, qtype: 16))
        #expect(v.dnsQueries == 1 && v.dnsTunnel == 0)
        v = w.observe(dnsQuery(at: 301, subdomain: 1, length: 24, entropy: 4, qtype: 1))
        #expect(v.dnsQueries == 41 && abs(v.dnsDistinctSubdomains - (distinct * 10).rounded() / 10) < 1e-9)
    }

    @Test func memoryPerEntryIsAsDocumented() {
        // docs/features.md: about 1.7 KiB a pair series, 0.4 KiB a client, 0.2 KiB a DNS series.
        #expect(BehaviourTable.bytesPerPair > 1_024 && BehaviourTable.bytesPerPair <= 1_800, "\(BehaviourTable.bytesPerPair) \(BehaviourTable.bytesPerClient) \(BehaviourTable.bytesPerDNSSeries)")
        #expect(BehaviourTable.bytesPerClient > 256 && BehaviourTable.bytesPerClient <= 512)
        #expect(BehaviourTable.bytesPerDNSSeries > 128 && BehaviourTable.bytesPerDNSSeries <= 256)
    }

    @Test func invalidSettingsAreNamed() {
        var c = BehaviourConfig()
        #expect(c.invalidSetting() == nil)
        c.windowSeconds = 10
        #expect(c.invalidSetting()?.key == "behaviour.window_seconds")
    }
}
