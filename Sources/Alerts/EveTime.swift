/// EVE timestamps: UTC with microseconds and a colon-less offset,
/// `2026-11-22T02:38:35.123456+0000` (what Filebeat's Suricata module parses).
public enum EveTime {
    /// Appends the timestamp for `ns` nanoseconds since the Unix epoch.
    public static func append(ns: Int64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { b in
            write(ns: ns, into: b.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(b))
        }
    }

    /// Bytes of every timestamp.
    public static let length = 31

    /// Writes the `length`-byte timestamp for `ns` at `b`.
    public static func write(ns: Int64, into b: UnsafeMutablePointer<UInt8>) {
        var secs = ns / 1_000_000_000
        var rem = ns % 1_000_000_000
        if rem < 0 { rem += 1_000_000_000; secs -= 1 }
        let micros = rem / 1000
        var days = secs / 86_400
        var sod = secs % 86_400
        if sod < 0 { sod += 86_400; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        // "YYYY-MM-DDTHH:MM:SS.uuuuuu+0000"
        do {
            func two(_ at: Int, _ v: Int64) {
                b[at] = UInt8(truncatingIfNeeded: 48 + v / 10); b[at + 1] = UInt8(truncatingIfNeeded: 48 + v % 10)
            }
            let year = Int64(y)
            two(0, (year / 100) % 100); two(2, year % 100)
            b[4] = UInt8(ascii: "-"); two(5, Int64(m)); b[7] = UInt8(ascii: "-"); two(8, Int64(d))
            b[10] = UInt8(ascii: "T")
            two(11, sod / 3600); b[13] = UInt8(ascii: ":"); two(14, (sod / 60) % 60)
            b[16] = UInt8(ascii: ":"); two(17, sod % 60)
            b[19] = UInt8(ascii: ".")
            var digits = micros
            for i in stride(from: 25, through: 20, by: -1) {
                b[i] = UInt8(truncatingIfNeeded: 48 + digits % 10); digits /= 10
            }
            b[26] = UInt8(ascii: "+"); b[27] = 48; b[28] = 48; b[29] = 48; b[30] = 48
        }
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

extension RawJSONWriter {
    /// An EVE timestamp (without quotes).
    public mutating func eveTime(ns: Int64) {
        write { EveTime.write(ns: ns, into: $0); return EveTime.length }
    }
}
