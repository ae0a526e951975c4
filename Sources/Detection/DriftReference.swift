import Features
#if canImport(Glibc)
import Glibc
#endif

/// The training distribution of every model input, as fixed-bin histograms
/// over quantile edges: what drift is measured against (docs/drift.md).
///
/// Inputs are the bundle's statistics inputs (its "schema" section, in
/// order) followed by three summaries of the packet sequence
/// (`sequenceInputs`). Each input has up to `defaultBins − 1` edges, the
/// training quantiles at 1/B … (B−1)/B with repeats removed, and one share
/// of the reference rows per bin. Bin b holds the values x with
/// edge[b−1] < x ≤ edge[b] (the first bin is unbounded below, the last
/// above); a NaN falls in the first bin. Shares are counted, not assumed to
/// be 1/B: an input with many equal values (most counters are often 0) has
/// fewer, uneven bins.
///
/// Section "drift.reference" (little-endian, `BundleWriter` encodings):
///
///     u32 format version (1)
///     u64 reference rows
///     u64 input count
///     per input: string name, f32 array edges (ascending, finite),
///                f64 array shares (edges + 1 values, ≥ 0, summing to 1)
public struct DriftReference: Sendable, Equatable {
    public static let section = "drift.reference"
    public static let formatVersion: UInt32 = 1
    public static let defaultBins = 20
    /// Summaries of the first-packets sequence, after the statistics inputs:
    /// packets in the sequence (≤ 32), their mean IP length in bytes, and the
    /// mean of ln(IAT seconds + 1 µs) over the packets after the first
    /// (ln 1 µs for a one-packet flow).
    public static let sequenceInputs = ["seq_packets", "seq_mean_ip_len", "seq_mean_log_iat"]

    public struct Input: Sendable, Equatable {
        public var name: String
        public var edges: [Float]
        public var shares: [Double]
        public init(name: String, edges: [Float], shares: [Double]) {
            self.name = name; self.edges = edges; self.shares = shares
        }
        public var bins: Int { shares.count }

