import Foundation
import Testing
@testable import Detection
@testable import Features
@testable import Training

/// EnsembleTrainer lives in Sources/Training; this test stays with the
/// Detection tests because it uses their synthetic flows (EnsembleFixtures.swift).
@Suite struct EnsembleTrainerTests {
    @Test func oneClassOnlyIsRefused() {
        var d = syntheticFlows(count: 90, seed: 1)
        d.labels = d.labels.map { _ in 0 }
        #expect { _ = try EnsembleTrainer.train(d) } throws: { "\($0)".contains("one class only") }
    }
}
