import Foundation
import Testing
import Detection
import ModelFixtures
import Training

/// Committed reference data written by scripts/make_lof_reference.py (scikit-learn).
enum ReferenceData {
    static func url(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: "csv", subdirectory: "Data"),
                     "missing Data/\(name).csv")
    }

    /// Row-major matrix and its column count.
    static func matrix(_ name: String) throws -> (values: [Double], rows: Int, dim: Int) {
        let text = try String(contentsOf: url(name), encoding: .utf8)
        var values: [Double] = []
        var rows = 0, dim = 0
        for line in text.split(separator: "\n") where !line.isEmpty {
            let fields = line.split(separator: ",").map { Double(String($0))! }
            if rows == 0 { dim = fields.count }
            precondition(fields.count == dim)
            values += fields
            rows += 1
        }
        return (values, rows, dim)
    }

    static func params() throws -> [String: String] {
        let text = try String(contentsOf: url("lof_params"), encoding: .utf8)
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let kv = line.split(separator: ",", maxSplits: 1)
            out[String(kv[0])] = String(kv[1])
        }
        return out
    }
}

/// Fastest of `runs` timings (the machine is shared, so the minimum is the least noisy).
func bestOf(_ runs: Int, _ body: () -> Void) -> Duration {
    (0..<runs).map { _ in ContinuousClock().measure(body) }.min()!
}

func maxRelativeError(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map { abs($0 - $1) / max(abs($1), 1e-12) }.max() ?? 0
}

@Suite struct LOFTests {
    @Test func matchesScikitLearnScoreSamples() throws {
        let ref = try ReferenceData.matrix("lof_reference")
        let query = try ReferenceData.matrix("lof_query")
        let expected = try ReferenceData.matrix("lof_expected").values
        let k = Int(try #require(ReferenceData.params()["n_neighbors"]))!
        #expect(ref.rows == 400 && ref.dim == 12 && query.rows == 100 && expected.count == 100)

        let model = LOFTrainer.fit(reference: ref.values, rows: ref.rows, dim: ref.dim, k: k)
        // Double path.
        let scorer = model.makeScorer(maxBatch: 32)  // several chunks
        let got = scorer.scoreSamples(batch: query.values, rows: query.rows)
        let errD = maxRelativeError(got, expected)
        // Float path (the data is float32-representable, so the inputs are identical).
        let gotF = model.makeScorer().score(batch: query.values.map(Float.init), rows: query.rows).map(Double.init)
        let errF = maxRelativeError(gotF, expected)
        print("LOF vs scikit-learn: max relative error \(errD) (Double API), \(errF) (Float API)")
        #expect(errD < 1e-4)
        #expect(errF < 1e-4)
        // Batch of one gives the same answer as a big batch.
        let one = model.makeScorer(maxBatch: 1).scoreSamples(batch: Array(query.values[0..<(5 * ref.dim)]), rows: 5)
        #expect(maxRelativeError(one, Array(got[0..<5])) < 1e-12)
    }

    @Test func encodeDecodeRoundTrip() throws {
        var rng = TestRNG(state: 7)
        let rows = rng.rows(50, 4)
        let model = LOFTrainer.fit(reference: rows, rows: 50, dim: 4, k: 5)
        let decoded = try LOFModel(decoding: model.encode())
        #expect(decoded == model)
        let q = rng.rows(10, 4)
        #expect(decoded.makeScorer().score(batch: q, rows: 10) == model.makeScorer().score(batch: q, rows: 10))
        var bytes = model.encode()
        bytes.removeLast(3)
        #expect(throws: BundleError.self) { try LOFModel(decoding: bytes) }
    }

    @Test func clampsKAndHandlesDuplicates() throws {
        // Five identical rows plus one far away: more duplicates than k → sklearn's 1e-10 guard.
        let ref: [Double] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 10]
        let model = LOFTrainer.fit(reference: ref, rows: 6, dim: 2, k: 20)
        #expect(model.k == 5)
        let s = model.makeScorer().scoreSamples(batch: [0, 0, 10, 10], rows: 2)
        #expect(s.allSatisfy { $0.isFinite })
    }

    @Test func throughput() throws {
        var rng = TestRNG(state: 42)
        let dim = 40, refRows = 2048, batch = 256
        let model = LOFTrainer.fit(reference: rng.rows(refRows, dim), rows: refRows, dim: dim, k: 20)
        let scorer = model.makeScorer(maxBatch: batch)
        let q = rng.rows(batch, dim)
        var out = [Float](repeating: 0, count: batch)
        let reps = 20
        let t = bestOf(5) {
            for _ in 0..<reps {
                q.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { o in scorer.score(batch: b, rows: batch, into: o) }
                }
            }
        }
        let secs = Double(t.components.seconds) + Double(t.components.attoseconds) * 1e-18
        print("LOF throughput: \(Int(Double(reps * batch) / secs)) rows/s (batch \(batch), \(refRows) ref rows × \(dim) dims, k 20)")
        #expect(out.allSatisfy { $0.isFinite })

        // Batch of one (the latency path).
        let single = model.makeScorer(maxBatch: 1)
        var one = [Float](repeating: 0, count: 1)
        let t1 = bestOf(5) {
            q.withUnsafeBufferPointer { b in
                one.withUnsafeMutableBufferPointer { o in
                    for i in 0..<batch {
                        single.score(batch: UnsafeBufferPointer(rebasing: b[(i * dim)..<((i + 1) * dim)]), rows: 1, into: o)
                    }
                }
            }
        }
        let secs1 = Double(t1.components.seconds) + Double(t1.components.attoseconds) * 1e-18
        print("LOF throughput at batch 1: \(Int(Double(batch) / secs1)) rows/s")
    }
}
