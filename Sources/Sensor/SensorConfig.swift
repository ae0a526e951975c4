import Alerts
import Behaviour
import Flows
#if canImport(Glibc)
import Glibc
#endif

/// Everything `flowsentry run` needs, from the YAML file
/// (`SensorConfig.load(path:)`) and then command-line flags
/// (`applying(_:)`, flags win). Defaults are the built-in values.
package struct SensorConfig: Sendable, Equatable {
    // Top level
    package var sensorName: String?
    package var statsInterval: Double = 8

    // capture
    package var interface: String?
    package var snaplen: Int = 262_144
    package var promiscuous = true
    package var bufferMB: Int = 64
    package var timeoutMs: Int = 10
    package var bpfFilter: String?
    package var bpfFilterFile: String?
    package var workers: Int = 1
    package var fanoutGroup: Int = 42
    package var warnOffloads = true

    // outputs
    package var outputDirectory: String?
    package var alerts: String?
    package var flows: String?
    package var stats: String?
    package var fileMode: UInt32 = 0o640
    package var communityIDSeed: UInt16 = 0
    package var flowDetail = FlowDetail.full
    package var queueCapacity: Int = 65_536
    /// Bounds of each log file's own queue (`outputs.file_queue`, `outputs.file_queue_mb`).
    package var fileQueueRecords = SensorConfig.defaultFileQueueRecords
    package var fileQueueBytes = SensorConfig.defaultFileQueueBytes
    package static let defaultFileQueueRecords = 100_000
    package static let defaultFileQueueBytes = 64 << 20
    /// Microseconds the output thread polls for the next records before it
    /// blocks (0: block at once). See `BoundedQueue.popAll(spin:)`.
    package var outputSpinMicros: Int = 250
    /// `outputs.threads`: threads that score and format the records (the
    /// output thread and its helpers; nil: the CPUs the process may use).
    package var outputThreads: Int?
    /// `outputs.alert_pcap`: packets of alerted flows (nil: off). Its `dir` is under `outputs.directory` unless absolute.
    package var alertPcap: AlertPcapConfig?
    /// `outputs.list` entries that are not log files (Redis, ...), each with its own queue and thread (docs/outputs.md).
    package var networkOutputs: [OutputSpec] = []

    // flow: limits, timeouts and feature settings of the flow table
    package var flow = FlowTableConfig()
    /// The behaviour table (docs/features.md, "Behaviour across flows").
    package var behaviour = BehaviourConfig()

    // detection (kept for the scoring stage; not used by capture/output)
    /// `host:port` of the optional Prometheus endpoint (off when nil).
    package var metricsListen: String?
    /// `detection.enabled: false` runs the spine only (as `--no-score`).
    package var scoring = true
    package var modelPath: String?
    package var policyPath: String?
    /// `detection.evidence_gate: false` keeps model verdicts that lack their class's evidence (`ClassEvidence`).
    package var evidenceGate = true
    /// `detection.indicators`: Zeek Intel files matched on every flow (docs/indicators.md).
    package var indicatorFiles: [String] = []
    /// `detection.drift`: input drift against the bundle's training reference (docs/drift.md).
    package var drift = DriftConfig()

    package init() {}

    /// A path under `outputs.directory` unless absolute (or "-" for stdout).
    package func outputPath(_ name: String?) -> String? {
        guard let name, !name.isEmpty else { return nil }
        if name == "-" || name.hasPrefix("/") { return name }
        guard let dir = outputDirectory, !dir.isEmpty else { return name }
        return dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    /// Checks combinations and ranges; the message names the setting the
    /// way the command line spells it.
    package func validate() throws(SensorConfigError) {
        func bad(_ key: String, _ reason: String) -> SensorConfigError {
            SensorConfigError(file: nil, key: key, reason: reason)
        }
        guard let i = interface, !i.isEmpty else {
            throw bad("interface", "missing: give --interface IF or capture.interface in the config")
        }
        if bpfFilter != nil && bpfFilterFile != nil {
            throw bad("filter", "give a BPF filter either inline (--filter, capture.bpf_filter) or from a file (--filter-file, capture.bpf_filter_file), not both")
        }
        if workers < 1 || workers > 64 { throw bad("workers", "must be between 1 and 64 (got \(workers))") }
        if fanoutGroup < 0 || fanoutGroup > 65535 { throw bad("fanout_group", "must be between 0 and 65535 (got \(fanoutGroup))") }
        if snaplen < 64 || snaplen > 262_144 { throw bad("snaplen", "must be between 64 and 262144 bytes (got \(snaplen))") }
        if bufferMB < 1 || bufferMB > 2047 { throw bad("buffer_mb", "must be between 1 and 2047 MiB (got \(bufferMB))") }
        if timeoutMs < 1 || timeoutMs > 1000 { throw bad("timeout_ms", "must be between 1 and 1000 ms (got \(timeoutMs))") }
        if !(statsInterval > 0) { throw bad("stats_interval", "must be a positive number of seconds") }
        if queueCapacity < 1 { throw bad("queue_capacity", "must be at least 1") }
        if outputSpinMicros < 0 || outputSpinMicros > 100_000 {
            throw bad("output_spin_us", "must be between 0 and 100000 microseconds (got \(outputSpinMicros))")
        }
        if let t = outputThreads, t < 1 || t > 256 { throw bad("threads", "must be between 1 and 256 (got \(t))") }
        if fileMode > 0o777 { throw bad("file_mode", "must be an octal mode up to 0777") }
        do throws(FlowTableConfigError) { try flow.validate() } catch {
            throw bad("flow." + error.setting.configKey, error.reason)
        }
        if alerts == nil && flows == nil && stats == nil && networkOutputs.isEmpty {
            throw bad("outputs", "no output: give at least one of --alerts, --flows, --stats, or outputs.list in the config")
        }
    }

    /// The BPF filter text: inline, or read from `bpfFilterFile`
    /// (lines starting with '#' are comments).
    package func resolvedFilter() throws(SensorConfigError) -> String? {
        if let f = bpfFilter { return f.isEmpty ? nil : f }
        guard let path = bpfFilterFile else { return nil }
        guard let text = readWholeFile(path) else {
            throw SensorConfigError(file: path, key: nil, reason: "cannot read the BPF filter file: \(String(cString: strerror(errno)))")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: " \t\r") }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        let f = lines.joined(separator: " ")
        return f.isEmpty ? nil : f
    }
}

