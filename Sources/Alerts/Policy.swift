import Behaviour
import Decoding
import Yams

/// A policy error: the file, the dotted key path and the reason.
public struct PolicyError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let key: String
    public let reason: String
    /// An empty `key`: the file itself (it cannot be opened or read).
    public var description: String { key.isEmpty ? "\(path): \(reason)" : "\(path): \(key): \(reason)" }
}

/// An address or CIDR block.
public struct CIDR: Sendable, Equatable {
    public let network: IPAddress
    public let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let a = IPAddress(parts[0]) else { return nil }
        let maxLen = a.version == 4 ? 32 : 128
        let p = parts.count == 2 ? Int(parts[1]) : maxLen
        guard let p, p >= 0, p <= maxLen else { return nil }
        network = a
        prefix = p
    }

    public func contains(_ ip: IPAddress) -> Bool {
        guard ip.version == network.version else { return false }
        let a = ip.bytes, b = network.bytes
        var left = prefix
        for i in 0..<a.count where left > 0 {
            let bits = min(8, left)
            let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if a[i] & mask != b[i] & mask { return false }
            left -= bits
        }
        return true
    }
}

/// Detection policy applied after scoring (rules/policy.yaml): per-class
/// threshold and severity overrides, suppression rules (like Suricata's
/// threshold.config `suppress`), and allow-lists of known scanners and
/// backup hosts. A suppressed or allow-listed verdict stays on the flow
/// record, marked, but raises no alert.
public struct Policy: Sendable {
    public struct ClassRule: Sendable {
        public var threshold: Double?
        public var severity: Int?
        public var enabled = true
        /// The site's `alert.category` for the class (else `alertCategory`'s).
        public var category: String?
    }

    /// The site's categories by class name (`classes.NAME.category`).
    public var categories: [String: String] {
        classes.compactMapValues(\.category)
    }

    /// One suppression or allow rule: every field given must match.
    public struct Match: Sendable {
        public var classes: [String] = []      // empty: any class
        /// Behaviours (`BehaviourKind.name`): non-empty, the rule matches only those behaviour verdicts.
        public var behaviours: [String] = []
        public var src: [CIDR] = []
        public var dst: [CIDR] = []
        public var either: [CIDR] = []         // address on either side
        public var dstPorts: [ClosedRange<UInt16>] = []
        public var note: String = ""

        public func matches(className: String, behaviour: String? = nil, src s: IPAddress, dst d: IPAddress,
                            dstPort: UInt16?) -> Bool {
            if !behaviours.isEmpty { guard let b = behaviour, behaviours.contains(b) else { return false } }
            if !classes.isEmpty && !classes.contains(className) { return false }
            if !src.isEmpty && !src.contains(where: { $0.contains(s) }) { return false }
            if !dst.isEmpty && !dst.contains(where: { $0.contains(d) }) { return false }
            if !either.isEmpty && !either.contains(where: { $0.contains(s) || $0.contains(d) }) { return false }
            if !dstPorts.isEmpty {
                guard let p = dstPort, dstPorts.contains(where: { $0.contains(p) }) else { return false }
            }
            return true
        }
    }

    public var classes: [String: ClassRule] = [:]
    /// Per-behaviour rules (`behaviours:` in the file): threshold on the
    /// behaviour's score, severity, enabled. Suppression and allow rules
    /// match a behaviour verdict by the class it carries (`BehaviourKind.className`).
    public var behaviours: [String: ClassRule] = [:]
    /// Thresholds of the behaviour scores when the policy sets none (docs/features.md).
    public static let defaultBehaviourThresholds: [BehaviourKind: Double] = [
        .repetition: 0.8, .beaconing: 0.85, .scanning: 1.0, .dnsTunnel: 0.7, .flooding: 0.8,
        .webAttack: 0.8,
    ]
    public var suppress: [Match] = []
    public var allow: [Match] = []
    /// Alert aggregation: at most one alert per (destination, class) per
    /// interval; the rest are folded into the next alert's count.
    public var aggregateSeconds: Double = 60
    public var defaultSeverity = 2

    public init() {}

    public enum Decision: Sendable, Equatable {
        case alert(severity: Int)
        case belowThreshold
        case suppressed(String)
        case allowed(String)
        case disabled
    }

