import Foundation
import Testing
@testable import Detection
@testable import Features

/// PSI and the binned KS of small histograms worked out by hand, the
/// quantile edges of the reference, its section encoding, and a bundle with
/// and without it (docs/drift.md).
@Suite struct DriftReferenceTests {
    // MARK: Statistics, by hand

    @Test func psiOfTwoBins() {
        // a = (0.8, 0.2), e = (0.5, 0.5):
        // (0.8 − 0.5)·ln(0.8/0.5) + (0.2 − 0.5)·ln(0.2/0.5) = 0.3·0.4700036 + 0.3·0.9162907 = 0.4158883
        let psi = DriftStatistics.psi(expected: [0.5, 0.5], counts: [80, 20], total: 100)
        #expect(abs(psi - 0.4158883) < 1e-6)
        // KS: cumulative (0.5, 1) against (0.8, 1): 0.3.
        #expect(abs(DriftStatistics.ks(expected: [0.5, 0.5], counts: [80, 20], total: 100) - 0.3) < 1e-12)
    }

    @Test func psiOfAnEmptyBinUsesEpsilon() {
        // a = (0 → 1e-4, 0.5, 0.5), e = (0.25, 0.25, 0.5):
        // (1e-4 − 0.25)·ln(1e-4/0.25) = −0.2499·−7.8240460 = 1.9552291
        // (0.5 − 0.25)·ln(2) = 0.1732868; (0.5 − 0.5)·ln 1 = 0      → 2.1285159
        let psi = DriftStatistics.psi(expected: [0.25, 0.25, 0.5], counts: [0, 50, 50], total: 100)
        #expect(abs(psi - 2.1285159) < 1e-6)
        // KS: cumulative (0.25, 0.5, 1) against (0, 0.5, 1): 0.25.
        #expect(abs(DriftStatistics.ks(expected: [0.25, 0.25, 0.5], counts: [0, 50, 50], total: 100) - 0.25) < 1e-12)
    }

    @Test func sameDistributionAndEmptyWindowGiveZero() {
        #expect(abs(DriftStatistics.psi(expected: [0.25, 0.25, 0.5], counts: [1, 1, 2], total: 4)) < 1e-15)
        #expect(DriftStatistics.ks(expected: [0.25, 0.25, 0.5], counts: [1, 1, 2], total: 4) < 1e-15)
        #expect(DriftStatistics.psi(expected: [0.5, 0.5], counts: [0, 0], total: 0) == 0)
        #expect(DriftStatistics.ks(expected: [0.5, 0.5], counts: [0, 0], total: 0) == 0)
    }

    // MARK: Reference histograms

    @Test func quantileEdgesAndBins() {
        // 1…20 in four bins: edges at the 5th, 10th and 15th values, a quarter in each bin.
        let r = DriftReference.build(names: ["x"], rows: (1...20).map(Float.init), count: 20, bins: 4)
        #expect(r.inputs[0].edges == [5, 10, 15])
        #expect(r.inputs[0].shares == [0.25, 0.25, 0.25, 0.25])
        #expect(r.rows == 20)
        let x = r.inputs[0]
        // Bins are (−∞, 5], (5, 10], (10, 15], (15, ∞); NaN goes to the first.
        let probes: [Float] = [-1, 5, 5.5, 10, 15.01, 1e9, .infinity, .nan]
        let expected: [Int] = [0, 0, 1, 1, 3, 3, 3, 0]
        #expect(probes.map { x.bin($0) } == expected)
    }

    @Test func binnerAgreesWithEachInputsBin() {
        // Three inputs with different edge counts; values on, between and beyond the edges.
        var rows: [Float] = []
        for i in 0..<60 { rows += [Float(i % 13), Float(i % 2), Float(i) * 0.37 - 5] }
        let r = DriftReference.build(names: ["a", "b", "c"], rows: rows, count: 60, bins: 8)
        let binner = DriftBinner(reference: r)
        var bins = [UInt8](repeating: 0, count: 3)
        for probe in stride(from: Float(-7), through: 25, by: 0.25) + [.nan, .infinity, -.infinity] {
            let v: [Float] = [probe, probe / 10, probe]
            binner.bins(of: v, into: &bins)
            #expect(bins.map(Int.init) == (0..<3).map { r.inputs[$0].bin(v[$0]) })
        }
    }

