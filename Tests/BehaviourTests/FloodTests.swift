import Decoding
import Testing
@testable import Behaviour

/// The flood score per target host (`BehaviourTable+Flood.swift`), with
/// sessions built by hand; expected scores worked out from the documented
/// ramps: one-sided sessions 100 → 300, unanswered requests 20 → 60.
@Suite struct FloodTests {
    static let target = IPAddress(v4: 10, 0, 0, 80)

    /// The nth of many distinct sources (spoofed ones, in a flood).
    static func source(_ n: Int) -> IPAddress { IPAddress(v4: 172, UInt8(16 + n / 65536 % 16), UInt8(n / 256 % 256), UInt8(n % 256)) }

    /// A SYN the target answered with a SYN-ACK that got nothing more (half-open).
    static func halfOpen(at t: Double, from client: IPAddress, port: UInt16 = 443) -> SessionObservation {
        session(at: t, client: client, server: target, port: port, clientBytes: 0, serverBytes: 0, serverPackets: 1,
                outcome: .answered, duration: 0)
    }

    @Test func aSpoofedSYNFloodScoresOnTheRampFromItsHundredthOneSidedSession() {
        let t = BehaviourTable()
        var scores: [Int: Double] = [:]
        for n in 1...320 {
            let v = t.observe(Self.halfOpen(at: Double(n) * 0.005, from: Self.source(n)))
            scores[n] = v.flooding
            if n == 320 { #expect(v.floodOneSided == 320 && v.floodSessions == 320 && v.floodPorts == 1 && v.floodSources > 200) }
        }
        #expect(scores[100] == 0 && scores[150] == 0.25 && scores[200] == 0.5 && scores[260] == 0.8 && scores[300] == 1)
    }

    @Test func aBusyServersClientsExchangeDataAndItsIdleConnectionsAreNoFlood() {
        let t = BehaviourTable()
        var v = BehaviourValues()
        // 600 ordinary exchanges and, after every second one, a connection
        // left idle (a browser's preconnect): a third of the target's sessions are one-sided.
        for n in 0..<600 {
            _ = t.observe(session(at: Double(n) * 0.05, client: Self.source(n), server: Self.target, port: 443))
            if n % 2 == 1 { v = t.observe(Self.halfOpen(at: Double(n) * 0.05 + 0.01, from: Self.source(1000 + n))) }
        }
        #expect(v.floodOneSided == 300 && v.floodSessions == 900 && v.flooding == 0)
        // Ordinary exchanges are not scored at all.
        v = t.observe(session(at: 41, client: Self.source(5), server: Self.target, port: 443))
        #expect(v.flooding == 0 && v.floodWindowSeconds == 0)
    }

    @Test func oneSourcesEmptyProbesOverManyPortsAreAScanItsBulkDatagramsAFlood() {
        let t = BehaviourTable()
        var v = BehaviourValues()
        // A SYN scan of 400 ports, each refused with a RST.
        for p in 1...400 {
            v = t.observe(session(at: Double(p) * 0.01, client: Self.source(1), server: Self.target, port: UInt16(p),
                                  clientBytes: 0, serverBytes: 0, serverPackets: 1, outcome: .failed, duration: 0))
        }
        #expect(v.floodOneSided == 400 && v.floodSources == 1 && v.floodPorts > 4 && v.flooding == 0)
        // The same source's 300-byte datagrams over 400 ports of another host
        // (hping3 --udp -p ++N), which answers some of them with unreachables.
        let other = IPAddress(v4: 10, 0, 0, 81)
        for p in 1...400 {
            var datagram = session(at: 5 + Double(p) * 0.001, client: Self.source(1), server: other, port: UInt16(p),
                                   proto: IPProto.udp, clientBytes: 300, serverBytes: 0, serverPackets: 0, outcome: .unknown)
            datagram.clientPackets = 1
            v = t.observe(datagram)
            if p == 1 {
                var unreachable = session(at: 5.001, client: other, server: Self.source(1), port: 0, proto: IPProto.icmp,
                                          serverPackets: 0, outcome: .unknown)
                unreachable.icmpError = true
                _ = t.observe(unreachable)
            }
        }
        #expect(v.flooding == 1)
    }

    @Test func requestsHeldOpenWithoutAnAnswerFromOneClientAreASlowFlood() {
        let t = BehaviourTable()
        var scores: [Int: Double] = [:]
        // slowloris: connections the server accepted, partial headers it never answered.
        for n in 1...60 {
            let v = t.observe(session(at: Double(n) * 0.01, client: Self.source(1), server: Self.target, port: 80,
                                      clientBytes: 300, serverBytes: 0, serverPackets: 5, duration: 30))
            scores[n] = v.flooding
            if n == 60 { #expect(v.floodRequests == 60 && v.floodOneSided == 60) }
        }
        #expect(scores[20] == 0 && scores[40] == 0.5 && scores[60] == 1)
    }

    @Test func aTargetTheCaptureNeverShowsAnsweringIsNotScoredUntilItDoes() {
        let t = BehaviourTable()
        var v = BehaviourValues()
        // A capture of one direction: 300 clients' look-ups, none answered.
        for n in 0..<300 {
            v = t.observe(session(at: Double(n) * 0.01, client: Self.source(n), server: Self.target, port: 53, proto: IPProto.udp,
                                  clientBytes: 40, serverBytes: 0, serverPackets: 0, outcome: .unknown))
        }
        #expect(v.floodOneSided == 300 && !v.floodTargetHeard && v.flooding == 0)
        // The target starts a session of its own: its side shows.
        _ = t.observe(session(at: 3.5, client: Self.target, server: IPAddress(v4: 192, 0, 2, 1), port: 53, proto: IPProto.udp))
        v = t.observe(session(at: 3.6, client: Self.source(300), server: Self.target, port: 53, proto: IPProto.udp,
                              clientBytes: 40, serverBytes: 0, serverPackets: 0, outcome: .unknown))
        #expect(v.floodTargetHeard && v.flooding == 1)
    }

    @Test func aCaptureOfOneDirectionStillShowsASYNFloodAndBulkDatagrams() {
        // StopDDoS-style captures hold only what reached the victim.
        let t = BehaviourTable()
        var v = BehaviourValues()
        for n in 1...300 {
            v = t.observe(session(at: Double(n) * 0.001, client: Self.source(n), server: Self.target, port: 25565,
                                  clientBytes: 0, serverBytes: 0, serverPackets: 0, outcome: .failed, duration: 0))
        }
        #expect(!v.floodTargetHeard && v.flooding == 1)
        // An amplification flood: reflectors' large answers to the victim's ports.
        let victim = IPAddress(v4: 10, 0, 0, 82)
        for n in 1...300 {
            var answer = session(at: 1 + Double(n) * 0.001, client: Self.source(n), server: victim, port: UInt16(1024 + n),
                                 proto: IPProto.udp, clientBytes: 1400, serverBytes: 0, serverPackets: 0, outcome: .unknown)
            answer.clientPackets = 1
            v = t.observe(answer)
        }
        #expect(!v.floodTargetHeard && v.flooding == 1)
    }

    @Test func theICMPErrorsAFloodedHostSendsCarryItsScore() {
        let t = BehaviourTable()
        for n in 1...300 { _ = t.observe(Self.halfOpen(at: Double(n) * 0.001, from: Self.source(n), port: 5060)) }
        var error = session(at: 0.5, client: Self.target, server: Self.source(7), port: 0, proto: IPProto.icmp,
                            serverPackets: 0, outcome: .unknown)
        error.icmpError = true
        let v = t.observe(error)
        #expect(v.flooding == 1 && v.floodTargetIsClient && v.floodOneSided == 300)
        // Another host's errors are not the flood's.
        var elsewhere = error
        elsewhere.client = IPAddress(v4: 10, 9, 9, 9)
        #expect(t.observe(elsewhere).flooding == 0)
    }

    @Test func theFloodWindowForgetsOldSessions() {
        let t = BehaviourTable()
        for n in 1...300 { _ = t.observe(Self.halfOpen(at: Double(n) * 0.001, from: Self.source(n))) }
        let v = t.observe(Self.halfOpen(at: 61, from: Self.source(301)))
        #expect(v.floodOneSided == 1 && v.flooding == 0)
    }

    @Test func multicastTargetsAreNotCounted() {
        let t = BehaviourTable()
        var v = BehaviourValues()
        for n in 0..<300 {
            var o = session(at: Double(n) * 0.01, client: Self.source(n), server: IPAddress(v4: 239, 255, 255, 250), port: 1900,
                            proto: IPProto.udp, clientBytes: 200, serverBytes: 0, serverPackets: 0, outcome: .unknown)
            o.serverIsUnicast = false
            v = t.observe(o)
        }
        #expect(v.flooding == 0 && v.floodOneSided == 0 && t.counters.targetsHeld == 0)
    }

    @Test func aFullTargetTableEvictsAndCounts() {
        var c = BehaviourConfig()
        c.targetCapacity = 16
        let t = BehaviourTable(config: c)
        for n in 0..<100 { _ = t.observe(Self.halfOpen(at: Double(n) * 0.01, from: Self.source(1)).with(server: Self.source(500 + n))) }
        #expect(t.counters.targetsHeld == 16 && t.counters.targetEvictions == 84)
    }

    @Test func floodSettingsAreChecked() {
        var c = BehaviourConfig()
        c.floodSessionsHigh = c.floodSessionsLow
        #expect(c.invalidSetting()?.key == "behaviour.flood_sessions_high")
        c = BehaviourConfig()
        c.targetCapacity = 8
        #expect(c.invalidSetting()?.key == "behaviour.target_capacity")
    }

    @Test func distinctEstimatesFollowLinearCounting() {
        #expect(BehaviourTable.distinctEstimate(0) == 0 && BehaviourTable.distinctEstimate(1) == 1)
        #expect(BehaviourTable.distinctEstimate(.max) == 266)
        // 32 of 64 bits set: 64·ln 2 ≈ 44.
        #expect(BehaviourTable.distinctEstimate(0xFFFF_FFFF) == 44)
    }
}

extension SessionObservation {
    func with(server: IPAddress) -> SessionObservation {
        var o = self
        o.server = server
        return o
    }
}
