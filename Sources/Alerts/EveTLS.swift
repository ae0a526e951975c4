import AppLayer

extension TLSInfo {
    /// Writes the member `"tls": {…}` into the open object `j`, in the layout
    /// of Suricata's EVE `tls` object (extended fields; only those known):
    /// `version`, `sni`, `subject`, `issuerdn`, `serial`, `fingerprint`,
    /// `notbefore`, `notafter`, `subjectaltname`, `ja3 {hash, string}`,
    /// `ja3s {hash, string}`, `ja4`, `client_alpns`, `server_alpns`.
    /// FlowSentry adds (Suricata has no equivalent) the record counts per
    /// direction, and heartbeat sizes when heartbeats were seen.
    package func writeEve(_ j: inout JSONBuffer) {
        j.key("tls"); j.beginObject()
        j.key("version"); j.string(versionName)
        if let sni = clientHello?.sni { j.key("sni"); j.string(sni) }
        if let c = certificate {
            if let v = c.subject { j.key("subject"); j.string(v) }
            if let v = c.issuer { j.key("issuerdn"); j.string(v) }
            if let v = c.serial { j.key("serial"); j.string(v) }
            if let v = c.fingerprint { j.key("fingerprint"); j.string(v) }
            if let v = c.notBefore { j.key("notbefore"); j.string(v) }
            if let v = c.notAfter { j.key("notafter"); j.string(v) }
            if !c.subjectAltNames.isEmpty {
                j.key("subjectaltname"); j.beginArray()
                for name in c.subjectAltNames { j.string(name) }
                j.endArray()
            }
        }
        if let hello = clientHello {
            j.key("ja3"); j.beginObject()
            j.key("hash"); j.string(hello.ja3Hash)
            j.key("string"); j.string(hello.ja3String)
            j.endObject()
        }
        if let hello = serverHello {
            j.key("ja3s"); j.beginObject()
            j.key("hash"); j.string(hello.ja3sHash)
            j.key("string"); j.string(hello.ja3sString)
            j.endObject()
        }
        if let hello = clientHello { j.key("ja4"); j.string(hello.ja4) }
        if let names = clientHello?.alpnNames, !names.isEmpty {
            j.key("client_alpns"); j.beginArray()
            for name in names { j.string(name) }
            j.endArray()
        }
        if let chosen = serverHello?.alpn {
            j.key("server_alpns"); j.beginArray()
            j.string(String(decoding: chosen, as: UTF8.self))
            j.endArray()
        }
        j.key("records"); j.beginObject()
        j.key("client"); writeRecordCounts(clientRecords, &j)
        j.key("server"); writeRecordCounts(serverRecords, &j)
        j.endObject()
        if clientRecords.heartbeat + serverRecords.heartbeat > 0 {
            j.key("heartbeat"); j.beginObject()
            j.key("client_max_length"); j.int(clientRecords.heartbeatMaxLength)
            j.key("server_max_length"); j.int(serverRecords.heartbeatMaxLength)
            j.endObject()
        }
        j.endObject()
    }

    private func writeRecordCounts(_ r: TLSRecordCounts, _ j: inout JSONBuffer) {
        j.beginObject()
        j.key("handshake"); j.int(r.handshake)
        j.key("application_data"); j.int(r.applicationData)
        j.key("alert"); j.int(r.alert)
        j.key("change_cipher_spec"); j.int(r.changeCipherSpec)
        j.key("heartbeat"); j.int(r.heartbeat)
        j.endObject()
    }
}
