import Foundation
import Testing
@testable import Alerts
@testable import Decoding
import Behaviour
import Flows

@Suite struct PolicyTests {
    let classes = ["benign", "scan", "dos", "bruteforce", "tunnel", "c2", "webattack", "anomaly"]
    let a = IPAddress("10.0.0.5")!, b = IPAddress("192.168.1.9")!

    @Test func overridesSuppressionAndAllowLists() throws {
        let p = try Policy.parse("""
            version: 1
            default_severity: 2
            classes:
              scan: {threshold: 0.9, severity: 3}
              dos: {severity: 1}
              tunnel: {enabled: false}
            suppress:
              - {class: scan, src: 10.0.0.0/24, dst_port: 1-1024, note: internal scanner}
            allow:
              - {address: 192.168.1.9, note: backup host}
            """, path: "policy.yaml", knownClasses: classes)
        #expect(p.decide(className: "scan", score: 0.8, bundleThreshold: 0.5, src: b, dst: a, dstPort: 22) == .belowThreshold)
        #expect(p.decide(className: "scan", score: 0.95, bundleThreshold: 0.5, src: a, dst: IPAddress("10.9.9.9")!, dstPort: 22)
                == .suppressed("internal scanner"))
        #expect(p.decide(className: "scan", score: 0.95, bundleThreshold: 0.5, src: a, dst: IPAddress("10.9.9.9")!, dstPort: 8080)
                == .alert(severity: 3))
        #expect(p.decide(className: "dos", score: 0.6, bundleThreshold: 0.5, src: IPAddress("1.2.3.4")!, dst: b, dstPort: 80)
                == .allowed("backup host"))
        #expect(p.decide(className: "dos", score: 0.6, bundleThreshold: 0.5, src: IPAddress("1.2.3.4")!, dst: a, dstPort: 80)
                == .alert(severity: 1))
        #expect(p.decide(className: "tunnel", score: 1, bundleThreshold: 0.5, src: a, dst: b, dstPort: 53) == .disabled)
    }

    @Test func classesMapToTheSitesCategories() throws {
        let p = try Policy.parse("""
            version: 1
            classes:
              scan: {severity: 3, category: "Site: reconnaissance"}
              dos: {severity: 1}
            """, path: "policy.yaml", knownClasses: classes)
        #expect(p.categories == ["scan": "Site: reconnaissance"])
        var f = EveAlertFormatter(context: EveContext(), modelVersion: "m")
        f.categories = p.categories
        for (cls, want) in [("scan", "Site: reconnaissance"), ("dos", alertCategory("dos"))] {
            var j = JSONBuffer()
            j.beginObject()
            f.writeAlertHead(FlowRecord.blank, signatureID: 1, signature: "s", className: cls, severity: 1,
                             detector: "ml", into: &j)
            j.endObject()
            let o = try JSONSerialization.jsonObject(with: Data(j.bytes)) as? [String: Any]
            let alert = try #require(o?["alert"] as? [String: Any])
            #expect(alert["category"] as? String == want)
            let md = try #require(alert["metadata"] as? [String: [String]])
            #expect(md["class"] == [cls] && md["detector"] == ["ml"])
        }
    }

    @Test(arguments: [
        ("classes:\n  scann: {severity: 1}\n", "classes.scann", "unknown class"),
        ("classes:\n  scan: {severity: 7}\n", "classes.scan.severity", "must be 1, 2 or 3"),
        ("classes:\n  scan: {threshold: high}\n", "classes.scan.threshold", "between 0 and 1"),
        ("suppress:\n  - {src: 10.0.0.0/33}\n", "suppress[0].src", "not an address or CIDR"),
        ("suppress:\n  - {dst_port: 99999}\n", "suppress[0].dst_port", "not a port"),
        ("allow:\n  - {note: nothing}\n", "allow[0]", "at least one of"),
        ("thresholds: 1\n", "thresholds", "unknown key"),
        ("classes:\n  scan: {category: \"  \"}\n", "classes.scan.category", "non-empty"),
        ("behaviours:\n  beaconing: {category: x}\n", "behaviours.beaconing.category", "unknown key"),
        ("version: 2\n", "version", "unsupported"),
    ])
    func errorsNameFileKeyAndReason(yaml: String, key: String, reason: String) {
        do {
            _ = try Policy.parse(yaml, path: "rules/policy.yaml", knownClasses: classes)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.path == "rules/policy.yaml")
            #expect(error.key == key, "\(error)")
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    @Test func cidrMatching() {
        #expect(CIDR("10.0.0.0/8")!.contains(IPAddress("10.200.1.1")!))
        #expect(!CIDR("10.0.0.0/8")!.contains(IPAddress("11.0.0.1")!))
        #expect(CIDR("2001:db8::/32")!.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!CIDR("2001:db8::/32")!.contains(IPAddress("10.0.0.1")!))
        #expect(CIDR("10.1.2.3")!.contains(IPAddress("10.1.2.3")!) && !CIDR("10.1.2.3")!.contains(IPAddress("10.1.2.4")!))
        #expect(CIDR("10.0.0.0/7") != nil && CIDR("300.1.1.1") == nil)
    }
}

