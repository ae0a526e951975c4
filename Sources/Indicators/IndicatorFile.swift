import Decoding
#if canImport(Glibc)
import Glibc
#endif

/// A file of indicators that did not load: its bad lines (the first
/// `IndicatorLoadError.shown` of them, each with its line number and what
/// is wrong) and how many there were. A file with a bad line is refused
/// whole, as a config with a bad key is: the sensor never runs on half a feed.
public struct IndicatorLoadError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct BadLine: Sendable, Equatable {
        /// 1-based; 0 when the problem is the file itself.
        public var line: Int
        public var reason: String
    }
    public static let shown = 10
    public var file: String
    public var lines: [BadLine]
    public var badLines: Int

    public var description: String {
        var s = lines.map { b in b.line > 0 ? "\(file):\(b.line): \(b.reason)" : "\(file): \(b.reason)" }
            .joined(separator: "\n")
        if badLines > lines.count { s += "\n\(file): … and \(badLines - lines.count) more bad lines" }
        if lines.first?.line != 0 {
            s += "\n\(file): \(badLines) bad line\(badLines == 1 ? "" : "s"): the file is not loaded"
        }
        return s
    }
}

/// Reads Zeek Intel files (docs/indicators.md): a `#fields` header naming
/// tab-separated columns, of which `indicator`, `indicator_type` and
/// `meta.source` are required and `meta.severity` (1–3, `-` for the
/// default) is FlowSentry's; other columns (`meta.desc`, `meta.url`, …) are
/// read past. Other `#` lines are comments, empty lines are skipped, `-`
/// is an empty field, every value is compared lower-cased.
struct IndicatorFileParser {
    var builder: IndicatorBuilder

    private struct Columns {
        var count = 0
        var indicator = -1, type = -1, source = -1, severity = -1
    }

    /// Adds the indicators of `bytes` (the contents of `file`) to the
    /// builder, or throws with its bad lines (the builder is then not to be used).
    mutating func parse(_ bytes: [UInt8], file: String) throws(IndicatorLoadError) {
        var bad: [IndicatorLoadError.BadLine] = []
        var badCount = 0
        func fail(_ line: Int, _ reason: String) {
            badCount += 1
            if bad.count < IndicatorLoadError.shown { bad.append(.init(line: line, reason: reason)) }
        }
        var columns: Columns?
        var lineNumber = 0
        var fields: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { b in
            var start = 0
            while start < b.count {
                var end = start
                while end < b.count && b[end] != 10 { end += 1 }
                lineNumber += 1
                var stop = end
                if stop > start && b[stop - 1] == 13 { stop -= 1 }
                defer { start = end + 1 }
                if stop == start { continue }
                fields.removeAll(keepingCapacity: true)
                var f = start
                for i in start..<stop where b[i] == 9 { fields.append(f..<i); f = i + 1 }
                fields.append(f..<stop)
                if b[start] == UInt8(ascii: "#") {
                    let first = String(decoding: b[fields[0]], as: UTF8.self)
                    if first == "#fields" {
                        switch Self.columns(fields.dropFirst().map { String(decoding: b[$0], as: UTF8.self) }) {
                        case .success(let c): columns = c
                        case .failure(let why): fail(lineNumber, why.text); columns = nil
                        }
                    } else if first.hasPrefix("#fields") {
                        fail(lineNumber, "the #fields header must separate its names by tabs")
                    }
                    continue
                }
                guard let c = columns else {
                    fail(lineNumber, "an indicator before a good '#fields' header (e.g. '#fields<TAB>indicator<TAB>indicator_type<TAB>meta.source')")
                    continue
                }
                guard fields.count == c.count else {
                    fail(lineNumber, "\(fields.count) field\(fields.count == 1 ? "" : "s") where the #fields header names \(c.count) (fields are separated by one tab)")
                    continue
                }
                if let why = builder.add(indicator: UnsafeBufferPointer(rebasing: b[fields[c.indicator]]),
                                         type: UnsafeBufferPointer(rebasing: b[fields[c.type]]),
                                         source: UnsafeBufferPointer(rebasing: b[fields[c.source]]),
                                         severity: c.severity < 0 ? nil : UnsafeBufferPointer(rebasing: b[fields[c.severity]])) {
                    fail(lineNumber, why)
                }
            }
        }
        if badCount > 0 { throw IndicatorLoadError(file: file, lines: bad, badLines: badCount) }
    }

    private struct HeaderProblem: Error { var text: String }

    private static func columns(_ names: [String]) -> Result<Columns, HeaderProblem> {
        var c = Columns()
        c.count = names.count
        for (i, n) in names.enumerated() {
            switch n {
            case "indicator": c.indicator = i
            case "indicator_type": c.type = i
            case "meta.source": c.source = i
            case "meta.severity": c.severity = i
            default: break
            }
            if names[..<i].contains(n) { return .failure(HeaderProblem(text: "the #fields header names '\(n)' twice")) }
        }
        let missing = [("indicator", c.indicator), ("indicator_type", c.type), ("meta.source", c.source)]
            .filter { $0.1 < 0 }.map(\.0)
        if !missing.isEmpty {
            return .failure(HeaderProblem(text: "the #fields header lacks \(missing.joined(separator: ", ")) (fields named: \(names.joined(separator: " ")))"))
        }
        return .success(c)
    }
}

/// Reads a whole file as bytes; nil with errno set on failure.
func readFileBytes(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { return nil }
    if st.st_mode & S_IFMT == S_IFDIR { errno = EISDIR; return nil }
    var out = [UInt8]()
    out.reserveCapacity(Int(st.st_size) + 1)
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; return nil }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}
