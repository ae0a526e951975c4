import Alerts
import ArgumentParser
import Capture
import Sensor

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a YAML configuration file without starting capture — settings, the BPF filter (compiled), the model bundle and policy (loaded) — and print 'ok' (exit 0) or the error (exit 1).")

    @Argument(help: "The configuration file, e.g. /etc/flowsentry/flowsentry.yaml.")
    var file: String

    @Option(name: .customLong("interface"), help: "The interface the unit passes (--interface %i), if the file has none.")
    var interface: String?

    func run() throws {
        do throws(SensorConfigError) {
            var c = try SensorConfig.load(path: file)
            if let interface { c.interface = interface }
            // The unit gives the interface on the command line: only check the rest.
            if c.interface == nil { c.interface = "(from --interface)" }
            try c.validate()
            if let filter = try c.resolvedFilter(), let problem = BPFCheck.problem(in: filter) {
                let key = c.bpfFilterFile != nil ? "capture.bpf_filter_file" : "capture.bpf_filter"
                throw SensorConfigError(file: file, key: key, reason: "the BPF filter '\(filter)' does not compile: \(problem)")
            }
            if c.scoring {
                do throws(any Error) {
                    let (m, _) = try loadModelAndPolicy(model: c.modelPath, policy: c.policyPath)
                    print("\(file): model \(m.meta.modelVersion)")
                } catch {
                    // The bundle (or finding one), else the policy beside it or named.
                    let key = error is PolicyError ? "detection.policy" : "detection.model"
                    throw SensorConfigError(file: file, key: key, reason: "\(error)")
                }
            }
        } catch {
            var e = error
            if e.file == nil { e.file = file }
            FileHandleStderr.write("flowsentry: \(e)\n")
            throw ExitCode(1)
        }
        print("\(file): ok")
    }
}
