import ArgumentParser
import Detection
import Features
import Flows
import Foundation
import Sensor
import Training

struct DriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Compare captures' model inputs with the bundle's training reference (PSI and KS per input), or attach that reference to a bundle.",
        discussion: ExitStatus.discussion(after: """
            Every flow of the captures is scored; each model input (the statistics the bundle \
            reads and three summaries of the packet sequence) is counted in the bins of the \
            bundle's "drift.reference" section, and the inputs are listed most drifted first \
            with their population stability index and Kolmogorov-Smirnov statistic, with the \
            share of flows scored near the alert threshold. PSI 0.25 or more is a significant \
            shift. Formulas, the reference and the live monitor: docs/drift.md.

            --build-reference writes a copy of --model with the reference made from the \
            benign flows of the training split of labelled captures (as train makes it): \
            flowsentry drift --build-reference --model B --captures C... --labels L... --out B2.
            """))

    @Argument(help: "Captures to compare (pcap or pcapng; read in order as one capture).")
    var capturesArguments: [String] = []

    @Option(name: .customLong("captures"), parsing: .upToNextOption, help: "Captures (the same as giving them as arguments).")
    var captureOptions: [String] = []

    @Option(help: "Model bundle (default: the first flowsentry.fsb of the rules directories, as replay).")
    var model: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(help: "How many of the most drifted inputs to list (0: all).")
    var top: Int = 10

    @Option(name: .customLong("near-margin"), help: "Flows scored within this of the alert threshold count as near it.")
    var nearMargin: Double = 0.1

    @Flag(name: .customLong("build-reference"), help: "Attach the training reference to --model, from --captures and --labels, written to --out.")
    var buildReference = false

    @Option(name: .customLong("labels"), parsing: .upToNextOption, help: "With --build-reference: ground-truth CSV files, one per capture, in the same order.")
    var labels: [String] = []

    @Option(help: "With --build-reference: where to write the bundle (may be --model itself).")
    var out: String?

    var captures: [String] { captureOptions + capturesArguments }

    func validate() throws {
        if captures.isEmpty { throw ValidationError("give the captures to compare (as arguments or --captures FILE...)") }
        if top < 0 { throw ValidationError("--top must be 0 (all) or more") }
        if !(nearMargin >= 0 && nearMargin.isFinite) { throw ValidationError("--near-margin must be a number, 0 or more") }
        if buildReference {
            if model == nil { throw ValidationError("--build-reference needs --model BUNDLE") }
            if out == nil { throw ValidationError("--build-reference needs --out FILE") }
            if labels.count != captures.count {
                throw ValidationError("--build-reference: \(captures.count) captures but \(labels.count) label files; give one --labels file per capture")
            }
        } else if !labels.isEmpty || out != nil {
            throw ValidationError("--labels and --out go with --build-reference")
        }
    }

    func run() throws {
        let path: String
        let bundle: ModelBundle
        let ensemble: EnsembleModel
        do {
            path = try locateModelAndPolicy(model: model, policy: nil).model
            bundle = try ModelBundle.load(path: path)
            ensemble = try EnsembleModel(bundle: bundle)
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        if buildReference { return try attachReference(to: bundle, model: ensemble) }
        guard let reference = ensemble.driftReference else {
            FileHandleStderr.write("flowsentry: error: \(DriftReference.missing(path: path)): no training reference to compare with "
                                   + "(add it: flowsentry drift --build-reference --model \(path) --captures … --labels … --out FILE)\n")
            throw ExitStatus.cannotStart
        }
        let result = compare(captures, model: ensemble, reference: reference)
        let report = DriftReport(model: path, modelVersion: ensemble.meta.modelVersion, result: result, reference: reference,
                                 threshold: Double(ensemble.threshold), margin: nearMargin, top: top)
        print(json ? report.json : report.text)
        for e in result.errors { FileHandleStderr.write("flowsentry: error: \(e)\n") }
        if !result.errors.isEmpty { throw ExitStatus.failed }
    }

    /// The flows of `files` counted in the reference bins, and their scores near the threshold.
    private func compare(_ files: [String], model: EnsembleModel, reference: DriftReference) -> DriftComparison {
        var c = DriftComparison(tally: DriftTally(reference: reference))
        let scorer = EnsembleScorer(model: model)
        let d = reference.inputs.count, binner = DriftBinner(reference: reference)
        var values = [Float](repeating: 0, count: d), bins = [UInt8](repeating: 0, count: d)
        var scratch = [Float](repeating: 0, count: PacketSequence.length * PacketSequence.channels)
        var batch: [FlowRecord] = [], verdicts: [Verdict] = []
        batch.reserveCapacity(256)
        func scoreBatch() {
            scorer.score(features: { batch[$0].features }, sequences: { batch[$0].sequence }, count: batch.count, into: &verdicts)
            for v in verdicts {
                if abs(Double(v.score) - Double(model.threshold)) <= nearMargin { c.nearThreshold += 1 }
                if v.score >= v.threshold { c.overThreshold += 1 }
            }
            batch.removeAll(keepingCapacity: true)
        }
        let pipeline = ReplayPipeline(config: .init())
        pipeline.run(files: files) { rec, _ in
            values.withUnsafeMutableBufferPointer { v in
                scratch.withUnsafeMutableBufferPointer { s in
                    DriftInputs.values(features: rec.features, sequence: rec.sequence, indices: model.featureIndices,
                                       scratch: s.baseAddress!, into: v.baseAddress!)
                }
                bins.withUnsafeMutableBufferPointer { binner.bins(of: v.baseAddress!, into: $0.baseAddress!) }
            }
            bins.withUnsafeBufferPointer { c.tally.add(bins: $0.baseAddress!, by: 1) }
            batch.append(rec)
            if batch.count == 256 { scoreBatch() }
        }
        if !batch.isEmpty { scoreBatch() }
        c.errors = pipeline.summary.errors
        c.captures = files
        return c
    }

    /// `--build-reference`: the bundle with the reference of the labelled captures' training rows, written to `--out`.
    private func attachReference(to bundle: ModelBundle, model: EnsembleModel) throws {
        let data: LabelledCaptures
        do {
            if let problem = OutputPathCheck.problem(out!) { throw TrainingError("\(out!): \(problem)") }
            data = try loadLabelled(captures: captures, labels: labels, statFeatures: model.statFeatures, flowConfig: .init())
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        for e in data.errors { FileHandleStderr.write("flowsentry: warning: \(e)\n") }
        guard let reference = driftReference(from: data.flows) else {
            FileHandleStderr.write("flowsentry: error: no benign flows in the training split of the labelled captures: nothing to make a reference of\n")
            throw ExitStatus.failed
        }
        var b = bundle
        b.sections[DriftReference.section] = reference.encode()
        do { try b.write(to: out!) } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.failed
        }
        print("wrote \(out!): \(DriftReference.section) of \(reference.inputs.count) inputs from \(reference.rows) benign training flows")
    }
}

