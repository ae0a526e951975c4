import AppLayer
import Decoding
import Flows

extension IndicatorSet {
    /// Most hits kept per flow (more are not reported).
    public static let hitsPerFlow = 32

    /// Looks up everything a finished flow carries that indicators name, in
    /// this order: src_ip and dest_ip against addresses and subnets; the DNS
    /// query name, HTTP Host, TLS SNI and the certificate's DNS names
    /// against domains (the SNI also against TLS_SNI); HTTP host + URL
    /// against URLs; JA3, JA4, the client's and server's HASSH and the
    /// certificate's SHA-1 against theirs; last a QUIC ClientHello's SNI,
    /// JA3 and JA4 as a TLS one's. `hits` is emptied first.
    /// Allocates nothing unless JA3, JA4, HASSH or CERT_HASH indicators are
    /// held (the flow's fingerprints are then computed for the lookup).
    public func match(_ r: FlowRecord, into hits: inout [IndicatorHit]) {
        match(src: r.srcIP, dst: r.dstIP, app: r.app, into: &hits)
    }

    /// `match(_:into:)` from the record's fields: the caller reads them in
    /// place (a record is ~1.3 KB; handing one over by value copies it).
    public func match(src: IPAddress, dst: IPAddress, app: AppLayerInfo?, into hits: inout [IndicatorHit]) {
        hits.removeAll(keepingCapacity: true)
        if addresses.count > 0 {
            matchAddress(src, .srcIP, &hits)
            matchAddress(dst, .destIP, &hits)
        }
        guard strings.count > 0, let app else { return }
        let domains = holds(.domain)
        if domains, let q = app.dns?.query {
            var name = q.rrname
            name.withUTF8 { n in
                let trimmed = n.last == UInt8(ascii: ".") ? UnsafeBufferPointer(rebasing: n.dropLast()) : n
                matchString(.domain, trimmed, .dnsQuery, &hits)
            }
        }
        if let http = app.http, let t = http.transactions.first {
            if domains, var host = t.hostname {
                host.withUTF8 { matchString(.domain, $0, .httpHostname, &hits) }
            }
            if holds(.url) { matchURL(t, &hits) }
        }
        if let tls = app.tls {
            if let hello = tls.clientHello { matchHello(hello, over: .tcp, domains: domains, &hits) }
            if let cert = tls.certificate {
                if domains {
                    for name in cert.subjectAltNames { matchText(.domain, name, .tlsSubjectAltName, &hits) }
                }
                if holds(.certHash), let f = cert.fingerprint {
                    matchText(.certHash, String(f.filter { $0 != ":" }), .tlsFingerprint, &hits)
                }
            }
        }
        if holds(.hassh), let ssh = app.ssh {
            if let h = ssh.hassh { matchText(.hassh, h, .sshClientHASSH, &hits) }
            if let h = ssh.hasshServer { matchText(.hassh, h, .sshServerHASSH, &hits) }
        }
        if let hello = app.quic?.clientHello { matchHello(hello, over: .quic, domains: domains, &hits) }
    }

    /// A ClientHello's SNI against domains and TLS_SNI, its JA3 and JA4
    /// against theirs; the hit names the field of the `tls` or the `quic`
    /// object that held the value (a QUIC JA4 starts with `q`).
    private func matchHello(_ hello: TLSClientHello, over: JA4Transport, domains: Bool, _ hits: inout [IndicatorHit]) {
        let quic = over == .quic
        if let sni = hello.serverName {
            sni.withUnsafeBufferPointer { s in
                if domains { matchString(.domain, s, quic ? .quicSNI : .tlsSNI, &hits) }
                if holds(.tlsSNI) { matchString(.tlsSNI, s, quic ? .quicSNI : .tlsSNI, &hits) }
            }
        }
        if holds(.ja3) { matchText(.ja3, hello.ja3Hash, quic ? .quicJA3 : .tlsJA3, &hits) }
        if holds(.ja4) { matchText(.ja4, hello.ja4(over), quic ? .quicJA4 : .tlsJA4, &hits) }
    }

    @inline(__always)
    private func add(_ hit: IndicatorHit, _ hits: inout [IndicatorHit]) {
        if hits.count < Self.hitsPerFlow { hits.append(hit) }
    }

    private func matchAddress(_ ip: IPAddress, _ at: IndicatorWhere, _ hits: inout [IndicatorHit]) {
        guard ip.version == 4 || ip.version == 6 else { return }
        let (h, l, _) = IndicatorBuilder.key(ip, prefix: nil)
        addresses.lookup(hi: h, lo: l, v4: ip.version == 4) { e in
            add(IndicatorHit(isAddress: true, entry: Int32(e), meta: addresses.meta[e], seenAt: at), &hits)
        }
    }

    private func matchString(_ kind: IndicatorKind, _ value: UnsafeBufferPointer<UInt8>, _ at: IndicatorWhere,
                             _ hits: inout [IndicatorHit], suffix: UnsafeBufferPointer<UInt8> = .init(start: nil, count: 0)) {
        strings.lookup(kind, value, suffix) { e in
            add(IndicatorHit(isAddress: false, entry: Int32(e), meta: strings.meta[e], seenAt: at), &hits)
        }
    }

    private func matchText(_ kind: IndicatorKind, _ text: String, _ at: IndicatorWhere, _ hits: inout [IndicatorHit]) {
        var t = text
        t.withUTF8 { matchString(kind, $0, at, &hits) }
    }

    /// Zeek's URL: host and path without scheme; a request-target in
    /// absolute form (through a proxy) carries its own host.
    private func matchURL(_ t: HTTPTransaction, _ hits: inout [IndicatorHit]) {
        var uri = t.uri
        uri.withUTF8 { u in
            for scheme in ["http://", "https://"] {
                let n = scheme.utf8.count
                if u.count > n && zip(u, scheme.utf8).allSatisfy({ IndicatorHash.lower($0) == $1 }) {
                    matchString(.url, UnsafeBufferPointer(rebasing: u[n...]), .httpURL, &hits)
                    return
                }
            }
            guard var host = t.hostname else { return }
            host.withUTF8 { h in matchString(.url, h, .httpURL, &hits, suffix: u) }
        }
    }
}
