import AppLayer

/// A flow's DNS as Suricata's EVE `dns` object, version 3
/// (`rust/src/dns/log.rs`, "detailed" answers). A flow record holds both
/// directions, so the object describes the response when there is one
/// (else the query): `type`, `id`, `flags` (lower-case hex), the header
/// booleans only when set, `opcode`, `rcode` (name), `queries`, `answers`
/// and `authorities`. Not written: Suricata's `tx_id` (there are no
/// transactions here), `additionals` (only counted), `grouped`.
extension DNSInfo {
    /// Writes the member `"dns": {…}` into the open object `j`.
    package func writeEve(_ j: inout JSONBuffer) {
        guard let m = response ?? request else { return }
        j.key("dns"); j.beginObject()
        j.key("version"); j.int(3)
        j.key("type"); j.string(response != nil ? "response" : "request")
        j.key("id"); j.int(m.id)
        j.key("flags"); j.string(String(m.flags, radix: 16))
        if m.qr { j.key("qr"); j.bool(true) }
        if m.aa { j.key("aa"); j.bool(true) }
        if m.tc { j.key("tc"); j.bool(true) }
        if m.rd { j.key("rd"); j.bool(true) }
        if m.ra { j.key("ra"); j.bool(true) }
        if m.z { j.key("z"); j.bool(true) }
        j.key("opcode"); j.int(m.opcode)
        j.key("rcode"); j.string(DNSMessage.rcodeName(m.rcode))
        if !m.questions.isEmpty {
            j.key("queries"); j.beginArray()
            for q in m.questions {
                j.beginObject()
                j.key("rrname"); j.string(q.rrname)
                j.key("rrtype"); j.string(DNSMessage.typeName(q.rrtype))
                if q.rrnameTruncated { j.key("rrname_truncated"); j.bool(true) }
                j.endObject()
            }
            j.endArray()
        }
        if !m.answers.isEmpty {
            j.key("answers"); j.beginArray()
            for r in m.answers { Self.writeRecord(r, &j) }
            j.endArray()
        }
        if !m.authorities.isEmpty {
            j.key("authorities"); j.beginArray()
            for r in m.authorities { Self.writeRecord(r, &j) }
            j.endArray()
        }
        j.endObject()
    }

    /// One record as answer objects: one per TXT character-string (as
    /// Suricata logs them), else exactly one.
    static func writeRecord(_ r: DNSMessage.Record, _ j: inout JSONBuffer) {
        if r.txt.isEmpty {
            writeRecordObject(r, txt: nil, &j)
        } else {
            for s in r.txt { writeRecordObject(r, txt: s, &j) }
        }
    }

    static func writeRecordObject(_ r: DNSMessage.Record, txt: String?, _ j: inout JSONBuffer) {
        j.beginObject()
        j.key("rrname"); j.string(r.rrname)
        if r.rrnameTruncated { j.key("rrname_truncated"); j.bool(true) }
        j.key("rrtype"); j.string(DNSMessage.typeName(r.rrtype))
        j.key("ttl"); j.int(r.ttl)
        if let text = txt ?? r.rdata { j.key("rdata"); j.string(text) }
        if r.rdataTruncated { j.key("rdata_truncated"); j.bool(true) }
        if let soa = r.soa {
            j.key("soa"); j.beginObject()
            j.key("mname"); j.string(soa.mname)
            if soa.mnameTruncated { j.key("mname_truncated"); j.bool(true) }
            j.key("rname"); j.string(soa.rname)
            if soa.rnameTruncated { j.key("rname_truncated"); j.bool(true) }
            j.key("serial"); j.int(soa.serial)
            j.key("refresh"); j.int(soa.refresh)
            j.key("retry"); j.int(soa.retry)
            j.key("expire"); j.int(soa.expire)
            j.key("minimum"); j.int(soa.minimum)
            j.endObject()
        }
        if let srv = r.srv {
            j.key("srv"); j.beginObject()
            j.key("priority"); j.int(srv.priority)
            j.key("weight"); j.int(srv.weight)
            j.key("port"); j.int(srv.port)
            j.key("name"); j.string(srv.target)
            j.endObject()
        }
        if let fp = r.sshfp {
            j.key("sshfp"); j.beginObject()
            j.key("fingerprint"); j.string(fp.fingerprint)
            j.key("algo"); j.int(fp.algorithm)
            j.key("type"); j.int(fp.fingerprintType)
            j.endObject()
        }
        j.endObject()
    }
}