/// Command-line values; nil means "not given", so the config file (or the
/// default) stays.
package struct SensorOverrides: Sendable, Equatable {
    package var interface: String?
    package var alerts: String?
    package var flows: String?
    package var stats: String?
    package var workers: Int?
    package var fanoutGroup: Int?
    package var filter: String?
    package var filterFile: String?
    package var snaplen: Int?
    package var bufferMB: Int?
    package var noPromisc = false
    package var sensorName: String?
    package var statsInterval: Double?
    package var communityIDSeed: UInt16?
    package var noSequence = false
    package var flowDetail: FlowDetail?
    package var queueCapacity: Int?
    package var outputSpinMicros: Int?
    package var outputThreads: Int?
    /// `--indicators` (every value given): replaces `detection.indicators`.
    package var indicatorFiles: [String]?
    package var flow = FlowTableConfig.Overrides()
    package init() {}
}

extension SensorConfig {
    /// This configuration with the given command-line values on top.
    /// A filter on the command line (either kind) replaces both kinds
    /// from the file.
    package func applying(_ o: SensorOverrides) -> SensorConfig {
        var c = self
        if let v = o.interface { c.interface = v }
        if let v = o.alerts { c.alerts = v.isEmpty ? nil : v }
        if let v = o.flows { c.flows = v.isEmpty ? nil : v }
        if let v = o.stats { c.stats = v.isEmpty ? nil : v }
        if let v = o.workers { c.workers = v }
        if let v = o.fanoutGroup { c.fanoutGroup = v }
        if o.filter != nil || o.filterFile != nil {
            c.bpfFilter = o.filter
            c.bpfFilterFile = o.filterFile
        }
        if let v = o.snaplen { c.snaplen = v }
        if let v = o.bufferMB { c.bufferMB = v }
        if o.noPromisc { c.promiscuous = false }
        if let v = o.sensorName { c.sensorName = v }
        if let v = o.statsInterval { c.statsInterval = v }
        if let v = o.communityIDSeed { c.communityIDSeed = v }
        if o.noSequence && c.flowDetail == .full { c.flowDetail = .features }
        if let v = o.flowDetail { c.flowDetail = v }
        if let v = o.queueCapacity { c.queueCapacity = v }
        if let v = o.outputSpinMicros { c.outputSpinMicros = v }
        if let v = o.outputThreads { c.outputThreads = v }
        if let v = o.indicatorFiles { c.indicatorFiles = v }
        c.flow = c.flow.applying(o.flow)
        return c
    }
}

/// A configuration error: `file: key: reason` (file and key when known).
package struct SensorConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    package var file: String?
    package var key: String?
    package var reason: String
    package init(file: String?, key: String?, reason: String) {
        self.file = file
        self.key = key
        self.reason = reason
    }
    package var description: String {
        var s = ""
        if let file { s += file + ": " }
        if let key { s += key + ": " }
        return s + reason
    }
}

func readWholeFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; return nil }
        if n == 0 { break }
        out.append(contentsOf: buf[0..<n])
        if out.count > 16 << 20 { errno = EFBIG; return nil }
    }
    return String(decoding: out, as: UTF8.self)
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self[...]
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
