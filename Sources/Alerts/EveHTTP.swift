import AppLayer

extension HTTPInfo {
    /// Writes the member `"http": {…}` into the object `j` has open, in
    /// Suricata's layout (`src/output-json-http.c`, basic then extended
    /// fields, in its order) from the first transaction: `hostname`,
    /// `http_port` (only when Host carried a port), `url`, `http_user_agent`,
    /// `http_content_type` (response, cut at `;`), `http_refer`,
    /// `http_method`, `protocol`, `status` (integer), `redirect` (Location)
    /// and `length`: response body bytes seen, de-chunked, as Suricata logs
    /// them — but only those within the server prefix FlowSentry keeps, so
    /// it is at most that prefix where Suricata counts the whole body.
    /// FlowSentry adds `"requests": n` when the client prefix held more
    /// than one request (keep-alive or pipelining; Suricata logs one event
    /// per transaction instead).
    package func writeEve(_ j: inout JSONBuffer) {
        guard let t = transactions.first else { return }
        j.key("http")
        j.beginObject()
        if let host = t.hostname { j.key("hostname"); j.string(host) }
        if let port = t.port { j.key("http_port"); j.int(port) }
        j.key("url"); j.string(t.uri)
        if let ua = t.userAgent { j.key("http_user_agent"); j.string(ua) }
        if let type = t.responseContentType { j.key("http_content_type"); j.string(type) }
        if let referer = t.referer { j.key("http_refer"); j.string(referer) }
        j.key("http_method"); j.string(t.method)
        if !t.protocolVersion.isEmpty { j.key("protocol"); j.string(t.protocolVersion) }
        if let status = t.status { j.key("status"); j.int(status) }
        if let location = t.location { j.key("redirect"); j.string(location) }
        j.key("length"); j.int(t.responseBodyBytes)
        if requestCount > 1 { j.key("requests"); j.int(requestCount) }
        j.endObject()
    }
}