/// The `behaviours:` section and behaviour-specific allow/suppress rules.
@Suite struct PolicyBehaviourTests {
    let classes = ["benign", "scan", "dos", "bruteforce", "tunnel", "c2", "webattack", "anomaly"]
    let a = IPAddress("10.0.0.5")!, b = IPAddress("192.168.1.9")!

    @Test func thresholdsSeveritiesAndRulesByBehaviour() throws {
        let p = try Policy.parse("""
            version: 1
            classes:
              bruteforce: {severity: 1}
            behaviours:
              beaconing: {threshold: 0.9, severity: 3}
              scanning: {enabled: false}
            allow:
              - {behaviour: beaconing, dst_port: [143, 993], note: mail polling}
            suppress:
              - {class: bruteforce, src: 10.0.0.0/24, note: pentest}
            """, path: "policy.yaml", knownClasses: classes)
        #expect(p.behaviourThreshold(.beaconing) == 0.9)
        #expect(p.behaviourThreshold(.repetition) == Policy.defaultBehaviourThresholds[.repetition])
        #expect(p.behaviourThreshold(.scanning) == nil)
        #expect(p.decideBehaviour(.beaconing, src: b, dst: a, dstPort: 993) == .allowed("mail polling"))
        #expect(p.decideBehaviour(.beaconing, src: b, dst: a, dstPort: 443) == .alert(severity: 3))
        // Class rules match the behaviour's class; its severity falls back to the class's.
        #expect(p.decideBehaviour(.repetition, src: a, dst: b, dstPort: 22) == .suppressed("pentest"))
        #expect(p.decideBehaviour(.repetition, src: b, dst: a, dstPort: 22) == .alert(severity: 1))
        // A behaviour rule never matches the models' verdicts.
        #expect(p.decide(className: "c2", score: 0.99, bundleThreshold: 0.5, src: b, dst: a, dstPort: 993) == .alert(severity: 2))
    }

    @Test(arguments: [
        ("behaviours:\n  beacon: {severity: 1}\n", "behaviours.beacon", "unknown behaviour"),
        ("behaviours:\n  beaconing: {threshold: 2}\n", "behaviours.beaconing.threshold", "between 0 and 1"),
        ("allow:\n  - {behaviour: polling}\n", "allow[0].behaviour", "unknown behaviour 'polling'"),
    ])
    func badBehaviourKeysAreNamed(_ text: String, _ key: String, _ reason: String) {
        do {
            _ = try Policy.parse(text, path: "p.yaml", knownClasses: classes)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.key == key && error.reason.contains(reason), "\(error)")
        }
    }

    /// A policy file that cannot be read says so once, and a directory is
    /// not read as an empty policy.
    @Test func fileProblemsAreSaidOnce() {
        for (path, reason) in [("/nonexistent/policy.yaml", "cannot open: No such file or directory"),
                               ("/tmp", "cannot read: Is a directory")] {
            do {
                _ = try Policy.load(path: path, knownClasses: classes)
                Issue.record("loaded \(path)")
            } catch {
                #expect(error.description == "\(path): \(reason)")
            }
        }
    }

    @Test func theShippedPolicyLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("rules/policy.yaml").path
        let p = try Policy.load(path: path, knownClasses: classes)
        #expect(p.decideBehaviour(.beaconing, src: b, dst: a, dstPort: 993) == .allowed("mail client polling"))
        #expect(p.decideBehaviour(.beaconing, src: b, dst: a, dstPort: 443) == .alert(severity: 2))
    }
}
