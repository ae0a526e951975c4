import Context
import Features

/// Flow-table limits and timeouts. Timeouts are seconds of packet time.
/// Defaults follow Suricata's flow-timeouts (new/established per protocol).
public struct FlowTableConfig: Sendable, Equatable {
    /// Hard cap on flows held at once, over all stripes.
    public var maxFlows: Int = 131_072
    /// Number of stripes (rounded up to a power of two).
    public var stripes: Int = 16
    public var tcpNewTimeout: Double = 60
    public var tcpEstablishedTimeout: Double = 600
    /// Linger after FIN both ways or RST, for stragglers (final ACKs, retransmissions).
    public var tcpClosedLinger: Double = 5
    public var udpNewTimeout: Double = 30
    public var udpEstablishedTimeout: Double = 300
    public var icmpNewTimeout: Double = 30
    public var icmpEstablishedTimeout: Double = 300
    public var otherNewTimeout: Double = 30
    public var otherEstablishedTimeout: Double = 300
    /// A flow older than this is cut and continues as a new record.
    public var activeTimeout: Double = 1800
    /// Flows that may hold a payload byte histogram (1 KiB each) at once
    /// (never more than `maxFlows` are allocated).
    public var histogramCapacity: Int = 32_768
    /// Flows that may hold an application-layer stream prefix (2 ×
    /// `features.appPrefixBytes`, 8 KiB by default) at once, from their first
    /// payload to their end (never more than `maxFlows`).
    public var appStreamCapacity: Int = 16_384
    /// Remembered first fragments (to give later fragments their ports).
    public var fragmentSlots: Int = 4096
    public var features = FeatureConfig()
    public var hostContext = HostContextConfig()

    public init() {}

    /// Sets every idle timeout (new and established, all protocols) to one value.
    public mutating func setIdleTimeout(_ s: Double) {
        tcpNewTimeout = s; tcpEstablishedTimeout = s
        udpNewTimeout = s; udpEstablishedTimeout = s
        icmpNewTimeout = s; icmpEstablishedTimeout = s
        otherNewTimeout = s; otherEstablishedTimeout = s
    }

    /// Checks each setting's range and the settings against each other. The
    /// error names the setting, so a caller can report it the way its user
    /// spelled it (flag or config key).
    public func validate() throws(FlowTableConfigError) {
        try validateEach()
        if stripes > maxFlows {
            throw FlowTableConfigError(setting: .stripes,
                                       reason: "(\(stripes)) cannot be more than the flows held at once (\(maxFlows))")
        }
    }

    /// Checks each setting's own range only: for values that other values
    /// (a configuration file) will be combined with later.
    public func validateEach() throws(FlowTableConfigError) {
        func bad(_ s: FlowTableConfigError.Setting, _ reason: String) -> FlowTableConfigError {
            FlowTableConfigError(setting: s, reason: reason)
        }
        let idle: [(FlowTableConfigError.Setting, Double)] = [
            (.tcpNewTimeout, tcpNewTimeout), (.tcpEstablishedTimeout, tcpEstablishedTimeout),
            (.udpNewTimeout, udpNewTimeout), (.udpEstablishedTimeout, udpEstablishedTimeout),
            (.icmpNewTimeout, icmpNewTimeout), (.icmpEstablishedTimeout, icmpEstablishedTimeout),
            (.otherNewTimeout, otherNewTimeout), (.otherEstablishedTimeout, otherEstablishedTimeout),
        ]
        for (setting, t) in idle where !(t > 0) { throw bad(setting, "must be a positive number of seconds") }
        if !(activeTimeout > 0) { throw bad(.activeTimeout, "must be a positive number of seconds") }
        if !(tcpClosedLinger >= 0) { throw bad(.tcpLinger, "must be 0 or more seconds") }
        if maxFlows < 1 { throw bad(.maxFlows, "must be at least 1") }
        if stripes < 1 || stripes > 4096 || stripes & (stripes - 1) != 0 {
            throw bad(.stripes, "must be a power of two between 1 and 4096 (got \(stripes))")
        }
        let prefix = features.entropyPrefixBytes
        if prefix < 0 || prefix > 65535 { throw bad(.entropyPrefix, "must be between 0 and 65535") }
        let app = features.appPrefixBytes
        if app < 0 || app > 65535 { throw bad(.appPrefix, "must be between 0 and 65535") }
        if appStreamCapacity < 0 { throw bad(.appStreams, "must be 0 or more") }
    }

    /// Values given on top of a configuration (command-line flags): nil
    /// keeps the configured value.
    public struct Overrides: Sendable, Equatable {
        /// One idle timeout for every protocol and state (replaces each class's).
        public var idleTimeout: Double?
        public var activeTimeout: Double?
        public var tcpLinger: Double?
        public var maxFlows: Int?
        public var stripes: Int?
        public var entropyPrefix: Int?
        public var appPrefix: Int?
        public var appStreams: Int?
        public init() {}
    }

