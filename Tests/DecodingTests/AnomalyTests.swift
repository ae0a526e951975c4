import Testing
@testable import Decoding

@Suite struct AnomalyTests {
    @Test func rawValuesIndexTheCounters() {
        // AnomalyCounters indexes by raw value: they must be 0..<count in order.
        for (i, a) in Anomaly.allCases.enumerated() { #expect(Int(a.rawValue) == i, "\(a)") }
        #expect(Anomaly.none.rawValue == 0)
    }

    @Test func namesAreUniqueSnakeCase() {
        let names = Anomaly.allCases.map(\.name)
        #expect(Set(names).count == names.count)
        for n in names {
            #expect(!n.isEmpty && n.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 },
                    "\(n) is not snake_case")
            #expect(!n.hasPrefix("_") && !n.hasSuffix("_") && !n.contains("__"))
        }
        // Names the summaries and stats records print (docs, dashboards).
        #expect(Anomaly.none.name == "none" && Anomaly.notIP.name == "not_ip")
        #expect(Anomaly.truncatedLink.name == "truncated_link_header")
        #expect(Anomaly.ipLengthExceedsWire.name == "ip_length_exceeds_wire")
    }

    @Test func onlySkippedNonIPIsNotMalformed() {
        let notMalformed = Anomaly.allCases.filter { !$0.isMalformed }
        #expect(Set(notMalformed) == [.none, .notIP, .unsupportedPPPProtocol, .unsupportedGREProtocol])
        // Every truncation is malformed.
        for a in Anomaly.allCases where a.name.hasPrefix("truncated") { #expect(a.isMalformed, "\(a)") }
    }

    @Test func countersBumpMergeAndTotalLeaveOutNone() {
        var c = AnomalyCounters()
        #expect(c.counts.count == Anomaly.allCases.count && c.totalSkipped == 0)
        c.bump(.none); c.bump(.none)
        c.bump(.truncatedTCP); c.bump(.notIP); c.bump(.truncatedTCP)
        #expect(c[.truncatedTCP] == 2 && c[.notIP] == 1 && c[.none] == 2)
        #expect(c.totalSkipped == 3)
        var d = AnomalyCounters()
        d.bump(.encapsulationTooDeep); d.bump(.truncatedTCP)
        c.merge(d)
        #expect(c[.truncatedTCP] == 3 && c[.encapsulationTooDeep] == 1 && c.totalSkipped == 5)
        #expect(d.totalSkipped == 2)
    }

    @Test func countersWrapInsteadOfTrapping() {
        var c = AnomalyCounters()
        c.counts[Int(Anomaly.udpBadLength.rawValue)] = .max
        c.bump(.udpBadLength)
        #expect(c[.udpBadLength] == 0)
    }
}
