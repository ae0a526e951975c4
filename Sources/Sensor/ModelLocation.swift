import Alerts
import Detection
import Foundation

/// Where the default rules live: ./rules, then next to the executable's
/// package checkout (.build/release/flowsentry → ../../rules), then the
/// installed locations.
package func defaultRulesDirectories() -> [String] {
    var dirs = ["rules"]
    // A checkout's rules/ above the executable (.build/<triple>/release/flowsentry).
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        dir = dir.deletingLastPathComponent()
        dirs.append(dir.appendingPathComponent("rules").path)
    }
    dirs += ["/etc/flowsentry/rules", "/usr/local/share/flowsentry/rules"]
    return dirs
}

package struct ModelLoadError: Error, CustomStringConvertible {
    package let description: String
}

/// Loads and validates the bundle and policy (defaults from the rules directory).
package func loadModelAndPolicy(model: String?, policy: String?) throws -> (EnsembleModel, Policy) {
    let fm = FileManager.default
    var modelPath = model
    if modelPath == nil {
        modelPath = defaultRulesDirectories().map { $0 + "/flowsentry.fsb" }.first { fm.fileExists(atPath: $0) }
    }
    guard let modelPath else {
        throw ModelLoadError(description: "no model bundle found (looked for flowsentry.fsb in \(defaultRulesDirectories().joined(separator: ", "))); give --model FILE or --no-score")
    }
    let m = try EnsembleModel.load(path: modelPath)
    var policyPath = policy
    if policyPath == nil {
        let dir = URL(fileURLWithPath: modelPath).deletingLastPathComponent().path
        if fm.fileExists(atPath: dir + "/policy.yaml") { policyPath = dir + "/policy.yaml" }
    }
    var known = m.classes
    known.append("anomaly")
    let p = try policyPath.map { try Policy.load(path: $0, knownClasses: known) } ?? Policy()
    return (m, p)
}

/// Where the scoring stage's model bundle and policy come from: the paths
/// given (nil: the defaults above), loaded at start and again on each reload.
package struct ModelSource: Sendable {
    package var model: String?
    package var policy: String?

    package init(model: String?, policy: String?) {
        self.model = model
        self.policy = policy
    }

    package func load() throws -> (EnsembleModel, Policy) {
        try loadModelAndPolicy(model: model, policy: policy)
    }
}
