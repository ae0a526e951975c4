import ArgumentParser
import Detection
import Features
import Flows
import Foundation
import ONNX
import Sensor

struct ExportONNXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-onnx",
        abstract: "Write a bundle's float CNN and LSTM as ONNX graphs (opset 17, normalisation inside) with a JSON sidecar (feature order, packet layout, classes, threshold).",
        discussion: ExitStatus.discussion(after: """
            Writes DIR/cnn.onnx, DIR/lstm.onnx and DIR/model.json (docs/onnx.md). With \
            --reference, also DIR/reference.jsonl: for each flow of the captures, the inputs \
            the sensor built (statistics, packets, length) and the class probabilities of \
            its float CNN and LSTM, to check another runtime against. A bundle that cannot \
            be read or exported leaves DIR as it was.
            """))

    @Option(help: "Model bundle (default: rules/flowsentry.fsb).") var model: String?
    @Option(help: ArgumentHelp("Directory to write into (created if missing).", valueName: "dir")) var out: String
    @Option(name: .customLong("reference"), parsing: .upToNextOption,
            help: ArgumentHelp("Captures whose flows become test vectors in DIR/reference.jsonl.", valueName: "capture"))
    var reference: [String] = []

    static let referenceFile = "reference.jsonl"

    func run() throws {
        let m: EnsembleModel
        var files: [(name: String, bytes: [UInt8])]
        do {
            let path = try locateModelAndPolicy(model: model, policy: nil).model
            m = try EnsembleModel.load(path: path)
            files = try ONNXExport.artefacts(model: m, bundlePath: path, producerVersion: BuildInfo.version)
                .map { ($0.fileName, $0.bytes) }
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        var inputErrors: [String] = []
        if !reference.isEmpty {
            let (lines, errors) = Self.referenceLines(model: m, captures: reference)
            files.append((Self.referenceFile, lines))
            inputErrors = errors
        }
        do {
            try Self.writeAll(files, into: out)
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        for e in inputErrors { FileHandleStderr.write("flowsentry: error: \(e)\n") }
        print("wrote \(files.map { (out as NSString).appendingPathComponent($0.name) }.joined(separator: ", "))")
        if !inputErrors.isEmpty { throw ExitStatus.failed }
    }

    /// Writes every file or none: each goes to a temporary name in `dir`
    /// first and is renamed once all are written; on failure the temporary
    /// files (and `dir`, when this created it) are removed.
    static func writeAll(_ files: [(name: String, bytes: [UInt8])], into dir: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let existed = fm.fileExists(atPath: dir, isDirectory: &isDir)
        if existed && !isDir.boolValue { throw ExportWriteError("\(dir): exists and is not a directory") }
        if !existed {
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw ExportWriteError("\(dir): cannot create the directory: \(error.localizedDescription)")
            }
        }
        let tag = ".tmp-\(getpid())"
        var written: [String] = []
        do {
            for f in files {
                let tmp = (dir as NSString).appendingPathComponent("." + f.name + tag)
                written.append(tmp)
                guard fm.createFile(atPath: tmp, contents: Data(f.bytes)) else {
                    throw ExportWriteError("\(tmp): cannot write: \(String(cString: strerror(errno)))")
                }
            }
            for (f, tmp) in zip(files, written) {
                let final = (dir as NSString).appendingPathComponent(f.name)
                guard rename(tmp, final) == 0 else {
                    throw ExportWriteError("\(final): cannot write: \(String(cString: strerror(errno)))")
                }
            }
        } catch {
            for tmp in written { try? fm.removeItem(atPath: tmp) }
            if !existed { try? fm.removeItem(atPath: dir) }
            throw error
        }
    }

    /// One JSON line per flow of `captures`, scored by the sensor's own
    /// scorer with the float networks: what went in and what came out.
    static func referenceLines(model: EnsembleModel, captures: [String]) -> (lines: [UInt8], errors: [String]) {
        let scorer = EnsembleScorer(model: model)
        scorer.useFloat = true
        scorer.onlyModels = .init(cnn: true, lstm: true, novelty: false)
        var records: [FlowRecord] = []
        var verdicts: [Verdict] = []
        var out: [UInt8] = []
        func flush() {
            scorer.score(features: { records[$0].features }, sequences: { records[$0].sequence },
                         count: records.count, into: &verdicts)
            for (i, r) in records.enumerated() {
                let row = scorer.classifierRow(i)
                var line = "{\"flow_id\":\(r.flowID),\"community_id\":\"\(r.communityID())\""
                line += ",\"length\":\(row.length),\"stats\":\(floats(row.stats))"
                line += ",\"sequence\":\(floats(row.sequence)),\"cnn\":\(floats(row.cnn)),\"lstm\":\(floats(row.lstm))}\n"
                out += Array(line.utf8)
            }
            records.removeAll(keepingCapacity: true)
        }
        let pipeline = ReplayPipeline(config: .init())
        pipeline.run(files: captures) { r, _ in
            records.append(r)
            if records.count == scorer.maxBatch { flush() }
        }
        if !records.isEmpty { flush() }
        return (out, pipeline.summary.errors)
    }

    /// Shortest round-trip text of each float (NaN and ±Infinity as Python's json reads them).
    static func floats(_ v: [Float]) -> String {
        "[" + v.map { $0.isNaN ? "NaN" : ($0.isInfinite ? ($0 < 0 ? "-Infinity" : "Infinity") : "\($0)") }
            .joined(separator: ",") + "]"
    }
}

struct ExportWriteError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
