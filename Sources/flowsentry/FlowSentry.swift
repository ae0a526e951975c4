import ArgumentParser

@main
struct FlowSentry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowsentry",
        abstract: "A network sensor: rebuilds flows from packets, computes their features, scores them.",
        subcommands: [Replay.self, FeaturesCommand.self, TrainCommand.self, EvaluateCommand.self, BaselineCommand.self, AlertsCommand.self])
}
