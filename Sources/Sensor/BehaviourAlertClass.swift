import Alerts
import Behaviour
import Flows

/// The attack class a flow alerts as by its behaviour across flows, decided
/// as the scoring stage decides it (`ScoringStage.judgeBehaviour`): of the
/// behaviours whose score reaches the policy's threshold, the strongest
/// (score over threshold) becomes the flow's verdict, and it alerts when the
/// policy lets it (not allowed, suppressed or disabled there). Nil when no
/// behaviour verdict would alert. Used where labelled flows are counted as
/// the sensor alerts them (`evaluate`, `evaluate --perturb`).
package func alertingBehaviourClass(_ v: BehaviourValues, record r: FlowRecord, policy: Policy) -> String? {
    var strongest: BehaviourKind?
    var bestRatio = 0.0
    for k in BehaviourKind.allCases {
        guard let t = policy.behaviourThreshold(k) else { continue }
        let score = k.score(v)
        guard score > 0, score >= t else { continue }
        let ratio = score / max(t, 1e-9)
        if ratio > bestRatio { bestRatio = ratio; strongest = k }
    }
    guard let k = strongest else { return nil }
    let decision = policy.decideBehaviour(k, src: r.srcIP, dst: r.dstIP, dstPort: r.hasTransportPorts ? r.dstPort : nil)
    if case .alert = decision { return k.className }
    return nil
}

/// Whether the flow's web-attack verdict (content in its requests, or its
/// series' guessed paths) reaches its threshold and would alert under
/// `policy`: then it names the flow's class over the models' (the sensor
/// sets the models' other class aside as `ml.model_class`; training and
/// evaluation leave only the web-attack class in the flow's evidence).
package func webAttackNamesClass(_ v: BehaviourValues, record r: FlowRecord, policy: Policy) -> Bool {
    guard let t = policy.behaviourThreshold(.webAttack), v.webAttack > 0, v.webAttack >= t else { return false }
    if case .alert = policy.decideBehaviour(.webAttack, src: r.srcIP, dst: r.dstIP, dstPort: r.hasTransportPorts ? r.dstPort : nil) {
        return true
    }
    return false
}
