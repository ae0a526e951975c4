import ArgumentParser
import Sensor

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a YAML configuration file without starting capture: prints 'ok' (exit 0) or the error (exit 1).")

    @Argument(help: "The configuration file, e.g. /etc/flowsentry/flowsentry.yaml.")
    var file: String

    @Option(name: .customLong("interface"), help: "The interface the unit passes (--interface %i), if the file has none.")
    var interface: String?

    func run() throws {
        do {
            var c = try SensorConfig.load(path: file)
            if let interface { c.interface = interface }
            // The unit gives the interface on the command line: only check the rest.
            if c.interface == nil { c.interface = "(from --interface)" }
            try c.validate()
            _ = try c.resolvedFilter()
        } catch {
            var e = error
            if e.file == nil { e.file = file }
            FileHandleStderr.write("flowsentry: \(e)\n")
            throw ExitCode(1)
        }
        print("\(file): ok")
    }
}
