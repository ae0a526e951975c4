import Alerts
import Detection
import Foundation

/// Where the default rules are looked for, in order (docs/live.md): the
/// installed rules directories first — /etc/flowsentry/rules (the site's
/// own), /usr/share/flowsentry/rules (the Debian package's), then
/// /usr/local/share/flowsentry/rules (a manual install) — then ./rules, then
/// a source checkout's rules/ above the executable (.build/release/flowsentry → ../../rules).
package func defaultRulesDirectories() -> [String] {
    var dirs = ["/etc/flowsentry/rules", "/usr/share/flowsentry/rules", "/usr/local/share/flowsentry/rules", "rules"]
    // A checkout's rules/ above the executable (.build/<triple>/release/flowsentry).
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<4 {
        dir = dir.deletingLastPathComponent()
        dirs.append(dir.appendingPathComponent("rules").path)
    }
    return dirs
}

package struct ModelLoadError: Error, CustomStringConvertible {
    package let description: String
}

/// The bundle and policy files to load: the ones given, else the first
/// flowsentry.fsb in `defaultRulesDirectories()` and the policy.yaml beside
/// it (nil when there is none: the built-in policy).
package func locateModelAndPolicy(model: String?, policy: String?) throws -> (model: String, policy: String?) {
    let fm = FileManager.default
    var modelPath = model
    if modelPath == nil {
        modelPath = defaultRulesDirectories().map { $0 + "/flowsentry.fsb" }.first { fm.fileExists(atPath: $0) }
    }
    guard let modelPath else {
        throw ModelLoadError(description: "no model bundle found (looked for flowsentry.fsb in \(defaultRulesDirectories().joined(separator: ", "))); give --model FILE or --no-score")
    }
    var policyPath = policy
    if policyPath == nil {
        let dir = URL(fileURLWithPath: modelPath).deletingLastPathComponent().path
        if fm.fileExists(atPath: dir + "/policy.yaml") { policyPath = dir + "/policy.yaml" }
    }
    return (modelPath, policyPath)
}

/// Loads and validates the bundle and policy (defaults from the rules directory).
package func loadModelAndPolicy(model: String?, policy: String?) throws -> (EnsembleModel, Policy) {
    let (m, p, _) = try loadModelAndPolicyDescribed(model: model, policy: policy)
    return (m, p)
}

/// Loads the bundle and policy and says what was loaded from where, for the
/// start-up log line of `run` and `replay` (a missing policy is said: its
/// severities and thresholds are then the built-in ones).
package func loadModelAndPolicyDescribed(model: String?, policy: String?) throws -> (EnsembleModel, Policy, String) {
    let (modelPath, policyPath) = try locateModelAndPolicy(model: model, policy: policy)
    let m = try EnsembleModel.load(path: modelPath)
    var known = m.classes
    known.append("anomaly")
    let p = try policyPath.map { try Policy.load(path: $0, knownClasses: known) } ?? Policy()
    let what = "model \(modelPath) (\(m.meta.modelVersion), threshold \(formatFixed(Double(m.threshold), 4))); "
        + (policyPath.map { "policy \($0)" }
            ?? "no policy.yaml beside the model: the built-in policy (every class alerts at the bundle's threshold, default severities)")
    return (m, p, what)
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

    /// `load`, and what was loaded from where (for the log).
    package func loadDescribed() throws -> (EnsembleModel, Policy, String) {
        try loadModelAndPolicyDescribed(model: model, policy: policy)
    }
}
