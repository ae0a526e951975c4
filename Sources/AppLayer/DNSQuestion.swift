import Decoding

/// What the sensor keeps of a DNS query's first question (RFC 1035 §4.1):
/// its type, the shape of the name, and the registered domain it falls
/// under, in fixed memory (it lives in every flow's state). The name itself
/// is not kept: the behaviour table needs its registered domain (text, for
/// alerts) and a hash of the part below it (to count distinct subdomains).
public struct DNSQuestion: Sendable, Equatable {
    /// Longest registered domain kept as text; longer ones are cut and marked.
    public static let domainCapacity = 48

    public var present = false
    public var qtype: UInt16 = 0
    /// Presentation length of the whole name (no trailing dot) and its labels.
    public var nameLength: UInt8 = 0
    public var labels: UInt8 = 0
    public var longestLabel: UInt8 = 0
    /// Characters below the registered domain (dots left out), and their
    /// Shannon entropy in bits per character.
    public var subdomainLength: UInt8 = 0
    public var subdomainEntropy: Float = 0
    /// FNV-1a of the lower-cased registered domain and of the part below it.
    public var domainHash: UInt64 = 0
    public var subdomainHash: UInt64 = 0
    /// The registered domain, lower case (`domainLength` bytes; cut when `domainTruncated`).
    public var domain = InlineArray<48, UInt8>(repeating: 0)
    public var domainLength: UInt8 = 0
    public var domainTruncated = false
    /// Reverse look-ups (in-addr.arpa, ip6.arpa) and other infrastructure names under .arpa.
    public var isArpa = false
    /// A label starts with an underscore (RFC 8552's attribute leaves:
    /// _dmarc, _domainkey, _mta-sts, _acme-challenge, SRV service names):
    /// a protocol's own look-up, whatever its type.
    public var hasServiceLabel = false

    public init() {}

    public var domainText: String {
        var b: [UInt8] = []
        for i in 0..<Int(domainLength) { b.append(domain[i]) }
        return String(decoding: b, as: UTF8.self)
    }

    public static func == (l: DNSQuestion, r: DNSQuestion) -> Bool {
        guard l.present == r.present, l.qtype == r.qtype, l.nameLength == r.nameLength, l.labels == r.labels,
              l.longestLabel == r.longestLabel, l.subdomainLength == r.subdomainLength,
              l.subdomainEntropy == r.subdomainEntropy, l.domainHash == r.domainHash, l.subdomainHash == r.subdomainHash,
              l.domainLength == r.domainLength, l.domainTruncated == r.domainTruncated, l.isArpa == r.isArpa
        else { return false }
        for i in 0..<Int(l.domainLength) where l.domain[i] != r.domain[i] { return false }
        return true
    }

    /// TXT, NULL and ANY: the types DNS tunnels and C2 channels use to carry data back.
    public var isDataCarryingType: Bool { qtype == 16 || qtype == 10 || qtype == 255 }
}

/// Reads the first question of a DNS query message (not a response), with
/// every read bounds-checked: nil when the bytes are not a query with a
/// well-formed first question. Compression pointers (rare in questions) are
/// followed, at most 16 of them and only backwards.
public enum DNSQuestionParser {
    /// Second-level labels under which, with a two-letter country TLD, the
    /// registered domain takes three labels (co.uk, com.au, …). A fallback
    /// for the Public Suffix List (docs/features.md says where it errs).
    static let genericSecondLevel: Set<[UInt8]> = Set(["co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go",
                                                         "mil", "gob", "nic", "ltd", "plc"].map { Array($0.utf8) })

