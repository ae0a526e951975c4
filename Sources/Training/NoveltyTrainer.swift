import Detection

/// Parameters for fitting the novelty detectors.
package struct NoveltyTrainingConfig: Sendable {
    /// LOF neighbours (sklearn `n_neighbors`).
    package var k: Int = 20
    /// Bound on the LOF reference set / OCSVM training set (reservoir-sampled benign rows).
    package var maxReferenceRows: Int = 4096
    package var trainLOF = true
    package var trainOCSVM = true
    package var nu: Double = 0.05
    package var gamma: OCSVMTrainer.Gamma = .scale
    package var svmTolerance: Double = 1e-3
    /// Per-column log scaling; `nil` = choose with `Normaliser.heavyTailedColumns`.
    package var logScale: [Bool]? = nil
    /// Size of the calibration quantile tables.
    package var quantileCount: Int = 1001
    package var seed: UInt64 = 0x5EED

    package init() {}
}

/// Fits normaliser, LOF, OCSVM and calibrators on benign rows.
///
/// The normaliser is fitted on all benign training rows; LOF's reference set and the OCSVM's
/// training set are a reservoir sample (≤ `maxReferenceRows`) of the normalised rows.
/// Calibrators are fitted on a *separate* benign validation set (scoring the reference rows
/// themselves would find each at distance 0 and understate their scores); with no validation
/// rows the calibrators are omitted.
package enum NoveltyTrainer {
    package static func fit(benign: [Float], count: Int, dim: Int,
                           validation: [Float] = [], validationCount: Int = 0,
                           config: NoveltyTrainingConfig = .init()) throws(LibSVMError) -> NoveltyModel {
        precondition(count >= 2 && benign.count >= count * dim)
        precondition(validation.count >= validationCount * dim)
        precondition(config.trainLOF || config.trainOCSVM)
        let logs = config.logScale ?? Normaliser.heavyTailedColumns(rows: benign, count: count, dim: dim)
        let normaliser = Normaliser.fit(rows: benign, count: count, dim: dim, logScale: logs)

        var reservoir = ReservoirSampler(capacity: config.maxReferenceRows, dim: dim, seed: config.seed)
        reservoir.add(rows: benign, count: count)
        let reference = normaliser.applied(batch: reservoir.rows, rows: reservoir.count)
        let referenceD = reference.map(Double.init)

        let lof = config.trainLOF
            ? LOFTrainer.fit(reference: referenceD, rows: reservoir.count, dim: dim, k: config.k) : nil
        let svm = config.trainOCSVM
            ? try OCSVMTrainer.fit(rows: referenceD, count: reservoir.count, dim: dim, nu: config.nu,
                                   gamma: config.gamma, tolerance: config.svmTolerance) : nil

        var model = NoveltyModel(normaliser: normaliser, lof: lof, ocsvm: svm)
        if validationCount > 0 {
            let s = model.makeScorer().score(batch: validation, rows: validationCount)
            model = NoveltyModel(
                normaliser: normaliser, lof: lof, ocsvm: svm,
                lofCalibration: lof.map { _ in
                    ScoreCalibrator.fit(benignScores: s.lofRaw, higherIsAnomalous: false, quantileCount: config.quantileCount)
                },
                ocsvmCalibration: svm.map { _ in
                    ScoreCalibrator.fit(benignScores: s.ocsvmRaw, higherIsAnomalous: false, quantileCount: config.quantileCount)
                })
        }
        return model
    }
}
