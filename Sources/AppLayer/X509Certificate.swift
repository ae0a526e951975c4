import Decoding

/// What the sensor keeps of a certificate, in the text forms Suricata's EVE
/// `tls` object uses. Fields that could not be read (the DER was cut, or
/// broken) are nil.
public struct X509Summary: Sendable, Equatable {
    /// Most subjectAltName DNS names kept.
    public static let subjectAltNameCapacity = 128
    /// Longest subject or issuer text kept, in bytes, and most attributes read of one.
    public static let nameCapacity = 1024
    public static let nameAttributeCapacity = 64
    /// Most serial number bytes shown (RFC 5280 allows 20).
    public static let serialCapacity = 64

    /// Subject and issuer as `C=US, O=Example, CN=example.com`.
    public var subject: String?
    public var issuer: String?
    /// Serial number bytes as upper-case hex pairs joined by `:`.
    public var serial: String?
    /// Validity bounds as `YYYY-MM-DDTHH:MM:SS` (UTC) and as seconds since the epoch.
    public var notBefore: String?
    public var notAfter: String?
    public var notBeforeEpoch: Int64?
    public var notAfterEpoch: Int64?
    /// subjectAltName dNSName entries in order.
    public var subjectAltNames: [String] = []
    /// The whole DER when it was all there (for the SHA-1 fingerprint), else empty.
    public var der: [UInt8] = []
    /// The DER ended before the certificate did: the fields are what was readable.
    public var truncated = false
    /// `tls.certificate_der` when the encoding is broken (first problem only).
    public var malformed: String?

    public init() {}
}

/// Reads an X.509 certificate (RFC 5280 §4.1) far enough for the EVE fields:
/// serial, issuer, validity, subject and the subjectAltName extension. Every
/// read is bounds-checked; a certificate cut short gives what precedes the cut.
public enum X509Certificate {
    /// nil when `der` does not start with a DER SEQUENCE header.
    public static func parse(der: ByteView) -> X509Summary? {
        var reader = DERReader(der)
        guard let cert = reader.element(at: 0, end: Int.max), cert.tag == DERTag.sequence else { return nil }
        var s = X509Summary()
        s.truncated = cert.end > der.count
        if !s.truncated && cert.end < der.count { s.malformed = "tls.certificate_der" }  // bytes after the certificate
        guard let tbs = reader.element(at: cert.start, end: cert.end), tbs.tag == DERTag.sequence else {
            return finish(s, reader: reader, der: der, end: cert.end)
        }
        readTBS(tbs, into: &s, reader: &reader)
        return finish(s, reader: reader, der: der, end: cert.end)
    }

    static func finish(_ summary: X509Summary, reader: DERReader, der: ByteView, end: Int) -> X509Summary {
        var s = summary
        if reader.cut { s.truncated = true }
        if s.malformed == nil && reader.broken { s.malformed = "tls.certificate_der" }
        if !s.truncated {
            der.withBytes(from: 0, length: end) { s.der = Array($0) }
        }
        return s
    }

    /// TBSCertificate: [0] version, serial, signature, issuer, validity, subject, spki, [1], [2], [3] extensions.
    static func readTBS(_ tbs: DERElement, into s: inout X509Summary, reader: inout DERReader) {
        let end = tbs.end
        guard var e = reader.element(at: tbs.start, end: end) else { return }
        if e.tag == 0xA0 {  // explicit version
            guard let next = reader.element(at: e.end, end: end) else { return }
            e = next
        }
        guard e.tag == DERTag.integer, let serialBytes = reader.content(e) else { reader.fail(); return }
        s.serial = hexPairs(serialBytes.prefix(X509Summary.serialCapacity), upper: true)
        guard let signature = reader.element(at: e.end, end: end),
              let issuer = reader.element(at: signature.end, end: end) else { return }
        guard issuer.tag == DERTag.sequence else { reader.fail(); return }
        s.issuer = readName(issuer, reader: &reader)
        guard let validity = reader.element(at: issuer.end, end: end) else { return }
        guard validity.tag == DERTag.sequence else { reader.fail(); return }
        if let nb = reader.element(at: validity.start, end: validity.end), let t = readTime(nb, reader: &reader) {
            s.notBefore = t.text; s.notBeforeEpoch = t.epoch
            if let na = reader.element(at: nb.end, end: validity.end), let t = readTime(na, reader: &reader) {
                s.notAfter = t.text; s.notAfterEpoch = t.epoch
            }
        }
        guard let subject = reader.element(at: validity.end, end: end) else { return }
        guard subject.tag == DERTag.sequence else { reader.fail(); return }
        s.subject = readName(subject, reader: &reader)
        // Skip the public key and the unique ids to the extensions ([3]).
        var p = subject.end
        var steps = 0
        while p < end, steps < 4, let x = reader.element(at: p, end: end) {
            steps += 1
            if x.tag == 0xA3 {
                readExtensions(x, into: &s, reader: &reader)
                return
            }
            p = x.end
        }
    }

