/// The novelty half of the detection ensemble: normaliser + LOF + one-class SVM, each with an
/// optional calibrator, stored in / loaded from a `ModelBundle`.
///
/// Raw score orientation: both LOF (`score_samples`) and OCSVM (decision value) are
/// "higher = more normal"; calibrated scores are "higher = more anomalous", in [0, 1].
public struct NoveltyModel: Sendable, Equatable {
    public let normaliser: Normaliser
    public let lof: LOFModel?
    public let ocsvm: OCSVMModel?
    public let lofCalibration: ScoreCalibrator?
    public let ocsvmCalibration: ScoreCalibrator?

    public var dim: Int { normaliser.dim }

    public static let lofCalibrationSection = "calib.lof"
    public static let ocsvmCalibrationSection = "calib.ocsvm"

    public init(normaliser: Normaliser, lof: LOFModel?, ocsvm: OCSVMModel?,
                lofCalibration: ScoreCalibrator? = nil, ocsvmCalibration: ScoreCalibrator? = nil) {
        precondition(lof == nil || lof!.dim == normaliser.dim, "LOF dimension differs from the normaliser's")
        precondition(ocsvm == nil || ocsvm!.dim == normaliser.dim, "OCSVM dimension differs from the normaliser's")
        self.normaliser = normaliser
        self.lof = lof
        self.ocsvm = ocsvm
        self.lofCalibration = lofCalibration
        self.ocsvmCalibration = ocsvmCalibration
    }

    /// Writes the "norm", "lof", "ocsvm", "calib.lof", "calib.ocsvm" sections (absent parts are removed).
    public func store(in bundle: inout ModelBundle) {
        bundle.sections[Normaliser.sectionName] = normaliser.encode()
        bundle.sections[LOFModel.sectionName] = lof?.encode()
        bundle.sections[OCSVMModel.sectionName] = ocsvm?.encode()
        bundle.sections[Self.lofCalibrationSection] = lofCalibration?.encode()
        bundle.sections[Self.ocsvmCalibrationSection] = ocsvmCalibration?.encode()
    }

    /// Reads the novelty sections. "norm" is required and at least one of "lof"/"ocsvm".
    /// If `expectedSchema` is given the bundle's "schema" must match it exactly; in any case
    /// a present schema must list exactly `dim` features.
    public init(bundle: ModelBundle, expectedSchema: [String]? = nil) throws(BundleError) {
        if let expectedSchema { try bundle.checkSchema(expected: expectedSchema) }
        let norm = try Normaliser(decoding: bundle.section(Normaliser.sectionName))
        func optional<T>(_ name: String, _ decode: ([UInt8], String) throws(BundleError) -> T) throws(BundleError) -> T? {
            guard let bytes = bundle.sections[name] else { return nil }
            return try decode(bytes, name)
        }
        let lof = try optional(LOFModel.sectionName) { (b, s) throws(BundleError) in try LOFModel(decoding: b, section: s) }
        let svm = try optional(OCSVMModel.sectionName) { (b, s) throws(BundleError) in try OCSVMModel(decoding: b, section: s) }
        let lc = try optional(Self.lofCalibrationSection) { (b, s) throws(BundleError) in try ScoreCalibrator(decoding: b, section: s) }
        let oc = try optional(Self.ocsvmCalibrationSection) { (b, s) throws(BundleError) in try ScoreCalibrator(decoding: b, section: s) }
        guard lof != nil || svm != nil else {
            throw .missingSection(path: bundle.sourcePath, section: "\(LOFModel.sectionName)\" or \"\(OCSVMModel.sectionName)")
        }
        if let l = lof, l.dim != norm.dim {
            throw .corruptSection(section: LOFModel.sectionName, offset: 0, reason: "dimension \(l.dim) ≠ normaliser's \(norm.dim)")
        }
        if let o = svm, o.dim != norm.dim {
            throw .corruptSection(section: OCSVMModel.sectionName, offset: 0, reason: "dimension \(o.dim) ≠ normaliser's \(norm.dim)")
        }
        if bundle.sections[ModelBundle.schemaSection] != nil {
            let schema = try bundle.schema
            if schema.count != norm.dim {
                throw .corruptSection(section: ModelBundle.schemaSection, offset: 0,
                                      reason: "lists \(schema.count) features but the models take \(norm.dim)")
            }
        }
        self.init(normaliser: norm, lof: lof, ocsvm: svm, lofCalibration: lc, ocsvmCalibration: oc)
    }

