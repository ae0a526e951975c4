import Alerts
import ArgumentParser
import Flows
import Sensor
#if canImport(Glibc)
import Glibc
#endif

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay pcap/pcapng files and write one EVE-style JSON line per finished flow.")

    @Argument(help: "Capture files (pcap or pcapng), read in order.")
    var captures: [String]

    @Option(help: "Where to write flow records ('-' for stdout).")
    var flows: String?

    @OptionGroup var flowOptions: FlowOptions

    @Option(name: .customLong("sensor-name"), help: "Sensor name written as 'host' in every record.")
    var sensorName: String?

    @Option(name: .customLong("community-id-seed"), help: "Community ID seed (0-65535).")
    var communityIDSeed: UInt16 = 0

    @Flag(name: .customLong("no-sequence"), help: "Leave the first-packets sequence out of flow records.")
    var noSequence = false

    func validate() throws {
        if captures.isEmpty { throw ValidationError("give at least one capture file") }
        if flows == nil { throw ValidationError("give --flows FILE (or --flows - for stdout)") }
    }

    func run() throws {
        let out: OutputFile
        do { out = try OutputFile(path: flows ?? "-") } catch {
            FileHandleStderr.write("flowsentry: \(error)\n")
            throw ExitCode(2)
        }
        var context = EveContext()
        context.host = sensorName
        context.communityIDSeed = communityIDSeed
        context.includeSequence = !noSequence
        var formatter = EveFlowFormatter(context: context)
        var json = JSONBuffer(reserve: 1 << 16)
        let pipeline = ReplayPipeline(config: flowOptions.tableConfig, filter: flowOptions.filter)
        var writeError: (any Error)?
        pipeline.run(files: captures) { record, file in
            formatter.context.pcapFilename = file
            json.reset()
            formatter.append(record, into: &json)
            do { try out.write(json.bytes) } catch { if writeError == nil { writeError = error } }
        }
        do { try out.flush() } catch { if writeError == nil { writeError = error } }
        for e in pipeline.summary.errors { FileHandleStderr.write("flowsentry: error: \(e)\n") }
        if let writeError { FileHandleStderr.write("flowsentry: error: \(writeError)\n") }
        FileHandleStderr.write(pipeline.summary.text + "\n")
        if !pipeline.summary.errors.isEmpty || writeError != nil { throw ExitCode(1) }
    }
}

enum FileHandleStderr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}
