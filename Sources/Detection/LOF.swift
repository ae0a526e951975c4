/// Local Outlier Factor in novelty mode, with exactly scikit-learn's definition
/// (`LocalOutlierFactor(novelty=True, metric="euclidean").score_samples`):
///
///   k-distance(b)   = distance from reference row b to its k-th nearest *other* reference row
///   reach(a, b)     = max(k-distance(b), d(a, b))
///   lrd(a)          = 1 / (mean_{b ∈ kNN(a)} reach(a, b) + 1e-10)
///   score(q)        = −mean_{b ∈ kNN(q)} lrd(b) / lrd(q)
///
/// Scores are ≈ −1 for inliers and more negative for outliers (higher = more normal).
/// The reference set, its k-distances and lrd values are computed at training
/// (`LOFTrainer` in the Training module); this type only scores.
public struct LOFModel: Sendable, Equatable {
    /// Number of neighbours actually used (sklearn's `n_neighbors_`).
    public let k: Int
    public let dim: Int
    public let rows: Int
    /// Row-major `rows × dim` reference set.
    public let reference: [Double]
    /// k-distance of each reference row (excluding itself).
    public let kDistance: [Double]
    /// Local reachability density of each reference row.
    public let lrd: [Double]
    /// ‖r‖² per reference row (derived, not serialised).
    let referenceNorms: [Double]

    public static let lrdEpsilon = 1e-10

    public init(k: Int, dim: Int, reference: [Double], kDistance: [Double], lrd: [Double]) {
        let rows = dim > 0 ? reference.count / dim : 0
        precondition(dim > 0 && reference.count == rows * dim, "reference must be rows × dim")
        precondition(kDistance.count == rows && lrd.count == rows)
        precondition(k >= 1 && k < max(rows, 2), "k must be in 1..<rows")
        self.k = k
        self.dim = dim
        self.rows = rows
        self.reference = reference
        self.kDistance = kDistance
        self.lrd = lrd
        self.referenceNorms = MatrixDistance.rowSquaredNorms(reference, rows: rows, dim: dim)
    }

    public static func == (a: LOFModel, b: LOFModel) -> Bool {
        a.k == b.k && a.dim == b.dim && a.reference == b.reference && a.kDistance == b.kDistance && a.lrd == b.lrd
    }

    // MARK: Bundle coding

    public static let sectionName = "lof"

    public func encode() -> [UInt8] {
        var w = BundleWriter()
        w.tag("LOF1")
        w.count(k)
        w.count(dim)
        w.count(rows)
        w.f64Array(reference)
        w.f64Array(kDistance)
        w.f64Array(lrd)
        return w.bytes
    }

    public init(decoding bytes: [UInt8], section: String = LOFModel.sectionName) throws(BundleError) {
        var r = BundleReader(bytes, section: section)
        try r.expectTag("LOF1")
        let k = try r.count(elementSize: 0)
        let dim = try r.count(elementSize: 0)
        let rows = try r.count(elementSize: 0)
        let reference = try r.f64Array()
        let kd = try r.f64Array()
        let lrd = try r.f64Array()
        try r.expectEnd()
        let (cells, overflow) = rows.multipliedReportingOverflow(by: dim)
        guard dim > 0, rows >= 2, !overflow, reference.count == cells, kd.count == rows, lrd.count == rows,
              k >= 1, k < rows, reference.allSatisfy({ $0.isFinite }),
              kd.allSatisfy({ $0.isFinite && $0 >= 0 }), lrd.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw r.fail("inconsistent LOF shape (k \(k), dim \(dim), rows \(rows), \(reference.count) values)")
        }
        self.init(k: k, dim: dim, reference: reference, kDistance: kd, lrd: lrd)
    }

    /// Convenience: a scorer with preallocated scratch for batches of up to `maxBatch` rows.
    public func makeScorer(maxBatch: Int = 256) -> LOFScorer { LOFScorer(model: self, maxBatch: maxBatch) }
}

/// One reference flow near a query, in the normalised feature space.
public struct LOFNeighbour: Sendable, Equatable {
    public var reference: Int
    public var distance: Double
    public var kDistance: Double
}