    @Test func tiedValuesGiveFewerUnevenBins() {
        // Fifteen zeros and 1…5: every quantile edge is 0 → one edge, (−∞, 0] holds 3/4.
        let ties = DriftReference.build(names: ["c"], rows: [Float](repeating: 0, count: 15) + [1, 2, 3, 4, 5], count: 20, bins: 4)
        #expect(ties.inputs[0].edges == [0])
        #expect(ties.inputs[0].shares == [0.75, 0.25])
        // A constant input still has an upper bin, empty, so any other value shows as drift.
        let constant = DriftReference.build(names: ["k"], rows: [Float](repeating: 7, count: 10), count: 10, bins: 4)
        #expect(constant.inputs[0].edges == [7])
        #expect(constant.inputs[0].shares == [1, 0])
        // Two columns, row-major.
        let two = DriftReference.build(names: ["a", "b"], rows: [1, 10, 2, 20, 3, 30, 4, 40], count: 4, bins: 2)
        #expect(two.inputs.map(\.edges) == [[2], [20]])
    }

    @Test func sequenceSummaries() {
        // Three packets: IP lengths 60, 40, 100; IATs 0, 0.5, 2 s.
        var raw = [Float](repeating: 0, count: PacketSequence.length * 5)
        for (t, (len, iat)) in [(Float(60), Float(0)), (40, 0.5), (100, 2)].enumerated() {
            raw[t * 5] = 1; raw[t * 5 + 1] = len; raw[t * 5 + 3] = iat
        }
        var out = [Float](repeating: 0, count: 3)
        DriftInputs.sequenceSummaries(raw: raw, length: 3, into: &out)
        #expect(out[0] == 3)
        #expect(abs(out[1] - 200.0 / 3) < 1e-4)
        // (ln(0.5 + 1e-6) + ln(2 + 1e-6)) / 2 = (−0.6931452 + 0.6931477) / 2 ≈ 1.25e-6
        #expect(abs(out[2] - 1.25e-6) < 1e-5)
        DriftInputs.sequenceSummaries(raw: raw, length: 1, into: &out)
        #expect(out[0] == 1 && out[1] == 60 && abs(out[2] - logf(1e-6)) < 1e-5)
    }

    // MARK: Section

    @Test func sectionRoundTripAndCorruption() throws {
        let r = DriftReference.build(names: ["x", "y"], rows: (1...40).map(Float.init), count: 20, bins: 5)
        let bytes = r.encode()
        #expect(try DriftReference(decoding: bytes) == r)
        #expect { _ = try DriftReference(decoding: Array(bytes.dropLast(3))) } throws: {
            "\($0)".contains("drift.reference")
        }
        // Shares that do not sum to 1: the input is named.
        var bad = r
        bad.inputs[1].shares[0] += 0.5
        #expect { _ = try DriftReference(decoding: bad.encode()) } throws: {
            "\($0)".contains("\"y\"") && "\($0)".contains("sum to 1")
        }
        var unordered = r
        unordered.inputs[0].edges.reverse()
        #expect { _ = try DriftReference(decoding: unordered.encode()) } throws: { "\($0)".contains("ascending") }
    }

    @Test func bundleWithAndWithoutTheReference() throws {
        var (model, _) = EnsembleFixture.trained
        model.driftReference = nil
        var without = ModelBundle(sourcePath: "m.fsb")
        model.store(in: &without)
        #expect(without.sections[DriftReference.section] == nil)
        #expect(try EnsembleModel(bundle: without).driftReference == nil)

        let names = model.statFeatures + DriftReference.sequenceInputs
        let rows = (0..<(names.count * 30)).map { Float($0 % 7) }
        model.driftReference = DriftReference.build(names: names, rows: rows, count: 30)
        var with = ModelBundle(sourcePath: "m.fsb")
        model.store(in: &with)
        #expect(try EnsembleModel(bundle: with).driftReference == model.driftReference)

        // A reference of other inputs than the schema's is refused, naming file and section.
        var other = with
        other.sections[DriftReference.section] = DriftReference.build(names: ["x"], rows: [1, 2], count: 2).encode()
        #expect { _ = try EnsembleModel(bundle: other) } throws: {
            "\($0)".contains("drift.reference") && "\($0)".contains("m.fsb")
        }
        #expect(DriftReference.missing(path: "m.fsb").description == "m.fsb: bundle has no \"drift.reference\" section")
    }
}
