import ArgumentParser
import BenchSupport
import Detection
import Flows
import MallocInterposerSwift
import Sensor
#if canImport(Glibc)
import Glibc
#endif

/// `flowsentry-bench CAPTURE`: packets/s of a bare libpcap read loop, of
/// decode only and of the whole spine on the same file, in one run, as
/// ratios; allocations per packet (malloc interposer, LD_PRELOADed by
/// re-executing itself) and bytes per active flow. `--model`: scoring
/// throughput and latency; `--nn`: the neural classifiers alone, float vs int8.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowsentry-bench",
        abstract: "Measure the packet path against a bare libpcap read loop on one capture.")

    @Argument(help: "The capture to measure on (not needed with --nn).")
    var capture: String?

    @Option(help: "Runs per stage; the best run is reported.")
    var repeats: Int = 3

    @Option(name: .customLong("max-flows"), help: "Flow-table capacity.")
    var maxFlows: Int = 131_072

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Also measure scoring with this model bundle: ensemble flows/s (int8 vs float, batch 1 and 256) and end-to-alert latency at 10,000 flows/s.")
    var model: String?

    @Option(help: "Run only this stage, --repeats times, and print each rate (for profilers): read, reader, decode, spine, spine-json.")
    var stage: String?

    @Flag(name: .customLong("latency-only"), help: "With --model: measure only the end-to-alert latency (every alerted flow's latency listed).")
    var latencyOnly = false

    @Option(help: "Measure indicator matching alone: every record of the capture matched against this Zeek Intel file, ns per record against an empty set (docs/performance.md, \"Indicators\").")
    var indicators: String?

    @Flag(name: .customLong("nn"), help: "Measure the neural classifiers alone (CNN and LSTM, float vs int8, batch 1 and 256) on synthetic flows; no capture.")
    var nn = false

    func validate() throws {
        if nn {
            if capture != nil || model != nil || stage != nil { throw ValidationError("--nn takes no capture, --model or --stage") }
        } else if capture == nil {
            throw ValidationError("missing the capture to measure on (or --nn)")
        }
    }

    func run() throws {
        let preloadName = "libMallocInterposerSwift.so"
        // Re-executes itself once: with the malloc interposer preloaded, so
        // every malloc is counted, and with one OpenBLAS thread, so the
        // process has one thread as a bare C read loop does (OpenBLAS starts a
        // worker when it loads; with a second thread in the process glibc
        // locks every stdio call, libpcap's freads included, which slowed
        // the bare read loop by ~9% here and flattered every ratio to it).
        if getenv("FLOWSENTRY_BENCH_PRELOADED") == nil || getenv("OPENBLAS_NUM_THREADS") == nil {
            let exe = String(cString: realpath("/proc/self/exe", nil))
            let dir = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let lib = dir + "/" + preloadName
            if getenv("OPENBLAS_NUM_THREADS") == nil { setenv("OPENBLAS_NUM_THREADS", "1", 1) }
            if access(lib, R_OK) == 0 {
                setenv("LD_PRELOAD", lib, 1)
            } else {
                FileHandleErr.write("flowsentry-bench: \(lib) not found; allocations will not be counted\n")
            }
            setenv("FLOWSENTRY_BENCH_PRELOADED", "1", 1)
            var args = CommandLine.arguments.map { strdup($0) }
            args.append(nil)
            execv(exe, &args)
        }
        MallocInterposerSwift.initialize()
        if nn {
            print("neural classifiers on synthetic flows, one core, best of 3 rounds")
            for r in NNBench.run() { print("  \(r)") }
            return
        }
        let capture = capture!
        if let model {
            try scoringBench(model)
            return
        }
        if let indicators {
            let r = try IndicatorBench.run(capture: capture, feed: indicators, passes: max(repeats, 3))
            print("indicators: \(r.indicators) loaded from \(indicators) in \(String(format: "%.2f", r.loadSeconds)) s, \(r.setBytes >> 20) MiB")
            print("  matching \(r.records) flow records of \(capture), best of \(max(repeats, 3)) passes: "
                  + "\(String(format: "%.0f", r.nsPerRecord)) ns/record with the set (\(r.hits) hits), "
                  + "\(String(format: "%.0f", r.nsPerRecordEmpty)) ns/record with an empty one")
            return
        }

        var config = FlowTableConfig()
        config.maxFlows = maxFlows
        if let stage {
            // With FLOWSENTRY_PERF_CTL=FIFO (perf record --control=fifo:FIFO -D -1),
            // perf samples only the timed spine loops, not table set-up.
            let ctl = getenv("FLOWSENTRY_PERF_CTL").map { open($0, O_WRONLY) } ?? -1
            let around: (() -> Void) -> Void = { body in
                if ctl >= 0 { _ = write(ctl, "enable\n", 7) }
                body()
                if ctl >= 0 { _ = write(ctl, "disable\n", 8) }
            }
            for _ in 0..<max(1, repeats) {
                let s: SpineBench.Stage
                switch stage {
                case "read": s = try SpineBench.readLoop(capture)
                case "reader": s = try SpineBench.readerLoop(capture)
                case "decode": s = try SpineBench.decodeOnly(capture)
                case "spine": s = try SpineBench.spine(capture, config: config, json: false, around: around)
                case "spine-json": s = try SpineBench.spine(capture, config: config, json: true, around: around)
                default: throw ValidationError("--stage: expected read, reader, decode, spine or spine-json, got '\(stage)'")
                }
                print("\(s.name): \(s.packets) packets, \(Int(s.packetsPerSecond)) packets/s")
            }
            return
        }
        func best(_ f: () throws -> SpineBench.Stage) rethrows -> SpineBench.Stage {
            var b: SpineBench.Stage?
            for _ in 0..<max(1, repeats) {
                let s = try f()
                if b == nil || s.seconds < b!.seconds { b = s }
            }
            return b!
        }
        let read = try best { try SpineBench.readLoop(capture) }
        let reader = try best { try SpineBench.readerLoop(capture) }
        let decode = try best { try SpineBench.decodeOnly(capture) }
        let spine = try best { try SpineBench.spine(capture, config: config, json: false) }
        let spineJSON = try best { try SpineBench.spine(capture, config: config, json: true) }

        // Allocations: one more spine run with counting on (table built first).
        var mallocs = 0, mallocBytes = 0
        let counted = try SpineBench.spine(capture, config: config, json: false) { body in
            MallocInterposerSwift.reset()
            MallocInterposerSwift.hook()
            body()
            MallocInterposerSwift.unhook()
            let st = MallocInterposerSwift.getStatistics()
            mallocs = st.mallocCount
            mallocBytes = st.mallocBytesCount
        }
        let perPacket = counted.packets > 0 ? Double(mallocs) / Double(counted.packets) : 0
        let slotBytes = FlowTable.bytesPerFlowSlot

        let stages = [read, reader, decode, spine, spineJSON]
        if json {
            var out = "{\"capture\":\"\(capture)\",\"packets\":\(read.packets),\"stages\":["
            out += stages.map { "{\"name\":\"\($0.name)\",\"packets_per_s\":\(Int($0.packetsPerSecond)),\"ratio_to_read_loop\":\(read.packetsPerSecond > 0 ? $0.packetsPerSecond / read.packetsPerSecond : 0)}" }.joined(separator: ",")
            out += "],\"allocations\":\(mallocs),\"allocation_bytes\":\(mallocBytes),\"allocations_per_packet\":\(perPacket),\"bytes_per_flow_slot\":\(slotBytes)}"
            print(out)
        } else {
            print("capture: \(capture) (\(read.packets) packets), best of \(repeats) runs per stage, one core")
            for s in stages {
                let name = s.name.padding(toLength: 40, withPad: " ", startingAt: 0)
                print("\(name) \(String(Int(s.packetsPerSecond)).leftPad(12)) packets/s   \(ratio(s, read)) of read loop")
            }
            print("allocations in the whole spine: \(mallocs) (\(mallocBytes) bytes) = \(perPacket) per packet")
            print("flow state per active flow: \(slotBytes) bytes (+1024 for a payload histogram while payload entropy is measured)")
        }
    }

    func scoringBench(_ path: String) throws {
        let capture = capture!
        let m = try EnsembleModel.load(path: path)
        let recs = ScoringBench.records(capture, limit: 20_000)
        print("scoring \(recs.count) flow records of \(capture) with \(m.meta.modelVersion), one core")
        let ms = { (x: Double) in String(Int((x * 1e6).rounded())) + " µs" }
        if latencyOnly { latency(m, recs, ms); return }
        let w = m.weights.map { String(format: "%.2f", $0) }.joined(separator: "/")
        print("  combination weights cnn/lstm/lof/ocsvm \(w): models with weight 0 run only for flows that alert")
        func show(_ t: ScoringBench.Throughput) {
            print("  \(t.name.padding(toLength: 58, withPad: " ", startingAt: 0)) \(String(Int(t.flowsPerSecond)).leftPad(9)) flows/s")
        }
        for (batch, float) in [(256, false), (256, true), (1, false), (1, true)] {
            show(ScoringBench.throughput(model: m, records: recs, batch: batch, float: float))
        }
        for float in [false, true] {
            show(ScoringBench.throughput(model: m, records: recs, batch: 256, float: float, everyModel: true))
        }
        for (name, set) in [("CNN alone", EnsembleScorer.ModelSet(cnn: true, lstm: false, novelty: false)),
                            ("LSTM alone", EnsembleScorer.ModelSet(cnn: false, lstm: true, novelty: false))] {
            for float in [false, true] {
                show(ScoringBench.throughput(model: m, records: recs, batch: 256, float: float, only: set, label: name))
            }
        }
        let e = ScoringBench.explainCost(model: m, records: recs)
        print("  explanation per suspicious flow (\(e.flows) flows, best of 3): explain \(ms(e.explainMean)), whole detail \(ms(e.detailMean))")
        latency(m, recs, ms)
    }

    /// End-to-alert latency at 10,000 flows/s, the output thread blocking at
    /// once and polling first (the default); `--latency-only` lists every alerted flow's.
    func latency(_ m: EnsembleModel, _ recs: [FlowRecord], _ ms: (Double) -> String) {
        for spinMicros in [0, SensorConfig().outputSpinMicros] {
            let l = ScoringBench.latency(model: m, records: recs, rate: 10_000, seconds: 3, spin: Double(spinMicros) * 1e-6)
            let how = spinMicros == 0 ? "blocking at once" : "polling \(spinMicros) µs before blocking (the default)"
            print("  flow end → record and alert written, at 10,000 flows/s over \(l.flows) flows handed from a producer thread, output thread \(how): p50 \(ms(l.p50)), p99 \(ms(l.p99)), max \(ms(l.max))")
            print("    alerted flows only (\(l.alerts)): p50 \(ms(l.alertP50)), p99 \(ms(l.alertP99)), max \(ms(l.alertMax))"
                  + (latencyOnly ? "; each: " + l.alertLatencies.map { ms($0) }.joined(separator: " ") : ""))
        }
    }

    func ratio(_ s: SpineBench.Stage, _ base: SpineBench.Stage) -> String {
        let r = base.packetsPerSecond > 0 ? s.packetsPerSecond / base.packetsPerSecond : 0
        return String(Int((r * 1000).rounded())) .leftPad(4).replacingLastThree()
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
    /// "  523" (per mille) → "52.3%"
    func replacingLastThree() -> String {
        let digits = self.trimmingCharacters()
        let v = Int(digits) ?? 0
        return "\(v / 10).\(v % 10)%"
    }
    func trimmingCharacters() -> String { String(self.filter { $0 != " " }) }
    func padding(toLength n: Int, withPad pad: String, startingAt: Int) -> String {
        count >= n ? self : self + String(repeating: " ", count: n - count)
    }
}

enum FileHandleErr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}
