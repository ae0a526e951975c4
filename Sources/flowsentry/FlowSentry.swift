import ArgumentParser
import Detection

@main
struct FlowSentry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowsentry",
        abstract: "A network sensor: rebuilds flows from packets, computes their features, scores them.",
        subcommands: [Replay.self, RunCommand.self, AlertsCommand.self, CheckConfigCommand.self,
                      FeaturesCommand.self, TrainCommand.self, EvaluateCommand.self, BaselineCommand.self])

    static func main() {
        // Before anything else: no OpenBLAS workers competing for the cores.
        BLASRuntime.singleThreaded()
        main(nil)
    }
}
