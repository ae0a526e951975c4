import Detection

/// Everything the LSTM backward pass needs from the forward pass.
package struct LSTMForwardCache: Sendable {
    package let count: Int
    package let seqLen: Int
    package let maxLen: Int
    /// Activated gates `[n][t][i|f|g|o]`.
    package var gates: [Float]
    /// Cell states `[n][t+1][h]`, slot 0 = initial zeros, slot s+1 = c after step s.
    package var cells: [Float]
    /// Hidden states `[n][t+1][h]`, same slot convention.
    package var hiddens: [Float]
    /// h after each sequence's last valid step (zeros for empty sequences), `[n][h]`.
    package var last: [Float]
}

extension Backprop {
    /// LSTM forward over `x` (`[n][t][inputs]`) keeping the states for backprop.
    package static func lstmForward(_ l: LSTMLayer, x: [Float], count n: Int, seqLen t: Int,
                                   lengths: [Int]) -> LSTMForwardCache {
        let h = l.hidden, g4 = 4 * h, slots = t + 1
        let lens = lengths.map { min(max($0, 0), t) }
        let maxLen = lens.max() ?? 0
        var gates = [Float](repeating: 0, count: n * t * g4)
        NNKernels.fillRows(&gates, with: l.bias, rows: n * t, cols: g4)
        NNKernels.gemm(transB: true, m: n * t, n: g4, k: l.inputs, a: x, lda: l.inputs, b: l.wx, ldb: l.inputs,
                       beta: 1, c: &gates, ldc: g4)
        var cells = [Float](repeating: 0, count: n * slots * h)
        var hiddens = [Float](repeating: 0, count: n * slots * h)
        gates.withUnsafeMutableBufferPointer { gp in
            cells.withUnsafeMutableBufferPointer { cp in
                hiddens.withUnsafeMutableBufferPointer { hp in
                    let g = gp.baseAddress!, c = cp.baseAddress!, hs = hp.baseAddress!
                    for s in 0 ..< maxLen {
                        if s > 0 {
                            NNKernels.gemm(transB: true, m: n, n: g4, k: h, a: hs + s * h, lda: slots * h,
                                           b: l.wh, ldb: h, beta: 1, c: g + s * g4, ldc: t * g4)
                        }
                        for i in 0 ..< n {
                            let cNext = c + (i * slots + s + 1) * h
                            cNext.update(from: c + (i * slots + s) * h, count: h)
                            LSTMModel.cell(gates: g + (i * t + s) * g4, c: cNext, h: hs + (i * slots + s + 1) * h, hidden: h)
                        }
                    }
                }
            }
        }
        var last = [Float](repeating: 0, count: n * h)
        for i in 0 ..< n where lens[i] > 0 {
            for j in 0 ..< h { last[i * h + j] = hiddens[(i * slots + lens[i]) * h + j] }
        }
        return LSTMForwardCache(count: n, seqLen: t, maxLen: maxLen, gates: gates, cells: cells, hiddens: hiddens, last: last)
    }

    /// Backward given dL/d(last hidden state) `[n][h]`. Returns parameter gradients and, if
    /// requested, dL/dx.
    package static func lstmBackward(_ l: LSTMLayer, x: [Float], cache: LSTMForwardCache, dLast: [Float],
                                    lengths: [Int], inputGradient: Bool)
        -> (dWx: [Float], dWh: [Float], dBias: [Float], dx: [Float]?)
    {
        let n = cache.count, t = cache.seqLen, h = l.hidden, g4 = 4 * h, slots = t + 1
        let lens = lengths.map { min(max($0, 0), t) }
        var dA = [Float](repeating: 0, count: n * t * g4)
        var dWh = [Float](repeating: 0, count: g4 * h)
        var dh = [Float](repeating: 0, count: n * h)
        var dc = [Float](repeating: 0, count: n * h)
        for s in stride(from: cache.maxLen - 1, through: 0, by: -1) {
            for i in 0 ..< n {
                if lens[i] - 1 == s { for j in 0 ..< h { dh[i * h + j] += dLast[i * h + j] } }
                let gb = (i * t + s) * g4
                let cb = (i * slots + s + 1) * h, pb = (i * slots + s) * h
                for j in 0 ..< h {
                    let ig = cache.gates[gb + j], fg = cache.gates[gb + h + j]
                    let gg = cache.gates[gb + 2 * h + j], og = cache.gates[gb + 3 * h + j]
                    let tc = NNMath.tanh(cache.cells[cb + j])
                    let dhv = dh[i * h + j]
                    let dcv = dc[i * h + j] + dhv * og * (1 - tc * tc)
                    dA[gb + j] = dcv * gg * ig * (1 - ig)
                    dA[gb + h + j] = dcv * cache.cells[pb + j] * fg * (1 - fg)
                    dA[gb + 2 * h + j] = dcv * ig * (1 - gg * gg)
                    dA[gb + 3 * h + j] = dhv * tc * og * (1 - og)
                    dc[i * h + j] = dcv * fg
                }
            }
            dA.withUnsafeBufferPointer { ap in
                cache.hiddens.withUnsafeBufferPointer { hp in
                    let a = ap.baseAddress! + s * g4
                    NNKernels.gemm(transA: true, m: g4, n: h, k: n, a: a, lda: t * g4, b: hp.baseAddress! + s * h,
                                   ldb: slots * h, beta: 1, c: &dWh, ldc: h)
                    NNKernels.gemm(m: n, n: h, k: g4, a: a, lda: t * g4, b: l.wh, ldb: h, beta: 0, c: &dh, ldc: h)
                }
            }
        }
        var dWx = [Float](repeating: 0, count: g4 * l.inputs)
        NNKernels.gemm(transA: true, m: g4, n: l.inputs, k: n * t, a: dA, lda: g4, b: x, ldb: l.inputs,
                       beta: 0, c: &dWx, ldc: l.inputs)
        let db = columnSums(dA, rows: n * t, cols: g4)
        guard inputGradient else { return (dWx, dWh, db, nil) }
        var dx = [Float](repeating: 0, count: n * t * l.inputs)
        NNKernels.gemm(m: n * t, n: l.inputs, k: g4, a: dA, lda: g4, b: l.wx, ldb: l.inputs, beta: 0, c: &dx, ldc: l.inputs)
        return (dWx, dWh, db, dx)
    }
}
