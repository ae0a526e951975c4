import Testing
@testable import Training

@Suite struct ModelCardWriterTests {
    @Test func cardPathSitsBesideTheBundle() {
        #expect(ModelCard.path(forBundle: "rules/flowsentry.fsb") == "rules/flowsentry.card.md")
        #expect(ModelCard.path(forBundle: "/tmp/model.bin") == "/tmp/model.bin.card.md")
    }

    @Test func metricsRowsCarryTheirCounts() {
        var card = ModelCard(modelVersion: "m-1", createdAt: "2026-12-06T00:00:00Z", bundleFile: "m.fsb",
                             classes: ["benign", "dos"])
        card.captures = [.init(path: "a.pcap", sha256: "ab12", flows: 12, perClass: ["benign": 7, "dos": 4])]
        card.splitCounts = ["benign": (4, 1, 2), "dos": (2, 1, 1)]
        // Truth rows, predicted columns (benign, dos, anomaly): 1 benign flow called dos, 1 dos missed.
        card.confusion = [[9, 1, 0], [1, 5, 1], [0, 0, 0]]
        card.confusionClasses = ["benign", "dos", "anomaly"]
        card.report = Metrics.report(confusion: card.confusion, names: card.confusionClasses)
        card.threshold = 0.75; card.targetFPR = 0.001; card.weights = [0.25, 0, 0, 0]
        card.canaries = ["dos": 3]
        let md = card.markdown()
        #expect(md.contains("| a.pcap | `ab12` | 12 | benign 7, dos 4 |"))
        #expect(md.contains("| dos | 2 | 1 | 1 |"))
        // dos: support 7, 5 caught, 2 not (one called benign, one anomaly), 1 false positive.
        #expect(md.contains("| dos | 7 | 5 | 2 | 1 | 0.833 | 0.714 | 0.769 |"))
        #expect(md.contains("Alert threshold: 0.750000"))
        #expect(md.contains("cnn 0.250, lstm 0.000, lof 0.000, ocsvm 0.000"))
        #expect(md.contains("dos 3"))
        #expect(md.contains("## Limits"))
    }
}
