import Foundation

/// Per-column transform fitted on training data.
public struct NormaliserColumn: Sendable, Equatable {
    /// Apply `sign(x)·log1p(|x|)` first (for heavy-tailed columns such as byte counts).
    public var logScale: Bool
    /// Subtracted after the optional log (the training median).
    public var centre: Double
    /// Divided by after centring (the training IQR; 1 when the IQR was 0).
    public var scale: Double

    public init(logScale: Bool, centre: Double, scale: Double) {
        precondition(scale > 0 && scale.isFinite && centre.isFinite, "normaliser scale must be positive and finite")
        self.logScale = logScale
        self.centre = centre
        self.scale = scale
    }

    public static let identity = NormaliserColumn(logScale: false, centre: 0, scale: 1)
}

/// Feature normalisation: optional signed log per column, then robust scaling
/// `(x − median) / IQR`. Fitted in Training (`Normaliser.fit`), applied here.
///
/// Non-finite outputs are sanitised so they cannot poison distance computations:
/// NaN → 0 (the median), ±∞ → ±`Normaliser.limit`.
public struct Normaliser: Sendable, Equatable {
    public let columns: [NormaliserColumn]
    public var dim: Int { columns.count }
    public static let limit = 1e9

    public init(columns: [NormaliserColumn]) {
        self.columns = columns
    }

    public static func identity(dim: Int) -> Normaliser {
        Normaliser(columns: Array(repeating: .identity, count: dim))
    }

    @inline(__always)
    public static func signedLog(_ x: Double) -> Double {
        x < 0 ? -log1p(-x) : log1p(x)
    }

    @inline(__always)
    public static func signedExpm1(_ y: Double) -> Double {
        y < 0 ? -expm1(-y) : expm1(y)
    }

    @inline(__always)
    public func apply(_ x: Double, column c: Int) -> Double {
        let col = columns[c]
        let v = col.logScale ? Self.signedLog(x) : x
        let y = (v - col.centre) / col.scale
        if y.isNaN { return 0 }
        return min(max(y, -Self.limit), Self.limit)
    }

    /// Inverse of `apply` (for finite, unclamped values).
    public func invert(_ y: Double, column c: Int) -> Double {
        let col = columns[c]
        let v = y * col.scale + col.centre
        return col.logScale ? Self.signedExpm1(v) : v
    }

    /// In-place over `rows` row-major rows of `dim` values. No allocation.
    public func apply(batch: UnsafeMutableBufferPointer<Float>, rows: Int) {
        let d = dim
        precondition(batch.count >= rows * d)
        columns.withUnsafeBufferPointer { cols in
            for i in 0..<rows {
                for c in 0..<d {
                    let col = cols[c]
                    let x = Double(batch[i * d + c])
                    let v = col.logScale ? Self.signedLog(x) : x
                    var y = (v - col.centre) / col.scale
                    if y.isNaN { y = 0 }
                    batch[i * d + c] = Float(min(max(y, -Self.limit), Self.limit))
                }
            }
        }
    }

    public func apply(batch: inout [Float], rows: Int) {
        batch.withUnsafeMutableBufferPointer { apply(batch: $0, rows: rows) }
    }

    public func applied(batch: [Float], rows: Int) -> [Float] {
        var b = batch
        apply(batch: &b, rows: rows)
        return b
    }

    /// Double-precision copy (training paths).
    public func applied(batch: [Double], rows: Int) -> [Double] {
        let d = dim
        precondition(batch.count >= rows * d)
        var out = batch
        for i in 0..<rows {
            for c in 0..<d { out[i * d + c] = apply(batch[i * d + c], column: c) }
        }
        return out
    }

    // MARK: Bundle coding

    public static let sectionName = "norm"

    public func encode() -> [UInt8] {
        var w = BundleWriter()
        w.tag("NRM1")
        w.count(columns.count)
        for c in columns {
            w.bool(c.logScale)
            w.f64(c.centre)
            w.f64(c.scale)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8], section: String = Normaliser.sectionName) throws(BundleError) {
        var r = BundleReader(bytes, section: section)
        try r.expectTag("NRM1")
        let n = try r.count(elementSize: 17)
        var cols: [NormaliserColumn] = []
        cols.reserveCapacity(n)
        for i in 0..<n {
            let log = try r.bool()
            let centre = try r.f64()
            let scale = try r.f64()
            guard scale > 0, scale.isFinite, centre.isFinite else {
                throw r.fail("column \(i): invalid centre \(centre) / scale \(scale)")
            }
            cols.append(NormaliserColumn(logScale: log, centre: centre, scale: scale))
        }
        try r.expectEnd()
        self.init(columns: cols)
    }
}
