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

    @Option(help: "Where to write alerts ('-' for stdout).")
    var alerts: String?

    @OptionGroup var scoring: ScoringOptions

    @Flag(name: .customLong("no-explain"), help: "Leave explanations out of alerts (faster on floods).")
    var noExplain = false

    @OptionGroup var flowOptions: FlowOptions

    @Option(name: .customLong("sensor-name"), help: "Sensor name written as 'host' in every record.")
    var sensorName: String?

    @Option(name: .customLong("community-id-seed"), help: "Community ID seed (0-65535).")
    var communityIDSeed: UInt16 = 0

    @Flag(name: .customLong("no-sequence"), help: "Leave the first-packets sequence out of flow records.")
    var noSequence = false

    func validate() throws {
        if captures.isEmpty { throw ValidationError("give at least one capture file") }
        if flows == nil && alerts == nil { throw ValidationError("give --flows FILE and/or --alerts FILE ('-' for stdout)") }
        if scoring.noScore && alerts != nil { throw ValidationError("--alerts needs scoring; drop --no-score") }
        if flows == "-" && alerts == "-" { throw ValidationError("--flows and --alerts cannot both go to stdout") }
    }

    func run() throws {
        // Load the model and policy first: a bad bundle fails here, not at the first flow.
        var stage: ScoringStage?
        if !scoring.noScore {
            do {
                let (m, p) = try loadModelAndPolicy(model: scoring.model, policy: scoring.policy)
                stage = ScoringStage(model: m, policy: p)
                stage?.explain = !noExplain
            } catch {
                FileHandleStderr.write("flowsentry: error: \(error)\n")
                throw ExitCode(2)
            }
        }
        let out: OutputFile?, alertOut: OutputFile?
        do {
            out = try flows.map { try OutputFile(path: $0) }
            alertOut = try alerts.map { try OutputFile(path: $0) }
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
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
        var alertFormatter = EveAlertFormatter(context: context, modelVersion: stage?.model.meta.modelVersion ?? "")
        var pending: [FlowRecord] = []
        var pendingFiles: [String] = []
        var pendingSources: [Int32] = []
        var files: [String] = []  // capture files in the order read; a closing alert names its flow's
        var scored: [ScoredVerdict] = []
        pending.reserveCapacity(256)
        /// Writes the closing aggregate alerts due before record `position` (all of them when nil).
        func writeClosing(_ stage: ScoringStage, _ c: inout Int, before position: Int?) {
            let closing = stage.closing
            var wrote = false
            while c < closing.count && (position.map { closing[c].position <= $0 } ?? true) {
                if let alertOut {
                    let f = Int(closing[c].flow.source)
                    alertFormatter.context.pcapFilename = f < files.count ? files[f] : nil
                    json.reset()
                    alertFormatter.appendClosing(closing[c], into: &json)
                    do { try alertOut.write(json.bytes) } catch { if writeError == nil { writeError = error } }
                }
                c += 1
                wrote = true
            }
            if wrote { alertFormatter.context.pcapFilename = formatter.context.pcapFilename }
        }
        func write() {
            if let stage { stage.score(pending, sources: pendingSources, into: &scored) }
            var c = 0
            for i in pending.indices {
                if let stage, !stage.closing.isEmpty { writeClosing(stage, &c, before: i) }
                if formatter.context.pcapFilename != pendingFiles[i] {
                    // Encoded once per file, not per record.
                    formatter.context.pcapFilename = pendingFiles[i]
                    alertFormatter.context.pcapFilename = pendingFiles[i]
                }
                if let out {
                    json.reset()
                    if stage != nil {
                        let s = scored[i]
                        formatter.append(pending[i], verdict: { writeVerdictSummary(s, into: &$0) }, alerted: s.alerted, into: &json)
                    } else {
                        formatter.append(pending[i], into: &json)
                    }
                    do { try out.write(json.bytes) } catch { if writeError == nil { writeError = error } }
                }
                if let alertOut, stage != nil, scored[i].alerted {
                    json.reset()
                    alertFormatter.append(pending[i], scored[i], into: &json)
                    do { try alertOut.write(json.bytes) } catch { if writeError == nil { writeError = error } }
                }
            }
            if let stage, !stage.closing.isEmpty { writeClosing(stage, &c, before: nil); stage.clearClosing() }
            pending.removeAll(keepingCapacity: true)
            pendingFiles.removeAll(keepingCapacity: true)
            pendingSources.removeAll(keepingCapacity: true)
        }
        pipeline.run(files: captures) { record, file in
            if files.last != file { files.append(file) }
            pending.append(record)
            pendingFiles.append(file)
            pendingSources.append(Int32(files.count - 1))
            if pending.count >= 256 { write() }
        }
        write()
        if let stage {
            // End of input: the flows folded after each key's last alert get their closing alert.
            stage.finish()
            var c = 0
            if !stage.closing.isEmpty { writeClosing(stage, &c, before: nil); stage.clearClosing() }
        }
        do { try out?.flush(); try alertOut?.flush() } catch { if writeError == nil { writeError = error } }
        for e in pipeline.summary.errors { FileHandleStderr.write("flowsentry: error: \(e)\n") }
        if let writeError { FileHandleStderr.write("flowsentry: error: \(writeError)\n") }
        for f in [out, alertOut].compactMap({ $0 }) where f.pendingRecords > 0 || f.recordsDropped > 0 {
            // Disk full or an I/O error: say how many records are missing from the file.
            FileHandleStderr.write("flowsentry: error: \(f.path): \(f.pendingRecords + Int(f.recordsDropped)) records not written"
                                   + (f.failure.map { " (\($0))" } ?? "") + "\n")
        }
        FileHandleStderr.write(pipeline.summary.text + "\n")
        if let c = stage?.counters {
            let byClass = c.alerts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            FileHandleStderr.write("  scored \(c.flowsScored) flows: \(c.suspicious) suspicious, \(c.alerts.values.reduce(0, +)) alerts\(byClass.isEmpty ? "" : " (" + byClass + ")"), \(c.folded) folded into aggregated alerts, \(c.suppressed) suppressed, \(c.allowed) allow-listed, \(c.closingAlerts) closing alerts for flows folded after their key's last alert\n")
        }
        if !pipeline.summary.errors.isEmpty || writeError != nil { throw ExitCode(1) }
    }
}

enum FileHandleStderr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}
