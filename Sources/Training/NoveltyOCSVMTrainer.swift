import Detection

/// Trains a one-class RBF SVM on benign rows through libsvm and exports it as `OCSVMModel`.
package enum OCSVMTrainer {
    package enum Gamma: Sendable, Equatable {
        case value(Double)
        /// scikit-learn's `gamma="scale"`: 1 / (dim · Var(all training values)).
        case scale
    }

    package static func resolveGamma(_ gamma: Gamma, rows: [Double], dim: Int) -> Double {
        switch gamma {
        case .value(let g): return g
        case .scale:
            let n = Double(rows.count)
            let mean = rows.reduce(0, +) / n
            let variance = rows.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
            return variance > 0 ? 1.0 / (Double(dim) * variance) : 1.0
        }
    }

    package static func fit(rows: [Float], count: Int, dim: Int, nu: Double = 0.05, gamma: Gamma = .scale,
                           tolerance: Double = 1e-3) throws(LibSVMError) -> OCSVMModel {
        try fit(rows: rows.map(Double.init), count: count, dim: dim, nu: nu, gamma: gamma, tolerance: tolerance)
    }

    package static func fit(rows: [Double], count: Int, dim: Int, nu: Double = 0.05, gamma: Gamma = .scale,
                           tolerance: Double = 1e-3) throws(LibSVMError) -> OCSVMModel {
        let g = resolveGamma(gamma, rows: rows, dim: dim)
        let svm = try LibSVMOneClass(rows: rows, count: count, dim: dim, nu: nu, gamma: g, tolerance: tolerance)
        return svm.exportModel()
    }
}