/// The reference `train` stores: the histograms of the benign flows of the
/// training split. Benign, because a sensor's traffic is nearly all benign
/// while the training set is mostly attacks (docs/drift.md); nil without any.
func driftReference(from flows: LabelledFlows) -> DriftReference? {
    guard let benign = flows.classes.firstIndex(of: "benign") else { return nil }
    let d = flows.dim, s = DriftInputs.sequenceCount, row = PacketSequence.length * PacketSequence.channels
    var rows: [Float] = [], count = 0
    var summary = [Float](repeating: 0, count: s)
    for i in 0..<flows.count where flows.labels[i] == benign && flows.split[i] == .train {
        rows.append(contentsOf: flows.stats[(i * d)..<((i + 1) * d)])
        flows.raw.withUnsafeBufferPointer { r in
            summary.withUnsafeMutableBufferPointer {
                DriftInputs.sequenceSummaries(raw: r.baseAddress! + i * row, length: flows.lengths[i], into: $0.baseAddress!)
            }
        }
        rows.append(contentsOf: summary)
        count += 1
    }
    guard count > 0 else { return nil }
    return DriftReference.build(names: flows.statFeatures + DriftReference.sequenceInputs, rows: rows, count: count)
}

/// What `drift` counted in the captures.
struct DriftComparison {
    var tally: DriftTally
    var nearThreshold = 0
    var overThreshold = 0
    var captures: [String] = []
    var errors: [String] = []
}

