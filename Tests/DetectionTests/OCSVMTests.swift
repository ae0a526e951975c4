import Foundation
import Testing
import Detection
import ModelFixtures
import Training

@Suite struct OCSVMTests {
    @Test func swiftDecisionEqualsLibSVMAndScikitLearn() throws {
        let ref = try ReferenceData.matrix("lof_reference")
        let query = try ReferenceData.matrix("lof_query")
        let sk = try ReferenceData.matrix("lof_ocsvm_expected").values
        let p = try ReferenceData.params()
        let nu = Double(p["nu"]!)!, gamma = Double(p["gamma"]!)!, tol = Double(p["tol"]!)!

        let svm = try LibSVMOneClass(rows: ref.values, count: ref.rows, dim: ref.dim, nu: nu, gamma: gamma, tolerance: tol)
        let libsvm = svm.decisionValues(batch: query.values, rows: query.rows)
        let model = svm.exportModel()
        let swift = model.makeScorer(maxBatch: 16).decisionValues(batch: query.values, rows: query.rows)
        let scale = libsvm.map(abs).max()!
        let errLib = zip(swift, libsvm).map { abs($0 - $1) }.max()! / scale
        let errSk = zip(libsvm, sk).map { abs($0 - $1) }.max()! / scale
        let relSk = maxRelativeError(libsvm, sk)
        print("OCSVM: \(model.supportVectorCount) SVs (sklearn \(p["ocsvm_n_support"]!)); Swift vs libsvm max |Δ|/max|f| = \(errLib); libsvm vs sklearn max |Δ|/max|f| = \(errSk), max relative \(relSk)")
        #expect(errLib < 1e-5)
        #expect(maxRelativeError(swift, libsvm) < 1e-5 || errLib < 1e-9)
        #expect(errSk < 1e-4)
        // Float API
        let f = model.makeScorer().score(batch: query.values.map(Float.init), rows: query.rows)
        #expect(zip(f, swift).allSatisfy { abs(Double($0) - $1) <= 1e-5 * scale })
        // Sign agrees with libsvm's prediction for every query.
        #expect(zip(swift, libsvm).allSatisfy { ($0 > 0) == ($1 > 0) })
    }

    @Test func trainerAndRoundTrip() throws {
        var rng = TestRNG(state: 3)
        let rows = rng.rows(300, 6)
        let model = try OCSVMTrainer.fit(rows: rows, count: 300, dim: 6, nu: 0.1, gamma: .scale)
        let decoded = try OCSVMModel(decoding: model.encode())
        #expect(decoded == model)
        let q = rng.rows(20, 6)
        #expect(decoded.makeScorer().score(batch: q, rows: 20) == model.makeScorer().score(batch: q, rows: 20))
        // Roughly nu of the training rows are outside (decision < 0).
        let train = model.makeScorer().score(batch: rows, rows: 300)
        let outside = Double(train.filter { $0 < 0 }.count) / 300
        #expect(outside > 0.03 && outside < 0.2)
        #expect(throws: BundleError.self) { try OCSVMModel(decoding: Array(model.encode().dropLast())) }
        #expect(throws: LibSVMError.self) { try OCSVMTrainer.fit(rows: rows, count: 300, dim: 6, nu: 1.5) }
    }

    @Test func throughput() throws {
        var rng = TestRNG(state: 11)
        let dim = 40, n = 2048, batch = 256
        let model = try OCSVMTrainer.fit(rows: rng.rows(n, dim), count: n, dim: dim, nu: 0.05)
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
        print("OCSVM throughput: \(Int(Double(reps * batch) / secs)) rows/s (batch \(batch), \(model.supportVectorCount) SVs × \(dim) dims, trained on \(n) rows)")
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
        print("OCSVM throughput at batch 1: \(Int(Double(batch) / secs1)) rows/s")
    }
}