        /// The bin of `x`: how many edges lie below it.
        @inline(__always)
        public func bin(_ x: Float) -> Int {
            var lo = 0, hi = edges.count
            while lo < hi {
                let mid = (lo + hi) >> 1
                if edges[mid] < x { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
    }

    public var inputs: [Input]
    /// How many rows the histograms were counted from.
    public var rows: Int

    public init(inputs: [Input], rows: Int) {
        self.inputs = inputs
        self.rows = rows
    }

    public var names: [String] { inputs.map(\.name) }

    /// The histograms of `count` rows of `names.count` values each (row-major).
    public static func build(names: [String], rows values: [Float], count: Int, bins: Int = defaultBins) -> DriftReference {
        precondition(bins >= 2 && bins <= 255 && values.count == names.count * count)
        let d = names.count
        var inputs: [Input] = []
        var column = [Float]()
        column.reserveCapacity(count)
        for (j, name) in names.enumerated() {
            column.removeAll(keepingCapacity: true)
            for i in 0..<count where values[i * d + j].isFinite { column.append(values[i * d + j]) }
            column.sort()
            var edges: [Float] = []
            if column.isEmpty {
                edges = [0]
            } else {
                let n = column.count
                for k in 1..<bins {
                    // The smallest value with at least k/B of the rows at or below it.
                    let index = max(0, (k * n + bins - 1) / bins - 1)
                    let e = column[min(n - 1, index)]
                    if edges.last != e { edges.append(e) }
                }
            }
            var input = Input(name: name, edges: edges, shares: [Double](repeating: 0, count: edges.count + 1))
            var tally = [Int](repeating: 0, count: input.bins)
            for i in 0..<count { tally[input.bin(values[i * d + j])] += 1 }
            input.shares = tally.map { count > 0 ? Double($0) / Double(count) : 0 }
            inputs.append(input)
        }
        return DriftReference(inputs: inputs, rows: count)
    }

    // MARK: Bundle section

    public func encode() -> [UInt8] {
        var w = BundleWriter()
        w.u32(Self.formatVersion)
        w.count(rows)
        w.count(inputs.count)
        for input in inputs {
            w.string(input.name)
            w.f32Array(input.edges)
            w.f64Array(input.shares)
        }
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(BundleError) {
        var r = BundleReader(bytes, section: Self.section)
        let version = try r.u32()
        guard version == Self.formatVersion else { throw r.fail("format version \(version), this build reads \(Self.formatVersion)") }
        let rows = try r.count(elementSize: 0)
        let n = try r.count(elementSize: 1)
        var inputs: [Input] = []
        for _ in 0..<n {
            let name = try r.string()
            let edges = try r.f32Array()
            let shares = try r.f64Array()
            guard !edges.isEmpty, edges.count + 1 == shares.count, edges.count < 255 else {
                throw r.fail("input \"\(name)\": \(edges.count) edges and \(shares.count) shares (needs 1…254 edges and one share more)")
            }
            for k in edges.indices where !edges[k].isFinite || (k > 0 && !(edges[k - 1] < edges[k])) {
                throw r.fail("input \"\(name)\": edges are not finite and strictly ascending (edge \(k))")
            }
            let sum = shares.reduce(0, +)
            guard shares.allSatisfy({ $0 >= 0 && $0.isFinite }), abs(sum - 1) < 1e-6 else {
                throw r.fail("input \"\(name)\": shares must be non-negative and sum to 1 (sum \(sum))")
            }
            inputs.append(Input(name: name, edges: edges, shares: shares))
        }
        try r.expectEnd()
        self.init(inputs: inputs, rows: rows)
    }

    /// The reference of `bundle`; nil when it has no such section.
    public static func load(from bundle: ModelBundle) throws(BundleError) -> DriftReference? {
        guard let bytes = bundle.sections[section] else { return nil }
        let reference: DriftReference
        do throws(BundleError) { reference = try DriftReference(decoding: bytes) } catch {
            if case let .corruptSection(s, offset, reason) = error {
                throw .corruptSection(section: s, offset: offset, reason: "\(bundle.sourcePath): \(reason)")
            }
            throw error
        }
        let schema = try bundle.schema
        guard reference.matches(schema: schema) else {
            throw .corruptSection(section: section, offset: 0,
                                  reason: "\(bundle.sourcePath): its \(reference.inputs.count) inputs are not the schema's \(schema.count) statistics and the \(sequenceInputs.count) sequence summaries, in order")
        }
        return reference
    }

    /// The error for a bundle without the section: what to do about it.
    public static func missing(path: String) -> BundleError { .missingSection(path: path, section: section) }

    /// Whether this reference describes a model with statistics inputs `schema`.
    public func matches(schema: [String]) -> Bool { names == schema + Self.sequenceInputs }
}

/// The values of every drift input of one flow, in `DriftReference` order.
public enum DriftInputs {
    public static var sequenceCount: Int { DriftReference.sequenceInputs.count }

    /// The sequence summaries from the raw sequence layout of `ModelInput.sequence`
    /// (`PacketSequence.length × 5` floats: direction, IP length, payload length, IAT, flags).
    @inline(__always)
    public static func sequenceSummaries(raw: UnsafePointer<Float>, length: Int, into out: UnsafeMutablePointer<Float>) {
        let n = min(length, PacketSequence.length)
        var size: Float = 0, logIAT: Float = 0
        for t in 0..<n {
            size += raw[t * 5 + 1]
            if t > 0 { logIAT += logf(max(0, raw[t * 5 + 3]) + 1e-6) }
        }
        out[0] = Float(n)
        out[1] = n > 0 ? size / Float(n) : 0
        out[2] = n > 1 ? logIAT / Float(n - 1) : logf(1e-6)
    }

    /// One live flow's values: the statistics the model reads (`indices` into
    /// `Feature`), then the sequence summaries. `scratch` holds the raw
    /// sequence (at least `PacketSequence.length × 5` floats).
    @inline(__always)
    public static func values(features: FeatureVector, sequence: PacketSequence, indices: [Int],
                              scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        // One read of the vector (`value(at:)` in a loop copies all of it each time).
        features.withValues { f in
            indices.withUnsafeBufferPointer { ix in
                for j in 0..<ix.count { out[j] = Float(f[ix[j]]) }
            }
        }
        let n = ModelInput.sequence(sequence, into: scratch)
        sequenceSummaries(raw: scratch, length: n, into: out + indices.count)
    }
}

/// Finds the reference bin of every input of a flow at once: the edges of
/// all inputs in one flat array, so the per-flow path reads plain floats
/// (no per-input array to retain).
public struct DriftBinner: Sendable {
    private let edges: [Float]
    private let ranges: [(start: Int32, count: Int32)]

    public init(reference: DriftReference) {
        var e: [Float] = [], r: [(Int32, Int32)] = []
        for input in reference.inputs {
            r.append((Int32(e.count), Int32(input.edges.count)))
            e += input.edges
        }
        edges = e
        ranges = r
    }

    /// `bins[j]` = how many of input j's edges lie below `values[j]` (the bin `DriftReference.Input.bin` gives).
    @inline(__always)
    public func bins(of values: UnsafePointer<Float>, into bins: UnsafeMutablePointer<UInt8>) {
        edges.withUnsafeBufferPointer { e in
            ranges.withUnsafeBufferPointer { r in
                for j in 0..<r.count {
                    let base = e.baseAddress! + Int(r[j].start), x = values[j]
                    // Edges ascend: a binary search for the first edge not
                    // below x whose steps depend only on the count (the
                    // comparison picks the half with a conditional move; a
                    // branch on it mispredicts about half the steps).
                    var first = 0, len = Int(r[j].count)
                    guard len > 0 else { bins[j] = 0; continue }
                    while len > 1 {
                        let half = len >> 1
                        first = base[first + half] < x ? first + half : first
                        len -= half
                    }
                    bins[j] = UInt8(truncatingIfNeeded: first + (base[first] < x ? 1 : 0))
                }
            }
        }
    }
}

/// Counts of a window of flows in each input's reference bins, and the
/// drift statistics they give (docs/drift.md).
public struct DriftTally: Sendable {
    /// Bin counts of every input, one after another (`offsets[i]` is input i's first).
    public private(set) var counts: [Int32]
    public let offsets: [Int]
    public private(set) var flows = 0

    public init(reference: DriftReference) {
        var o: [Int] = [], total = 0
        for input in reference.inputs { o.append(total); total += input.bins }
        offsets = o
        counts = [Int32](repeating: 0, count: total)
    }

    /// Adds (`by` 1) or removes (`by` −1) one flow given its bin per input.
    @inline(__always)
    public mutating func add(bins: UnsafePointer<UInt8>, by delta: Int32) {
        counts.withUnsafeMutableBufferPointer { c in
            for i in offsets.indices { c[offsets[i] + Int(bins[i])] &+= delta }
        }
        flows += Int(delta)
    }

    /// Input `i`'s counts.
    public func counts(of i: Int, bins: Int) -> ArraySlice<Int32> { counts[offsets[i]..<(offsets[i] + bins)] }

    /// PSI and KS of every input against `reference`, in reference order.
    public func scores(_ reference: DriftReference) -> [DriftScore] {
        reference.inputs.enumerated().map { i, input in
            let c = counts(of: i, bins: input.bins)
            return DriftScore(input: input.name,
                              psi: DriftStatistics.psi(expected: input.shares, counts: c, total: flows),
                              ks: DriftStatistics.ks(expected: input.shares, counts: c, total: flows))
        }
    }
}

/// One input's drift.
public struct DriftScore: Sendable, Equatable {
    public var input: String
    public var psi: Double
    public var ks: Double
    public init(input: String, psi: Double, ks: Double) { self.input = input; self.psi = psi; self.ks = ks }
}

/// The population stability index and the binned Kolmogorov–Smirnov
/// statistic (formulas and sources in docs/drift.md).
public enum DriftStatistics {
    /// Shares below this count as this in PSI (an empty bin would make ln 0).
    public static let epsilon = 1e-4
    /// The usual "significant shift" (Siddiqi, Credit Risk Scorecards, 2006).
    public static let psiWarn = 0.25

    /// PSI = Σ_b (a_b − e_b) · ln(a_b / e_b), a_b = counts_b / total and e_b
    /// the reference share, each at least `epsilon`. 0 for an empty window.
    public static func psi(expected: [Double], counts: ArraySlice<Int32>, total: Int) -> Double {
        guard total > 0 else { return 0 }
        var sum = 0.0
        for (e, c) in zip(expected, counts) {
            let a = max(Double(c) / Double(total), epsilon), r = max(e, epsilon)
            sum += (a - r) * log(a / r)
        }
        return sum
    }

    /// D = max_b |E_b − A_b|, the largest gap between the cumulative shares
    /// at the bin edges. The two-sample statistic on the raw values would
    /// look between edges too: it lies between D and D plus the largest
    /// share of one bin on either side. 0 for an empty window.
    public static func ks(expected: [Double], counts: ArraySlice<Int32>, total: Int) -> Double {
        guard total > 0 else { return 0 }
        var ce = 0.0, ca = 0.0, d = 0.0
        for (e, c) in zip(expected, counts) {
            ce += e
            ca += Double(c) / Double(total)
            d = max(d, abs(ce - ca))
        }
        return d
    }
}
