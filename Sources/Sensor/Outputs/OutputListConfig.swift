import Yams

/// Reads `outputs.list` (or `outputs: [...]`): each entry a mapping with a
/// `type`. File entries become the alerts, flows or stats log (one record
/// type each, as `outputs.alerts/flows/stats`); the others become
/// `networkOutputs`. Every unknown key, type or bad value is named with its
/// dotted path and index.
extension Walker {
    func outputList(_ node: Node, _ path: String, into c: inout SensorConfig) throws(SensorConfigError) {
        guard case let .sequence(seq) = node else {
            throw fail(path, "must be a list of outputs, each a mapping with a type (file, redis) (got \(describe(node)))")
        }
        var names: Set<String> = ["alerts", "flows", "stats"]
        for (i, item) in seq.enumerated() {
            let p = "\(path)[\(i)]"
            let m = try members(item, p)
            guard let typeNode = m.first(where: { $0.0 == "type" })?.1 else {
                throw fail(p + ".type", "missing: every output names its type (file, redis, syslog, unix_dgram, unix_stream)")
            }
            switch try scalar(typeNode, p + ".type", "must be file or redis") {
            case "file": try fileOutput(m, p, into: &c)
            case let t where ["redis", "syslog", "unix_dgram", "unix_stream"].contains(t):
                let name = names.contains(t) ? "\(t)-\(i + 1)" : t
                let spec = t == "redis" ? try redisOutput(m, p, defaultName: name) : try socketOutput(t, m, p, defaultName: name)
                guard names.insert(spec.name).inserted else {
                    throw fail(p + ".name", "\"\(spec.name)\" is taken (names are unique, and alerts, flows, stats name the log files)")
                }
                c.networkOutputs.append(spec)
            case let t: throw fail(p + ".type", "unknown output type \"\(t)\" (known: file, redis, syslog, unix_dgram, unix_stream)")
            }
        }
    }

    /// `{type: file, path, types: [one type]}`: the log of that record type.
    private func fileOutput(_ m: [(String, Node)], _ p: String, into c: inout SensorConfig) throws(SensorConfigError) {
        var path: String?
        var types: [EveRecordType] = []
        for (k, v) in m {
            let key = p + "." + k
            switch k {
            case "type": break
            case "path": path = try string(v, key)
            case "types": types = try recordTypes(v, key)
            default: throw unknown(key, ["type", "path", "types"])
            }
        }
        guard let path, !path.isEmpty else { throw fail(p + ".path", "missing: a file output needs a path (or \"-\" for stdout)") }
        guard types.count == 1 else {
            throw fail(p + ".types", "a file output takes exactly one record type (flow, alert or stats); list one file per type")
        }
        let (slot, legacy): (WritableKeyPath<SensorConfig, String?>, String) = switch types[0] {
        case .flow: (\.flows, "outputs.flows")
        case .alert: (\.alerts, "outputs.alerts")
        case .stats: (\.stats, "outputs.stats")
        }
        if let already = c[keyPath: slot] {
            throw fail(p + ".types", "the \(types[0].rawValue) log is already \"\(already)\" (\(legacy) or an earlier entry)")
        }
        c[keyPath: slot] = path
    }

    private func redisOutput(_ m: [(String, Node)], _ p: String, defaultName: String) throws(SensorConfigError) -> OutputSpec {
        let allowed = ["type", "name", "types", "queue", "drain_seconds", "host", "port", "socket", "username", "password",
                       "mode", "key", "batch", "stream_maxlen", "backoff_max", "timeout"]
        var r = RedisSettings()
        var name = defaultName
        var types: [EveRecordType] = [.alert, .flow]
        var queue = 100_000
        var drain = 3.0
        var hostGiven = false
        for (k, v) in m {
            let key = p + "." + k
            switch k {
            case "type": break
            case "name": name = try outputName(v, key)
            case "types": types = try recordTypes(v, key)
            case "queue": queue = try int(v, key, 1...(1 << 24), "a number of records between 1 and 16777216")
            case "drain_seconds":
                drain = try seconds(v, key, allowZero: true)
                guard drain <= 8 else { throw fail(key, "must be at most 8 seconds (run stops waiting 10 s after SIGTERM)") }
            case "host":
                guard let h = try string(v, key), !h.isEmpty else { throw fail(key, "must be a host name or address") }
                r.host = h
                hostGiven = true
            case "port": r.port = try int(v, key, 1...65535, "a TCP port between 1 and 65535")
            case "socket":
                guard let s = try string(v, key), !s.isEmpty else { throw fail(key, "must be a unix socket path") }
                guard s.utf8.count < 108 else { throw fail(key, "a unix socket path is at most 107 bytes") }
                r.socket = s
            case "username": r.username = try string(v, key)
            case "password": r.password = try string(v, key)
            case "mode":
                let s = try scalar(v, key, "must be list, rpush, channel or stream")
                guard let mode = RedisSettings.Mode.named(s) else {
                    throw fail(key, "must be list (lpush), rpush, channel (publish) or stream (xadd) (got \"\(s)\")")
                }
                r.mode = mode
            case "key":
                guard let s = try string(v, key), !s.isEmpty else { throw fail(key, "must be a key name ({type} becomes flow, alert or stats)") }
                r.key = s
            case "batch": r.batch = try int(v, key, 1...65536, "a number of records between 1 and 65536")
            case "stream_maxlen": r.streamMaxLen = try int(v, key, 0...(1 << 40), "a number of entries, 0 or more (0: no trimming)")
            case "backoff_max":
                r.backoffMaxSeconds = try seconds(v, key)
                guard r.backoffMaxSeconds <= 3600 else { throw fail(key, "must be at most 3600 seconds") }
            case "timeout":
                r.timeoutSeconds = try seconds(v, key)
                guard r.timeoutSeconds <= 300 else { throw fail(key, "must be at most 300 seconds") }
            default: throw unknown(key, allowed)
            }
        }
        if r.socket != nil && hostGiven { throw fail(p + ".socket", "give socket or host/port, not both") }
        if r.username != nil && r.password == nil { throw fail(p + ".username", "a username needs a password (AUTH username password)") }
        if types.isEmpty { throw fail(p + ".types", "must list at least one record type (flow, alert, stats)") }
        var spec = OutputSpec(name: name, types: types, queueRecords: queue, transport: .redis(r))
        spec.drainSeconds = drain
        return spec
    }

