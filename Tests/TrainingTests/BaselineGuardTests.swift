import Testing
@testable import Detection
@testable import Training

/// The poisoning guard's decisions on hand-made verdicts and counts: which
/// flows count as attacks, the 1 % tolerance, campaigns, canary recall, and
/// the site model version.
@Suite struct BaselineGuardTests {
    func verdict(_ cls: Int, _ name: String, score: Float, threshold: Float = 0.5) -> Verdict {
        Verdict(classIndex: cls, className: name, score: score, threshold: threshold, cnn: score, lstm: .nan, lof: .nan, ocsvm: .nan)
    }

    /// `n` attack flows of `cls`, client i → server `server(i)`.
    func attacks(_ n: Int, _ cls: String = "dos", client: (Int) -> String = { "10.0.0.\($0)" },
                 server: (Int) -> String = { "192.0.2.\($0)" }) -> [BaselineGuard.AttackFlow] {
        (0..<n).map { BaselineGuard.AttackFlow(index: $0, className: cls, score: 0.9, client: client($0), server: server($0)) }
    }

    @Test func attackFlowsAreAttackClassesOverTheThresholdWithEvidence() {
        let v = [
            verdict(0, "benign", score: 0.2),        // benign
            verdict(2, "dos", score: 0.9),           // an attack: counted
            verdict(2, "dos", score: 0.4),           // under the threshold
            verdict(-1, "anomaly", score: 0.9),      // novelty alone: what a new site shows
            verdict(1, "scan", score: 0.8),          // no evidence: the sensor would not alert
            verdict(3, "bruteforce", score: 0.5),    // at the threshold: counted
        ]
        let found = BaselineGuard.attackFlows(verdicts: v, benignIndex: 0, supports: { i, _ in i != 4 },
                                              hosts: { ("c\($0)", "s\($0)") })
        #expect(found.map(\.index) == [1, 5])
        #expect(found.map(\.className) == ["dos", "bruteforce"])
        #expect(found[0].client == "c1" && found[0].server == "s1")
    }

    @Test func aFewFalseAlertsAreTolerated() {
        // 1 % of 1,000 flows, each to its own host: an ordinary site's false alerts.
        let ok = BaselineGuard.assess(flows: 1000, attackFlows: attacks(10), canaryRecall: nil)
        #expect(!ok.refuses && ok.reasons.isEmpty)
        // 1.1 %: over the tolerance.
        let over = BaselineGuard.assess(flows: 1000, attackFlows: attacks(11), canaryRecall: nil)
        #expect(over.refuses && over.tooManyAttacks)
        #expect(over.reasons.first?.contains("11 of 1000 flows (1.10 %)") == true)
        // Small captures: under five attack flows never refuse on share alone.
        #expect(!BaselineGuard.assess(flows: 100, attackFlows: attacks(4), canaryRecall: nil).refuses)
        #expect(BaselineGuard.assess(flows: 100, attackFlows: attacks(5), canaryRecall: nil).refuses)
    }

    @Test func aCampaignIsRefusedUnderTheShare() {
        // 20 dos flows to one server among 100,000 (0.02 %): a flood, not noise.
        let flood = attacks(20, server: { _ in "198.51.100.7" })
        let f = BaselineGuard.assess(flows: 100_000, attackFlows: flood, canaryRecall: nil)
        #expect(!f.tooManyAttacks && f.refuses)
        #expect(f.campaigns == [.init(className: "dos", host: "198.51.100.7", role: "server", flows: 20)])
        #expect(f.reasons == ["campaign: 20 dos flows to 198.51.100.7"])
        // 19 are not yet a campaign.
        #expect(!BaselineGuard.assess(flows: 100_000, attackFlows: Array(flood.prefix(19)), canaryRecall: nil).refuses)
        // One client reaching 25 hosts: a scan, found by its source.
        let scan = attacks(25, "scan", client: { _ in "10.9.9.9" })
        let s = BaselineGuard.campaigns(in: scan)
        #expect(s == [.init(className: "scan", host: "10.9.9.9", role: "client", flows: 25)])
        // Two classes at one host are two groups of ten, not a campaign of twenty.
        let mixed = attacks(10, "dos", server: { _ in "h" }) + attacks(10, "scan", server: { _ in "h" })
        #expect(BaselineGuard.campaigns(in: mixed).isEmpty)
    }

    @Test func campaignsBeyondTheFirstFewAreCounted() {
        var flows: [BaselineGuard.AttackFlow] = []
        for h in 0..<6 { flows += attacks(20 + h, server: { _ in "s\(h)" }) }
        let f = BaselineGuard.assess(flows: 1_000_000, attackFlows: flows, canaryRecall: nil)
        #expect(f.campaigns.count == 6)
        #expect(f.campaigns.first?.host == "s5")   // largest first
        #expect(f.reasons.filter { $0.hasPrefix("campaign:") }.count == 4)
        #expect(f.reasons.last == "and 2 more campaign(s)")
    }

    @Test func canariesMustStillBeCaught() {
        let fine = [CanarySet.ClassRecall(className: "dos", caught: 9, total: 10),
                    CanarySet.ClassRecall(className: "scan", caught: 32, total: 32)]
        #expect(!BaselineGuard.assess(flows: 500, attackFlows: [], canaryRecall: fine).refuses)
        let silenced = [CanarySet.ClassRecall(className: "dos", caught: 7, total: 8),
                        CanarySet.ClassRecall(className: "scan", caught: 0, total: 32)]
        let f = BaselineGuard.assess(flows: 500, attackFlows: [], canaryRecall: silenced)
        #expect(f.refuses)
        #expect(f.silencedCanaries.map(\.className) == ["dos", "scan"])
        #expect(f.reasons.contains { $0.contains("would miss 1 of 8 dos canaries (catches 87.50 %, needs 90.00 %)") })
        #expect(f.reasons.contains { $0.contains("would miss 32 of 32 scan canaries") })
        // No canary set: nothing to check, nothing refused on it.
        #expect(!BaselineGuard.assess(flows: 500, attackFlows: [], canaryRecall: nil).refuses)
    }

    @Test func siteVersionReplacesAnEarlierSiteSuffix() {
        #expect(Baseline.siteVersion(parent: "flowsentry-ml-1.5", capturesDigest: "0123456789abcdef")
                == "flowsentry-ml-1.5+site.01234567")
        #expect(Baseline.siteVersion(parent: "flowsentry-ml-1.5+site.01234567", capturesDigest: "fedcba9876543210")
                == "flowsentry-ml-1.5+site.fedcba98")
    }
}
