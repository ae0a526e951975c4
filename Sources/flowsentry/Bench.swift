import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure packet rates of the read loop, decode and the whole spine.")
    @Argument var capture: String
    func run() throws {}
}
