/// Every flow-statistics feature, in schema order. Models and tables refer
/// to features by these cases (and their names), never by bare position.
/// docs/features.md defines each one with its formula and unit.
public enum Feature: Int, CaseIterable, Sendable {
    case duration_s
    case fwd_pkts, bwd_pkts
    case fwd_bytes, bwd_bytes
    case fwd_payload_bytes, bwd_payload_bytes
    case pkt_len_min, pkt_len_max, pkt_len_mean, pkt_len_std
    case fwd_pkt_len_min, fwd_pkt_len_max, fwd_pkt_len_mean, fwd_pkt_len_std
    case bwd_pkt_len_min, bwd_pkt_len_max, bwd_pkt_len_mean, bwd_pkt_len_std
    case iat_min_s, iat_max_s, iat_mean_s, iat_std_s
    case fwd_iat_min_s, fwd_iat_max_s, fwd_iat_mean_s, fwd_iat_std_s
    case bwd_iat_min_s, bwd_iat_max_s, bwd_iat_mean_s, bwd_iat_std_s
    case fin_count, syn_count, rst_count, psh_count, ack_count, urg_count, ece_count, cwr_count
    case fwd_fin_count, fwd_syn_count, fwd_rst_count, fwd_psh_count
    case fwd_ack_count, fwd_urg_count, fwd_ece_count, fwd_cwr_count
    case bwd_fin_count, bwd_syn_count, bwd_rst_count, bwd_psh_count
    case bwd_ack_count, bwd_urg_count, bwd_ece_count, bwd_cwr_count
    case tcp_flag_entropy
    case payload_entropy, fwd_payload_entropy, bwd_payload_entropy
    case pkts_per_s, bytes_per_s
    case fwd_init_win_bytes, bwd_init_win_bytes
    case src_flows, src_distinct_dsts, src_distinct_dports, src_failed_handshakes
    case dst_flows, dst_distinct_srcs, dst_half_open
    // Behaviour across flows (set from `BehaviourValues` by the record
    // path's behaviour stage): the four scores of the flow's pair series,
    // client and DNS series at its end, each in [0, 1]; 0 where no behaviour
    // stage saw the flow (a long flow's later segments).
    case beh_repetition, beh_beaconing, beh_scanning, beh_dns_tunnel
    // Application layer (`AppLayerFeatures`): 0 for flows with no app_proto.
    case app_dns, app_tls, app_http, app_ssh, app_failed
    case dns_qname_len, dns_qname_labels, dns_qname_entropy, dns_qname_digit_share, dns_qtype_class
    case dns_answers, dns_min_ttl, dns_rcode
    case http_uri_len, http_uri_pct_share, http_uri_quotes, http_uri_angles, http_uri_semicolons
    case http_uri_traversals, http_uri_params, http_status_class, http_requests, http_ua_len, http_method
    case tls_version, tls_ciphers, tls_extensions, tls_sni_present, tls_sni_len, tls_sni_entropy
    case tls_cert_days, tls_cert_self_signed, tls_heartbeats, tls_heartbeat_ratio
    case ssh_client_known, ssh_banner_len

    public var name: String { String(describing: self) }

    public static let count = Feature.allCases.count

    /// Feature names in schema order (what a model bundle records).
    public static let schema: [String] = Feature.allCases.map(\.name)

    /// The first behaviour feature: those from here on are zero when a flow
    /// is finished and filled later on the record path.
    public static let firstBehaviour = Feature.beh_repetition

    /// The first application-layer feature: those from here on are written
    /// to flow records only for flows with an `app_proto`.
    public static let firstAppLayer = Feature.app_dns
}

/// The finished values of one flow's features, indexed by `Feature`.
/// Stored inline (no heap), so finishing a flow allocates nothing.
public struct FeatureVector: Sendable {
    /// Must equal `Feature.count` (checked by a test and at start-up).
    public static let storageCount = 110
    var storage = InlineArray<110, Double>(repeating: 0)

    public init() { precondition(Feature.count == Self.storageCount) }

    public subscript(_ f: Feature) -> Double {
        get { storage[f.rawValue] }
        set { storage[f.rawValue] = newValue }
    }

    public func value(at i: Int) -> Double { storage[i] }

    /// The values in schema order as one buffer (no copy per value: reading
    /// `record.features.value(at:)` in a loop copies the whole vector each time).
    public func withValues<R>(_ body: (UnsafeBufferPointer<Double>) throws -> R) rethrows -> R {
        try storage.span.withUnsafeBufferPointer { try body($0) }
    }

    /// The values in schema order.
    public var values: [Double] { (0..<Feature.count).map { storage[$0] } }
}
