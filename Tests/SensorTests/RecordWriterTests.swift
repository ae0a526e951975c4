import Alerts
import Detection
import Flows
import Foundation
import Sensor
import Testing

/// Outputs that keep every line in the order written, flows and alerts in
/// one sequence (the files are /dev/null: the writer only needs them to
/// exist).
final class RecordingOutputs: RecordOutputs {
    enum Log { case flows, alerts }
    let flows: OutputFile?
    let alerts: OutputFile?
    let writesEachRecord: Bool
    var lines: [(Log, String)] = []
    var writes = 0

    init(eachRecord: Bool) throws {
        flows = try OutputFile(path: "/dev/null")
        alerts = try OutputFile(path: "/dev/null")
        writesEachRecord = eachRecord
    }

    func write(_ file: OutputFile?, _ bytes: [UInt8], records: Int) {
        let log: Log = file === flows ? .flows : .alerts
        let split = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(split.count == records)
        lines += split.map { (log, $0) }
        writes += 1
    }

    func flush() {}

    func text(_ log: Log) -> String { lines.filter { $0.0 == log }.map { $0.1 + "\n" }.joined() }
}

/// The one record writer: what replay and live give for the same batches,
/// and where closing alerts land.
@Suite(.serialized) struct RecordWriterTests {
    static let bundle = Repo.root.appendingPathComponent("rules/flowsentry.fsb").path
    static let captures = ["attack-dos", "attack-scan"].map { Repo.root.appendingPathComponent("captures/\($0).pcap").path }

    /// Every record of the captures, in order, with the file each came from.
    static let records: [(FlowRecord, String)] = {
        var all: [(FlowRecord, String)] = []
        ReplayPipeline(config: .init()).run(files: captures) { r, f in all.append((r, f)) }
        return all
    }()

    /// Writes `records` in batches of 256 through a writer with a fresh
    /// scoring stage, then finishes it.
    static func drive(_ outputs: any RecordOutputs, files: Bool, sweepAfterEach: Bool = false,
                      scored: Bool = true, threads: Int = 1) throws -> RecordWriter {
        let stage = scored ? ScoringStage(model: try EnsembleModel.load(path: bundle), policy: Policy()) : nil
        stage?.explain = false
        let writer = RecordWriter(context: EveContext(), scoring: stage, outputs: outputs)
        writer.useThreads(threads)
        #expect(writer.threads == threads)
        let batch = RecordBatch()
        for start in stride(from: 0, to: records.count, by: RecordBatch.size) {
            for (r, f) in records[start..<min(records.count, start + RecordBatch.size)] {
                batch.records.append(r)
                if files { batch.files.append(f) }
            }
            let last = batch.records.map(\.endNs).max()!
            writer.write(batch)
            #expect(batch.isEmpty)
            if sweepAfterEach { writer.sweep(nowNs: last + 121_000_000_000) }  // every key quiet
        }
        writer.finish()
        return writer
    }

    static func object(_ line: String) -> [String: Any] {
        try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
    }

    @Test func replayAndLiveOutputsGetTheSameBytes() throws {
        let perRecord = try RecordingOutputs(eachRecord: true)   // as replay writes
        let perBatch = try RecordingOutputs(eachRecord: false)   // as live writes
        _ = try Self.drive(perRecord, files: false)
        _ = try Self.drive(perBatch, files: false)
        #expect(!perRecord.text(.alerts).isEmpty)
        #expect(perRecord.text(.flows) == perBatch.text(.flows))
        #expect(perRecord.text(.alerts) == perBatch.text(.alerts))
        #expect(perBatch.writes < perRecord.writes)
    }

