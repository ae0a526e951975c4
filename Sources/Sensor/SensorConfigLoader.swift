import Alerts
import Behaviour
#if canImport(Glibc)
import Glibc
#endif
import Yams

/// Reads the YAML configuration: composed by Yams into a `Node` tree and
/// walked here, so every unknown key, wrong type and bad value is reported
/// with file, dotted key path and reason.
extension SensorConfig {
    package static func load(path: String) throws(SensorConfigError) -> SensorConfig {
        guard let text = readWholeFile(path) else {
            throw SensorConfigError(file: path, key: nil, reason: "cannot read: \(String(cString: strerror(errno)))")
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses configuration text; `file` names it in errors.
    package static func parse(yaml: String, file: String = "config") throws(SensorConfigError) -> SensorConfig {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw SensorConfigError(file: file, key: nil, reason: "not valid YAML: \(error)")
        }
        var c = SensorConfig()
        guard let root else { return c }  // empty file: all defaults
        var w = Walker(file: file)
        try w.root(root, into: &c)
        return c
    }
}

struct Walker {
    let file: String

    func fail(_ key: String, _ reason: String) -> SensorConfigError {
        SensorConfigError(file: file, key: key, reason: reason)
    }

    /// The members of a mapping, rejecting duplicates and non-string keys.
    func members(_ node: Node, _ path: String) throws(SensorConfigError) -> [(String, Node)] {
        guard case let .mapping(m) = node else {
            throw fail(path.isEmpty ? "(top level)" : path, "must be a mapping of keys to values (got \(describe(node)))")
        }
        var seen = Set<String>()
        var out: [(String, Node)] = []
        for (k, v) in m {
            guard case let .scalar(ks) = k else { throw fail(path.isEmpty ? "(top level)" : path, "keys must be plain names") }
            let name = ks.string
            let full = path.isEmpty ? name : path + "." + name
            if !seen.insert(name).inserted { throw fail(full, "duplicate key") }
            out.append((name, v))
        }
        return out
    }

    func unknown(_ full: String, _ allowed: [String]) -> SensorConfigError {
        fail(full, "unknown key (allowed here: \(allowed.joined(separator: ", ")))")
    }

