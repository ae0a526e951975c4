#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var watchStopPipeWriteFD: Int32 = -1

/// `replay --watch DIR`: the captures that appear in a directory, one at a
/// time, each once it is complete, until SIGTERM or SIGINT, as Suricata's
/// continuous pcap-file mode. An iterator: `next()` blocks until a capture
/// is ready and returns its path, or returns nil once a stop signal came
/// (the caller then ends its flows and flushes, as at the end of input).
///
/// A capture is complete when it was closed after its last write (inotify
/// IN_CLOSE_WRITE) or moved in whole (IN_MOVED_TO), or — for writers that
/// close and reopen, and for files present at start — when its size and
/// modification time have not changed for `settleSeconds`. Captures ready
/// at the same time are taken in the order of their first packets (then
/// by name). Names starting with "." are passed over (partial downloads,
/// the state file); files without a pcap or pcapng magic are passed over
/// once complete, and said.
///
/// What has been read is kept in the state file, one line per capture:
/// `size<TAB>mtime-ns<TAB>name`, rewritten whole (temporary file, fsync,
/// rename) after each capture, so a restart takes only new captures (a
/// name written again with a different size or time counts as new).
public final class CaptureWatch: IteratorProtocol, Sequence {
    public let directory: String
    public let statePath: String
    public let settleSeconds: Double
    /// Called for a file passed over (not a capture) and for state-file
    /// write failures; the watch goes on.
    public var onNotice: (String) -> Void = { _ in }
    /// Called once each time the watch is about to wait for a capture (the
    /// reader hands over and flushes what it has read so far).
    public var beforeWaiting: () -> Void = {}
    /// Captures returned so far in this run.
    public private(set) var taken = 0

    private struct Candidate {
        var size: Int64
        var mtimeNs: Int64
        /// Monotonic seconds when size or mtime was last seen to change.
        var changedAt: Double
        /// Closed (or moved in) since the last change seen.
        var closed: Bool
    }

    private var candidates: [String: Candidate] = [:]
    /// name -> "size\tmtime" of the captures read (this run and earlier ones).
    private var processed: [String: String] = [:]
    private var processedOrder: [String] = []
    private var ready: [String] = []
    private let inotifyFD: Int32
    private let stopReadFD: Int32
    private var stopped = false
    private var previous: String?