    @Test func replayOutputsWriteWhatTheWriterFormats() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let flows = dir.appendingPathComponent("flows.json").path, alerts = dir.appendingPathComponent("alerts.json").path
        let files = ReplayOutputs(flows: try OutputFile(path: flows), alerts: try OutputFile(path: alerts))
        _ = try Self.drive(files, files: true)
        files.flush()
        #expect(files.firstError == nil)
        let recorded = try RecordingOutputs(eachRecord: true)
        _ = try Self.drive(recorded, files: true)
        #expect(try String(contentsOfFile: flows, encoding: .utf8) == recorded.text(.flows))
        #expect(try String(contentsOfFile: alerts, encoding: .utf8) == recorded.text(.alerts))
        // Replay batches carry their files: every record names its capture.
        let names = Set(recorded.lines.filter { $0.0 == .flows }.map { Self.object($0.1)["pcap_filename"] as? String })
        #expect(names == Set(Self.captures.map { Optional($0) }))
    }

    @Test func closingAlertsComeAfterTheFlowTheyBelongTo() throws {
        for sweeping in [false, true] {
            for eachRecord in [true, false] {
                let out = try RecordingOutputs(eachRecord: eachRecord)
                let writer = try Self.drive(out, files: true, sweepAfterEach: sweeping)
                var flowAt: [UInt64: Int] = [:]
                var closings = 0, carried: UInt64 = 0
                for (k, (log, line)) in out.lines.enumerated() {
                    let o = Self.object(line)
                    let id = (o["flow_id"] as! NSNumber).uint64Value
                    if log == .flows { flowAt[id] = k; continue }
                    let ml = o["ml"] as! [String: Any]
                    carried += UInt64((ml["aggregated_flows"] as? Int) ?? 0)
                    guard ml["aggregate"] as? String == "closing" else { continue }
                    closings += 1
                    // The flow it names was written before it (live: in the
                    // same batch or an earlier one), and was folded, not alerted.
                    let at = try #require(flowAt[id], "closing alert for flow \(id) before its flow record")
                    #expect(at < k)
                    let f = Self.object(out.lines[at].1)
                    #expect((f["flow"] as! [String: Any])["alerted"] as? Bool == false)
                    #expect(o["pcap_filename"] as? String == f["pcap_filename"] as? String)
                }
                let counters = try #require(writer.scoring?.counters)
                #expect(closings > 0 && UInt64(closings) == counters.closingAlerts)
                // Every folded flow is on exactly one alert line.
                #expect(carried == counters.folded)
            }
        }
    }

    /// `useThreads`: the same lines, in the same order across both logs, with
    /// the same writes, for 2 and 3 threads as for one — scored and not,
    /// per record (replay) and per batch (live), batches spanning two files.
    @Test func threadsChangeNothingWritten() throws {
        for scored in [true, false] {
            for eachRecord in [true, false] {
                let one = try RecordingOutputs(eachRecord: eachRecord)
                let w1 = try Self.drive(one, files: true, scored: scored, threads: 1)
                #expect(one.lines.count > 1000)
                for threads in [2, 3] {
                    let many = try RecordingOutputs(eachRecord: eachRecord)
                    let w = try Self.drive(many, files: true, scored: scored, threads: threads)
                    #expect(many.lines.count == one.lines.count)
                    let same = zip(many.lines, one.lines).allSatisfy { (a: (RecordingOutputs.Log, String), b: (RecordingOutputs.Log, String)) in
                        a.0 == b.0 && a.1 == b.1
                    }
                    #expect(same, "scored \(scored), each record \(eachRecord), \(threads) threads")
                    if eachRecord { #expect(many.writes == one.writes) }
                    #expect(w.appLayer.flows == w1.appLayer.flows)
                    #expect(w.scoring?.counters.alerts == w1.scoring?.counters.alerts)
                }
            }
        }
    }

    @Test func withoutScoringOnlyFlowRecords() throws {
        let out = try RecordingOutputs(eachRecord: false)
        let writer = RecordWriter(context: EveContext(), scoring: nil, outputs: out)
        let batch = RecordBatch()
        for (r, _) in Self.records.prefix(300) { batch.records.append(r) }
        writer.write(batch)
        writer.sweep(nowNs: .max)
        writer.finish()
        #expect(out.lines.count == 300 && out.lines.allSatisfy { $0.0 == .flows })
        #expect(out.lines.allSatisfy { Self.object($0.1)["ml"] == nil })
        var j = JSONBuffer()
        writer.appendStats(into: &j)
        #expect(j.bytes.isEmpty)
    }
}
