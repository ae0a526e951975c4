import Alerts
import Foundation
import Sensor
import Testing

/// The live sensor's log files, each behind its own bounded queue and
/// writer thread (`LogFileOutput`, through `OutputFiles`): order kept,
/// reopen and sync in order with the lines, a stalled file (a FIFO nobody
/// reads) costing its own records only, and shutdown giving up on it.
@Suite struct LogFileOutputTests {
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fs-logfile-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// `n` numbered lines from `first`, as one chunk.
    static func chunk(_ first: Int, _ n: Int) -> [UInt8] {
        Array((first..<first + n).map { "{\"n\":\($0)}\n" }.joined().utf8)
    }

    @Test func orderIsKeptAndEachReopenFallsBetweenTheLinesQueuedAroundIt() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("flows.json").path
        let out = try OutputFiles(alerts: nil, flows: path, stats: nil, log: LogLines().sink)
        var next = 0
        // Three generations of the file: rename, then reopen, while lines keep coming in chunks of 1..7.
        for generation in 0..<3 {
            for i in 0..<300 {
                let n = 1 + i % 7
                out.writeType(.flow, Self.chunk(next, n), records: n)
                next += n
            }
            if generation < 2 {
                // The rename happens at once; the reopen only after every line queued so far.
                #expect(out.flushAll())
                try FileManager.default.moveItem(atPath: path, toPath: path + ".\(generation)")
                out.reopenAll()
            }
        }
        out.syncAll(final: true)
        let all = Self.lines(path + ".0") + Self.lines(path + ".1") + Self.lines(path)
        #expect(all == (0..<next).map { "{\"n\":\($0)}" }, "every line once, in order, across the rotations")
        #expect(Self.lines(path + ".0").count == Self.lines(path + ".1").count && !Self.lines(path).isEmpty)
        #expect(out.recordsWritten == UInt64(next) && out.recordsDropped == 0 && out.writeErrors == 0)
    }

    @Test func aReopenQueuedBehindLinesTheWriterHasNotReachedSplitsThemExactly() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("alerts.json").path
        let out = try OutputFiles(alerts: path, flows: nil, stats: nil, log: LogLines().sink)
        // Renamed before any line is written: every line queued before the reopen
        // still goes to the renamed file, every line after it to the new one.
        try "".write(toFile: path + ".tmp", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: path + ".tmp")
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        for i in 0..<2000 { out.writeType(.alert, Self.chunk(i, 1), records: 1) }
        out.reopenAll()
        out.reopenAll()  // a second request with no line between: one reopen
        for i in 2000..<2500 { out.writeType(.alert, Self.chunk(i, 1), records: 1) }
        out.syncAll(final: true)
        #expect(Self.lines(path + ".1") == (0..<2000).map { "{\"n\":\($0)}" })
        #expect(Self.lines(path) == (2000..<2500).map { "{\"n\":\($0)}" })
    }

    /// The flows log is a FIFO whose reader opened it and never reads: its
    /// writer blocks once the pipe is full, its queue fills and drops (counted,
    /// one warning), while the alerts log gets every line; shutdown waits for
    /// the flows writer up to `drainSeconds`, then gives up on what it holds
    /// (counted as dropped and as a write error): written + dropped = offered.
    @Test func aStalledFileDropsOnlyItsOwnRecordsAndShutdownGivesUpOnIt() throws {
        // The reader is closed at the end while the given-up writer may still be
        // blocked on the pipe: EPIPE for it, not SIGPIPE for the test process.
        signal(SIGPIPE, SIG_IGN)
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("flows.fifo").path, alerts = dir.appendingPathComponent("alerts.json").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let logs = LogLines()
        // A queue of 1,000 records each: all 500 alert lines fit even if the
        // alerts writer is not scheduled while they are offered (a loaded CI machine).
        let out = try OutputFiles(alerts: alerts, flows: fifo, stats: nil, queueRecords: 1000, queueBytes: 4 << 20, log: logs.sink)
        out.drainSeconds = 0.5
        let line = String(repeating: "x", count: 1000)
        let flowChunk = Array((0..<10).map { _ in "{\"f\":\"\(line)\"}\n" }.joined().utf8)
        // 5,000 flow records (~5 MB) against a 64 KiB pipe, a 256 KiB file buffer and a 1,000-record queue.
        for i in 0..<500 {
            out.writeType(.flow, flowChunk, records: 10)
            out.writeType(.alert, Self.chunk(i, 1), records: 1)
        }
        #expect(out.files[0].waitWritten(timeout: 10), "the alerts writer is not held up by the flows writer")
        #expect(Self.lines(alerts) == (0..<500).map { "{\"n\":\($0)}" })
        let flows = out.files[1].counters
        #expect(flows.name == "flows" && flows.dropped > 0 && flows.queued > 0)
        #expect(flows.written + flows.dropped + flows.queued == 5000)
        #expect(flows.dropped >= 5000 - 1500, "only the queue (1,000), the file buffer (256 KiB) and the pipe (64 KiB) hold records")
        let warnings = logs.all.filter { $0.contains("warning: output flows:") }
        #expect(warnings.count == 1 && warnings[0].contains(fifo) && warnings[0].contains("queue is full"), "\(logs.all)")
        #expect(!out.files[1].waitWritten(timeout: 0.2), "stalled")

        out.syncAll(final: true)
        let end = out.perOutput
        #expect(end.map(\.name) == ["alerts", "flows"])
        #expect(end[0].written == 500 && end[0].dropped == 0)
        #expect(end[1].written + end[1].dropped == 5000 && end[1].queued == 0, "\(end[1])")
        var pipeBytes: Int32 = 0
        #expect(ioctl(reader, UInt(FIONREAD), &pipeBytes) == 0)
        #expect(pipeBytes > 0 && Int(end[1].written) * (flowChunk.count / 10) <= Int(pipeBytes),
                "counted as written: only records that are in the pipe (\(pipeBytes) bytes)")
        #expect(out.writeErrors == 1)
        #expect(logs.all.contains { $0.contains("output flows: \(fifo) still blocked at shutdown") }, "\(logs.all)")
        #expect(logs.all.last == "flowsentry: output flows: \(end[1].written) records written, \(end[1].dropped) dropped")
    }
}

