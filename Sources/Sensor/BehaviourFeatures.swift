import Behaviour
import Features

extension FeatureVector {
    /// Sets the behaviour features (docs/features.md, "Behaviour features")
    /// from the values the behaviour table returned for the flow: its four
    /// scores. The counts behind them (sessions, short and failed sessions)
    /// are written in the record's `behaviour {…}` but are not model inputs:
    /// how many sessions a pair makes depends on the network (a flood in the
    /// lab, a proxy elsewhere); the scores were defined to mean the same
    /// everywhere.
    mutating func setBehaviour(_ v: BehaviourValues) {
        self[.beh_repetition] = v.repetition
        self[.beh_beaconing] = v.beaconing
        self[.beh_scanning] = v.scanning
        self[.beh_dns_tunnel] = v.dnsTunnel
    }
}
