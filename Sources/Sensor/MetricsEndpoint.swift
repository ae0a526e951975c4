import AppLayer
import Behaviour
import Prometheus
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The optional Prometheus endpoint (off by default; binds a numeric IPv4
/// address, 127.0.0.1 unless told otherwise): one thread accepting plain
/// HTTP/1.0 `GET /metrics` and answering with the registry's text
/// exposition. Metric values are refreshed from the sensor's counters once a
/// second by `update` (on the output thread).
package final class MetricsEndpoint: @unchecked Sendable {
    package let registry = PrometheusCollectorRegistry()
    private let fd: Int32
    private let stopping = Atomic<Bool>(false)
    private var thread: pthread_t?
    package let port: UInt16

    let kernelPackets, kernelDrops, kernelIfDrops, packets, decoded, flowsCreated, queueOverflow,
        recordsWritten, flowsScored, alerts: Gauge
    let flowsActive, queueDepth, uptime: Gauge
    let behaviourPairs, behaviourClients, behaviourPairEvictions, behaviourClientEvictions, behaviourAlerts: Gauge
    let behaviourDNSSeries, behaviourDNSEvictions: Gauge
    /// Flows per app_proto, malformed application-layer messages, flows with no free stream prefix.
    let appFlows: [Gauge]
    let appMalformed, appNoBuffer: Gauge
    let latency: ValueHistogram
    private var lastLatency: [UInt64] = []

    /// Parses "host:port" with a numeric IPv4 host.
    package static func parse(_ s: String) -> (UInt32, UInt16)? {
        let parts = s.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
        var addr = in_addr()
        guard inet_pton(AF_INET, String(parts[0]), &addr) == 1 else { return nil }
        return (addr.s_addr, port)
    }

    package struct StartError: Error, CustomStringConvertible { package let description: String }

    package init(listen: String) throws {
        guard let (addr, port) = Self.parse(listen) else { throw StartError(description: "metrics_listen: bad address \(listen)") }
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw StartError(description: "metrics: socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = addr
        let rc = withUnsafePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, Glibc.listen(s, 16) == 0 else {
            let e = String(cString: strerror(errno))
            close(s)
            throw StartError(description: "metrics: cannot listen on \(listen): \(e)")
        }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) }
        }
        fd = s
        self.port = UInt16(bigEndian: bound.sin_port)
        let r = registry
        kernelPackets = r.makeGauge(name: "flowsentry_capture_kernel_packets_total", help: "Packets the kernel saw (64-bit, wrap-safe).")
        kernelDrops = r.makeGauge(name: "flowsentry_capture_kernel_drops_total", help: "Packets the kernel dropped (buffer full).")
        kernelIfDrops = r.makeGauge(name: "flowsentry_capture_kernel_ifdrops_total", help: "Packets the interface dropped.")
        packets = r.makeGauge(name: "flowsentry_decoder_packets_total", help: "Packets read.")
        decoded = r.makeGauge(name: "flowsentry_decoder_decoded_total", help: "Packets decoded into flows.")
        flowsCreated = r.makeGauge(name: "flowsentry_flows_created_total", help: "Flows created.")
        queueOverflow = r.makeGauge(name: "flowsentry_queue_overflow_total", help: "Flow records dropped because the output queue was full.")
        recordsWritten = r.makeGauge(name: "flowsentry_output_records_total", help: "Records written.")
        flowsScored = r.makeGauge(name: "flowsentry_ml_flows_scored_total", help: "Flows scored.")
        alerts = r.makeGauge(name: "flowsentry_alerts_total", help: "Alerts written.")
        flowsActive = r.makeGauge(name: "flowsentry_flows_active", help: "Flows in the table.")
        queueDepth = r.makeGauge(name: "flowsentry_queue_depth", help: "Records waiting for output.")
        uptime = r.makeGauge(name: "flowsentry_uptime_seconds", help: "Seconds since start.")
        behaviourPairs = r.makeGauge(name: "flowsentry_behaviour_pairs", help: "Pair series in the behaviour table.")
        behaviourClients = r.makeGauge(name: "flowsentry_behaviour_clients", help: "Clients in the behaviour table.")
        behaviourPairEvictions = r.makeGauge(name: "flowsentry_behaviour_pair_evictions_total",
                                             help: "Pair series evicted from the full behaviour table.")
        behaviourClientEvictions = r.makeGauge(name: "flowsentry_behaviour_client_evictions_total",
                                               help: "Clients evicted from the full behaviour table.")
        behaviourDNSSeries = r.makeGauge(name: "flowsentry_behaviour_dns_series", help: "(client, domain) DNS series in the behaviour table.")
        behaviourDNSEvictions = r.makeGauge(name: "flowsentry_behaviour_dns_evictions_total",
                                            help: "DNS series evicted from the full behaviour table.")
        behaviourAlerts = r.makeGauge(name: "flowsentry_behaviour_alerts_total", help: "Behaviour alert lines written (opening and closing).")
        appFlows = AppProto.allCases.map {
            r.makeGauge(name: "flowsentry_app_layer_flows_total", labels: [("app_proto", $0.name)],
                        help: "Flow records by application protocol (found by content).")
        }
        appMalformed = r.makeGauge(name: "flowsentry_app_layer_malformed_total",
                                   help: "Flows whose application-layer messages were malformed (stats records give the reasons).")
        appNoBuffer = r.makeGauge(name: "flowsentry_app_layer_no_buffer_total",
                                  help: "Flows with payload that found no free stream prefix (flow.app_streams).")
        latency = r.makeValueHistogram(name: "flowsentry_ml_flow_to_output_seconds", buckets: ScoringStage.latencyBounds,
                                       help: "Flow end to record written, seconds.")
        thread = spawnThread(name: "fs-metrics") { [self] in serve() }
    }

    /// Stops serving: the thread sees the flag within 200 ms, closes the
    /// socket and is joined before this returns. Idempotent.
    package func stop() {
        if stopping.exchange(true, ordering: .acquiringAndReleasing) { return }
        if let t = thread { pthread_join(t, nil) }
    }

    /// Refreshes the metrics from a stats snapshot and the scoring counters.
    package func update(_ s: SensorStats, scoring: ScoringStage.Counters?, behaviour: BehaviourTable.Counters? = nil,
                        appLayer: AppLayerCounters? = nil, appStreamsExhausted: UInt64 = 0) {
        if let a = appLayer {
            for (i, g) in appFlows.enumerated() { g.set(Double(a.flows[i])) }
            appMalformed.set(Double(a.malformedTotal))
        }
        appNoBuffer.set(Double(appStreamsExhausted))
        if let b = behaviour {
            behaviourPairs.set(Double(b.pairsHeld)); behaviourClients.set(Double(b.clientsHeld))
            behaviourPairEvictions.set(Double(b.pairEvictions)); behaviourClientEvictions.set(Double(b.clientEvictions))
            behaviourDNSSeries.set(Double(b.dnsSeriesHeld)); behaviourDNSEvictions.set(Double(b.dnsEvictions))
        }
        kernelPackets.set(Double(s.kernel.received)); kernelDrops.set(Double(s.kernel.dropped))
        kernelIfDrops.set(Double(s.kernel.ifDropped)); packets.set(Double(s.packets)); decoded.set(Double(s.decoded))
        flowsCreated.set(Double(s.flows.created)); queueOverflow.set(Double(s.queueOverflow))
        recordsWritten.set(Double(s.recordsWritten)); flowsActive.set(Double(s.flowsActive))
        queueDepth.set(Double(s.queueDepth)); uptime.set(s.uptimeSeconds)
        if let c = scoring {
            flowsScored.set(Double(c.flowsScored)); alerts.set(Double(c.alerts.values.reduce(0, +) + c.closingAlerts))
            behaviourAlerts.set(Double(c.behaviourAlerts))
            // Feed the histogram the flows added since the last update, at their bucket's bound.
            if lastLatency.count != c.latencyCounts.count { lastLatency = Array(repeating: 0, count: c.latencyCounts.count) }
            for (i, n) in c.latencyCounts.enumerated() where n > lastLatency[i] {
                let v = i < ScoringStage.latencyBounds.count ? ScoringStage.latencyBounds[i] : 20
                for _ in 0..<min(n - lastLatency[i], 10_000) { latency.record(v) }
                lastLatency[i] = n
            }
        }
    }

    private func serve() {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !stopping.load(ordering: .acquiring) {
            guard poll(&pfd, 1, 200) > 0 else { continue }
            let c = accept(fd, nil, nil)
            guard c >= 0 else { continue }
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buf = [UInt8](repeating: 0, count: 2048)
            let n = read(c, &buf, buf.count)
            let request = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
            let ok = request.hasPrefix("GET /metrics") || request.hasPrefix("GET / ")
            let body: [UInt8] = ok ? registry.emitToBuffer() : Array("not found\n".utf8)
            let head = "HTTP/1.0 \(ok ? "200 OK" : "404 Not Found")\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            let out = Array(head.utf8) + body
            _ = out.withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
            close(c)
        }
        close(fd)
    }
}
