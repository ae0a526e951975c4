import Detection

/// Float forward/backward passes for single layers, used by the model-level backprop and by
/// the gradient-check tests. All tensors are plain row-major `[Float]`; batches of sequences
/// are `[n][seqLen][channels]`.
package enum Backprop {
    // MARK: Conv1D

    /// Linear "same" convolution incl. bias (no activation). Returns the output
    /// `[n][seqLen][outChannels]` and the im2col matrix needed by `convBackward`.
    package static func convForward(_ l: Conv1DLayer, x: [Float], count n: Int, seqLen t: Int,
                                   lengths: [Int]) -> (y: [Float], cols: [Float]) {
        let rows = n * t
        var cols = [Float](repeating: 0, count: rows * l.rowWidth)
        NNKernels.im2col(x: x, count: n, seqLen: t, channels: l.inChannels, kernel: l.kernel,
                         lengths: lengths, cols: &cols)
        var y = [Float](repeating: 0, count: rows * l.outChannels)
        NNKernels.fillRows(&y, with: l.bias, rows: rows, cols: l.outChannels)
        NNKernels.gemm(transB: true, m: rows, n: l.outChannels, k: l.rowWidth, a: cols, lda: l.rowWidth,
                       b: l.weight, ldb: l.rowWidth, beta: 1, c: &y, ldc: l.outChannels)
        return (y, cols)
    }

    /// Gradients of a convolution given dL/dy. `dx` is computed only if `inputGradient`.
    package static func convBackward(_ l: Conv1DLayer, dy: [Float], cols: [Float], count n: Int, seqLen t: Int,
                                    lengths: [Int], inputGradient: Bool)
        -> (dWeight: [Float], dBias: [Float], dx: [Float]?)
    {
        let rows = n * t, f = l.outChannels, w = l.rowWidth
        var dW = [Float](repeating: 0, count: f * w)
        NNKernels.gemm(transA: true, m: f, n: w, k: rows, a: dy, lda: f, b: cols, ldb: w, beta: 0, c: &dW, ldc: w)
        let db = columnSums(dy, rows: rows, cols: f)
        guard inputGradient else { return (dW, db, nil) }
        var dcols = [Float](repeating: 0, count: rows * w)
        NNKernels.gemm(m: rows, n: w, k: f, a: dy, lda: f, b: l.weight, ldb: w, beta: 0, c: &dcols, ldc: w)
        var dx = [Float](repeating: 0, count: rows * l.inChannels)
        col2im(dcols, count: n, seqLen: t, channels: l.inChannels, kernel: l.kernel, lengths: lengths, into: &dx)
        return (dW, db, dx)
    }

    /// Adjoint of `NNKernels.im2col`: scatter-adds column gradients back to the input steps.
    package static func col2im(_ dcols: [Float], count n: Int, seqLen t: Int, channels c: Int, kernel k: Int,
                              lengths: [Int], into dx: inout [Float]) {
        let pad = k / 2, w = k * c
        for i in 0 ..< n {
            let len = min(max(lengths[i], 0), t)
            for s in 0 ..< t {
                let row = (i * t + s) * w
                for j in 0 ..< k {
                    let src = s + j - pad
                    guard src >= 0 && src < len else { continue }
                    let d = (i * t + src) * c
                    for ch in 0 ..< c { dx[d + ch] += dcols[row + j * c + ch] }
                }
            }
        }
    }

    // MARK: Activations and pooling

    /// In-place ReLU that also zeroes steps at or past each sequence's length.
    package static func reluMasked(_ y: inout [Float], count n: Int, seqLen t: Int, features f: Int, lengths: [Int]) {
        for i in 0 ..< n {
            let len = min(max(lengths[i], 0), t)
            for s in 0 ..< t {
                let base = (i * t + s) * f
                for j in 0 ..< f { y[base + j] = s < len ? max(0, y[base + j]) : 0 }
            }
        }
    }

    /// dy *= (y > 0), for `y` the output of `reluMasked`.
    package static func reluBackward(_ dy: inout [Float], output y: [Float]) {
        for k in 0 ..< dy.count where !(y[k] > 0) { dy[k] = 0 }
    }

    /// Backward of `CNNModel.pool`: routes the max part to the (first) arg-max step and spreads
    /// the mean part evenly over valid steps. Returns dL/dy `[n][t][f]`.
    package static func poolBackward(_ dFeatures: [Float], y: [Float], count n: Int, seqLen t: Int, features f: Int,
                                    statsDim: Int, lengths: [Int]) -> [Float] {
        var dy = [Float](repeating: 0, count: n * t * f)
        let width = 2 * f + statsDim
        for i in 0 ..< n {
            let len = min(max(lengths[i], 0), t)
            guard len > 0 else { continue }
            let inv = 1 / Float(len)
            for j in 0 ..< f {
                var best = 0, bestV = y[(i * t) * f + j]
                for s in 1 ..< len where y[(i * t + s) * f + j] > bestV {
                    best = s; bestV = y[(i * t + s) * f + j]
                }
                dy[(i * t + best) * f + j] += dFeatures[i * width + j]
                let dm = dFeatures[i * width + f + j] * inv
                for s in 0 ..< len { dy[(i * t + s) * f + j] += dm }
            }
        }
        return dy
    }

    // MARK: Dense

    package static func denseForward(_ l: DenseLayer, x: [Float], count n: Int) -> [Float] {
        var y = [Float](repeating: 0, count: n * l.outputs)
        NNKernels.fillRows(&y, with: l.bias, rows: n, cols: l.outputs)
        NNKernels.gemm(transB: true, m: n, n: l.outputs, k: l.inputs, a: x, lda: l.inputs, b: l.weight,
                       ldb: l.inputs, beta: 1, c: &y, ldc: l.outputs)
        return y
    }

    package static func denseBackward(_ l: DenseLayer, x: [Float], dy: [Float], count n: Int, inputGradient: Bool)
        -> (dWeight: [Float], dBias: [Float], dx: [Float]?)
    {
        var dW = [Float](repeating: 0, count: l.outputs * l.inputs)
        NNKernels.gemm(transA: true, m: l.outputs, n: l.inputs, k: n, a: dy, lda: l.outputs, b: x, ldb: l.inputs,
                       beta: 0, c: &dW, ldc: l.inputs)
        let db = columnSums(dy, rows: n, cols: l.outputs)
        guard inputGradient else { return (dW, db, nil) }
        var dx = [Float](repeating: 0, count: n * l.inputs)
        NNKernels.gemm(m: n, n: l.inputs, k: l.outputs, a: dy, lda: l.outputs, b: l.weight, ldb: l.inputs,
                       beta: 0, c: &dx, ldc: l.inputs)
        return (dW, db, dx)
    }

    // MARK: Loss

    /// Class-weighted softmax cross-entropy, normalised by the summed weights of the batch:
    /// L = Σ w[y_i]·(−log p_i[y_i]) / Σ w[y_i]. Returns the loss and dL/dlogits.
    package static func softmaxCrossEntropy(logits: [Float], labels: [Int], count n: Int, classes k: Int,
                                           classWeights: [Float]) -> (loss: Float, dLogits: [Float]) {
        var p = logits
        NNMath.softmaxRows(&p, rows: n, cols: k)
        var total: Double = 0, wsum: Double = 0
        for i in 0 ..< n {
            let w = Double(classWeights[labels[i]])
            wsum += w
            total -= w * Double(log(max(p[i * k + labels[i]], 1e-30)))
        }
        let inv = wsum > 0 ? Float(1 / wsum) : 0
        var d = p
        for i in 0 ..< n {
            let w = classWeights[labels[i]] * inv
            d[i * k + labels[i]] -= 1
            for j in 0 ..< k { d[i * k + j] *= w }
        }
        return (wsum > 0 ? Float(total / wsum) : 0, d)
    }

    static func columnSums(_ m: [Float], rows: Int, cols: Int) -> [Float] {
        var s = [Float](repeating: 0, count: cols)
        for r in 0 ..< rows { for c in 0 ..< cols { s[c] += m[r * cols + c] } }
        return s
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
