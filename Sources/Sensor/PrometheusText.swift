/// Prometheus text exposition format 0.0.4, written by hand: one `# HELP`
/// and `# TYPE` line per family, then its samples. Counters are written from
/// the sensor's own running totals (never reset, so monotonic), which is
/// simpler than feeding a client library's increment-only counters deltas.
///
/// The caller keeps each family's samples together and gives counter
/// families names ending in `_total` (the format's convention, checked by
/// `promtool check metrics`).
package struct PrometheusText {
    package enum Kind: String { case counter, gauge, histogram }

    package private(set) var text = ""

    package init() {}

    /// Starts a family: its HELP and TYPE lines.
    package mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample line; labels in the order given.
    package mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        sampleLine(name, labels, Self.format(value))
    }

    package mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: UInt64) {
        sampleLine(name, labels, String(value))
    }

    package mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Int) {
        sampleLine(name, labels, String(value))
    }

    /// A family with one sample.
    package mutating func single(_ name: String, _ kind: Kind, _ help: String, _ labels: [(String, String)] = [],
                                 _ value: UInt64) {
        family(name, kind, help)
        sample(name, labels, value)
    }

    /// A histogram family from per-bucket counts (`counts[i]` observations
    /// at most `bounds[i]`, the last one above every bound), their sum.
    package mutating func histogram(_ name: String, _ help: String, _ labels: [(String, String)] = [],
                                    bounds: [Double], counts: [UInt64], sum: Double) {
        family(name, .histogram, help)
        var cumulative: UInt64 = 0
        for (i, bound) in bounds.enumerated() {
            cumulative &+= i < counts.count ? counts[i] : 0
            sample(name + "_bucket", labels + [("le", Self.format(bound))], cumulative)
        }
        let total = counts.reduce(0, &+)
        sample(name + "_bucket", labels + [("le", "+Inf")], total)
        sample(name + "_sum", labels, sum)
        sample(name + "_count", labels, total)
    }

    private mutating func sampleLine(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (i, (k, v)) in labels.enumerated() {
                if i > 0 { text += "," }
                text += k + "=\"" + Self.escapeLabelValue(v) + "\""
            }
            text += "}"
        }
        text += " " + value + "\n"
    }

    /// A float as the format expects it: Go's ParseFloat syntax, `+Inf`,
    /// `-Inf`, `NaN`.
    package static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    /// Label values escape backslash, double quote and line feed.
    package static func escapeLabelValue(_ s: String) -> String {
        guard s.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return s }
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    /// HELP text escapes backslash and line feed.
    package static func escapeHelp(_ s: String) -> String {
        guard s.contains(where: { $0 == "\\" || $0 == "\n" }) else { return s }
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