    /// Extensions: [3] { SEQUENCE OF Extension { OID, BOOLEAN critical DEFAULT FALSE, OCTET STRING } }.
    static func readExtensions(_ wrapper: DERElement, into s: inout X509Summary, reader: inout DERReader) {
        guard let list = reader.element(at: wrapper.start, end: wrapper.end), list.tag == DERTag.sequence else {
            reader.fail()
            return
        }
        var p = list.start
        var count = 0
        while p < min(list.end, reader.view.count), count < 256 {
            guard let ext = reader.element(at: p, end: list.end), ext.tag == DERTag.sequence else {
                reader.fail()
                return
            }
            count += 1
            p = ext.end
            guard let oid = reader.element(at: ext.start, end: ext.end), oid.tag == DERTag.oid,
                  let oidBytes = reader.content(oid) else { continue }
            guard oidBytes == [0x55, 0x1D, 0x11] else { continue }  // 2.5.29.17 subjectAltName
            guard var value = reader.element(at: oid.end, end: ext.end) else { return }
            if value.tag == DERTag.boolean {
                guard let v = reader.element(at: value.end, end: ext.end) else { return }
                value = v
            }
            guard value.tag == DERTag.octetString,
                  let names = reader.element(at: value.start, end: value.end), names.tag == DERTag.sequence else {
                reader.fail()
                return
            }
            var q = names.start
            while q < min(names.end, reader.view.count), let name = reader.element(at: q, end: names.end) {
                q = name.end
                guard name.tag == 0x82 else { continue }  // [2] dNSName (IA5String)
                guard let bytes = reader.content(name) else { break }
                if s.subjectAltNames.count < X509Summary.subjectAltNameCapacity {
                    s.subjectAltNames.append(String(decoding: bytes.prefix(255), as: UTF8.self))
                }
            }
            return
        }
    }

    // MARK: Names

    /// A Name (SEQUENCE OF RDN SET OF {OID, value}) as x509-parser (and so
    /// Suricata) prints it: RDNs joined by ", ", the values of a multi-valued
    /// RDN by " + ". nil when the name is cut or broken.
    static func readName(_ name: DERElement, reader: inout DERReader) -> String? {
        guard name.end <= reader.view.count else { reader.cut = true; return nil }
        var out: [UInt8] = []
        var p = name.start
        var attributes = 0
        names: while p < name.end {
            guard let rdn = reader.element(at: p, end: name.end), rdn.tag == DERTag.set else {
                reader.broken = true
                return nil
            }
            p = rdn.end
            var q = rdn.start
            var inSet = 0
            while q < rdn.end {
                guard let atv = reader.element(at: q, end: rdn.end), atv.tag == DERTag.sequence,
                      let oid = reader.element(at: atv.start, end: atv.end), oid.tag == DERTag.oid,
                      let oidBytes = reader.content(oid),
                      let value = reader.element(at: oid.end, end: atv.end), let valueBytes = reader.content(value)
                else {
                    reader.broken = true
                    return nil
                }
                q = atv.end
                if !out.isEmpty { out += inSet == 0 ? [44, 32] : [32, 43, 32] }  // ", " or " + "
                inSet += 1
                out += Array(attributeName(oidBytes).utf8)
                out.append(61)  // "="
                out += attributeValue(tag: value.tag, valueBytes)
                attributes += 1
                // Enough for any real name; the rest is left out rather than read.
                if out.count >= X509Summary.nameCapacity || attributes >= X509Summary.nameAttributeCapacity { break names }
            }
        }
        return String(decoding: out.prefix(X509Summary.nameCapacity), as: UTF8.self)
    }

    /// x509-parser's abbreviations (CN, C, L, ST, O, OU, DC, Email), then the
    /// oid-registry short names of other X.520 attributes; else `OID(dotted)`.
    static func attributeName(_ oid: [UInt8]) -> String {
        if oid.count == 3 && oid[0] == 0x55 && oid[1] == 0x04 {  // 2.5.4.x
            switch oid[2] {
            case 3: return "CN"
            case 4: return "surname"
            case 5: return "serialNumber"
            case 6: return "C"
            case 7: return "L"
            case 8: return "ST"
            case 9: return "streetAddress"
            case 10: return "O"
            case 11: return "OU"
            case 12: return "title"
            case 13: return "description"
            case 15: return "businessCategory"
            case 17: return "postalCode"
            case 42: return "givenName"
            default: break
            }
        }
        if oid == [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x01] { return "Email" }  // 1.2.840.113549.1.9.1
        if oid == [0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x19] { return "DC" }  // 0.9.2342.19200300.100.1.25
        return "OID(" + dottedOID(oid) + ")"
    }

    /// An OID's arcs as dotted decimal; "?" for an arc too long to be real.
    static func dottedOID(_ bytes: [UInt8]) -> String {
        var arcs: [UInt64] = []
        var v: UInt64 = 0
        var digits = 0
        for b in bytes {
            guard digits < 9 else { return "?" }
            v = v << 7 | UInt64(b & 0x7F)
            digits += 1
            if b & 0x80 == 0 {
                if arcs.isEmpty {
                    let first: UInt64 = v < 40 ? 0 : (v < 80 ? 1 : 2)
                    arcs.append(first)
                    arcs.append(v - first * 40)
                } else {
                    arcs.append(v)
                }
                v = 0
                digits = 0
            }
        }
        return arcs.map { String($0) }.joined(separator: ".")
    }

