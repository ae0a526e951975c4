import Foundation

/// Where a bundle came from, stored as JSON (keys as `BundleMeta`'s, in
/// camelCase) in its "provenance" section:
/// the captures and label files `train` read (as given, with their SHA-256),
/// the model card it wrote beside the bundle (with its SHA-256), where the
/// canary flows came from, and one entry per `baseline` that re-fitted it
/// for a site (its captures, the parent bundle, and whether the poisoning
/// guard was overridden with `--force`). Bundles written before this
/// section existed have none; readers say so rather than guess.
public struct BundleProvenance: Codable, Sendable, Equatable {
    public static let section = "provenance"
    /// The layout of this JSON; readers refuse a newer one.
    public static let currentFormat = 1

    /// A file as given on the command line, with its content hash and size.
    public struct FileRecord: Codable, Sendable, Equatable {
        public var path: String
        public var sha256: String
        public var bytes: Int
        public init(path: String, sha256: String, bytes: Int) {
            self.path = path; self.sha256 = sha256; self.bytes = bytes
        }
    }

    /// What `train` made the bundle from.
    public struct Training: Codable, Sendable, Equatable {
        public var modelVersion: String
        public var createdAt: String
        public var captures: [FileRecord]
        public var labels: [FileRecord]
        /// The model card written beside the bundle (`<bundle>.card.md`).
        public var card: FileRecord?
        public init(modelVersion: String, createdAt: String, captures: [FileRecord], labels: [FileRecord],
                    card: FileRecord? = nil) {
            self.modelVersion = modelVersion; self.createdAt = createdAt
            self.captures = captures; self.labels = labels; self.card = card
        }
    }

    /// Where the "canaries" section's flows came from.
    public struct CanarySource: Codable, Sendable, Equatable {
        /// "train" (its held-out attack flows) or "add-canaries".
        public var writtenBy: String
        public var createdAt: String
        public var captures: [FileRecord]
        /// Canary flows per class.
        public var perClass: [String: Int]
        public init(writtenBy: String, createdAt: String, captures: [FileRecord], perClass: [String: Int]) {
            self.writtenBy = writtenBy; self.createdAt = createdAt; self.captures = captures; self.perClass = perClass
        }
    }

    /// One `baseline` run that produced this bundle (or one of its ancestors).
    public struct Baseline: Codable, Sendable, Equatable {
        public var modelVersion: String
        public var createdAt: String
        public var parentModelVersion: String
        /// SHA-256 of the parent bundle file.
        public var parentSHA256: String
        public var captures: [FileRecord]
        public var flows: Int
        public var thresholdBefore: Double
        public var thresholdAfter: Double
        /// Flows of the site's captures the parent's classifiers called
        /// attacks over its threshold (with their evidence), before the re-fit.
        public var attackFlows: Int
        /// Canary recall per class after the re-fit (absent without canaries).
        public var canaryRecall: [String: Double]?
        /// The poisoning guard refused and `--force` overrode it.
        public var forced: Bool
        /// What the guard found, in words (empty when it found nothing).
        public var guardFindings: [String]
        public init(modelVersion: String, createdAt: String, parentModelVersion: String, parentSHA256: String,
                    captures: [FileRecord], flows: Int, thresholdBefore: Double, thresholdAfter: Double,
                    attackFlows: Int, canaryRecall: [String: Double]?, forced: Bool, guardFindings: [String]) {
            self.modelVersion = modelVersion; self.createdAt = createdAt
            self.parentModelVersion = parentModelVersion; self.parentSHA256 = parentSHA256
            self.captures = captures; self.flows = flows
            self.thresholdBefore = thresholdBefore; self.thresholdAfter = thresholdAfter
            self.attackFlows = attackFlows; self.canaryRecall = canaryRecall
            self.forced = forced; self.guardFindings = guardFindings
        }
    }

    public var format: Int
    public var training: Training?
    public var canaries: CanarySource?
    /// Oldest first: a bundle re-baselined twice lists both runs.
    public var baselines: [Baseline]

    public init(training: Training? = nil, canaries: CanarySource? = nil, baselines: [Baseline] = []) {
        self.format = Self.currentFormat
        self.training = training; self.canaries = canaries; self.baselines = baselines
    }

    public func encoded() -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try! enc.encode(self))
    }

    public init(decoding bytes: [UInt8]) throws(BundleError) {
        let dec = JSONDecoder()
        let p: BundleProvenance
        do { p = try dec.decode(BundleProvenance.self, from: Data(bytes)) } catch {
            throw .corruptSection(section: Self.section, offset: 0, reason: "bad provenance JSON: \(error)")
        }
        guard p.format <= Self.currentFormat else {
            throw .corruptSection(section: Self.section, offset: 0,
                                  reason: "provenance format \(p.format) is newer than this build reads (\(Self.currentFormat))")
        }
        self = p
    }
}

extension ModelBundle {
    /// The bundle's provenance; nil when it has no "provenance" section.
    public var provenance: BundleProvenance? {
        get throws(BundleError) {
            guard let bytes = sections[BundleProvenance.section] else { return nil }
            return try BundleProvenance(decoding: bytes)
        }
    }

    public mutating func setProvenance(_ p: BundleProvenance) {
        sections[BundleProvenance.section] = p.encoded()
    }
}
