import Detection

/// Per-column normalisation choice.
package struct NormaliserColumnConfig: Sendable, Equatable {
    /// `sign(x)·log1p(|x|)` before scaling (heavy-tailed counts, bytes, durations).
    package var logScale: Bool
    /// `(x − median)/IQR`; when false the column is only (optionally) log-scaled.
    package var robustScale: Bool

    package init(logScale: Bool = false, robustScale: Bool = true) {
        self.logScale = logScale
        self.robustScale = robustScale
    }
}

extension Normaliser {
    /// Fits with a per-column configuration.
    package static func fit(rows: [Float], count: Int, dim: Int, config: [NormaliserColumnConfig]) -> Normaliser {
        precondition(config.count == dim)
        let fitted = fit(rows: rows, count: count, dim: dim, logScale: config.map(\.logScale))
        return Normaliser(columns: zip(fitted.columns, config).map { col, cfg in
            cfg.robustScale ? col : NormaliserColumn(logScale: cfg.logScale, centre: 0, scale: 1)
        })
    }

    /// Fits per-column median/IQR (numpy linear quantiles) after the optional signed log.
    /// Non-finite training values are ignored; IQR == 0 (or a column with no finite values)
    /// falls back to scale 1, as scikit-learn's RobustScaler does.
    package static func fit(rows: [Float], count: Int, dim: Int, logScale: [Bool]) -> Normaliser {
        fit(rows: rows.map(Double.init), count: count, dim: dim, logScale: logScale)
    }

    package static func fit(rows: [Double], count: Int, dim: Int, logScale: [Bool]) -> Normaliser {
        precondition(dim > 0 && rows.count >= count * dim && logScale.count == dim)
        var cols: [NormaliserColumn] = []
        var column = [Double]()
        column.reserveCapacity(count)
        for c in 0..<dim {
            column.removeAll(keepingCapacity: true)
            for i in 0..<count {
                let x = rows[i * dim + c]
                let v = logScale[c] ? Normaliser.signedLog(x) : x
                if v.isFinite { column.append(v) }
            }
            guard !column.isEmpty else {
                cols.append(NormaliserColumn(logScale: logScale[c], centre: 0, scale: 1))
                continue
            }
            column.sort()
            let median = Quantiles.linear(sorted: column, q: 0.5)
            let iqr = Quantiles.linear(sorted: column, q: 0.75) - Quantiles.linear(sorted: column, q: 0.25)
            let scale = (iqr > 0 && iqr.isFinite && iqr >= 1e-12 * max(1, abs(median))) ? iqr : 1
            cols.append(NormaliserColumn(logScale: logScale[c], centre: median, scale: scale))
        }
        return Normaliser(columns: cols)
    }

    /// Heuristic choice of log-scaled columns: non-negative columns whose upper tail is far
    /// beyond their bulk (99th percentile − median > `ratio` × max(IQR, tiny)) or whose values
    /// span more than three orders of magnitude.
    package static func heavyTailedColumns(rows: [Float], count: Int, dim: Int, ratio: Double = 10) -> [Bool] {
        (0..<dim).map { c in
            var v = (0..<count).map { Double(rows[$0 * dim + c]) }.filter { $0.isFinite }
            guard v.count >= 4 else { return false }
            v.sort()
            let med = Quantiles.linear(sorted: v, q: 0.5)
            let iqr = Quantiles.linear(sorted: v, q: 0.75) - Quantiles.linear(sorted: v, q: 0.25)
            let p99 = Quantiles.linear(sorted: v, q: 0.99)
            let tail = p99 - med > ratio * max(iqr, 1e-9)
            let span = v.last! > 1000 * max(abs(med), 1)
            return v.first! >= 0 && (tail || span)
        }
    }
}