/// The queue itself: bounded in records and in bytes, markers in order
/// and outside the bound, an idle wait, and a discard that counts what it lost.
@Suite struct OutputQueueBoundsTests {
    @Test func bytesBoundTheQueueLikeRecordsDo() {
        let q = OutputQueue(capacity: 100, maxBytes: 10)
        let line = Array("abcd\n".utf8)  // 5 bytes
        #expect(q.offer(.flow, line, records: 1))
        #expect(!q.offer(.flow, line + line, records: 2), "10 bytes held at most: one of the two lines fits")
        #expect(q.dropped.load(ordering: .relaxed) == 1 && q.depth.load(ordering: .relaxed) == 2)
        var out: [OutputChunk] = []
        #expect(q.take(into: &out, records: 100, timeout: 0) && out.map(\.records) == [1, 1])
        #expect(q.offer(.flow, line + line, records: 2), "taken lines no longer count against the byte bound")
        #expect(q.depth.load(ordering: .relaxed) == 4, "but their records do until settled")
    }

    @Test func markersKeepTheirPlaceAndDoNotCount() {
        let q = OutputQueue(capacity: 2)
        let line = Array("{}\n".utf8)
        #expect(q.offer(.alert, line, records: 1))
        #expect(q.post(.reopen) && q.post(.reopen), "a repeated marker at the tail is queued once")
        #expect(q.offer(.alert, line, records: 1))
        #expect(q.post(.sync))
        #expect(!q.offer(.alert, line, records: 1), "two records held: full, markers aside")
        var out: [OutputChunk] = []
        #expect(q.take(into: &out, records: 100, timeout: 0))
        #expect(out.map(\.marker) == [nil, .reopen, nil, .sync])
        #expect(!q.isIdle && !q.waitIdle(timeout: 0.05), "a batch in flight")
        q.settle(2)
        #expect(q.isIdle && q.waitIdle(timeout: 0))
        #expect(q.post(.sync))
        q.close()
        #expect(!q.post(.sync), "closed")
        out.removeAll()
        #expect(q.take(into: &out, records: 1, timeout: 0) && out.map(\.marker) == [.sync], "a marker queued before close is handed out")
        q.settle(0)
        out.removeAll()
        #expect(!q.take(into: &out, records: 1, timeout: 0))
    }

    @Test func discardCountsQueuedAndInFlightRecords() {
        let q = OutputQueue(capacity: 10)
        let line = Array("{}\n".utf8)
        #expect(q.offer(.flow, line + line, records: 2))
        var out: [OutputChunk] = []
        #expect(q.take(into: &out, records: 1, timeout: 0))
        #expect(q.offer(.flow, line, records: 1))
        #expect(q.discardAll() == 3 && q.depth.load(ordering: .relaxed) == 0)
        q.settle(2)  // the writer's late settle does not go below zero
        #expect(q.depth.load(ordering: .relaxed) == 0 && q.offer(.flow, line, records: 1))
    }
}
