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

    @Test func aGuesserWithAFixedDelayRepeatsAPollerDoesNot() {
        // Tries every 5 s exactly (a clock: spread 0), each with a credential
        // of its own length: client bytes 760, 800, 840, 800 repeating, so the
        // most common count (800) is half the sessions — under 0.8, not the
        // same request each time: the clock excuses nothing. Similarity is
        // 1 − CV = 1 − 0.0354 = 0.965 (mean 800, σ = √((40² + 0 + 40² + 0)/4)
        // = 28.28; server sizes equal); count, pace and campaign are 1 by the
        // 6th try → repetition 0.965.
        let sizes: [UInt64] = [760, 800, 840, 800]
        let t = BehaviourTable()
        var last = BehaviourValues()
        for i in 0..<12 { last = t.observe(session(at: Double(i) * 5, clientBytes: sizes[i % 4])) }
        #expect(last.clockSpread == 0)
        #expect(last.sameRequestShare == 0.5)
        #expect(last.repetition == 0.965)
        // The same schedule with the same request every time is a poller's.
        let u = BehaviourTable()
        for i in 0..<12 { last = u.observe(session(at: Double(i) * 5)) }
        #expect(last.sameRequestShare == 1)
        #expect(last.repetition == 0)
    }

    @Test func aPollersScheduleShowsFromItsThirdSession() {
        // A mail check every 60 s, the same request each time: at the third
        // session two gaps of 60 s give spread 0 → clock 1 → repetition 0 and
        // a poller's schedule; at the second there is one gap, no clock yet.
        let t = BehaviourTable()
        let second = [0.0, 60].map { t.observe(session(at: $0, port: 110)) }.last!
        #expect(!second.pollerSchedule)
        let third = t.observe(session(at: 120, port: 110))
        #expect(third.clockSpread == 0 && third.pollerSchedule && third.repetition == 0)
        // Gaps of 60 and 70 s: spread 10/65 = 0.154, clock 1: a jittered schedule is a poller's.
        let j = BehaviourTable()
        let jittered = [0.0, 60, 130].map { j.observe(session(at: $0, port: 110)) }.last!
        #expect(jittered.pollerSchedule)
        // Gaps of 60 and 100 s: spread 40/80 = 0.5, clock (0.5 − 0.5)/0.2 = 0: not a poller's.
        let u = BehaviourTable()
        let uneven = [0.0, 60, 160].map { u.observe(session(at: $0, port: 110)) }.last!
        #expect(!uneven.pollerSchedule)
        // A jittered poller that paused for a minute keeps its schedule: of
        // gaps 3.7, 3.3, 54, 3.0 and 3.6 s (median 3.6) the pause is left out,
        // spread (3.7 − 3.0)/3.6 = 0.19.
        let w = BehaviourTable()
        let paused = [0.0, 3.7, 7.0, 61.0, 64.0, 67.6].map { w.observe(session(at: $0, port: 443)) }.last!
        #expect(abs(paused.clockSpread - 0.7 / 3.6) < 1e-6 && paused.pollerSchedule && paused.repetition == 0)
        // One long gap among two is no pause yet (median of 3.7 and 54 s is 28.9): no clock.
        let x = BehaviourTable()
        let early = [0.0, 3.7, 57.7].map { x.observe(session(at: $0, port: 443)) }.last!
        #expect(!early.pollerSchedule)
        // A different request each time is never a poller's.
        let v = BehaviourTable()
        let guesses = [0.0, 60, 120].enumerated().map { v.observe(session(at: $1, port: 110, clientBytes: 700 + UInt64($0) * 40)) }.last!
        #expect(!guesses.pollerSchedule)
    }

    @Test func refusedLoginsRepeatWhateverTheirPaceAndSizes() {
        // One refused login every 2 minutes (slower than the pace term's 90 s),
        // each of its own size: the size/pace formula gives 0, the refusals
        // (r − 1)/(3 − 1): 0, 0.5, then 1 from the third.
        func refused(_ t: Double, _ bytes: UInt64) -> SessionObservation {
            var o = session(at: t, port: 21, clientBytes: bytes)
            o.login = true; o.loginRefused = true
            return o
        }
        let t = BehaviourTable()
        let scores = (0..<4).map { t.observe(refused(Double($0) * 120, 300 + UInt64($0) * 97)).repetition }
        #expect(scores == [0, 0.5, 1, 1])
        #expect(t.observe(refused(480, 900)).refusedLoginSessions == 5)
        // A page fetched beside them is no login: only the size/pace formula speaks for it.
        let page = t.observe(session(at: 500, port: 21, clientBytes: 5000))
        #expect(page.repetition == 0 && page.refusedLoginSessions == 5)
        // The guess that got in is a login of the campaign: it carries the refusals before it.
        var accepted = session(at: 520, port: 21, clientBytes: 310)
        accepted.login = true
        #expect(t.observe(accepted).repetition == 1)
        // Past the 30-minute window the refusals are forgotten.
        #expect(t.observe(refused(520 + 1800 + 400, 333)).repetition == 0)
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

    @Test func udpFirstContactsAreCountedBesideTheWalk() {
        // A resolver: 20 authoritative servers answer, one is silent; a
        // second query to a server already seen is no first contact.
        let t = BehaviourTable()
        var v = BehaviourValues()
        for i in 0..<20 { v = t.observe(session(at: Double(i), server: IPAddress(v4: 192, 0, 2, UInt8(i)), port: 53, proto: IPProto.udp)) }
        v = t.observe(session(at: 21, server: IPAddress(v4: 198, 51, 100, 1), port: 53, proto: IPProto.udp, serverPackets: 0, outcome: .unknown))
        v = t.observe(session(at: 22, server: IPAddress(v4: 192, 0, 2, 3), port: 53, proto: IPProto.udp, serverPackets: 0, outcome: .unknown))
        #expect(v.udpFirstContacts == 21 && v.udpUnansweredFirstContacts == 1)
        // UDP takes no step of the TCP walk, and multicast is nobody's first contact.
        #expect(v.firstContacts == 0 && v.scanLLR == 0 && !v.scanner)
        var mdns = session(at: 23, server: IPAddress(v4: 224, 0, 0, 251), port: 5353, proto: IPProto.udp, serverPackets: 0, outcome: .unknown)
        mdns.serverIsUnicast = false
        v = t.observe(mdns)
        #expect(v.udpFirstContacts == 21)
        // A UDP port sweep of one host: every port new, nothing back.
        let u = BehaviourTable()
        for p in 1...6 { v = u.observe(session(at: Double(p), port: UInt16(p), proto: IPProto.udp, serverPackets: 0, outcome: .unknown)) }
        #expect(v.udpFirstContacts == 6 && v.udpUnansweredFirstContacts == 6)
    }

    @Test func aHostsICMPErrorsAreCountedAmongTheSessionsItStarted() {
        let t = BehaviourTable()
        var v = BehaviourValues()
        for i in 0..<5 { v = t.observe(session(at: Double(i), server: IPAddress(v4: 192, 0, 2, UInt8(i)), port: 53, proto: IPProto.udp)) }
        var error = session(at: 6, server: IPAddress(v4: 192, 0, 2, 9), port: 0, proto: IPProto.icmp, serverPackets: 0, outcome: .unknown)
        error.icmpError = true
        v = t.observe(error)
        v = t.observe(error)
        #expect(v.sessionsStarted == 7 && v.icmpErrorsSent == 2)
    }

    @Test func datagramsThatGotNothingBackAreCountedInTheirSeries() {
        let t = BehaviourTable()
        var v = BehaviourValues()
        for i in 0..<4 { v = t.observe(session(at: Double(i), port: 53, proto: IPProto.udp)) }
        v = t.observe(session(at: 5, port: 53, proto: IPProto.udp, serverPackets: 0, outcome: .unknown))
        #expect(v.sessions == 5 && v.unansweredSessions == 1)
        // TCP's unanswered SYNs are failed sessions, not these.
        v = t.observe(session(at: 6, port: 443, serverPackets: 0, outcome: .failed))
        #expect(v.sessions == 1 && v.failedSessions == 1 && v.unansweredSessions == 0)
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

    /// A look-up of name `name` under domain `domain` by `client` (A, 8 characters below the domain).
    func lookUp(at seconds: Double, client: IPAddress = IPAddress(v4: 10, 0, 0, 9), domain: UInt64 = 7,
                name: UInt64) -> SessionObservation {
        var o = dnsQuery(at: seconds, domain: domain, subdomain: name, length: 8, entropy: 3, qtype: 1)
        o.client = client
        return o
    }

    @Test func aDNSBeaconEveryTenSecondsScoresByHand() {
        // One look-up every 10 s, a fresh name each time, 540 client IP bytes
        // each: 16 beats, 15 gaps of 10 s. ts: IQR 0 → Bowley 0, MADM 0 →
        // (1 + 10/10)/2 = 1; ds 1 the same way; count = min((beats − 3)/9,
        // span/120, 1): 4 beats over 30 s → min(1/9, 0.25) = 0.111; 12 beats
        // over 110 s → min(1, 0.917) = 0.917; 13 beats over 120 s → 1.
        let t = BehaviourTable()
        var v = BehaviourValues()
        for i in 0..<16 {
            v = t.observe(lookUp(at: Double(i) * 10, name: UInt64(i + 1)))
            if i == 2 { #expect(v.dnsBeats == 3 && v.dnsBeaconing == 0 && v.dnsTsScore == 0) }
            if i == 3 { #expect(v.dnsBeaconing == 0.111 && v.beaconing == 0.111) }
            if i == 11 { #expect(v.dnsBeaconing == 0.917) }
            if i == 12 { #expect(v.dnsBeaconing == 1) }
        }
        #expect(v.dnsBeats == 16 && v.dnsMedianGapSeconds == 10)
        #expect(v.dnsTsScore == 1 && v.dnsDsScore == 1 && v.dnsCountScore == 1 && v.dnsGapSkew == 0 && v.dnsGapMAD == 0)
        #expect(v.dnsBeaconing == 1 && v.beaconing == 1 && v.beaconingIsDNS && v.dnsBeaconExempt == .none)
        // The ring keeps 16 beats: the 17th look-up pushes the first out.
        v = t.observe(lookUp(at: 160, name: 17))
        #expect(v.dnsBeats == 16)
    }

    @Test func aJitteredDNSBeaconScoresByHandAndAsAPairSeriesWould() {
        // ±2 s around 10 s, 15 gaps: sorted 8 8 8 9 9 9 10 10 10 11 11 11 12 12 12.
        // Q2 = 10, Q1 = median(8 8 8 9 9 9 10) = 9, Q3 = median(10 11 11 11 12 12 12) = 11:
        // IQR 2 < 10 → Bowley 0. |x − 10|: 2×3, 1×6, 0×3, 2×3 → sorted 0 0 0 1 1 1 1 1 1 2 2 2 2 2 2,
        // MADM = 1 → ts = ((1 − 0) + (10 − 1)/10)/2 = 0.95; ds 1; span 150 s → count 1;
        // beaconing = (2 × 0.95 + 1)/3 = 0.967.
        let jittered: [Double] = [8, 12, 9, 11, 10, 8, 12, 9, 11, 10, 8, 12, 9, 11, 10]
        let t = BehaviourTable()
        var v = t.observe(lookUp(at: 0, name: 1))
        var at = 0.0
        for (k, g) in jittered.enumerated() { at += g; v = t.observe(lookUp(at: at, name: UInt64(k + 2))) }
        #expect(v.dnsTsScore == 0.95 && v.dnsGapSkew == 0 && v.dnsGapMAD == 1 && v.dnsMedianGapSeconds == 10)
        #expect(v.dnsDsScore == 1 && v.dnsCountScore == 1 && v.dnsBeaconing == 0.967)
        // A 60 s beacon with a skewed jitter, gaps (in order) 55 80 45 70 50 65 47 72 52 60 49 75 53 68 54:
        // sorted 45 47 49 50 52 53 54 | 55 | 60 65 68 70 72 75 80. Q2 = 55, Q1 = 50, Q3 = 70, IQR 20 ≥ 10:
        // Bowley = (50 + 70 − 2·55)/20 = 0.5. |x − 55| sorted 0 1 2 3 5 5 6 8 10 10 13 15 17 20 25: MADM 8
        // → ts = round3(((1 − 0.5) + 47/55)/2) = round3(0.67727) = 0.677 (no gap is within 10 % of
        // 2…4 × 55: the pair series folds none either); ds 1; span 895 s → count 1;
        // beaconing = round3((2 × 0.677 + 1)/3) = 0.785.
        let skewed: [Double] = [55, 80, 45, 70, 50, 65, 47, 72, 52, 60, 49, 75, 53, 68, 54]
        let u = BehaviourTable(), pair = BehaviourTable()
        var p = BehaviourValues()
        at = 0
        v = u.observe(lookUp(at: 0, name: 1))
        p = pair.observe(session(at: 0, port: 443, clientBytes: 60, serverBytes: 9000, serverPackets: 20))
        for (k, g) in skewed.enumerated() {
            at += g
            v = u.observe(lookUp(at: at, name: UInt64(k + 2)))
            p = pair.observe(session(at: at, port: 443, clientBytes: 60, serverBytes: 9000, serverPackets: 20))
        }
        #expect(v.dnsGapSkew == 0.5 && v.dnsGapMAD == 8 && v.dnsTsScore == 0.677)
        #expect(v.dnsDsScore == 1 && v.dnsCountScore == 1 && v.dnsBeaconing == 0.785)
        // The same starts and client IP bytes as a pair series (to port 443) give the same
        // components: one function for both (DNS series do not fold missed beats; here none would be).
        #expect(p.tsScore == v.dnsTsScore && p.gapSkew == v.dnsGapSkew && p.gapMAD == v.dnsGapMAD)
        #expect(p.dsScore == v.dnsDsScore && p.countScore == v.dnsCountScore && p.beaconing == v.dnsBeaconing)
    }

    @Test func lookUpsWithinASecondOfEachOtherAreOneBeat() {
        // Every 10 s an A look-up and, 0.2 s later, its AAAA on a second socket
        // (a second flow); at 50 s a retry chain 0 → +0.6 → +1.2 s (each under
        // 1 s after the one before: one beat). 33 flows, 16 beats: gaps from a
        // beat's last query to the next one's first are 9.8 s, 8.8 s after the
        // chain. Sorted gaps: 8.8 then 14 × 9.8: median 9.8, MADM 0, IQR 0 → ts 1.
        // Bytes per beat 2 × 540 (3 × 540 for the chain): median 1,080, MADM 0 → ds 1.
        // Span 150.2 s → count 1: beaconing 1. Kept apart, the 32-flow ring of 16
        // would hold 8 look-ups (count (8 − 3)/9 = 0.556).
        let t = BehaviourTable()
        var v = BehaviourValues()
        for i in 0..<16 {
            let at = Double(i) * 10
            v = t.observe(lookUp(at: at, name: UInt64(i + 1)))
            v = t.observe(lookUp(at: at + 0.2, name: UInt64(i + 1)))
            if i == 5 { v = t.observe(lookUp(at: at + 1.2, name: UInt64(i + 1))) }
        }
        #expect(v.dnsBeats == 16 && v.dnsQueries == 33)
        #expect(abs(v.dnsMedianGapSeconds - 9.8) < 1e-6)
        #expect(v.dnsTsScore == 1 && v.dnsDsScore == 1 && v.dnsCountScore == 1 && v.dnsBeaconing == 1)
        // A query 1 s or more after the last one of a run is a new beat.
        let u = BehaviourTable()
        _ = u.observe(lookUp(at: 0, name: 1))
        v = u.observe(lookUp(at: 0.9, name: 1))
        #expect(v.dnsBeats == 1)
        v = u.observe(lookUp(at: 1.9, name: 1))
        #expect(v.dnsBeats == 2 && abs(v.dnsMedianGapSeconds - 1) < 1e-6)
        // Flows are observed out of order (a burst's queries end at their idle
        // timeouts, found by a sweep): beats at 0, 10, 20, 30, 40 s and a burst
        // after the third, observed as 0 10 20 21.2 20.6 20.3 20.9 30 40. 21.2 is
        // a beat of its own (1.2 s after 20) until 20.6 bridges the two: 5 beats,
        // gaps 10 10 8.8 10 (median 10).
        let w = BehaviourTable()
        for (k, at) in [0, 10, 20, 21.2, 20.6, 20.3, 20.9, 30, 40].enumerated() {
            v = w.observe(lookUp(at: at, name: UInt64(k + 1)))
            if k == 3 { #expect(v.dnsBeats == 4) }
            if k == 4 { #expect(v.dnsBeats == 3) }
        }
        #expect(v.dnsBeats == 5 && v.dnsMedianGapSeconds == 10)
        // A look-up older than every beat of a full ring is left out.
        let x = BehaviourTable()
        for i in 0..<16 { v = x.observe(lookUp(at: 100 + Double(i) * 10, name: UInt64(i + 1))) }
        v = x.observe(lookUp(at: 50, name: 99))
        #expect(v.dnsBeats == 16 && v.dnsMedianGapSeconds == 10)
    }

    @Test func theResolverStaysExemptWhileTheDNSBeaconScores() {
        // The client's look-ups of a beacon domain every 10 s and, between them,
        // of other domains at other times, all through one resolver: the pair
        // series to port 53 stays unscored (its components 0), the DNS series
        // of the beacon domain scores 1 as in the 10 s test.
        let t = BehaviourTable()
        var v = BehaviourValues()
        for i in 0..<16 {
            let at = Double(i) * 10
            _ = t.observe(lookUp(at: at + 3 + Double(i % 4), domain: 100 + UInt64(i), name: 1))
            v = t.observe(lookUp(at: at, name: UInt64(i + 1)))
        }
        #expect(v.sessions == 32 && v.hasSeriesStatistics)
        #expect(v.tsScore == 0 && v.dsScore == 0 && v.countScore == 0 && v.beaconExempt == .none)
        #expect(v.dnsBeaconing == 1 && v.beaconing == 1 && v.beaconingIsDNS)
        // The other domains are single look-ups: no beats to score.
        v = t.observe(lookUp(at: 200, domain: 100, name: 1))
        #expect(v.dnsBeats == 2 && v.dnsBeaconing == 0 && v.beaconing == 0 && !v.beaconingIsDNS)
    }

    @Test func aPollerOfThreeDomainsOnOneScheduleIsExempt() {
        // Three domains looked up every 30 s (1 s apart), one name each. Each
        // series: ts 1, ds 1, count (beats − 3)/9. At the 8th beat (count 5/9 =
        // 0.556 ≥ 0.5) each enters the client's periodic series: the first two
        // find 0 and 1 others on the schedule (not exempt, score 0.556), the
        // third finds 2 (poller); from the 9th beat all three are exempt.
        let t = BehaviourTable()
        var v = BehaviourValues(), highest = 0.0
        for i in 0..<20 {
            for d in 0..<3 {
                v = t.observe(lookUp(at: Double(i) * 30 + Double(d), domain: 7 + UInt64(d), name: 1))
                highest = max(highest, v.dnsBeaconing)
                if i == 7 { #expect(v.dnsBeaconExempt == (d == 2 ? .poller : .none)) }
                if i >= 8 { #expect(v.dnsBeaconExempt == .poller && v.dnsBeaconing == 0 && v.beaconing == 0) }
            }
        }
        #expect(highest == 0.556)
        #expect(v.dnsTsScore == 1 && v.dnsCountScore == 1)
    }

    @Test func aPollerResolvingTwoNamesUnderOneDomainIsExempt() {
        // A health poller: every 15 s it resolves portal (name 1) and, 8.5 s
        // later, intranet (name 2) under one domain, and polls three HTTP
        // servers. The DNS series' beats alternate 8.5 s and 6.5 s apart, but
        // the names recur: the timing is each name's, 15 s (ts 1), and two
        // names on the schedule of three periodic pair series → poller. Alone,
        // the same look-ups score as a beacon: the ring's 16 beats, from 180 s
        // to 293.5 s, span 113.5 s → count 113.5/120 (14 gaps: 15 beats, (15 −
        // 3)/9 > 1), ts 1, ds 1 → beaconing round3(0.9458) = 0.946.
        let t = BehaviourTable(), alone = BehaviourTable()
        var v = BehaviourValues(), w = BehaviourValues(), highest = 0.0
        for i in 0..<20 {
            let at = Double(i) * 15
            for s in 1...3 {
                _ = t.observe(session(at: at + 0.1 * Double(s), server: IPAddress(v4: 10, 0, 1, UInt8(s)), port: 80,
                                      serverBytes: 5000, serverPackets: 10))
            }
            v = t.observe(lookUp(at: at, name: 1)); highest = max(highest, v.dnsBeaconing)
            v = t.observe(lookUp(at: at + 8.5, name: 2)); highest = max(highest, v.dnsBeaconing)
            _ = alone.observe(lookUp(at: at, name: 1))
            w = alone.observe(lookUp(at: at + 8.5, name: 2))
        }
        #expect(v.dnsTimedPerName && abs(v.dnsMedianGapSeconds - 15) < 1e-6)
        #expect(v.dnsTsScore == 1 && v.dnsBeaconExempt == .poller && v.dnsBeaconing == 0)
        #expect(highest < 0.85)
        #expect(w.dnsTsScore == 1 && w.dnsBeaconExempt == .none && w.dnsBeaconing == 0.946)
    }

    @Test func theLookUpsOfAPeriodicSeriesAreThatSeries() {
        // A mail client resolves its server, then checks the mailbox (port 993),
        // every 60 s: the pair series is periodic (count ≥ 0.5 from its 8th
        // session), and from then on the DNS series on its schedule is its
        // look-ups (`lookups`), not a second beacon. Before: count ≤ 0.556.
        let t = BehaviourTable()
        var v = BehaviourValues(), highest = 0.0
        for i in 0..<16 {
            v = t.observe(lookUp(at: Double(i) * 60, name: 1))
            highest = max(highest, v.dnsBeaconing)
            _ = t.observe(session(at: Double(i) * 60 + 0.05, port: 993, serverBytes: 3000, serverPackets: 8))
        }
        #expect(v.dnsBeaconExempt == .lookups && v.dnsBeaconing == 0 && v.dnsTsScore == 1)
        #expect(highest == 0.556)
    }

    @Test func aDNSSeriesDoesNotFoldMissedBeats() {
        // Fresh names, gaps 9 10 11 10 9 11 10 10 and seven near 20 s: 20 19 21 20 22 18 20.
        // Sorted 9 9 10 10 10 10 11 | 11 | 18 19 20 20 20 21 22: median 11, Q1 10, Q3 20,
        // IQR 10 → Bowley (10 + 20 − 22)/10 = 0.8; |x − 11| sorted 0 0 1 1 1 1 2 2 7 8 9 9 9 10 11:
        // MADM 2 → ts = round3(((1 − 0.8) + 9/11)/2) = 0.509. A pair series with the same starts
        // folds 20 20 20 21 22 into two beats each (within 10 % of 2 × 11): ts above 0.95.
        let gaps: [Double] = [9, 10, 11, 10, 9, 11, 10, 10, 20, 19, 21, 20, 22, 18, 20]
        let t = BehaviourTable(), pair = BehaviourTable()
        var v = t.observe(lookUp(at: 0, name: 1))
        var p = pair.observe(session(at: 0, port: 443, clientBytes: 60, serverBytes: 9000, serverPackets: 20))
        var at = 0.0
        for (k, g) in gaps.enumerated() {
            at += g
            v = t.observe(lookUp(at: at, name: UInt64(k + 2)))
            p = pair.observe(session(at: at, port: 443, clientBytes: 60, serverBytes: 9000, serverPackets: 20))
        }
        #expect(abs(v.dnsGapSkew - 0.8) < 1e-9 && abs(v.dnsGapMAD - 2) < 1e-6 && v.dnsTsScore == 0.509)
        #expect(p.tsScore > 0.95 && p.countScore == 1)
    }

    @Test func recurringNamesAreTimedOnTheirOwnClocks() {
        // Under one domain: web look-ups (name 2) at 0, 2, 4 s, a mail check
        // (name 1) every 60 s from 14 to 314 s, web look-ups again at 334, 336,
        // 338 s. Beat gaps 2 2 10 60 60 60 60 60 20 2 2: median 20 (folded as
        // the pair series folds, each 60 s gap would be three of 20 s: ts 1,
        // beaconing 1). But 10 of the 11 gaps follow a look-up of the same name: timed per name,
        // 2 2 330 2 2 (web) and 60 × 5 (mail). Sorted 2 2 2 2 60 60 60 60 60
        // 330: median 60, Q1 2, Q3 60 = Q2 → Bowley 0; |x − 60|: 0 ×5, 58 ×4,
        // 270 → MADM (0 + 58)/2 = 29 → ts = round3((1 + 31/60)/2) = 0.758 (330
        // is 5.5 × 60: not folded). count = min((11 − 3)/9, 338/120) = 0.889;
        // ds 1 → beaconing = round3(8/9 × (2 × 0.758 + 1)/3) = 0.745.
        let t = BehaviourTable()
        var v = BehaviourValues()
        for at in [0.0, 2, 4] { v = t.observe(lookUp(at: at, name: 2)) }
        for i in 0..<6 { v = t.observe(lookUp(at: 14 + Double(i) * 60, name: 1)) }
        for at in [334.0, 336, 338] { v = t.observe(lookUp(at: at, name: 2)) }
        #expect(v.dnsBeats == 12 && v.dnsTimedPerName && abs(v.dnsMedianGapSeconds - 60) < 1e-6)
        #expect(v.dnsGapSkew == 0 && abs(v.dnsGapMAD - 29) < 1e-6 && v.dnsTsScore == 0.758)
        #expect(abs(v.dnsCountScore - 8.0 / 9) < 1e-12 && v.dnsBeaconing == 0.745)
    }

    @Test func randomLookUpsAndRareTimeSyncDoNotBeacon() {
        // Browsing: one domain looked up (fresh names) at irregular gaps, in
        // order 14 2 130 5 35 1.5 240 11 4 48 19 3 90 7 23. Sorted:
        // 1.5 2 3 4 5 7 11 | 14 | 19 23 35 48 90 130 240: Q2 14, Q1 4, Q3 48,
        // Bowley = (4 + 48 − 28)/44 = 0.545; |x − 14| sorted 0 3 5 7 9 9 10 11 12
        // 12.5 21 34 76 116 226: MADM 11 → (14 − 11)/14 = 0.214; no gap within
        // 10 % of 2…4 × 14 (none folded) → ts = round3((0.455 + 0.214)/2) = 0.334;
        // ds 1; span 632.5 s → count 1; beaconing = round3((2 × 0.334 + 1)/3) = 0.556.
        let irregular: [Double] = [14, 2, 130, 5, 35, 1.5, 240, 11, 4, 48, 19, 3, 90, 7, 23]
        let t = BehaviourTable()
        var v = t.observe(lookUp(at: 0, name: 1))
        var at = 0.0
        for (k, g) in irregular.enumerated() { at += g; v = t.observe(lookUp(at: at, name: UInt64(k + 2))) }
        #expect(abs(v.dnsGapSkew - 24.0 / 44) < 1e-12 && v.dnsGapMAD == 11 && v.dnsTsScore == 0.334)
        #expect(v.dnsCountScore == 1 && v.dnsBeaconing == 0.556 && v.beaconing < 0.85)
        // Time sync: the pool name resolved 4 times, 64 s apart: 3 gaps, count
        // min((4 − 3)/9, 192/120) = 0.111 → 0.111; three times: no score at all.
        let u = BehaviourTable()
        for i in 0..<4 { v = u.observe(lookUp(at: Double(i) * 64, domain: 123, name: 1)) }
        #expect(v.dnsTsScore == 1 && v.dnsBeaconing == 0.111)
        let w = BehaviourTable()
        for i in 0..<3 { v = w.observe(lookUp(at: Double(i) * 64, domain: 123, name: 1)) }
        #expect(v.dnsBeats == 3 && v.dnsBeaconing == 0)
    }

    @Test func memoryPerEntryIsAsDocumented() {
        // docs/features.md: about 1.9 KiB a pair series, 0.6 KiB a client, 0.5 KiB a DNS series
        // (224 B of windows and key, 16 beats of 16 B, the ring's head and count, a 16 B index slot).
        #expect(BehaviourTable.bytesPerPair > 1_024 && BehaviourTable.bytesPerPair <= 1_920, "\(BehaviourTable.bytesPerPair) \(BehaviourTable.bytesPerClient) \(BehaviourTable.bytesPerDNSSeries)")
        #expect(BehaviourTable.bytesPerClient > 256 && BehaviourTable.bytesPerClient <= 640)
        #expect(MemoryLayout<DNSBeat>.stride == 16)
        #expect(BehaviourTable.bytesPerDNSSeries > 384 && BehaviourTable.bytesPerDNSSeries <= 512, "\(BehaviourTable.bytesPerDNSSeries)")
        // A flood target: its address and last answer (32 B), six buckets of 48 B, a 16 B index slot.
        #expect(MemoryLayout<FloodBucket>.stride == 48)
        #expect(BehaviourTable.bytesPerTarget == 336, "\(BehaviourTable.bytesPerTarget)")
    }

    @Test func invalidSettingsAreNamed() {
        var c = BehaviourConfig()
        #expect(c.invalidSetting() == nil)
        c.windowSeconds = 10
        #expect(c.invalidSetting()?.key == "behaviour.window_seconds")
    }
}
