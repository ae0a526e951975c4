#if canImport(Glibc)
import Glibc
#endif
import Features

/// Explaining a verdict: which statistics and packets raised the score, found
/// by occlusion (each replaced by a typical benign value and the flow scored
/// again), and the rest of what an alert reports.
extension EnsembleScorer {
    /// Everything an alert reports beyond the verdict: the scores of the
    /// models that did not decide it, the explanation, and the LOF reference
    /// flows nearest to it. Called for flows that alert.
    public func detail(_ v: inout Verdict, features f: FeatureVector, sequence s: PacketSequence, top: Int = 5) {
        v.explanation = explain(features: f, sequence: s, top: top)
        // Row 0 of the buffers holds the flow itself after `explain`.
        let d = model.statFeatures.count, b = model.benignIndex
        let m = decidingModels
        if !m.cnn || !m.lstm {
            prepare(n: 1)
            runClassifiers(n: 1, cnn: !m.cnn, lstm: !m.lstm)
            if !m.cnn { v.cnn = 1 - pCNN[b] }
            if !m.lstm { v.lstm = 1 - pLSTM[b] }
        }
        if detailRow.count != d { detailRow = [Float](repeating: 0, count: d) }
        for j in 0..<d { detailRow[j] = stats[j] }
        if !m.novelty {
            novelty.score(batch: detailRow, rows: 1, into: &detailNovelty)
            if !detailNovelty.lof.isEmpty { v.lof = detailNovelty.lof[0] }
            if !detailNovelty.ocsvm.isEmpty { v.ocsvm = detailNovelty.ocsvm[0] }
        }
        v.lofNearest = novelty.nearestReferences(row: detailRow, count: top)
    }

    /// Explains a verdict: the five statistics or packet positions whose
    /// replacement by a typical benign value (the normaliser's median; a
    /// dropped packet) changes the combined score most, with the signed
    /// change in log-odds (positive: the feature raised the score).
    public func explain(features v: FeatureVector, sequence s: PacketSequence, top: Int = 5) -> [Verdict.Contribution] {
        let d = model.statFeatures.count
        let seqWidth = PacketSequence.length * 5
        if baseStats.count != d { baseStats = [Float](repeating: 0, count: d) }
        if baseRaw.count != seqWidth { baseRaw = [Float](repeating: 0, count: seqWidth) }
        baseStats.withUnsafeMutableBufferPointer { ModelInput.stats(v, indices: model.featureIndices, into: $0.baseAddress!) }
        let len = baseRaw.withUnsafeMutableBufferPointer { ModelInput.sequence(s, into: $0.baseAddress!) }
        // Statistics already at their benign median (normalised 0) would
        // be replaced by themselves: their contribution is exactly 0, so
        // they get no row.
        occludedColumns.removeAll(keepingCapacity: true)
        for f in 0..<d where model.classifierNormaliser.apply(Double(baseStats[f]), column: f) != 0 { occludedColumns.append(f) }
        let columns = occludedColumns.count
        let packets = max(0, min(Int(s.count), maxBatch - 1 - columns))
        // Row 0: the flow itself; then one row per statistic set to its
        // benign median (rows 0...columns all have the flow's own sequence);
        // then one row per packet with that packet removed, which has the
        // flow's statistics and sequence 1 + p.
        let rows = 1 + columns + packets
        for r in 0..<rows {
            for j in 0..<d { stats[r * d + j] = baseStats[j] }
        }
        for (k, f) in occludedColumns.enumerated() {
            stats[(1 + k) * d + f] = Float(model.classifierNormaliser.invert(0, column: f))
        }
        // Distinct sequences: 0 the flow's own, 1 + p without packet p.
        for q in 0..<(1 + packets) {
            for j in 0..<seqWidth { raw[q * seqWidth + j] = baseRaw[j] }
            lengths[q] = len
        }
        for p in 0..<packets {
            // Remove packet p: shift the later packets left.
            let o = (1 + p) * seqWidth
            for t in p..<(PacketSequence.length - 1) {
                for c in 0..<5 { raw[o + t * 5 + c] = raw[o + (t + 1) * 5 + c] }
            }
            lengths[1 + p] = max(0, len - 1)
        }
        occlusionVerdicts.removeAll(keepingCapacity: true)
        scoreInputs(rows: rows, shared: 1 + columns, into: &occlusionVerdicts)
        // Contributions in log-odds, so they stay informative when the
        // score itself is saturated near 1.
        func logit(_ p: Float) -> Float {
            let q = min(max(p, 1e-7), 1 - 1e-7)
            return log(q / (1 - q))
        }
        let full = logit(occlusionVerdicts[0].score)
        // Rank rows 1..<rows (statistics first, then packets) and
        // name only the ones reported.
        ranked.removeAll(keepingCapacity: true)
        for r in 1..<rows { ranked.append((r, full - logit(occlusionVerdicts[r].score))) }
        ranked.sort { abs($0.contribution) > abs($1.contribution) }
        var out: [Verdict.Contribution] = []
        out.reserveCapacity(min(top, ranked.count))
        for (r, delta) in ranked.prefix(top) {
            if r <= columns {
                let f = occludedColumns[r - 1]
                out.append(.init(feature: model.statFeatures[f], value: Double(baseStats[f]), contribution: delta))
            } else {
                let p = r - 1 - columns
                out.append(.init(feature: "packet[\(p)]", value: Double(baseRaw[p * 5 + 1]) * Double(baseRaw[p * 5]),
                                 contribution: delta))
            }
        }
        return out
    }