/// `drift`'s output, as a table or JSON.
struct DriftReport {
    struct Input: Encodable {
        var input: String
        var psi: Double
        var ks: Double
        /// The reference's bin edges and shares and the captures' counts per bin (for checking the numbers).
        var edges: [Float]
        var referenceShares: [Double]
        var counts: [Int32]
    }
    struct Body: Encodable {
        var model: String
        var modelVersion: String
        var captures: [String]
        var flows: Int
        var referenceFlows: Int
        var psiWarn: Double
        var inputsOverThreshold: Int
        var maxPsi: Double
        var threshold: Double
        var nearMargin: Double
        var nearThresholdFlows: Int
        var nearThresholdShare: Double
        var overThresholdFlows: Int
        var inputs: [Input]
    }
    var body: Body

    init(model: String, modelVersion: String, result: DriftComparison, reference: DriftReference,
         threshold: Double, margin: Double, top: Int) {
        let scores = result.tally.scores(reference)
        let order = scores.indices.sorted { (scores[$0].psi, scores[$1].input) > (scores[$1].psi, scores[$0].input) }
        let listed = top == 0 ? order : Array(order.prefix(top))
        let flows = result.tally.flows
        body = Body(model: model, modelVersion: modelVersion, captures: result.captures, flows: flows,
                    referenceFlows: reference.rows, psiWarn: DriftStatistics.psiWarn,
                    inputsOverThreshold: scores.filter { $0.psi >= DriftStatistics.psiWarn }.count,
                    maxPsi: order.first.map { scores[$0].psi } ?? 0, threshold: threshold, nearMargin: margin,
                    nearThresholdFlows: result.nearThreshold,
                    nearThresholdShare: flows > 0 ? Double(result.nearThreshold) / Double(flows) : 0,
                    overThresholdFlows: result.overThreshold,
                    inputs: listed.map { i in
                        let r = reference.inputs[i]
                        return Input(input: r.name, psi: scores[i].psi, ks: scores[i].ks, edges: r.edges,
                                     referenceShares: r.shares, counts: Array(result.tally.counts(of: i, bins: r.bins)))
                    })
    }

    var json: String {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try! e.encode(body), as: UTF8.self)
    }

    var text: String {
        let b = body
        var s = "drift of \(b.flows) flows (\(b.captures.joined(separator: ", "))) against the training reference of "
            + "\(b.model) (\(b.modelVersion), \(b.referenceFlows) benign training flows)\n"
        s += "inputs at or over PSI \(fixedPoint(b.psiWarn, 2)): \(b.inputsOverThreshold); most drifted:\n"
        let width = max(24, (b.inputs.map(\.input.count).max() ?? 0) + 2)
        s += "  " + "input".padding(toLength: width, withPad: " ", startingAt: 0) + "     PSI      KS\n"
        for i in b.inputs {
            s += "  " + i.input.padding(toLength: width, withPad: " ", startingAt: 0)
                + pad(fixedPoint(i.psi, 3), 8) + pad(fixedPoint(i.ks, 3), 8)
                + (i.psi >= b.psiWarn ? "  over" : "") + "\n"
        }
        s += "flows scored within \(fixedPoint(b.nearMargin, 2)) of the threshold \(fixedPoint(b.threshold, 4)): "
            + "\(fmtPercent(b.nearThresholdShare)) (\(b.nearThresholdFlows) of \(b.flows)); over it: \(b.overThresholdFlows)"
        return s
    }

    private func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
}
