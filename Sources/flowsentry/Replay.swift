import Behaviour
import Alerts
import ArgumentParser
import Capture
import Indicators
import Sensor
import Training
#if canImport(Glibc)
import Glibc
#endif

struct Replay: ParsableCommand {
    /// Flows a replay must score before its summary compares them with the drift reference.
    static let driftSummaryMinimumFlows = 200

    static let configuration = CommandConfiguration(
        abstract: "Replay pcap/pcapng captures (files, pipes, directories) and write one EVE-style JSON line per finished flow.",
        discussion: ExitStatus.discussion)

    @Argument(help: ArgumentHelp(
        "Captures (pcap or pcapng), read in order as one capture: flows continue from one into the next.",
        discussion: """
            A capture may be a file; '-', /dev/stdin or a pipe such as <(zcat x.pcap.gz), read once \
            from the front with the format told by its first bytes; or a directory, whose \
            captures are read in the order of their first packets (--recursive for its \
            subdirectories).
            """))
    var captures: [String] = []

    @Option(name: .customShort("r"), help: ArgumentHelp(
        "A capture to read, as tcpdump -r (the same as giving it as an argument; read before those).",
        valueName: "file"))
    var read: [String] = []

    @Flag(help: "Read directories given as captures with their subdirectories.")
    var recursive = false

    @Option(help: ArgumentHelp(
        "Keep reading the captures that appear in a directory, each once complete, until SIGTERM or SIGINT.",
        discussion: "Read after any captures given; see README.md, Offline replay (--watch).",
        valueName: "dir"))
    var watch: String?

    @Option(help: ArgumentHelp("--watch: seconds a capture's size and time must stay unchanged when no close was seen.",
                               valueName: "seconds"))
    var settle: Double = 5

    @Option(help: ArgumentHelp("--watch: the file that remembers the captures read (default DIR/.flowsentry-processed).",
                               valueName: "file"))
    var state: String?

    @Option(help: "Where to write flow records ('-' for stdout).")
    var flows: String?

    @Option(help: "Where to write alerts ('-' for stdout).")
    var alerts: String?

    @OptionGroup var scoring: ScoringOptions

    @Flag(name: .customLong("no-explain"), help: "Leave explanations out of alerts (faster on floods).")
    var noExplain = false

    @OptionGroup var flowOptions: FlowOptions

    @OptionGroup var alertPcap: AlertPcapOptions

    @Option(name: .customLong("sensor-name"), help: "Sensor name written as 'host' in every record.")
    var sensorName: String?

    @Option(name: .customLong("community-id-seed"), help: "Community ID seed (0-65535).")
    var communityIDSeed: UInt16 = 0

    @Flag(help: "Write the flow and behaviour tables' memory before the first packet, as 'run' does: peak memory is reached at start (the configured tables'), and a machine short of it fails at once. By default a table's memory is touched as the capture fills it.")
    var preallocate = false

    @Flag(name: .customLong("no-sequence"), help: "Leave the first-packets sequence out of flow records (as --flow-detail features).")
    var noSequence = false

    @Option(name: .customLong("flow-detail"),
            help: ArgumentHelp("What flow records carry: full (features and first-packets sequence), features (no sequence), summary (Suricata-sized: no features, behaviour values or sequence; scoring still uses them).", valueName: "full|features|summary"))
    var flowDetail: FlowDetail?

