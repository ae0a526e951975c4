import CLibSVM

/// Errors from the libsvm wrapper.
public enum LibSVMError: Error, Sendable, Equatable, CustomStringConvertible {
    case badParameter(String)
    case trainingFailed
    case emptyTrainingSet

    public var description: String {
        switch self {
        case .badParameter(let m): return "libsvm rejected the parameters: \(m)"
        case .trainingFailed: return "libsvm svm_train returned no model"
        case .emptyTrainingSet: return "one-class SVM needs at least one training row"
        }
    }
}

/// A libsvm one-class RBF SVM trained in memory (`svm_train` with `ONE_CLASS`/`RBF`).
///
/// Owns the training nodes the libsvm model points into. Used at training time, and in
/// tests as the reference for `OCSVMModel`'s Swift decision function. Not thread-safe.
public final class LibSVMOneClass {
    public let dim: Int
    public let nu: Double
    public let gamma: Double
    private var model: UnsafeMutablePointer<svm_model>?
    private let nodes: UnsafeMutablePointer<svm_node>
    private let rowPtrs: UnsafeMutablePointer<UnsafeMutablePointer<svm_node>?>
    private let labels: UnsafeMutablePointer<Double>
    private let query: UnsafeMutablePointer<svm_node>
    private let rows: Int

    /// Trains on `count` row-major rows of `dim` values.
    /// - Parameters: `nu` ∈ (0, 1]; `gamma` > 0; `tolerance` is libsvm's `eps` (sklearn's `tol`).
    public init(rows training: [Double], count: Int, dim: Int, nu: Double, gamma: Double,
                tolerance: Double = 1e-3, cacheMB: Double = 100, shrinking: Bool = true) throws(LibSVMError) {
        guard count > 0 else { throw .emptyTrainingSet }
        precondition(dim > 0 && training.count == count * dim)
        self.dim = dim
        self.nu = nu
        self.gamma = gamma
        self.rows = count
        let stride = dim + 1
        nodes = .allocate(capacity: count * stride)
        rowPtrs = .allocate(capacity: count)
        labels = .allocate(capacity: count)
        query = .allocate(capacity: stride)
        for i in 0..<count {
            for j in 0..<dim {
                nodes[i * stride + j] = svm_node(index: Int32(j + 1), value: training[i * dim + j])
            }
            nodes[i * stride + dim] = svm_node(index: -1, value: 0)
            rowPtrs[i] = nodes + i * stride
            labels[i] = 1
        }
        query[dim] = svm_node(index: -1, value: 0)

        LibSVMOneClass.silence()
        var problem = svm_problem(l: Int32(count), y: labels, x: rowPtrs)
        var param = svm_parameter()
        param.svm_type = Int32(ONE_CLASS)
        param.kernel_type = Int32(RBF)
        param.degree = 3
        param.gamma = gamma
        param.coef0 = 0
        param.cache_size = cacheMB
        param.eps = tolerance
        param.C = 1
        param.nr_weight = 0
        param.weight_label = nil
        param.weight = nil
        param.nu = nu
        param.p = 0.1
        param.shrinking = shrinking ? 1 : 0
        param.probability = 0
        if let msg = svm_check_parameter(&problem, &param) {
            // `self` is fully initialised here, so deinit frees the buffers.
            throw .badParameter(String(cString: msg))
        }
        model = svm_train(&problem, &param)
        if model == nil { throw .trainingFailed }
    }

    private func deallocateBuffers() {
        nodes.deallocate(); rowPtrs.deallocate(); labels.deallocate(); query.deallocate()
    }

    deinit {
        if model != nil { svm_free_and_destroy_model(&model) }
        deallocateBuffers()
    }

    /// libsvm prints training progress to stdout by default; route it nowhere.
    static func silence() {
        svm_set_print_string_function { _ in }
    }

    public var supportVectorCount: Int { Int(model!.pointee.l) }

    /// `svm_predict_values` for one row: Σ coef_i·exp(−γ‖x − sv_i‖²) − ρ (positive = inlier).
    public func decisionValue(_ x: UnsafeBufferPointer<Double>) -> Double {
        precondition(x.count >= dim)
        for j in 0..<dim { query[j] = svm_node(index: Int32(j + 1), value: x[j]) }
        var dec = 0.0
        _ = svm_predict_values(model, query, &dec)
        return dec
    }

    public func decisionValues(batch: [Double], rows: Int) -> [Double] {
        batch.withUnsafeBufferPointer { b in
            (0..<rows).map { i in decisionValue(UnsafeBufferPointer(rebasing: b[(i * dim)..<((i + 1) * dim)])) }
        }
    }

    /// Extracts support vectors, coefficients, ρ and γ into our own serialisable model.
    public func exportModel() -> OCSVMModel {
        let m = model!.pointee
        let l = Int(m.l)
        var sv = [Double](repeating: 0, count: l * dim)
        var coef = [Double](repeating: 0, count: l)
        for i in 0..<l {
            var p = m.SV[i]!
            while p.pointee.index != -1 {
                let j = Int(p.pointee.index) - 1
                if j >= 0 && j < dim { sv[i * dim + j] = p.pointee.value }
                p += 1
            }
            coef[i] = m.sv_coef[0]![i]
        }
        return OCSVMModel(dim: dim, gamma: m.param.gamma, rho: m.rho[0], coefficients: coef, supportVectors: sv)
    }
}
