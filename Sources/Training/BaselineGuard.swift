import Detection

/// The poisoning guard of `baseline`: a site's "normal" captures must not
/// teach the bundle an attack as normal. Two checks (docs/model-card.md,
/// "`baseline`: making it a site's own"):
///
/// 1. The parent bundle's classifiers, before any re-fit, must not find
///    attacks in the captures: flows over the threshold with an attack
///    class whose evidence holds (what the sensor would alert). An
///    ordinary site has a few false alerts, so the guard tolerates up to
///    `Policy.maxAttackShare` of the flows (and fewer than
///    `Policy.minAttackFlows` always), unless they form a campaign:
///    `Policy.campaignFlows` or more of one class at one host (as client or
///    server) — a flood, a scan, password guessing.
/// 2. The re-fitted bundle must still catch its canaries (`CanarySet`):
///    at least `Policy.minCanaryRecall` of each class.
package enum BaselineGuard {
    package struct Policy: Sendable {
        /// Attack flows tolerated, as a share of the captures' flows.
        package var maxAttackShare = 0.01
        /// Fewer attack flows than this are always tolerated (small captures).
        package var minAttackFlows = 5
        /// This many attack flows of one class sharing a host is a campaign.
        package var campaignFlows = 20
        /// Each class's canaries the re-fitted bundle must still catch.
        package var minCanaryRecall = 0.9
        package init() {}
    }

    /// A flow of the captures the parent bundle would alert on as an attack.
    package struct AttackFlow: Sendable, Equatable {
        /// Position in the captures' flows (time order).
        package var index: Int
        package var className: String
        package var score: Float
        /// The client and server, as the caller names hosts (campaigns group by them).
        package var client: String
        package var server: String
        package init(index: Int, className: String, score: Float, client: String, server: String) {
            self.index = index; self.className = className; self.score = score
            self.client = client; self.server = server
        }
    }

    /// Attack flows of one class at one host.
    package struct Campaign: Sendable, Equatable {
        package var className: String
        package var host: String
        /// "server" (flows to it) or "client" (flows from it).
        package var role: String
        package var flows: Int
    }

    package struct Findings: Sendable {
        package var flows: Int
        package var attackFlows: [AttackFlow]
        package var campaigns: [Campaign]
        package var canaryRecall: [CanarySet.ClassRecall]?
        package var policy: Policy

        package var attackShare: Double { flows > 0 ? Double(attackFlows.count) / Double(flows) : 0 }
        package var tooManyAttacks: Bool {
            attackFlows.count >= policy.minAttackFlows && attackShare > policy.maxAttackShare
        }
        /// Canary classes caught below `minCanaryRecall`.
        package var silencedCanaries: [CanarySet.ClassRecall] {
            (canaryRecall ?? []).filter { $0.recall < policy.minCanaryRecall }
        }
        /// Campaigns named in `reasons`, largest first.
        static let namedCampaigns = 4
        package var refuses: Bool { tooManyAttacks || !campaigns.isEmpty || !silencedCanaries.isEmpty }

        /// One sentence per reason to refuse (empty when there is none).
        package var reasons: [String] {
            var out: [String] = []
            if tooManyAttacks {
                out.append("\(attackFlows.count) of \(flows) flows (\(BaselineGuard.percent(attackShare))) are attacks to the bundle's classifiers, over the \(BaselineGuard.percent(policy.maxAttackShare)) tolerated")
            }
            for c in campaigns.prefix(Self.namedCampaigns) {
                out.append("campaign: \(c.flows) \(c.className) flows \(c.role == "server" ? "to" : "from") \(c.host)")
            }
            if campaigns.count > Self.namedCampaigns {
                out.append("and \(campaigns.count - Self.namedCampaigns) more campaign(s)")
            }
            for s in silencedCanaries {
                out.append("canaries: the re-fitted bundle would miss \(s.total - s.caught) of \(s.total) \(s.className) canaries (catches \(BaselineGuard.percent(s.recall)), needs \(BaselineGuard.percent(policy.minCanaryRecall)))")
            }
            return out
        }
    }

    /// Flows the parent bundle alerts on as attacks: over the threshold, an
    /// attack class (not benign, not "anomaly": novelty alone is what a new
    /// site is expected to show), and `supports(flow, class)` — the
    /// sensor's evidence gate.
    package static func attackFlows(verdicts: [Verdict], benignIndex: Int, supports: (Int, Int) -> Bool,
                                    hosts: (Int) -> (client: String, server: String)) -> [AttackFlow] {
        var out: [AttackFlow] = []
        for (i, v) in verdicts.enumerated()
        where v.score >= v.threshold && v.classIndex >= 0 && v.classIndex != benignIndex && supports(i, v.classIndex) {
            let h = hosts(i)
            out.append(AttackFlow(index: i, className: v.className, score: v.score, client: h.client, server: h.server))
        }
        return out
    }

    /// Campaigns among attack flows: `policy.campaignFlows` or more of one
    /// class to one server, or from one client; largest first.
    package static func campaigns(in flows: [AttackFlow], policy: Policy = .init()) -> [Campaign] {
        var toServer: [String: Int] = [:], fromClient: [String: Int] = [:]
        for f in flows {
            toServer[f.className + "\u{0}" + f.server, default: 0] += 1
            fromClient[f.className + "\u{0}" + f.client, default: 0] += 1
        }
        var out: [Campaign] = []
        for (role, table) in [("server", toServer), ("client", fromClient)] {
            for (key, n) in table where n >= policy.campaignFlows {
                let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
                out.append(Campaign(className: parts[0], host: parts.count > 1 ? parts[1] : "", role: role, flows: n))
            }
        }
        return out.sorted { ($0.flows, $0.className, $0.host) > ($1.flows, $1.className, $1.host) }
    }

    package static func assess(flows: Int, attackFlows: [AttackFlow], canaryRecall: [CanarySet.ClassRecall]?,
                               policy: Policy = .init()) -> Findings {
        Findings(flows: flows, attackFlows: attackFlows, campaigns: campaigns(in: attackFlows, policy: policy),
                 canaryRecall: canaryRecall, policy: policy)
    }

    /// "12.34 %"-style text with two decimals.
    static func percent(_ v: Double) -> String {
        let m = Int((v * 10000).rounded())
        return "\(m / 100).\(m % 100 < 10 ? "0" : "")\(m % 100) %"
    }
}
