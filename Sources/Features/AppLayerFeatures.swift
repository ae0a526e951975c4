import AppLayer

/// The application-layer model inputs (docs/features.md, "Application
/// layer"): what the parsers read of a flow's first bytes, as numbers.
/// Every value is 0 for a flow with no `app_proto`, and for the protocols a
/// flow is not.
public enum AppLayerFeatures {
    /// Sets the application-layer features of `v` from `app`; those of other
    /// protocols stay as they are (`FlowAccumulator.finish` zeroes them all).
    public static func fill(_ v: inout FeatureVector, from app: AppLayerInfo?) {
        guard let app else { return }
        func set(_ f: Feature, _ x: Double) { v.storage[f.rawValue] = x.isFinite ? x : 0 }
        switch app.proto {
        case .dns: set(.app_dns, 1)
        case .tls: set(.app_tls, 1)
        case .http: set(.app_http, 1)
        case .ssh: set(.app_ssh, 1)
        // The model inputs of a QUIC flow are what they were before the
        // sensor read QUIC (no parser recognised it): the shipped models
        // were fitted so, and the `quic` object is for the records only.
        case .quic, .failed: set(.app_failed, 1)
        }
        if let d = app.dns {
            set(.dns_qname_len, d.queryNameLength)
            set(.dns_qname_labels, d.queryLabelCount)
            set(.dns_qname_entropy, d.queryEntropy)
            set(.dns_qname_digit_share, d.queryDigitShare)
            set(.dns_qtype_class, d.queryTypeClass)
            set(.dns_answers, d.answerCount)
            set(.dns_min_ttl, d.minimumTTL)
            set(.dns_rcode, d.rcode)
        }
        if let h = app.http {
            set(.http_uri_len, h.uriLength)
            set(.http_uri_pct_share, h.uriPercentEncodedShare)
            set(.http_uri_quotes, h.uriQuoteCount)
            set(.http_uri_angles, h.uriAngleBracketCount)
            set(.http_uri_semicolons, h.uriSemicolonCount)
            set(.http_uri_traversals, h.uriTraversalCount)
            set(.http_uri_params, h.uriParameterCount)
            set(.http_status_class, h.statusClass)
            set(.http_requests, h.requestCountValue)
            set(.http_ua_len, h.userAgentLength)
            set(.http_method, h.methodCode)
        }
        if let t = app.tls {
            set(.tls_version, t.versionCode)
            set(.tls_ciphers, t.cipherCount)
            set(.tls_extensions, t.extensionCount)
            set(.tls_sni_present, t.sniPresent)
            set(.tls_sni_len, t.sniLength)
            set(.tls_sni_entropy, t.sniEntropy)
            set(.tls_cert_days, t.certificateValidityDays)
            set(.tls_cert_self_signed, t.certificateSelfSigned)
            set(.tls_heartbeats, t.heartbeatRecords)
            set(.tls_heartbeat_ratio, t.heartbeatRatio)
        }
        if let s = app.ssh {
            set(.ssh_client_known, s.clientSoftwareKnown)
            set(.ssh_banner_len, s.clientBannerLength)
        }
    }
}