    /// A directory string's text as UTF-8; BMPString (UTF-16) and
    /// UniversalString (UTF-32) converted; anything else as upper-case hex.
    static func attributeValue(tag: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        switch tag {
        case 0x0C, 0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1A, 0x1B:  // UTF8, Numeric, Printable, T61, Videotex, IA5, Graphic, Visible, General
            return bytes
        case 0x1E:  // BMPString
            var units: [UInt16] = []
            var i = 0
            while i + 1 < bytes.count { units.append(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])); i += 2 }
            return Array(String(decoding: units, as: UTF16.self).utf8)
        case 0x1C:  // UniversalString
            var text = ""
            var i = 0
            while i + 3 < bytes.count {
                let v = UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
                text.unicodeScalars.append(Unicode.Scalar(v) ?? "\u{FFFD}")
                i += 4
            }
            return Array(text.utf8)
        default:
            return Array(hexPairs(bytes, upper: true, separator: false).utf8)
        }
    }

    // MARK: Times

    /// UTCTime (YYMMDDHHMMSSZ, YY ≥ 50 → 19YY) or GeneralizedTime (YYYYMMDDHHMMSSZ).
    static func readTime(_ e: DERElement, reader: inout DERReader) -> (text: String, epoch: Int64)? {
        guard let b = reader.content(e) else { return nil }
        var digits: [Int] = []
        for c in b.dropLast() {
            guard c >= 48 && c <= 57 else { reader.broken = true; return nil }
            digits.append(Int(c) - 48)
        }
        func two(_ i: Int) -> Int { digits[i] * 10 + digits[i + 1] }
        let year: Int, rest: Int
        switch (e.tag, b.count, b.last) {
        case (DERTag.utcTime, 13, 0x5A):
            let yy = two(0)
            year = yy >= 50 ? 1900 + yy : 2000 + yy
            rest = 2
        case (DERTag.generalizedTime, 15, 0x5A):
            year = two(0) * 100 + two(2)
            rest = 4
        default:
            reader.broken = true
            return nil
        }
        let month = two(rest), day = two(rest + 2), hour = two(rest + 4), minute = two(rest + 6), second = two(rest + 8)
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else {
            reader.broken = true
            return nil
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let epoch = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        return (text, epoch)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func hexPairs<C: Collection>(_ bytes: C, upper: Bool, separator: Bool = true) -> String where C.Element == UInt8 {
        let digits = Array((upper ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3)
        for b in bytes {
            if separator && !out.isEmpty { out.append(58) }  // ":"
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// DER universal tags used here.
enum DERTag {
    static let boolean: UInt8 = 0x01
    static let integer: UInt8 = 0x02
    static let octetString: UInt8 = 0x04
    static let oid: UInt8 = 0x06
    static let utcTime: UInt8 = 0x17
    static let generalizedTime: UInt8 = 0x18
    static let sequence: UInt8 = 0x30
    static let set: UInt8 = 0x31
}

/// A DER element's tag and where its content lies. `end` may lie past the
/// available bytes when the input was cut.
struct DERElement {
    var tag: UInt8
    var start: Int
    var end: Int
}

/// Reads DER tag-length headers (single-byte tags, definite lengths of at
/// most 4 bytes) over a view, noting whether the input ran out (`cut`) or
/// broke the encoding rules (`broken`).
struct DERReader {
    let view: ByteView
    var cut = false
    var broken = false

    init(_ view: ByteView) { self.view = view }

    /// Notes a structural problem unless the input already ran out (then the cut explains it).
    mutating func fail() { if !cut { broken = true } }

    /// The element whose header starts at `p`, which must lie inside its parent (ending at `end`).
    /// nil when the header is cut (sets `cut`), invalid or outside the parent (sets `broken`).
    mutating func element(at p: Int, end: Int) -> DERElement? {
        guard p < end else { fail(); return nil }
        guard let tag = view.u8(p), let first = view.u8(p + 1) else { cut = true; return nil }
        guard tag & 0x1F != 0x1F else { broken = true; return nil }  // multi-byte tags: not in certificates
        var length = Int(first)
        var start = p + 2
        if first & 0x80 != 0 {
            let n = Int(first & 0x7F)
            guard n >= 1 && n <= 4 else { broken = true; return nil }  // indefinite or absurd
            length = 0
            for i in 0..<n {
                guard let b = view.u8(p + 2 + i) else { cut = true; return nil }
                length = length << 8 | Int(b)
            }
            start += n
        }
        guard start + length <= end else { broken = true; return nil }  // longer than its parent
        return DERElement(tag: tag, start: start, end: start + length)
    }

    /// The element's content bytes; nil (and `cut`) when they run past the input.
    mutating func content(_ e: DERElement) -> [UInt8]? {
        guard e.end <= view.count else { cut = true; return nil }
        guard e.end > e.start else { return [] }
        return view.withBytes(from: e.start, length: e.end - e.start) { Array($0) }
    }
}