    public static func parse(_ b: ByteView, at start: Int, length: Int) -> DNSQuestion? {
        let end = start + length
        guard length >= 17, b.has(start, length), let flags = b.u16(start + 2), let qd = b.u16(start + 4) else { return nil }
        guard flags & 0x8000 == 0, (flags >> 11) & 0xF == 0, qd >= 1 else { return nil }  // QR = 0, OPCODE = QUERY
        // Labels, lower-cased, into a fixed buffer (≤ 255 bytes on the wire).
        var name = InlineArray<256, UInt8>(repeating: 0)
        var starts = InlineArray<128, UInt8>(repeating: 0)  // label start offsets in `name`
        var n = 0, labels = 0, longest = 0, jumps = 0
        var serviceLabel = false
        var p = start + 12, after = -1
        while true {
            guard p < end, let len = b.u8(p) else { return nil }
            if len & 0xC0 == 0xC0 {
                guard let lo = b.u8(p + 1), jumps < 16 else { return nil }
                let target = start + (Int(len & 0x3F) << 8 | Int(lo))
                guard target < p, target >= start + 12 else { return nil }
                if after < 0 { after = p + 2 }
                jumps += 1
                p = target
                continue
            }
            guard len & 0xC0 == 0 else { return nil }
            if len == 0 { if after < 0 { after = p + 1 }; break }
            let l = Int(len)
            guard p + 1 + l <= end, n + l + 1 <= 255, labels < 127 else { return nil }
            starts[labels] = UInt8(n)
            labels += 1
            if b.u8(p + 1) == UInt8(ascii: "_") { serviceLabel = true }
            for i in 0..<l {
                var c = b.u8(p + 1 + i) ?? 0
                if c >= 65 && c <= 90 { c += 32 }
                name[n] = c
                n += 1
            }
            name[n] = UInt8(ascii: ".")
            n += 1
            longest = max(longest, l)
            p += 1 + l
        }
        guard labels > 0, let qtype = b.u16(after), after + 4 <= end else { return nil }
        n -= 1  // the last dot
        var q = DNSQuestion()
        q.present = true
        q.qtype = qtype
        q.nameLength = UInt8(n)
        q.labels = UInt8(labels)
        q.longestLabel = UInt8(longest)
        q.hasServiceLabel = serviceLabel
        // The registered domain: the last two labels, three under a generic
        // second level of a two-letter country code.
        var regLabels = min(2, labels)
        if labels >= 3 {
            let tld = Int(starts[labels - 1]), sld = Int(starts[labels - 2])
            if n - tld == 2 {
                var second: [UInt8] = []
                for i in sld..<(tld - 1) { second.append(name[i]) }
                if genericSecondLevel.contains(second) { regLabels = 3 }
            }
        }
        let regStart = Int(starts[labels - regLabels])
        q.isArpa = n >= 4 && name[n - 4] == UInt8(ascii: "a") && name[n - 3] == UInt8(ascii: "r")
            && name[n - 2] == UInt8(ascii: "p") && name[n - 1] == UInt8(ascii: "a") && (n == 4 || name[n - 5] == UInt8(ascii: "."))
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in regStart..<n { h = (h ^ UInt64(name[i])) &* 0x100_0000_01B3 }
        q.domainHash = h
        let keep = min(n - regStart, DNSQuestion.domainCapacity)
        for i in 0..<keep { q.domain[i] = name[regStart + i] }
        q.domainLength = UInt8(keep)
        q.domainTruncated = keep < n - regStart
        // The subdomain: its characters' entropy and hash.
        var counts = InlineArray<256, UInt8>(repeating: 0)
        var sub = 0
        var sh: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<max(0, regStart - 1) {
            let c = name[i]
            sh = (sh ^ UInt64(c)) &* 0x100_0000_01B3
            if c == UInt8(ascii: ".") { continue }
            counts[Int(c)] &+= 1
            sub += 1
        }
        q.subdomainHash = regStart > 0 ? sh : 0
        q.subdomainLength = UInt8(sub)
        if sub > 0 {
            var e = 0.0
            let total = Double(sub)
            for c in 0..<256 where counts[c] > 0 {
                let pr = Double(counts[c]) / total
                e -= pr * log2(pr)
            }
            q.subdomainEntropy = Float(e)
        }
        return q
    }
}

#if canImport(Glibc)
import Glibc
#endif