    /// What to do with a verdict of `className` and `score` (threshold from the bundle unless overridden).
    public func decide(className: String, score: Double, bundleThreshold: Double,
                       src: IPAddress, dst: IPAddress, dstPort: UInt16?) -> Decision {
        let rule = classes[className]
        if rule?.enabled == false { return .disabled }
        let threshold = rule?.threshold ?? bundleThreshold
        guard score >= threshold else { return .belowThreshold }
        for a in allow where a.matches(className: className, src: src, dst: dst, dstPort: dstPort) {
            return .allowed(a.note)
        }
        for s in suppress where s.matches(className: className, src: src, dst: dst, dstPort: dstPort) {
            return .suppressed(s.note)
        }
        return .alert(severity: rule?.severity ?? defaultSeverity)
    }

    /// The threshold a behaviour's score must reach, and whether the behaviour raises verdicts at all.
    public func behaviourThreshold(_ k: BehaviourKind) -> Double? {
        let rule = behaviours[k.name]
        if rule?.enabled == false { return nil }
        return rule?.threshold ?? Self.defaultBehaviourThresholds[k] ?? 1
    }

    /// What to do with a behaviour verdict whose score reached its threshold:
    /// allow and suppress rules as for the class the behaviour carries, then
    /// the behaviour's severity (else the class's, else the default).
    public func decideBehaviour(_ k: BehaviourKind, src: IPAddress, dst: IPAddress, dstPort: UInt16?) -> Decision {
        let cls = k.className
        for a in allow where a.matches(className: cls, behaviour: k.name, src: src, dst: dst, dstPort: dstPort) {
            return .allowed(a.note)
        }
        for s in suppress where s.matches(className: cls, behaviour: k.name, src: src, dst: dst, dstPort: dstPort) {
            return .suppressed(s.note)
        }
        return .alert(severity: behaviours[k.name]?.severity ?? classes[cls]?.severity ?? defaultSeverity)
    }

    /// Loads and validates a policy file; every error names the file, key and reason.
    public static func load(path: String, knownClasses: [String]) throws(PolicyError) -> Policy {
        let text = try readText(path)
        return try parse(text, path: path, knownClasses: knownClasses)
    }

