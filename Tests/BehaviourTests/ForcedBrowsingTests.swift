import Decoding
import Foundation
import Testing
@testable import AppLayer
@testable import Behaviour

/// Forced browsing across a pair series' connections
/// (`BehaviourTable.forcedBrowsingValues`), with HTTP answers set by hand;
/// expected scores worked out from the documented rule: misses at least half
/// of the series' responses in the window, the flow missed itself, score
/// min(1, 0.8 × distinct missed paths / 20) kept from 0.5 up, distinct paths
/// estimated by linear counting over 64 bits.
@Suite struct ForcedBrowsingTests {
    static let client = IPAddress(v4: 10, 0, 0, 66)
    static let server = IPAddress(v4: 10, 0, 0, 80)

    /// One HTTP connection with `responses` answers, `misses` of them 404/403 on the paths of `bits`.
    static func connection(at t: Double, responses: UInt32, misses: UInt32, bits: UInt64,
                           client: IPAddress = client) -> SessionObservation {
        var o = session(at: t, client: client, server: server, port: 80, clientBytes: 400, serverBytes: 900,
                        serverPackets: 6, duration: 0.2)
        o.httpResponses = responses; o.httpMisses = misses; o.httpMissedPaths = bits
        return o
    }

    /// The linear-counting estimate of `set` bits of 64, and the score it gives.
    static func expectedScore(bitsSet set: Int) -> Double {
        let distinct = (-64 * log(Double(64 - set) / 64)).rounded()
        let s = (min(1, 0.8 * distinct / 20) * 1000).rounded() / 1000
        return s >= 0.5 ? s : 0
    }

    @Test func aToolGuessingFivePathsAConnectionIsCaughtAcrossItsConnections() {
        let t = BehaviourTable()
        var scores: [Double] = []
        var last = BehaviourValues()
        // Ten connections of five guesses each, every one answered 404, each
        // connection's paths on five new bits.
        for k in 0..<10 {
            let bits = UInt64(0b11111) << UInt64(5 * k)
            last = t.observe(Self.connection(at: Double(k) * 2, responses: 5, misses: 5, bits: bits))
            scores.append(last.webAttack)
        }
        for k in 0..<10 { #expect(scores[k] == Self.expectedScore(bitsSet: 5 * (k + 1)), "connection \(k)") }
        // Two connections (10 paths, ~11 distinct) score nothing; four (20 bits, ~24 distinct) score.
        #expect(scores[1] == 0 && scores[3] >= 0.8 && scores[9] == 1)
        #expect(last.httpResponses == 50 && last.httpMisses == 50 && last.webAttackRequests == 50)
        #expect(WebAttackFamilies(rawValue: last.webAttackFamilies) == [.forcedBrowsing])
        // The same client's next connection fetches a page that is there: not part of the guessing.
        let page = t.observe(Self.connection(at: 30, responses: 3, misses: 0, bits: 0))
        #expect(page.webAttack == 0 && page.httpMisses == 50)
        // Another client's misses on the same server are its own series.
        let other = t.observe(Self.connection(at: 31, responses: 1, misses: 1, bits: 1,
                                              client: IPAddress(v4: 10, 0, 0, 67)))
        #expect(other.webAttack == 0 && other.httpMisses == 1)
    }

    @Test func missesAmongMoreHitsAreNoGuessing() {
        // A site with many broken links browsed by one client: 40 distinct
        // missed paths, but among 120 answers.
        let t = BehaviourTable()
        var v = BehaviourValues()
        for k in 0..<8 {
            v = t.observe(Self.connection(at: Double(k) * 20, responses: 15, misses: 5, bits: UInt64(0b11111) << UInt64(5 * k)))
        }
        #expect(v.httpMisses == 40 && v.httpResponses == 120 && v.httpMissedPaths >= 30 && v.webAttack == 0)
    }

    @Test func oneMissingURLPolledAllDayIsNoGuessing() {
        // A health check of an endpoint that was removed: 404 every 20 s, one path.
        let t = BehaviourTable()
        var v = BehaviourValues()
        for k in 0..<60 { v = t.observe(Self.connection(at: Double(k) * 20, responses: 1, misses: 1, bits: 1 << 17)) }
        #expect(v.httpMisses == 60 && v.httpMissedPaths == 1 && v.webAttack == 0)
    }

    @Test func guessesOlderThanTheWindowAreForgotten() {
        let t = BehaviourTable()
        var v = BehaviourValues()
        for k in 0..<8 { v = t.observe(Self.connection(at: Double(k), responses: 5, misses: 5, bits: UInt64(0b11111) << UInt64(5 * k))) }
        #expect(v.webAttack == 1)
        // 40 minutes later (the window is 30): one miss is one miss.
        v = t.observe(Self.connection(at: 2400, responses: 1, misses: 1, bits: 1))
        #expect(v.httpMisses == 1 && v.webAttack == 0)
    }
}
