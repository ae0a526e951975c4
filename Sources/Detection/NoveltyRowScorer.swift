/// A novelty scorer over normalised feature rows (`LOFScorer`, `OCSVMScorer`):
/// it scores up to `maxBatch` rows at a time out of its own Double query
/// buffer. The batch wrappers below are written once for both: they split a
/// batch into such chunks, convert each into the query buffer and collect
/// the scores ("higher = more normal": LOF `score_samples`, OCSVM decision
/// value).
public protocol NoveltyRowScorer: AnyObject {
    /// Most rows one `scoreChunk` call takes.
    var maxBatch: Int { get }
    /// Values per row.
    var dim: Int { get }

    /// Scores `rows` (1...`maxBatch`) rows: `load` writes them into the
    /// scorer's query buffer (`rows × dim` Doubles), then `emit` receives
    /// each row's index in the chunk and its score.
    func scoreChunk(rows: Int, load: (UnsafeMutablePointer<Double>) -> Void, emit: (Int, Double) -> Void)
}

extension NoveltyRowScorer {
    /// Scores `rows` row-major rows of `dim` Floats.
    public func score(batch: [Float], rows: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows)
        batch.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in score(batch: b, rows: rows, into: o) }
        }
        return out
    }

    /// Allocation-free variant: writes `rows` scores into `out`.
    public func score(batch: UnsafeBufferPointer<Float>, rows: Int, into out: UnsafeMutableBufferPointer<Float>) {
        let dim = self.dim
        precondition(batch.count >= rows * dim && out.count >= rows)
        var start = 0
        while start < rows {
            let n = min(maxBatch, rows - start)
            let src = batch.baseAddress! + start * dim
            scoreChunk(rows: n, load: { q in for i in 0..<(n * dim) { q[i] = Double(src[i]) } },
                       emit: { i, s in out[start + i] = Float(s) })
            start += n
        }
    }

    /// Double-precision variant (used to check agreement with scikit-learn and libsvm).
    public func scoreDoubles(batch: [Double], rows: Int) -> [Double] {
        let dim = self.dim
        precondition(batch.count >= rows * dim)
        var out = [Double](repeating: 0, count: rows)
        var start = 0
        while start < rows {
            let n = min(maxBatch, rows - start)
            scoreChunk(rows: n, load: { q in for i in 0..<(n * dim) { q[i] = batch[start * dim + i] } },
                       emit: { i, s in out[start + i] = s })
            start += n
        }
        return out
    }
}
