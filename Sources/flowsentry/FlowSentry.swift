import ArgumentParser
import Detection
import Sensor

@main
struct FlowSentry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowsentry",
        abstract: "A network sensor: rebuilds flows from packets, computes their features, scores them.",
        discussion: ExitStatus.discussion,
        version: BuildInfo.version,
        subcommands: [Replay.self, RunCommand.self, AlertsCommand.self, CheckConfigCommand.self,
                      FeaturesCommand.self, TrainCommand.self, EvaluateCommand.self, BaselineCommand.self,
                      ModelInfoCommand.self, AddCanariesCommand.self, DriftCommand.self])

    static func main() {
        // Before anything else: no OpenBLAS workers competing for the cores.
        BLASRuntime.singleThreaded()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let tree = RepeatedOptions.tree(of: self),
           let problem = RepeatedOptions.problem(in: arguments, tree: tree) {
            // Shaped like ArgumentParser's own usage errors, with the same exit code.
            let sub = configuration.subcommands.first { $0._commandName == problem.commandPath.last }
            let usage = sub.map { usageString(for: $0) } ?? usageString()
            FileHandleStderr.write("Error: \(problem.message)\nUsage: \(usage)\n"
                                   + "  See '\(problem.commandPath.joined(separator: " ")) --help' for more information.\n")
            exit(withError: ExitStatus.usage)
        }
        main(arguments)
    }
}