    public func makeScorer(maxBatch: Int = 256) -> NoveltyScorer { NoveltyScorer(model: self, maxBatch: maxBatch) }
}

/// Per-row outputs of `NoveltyScorer`. Arrays are reused across calls (no reallocation once
/// they have reached the batch size). Entries for an absent model/calibrator are NaN.
public struct NoveltyScores: Sendable {
    /// LOF `score_samples` (≈ −1 normal, more negative = more anomalous).
    public var lofRaw: [Float] = []
    /// Calibrated LOF anomaly score in [0, 1].
    public var lof: [Float] = []
    /// OCSVM decision value (positive = inside the benign region).
    public var ocsvmRaw: [Float] = []
    /// Calibrated OCSVM anomaly score in [0, 1].
    public var ocsvm: [Float] = []

    public init() {}

    public var count: Int { lofRaw.count }
}

/// Normalises raw feature rows and scores them with LOF and OCSVM. Holds scratch buffers:
/// not thread-safe; create one per task (the model is shareable).
public final class NoveltyScorer {
    public let model: NoveltyModel
    public let maxBatch: Int
    private let lofScorer: LOFScorer?
    private let ocsvmScorer: OCSVMScorer?
    private let scratch: UnsafeMutableBufferPointer<Float>

    public init(model: NoveltyModel, maxBatch: Int = 256) {
        self.model = model
        self.maxBatch = maxBatch
        lofScorer = model.lof.map { LOFScorer(model: $0, maxBatch: maxBatch) }
        ocsvmScorer = model.ocsvm.map { OCSVMScorer(model: $0, maxBatch: maxBatch) }
        scratch = .allocate(capacity: maxBatch * model.dim)
    }

    deinit { scratch.deallocate() }

    public func score(batch: [Float], rows: Int) -> NoveltyScores {
        var out = NoveltyScores()
        score(batch: batch, rows: rows, into: &out)
        return out
    }

    /// The LOF reference flows nearest to one raw (un-normalised) row; empty without LOF.
    public func nearestReferences(row: [Float], count: Int) -> [LOFNeighbour] {
        guard let lofScorer, row.count >= model.dim else { return [] }
        let chunk = UnsafeMutableBufferPointer(rebasing: scratch[0..<model.dim])
        for i in 0..<model.dim { chunk[i] = row[i] }
        model.normaliser.apply(batch: chunk, rows: 1)
        return lofScorer.nearest(row: UnsafeBufferPointer(chunk), count: count)
    }

    /// Scores `rows` row-major raw (un-normalised) feature rows of `model.dim` values.
    public func score(batch: [Float], rows: Int, into out: inout NoveltyScores) {
        let dim = model.dim
        precondition(batch.count >= rows * dim, "batch holds \(batch.count) values, need \(rows) × \(dim)")
        func reset(_ a: inout [Float]) {
            a.removeAll(keepingCapacity: true)
            a.append(contentsOf: repeatElement(Float.nan, count: rows))
        }
        reset(&out.lofRaw); reset(&out.lof); reset(&out.ocsvmRaw); reset(&out.ocsvm)
        batch.withUnsafeBufferPointer { b in
            var start = 0
            while start < rows {
                let n = min(maxBatch, rows - start)
                let chunk = UnsafeMutableBufferPointer(rebasing: scratch[0..<(n * dim)])
                _ = chunk.initialize(from: UnsafeBufferPointer(rebasing: b[(start * dim)..<((start + n) * dim)]))
                model.normaliser.apply(batch: chunk, rows: n)
                let normalised = UnsafeBufferPointer(chunk)
                if let lofScorer {
                    out.lofRaw.withUnsafeMutableBufferPointer { o in
                        lofScorer.score(batch: normalised, rows: n, into: UnsafeMutableBufferPointer(rebasing: o[start..<(start + n)]))
                    }
                    if let c = model.lofCalibration {
                        for i in start..<(start + n) { out.lof[i] = Float(c.calibrate(Double(out.lofRaw[i]))) }
                    }
                }
                if let ocsvmScorer {
                    out.ocsvmRaw.withUnsafeMutableBufferPointer { o in
                        ocsvmScorer.score(batch: normalised, rows: n, into: UnsafeMutableBufferPointer(rebasing: o[start..<(start + n)]))
                    }
                    if let c = model.ocsvmCalibration {
                        for i in start..<(start + n) { out.ocsvm[i] = Float(c.calibrate(Double(out.ocsvmRaw[i]))) }
                    }
                }
                start += n
            }
        }
    }
}
