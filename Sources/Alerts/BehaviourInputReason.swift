import Behaviour
import Decoding
import Detection

/// One line naming what the behaviour inputs say when they are among the
/// features that pushed a model's score up (a positive contribution in the
/// explanation): "22 similar short sessions to 10.0.0.5:22 in 6 min". nil
/// when no behaviour input did. `values` are the flow's behaviour values.
public func behaviourInputReason(_ explanation: [Verdict.Contribution], values v: BehaviourValues,
                                 server: IPAddress, port: UInt16, domain: String = "") -> String? {
    guard let c = explanation.first(where: { $0.contribution > 0 && $0.feature.hasPrefix("beh_") }) else { return nil }
    let kind: BehaviourKind
    switch c.feature {
    case "beh_beaconing": kind = .beaconing
    case "beh_scanning": kind = .scanning
    case "beh_dns_tunnel": kind = .dnsTunnel
    default: kind = .repetition
    }
    return behaviourReason(BehaviourVerdict(kind: kind, score: kind.score(v), threshold: 0, values: v),
                           server: server, port: port, domain: domain)
}
