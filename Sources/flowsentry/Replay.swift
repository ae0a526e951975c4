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
        try flowOptions.validateOnDefaults()
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
        let pipeline = ReplayPipeline(config: flowOptions.tableConfig, filter: flowOptions.filter)
        let writer = ReplayWriter(context: context, stage: stage, out: out, alertOut: alertOut)
        // Two threads: this one reads, decodes and keeps the flow table; the
        // writer scores, formats and writes finished flows, batch by batch in
        // order (back-pressure, nothing dropped), so replay runs at the pace
        // of the slower side instead of the sum of both.
        let channel = BatchChannel<RecordBatch>(capacity: 4)
        let writerThread = spawnThread(name: "fs-replay-out") {
            while let batch = channel.receive() {
                writer.write(batch)
                channel.recycle(batch)
            }
        }
        let start = monotonicSeconds()
        var batch = RecordBatch()
        pipeline.run(files: captures) { record, file in
            batch.records.append(record)
            batch.files.append(file)
            if batch.records.count >= RecordBatch.size {
                channel.send(batch)
                batch = channel.takeEmpty() ?? RecordBatch()
            }
        }
        if !batch.records.isEmpty { channel.send(batch) }
        channel.close()
        pthread_join(writerThread, nil)
        writer.finish()
        // Wall time up to the last record written, not only read.
        pipeline.summary.wallSeconds = monotonicSeconds() - start
        let writeError = writer.writeError
        for e in pipeline.summary.errors { FileHandleStderr.write("flowsentry: error: \(e)\n") }
        if let writeError { FileHandleStderr.write("flowsentry: error: \(writeError)\n") }
        for f in [out, alertOut].compactMap({ $0 }) where f.pendingRecords > 0 || f.recordsDropped > 0 {
            // Disk full or an I/O error: say how many records are missing from the file.
            FileHandleStderr.write("flowsentry: error: \(f.path): \(f.pendingRecords + Int(f.recordsDropped)) records not written"
                                   + (f.failure.map { " (\($0))" } ?? "") + "\n")
        }
        FileHandleStderr.write(pipeline.summary.text + "\n")
        if let c = writer.stage?.counters {
            let byClass = c.alerts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            FileHandleStderr.write("  scored \(c.flowsScored) flows: \(c.suspicious) suspicious, \(c.alerts.values.reduce(0, +)) alerts\(byClass.isEmpty ? "" : " (" + byClass + ")"), \(c.folded) folded into aggregated alerts, \(c.suppressed) suppressed, \(c.allowed) allow-listed, \(c.closingAlerts) closing alerts for flows folded after their key's last alert\n")
        }
        if !pipeline.summary.errors.isEmpty || writeError != nil { throw ExitCode(1) }
    }
}

/// Finished flows handed from the reading thread to the writer, with the
/// capture file each came from. A class: a batch changes hands through the
/// channel and is emptied in place by the writer (no copy of its storage).
final class RecordBatch: @unchecked Sendable {
    static let size = 256
    var records: [FlowRecord] = []
    var files: [String] = []
    init() {
        records.reserveCapacity(Self.size)
        files.reserveCapacity(Self.size)
    }
}

/// The writing side of `replay`: scores each batch, writes its flow records
/// and alerts (and the closing aggregate alerts due between them). Used by
/// one thread at a time: the writer thread, then, after it is joined, the
/// main thread for `finish`.
final class ReplayWriter: @unchecked Sendable {
    let stage: ScoringStage?
    let out: OutputFile?, alertOut: OutputFile?
    var formatter: EveFlowFormatter
    var alertFormatter: EveAlertFormatter
    var json = JSONBuffer(reserve: 1 << 16)
    var writeError: (any Error)?
    /// Capture files in the order read; a closing alert names its flow's.
    var files: [String] = []
    var sources: [Int32] = []
    var scored: [ScoredVerdict] = []

    init(context: EveContext, stage: ScoringStage?, out: OutputFile?, alertOut: OutputFile?) {
        self.stage = stage
        self.out = out
        self.alertOut = alertOut
        formatter = EveFlowFormatter(context: context)
        alertFormatter = EveAlertFormatter(context: context, modelVersion: stage?.model.meta.modelVersion ?? "")
    }

    private func record(_ e: any Error) { if writeError == nil { writeError = e } }

    /// Writes the closing aggregate alerts due before record `position` (all of them when nil).
    private func writeClosing(_ stage: ScoringStage, _ c: inout Int, before position: Int?) {
        let closing = stage.closing
        var wrote = false
        while c < closing.count && (position.map { closing[c].position <= $0 } ?? true) {
            if let alertOut {
                let f = Int(closing[c].flow.source)
                alertFormatter.context.pcapFilename = f < files.count ? files[f] : nil
                json.reset()
                alertFormatter.appendClosing(closing[c], into: &json)
                do { try alertOut.write(json.bytes) } catch { record(error) }
            }
            c += 1
            wrote = true
        }
        if wrote { alertFormatter.context.pcapFilename = formatter.context.pcapFilename }
    }

    /// Scores and writes one batch, then empties it.
    func write(_ batch: RecordBatch) {
        sources.removeAll(keepingCapacity: true)
        for f in batch.files {
            if files.last != f { files.append(f) }
            sources.append(Int32(files.count - 1))
        }
        // batch.records used in place: a second reference to its storage would
        // make emptying it below copy.
        if let stage { stage.score(batch.records, sources: sources, into: &scored) }
        var c = 0
        for i in batch.records.indices {
            if let stage, !stage.closing.isEmpty { writeClosing(stage, &c, before: i) }
            if formatter.context.pcapFilename != batch.files[i] {
                // Encoded once per file, not per record.
                formatter.context.pcapFilename = batch.files[i]
                alertFormatter.context.pcapFilename = batch.files[i]
            }
            if let out {
                json.reset()
                if stage != nil {
                    let s = scored[i]
                    formatter.append(batch.records[i], verdict: { writeVerdictSummary(s, into: &$0) }, alerted: s.alerted, into: &json)
                } else {
                    formatter.append(batch.records[i], into: &json)
                }
                do { try out.write(json.bytes) } catch { record(error) }
            }
            if let alertOut, stage != nil, scored[i].alerted {
                json.reset()
                alertFormatter.append(batch.records[i], scored[i], into: &json)
                do { try alertOut.write(json.bytes) } catch { record(error) }
            }
        }
        if let stage, !stage.closing.isEmpty { writeClosing(stage, &c, before: nil); stage.clearClosing() }
        batch.records.removeAll(keepingCapacity: true)
        batch.files.removeAll(keepingCapacity: true)
    }

    /// End of input: the flows folded after each key's last alert get their
    /// closing alert; the files are flushed.
    func finish() {
        if let stage {
            stage.finish()
            var c = 0
            if !stage.closing.isEmpty { writeClosing(stage, &c, before: nil); stage.clearClosing() }
        }
        do { try out?.flush(); try alertOut?.flush() } catch { record(error) }
    }
}

enum FileHandleStderr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}