    public static func parse(_ text: String, path: String, knownClasses: [String]) throws(PolicyError) -> Policy {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw PolicyError(path: path, key: "(yaml)", reason: "not valid YAML: \(error)")
        }
        var p = Policy()
        guard let root = node else { return p }
        guard let map = root.mapping else { throw PolicyError(path: path, key: "(top)", reason: "must be a mapping") }
        func fail(_ k: String, _ r: String) -> PolicyError { PolicyError(path: path, key: k, reason: r) }
        for (kNode, v) in map {
            let k = kNode.string ?? "?"
            switch k {
            case "version":
                guard v.int == 1 else { throw fail(k, "unsupported policy version (expected 1)") }
            case "default_severity":
                guard let s = v.int, (1...3).contains(s) else { throw fail(k, "must be 1, 2 or 3") }
                p.defaultSeverity = s
            case "aggregate_seconds":
                guard let s = v.float, s >= 0 else { throw fail(k, "must be a number of seconds >= 0") }
                p.aggregateSeconds = s
            case "classes", "behaviours":
                let behaviourNames = BehaviourKind.allCases.map(\.name)
                let known = k == "classes" ? knownClasses : behaviourNames
                guard let cm = v.mapping else { throw fail(k, "must be a mapping of \(k == "classes" ? "class" : "behaviour") name to settings") }
                for (cn, cv) in cm {
                    let name = cn.string ?? "?"
                    guard known.contains(name) else {
                        throw fail("\(k).\(name)", "unknown \(k == "classes" ? "class" : "behaviour") (known: \(known.joined(separator: ", ")))")
                    }
                    guard let settings = cv.mapping else { throw fail("\(k).\(name)", "must be a mapping") }
                    var rule = ClassRule()
                    for (sk, sv) in settings {
                        let key = "\(k).\(name).\(sk.string ?? "?")"
                        switch sk.string {
                        case "threshold":
                            guard let t = sv.float, t >= 0, t <= 1 else { throw fail(key, "must be a number between 0 and 1") }
                            rule.threshold = t
                        case "severity":
                            guard let s = sv.int, (1...3).contains(s) else { throw fail(key, "must be 1, 2 or 3 (1 most severe)") }
                            rule.severity = s
                        case "enabled":
                            guard let b = sv.bool else { throw fail(key, "must be true or false") }
                            rule.enabled = b
                        case "category" where k == "classes":
                            guard let c = sv.string, !c.allSatisfy(\.isWhitespace) else {
                                throw fail(key, "must be a non-empty text (the alert.category of the class)")
                            }
                            rule.category = c
                        default:
                            throw fail(key, "unknown key (known: threshold, severity, enabled\(k == "classes" ? ", category" : ""))")
                        }
                    }
                    if k == "classes" { p.classes[name] = rule } else { p.behaviours[name] = rule }
                }
            case "suppress", "allow":
                guard let seq = v.sequence else { throw fail(k, "must be a list of rules") }
                for (i, item) in seq.enumerated() {
                    let m = try parseMatch(item, key: "\(k)[\(i)]", path: path, knownClasses: knownClasses)
                    if k == "suppress" { p.suppress.append(m) } else { p.allow.append(m) }
                }
            default:
                throw fail(k, "unknown key (known: version, default_severity, aggregate_seconds, classes, behaviours, suppress, allow)")
            }
        }
        return p
    }

    static func parseMatch(_ n: Node, key: String, path: String, knownClasses: [String]) throws(PolicyError) -> Match {
        func fail(_ k: String, _ r: String) -> PolicyError { PolicyError(path: path, key: k, reason: r) }
        guard let map = n.mapping else { throw fail(key, "must be a mapping") }
        var m = Match()
        func list(_ v: Node) -> [String] {
            if let s = v.sequence { return s.compactMap { $0.string ?? $0.int.map(String.init) } }
            return [v.string ?? v.int.map(String.init) ?? ""]
        }
        for (kn, v) in map {
            let k = "\(key).\(kn.string ?? "?")"
            switch kn.string {
            case "class":
                for c in list(v) {
                    guard knownClasses.contains(c) else { throw fail(k, "unknown class '\(c)'") }
                    m.classes.append(c)
                }
            case "src", "dst", "address":
                for t in list(v) {
                    guard let c = CIDR(t) else { throw fail(k, "'\(t)' is not an address or CIDR block") }
                    switch kn.string {
                    case "src": m.src.append(c)
                    case "dst": m.dst.append(c)
                    default: m.either.append(c)
                    }
                }
            case "dst_port":
                for t in list(v) {
                    let parts = t.split(separator: "-").map { UInt16($0) }
                    if parts.count == 1, let a = parts[0] { m.dstPorts.append(a...a) }
                    else if parts.count == 2, let a = parts[0], let b = parts[1], a <= b { m.dstPorts.append(a...b) }
                    else { throw fail(k, "'\(t)' is not a port or port range (e.g. 53 or 1024-2048)") }
                }
            case "behaviour":
                let names = BehaviourKind.allCases.map(\.name)
                for b in list(v) {
                    guard names.contains(b) else { throw fail(k, "unknown behaviour '\(b)' (known: \(names.joined(separator: ", ")))") }
                    m.behaviours.append(b)
                }
            case "note":
                m.note = v.string ?? ""
            default:
                throw fail(k, "unknown key (known: class, behaviour, src, dst, address, dst_port, note)")
            }
        }
        if m.classes.isEmpty && m.behaviours.isEmpty && m.src.isEmpty && m.dst.isEmpty && m.either.isEmpty && m.dstPorts.isEmpty {
            throw fail(key, "a rule must match on at least one of class, behaviour, src, dst, address, dst_port")
        }
        return m
    }
}

#if canImport(Glibc)
import Glibc
#endif

func readText(_ path: String) throws(PolicyError) -> String {
    guard let f = fopen(path, "r") else {
        throw PolicyError(path: path, key: "", reason: "cannot open: \(String(cString: strerror(errno)))")
    }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        bytes += buf[0..<n]
    }
    // A directory opens but does not read (EISDIR): not an empty policy.
    if ferror(f) != 0 { throw PolicyError(path: path, key: "", reason: "cannot read: \(String(cString: strerror(errno)))") }
    return String(decoding: bytes, as: UTF8.self)
}
