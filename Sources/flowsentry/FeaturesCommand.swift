import Alerts
import ArgumentParser
import Sensor

struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write the flows of captures as a feature table (one row per flow, a header naming each feature).",
        discussion: ExitStatus.discussion)

    @Argument(help: "Capture files (pcap or pcapng), read in order.")
    var captures: [String]

    @Option(help: "csv or jsonl.")
    var format: FeatureTableFormatter.Format = .csv

    @Option(name: .shortAndLong, help: "Output file ('-' for stdout).")
    var output: String = "-"

    @Flag(name: .customLong("no-sequence"), help: "Leave out the first-packets sequence columns.")
    var noSequence = false

    @OptionGroup var flowOptions: FlowOptions

    func validate() throws {
        if captures.isEmpty { throw ValidationError("give at least one capture file") }
        try flowOptions.validateOnDefaults()
    }

    func run() throws {
        let out: OutputFile
        do { out = try OutputFile(path: output) } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        let table = FeatureTableFormatter(format: format, includeSequence: !noSequence)
        var writeError: (any Error)?
        do { try out.write(table.header()) } catch { writeError = error }
        var json = JSONBuffer(reserve: 1 << 14)
        let pipeline = ReplayPipeline(config: flowOptions.tableConfig, filter: flowOptions.filter)
        pipeline.run(files: captures) { record, file in
            json.reset()
            table.append(record, pcapFilename: file, into: &json)
            do { try out.write(json.bytes) } catch { if writeError == nil { writeError = error } }
        }
        do { try out.flush() } catch { if writeError == nil { writeError = error } }
        for e in pipeline.summary.errors { FileHandleStderr.write("flowsentry: error: \(e)\n") }
        if let writeError { FileHandleStderr.write("flowsentry: error: \(writeError)\n") }
        FileHandleStderr.write(pipeline.summary.text + "\n")
        if !pipeline.summary.errors.isEmpty || writeError != nil { throw ExitStatus.failed }
    }
}

extension FeatureTableFormatter.Format: ExpressibleByArgument {}
