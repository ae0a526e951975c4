import ArgumentParser
import Flows

/// Flow-table options shared by every command that builds flows.
struct FlowOptions: ParsableArguments {
    @Option(help: "BPF filter applied to the input (libpcap syntax).")
    var filter: String?

    @Option(name: .customLong("idle-timeout"), help: "One idle timeout (seconds) for every protocol and state; default: per protocol, like Suricata (TCP 60 new/600 established, UDP and ICMP 30/300).")
    var idleTimeout: Double?

    @Option(name: .customLong("active-timeout"), help: "Seconds after which a long flow is cut and continues as a new record.")
    var activeTimeout: Double = 1800

    @Option(name: .customLong("tcp-linger"), help: "Seconds a TCP flow lingers after FIN both ways or RST, for stragglers.")
    var tcpLinger: Double = 5

    @Option(name: .customLong("max-flows"), help: "Flows held at once; when a stripe is full its least recently active flow is evicted.")
    var maxFlows: Int = 131_072

    @Option(help: "Flow-table stripes (a power of two).")
    var stripes: Int = 16

    @Option(name: .customLong("entropy-prefix"), help: "Payload bytes per direction fed to the payload-entropy histogram.")
    var entropyPrefix: Int = 1024

    func validate() throws {
        if let t = idleTimeout, !(t > 0) { throw ValidationError("--idle-timeout must be > 0 seconds") }
        if !(activeTimeout > 0) { throw ValidationError("--active-timeout must be > 0 seconds") }
        if !(tcpLinger >= 0) { throw ValidationError("--tcp-linger must be >= 0 seconds") }
        if maxFlows < 1 { throw ValidationError("--max-flows must be at least 1") }
        if stripes < 1 || stripes > 4096 || stripes & (stripes - 1) != 0 {
            throw ValidationError("--stripes must be a power of two between 1 and 4096")
        }
        if stripes > maxFlows { throw ValidationError("--stripes (\(stripes)) cannot exceed --max-flows (\(maxFlows))") }
        if entropyPrefix < 0 || entropyPrefix > 65535 { throw ValidationError("--entropy-prefix must be between 0 and 65535") }
    }

    var tableConfig: FlowTableConfig {
        var c = FlowTableConfig()
        if let t = idleTimeout { c.setIdleTimeout(t) }
        c.activeTimeout = activeTimeout
        c.tcpClosedLinger = tcpLinger
        c.maxFlows = maxFlows
        c.stripes = stripes
        c.histogramCapacity = min(maxFlows, 32_768)
        c.features.entropyPrefixBytes = entropyPrefix
        return c
    }
}
