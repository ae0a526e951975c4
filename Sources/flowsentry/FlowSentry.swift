import ArgumentParser

@main
struct FlowSentry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowsentry",
        abstract: "A network sensor: rebuilds flows from packets, computes their features, scores them.",
        subcommands: [Replay.self, FeaturesCommand.self, AlertsCommand.self, RunCommand.self, CheckConfigCommand.self])
}