    /// Opens the watch; fails when the directory cannot be watched or the
    /// state file exists but cannot be read. SIGTERM and SIGINT end `next()`
    /// from the moment this returns.
    public init(directory: String, statePath: String? = nil, settleSeconds: Double = 5) throws(CaptureError) {
        self.directory = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        self.statePath = statePath ?? self.directory + "/.flowsentry-processed"
        self.settleSeconds = Swift.max(0, settleSeconds)
        var st = stat()
        guard stat(directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw .cannotOpen(path: directory, reason: "--watch needs a directory")
        }
        inotifyFD = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if inotifyFD >= 0 {
            let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY | IN_CREATE)
            if inotify_add_watch(inotifyFD, directory, mask) < 0 {
                close(inotifyFD)
                throw .cannotOpen(path: directory, reason: "cannot watch: " + String(cString: strerror(errno)))
            }
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            throw .cannotOpen(path: directory, reason: "cannot create the stop pipe: " + String(cString: strerror(errno)))
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        stopReadFD = fds[0]
        watchStopPipeWriteFD = fds[1]
        try loadState()
        for s in [SIGTERM, SIGINT] {
            var sa = sigaction()
            sa.__sigaction_handler.sa_handler = { _ in
                let saved = errno
                var b: UInt8 = 1
                _ = write(watchStopPipeWriteFD, &b, 1)
                errno = saved
            }
            sa.sa_flags = SA_RESTART
            sigemptyset(&sa.sa_mask)
            sigaction(s, &sa, nil)
        }
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    deinit {
        if inotifyFD >= 0 { close(inotifyFD) }
        close(stopReadFD)
    }

    /// The captures read in earlier runs and this one, by name.
    public var processedNames: [String] { processedOrder }

    /// The next complete capture (the one returned before is recorded as
    /// read first), or nil after SIGTERM/SIGINT.
    public func next() -> String? {
        if let p = previous {
            markProcessed(p)
            previous = nil
        }
        var waited = false
        while !stopped {
            if ready.isEmpty { scan() }
            if !ready.isEmpty {
                let name = ready.removeFirst()
                candidates[name] = nil
                let path = directory + "/" + name
                guard CaptureDirectory.hasCaptureMagic(path) else {
                    onNotice("\(path): not a pcap or pcapng capture; passed over")
                    markProcessed(name)
                    continue
                }
                previous = name
                taken += 1
                return path
            }
            if !waited { beforeWaiting(); waited = true }
            waitForEvents()
        }
        return nil
    }

    /// Blocks until a directory event, a stop signal or the next settle check.
    private func waitForEvents() {
        var pfds = [pollfd(fd: stopReadFD, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: inotifyFD, events: Int16(POLLIN), revents: 0)]
        // Without inotify, or with files still settling, look again soon.
        let timeoutMs: Int32 = inotifyFD < 0 || !candidates.isEmpty
            ? Int32(Swift.max(50, Swift.min(1000, settleSeconds * 250))) : 1000
        let n = poll(&pfds, inotifyFD >= 0 ? 2 : 1, timeoutMs)
        if n > 0 && pfds[0].revents & Int16(POLLIN) != 0 { stopped = true }
        if n > 0 && inotifyFD >= 0 && pfds[1].revents & Int16(POLLIN) != 0 { readEvents() }
    }

    private func readEvents() {
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let got = buf.withUnsafeMutableBytes { read(inotifyFD, $0.baseAddress, $0.count) }
            guard got > 0 else { return }
            var off = 0
            buf.withUnsafeBytes { raw in
                while off + MemoryLayout<inotify_event>.size <= got {
                    let mask = raw.loadUnaligned(fromByteOffset: off + 4, as: UInt32.self)
                    let len = Int(raw.loadUnaligned(fromByteOffset: off + 12, as: UInt32.self))
                    let nameStart = off + MemoryLayout<inotify_event>.size
                    let nameBytes = raw[nameStart..<Swift.min(nameStart + len, got)].prefix { $0 != 0 }
                    let name = String(decoding: nameBytes, as: UTF8.self)
                    off = nameStart + len
                    guard !name.isEmpty, !name.hasPrefix(".") else { continue }
                    if mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
                        // The stat that follows records the closed size and time.
                        refresh(name, closed: true)
                    } else {
                        refresh(name, closed: false)
                    }
                }
            }
        }
    }

    /// Lists the directory, updates what is settling, and queues what is complete.
    private func scan() {
        guard let d = opendir(directory) else { return }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        closedir(d)
        for name in names where candidates[name] == nil { refresh(name, closed: false) }
        let now = monotonic()
        var due: [String] = []
        for (name, c) in candidates where c.closed || now - c.changedAt >= settleSeconds { due.append(name) }
        guard !due.isEmpty else { return }
        var keyed = due.map { (ts: CaptureDirectory.firstTimestamp(directory + "/" + $0), name: $0) }
        keyed.sort { $0.ts != $1.ts ? $0.ts < $1.ts : $0.name < $1.name }
        ready = keyed.map(\.name)
    }

    /// Notes `name`'s size and time: a change restarts its settle time; a
    /// file already read with this size and time is left alone.
    private func refresh(_ name: String, closed: Bool) {
        var st = stat()
        let path = directory + "/" + name
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { candidates[name] = nil; return }
        let size = Int64(st.st_size)
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        if processed[name] == Self.identity(size: size, mtimeNs: mtime) { candidates[name] = nil; return }
        let now = monotonic()
        if var c = candidates[name] {
            if c.size != size || c.mtimeNs != mtime {
                c.size = size; c.mtimeNs = mtime; c.changedAt = now; c.closed = closed
            } else if closed {
                c.closed = true
            }
            candidates[name] = c
        } else {
            // First sight: the file's own age counts towards its settle time.
            var rt = timespec()
            clock_gettime(CLOCK_REALTIME, &rt)
            let age = Double(Int64(rt.tv_sec) * 1_000_000_000 + Int64(rt.tv_nsec) - mtime) * 1e-9
            candidates[name] = Candidate(size: size, mtimeNs: mtime, changedAt: now - Swift.max(0, age), closed: closed)
        }
    }

    private static func identity(size: Int64, mtimeNs: Int64) -> String { "\(size)\t\(mtimeNs)" }

    private func markProcessed(_ name: String) {
        var st = stat()
        let path = directory + "/" + name
        let id = stat(path, &st) == 0
            ? Self.identity(size: Int64(st.st_size), mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
            : "0\t0"
        if processed[name] == nil { processedOrder.append(name) }
        processed[name] = id
        saveState()
    }

    private func loadState() throws(CaptureError) {
        let fd = open(statePath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return }
            throw .cannotOpen(path: statePath, reason: "cannot read the watch state: " + String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            lineNumber += 1
            let fields = line.split(separator: UInt8(ascii: "\t"), maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, Int64(String(decoding: fields[0], as: UTF8.self)) != nil,
                  Int64(String(decoding: fields[1], as: UTF8.self)) != nil else {
                throw .cannotOpen(path: statePath, reason: "line \(lineNumber): expected size<TAB>mtime-ns<TAB>name")
            }
            let name = String(decoding: fields[2], as: UTF8.self)
            if processed[name] == nil { processedOrder.append(name) }
            processed[name] = String(decoding: fields[0], as: UTF8.self) + "\t" + String(decoding: fields[1], as: UTF8.self)
        }
    }

    /// Writes the whole state to a temporary file beside it, syncs it and
    /// renames it over the old one: a crash leaves the old or the new state.
    private func saveState() {
        var text = ""
        for name in processedOrder { text += processed[name]! + "\t" + name + "\n" }
        let tmp = statePath + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { onNotice("\(tmp): cannot write the watch state: \(String(cString: strerror(errno)))"); return }
        var ok = true
        text.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = write(fd, buf.baseAddress! + off, buf.count - off)
                if n <= 0 { ok = false; return }
                off += n
            }
        }
        if fsync(fd) != 0 { ok = false }
        close(fd)
        if !ok || rename(tmp, statePath) != 0 {
            onNotice("\(statePath): cannot write the watch state: \(String(cString: strerror(errno)))")
            unlink(tmp)
        }
    }

    private func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
