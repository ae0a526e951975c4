import Alerts
import Detection
import Foundation
import Sensor
import Testing

@Suite struct ModelLocationTests {
    static let bundle = Repo.root.appendingPathComponent("rules/flowsentry.fsb").path

    /// A fresh directory holding a copy of the shipped bundle (and `policy`, if given).
    static func withModelDirectory<T>(policy: String?, _ body: (String) throws -> T) throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-modelloc-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: bundle, toPath: dir.appendingPathComponent("m.fsb").path)
        if let policy { try policy.write(to: dir.appendingPathComponent("policy.yaml"), atomically: true, encoding: .utf8) }
        return try body(dir.appendingPathComponent("m.fsb").path)
    }

    @Test func searchOrderIsInstalledThenWorkingDirectoryThenCheckout() {
        let d = defaultRulesDirectories()
        #expect(Array(d.prefix(4)) == ["/etc/flowsentry/rules", "/usr/share/flowsentry/rules", "/usr/local/share/flowsentry/rules", "rules"])
        #expect(d.count == 8 && d.dropFirst(4).allSatisfy { $0.hasSuffix("/rules") })
    }

    @Test func theStartLineNamesTheBundleAndSaysWhenThereIsNoPolicy() throws {
        let (_, _, with) = try Self.withModelDirectory(policy: "version: 1\n") { try loadModelAndPolicyDescribed(model: $0, policy: nil) }
        #expect(with.contains("/m.fsb (flowsentry-ml-") && with.contains("policy.yaml") && !with.contains("built-in"))
        let (_, _, without) = try Self.withModelDirectory(policy: nil) { try loadModelAndPolicyDescribed(model: $0, policy: nil) }
        #expect(without.contains("no policy.yaml beside the model") && without.contains("built-in policy"))
    }

    @Test func aPolicyNextToTheBundleIsPickedUp() throws {
        let (m, p) = try Self.withModelDirectory(policy: "version: 1\ndefault_severity: 3\naggregate_seconds: 5\n") {
            try ModelSource(model: $0, policy: nil).load()
        }
        #expect(!m.classes.isEmpty)
        #expect(p.defaultSeverity == 3 && p.aggregateSeconds == 5)
        // No policy file beside it: the defaults.
        let (_, none) = try Self.withModelDirectory(policy: nil) { try loadModelAndPolicy(model: $0, policy: nil) }
        #expect(none.defaultSeverity == Policy().defaultSeverity && none.aggregateSeconds == Policy().aggregateSeconds)
    }

    @Test func anExplicitPolicyWinsAndClassesAreCheckedAgainstTheModel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-modelloc-p-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let explicit = dir.appendingPathComponent("explicit.yaml").path
        try "version: 1\ndefault_severity: 1\n".write(toFile: explicit, atomically: true, encoding: .utf8)
        let p = try Self.withModelDirectory(policy: "version: 1\ndefault_severity: 3\n") {
            try loadModelAndPolicy(model: $0, policy: explicit).1
        }
        #expect(p.defaultSeverity == 1)
        // A class the model does not know is refused ("anomaly" is always known).
        let unknown = dir.appendingPathComponent("unknown.yaml").path
        try "version: 1\nclasses:\n  no_such_class: {severity: 1}\n".write(toFile: unknown, atomically: true, encoding: .utf8)
        #expect { _ = try loadModelAndPolicy(model: Self.bundle, policy: unknown) } throws: { "\($0)".contains("no_such_class") }
        let anomaly = dir.appendingPathComponent("anomaly.yaml").path
        try "version: 1\nclasses:\n  anomaly: {severity: 1}\n".write(toFile: anomaly, atomically: true, encoding: .utf8)
        #expect(throws: Never.self) { _ = try loadModelAndPolicy(model: Self.bundle, policy: anomaly) }
    }

    @Test func aMissingOrBadBundleIsNamed() throws {
        #expect { _ = try ModelSource(model: "/nonexistent/m.fsb", policy: nil).load() } throws: {
            "\($0)".contains("/nonexistent/m.fsb")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-modelloc-bad-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("junk.fsb").path
        try "not a bundle".write(toFile: junk, atomically: true, encoding: .utf8)
        #expect { _ = try loadModelAndPolicy(model: junk, policy: nil) } throws: {
            "\($0)".contains("junk.fsb") && "\($0)".contains("FSBUNDLE")
        }
    }
}