    @Option(help: ArgumentHelp(
        "Threads that score and format the flow records, beside the one that reads (default: the CPUs this process may use less the reader's one; 1: all on one writer thread).",
        discussion: "The records, alerts and their order are the same for any number.", valueName: "n"))
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be 1 or more") }
        if read.isEmpty && captures.isEmpty && watch == nil {
            throw ValidationError("give at least one capture: a file, a directory, '-' for standard input, or --watch DIR")
        }
        if watch == nil && (state != nil) { throw ValidationError("--state needs --watch DIR") }
        if settle < 0 || !settle.isFinite { throw ValidationError("--settle must be a number of seconds, 0 or more") }
        if flows == nil && alerts == nil { throw ValidationError("give --flows FILE and/or --alerts FILE ('-' for stdout)") }
        if scoring.noScore && alerts != nil && scoring.indicators.isEmpty {
            throw ValidationError("--alerts needs scoring or --indicators; drop --no-score")
        }
        if alertPcap.directory != nil && alerts == nil {
            throw ValidationError("--alert-pcap writes the packets of alerts: give --alerts FILE too")
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
                stage?.enableDrift(DriftConfig())
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
        context.flowDetail = flowDetail ?? (noSequence ? .features : .full)
        // The writer's behaviour stage observes the records (one per batch, beside the reading).
        let pipeline = ReplayPipeline(config: flowOptions.tableConfig, filter: flowOptions.filter, behaviour: nil,
                                      preallocate: preallocate)
        let outputs = ReplayOutputs(flows: out, alerts: alertOut)
        // Summary records written unscored carry no behaviour values and no
        // verdict reads them: the behaviour table is not kept at all.
        let keepsBehaviour = stage != nil || context.flowDetail != .summary
        let writer = RecordWriter(context: context, scoring: stage, outputs: outputs,
                                  behaviour: keepsBehaviour ? BehaviourStage(config: BehaviourConfig(), prefault: preallocate) : nil,
                                  indicators: indicators)
        // The reading thread keeps a core busy: the writer gets the others.
        writer.useThreads(threads ?? max(1, WorkerPool.availableCores - 1))
        if let c = alertPcap.config(over: nil) {
            do throws(SensorConfigError) {
                try attachAlertPcap(c, table: pipeline.table, writer: writer)
            } catch {
                FileHandleStderr.write("flowsentry: error: \(error)\n")
                throw ExitStatus.cannotStart
            }
        }
        let (files, listingErrors) = expandedInputs()
        if let watch {
            let watcher: CaptureWatch
            do throws(CaptureError) {
                watcher = try CaptureWatch(directory: watch, statePath: state, settleSeconds: settle)
            } catch {
                FileHandleStderr.write("flowsentry: error: \(error)\n")
                throw ExitStatus.cannotStart
            }
            watcher.onNotice = { FileHandleStderr.write("flowsentry: \($0)\n") }
            watcher.beforeWaiting = { pipeline.handOver?() }
            FileHandleStderr.write("flowsentry: watching \(watch) (\(watcher.processedNames.count) captures read before; state in \(watcher.statePath)); SIGTERM or SIGINT ends\n")
            // The captures given first, then the directory's, one at a time as they complete.
            var given = files.makeIterator()
            pipeline.run(files: AnySequence { AnyIterator { given.next() ?? watcher.next() } }, writer: writer)
        } else {
            pipeline.run(files: files, writer: writer)
        }
        let writeError = outputs.firstError
        for e in listingErrors + pipeline.summary.errors { FileHandleStderr.write("flowsentry: error: \(e)\n") }
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
        if let line = alertPcapSummary(writer) { FileHandleStderr.write("  " + line + "\n") }
        if let drift = writer.scoring?.drift, drift.windowFlows < Self.driftSummaryMinimumFlows {
            // Fewer flows than ten per bin on average: the histograms would say nothing.
            FileHandleStderr.write("  drift: \(drift.windowFlows) flows, too few to compare with the training reference "
                                   + "(\(Self.driftSummaryMinimumFlows) needed; docs/drift.md)\n")
        } else if let drift = writer.scoring?.drift {
            drift.refresh()
            let top = drift.top(3).filter { $0.psi >= drift.config.psiWarn }
            FileHandleStderr.write("  drift: \(drift.overThreshold.count) model inputs at or over PSI \(fixedPoint(drift.config.psiWarn, 2)) over the last \(drift.windowFlows) flows"
                                   + (top.isEmpty ? "" : " (" + top.map { "\($0.input) \(fixedPoint($0.psi, 2))" }.joined(separator: ", ") + ")")
                                   + "; flowsentry drift lists them (docs/drift.md)\n")
        }
        if let set = writer.indicators {
            let c = writer.indicatorCounters
            let byKind = IndicatorKind.allCases.filter { c.hits[Int($0.rawValue)] > 0 }
                .map { "\($0.name) \(c.hits[Int($0.rawValue)])" }.joined(separator: ", ")
            FileHandleStderr.write("  indicators: \(c.totalHits) hits\(byKind.isEmpty ? "" : " (" + byKind + ")") on \(c.flowsMatched) flows, \(set.count) indicators loaded\n")
        }
        if !pipeline.summary.errors.isEmpty || !listingErrors.isEmpty || writeError != nil { throw ExitStatus.failed }
    }

    /// The captures to read: `-r` files, then the arguments, each directory
    /// replaced by its captures in replay order (CaptureDirectory). A
    /// directory that cannot be listed, or holds no capture, is an input
    /// failure like a missing file: said, and the rest is read.
    func expandedInputs() -> (files: [String], errors: [String]) {
        var files: [String] = [], errors: [String] = []
        for input in read + captures {
            var st = stat()
            guard input != "-", stat(input, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                files.append(input)
                continue
            }
            do throws(CaptureError) {
                let dir = try CaptureDirectory(path: input, recursive: recursive)
                if dir.files.isEmpty {
                    errors.append("\(input): no pcap or pcapng files in the directory" + (recursive ? " or below it" : " (--recursive reads its subdirectories)"))
                }
                if !dir.skipped.isEmpty {
                    FileHandleStderr.write("flowsentry: \(input): passed over \(dir.skipped.count) files that are not captures (first: \(dir.skipped[0]))\n")
                }
                files += dir.files
            } catch {
                errors.append(error.description)
            }
        }
        return (files, errors)
    }
}

enum FileHandleStderr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}

extension FlowDetail: ExpressibleByArgument {}
