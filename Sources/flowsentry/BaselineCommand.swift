import ArgumentParser
import Detection
import Features
import Flows
import Foundation
import Sensor
import Training

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Re-fit the novelty models and the alert threshold on a site's own (benign) traffic, keeping the trained classifiers.",
        discussion: ExitStatus.discussion(after: """
            The poisoning guard: the bundle's classifiers score the captures first; if more \
            than 1 % of the flows (and at least 5) are attacks over the threshold with their \
            evidence, or 20 or more of one class share a host (a campaign), the captures are \
            not normal traffic and nothing is written (exit 2), the offending flows are named. \
            The re-fitted bundle must also still catch 90 % of each class of the bundle's \
            canary flows (the "canaries" section). --force writes the bundle anyway and \
            records that it did (the bundle's provenance, model-info). The new bundle's \
            model version is the parent's with "+site.<hash of the captures>".
            """))

    @Option(name: .customLong("captures"), parsing: .upToNextOption) var captures: [String] = []
    @Option(help: "The bundle to start from.") var model: String
    @Option(help: "Where to write the new bundle.") var out: String
    @Flag(help: "Write the bundle even when the poisoning guard refuses the captures, recording that it was forced.")
    var force = false
    @Option(name: .customLong("model-version"),
            help: "Version for the new bundle (default: the parent's with \"+site.\" and the captures' hash).")
    var modelVersion: String?

    /// Attack flows named in a refusal, first in time.
    static let namedFlows = 10

    func validate() throws {
        if captures.isEmpty { throw ValidationError("give --captures FILE... of the site's normal traffic") }
    }

    /// One flow of the site's captures as the models take it, with what names it.
    struct SiteFlow {
        var startNs: Int64
        var stats: [Float]
        var raw: [Float]
        var length: Int
        var evidence: UInt8
        var flowID: UInt64
        var tuple: String
        var client: String
        var server: String
    }

    func run() throws {
        let parent: EnsembleModel, parentBundle: ModelBundle, parentDigest: String
        do {
            if let problem = OutputPathCheck.problem(out) { throw TrainingError("\(out): \(problem)") }
            parentBundle = try ModelBundle.load(path: model)
            parent = try EnsembleModel(bundle: parentBundle)
            parentDigest = try FileDigest.sha256(path: model).hex
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.cannotStart
        }
        do throws(any Error) {
            let site = readSite(parent)
            guard site.count >= 50 else {
                throw TrainingError("baseline needs at least 50 flows of the site's traffic, got \(site.count)")
            }
            var stats: [Float] = [], raw: [Float] = [], lengths: [Int] = []
            for f in site { stats += f.stats; raw += f.raw; lengths.append(f.length) }

            // Guard, part 1: what the parent's classifiers make of the "normal" traffic.
            var verdicts: [Verdict] = []
            EnsembleScorer(model: parent).scoreRaw(stats: stats, raw: raw, lengths: lengths, count: site.count, into: &verdicts)
            let attacks = BaselineGuard.attackFlows(
                verdicts: verdicts, benignIndex: parent.benignIndex,
                supports: { i, c in c >= 8 || site[i].evidence & (1 << UInt8(c)) != 0 },
                hosts: { (site[$0].client, site[$0].server) })

            var (newModel, report) = try Baseline.refit(parent, stats: stats, raw: raw, lengths: lengths, count: site.count)

            // Guard, part 2: the bundle's known attacks, scored by the re-fitted model.
            let canaries = try parentBundle.canaries
            let canaryRecall = try canaries?.recall(of: newModel)
            let findings = BaselineGuard.assess(flows: site.count, attackFlows: attacks, canaryRecall: canaryRecall)

            let records = try captures.map { try FileDigest.record($0) }
            let capturesDigest = FileDigest.sha256(bytes: Array(records.map(\.sha256).joined(separator: "\n").utf8))
            let version = modelVersion ?? Baseline.siteVersion(parent: parent.meta.modelVersion, capturesDigest: capturesDigest)

            if findings.refuses {
                FileHandleStderr.write(refusal(findings, site: site))
                if !force {
                    FileHandleStderr.write("flowsentry: error: baseline refused: these captures are not a site's normal traffic; nothing written (--force writes the bundle anyway and records it)\n")
                    throw ExitStatus.cannotStart
                }
            }

            let now = ISO8601DateFormatter().string(from: Date())
            if newModel.meta.notes["trained_at"] == nil { newModel.meta.notes["trained_at"] = parent.meta.createdAt }
            newModel.meta.modelVersion = version
            newModel.meta.createdAt = now
            newModel.meta.notes["baseline"] = "novelty re-fitted on \(report.fitFlows) flows of \(captures.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", "))"
            newModel.meta.notes["baseline_parent"] = parent.meta.modelVersion
            if findings.refuses { newModel.meta.notes["baseline_forced"] = findings.reasons.joined(separator: "; ") } else {
                newModel.meta.notes["baseline_forced"] = nil
            }
            var provenance = try parentBundle.provenance ?? BundleProvenance()
            provenance.baselines.append(BundleProvenance.Baseline(
                modelVersion: version, createdAt: now, parentModelVersion: parent.meta.modelVersion,
                parentSHA256: parentDigest, captures: records, flows: site.count,
                thresholdBefore: Double(report.oldThreshold), thresholdAfter: Double(report.newThreshold),
                attackFlows: attacks.count,
                canaryRecall: canaryRecall.map { $0.reduce(into: [:]) { $0[$1.className] = $1.recall } },
                forced: findings.refuses, guardFindings: findings.reasons))
            // Every section of the parent that is not the model's own (canaries,
            // drift reference, provenance) is carried over.
            var b = parentBundle
            newModel.store(in: &b)
            b.setProvenance(provenance)
            try b.write(to: out)

            print("baseline: novelty models re-fitted on \(report.fitFlows) flows, calibrated on \(report.calibrationFlows)")
            print("threshold \(fixedPoint(Double(report.oldThreshold), 4)) → \(fixedPoint(Double(report.newThreshold), 4)); held-out site flows flagged: \(fmtPercent(report.flaggedBefore)) before, \(fmtPercent(report.flaggedAfter)) after")
            print("poisoning guard: \(attacks.count) of \(site.count) flows are attacks to the parent's classifiers; "
                  + canarySummary(canaryRecall))
            if findings.refuses { print("FORCED: the poisoning guard refused these captures; --force wrote the bundle and its provenance records it") }
            print("wrote \(out) (\(version), from \(parent.meta.modelVersion))")
        } catch let e as ExitCode {
            throw e
        } catch {
            FileHandleStderr.write("flowsentry: error: \(error)\n")
            throw ExitStatus.failed
        }
    }

    /// Replays the captures (with the behaviour stage, as the sensor) into
    /// model inputs in time order, with each flow's evidence mask and names.
    func readSite(_ m: EnsembleModel) -> [SiteFlow] {
        var flows: [SiteFlow] = []
        var s = [Float](repeating: 0, count: m.statFeatures.count)
        var w = [Float](repeating: 0, count: PacketSequence.length * 5)
        let p = ReplayPipeline(config: .init())
        p.run(files: captures) { r, _ in
            s.withUnsafeMutableBufferPointer { ModelInput.stats(r.features, indices: m.featureIndices, into: $0.baseAddress!) }
            let n = w.withUnsafeMutableBufferPointer { ModelInput.sequence(r.sequence, into: $0.baseAddress!) }
            let proto = r.proto == 6 ? "tcp" : r.proto == 17 ? "udp" : r.proto == 1 ? "icmp" : r.proto == 58 ? "ipv6-icmp" : "proto \(r.proto)"
            let client = "\(r.srcIP)", server = "\(r.dstIP)"
            let tuple = r.hasTransportPorts ? "\(proto) \(client):\(r.srcPort) → \(server):\(r.dstPort)" : "\(proto) \(client) → \(server)"
            flows.append(SiteFlow(startNs: r.startNs, stats: s, raw: w, length: n,
                                  evidence: ClassEvidence.mask(classes: m.classes, record: r, behaviour: p.currentBehaviour),
                                  flowID: r.flowID, tuple: tuple, client: client, server: server))
        }
        for e in p.summary.errors { FileHandleStderr.write("flowsentry: warning: \(e)\n") }
        flows.sort { $0.startNs < $1.startNs }
        return flows
    }

    /// The guard's findings for stderr: its reasons, the first attack flows
    /// in time with their flow id, 5-tuple, class and score, and the count.
    func refusal(_ f: BaselineGuard.Findings, site: [SiteFlow]) -> String {
        var s = "flowsentry: poisoning guard: \(f.reasons.count) reason(s) to refuse these captures as normal traffic:\n"
        for r in f.reasons { s += "  - \(r)\n" }
        if !f.attackFlows.isEmpty {
            s += "  attack flows (first \(min(Self.namedFlows, f.attackFlows.count)) of \(f.attackFlows.count), in time order):\n"
            for a in f.attackFlows.prefix(Self.namedFlows) {
                let flow = site[a.index]
                s += "    flow_id \(flow.flowID)  \(flow.tuple)  \(a.className)  score \(fixedPoint(Double(a.score), 4))\n"
            }
        }
        return s
    }

    func canarySummary(_ recall: [CanarySet.ClassRecall]?) -> String {
        guard let recall else { return "the bundle has no canaries (no \"\(CanarySet.section)\" section): canary check skipped" }
        if recall.isEmpty { return "the bundle's canary set is empty: canary check skipped" }
        return "canaries caught: " + recall.map { "\($0.className) \($0.caught)/\($0.total)" }.joined(separator: ", ")
    }
}
