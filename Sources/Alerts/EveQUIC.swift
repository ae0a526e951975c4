import AppLayer

extension QUICInfo {
    /// Writes the member `"quic": {…}` into the open object `j`, in the
    /// layout of Suricata's EVE `quic` object (only the fields known):
    /// `version`, `sni`, `ja3 {hash, string}`, `ja4` (with `q`), and the
    /// ClientHello's ALPN names as `client_alpns`, named as in our `tls`
    /// object (Suricata lists them among `extensions`).
    package func writeEve(_ j: inout JSONBuffer) {
        j.key("quic"); j.beginObject()
        j.key("version"); j.string(versionName)
        if let hello = clientHello {
            if let sni = hello.sni { j.key("sni"); j.string(sni) }
            j.key("ja3"); j.beginObject()
            j.key("hash"); j.string(hello.ja3Hash)
            j.key("string"); j.string(hello.ja3String)
            j.endObject()
            j.key("ja4"); j.string(hello.ja4(.quic))
            let names = hello.alpnNames
            if !names.isEmpty {
                j.key("client_alpns"); j.beginArray()
                for name in names { j.string(name) }
                j.endArray()
            }
        }
        j.endObject()
    }
}
