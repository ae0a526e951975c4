import ArgumentParser

/// The model options shared by `replay` and `run`.
struct ScoringOptions: ParsableArguments {
    @Option(help: "Model bundle (default: rules/flowsentry.fsb; for run, the config's detection.model first).")
    var model: String?

    @Option(help: "Detection policy (default: policy.yaml beside the model; for run, the config's detection.policy first).")
    var policy: String?

    @Flag(name: .customLong("no-score"), help: "Spine only: flow records, no models loaded, no alerts.")
    var noScore = false

    @Flag(name: .customLong("no-evidence-gate"),
          help: "Keep model verdicts whose class lacks its evidence across flows or in the protocol (a scan's failed contacts, a tunnel's DNS, …; docs/model-card.md).")
    var noEvidenceGate = false

    @Option(name: .customLong("indicators"),
            help: ArgumentHelp("Zeek Intel file of indicators matched on every flow, an alert per hit (repeat for several files; for run, replaces detection.indicators; docs/indicators.md).",
                               valueName: "file"))
    var indicators: [String] = []

    func validate() throws {
        if noScore && (model != nil || policy != nil) {
            throw ValidationError("--model/--policy make no sense with --no-score")
        }
    }
}