    private func outputName(_ v: Node, _ key: String) throws(SensorConfigError) -> String {
        let s = try string(v, key) ?? ""
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 < 0x80 && ($0 == 0x2D || $0 == 0x2E || $0 == 0x5F || (0x30...0x39).contains($0)
                || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)) }) else {
            throw fail(key, "must be a name of letters, digits, '-', '_' or '.' (got \"\(s)\")")
        }
        return s
    }

    /// `type: syslog` (address, facility) and `type: unix_dgram` / `unix_stream` (path).
    private func socketOutput(_ type: String, _ m: [(String, Node)], _ p: String, defaultName: String) throws(SensorConfigError) -> OutputSpec {
        let isSyslog = type == "syslog"
        let allowed = ["type", "name", "types", "queue", "drain_seconds", "backoff_max"] + (isSyslog ? ["address", "facility"] : ["path"])
        var name = defaultName
        var types: [EveRecordType] = isSyslog ? [.alert] : [.alert, .flow]
        var queue = 100_000, drain = 3.0, backoff = 10.0
        var syslog = SyslogSettings()
        var path: String?
        for (k, v) in m {
            let key = p + "." + k
            switch k {
            case "type": break
            case "name": name = try outputName(v, key)
            case "types": types = try recordTypes(v, key)
            case "queue": queue = try int(v, key, 1...(1 << 24), "a number of records between 1 and 16777216")
            case "drain_seconds":
                drain = try seconds(v, key, allowZero: true)
                guard drain <= 8 else { throw fail(key, "must be at most 8 seconds (run stops waiting 10 s after SIGTERM)") }
            case "backoff_max":
                backoff = try seconds(v, key)
                guard backoff <= 3600 else { throw fail(key, "must be at most 3600 seconds") }
            case "address" where isSyslog:
                let s = try scalar(v, key, "must be unix:PATH, udp:HOST:PORT or tcp:HOST:PORT")
                guard let a = SyslogSettings.parseAddress(s) else {
                    throw fail(key, "must be unix:PATH, udp:HOST:PORT or tcp:HOST:PORT (IPv6 as [addr]) (got \"\(s)\")")
                }
                syslog.address = a
            case "facility" where isSyslog:
                let s = try scalar(v, key, "must be a facility name")
                guard let f = SyslogSettings.facilities[s.lowercased()] else {
                    throw fail(key, "must be one of \(SyslogSettings.facilities.keys.sorted().joined(separator: ", ")) (got \"\(s)\")")
                }
                syslog.facility = f
            case "path" where !isSyslog:
                guard let s = try string(v, key), !s.isEmpty, s.utf8.count < 108 else {
                    throw fail(key, "must be a unix socket path of at most 107 bytes")
                }
                path = s
            default: throw unknown(key, allowed)
            }
        }
        if types.isEmpty { throw fail(p + ".types", "must list at least one record type (flow, alert, stats)") }
        let transport: OutputSpec.Transport
        if isSyslog {
            transport = .syslog(syslog)
        } else {
            guard let path else { throw fail(p + ".path", "missing: a \(type) output needs the socket's path") }
            transport = .unixSocket(path: path, stream: type == "unix_stream")
        }
        var spec = OutputSpec(name: name, types: types, queueRecords: queue, transport: transport)
        spec.drainSeconds = drain
        spec.backoffMaxSeconds = backoff
        return spec
    }

    /// A list of record types (one alone is a list of one).
    private func recordTypes(_ n: Node, _ key: String) throws(SensorConfigError) -> [EveRecordType] {
        let items: [Node]
        if case let .sequence(seq) = n { items = Array(seq) } else { items = [n] }
        var out: [EveRecordType] = []
        for (i, item) in items.enumerated() {
            let s = try scalar(item, "\(key)[\(i)]", "must be flow, alert or stats")
            guard let t = EveRecordType(rawValue: s) else { throw fail("\(key)[\(i)]", "must be flow, alert or stats (got \"\(s)\")") }
            if !out.contains(t) { out.append(t) }
        }
        return out
    }
}
