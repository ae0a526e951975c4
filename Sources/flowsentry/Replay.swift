import Behaviour
import Alerts
import ArgumentParser
import Indicators
import Sensor
#if canImport(Glibc)
import Glibc
#endif

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay pcap/pcapng files and write one EVE-style JSON line per finished flow.",
        discussion: ExitStatus.discussion)

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
        if scoring.noScore && alerts != nil && scoring.indicators.isEmpty {
            throw ValidationError("--alerts needs scoring or --indicators; drop --no-score")
        }
        if flows == "-" && alerts == "-" { throw ValidationError("--flows and --alerts cannot both go to stdout") }
        try flowOptions.validateOnDefaults()
    }

    func run() throws {
        // Load the model and policy first: a bad bundle fails here, not at the first flow.
        var stage: ScoringStage?
        if !scoring.noScore {
            do {
                let (m, p, what) = try loadModelAndPolicyDescribed(model: scoring.model, policy: scoring.policy)
                FileHandleStderr.write("flowsentry: scoring with \(what)\n")
                stage = ScoringStage(model: m, policy: p)
                stage?.explain = !noExplain
                stage?.evidenceGate = !scoring.noEvidenceGate
            } catch {
                FileHandleStderr.write("flowsentry: error: \(error)\n")
                throw ExitStatus.cannotStart
            }
        }
        var indicators: IndicatorSet?
        if !scoring.indicators.isEmpty {
            do throws(IndicatorLoadError) {
                indicators = try IndicatorSet.load(paths: scoring.indicators)
                FileHandleStderr.write("flowsentry: \(indicators!.summary)\n")
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
            throw ExitStatus.cannotStart
        }
        var context = EveContext()
        context.host = sensorName
        context.communityIDSeed = communityIDSeed
        context.includeSequence = !noSequence
        // The writer's behaviour stage observes the records (one per batch, beside the reading).
        let pipeline = ReplayPipeline(config: flowOptions.tableConfig, filter: flowOptions.filter, behaviour: nil)
        let outputs = ReplayOutputs(flows: out, alerts: alertOut)
        let writer = RecordWriter(context: context, scoring: stage, outputs: outputs,
                                  behaviour: BehaviourStage(config: BehaviourConfig()), indicators: indicators)
        pipeline.run(files: captures, writer: writer)
        let writeError = outputs.firstError
        for e in pipeline.summary.errors { FileHandleStderr.write("flowsentry: error: \(e)\n") }
        if let writeError { FileHandleStderr.write("flowsentry: error: \(writeError)\n") }
        for f in [out, alertOut].compactMap({ $0 }) where f.pendingRecords > 0 || f.recordsDropped > 0 {
            // Disk full or an I/O error: say how many records are missing from the file.
            FileHandleStderr.write("flowsentry: error: \(f.path): \(f.pendingRecords + Int(f.recordsDropped)) records not written"
                                   + (f.failure.map { " (\($0))" } ?? "") + "\n")
        }
        FileHandleStderr.write(pipeline.summary.text + "\n")
        FileHandleStderr.write("  " + writer.appLayer.summary(exhausted: pipeline.summary.appStreamsExhausted) + "\n")
        if let c = writer.scoring?.counters {
            let byClass = c.alerts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            FileHandleStderr.write("  scored \(c.flowsScored) flows: \(c.suspicious) suspicious, \(c.alerts.values.reduce(0, +)) alerts\(byClass.isEmpty ? "" : " (" + byClass + ")"), \(c.folded) folded into aggregated alerts, \(c.suppressed) suppressed, \(c.allowed) allow-listed, \(c.closingAlerts) closing alerts for flows folded after their key's last alert\n")
            let byBehaviour = c.behaviourVerdicts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let t = writer.behaviour?.table.counters ?? BehaviourTable.Counters()
            FileHandleStderr.write("  behaviour: \(c.behaviourVerdicts.values.reduce(0, +)) verdicts\(byBehaviour.isEmpty ? "" : " (" + byBehaviour + ")"), "
                                   + "\(c.behaviourAlerts) alert lines (opening and closing), \(c.behaviourFolded) flows folded into campaigns; "
                                   + "table: \(t.pairsHeld) pair series, \(t.clientsHeld) clients, \(t.pairEvictions) + \(t.clientEvictions) evicted\n")
        }
        if let set = writer.indicators {
            let c = writer.indicatorCounters
            let byKind = IndicatorKind.allCases.filter { c.hits[Int($0.rawValue)] > 0 }
                .map { "\($0.name) \(c.hits[Int($0.rawValue)])" }.joined(separator: ", ")
            FileHandleStderr.write("  indicators: \(c.totalHits) hits\(byKind.isEmpty ? "" : " (" + byKind + ")") on \(c.flowsMatched) flows, \(set.count) indicators loaded\n")
        }
        if !pipeline.summary.errors.isEmpty || writeError != nil { throw ExitStatus.failed }
    }
}

enum FileHandleStderr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}
