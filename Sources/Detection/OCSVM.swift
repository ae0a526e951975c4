import Foundation

/// One-class RBF SVM decision function evaluated in Swift + OpenBLAS from stored support
/// vectors (the same value libsvm's `svm_predict_values` and scikit-learn's
/// `OneClassSVM.decision_function` return):
///
///   f(x) = Σ_i coef_i · exp(−γ‖x − sv_i‖²) − ρ        (positive = inlier, higher = more normal)
///
/// Trained through libsvm (`OCSVMTrainer` in Training, or `LibSVMOneClass.exportModel()`).
public struct OCSVMModel: Sendable, Equatable {
    public let dim: Int
    public let gamma: Double
    public let rho: Double
    public let coefficients: [Double]
    /// Row-major `supportVectorCount × dim`.
    public let supportVectors: [Double]
    let svNorms: [Double]

    public var supportVectorCount: Int { coefficients.count }

    public init(dim: Int, gamma: Double, rho: Double, coefficients: [Double], supportVectors: [Double]) {
        precondition(dim > 0 && supportVectors.count == coefficients.count * dim)
        self.dim = dim
        self.gamma = gamma
        self.rho = rho
        self.coefficients = coefficients
        self.supportVectors = supportVectors
        self.svNorms = MatrixDistance.rowSquaredNorms(supportVectors, rows: coefficients.count, dim: dim)
    }

    public static func == (a: OCSVMModel, b: OCSVMModel) -> Bool {
        a.dim == b.dim && a.gamma == b.gamma && a.rho == b.rho && a.coefficients == b.coefficients
            && a.supportVectors == b.supportVectors
    }

    public static let sectionName = "ocsvm"

    public func encode() -> [UInt8] {
        var w = BundleWriter()
        w.tag("OSV1")
        w.count(dim)
        w.f64(gamma)
        w.f64(rho)
        w.f64Array(coefficients)
        w.f64Array(supportVectors)
        return w.bytes
    }

    public init(decoding bytes: [UInt8], section: String = OCSVMModel.sectionName) throws(BundleError) {
        var r = BundleReader(bytes, section: section)
        try r.expectTag("OSV1")
        let dim = try r.count(elementSize: 0)
        let gamma = try r.f64()
        let rho = try r.f64()
        let coef = try r.f64Array()
        let sv = try r.f64Array()
        try r.expectEnd()
        let (cells, overflow) = coef.count.multipliedReportingOverflow(by: dim)
        guard dim > 0, !coef.isEmpty, !overflow, sv.count == cells, gamma > 0, gamma.isFinite, rho.isFinite,
              coef.allSatisfy({ $0.isFinite }), sv.allSatisfy({ $0.isFinite }) else {
            throw r.fail("inconsistent OCSVM shape (dim \(dim), \(coef.count) coefficients, \(sv.count) SV values, gamma \(gamma))")
        }
        self.init(dim: dim, gamma: gamma, rho: rho, coefficients: coef, supportVectors: sv)
    }

    public func makeScorer(maxBatch: Int = 256) -> OCSVMScorer { OCSVMScorer(model: self, maxBatch: maxBatch) }
}

/// Batched OCSVM decision values with preallocated scratch. Not thread-safe; one per task.
public final class OCSVMScorer: NoveltyRowScorer {
    public let model: OCSVMModel
    public let maxBatch: Int
    private let q: UnsafeMutablePointer<Double>
    private let qNorms: UnsafeMutablePointer<Double>
    private let dist: UnsafeMutablePointer<Double>

    public init(model: OCSVMModel, maxBatch: Int = 256) {
        precondition(maxBatch > 0)
        self.model = model
        self.maxBatch = maxBatch
        q = .allocate(capacity: maxBatch * model.dim)
        qNorms = .allocate(capacity: maxBatch)
        dist = .allocate(capacity: maxBatch * model.supportVectorCount)
    }

    deinit { q.deallocate(); qNorms.deallocate(); dist.deallocate() }

    public var dim: Int { model.dim }

    /// Decision values in double precision (used to check agreement with libsvm).
    public func decisionValues(batch: [Double], rows: Int) -> [Double] { scoreDoubles(batch: batch, rows: rows) }

    /// Decision values of `n` rows loaded into the query buffer.
    @inline(__always)
    public func scoreChunk(rows n: Int, load: (UnsafeMutablePointer<Double>) -> Void, emit: (Int, Double) -> Void) {
        precondition(n <= maxBatch)
        load(q)
        let dim = model.dim, nsv = model.supportVectorCount, g = model.gamma, rho = model.rho
        MatrixDistance.rowSquaredNorms(q, rows: n, dim: dim, into: qNorms)
        model.supportVectors.withUnsafeBufferPointer { sv in
            model.svNorms.withUnsafeBufferPointer { sn in
                model.coefficients.withUnsafeBufferPointer { coef in
                    MatrixDistance.squaredDistances(queries: q, queryNorms: qNorms, rows: n,
                                                    refs: sv.baseAddress!, refNorms: sn.baseAddress!,
                                                    refRows: nsv, dim: dim, into: dist)
                    for i in 0..<n {
                        let row = dist + i * nsv
                        var s = 0.0
                        for j in 0..<nsv { s += coef[j] * exp(-g * row[j]) }
                        emit(i, s - rho)
                    }
                }
            }
        }
    }
}
