#if canImport(Glibc)
import Glibc
#endif

/// Inputs that are read once, front to back: standard input (`-`), a pipe
/// (`/dev/stdin` under `cat x.pcap |`, `<(cat x.pcap)`'s `/dev/fd/63`), a
/// FIFO, a socket or a terminal. They cannot be peeked at and read again,
/// nor memory-mapped, so `PcapFileReader` hands them to libpcap as they are.
public enum CaptureStream {
    /// True for `-` and for any path that is not a regular file or a
    /// directory once symlinks are followed (`/dev/stdin` on a regular file
    /// is a regular file and is read as one).
    public static func isStream(_ path: String) -> Bool {
        if path == "-" { return true }
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let kind = st.st_mode & S_IFMT
        return kind != S_IFREG && kind != S_IFDIR
    }
}

/// The capture files of a directory given to `replay`, in the order their
/// traffic happened: by the timestamp of each file's first packet, then by
/// path. Packet time is what the flow table runs on, so this order lets a
/// flow continue from one file into the next whatever the files are called
/// (tcpdump `-C` names x, x1, x10, x2) and however they were copied (`cp`
/// and `scp` without `-p` give every file the copy's modification time).
/// Captures without packets come first.
public struct CaptureDirectory {
    /// The captures found, in replay order.
    public private(set) var files: [String] = []
    /// Files passed over: not a capture (no pcap or pcapng magic), or not a
    /// regular file. Names starting with "." are passed over silently
    /// (partial downloads, editor files).
    public private(set) var skipped: [String] = []

    /// Lists `path`, and its subdirectories with `recursive` (symlinks to
    /// directories are not followed, so a loop cannot form).
    public init(path: String, recursive: Bool) throws(CaptureError) {
        var found: [String] = []
        try Self.collect(path, recursive: recursive, into: &found, skipped: &skipped)
        var keyed: [(ts: Int64, path: String)] = []
        keyed.reserveCapacity(found.count)
        for f in found { keyed.append((Self.firstTimestamp(f), f)) }
        keyed.sort { $0.ts != $1.ts ? $0.ts < $1.ts : $0.path < $1.path }
        files = keyed.map(\.path)
    }

    /// The first packet's timestamp; a capture that is empty or cannot be
    /// read sorts first (Int64.min), where replay then reports its error.
    static func firstTimestamp(_ path: String) -> Int64 {
        guard let r = try? PcapFileReader(path: path), let p = try? r.next() else { return Int64.min }
        return p.timestampNs
    }

    private static func collect(_ dir: String, recursive: Bool, into found: inout [String],
                                skipped: inout [String]) throws(CaptureError) {
        guard let d = opendir(dir) else {
            throw .cannotOpen(path: dir, reason: "cannot list directory: " + String(cString: strerror(errno)))
        }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasPrefix(".") { continue }
            names.append(name)
        }
        names.sort()
        let prefix = dir.hasSuffix("/") ? dir : dir + "/"
        for name in names {
            let path = prefix + name
            var st = stat()
            guard lstat(path, &st) == 0 else { skipped.append(path); continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                if recursive { try collect(path, recursive: true, into: &found, skipped: &skipped) }
                continue
            }
            // A symlink to a file counts as that file.
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, hasCaptureMagic(path) else {
                if st.st_mode & S_IFMT != S_IFDIR { skipped.append(path) }
                continue
            }
            found.append(path)
        }
    }

    /// The first four bytes are a classic pcap magic (either byte order,
    /// micro- or nanosecond) or a pcapng section header.
    static func hasCaptureMagic(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var magic: UInt32 = 0
        guard read(fd, &magic, 4) == 4 else { return false }
        let known: [UInt32] = [0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1, 0x0A0D_0D0A]
        return known.contains(magic)
    }
}
