import AppLayer
import Behaviour
import Decoding
import Flows
import Indicators

/// What the sensor shows Prometheus, as text exposition: the live sensor's
/// counters (one snapshot), the scoring, behaviour and application-layer
/// counters, labelled by `interface`, `worker`, `class`, `output` where the
/// split means something. Counters are the sensor's running totals (they only
/// grow, also across a model reload); gauges are values now. The names are
/// listed in docs/live.md, "Metrics and scoring counters".
package struct SensorMetricsSnapshot: Sendable {
    package var stats: SensorStats
    package var interface: String
    package var scoring: ScoringStage.Counters?
    /// The loaded model's version and its classes (every non-benign class gets an alert counter, 0 until its first alert).
    package var modelVersion: String?
    package var modelClasses: [String] = []
    package var behaviour: BehaviourTable.Counters?
    package var appLayer: AppLayerCounters?
    package var appStreamsExhausted: UInt64 = 0
    /// Indicator matching, when indicator files are loaded: hits by kind, flows matched, indicators held.
    package var indicators: IndicatorCounters?
    package var indicatorsLoaded = 0
    /// Input drift against the bundle's training reference, when followed.
    package var drift: DriftSnapshot?

    package init(stats: SensorStats, interface: String) {
        self.stats = stats
        self.interface = interface
    }

    package func append(to t: inout PrometheusText) {
        let s = stats
        let iface = [("interface", interface)]
        t.family("flowsentry_uptime_seconds", .gauge, "Seconds since the sensor started capturing.")
        t.sample("flowsentry_uptime_seconds", iface, s.uptimeSeconds)

        // Capture and decoding, per capture worker (its own handle in the fanout group).
        func perWorker(_ name: String, _ help: String, _ value: (SensorStats.Worker) -> UInt64) {
            t.family(name, .counter, help)
            for (i, w) in s.workers.enumerated() { t.sample(name, iface + [("worker", String(i))], value(w)) }
        }
        perWorker("flowsentry_capture_kernel_packets_total", "Packets the kernel passed to the capture handle (pcap_stats ps_recv, 64-bit).") { $0.kernel.received }
        perWorker("flowsentry_capture_kernel_drops_total", "Packets the kernel dropped because the capture buffer was full (ps_drop).") { $0.kernel.dropped }
        perWorker("flowsentry_capture_kernel_ifdrops_total", "Packets the interface or its driver dropped (ps_ifdrop).") { $0.kernel.ifDropped }
        perWorker("flowsentry_capture_reopens_total", "Times the capture handle was reopened after the interface went down or away.") { $0.reopens }
        perWorker("flowsentry_decoder_packets_total", "Packets read from the capture handle.") { $0.packets }
        perWorker("flowsentry_decoder_bytes_total", "Bytes on the wire of the packets read.") { $0.bytes }
        perWorker("flowsentry_decoder_decoded_total", "Packets decoded into flows.") { $0.decoded }
        t.family("flowsentry_decoder_skipped_total", .counter, "Packets not decoded into flows, by reason.")
        for a in Anomaly.allCases where a != .none {
            t.sample("flowsentry_decoder_skipped_total", iface + [("reason", a.name)], s.anomalies[a])
        }

        // The flow table and the output queue.
        t.family("flowsentry_flows_active", .gauge, "Flows in the flow table.")
        t.sample("flowsentry_flows_active", iface, s.flowsActive)
        t.single("flowsentry_flows_created_total", .counter, "Flows created.", iface, s.flows.created)
        t.family("flowsentry_flows_ended_total", .counter, "Flows ended, by reason.")
        for r in EndReason.allCases { t.sample("flowsentry_flows_ended_total", iface + [("reason", r.name)], s.flows.ended(r)) }
        t.single("flowsentry_flow_memcap_bytes", .gauge, "Memory preallocated for flow slots (max_flows times the slot size).",
                 iface, s.memcapBytes)
        t.family("flowsentry_queue_depth", .gauge, "Flow records waiting for the output thread.")
        t.sample("flowsentry_queue_depth", iface, s.queueDepth)
        t.family("flowsentry_queue_capacity", .gauge, "Capacity of the output queue, in flow records.")
        t.sample("flowsentry_queue_capacity", iface, s.queueCapacity)
        t.single("flowsentry_queue_overflow_total", .counter, "Flow records dropped because the output queue was full.",
                 iface, s.queueOverflow)

        if let c = indicators {
            t.family("flowsentry_indicator_hits_total", .counter, "Indicator matches (docs/indicators.md), by kind of indicator.")
            for k in IndicatorKind.allCases { t.sample("flowsentry_indicator_hits_total", [("kind", k.name)], c.hits[Int(k.rawValue)]) }
            t.single("flowsentry_indicator_flows_matched_total", .counter, "Flow records with at least one indicator match.",
                     [], c.flowsMatched)
            t.single("flowsentry_indicators_loaded", .gauge, "Indicators held (the loaded files, duplicates once).",
                     [], UInt64(indicatorsLoaded))
        }

        // Every output: the log files (alerts, flows, stats) and the outputs.list entries.
        t.family("flowsentry_output_records_total", .counter,
                 "Records accepted by an output (log file: on disk, or held in memory for retry after a failed write; network output: acknowledged by the server).")
        for o in s.outputs { t.sample("flowsentry_output_records_total", [("output", o.name)], o.written) }
        t.family("flowsentry_output_records_dropped_total", .counter,
                 "Records dropped by an output (its queue was full; log file: or the disk refused them past the retry buffer, or shutdown could not wait for it; network output: or the server refused them, or shutdown came first).")
        for o in s.outputs { t.sample("flowsentry_output_records_dropped_total", [("output", o.name)], o.dropped) }
        t.family("flowsentry_output_queue_records", .gauge, "Records in an output's queue or being written now.")
        for o in s.outputs { t.sample("flowsentry_output_queue_records", [("output", o.name)], o.queued) }
        t.family("flowsentry_output_reconnects_total", .counter, "Times a network output connected again after a failure.")
        for o in s.outputs where o.name != "alerts" && o.name != "flows" && o.name != "stats" {
            t.sample("flowsentry_output_reconnects_total", [("output", o.name)], o.reconnects)
        }
        t.single("flowsentry_output_write_errors_total", .counter, "Failed writes or flushes of the log files.",
                 [], s.writeErrors)
        t.single("flowsentry_output_records_pending", .gauge, "Accepted records held in memory after a failed write.",
                 [], s.recordsPending)
        if let p = s.alertPcap {
            t.single("flowsentry_alert_pcap_flows_total", .counter, "Alerted flows whose kept packets were written to --alert-pcap files.",
                     [], p.flowsWritten)
            t.single("flowsentry_alert_pcap_packets_total", .counter, "Packets written to --alert-pcap files.", [], p.packetsWritten)
            t.single("flowsentry_alert_pcap_write_errors_total", .counter, "Failed creations or writes of --alert-pcap files.",
                     [], p.writeErrors)
            t.single("flowsentry_alert_pcap_packets_kept_total", .counter, "Packets kept in the flows' rings for --alert-pcap.",
                     [], p.packetsKept)
            t.single("flowsentry_alert_pcap_packets_not_kept_total", .counter,
                     "Packets not kept for --alert-pcap because every cell of the memcap was in use.", [], p.packetsNotKept)
        }

        if let c = scoring { appendScoring(c, to: &t) }
        if let d = drift { d.append(to: &t) }
        if let b = behaviour { appendBehaviour(b, to: &t) }
        if let a = appLayer {
            t.family("flowsentry_app_layer_flows_total", .counter, "Flow records by application protocol (found by content).")
            for p in AppProto.allCases {
                t.sample("flowsentry_app_layer_flows_total", [("app_proto", p.name)], a.flows[Int(p.rawValue)])
            }
            t.single("flowsentry_app_layer_malformed_total", .counter,
                     "Flows whose application-layer messages were malformed (stats records give the reasons).", [], a.malformedTotal)
        }
        t.single("flowsentry_app_layer_no_buffer_total", .counter,
                 "Flows with payload that found no free stream prefix (flow.app_streams).", iface, appStreamsExhausted)
    }

    private func appendScoring(_ c: ScoringStage.Counters, to t: inout PrometheusText) {
        if let v = modelVersion {
            t.family("flowsentry_model_info", .gauge, "The model bundle in use (1; its version as a label).")
            t.sample("flowsentry_model_info", [("model_version", v)], 1)
        }
        t.single("flowsentry_ml_flows_scored_total", .counter, "Flows scored by the model.", [], c.flowsScored)
        t.single("flowsentry_ml_suspicious_total", .counter, "Flows the model scored over the threshold.", [], c.suspicious)
        var classes = Set(modelClasses.filter { $0 != "benign" })
        classes.formUnion(c.alerts.keys)
        classes.formUnion(c.unsupported.keys)
        let sorted = classes.sorted()
        t.family("flowsentry_ml_evidence_dropped_total", .counter,
                 "Model verdicts over the threshold dropped because the class lacked its evidence, by class.")
        for k in sorted { t.sample("flowsentry_ml_evidence_dropped_total", [("class", k)], c.unsupported[k] ?? 0) }
        t.family("flowsentry_alerts_total", .counter, "Flow alert lines written, by class (closing aggregate alerts apart).")
        for k in sorted { t.sample("flowsentry_alerts_total", [("class", k)], c.alerts[k] ?? 0) }
        t.single("flowsentry_closing_alerts_total", .counter,
                 "Closing aggregate alert lines written (flows folded after a key's last alert).", [], c.closingAlerts)
        t.single("flowsentry_alerts_folded_total", .counter, "Alerting flows folded into an aggregate alert.", [], c.folded)
        t.single("flowsentry_alerts_suppressed_total", .counter, "Alerts suppressed by the policy.", [], c.suppressed)
        t.single("flowsentry_alerts_allowed_total", .counter, "Flows the policy's allow list exempted from alerting.", [], c.allowed)
        t.single("flowsentry_behaviour_alerts_total", .counter, "Behaviour alert lines written (opening and closing).",
                 [], c.behaviourAlerts)
        t.histogram("flowsentry_ml_flow_to_output_seconds", "Seconds from a flow's end in the table to its record written.",
                    bounds: ScoringStage.latencyBounds, counts: c.latencyCounts, sum: c.latencySum)
    }

    private func appendBehaviour(_ b: BehaviourTable.Counters, to t: inout PrometheusText) {
        t.single("flowsentry_behaviour_pairs", .gauge, "Pair series in the behaviour table.", [], UInt64(b.pairsHeld))
        t.single("flowsentry_behaviour_clients", .gauge, "Clients in the behaviour table.", [], UInt64(b.clientsHeld))
        t.single("flowsentry_behaviour_dns_series", .gauge, "(client, domain) DNS series in the behaviour table.",
                 [], UInt64(b.dnsSeriesHeld))
        t.single("flowsentry_behaviour_pair_evictions_total", .counter, "Pair series evicted from the full behaviour table.",
                 [], b.pairEvictions)
        t.single("flowsentry_behaviour_client_evictions_total", .counter, "Clients evicted from the full behaviour table.",
                 [], b.clientEvictions)
        t.single("flowsentry_behaviour_dns_evictions_total", .counter, "DNS series evicted from the full behaviour table.",
                 [], b.dnsEvictions)
        t.single("flowsentry_behaviour_targets", .gauge, "Flood targets in the behaviour table.", [], UInt64(b.targetsHeld))
        t.single("flowsentry_behaviour_target_evictions_total", .counter, "Flood targets evicted from the full behaviour table.",
                 [], b.targetEvictions)
    }
}