    /// The explanation's rows: `rows` statistics rows in `stats`, of which rows
    /// 0..<shared share sequence 0 and each later row r has its own sequence
    /// r − shared + 1 (sequence 0 without packet r − shared) in `raw` / `lengths`. Same verdicts as `scoreInputs` on
    /// the rows with their sequences written out in full.
    func scoreInputs(rows: Int, shared: Int, into out: inout [Verdict]) {
        let m = decidingModels
        if m.novelty { novelty.score(batch: stats, rows: rows, into: &nov) } else { nov = NoveltyScores() }
        prepareStats(n: rows)
        prepareSequences(n: rows - shared + 1)
        runClassifiers(rows: rows, shared: shared, cnn: m.cnn, lstm: m.lstm)
        makeVerdicts(n: rows, models: m, into: &out)
    }

    /// Like `runClassifiers(n: rows, …)` on the explanation's rows: rows
    /// 0..<shared all have sequence 0, row r ≥ shared has sequence r − shared + 1,
    /// which is sequence 0 without packet r − shared (`encoded` and `lengths`
    /// hold the `rows − shared + 1` distinct sequences, `statsNorm` all `rows`
    /// statistics rows). Both classifiers read the
    /// sequence only through their sequence part (CNN convolutions and
    /// pooling, LSTM recurrence) and join the statistics in the dense head, so
    /// the sequence part runs once per distinct sequence and only the head per
    /// row — the same arithmetic on the same values as the full path.
    private func runClassifiers(rows: Int, shared: Int, cnn runCNN: Bool, lstm runLSTM: Bool) {
        let seqRows = rows - shared + 1
        withClassifierBuffers { b in
            let batch = b.batch(count: seqRows, statsRows: seqRows)
            func run<M: SequenceClassifier>(_ m: M, _ scratch: M.Scratch, into p: UnsafeMutableBufferPointer<Float>,
                                            encode: (UnsafeMutablePointer<Float>) -> Void) {
                headsOnSharedSequences(m, scratch: scratch, rows: rows, shared: shared, stats: b.stats,
                                       into: p.baseAddress!, encode: encode)
            }
            if useFloat, let cf = model.cnnFloat, let lf = model.lstmFloat {
                if runCNN {
                    run(cf, cnnFloatScratch, into: b.cnn) {
                        cf.encodeSequences(batch, scratch: cnnFloatScratch, into: $0, stride: cf.sequenceFeatureCount)
                    }
                }
                if runLSTM {
                    run(lf, lstmFloatScratch, into: b.lstm) {
                        lf.encodeSequences(batch, scratch: lstmFloatScratch, into: $0, stride: lf.sequenceFeatureCount)
                    }
                }
            } else {
                let cnn = model.cnn, lstm = model.lstm
                if runCNN {
                    run(cnn, cnnScratch, into: b.cnn) {
                        cnn.encodeSequences(batch, scratch: cnnScratch, into: $0, stride: cnn.sequenceFeatureCount)
                    }
                }
                if runLSTM {
                    // Sequences 1 + p are sequence 0 without packet p: their
                    // recurrence can start from sequence 0's state (same values).
                    let removals = seqRows - 1 <= lstm.shape.clampedLength(b.lengths[0])
                    run(lstm, lstmScratch, into: b.lstm) {
                        if removals {
                            lstm.encodeRemovals(batch, removed: seqRows - 1, scratch: lstmScratch, into: $0, stride: lstm.sequenceFeatureCount)
                        } else {
                            lstm.encodeSequences(batch, scratch: lstmScratch, into: $0, stride: lstm.sequenceFeatureCount)
                        }
                    }
                }
            }
        }
    }

    /// One classifier on the explanation's rows: `encode` writes the sequence
    /// part of each distinct sequence (`sequenceFeatureCount` values apart),
    /// then each row's head input [its sequence's part ‖ its statistics] goes
    /// through the head into `p`, `classes` per row.
    private func headsOnSharedSequences<M: SequenceClassifier>(
        _ m: M, scratch: M.Scratch, rows: Int, shared: Int, stats: UnsafeBufferPointer<Float>,
        into p: UnsafeMutablePointer<Float>, encode: (UnsafeMutablePointer<Float>) -> Void
    ) {
        let d = model.statFeatures.count, sf = m.sequenceFeatureCount, fc = sf + d
        let enc = encodings.ensure((rows - shared + 1) * sf)
        encode(enc)
        let hi = headInputs.ensure(rows * fc)
        for r in 0..<rows {
            let q = r < shared ? 0 : r - shared + 1
            (hi + r * fc).update(from: enc + q * sf, count: sf)
            if d > 0 { (hi + r * fc + sf).update(from: stats.baseAddress! + r * d, count: d) }
        }
        m.predictHead(features: hi, count: rows, scratch: scratch, into: p)
    }
}
