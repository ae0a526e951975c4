/// EVE timestamps: UTC with microseconds and a colon-less offset,
/// `2026-11-22T02:38:35.123456+0000` (what Filebeat's Suricata module parses).
public enum EveTime {
    /// Appends the timestamp for `ns` nanoseconds since the Unix epoch.
    public static func append(ns: Int64, to out: inout [UInt8]) {
        var secs = ns / 1_000_000_000
        var rem = ns % 1_000_000_000
        if rem < 0 { rem += 1_000_000_000; secs -= 1 }
        let micros = rem / 1000
        var days = secs / 86_400
        var sod = secs % 86_400
        if sod < 0 { sod += 86_400; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        func two(_ v: Int64) { out.append(UInt8(48 + v / 10)); out.append(UInt8(48 + v % 10)) }
        let year = Int64(y)
        out.append(UInt8(48 + (year / 1000) % 10)); out.append(UInt8(48 + (year / 100) % 10))
        two(year % 100)
        out.append(UInt8(ascii: "-")); two(Int64(m)); out.append(UInt8(ascii: "-")); two(Int64(d))
        out.append(UInt8(ascii: "T"))
        two(sod / 3600); out.append(UInt8(ascii: ":")); two((sod / 60) % 60)
        out.append(UInt8(ascii: ":")); two(sod % 60)
        out.append(UInt8(ascii: "."))
        var digits = micros
        var buf = InlineArray<6, UInt8>(repeating: 48)
        for i in stride(from: 5, through: 0, by: -1) { buf[i] = UInt8(48 + digits % 10); digits /= 10 }
        for i in 0..<6 { out.append(buf[i]) }
        out.append(contentsOf: [UInt8(ascii: "+"), 48, 48, 48, 48])
    }

    public static func string(ns: Int64) -> String {
        var b = [UInt8](); append(ns: ns, to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
    static func civil(fromDays z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }
}