    func describe(_ n: Node) -> String {
        switch n {
        case let .scalar(s): return "\"\(s.string)\""
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    func isNull(_ n: Node) -> Bool {
        guard case let .scalar(s) = n, s.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    func scalar(_ n: Node, _ key: String, _ what: String) throws(SensorConfigError) -> String {
        guard case let .scalar(s) = n else { throw fail(key, "\(what) (got \(describe(n)))") }
        return s.string
    }

    func string(_ n: Node, _ key: String) throws(SensorConfigError) -> String? {
        if isNull(n) { return nil }
        let s = try scalar(n, key, "must be a string")
        return s
    }

    /// A list of non-empty strings (one string alone is a list of one; null is empty).
    func stringList(_ n: Node, _ key: String) throws(SensorConfigError) -> [String] {
        if isNull(n) { return [] }
        let items: [Node]
        if case let .sequence(seq) = n { items = Array(seq) } else { items = [n] }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            let s = try scalar(item, "\(key)[\(i)]", "must be a file name")
            guard !s.isEmpty else { throw fail("\(key)[\(i)]", "must be a file name (got an empty string)") }
            out.append(s)
        }
        return out
    }

    func bool(_ n: Node, _ key: String) throws(SensorConfigError) -> Bool {
        let s = try scalar(n, key, "must be true or false")
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(key, "must be true or false (got \"\(s)\")")
        }
    }

    func int(_ n: Node, _ key: String, _ range: ClosedRange<Int>, _ what: String) throws(SensorConfigError) -> Int {
        let s = try scalar(n, key, "must be \(what)")
        let t = s.replacingUnderscores()
        guard let v = Int(t), range.contains(v) else {
            throw fail(key, "must be \(what) (got \"\(s)\")")
        }
        return v
    }

    func seconds(_ n: Node, _ key: String, allowZero: Bool = false) throws(SensorConfigError) -> Double {
        let what = allowZero ? "must be a number of seconds, 0 or more" : "must be a positive number of seconds"
        let s = try scalar(n, key, what)
        guard let v = Double(s.replacingUnderscores()), v.isFinite, allowZero ? v >= 0 : v > 0 else {
            throw fail(key, "\(what) (got \"\(s)\")")
        }
        return v
    }

    mutating func root(_ node: Node, into c: inout SensorConfig) throws(SensorConfigError) {
        let allowed = ["sensor_name", "stats_interval", "capture", "outputs", "flow", "behaviour", "detection", "metrics_listen"]
        for (k, v) in try members(node, "") {
            switch k {
            case "sensor_name":
                c.sensorName = try string(v, k)
                if c.sensorName?.isEmpty == true { c.sensorName = nil }
            case "stats_interval": c.statsInterval = try seconds(v, k)
            case "capture": try capture(v, into: &c)
            case "outputs": try outputs(v, into: &c)
            case "flow": try flow(v, into: &c)
            case "behaviour": try behaviour(v, into: &c)
            case "detection": try detection(v, into: &c)
            case "metrics_listen":
                let l = try string(v, k) ?? ""
                do { try MetricsEndpoint.validate(l) } catch { throw fail(k, error.description) }
                c.metricsListen = l
            default: throw unknown(k, allowed)
            }
        }
    }

    /// The behaviour table's sizes and window (docs/features.md, "Behaviour across flows").
    func behaviour(_ node: Node, into c: inout SensorConfig) throws(SensorConfigError) {
        let allowed = ["window_seconds", "pair_capacity", "client_capacity", "dns_capacity", "target_capacity", "scan_state_seconds",
                       "beacon_horizon_seconds", "repetition_refused_logins"]
        for (k, v) in try members(node, "behaviour") {
            let key = "behaviour." + k
            switch k {
            case "window_seconds":
                c.behaviour.windowSeconds = try int(v, key, 60...604_800, "a whole number of seconds between 60 and 604800")
            case "pair_capacity":
                c.behaviour.pairCapacity = try int(v, key, 16...(1 << 24), "a number of pair series between 16 and 16777216")
            case "client_capacity":
                c.behaviour.clientCapacity = try int(v, key, 16...(1 << 24), "a number of clients between 16 and 16777216")
            case "dns_capacity":
                c.behaviour.dnsCapacity = try int(v, key, 16...(1 << 24), "a number of DNS series between 16 and 16777216")
            case "target_capacity":
                c.behaviour.targetCapacity = try int(v, key, 16...(1 << 24), "a number of target hosts between 16 and 16777216")
            case "scan_state_seconds":
                c.behaviour.scanStateSeconds = try int(v, key, 60...604_800, "a whole number of seconds between 60 and 604800")
            case "beacon_horizon_seconds":
                c.behaviour.beaconHorizonSeconds = try int(v, key, 60...604_800, "a whole number of seconds between 60 and 604800")
            case "repetition_refused_logins":
                c.behaviour.repetitionRefusedLogins = try int(v, key, 2...1000, "a number of sessions between 2 and 1000")
            default: throw unknown(key, allowed)
            }
        }
        if let bad = c.behaviour.invalidSetting() { throw fail(bad.key, bad.reason) }
    }

    func capture(_ node: Node, into c: inout SensorConfig) throws(SensorConfigError) {
        let allowed = ["interface", "snaplen", "promiscuous", "buffer_mb", "timeout_ms", "bpf_filter",
                       "bpf_filter_file", "workers", "fanout_group", "warn_offloads"]
        for (k, v) in try members(node, "capture") {
            let key = "capture." + k
            switch k {
            case "interface": c.interface = try string(v, key)
            case "snaplen": c.snaplen = try int(v, key, 64...262_144, "a whole number of bytes between 64 and 262144")
            case "promiscuous": c.promiscuous = try bool(v, key)
            case "buffer_mb": c.bufferMB = try int(v, key, 1...2047, "a whole number of MiB between 1 and 2047")
            case "timeout_ms": c.timeoutMs = try int(v, key, 1...1000, "a whole number of milliseconds between 1 and 1000")
            case "bpf_filter":
                let f = try string(v, key)
                c.bpfFilter = (f?.isEmpty ?? true) ? nil : f
            case "bpf_filter_file":
                let f = try string(v, key)
                c.bpfFilterFile = (f?.isEmpty ?? true) ? nil : f
            case "workers": c.workers = try int(v, key, 1...64, "a whole number of capture threads between 1 and 64")
            case "fanout_group": c.fanoutGroup = try int(v, key, 0...65535, "a PACKET_FANOUT group id between 0 and 65535")
            case "warn_offloads": c.warnOffloads = try bool(v, key)
            default: throw unknown(key, allowed)
            }
        }
        if c.bpfFilter != nil && c.bpfFilterFile != nil {
            throw fail("capture.bpf_filter", "give bpf_filter or bpf_filter_file, not both")
        }
    }

    func outputs(_ node: Node, into c: inout SensorConfig) throws(SensorConfigError) {
        // `outputs: [...]` is short for `outputs: {list: [...]}` (docs/outputs.md).
        if case .sequence = node { return try outputList(node, "outputs", into: &c) }
        let allowed = ["directory", "alerts", "flows", "stats", "file_mode", "community_id_seed", "sequence",
                       "flow_detail", "queue_capacity", "output_spin_us", "threads", "alert_pcap", "list", "file_queue",
                       "file_queue_mb"]
        var list: Node?
        for (k, v) in try members(node, "outputs") {
            let key = "outputs." + k
            switch k {
            case "directory": c.outputDirectory = try string(v, key)
            case "alerts":
                let f = try string(v, key)
                c.alerts = (f?.isEmpty ?? true) ? nil : f
            case "flows":
                let f = try string(v, key)
                c.flows = (f?.isEmpty ?? true) ? nil : f
            case "stats":
                let f = try string(v, key)
                c.stats = (f?.isEmpty ?? true) ? nil : f
            case "file_mode":
                let s = try scalar(v, key, "must be an octal file mode such as \"0640\"")
                var digits = Substring(s)
                if digits.hasPrefix("0o") { digits = digits.dropFirst(2) }
                guard !digits.isEmpty, digits.count <= 4, let m = UInt32(digits, radix: 8), m <= 0o777 else {
                    throw fail(key, "must be an octal file mode such as \"0640\" (got \"\(s)\")")
                }
                c.fileMode = m
            case "community_id_seed":
                c.communityIDSeed = UInt16(try int(v, key, 0...65535, "a number between 0 and 65535"))
            case "sequence": if try !bool(v, key) && c.flowDetail == .full { c.flowDetail = .features }
            case "flow_detail":
                let s = try scalar(v, key, "must be one of full, features, summary")
                guard let d = FlowDetail(rawValue: s) else { throw fail(key, "must be one of full, features, summary (got \"\(s)\")") }
                c.flowDetail = d
            case "queue_capacity": c.queueCapacity = try int(v, key, 1...(1 << 24), "a number of records between 1 and 16777216")
            case "file_queue": c.fileQueueRecords = try int(v, key, 1...(1 << 24), "a number of records between 1 and 16777216")
            case "file_queue_mb": c.fileQueueBytes = try int(v, key, 1...4096, "a number of MiB between 1 and 4096") << 20
            case "output_spin_us": c.outputSpinMicros = try int(v, key, 0...100_000, "a number of microseconds between 0 and 100000")
            case "threads": c.outputThreads = try int(v, key, 1...256, "a number of threads between 1 and 256")
            case "alert_pcap": c.alertPcap = isNull(v) ? nil : try alertPcap(v, key)
            case "list": list = v
            default: throw unknown(key, allowed)
            }
        }
        if let list { try outputList(list, "outputs.list", into: &c) }
    }

    func flow(_ node: Node, into c: inout SensorConfig) throws(SensorConfigError) {
        let allowed = ["idle_timeout", "idle_timeouts", "active_timeout", "tcp_linger", "max_flows", "stripes",
                       "entropy_prefix", "app_prefix_bytes", "app_streams"]
        // One idle timeout replaces every class's, wherever it stands in the section.
        var idleTimeout: Double?
        for (k, v) in try members(node, "flow") {
            let key = "flow." + k
            switch k {
            case "idle_timeout":
                idleTimeout = isNull(v) ? nil : try seconds(v, key)
            case "idle_timeouts":
                let classes = ["tcp_new", "tcp_established", "udp_new", "udp_established", "icmp_new",
                               "icmp_established", "other_new", "other_established"]
                for (ck, cv) in try members(v, key) {
                    let ckey = key + "." + ck
                    let t = try seconds(cv, ckey)
                    switch ck {
                    case "tcp_new": c.flow.tcpNewTimeout = t
                    case "tcp_established": c.flow.tcpEstablishedTimeout = t
                    case "udp_new": c.flow.udpNewTimeout = t
                    case "udp_established": c.flow.udpEstablishedTimeout = t
                    case "icmp_new": c.flow.icmpNewTimeout = t
                    case "icmp_established": c.flow.icmpEstablishedTimeout = t
                    case "other_new": c.flow.otherNewTimeout = t
                    case "other_established": c.flow.otherEstablishedTimeout = t
                    default: throw unknown(ckey, classes)
                    }
                }
            case "active_timeout": c.flow.activeTimeout = try seconds(v, key)
            case "tcp_linger": c.flow.tcpClosedLinger = try seconds(v, key, allowZero: true)
            case "max_flows": c.flow.maxFlows = try int(v, key, 1...(1 << 26), "a number of flows between 1 and 67108864")
            case "stripes":
                let s = try int(v, key, 1...4096, "a power of two between 1 and 4096")
                guard s & (s - 1) == 0 else { throw fail(key, "must be a power of two between 1 and 4096 (got \"\(s)\")") }
                c.flow.stripes = s
            case "entropy_prefix": c.flow.features.entropyPrefixBytes = try int(v, key, 0...65535, "a number of bytes between 0 and 65535")
            case "app_prefix_bytes": c.flow.features.appPrefixBytes = try int(v, key, 0...65535, "a number of bytes between 0 and 65535")
            case "app_streams": c.flow.appStreamCapacity = try int(v, key, 0...(1 << 24), "a number of flows between 0 and 16777216")
            default: throw unknown(key, allowed)
            }
        }
        if let t = idleTimeout { c.flow.setIdleTimeout(t) }
    }

    func detection(_ node: Node, into c: inout SensorConfig) throws(SensorConfigError) {
        for (k, v) in try members(node, "detection") {
            let key = "detection." + k
            switch k {
            case "model": c.modelPath = try string(v, key)
            case "policy": c.policyPath = try string(v, key)
            case "enabled": c.scoring = try bool(v, key)
            case "evidence_gate": c.evidenceGate = try bool(v, key)
            case "indicators": c.indicatorFiles = try stringList(v, key)
            case "drift": try drift(v, into: &c.drift)
            default: throw unknown(key, ["model", "policy", "enabled", "evidence_gate", "indicators", "drift"])
            }
        }
    }

    /// `detection.drift` (docs/drift.md).
    func drift(_ node: Node, into d: inout DriftConfig) throws(SensorConfigError) {
        let allowed = ["enabled", "window", "psi_warn", "warn_interval"]
        for (k, v) in try members(node, "detection.drift") {
            let key = "detection.drift." + k
            switch k {
            case "enabled": d.enabled = try bool(v, key)
            case "window":
                let r = DriftConfig.windowRange
                d.window = try int(v, key, r, "a number of flows between \(r.lowerBound) and \(r.upperBound)")
            case "psi_warn":
                let s = try scalar(v, key, "must be a number above 0")
                guard let x = Double(s), x.isFinite, x > 0 else { throw fail(key, "must be a number above 0 (got \"\(s)\")") }
                d.psiWarn = x
            case "warn_interval": d.warnIntervalSeconds = try seconds(v, key)
            default: throw unknown(key, allowed)
            }
        }
    }
}

extension Walker {
    /// `outputs.alert_pcap {dir, packets, snaplen, memcap_mb, file_size_mb, files}` (docs/alert-pcap.md).
    func alertPcap(_ node: Node, _ path: String) throws(SensorConfigError) -> AlertPcapConfig {
        var c = AlertPcapConfig(directory: "")
        for (k, v) in try members(node, path) {
            let key = path + "." + k
            switch k {
            case "dir": c.directory = try string(v, key) ?? ""
            case "packets": c.ringPackets = try int(v, key, 1...65535, "a number of packets between 1 and 65535")
            case "snaplen": c.snaplen = try int(v, key, 64...262_144, "a number of bytes between 64 and 262144")
            case "memcap_mb": c.memcapBytes = try int(v, key, 1...(1 << 20), "a number of MiB between 1 and 1048576") << 20
            case "file_size_mb": c.fileSizeBytes = try int(v, key, 1...(1 << 20), "a number of MiB between 1 and 1048576") << 20
            case "files": c.fileCount = try int(v, key, 0...1_000_000, "a number of files (0: no limit)")
            default: throw unknown(key, ["dir", "packets", "snaplen", "memcap_mb", "file_size_mb", "files"])
            }
        }
        if c.directory.isEmpty { throw fail(path + ".dir", "give the directory the pcap files go to") }
        return c
    }
}

extension String {
    func replacingUnderscores() -> String {
        // YAML 1.1 allows 1_000_000; only between digits.
        guard contains("_") else { return self }
        return String(filter { $0 != "_" })
    }
}
