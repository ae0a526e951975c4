import ArgumentParser

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "features", abstract: "Write flows as a feature table.")
    @Argument var captures: [String]
    func run() throws {}
}