/// Batched LOF scoring with preallocated scratch. Not thread-safe: use one scorer per task
/// (the model it wraps is immutable and shareable).
public final class LOFScorer: NoveltyRowScorer {
    public let model: LOFModel
    public let maxBatch: Int
    private let q: UnsafeMutablePointer<Double>
    private let qNorms: UnsafeMutablePointer<Double>
    private let dist: UnsafeMutablePointer<Double>
    private let nnIdx: UnsafeMutablePointer<Int>
    private let nnVal: UnsafeMutablePointer<Double>

    public init(model: LOFModel, maxBatch: Int = 256) {
        precondition(maxBatch > 0)
        self.model = model
        self.maxBatch = maxBatch
        q = .allocate(capacity: maxBatch * model.dim)
        qNorms = .allocate(capacity: maxBatch)
        dist = .allocate(capacity: maxBatch * model.rows)
        nnIdx = .allocate(capacity: model.k)
        nnVal = .allocate(capacity: model.k)
    }

    deinit {
        q.deallocate(); qNorms.deallocate(); dist.deallocate(); nnIdx.deallocate(); nnVal.deallocate()
    }

    public var dim: Int { model.dim }

    /// The `count` (at most k) reference flows nearest to one normalised row,
    /// nearest first: their row in the reference set, Euclidean distance and
    /// k-distance (the query is an outlier to a neighbour when its distance
    /// is well beyond that neighbour's own k-distance).
    public func nearest(row: UnsafeBufferPointer<Float>, count: Int) -> [LOFNeighbour] {
        let dim = model.dim, k = min(count, model.k, model.rows)
        precondition(row.count >= dim)
        guard k > 0 else { return [] }
        for i in 0..<dim { q[i] = Double(row[i]) }
        MatrixDistance.rowSquaredNorms(q, rows: 1, dim: dim, into: qNorms)
        var out: [LOFNeighbour] = []
        model.reference.withUnsafeBufferPointer { ref in
            model.referenceNorms.withUnsafeBufferPointer { rn in
                MatrixDistance.squaredDistances(queries: q, queryNorms: qNorms, rows: 1,
                                                refs: ref.baseAddress!, refNorms: rn.baseAddress!,
                                                refRows: model.rows, dim: dim, into: dist)
                KNearest.select(row: dist, n: model.rows, k: k, idx: nnIdx, val: nnVal)
                for t in 0..<k {
                    let j = nnIdx[t]
                    out.append(LOFNeighbour(reference: j,
                                            distance: MatrixDistance.exactDistance(q, ref.baseAddress! + j * dim, dim: dim),
                                            kDistance: model.kDistance[j]))
                }
            }
        }
        return out
    }

    /// sklearn `score_samples` in double precision (used to check agreement with scikit-learn).
    public func scoreSamples(batch: [Double], rows: Int) -> [Double] { scoreDoubles(batch: batch, rows: rows) }

    /// sklearn `score_samples` of `n` rows loaded into the query buffer.
    @inline(__always)
    public func scoreChunk(rows n: Int, load: (UnsafeMutablePointer<Double>) -> Void, emit: (Int, Double) -> Void) {
        precondition(n <= maxBatch)
        load(q)
        let dim = model.dim, refRows = model.rows, k = model.k
        MatrixDistance.rowSquaredNorms(q, rows: n, dim: dim, into: qNorms)
        model.reference.withUnsafeBufferPointer { ref in
            model.referenceNorms.withUnsafeBufferPointer { rn in
                model.kDistance.withUnsafeBufferPointer { kd in
                    model.lrd.withUnsafeBufferPointer { lrd in
                        MatrixDistance.squaredDistances(queries: q, queryNorms: qNorms, rows: n,
                                                        refs: ref.baseAddress!, refNorms: rn.baseAddress!,
                                                        refRows: refRows, dim: dim, into: dist)
                        for i in 0..<n {
                            KNearest.select(row: dist + i * refRows, n: refRows, k: k, idx: nnIdx, val: nnVal)
                            var reachSum = 0.0, lrdSum = 0.0
                            let qi = q + i * dim
                            for t in 0..<k {
                                let j = nnIdx[t]
                                let d = MatrixDistance.exactDistance(qi, ref.baseAddress! + j * dim, dim: dim)
                                reachSum += max(d, kd[j])
                                lrdSum += lrd[j]
                            }
                            let lrdQ = 1.0 / (reachSum / Double(k) + LOFModel.lrdEpsilon)
                            emit(i, -(lrdSum / Double(k)) / lrdQ)
                        }
                    }
                }
            }
        }
    }
}
