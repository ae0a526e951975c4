import Alerts
import ArgumentParser
import Capture
import Foundation
import Indicators
import Sensor

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a YAML configuration file without starting capture — settings, the interface (exists), the BPF filter (compiled), every output path (writable), the metrics address (resolves), the model bundle, policy and indicator files (loaded) — and print 'ok' (exit 0) or the error (exit 2, as run would).",
        discussion: ExitStatus.discussion)

    @Argument(help: "The configuration file, e.g. /etc/flowsentry/flowsentry.yaml.")
    var file: String

    @Option(name: .customLong("interface"), help: "The interface the unit passes (--interface %i), if the file has none.")
    var interface: String?

    func run() throws {
        do throws(SensorConfigError) {
            var c = try SensorConfig.load(path: file)
            if let interface { c.interface = interface }
            // The unit gives the interface on the command line: only check the rest.
            let named = c.interface
            if c.interface == nil { c.interface = "(from --interface)" }
            try c.validate()
            if let name = named, !InterfaceInfo.exists(interface: name) {
                throw SensorConfigError(file: file, key: interface != nil ? "--interface" : "capture.interface",
                                        reason: "no interface named '\(name)' here (ip link lists them)")
            }
            for (key, name) in [("outputs.alerts", c.alerts), ("outputs.flows", c.flows), ("outputs.stats", c.stats)] {
                guard let path = c.outputPath(name), path != "-" else { continue }
                if let problem = OutputPathCheck.problem(path) {
                    // A relative name lives in outputs.directory: a missing or unwritable directory is that key's.
                    let inDirectory = c.outputDirectory != nil && !(name ?? "").hasPrefix("/") && problem.hasPrefix("the directory")
                    throw SensorConfigError(file: file, key: inDirectory ? "outputs.directory" : key, reason: "\(path): \(problem)")
                }
            }
            if let listen = c.metricsListen, let address = try? MetricsListenAddress.parse(listen) {
                do { _ = try address.resolve() } catch {
                    throw SensorConfigError(file: file, key: "metrics_listen", reason: "\"\(listen)\": \(error)")
                }
            }
            if let filter = try c.resolvedFilter(), let problem = BPFCheck.problem(in: filter) {
                let key = c.bpfFilterFile != nil ? "capture.bpf_filter_file" : "capture.bpf_filter"
                throw SensorConfigError(file: file, key: key, reason: "the BPF filter '\(filter)' does not compile: \(problem)")
            }
            if !c.indicatorFiles.isEmpty {
                do throws(IndicatorLoadError) {
                    print("\(file): " + (try IndicatorSet.load(paths: c.indicatorFiles)).summary)
                } catch {
                    throw SensorConfigError(file: file, key: "detection.indicators", reason: "\n\(error)")
                }
            }
            if c.scoring {
                do throws(any Error) {
                    let (_, _, what) = try loadModelAndPolicyDescribed(model: c.modelPath, policy: c.policyPath)
                    print("\(file): \(what)")
                } catch {
                    // The bundle (or finding one), else the policy beside it or named.
                    let key = error is PolicyError ? "detection.policy" : "detection.model"
                    throw SensorConfigError(file: file, key: key, reason: "\(error)")
                }
            }
        } catch {
            var e = error
            if e.file == nil { e.file = file }
            FileHandleStderr.write("flowsentry: error: \(e)\n")
            throw ExitStatus.cannotStart
        }
        print("\(file): ok")
    }
}

/// Whether a record file can be written where the config puts it: its
/// directory exists and is writable, and the file, if it exists, is a
/// writable regular file (the sensor appends to it).
enum OutputPathCheck {
    static func problem(_ path: String) -> String? {
        let fm = FileManager.default
        let dir = (path as NSString).deletingLastPathComponent
        let parent = dir.isEmpty ? "." : dir
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: parent, isDirectory: &isDir) else { return "the directory \(parent) does not exist" }
        guard isDir.boolValue else { return "\(parent) is not a directory" }
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return "is a directory, not a file" }
            if access(path, W_OK) != 0 { return "the file is not writable by this user" }
        } else if access(parent, W_OK) != 0 {
            return "the directory \(parent) is not writable by this user"
        }
        return nil
    }
}
