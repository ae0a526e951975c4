/// libpcap's messages about a capture file, said plainly: what is wrong with
/// the file (cut off, corrupt, not a capture), with the numbers kept and
/// libpcap's internal words ("dump file", "snaplen") left out. A message it
/// does not know is returned unchanged.
enum PcapErrorText {
    static func plain(_ message: String) -> String {
        var m = Substring(message)
        while let last = m.last, last == " " || last == "\n" { m = m.dropLast() }
        // "truncated dump file; tried to read 200 captured bytes, only got 60"
        if let r = numbers(after: "truncated dump file; tried to read ", in: m), r.count == 2 {
            let what = m.contains("file header") ? "the file header" : m.contains("header bytes") ? "the record header" : "the record"
            if r[1] == 0 && what == "the file header" { return "empty file, not a capture" }
            return "cut off: \(what) needs \(r[0]) bytes, only \(r[1]) left"
        }
        // "invalid packet capture length 4294967280, bigger than snaplen of 65535" (or "than maximum of …")
        if let r = numbers(after: "invalid packet capture length ", in: m), r.count == 2 {
            let limit = m.contains("snaplen") ? "the file's snapshot length" : "the largest packet libpcap reads,"
            return "corrupt record: captured length \(r[0]) is larger than \(limit) \(r[1])"
        }
        if m.hasPrefix("unknown file format") { return "not a pcap or pcapng file" }
        if m.hasSuffix("Is a directory") { return "is a directory, not a capture file" }
        if m.hasPrefix("error reading dump file: ") { return "cannot read: " + m.dropFirst("error reading dump file: ".count) }
        return String(m)
    }

    /// The decimal numbers in `text` after `prefix`, when it starts with it.
    private static func numbers(after prefix: String, in text: Substring) -> [UInt64]? {
        guard text.hasPrefix(prefix) else { return nil }
        var out: [UInt64] = []
        var current: UInt64?
        for c in text.dropFirst(prefix.count).utf8 {
            if c >= 48 && c <= 57 {
                current = (current ?? 0) &* 10 &+ UInt64(c - 48)
            } else if let v = current {
                out.append(v)
                current = nil
            }
        }
        if let v = current { out.append(v) }
        return out
    }
}
