import Detection

/// Fits `LOFModel` exactly as scikit-learn's `LocalOutlierFactor(novelty=True).fit` does:
/// each reference row's neighbours exclude the row itself (duplicates of it still count, at
/// distance 0); `k` is clamped to `max(1, min(k, rows − 1))`.
package enum LOFTrainer {
    package static func fit(reference: [Float], rows: Int, dim: Int, k: Int = 20) -> LOFModel {
        fit(reference: reference.map(Double.init), rows: rows, dim: dim, k: k)
    }

    package static func fit(reference: [Double], rows: Int, dim: Int, k requestedK: Int = 20) -> LOFModel {
        precondition(rows >= 2, "LOF needs at least two reference rows")
        precondition(dim > 0 && reference.count == rows * dim)
        let k = max(1, min(requestedK, rows - 1))
        let norms = MatrixDistance.rowSquaredNorms(reference, rows: rows, dim: dim)
        var nnIndex = [Int](repeating: 0, count: rows * k)
        var nnDist = [Double](repeating: 0, count: rows * k)
        var kDistance = [Double](repeating: 0, count: rows)
        let block = 256
        let dist = UnsafeMutablePointer<Double>.allocate(capacity: block * rows)
        defer { dist.deallocate() }
        reference.withUnsafeBufferPointer { ref in
            norms.withUnsafeBufferPointer { rn in
                nnIndex.withUnsafeMutableBufferPointer { ni in
                    nnDist.withUnsafeMutableBufferPointer { nd in
                        var start = 0
                        while start < rows {
                            let n = min(block, rows - start)
                            MatrixDistance.squaredDistances(
                                queries: ref.baseAddress! + start * dim, queryNorms: rn.baseAddress! + start,
                                rows: n, refs: ref.baseAddress!, refNorms: rn.baseAddress!,
                                refRows: rows, dim: dim, into: dist)
                            for i in 0..<n {
                                let a = start + i
                                KNearest.select(row: dist + i * rows, n: rows, k: k, exclude: a,
                                                idx: ni.baseAddress! + a * k, val: nd.baseAddress! + a * k)
                                var kd = 0.0
                                for t in 0..<k {
                                    let j = ni[a * k + t]
                                    let d = MatrixDistance.exactDistance(ref.baseAddress! + a * dim,
                                                                         ref.baseAddress! + j * dim, dim: dim)
                                    nd[a * k + t] = d
                                    kd = max(kd, d)
                                }
                                kDistance[a] = kd
                            }
                            start += n
                        }
                    }
                }
            }
        }
        var lrd = [Double](repeating: 0, count: rows)
        for a in 0..<rows {
            var s = 0.0
            for t in 0..<k {
                s += max(nnDist[a * k + t], kDistance[nnIndex[a * k + t]])
            }
            lrd[a] = 1.0 / (s / Double(k) + LOFModel.lrdEpsilon)
        }
        return LOFModel(k: k, dim: dim, reference: reference, kDistance: kDistance, lrd: lrd)
    }
}