    /// This configuration with `o`'s given values on top.
    public func applying(_ o: Overrides) -> FlowTableConfig {
        var c = self
        if let v = o.idleTimeout { c.setIdleTimeout(v) }
        if let v = o.activeTimeout { c.activeTimeout = v }
        if let v = o.tcpLinger { c.tcpClosedLinger = v }
        if let v = o.maxFlows { c.maxFlows = v }
        if let v = o.stripes { c.stripes = v }
        if let v = o.entropyPrefix { c.features.entropyPrefixBytes = v }
        if let v = o.appPrefix { c.features.appPrefixBytes = v }
        if let v = o.appStreams { c.appStreamCapacity = v }
        return c
    }

    /// The longest idle timeout (ns): by packet time T every flow whose last
    /// packet came before T minus this has been ended.
    public var longestIdleTimeoutNs: Int64 { classTimeoutsNs.max() ?? 0 }

    /// Idle timeout of each timeout class, in nanoseconds.
    var classTimeoutsNs: [Int64] {
        [tcpNewTimeout, tcpEstablishedTimeout, tcpClosedLinger,
         udpNewTimeout, udpEstablishedTimeout,
         icmpNewTimeout, icmpEstablishedTimeout,
         otherNewTimeout, otherEstablishedTimeout].map { Int64(($0 * 1e9).rounded()) }
    }
}

/// A flow-table setting out of range: which one, and why.
public struct FlowTableConfigError: Error, Sendable, Equatable {
    public enum Setting: String, Sendable, CaseIterable {
        case tcpNewTimeout, tcpEstablishedTimeout, udpNewTimeout, udpEstablishedTimeout
        case icmpNewTimeout, icmpEstablishedTimeout, otherNewTimeout, otherEstablishedTimeout
        case activeTimeout, tcpLinger, maxFlows, stripes, entropyPrefix, appPrefix, appStreams

        /// The key under `flow:` in the sensor's YAML configuration.
        public var configKey: String {
            switch self {
            case .tcpNewTimeout: "idle_timeouts.tcp_new"
            case .tcpEstablishedTimeout: "idle_timeouts.tcp_established"
            case .udpNewTimeout: "idle_timeouts.udp_new"
            case .udpEstablishedTimeout: "idle_timeouts.udp_established"
            case .icmpNewTimeout: "idle_timeouts.icmp_new"
            case .icmpEstablishedTimeout: "idle_timeouts.icmp_established"
            case .otherNewTimeout: "idle_timeouts.other_new"
            case .otherEstablishedTimeout: "idle_timeouts.other_established"
            case .activeTimeout: "active_timeout"
            case .tcpLinger: "tcp_linger"
            case .maxFlows: "max_flows"
            case .stripes: "stripes"
            case .entropyPrefix: "entropy_prefix"
            case .appPrefix: "app_prefix_bytes"
            case .appStreams: "app_streams"
            }
        }

        /// The command-line flag (the per-class timeouts have one flag for all).
        public var flag: String {
            switch self {
            case .tcpNewTimeout, .tcpEstablishedTimeout, .udpNewTimeout, .udpEstablishedTimeout,
                 .icmpNewTimeout, .icmpEstablishedTimeout, .otherNewTimeout, .otherEstablishedTimeout:
                "--idle-timeout"
            case .activeTimeout: "--active-timeout"
            case .tcpLinger: "--tcp-linger"
            case .maxFlows: "--max-flows"
            case .stripes: "--stripes"
            case .entropyPrefix: "--entropy-prefix"
            case .appPrefix: "--app-prefix"
            case .appStreams: "--app-streams"
            }
        }
    }

    public var setting: Setting
    public var reason: String
}

/// Counters a flow table keeps (all 64-bit, never wrapping in practice).
public struct FlowCounters: Sendable {
    public var created: UInt64 = 0
    public var ended = [UInt64](repeating: 0, count: EndReason.allCases.count)
    public var fragmentsMatched: UInt64 = 0
    public var fragmentOrphans: UInt64 = 0
    public var negativeIATs: UInt64 = 0
    public init() {}
    public mutating func merge(_ o: FlowCounters) {
        created &+= o.created
        for i in ended.indices { ended[i] &+= o.ended[i] }
        fragmentsMatched &+= o.fragmentsMatched
        fragmentOrphans &+= o.fragmentOrphans
        negativeIATs &+= o.negativeIATs
    }
    public func ended(_ r: EndReason) -> UInt64 { ended[Int(r.rawValue)] }
}
