import Features

/// The model inputs of one flow, taken from its finished features: the
/// statistics the models use (by name, from the bundle's schema) and the
/// first-packets sequence in raw form.
public enum ModelInput {
    /// Features the models use by default: every feature but those that
    /// name the software at either end rather than what the flow does.
    /// Learnt in one lab, they make a detector fire on every unfamiliar
    /// client elsewhere (docs/model-card.md measured it: with the User-Agent
    /// length as an input, a Zabbix health poller's flows became web attacks).
    public static let defaultFeatures: [String] = Feature.schema.filter { !softwareFingerprints.contains($0) }

    /// Computed and written, not learnt by default: the initial TCP windows
    /// (the operating system); the application protocol itself (which the
    /// lab's attacks and benign hosts happen to split, as ports would); and
    /// the application-layer values that describe the client or server
    /// software — TLS version, cipher and extension counts, server name,
    /// certificate, SSH software, User-Agent, method, requests per
    /// connection, URL length and encoding, DNS answer TTL. What stays are the
    /// values that describe the content: query-name shape and type, answer
    /// count and rcode; quotes, angle brackets, semicolons and traversal in a
    /// URL; the status class; heartbeat records and their size ratio.
    public static let softwareFingerprints: Set<String> = [
        "fwd_init_win_bytes", "bwd_init_win_bytes",
        "app_dns", "app_tls", "app_http", "app_ssh", "app_failed",
        "dns_min_ttl",
        "http_uri_len", "http_uri_pct_share", "http_uri_params", "http_requests", "http_ua_len", "http_method",
        "tls_version", "tls_ciphers", "tls_extensions", "tls_sni_present", "tls_sni_len", "tls_sni_entropy",
        "tls_cert_days", "tls_cert_self_signed",
        "ssh_client_known", "ssh_banner_len",
    ]

    /// Indices into `Feature` for schema names; nil names an unknown feature.
    public static func indices(of names: [String]) -> [Int]? {
        var out: [Int] = []
        for n in names {
            guard let i = Feature.schema.firstIndex(of: n) else { return nil }
            out.append(i)
        }
        return out
    }

    /// Writes the selected raw feature values of `v` at `out[base...]`.
    public static func stats(_ v: FeatureVector, indices: [Int], into out: UnsafeMutablePointer<Float>) {
        // One read of the vector: `value(at:)` in a loop copies all 880 bytes of it for each value.
        v.withValues { values in
            for (j, i) in indices.enumerated() { out[j] = Float(values[i]) }
        }
    }

    /// Writes the sequence as `PacketSequence.length × 5` raw floats (direction,
    /// IP length, payload length, IAT seconds, flags) and returns its length.
    public static func sequence(_ s: PacketSequence, into out: UnsafeMutablePointer<Float>) -> Int {
        let n = Int(s.count)
        for t in 0..<PacketSequence.length {
            let e = t < n ? s[t] : .empty
            let o = out + t * 5
            o[0] = Float(e.direction); o[1] = Float(e.ipLength); o[2] = Float(e.payloadLength)
            o[3] = e.iat; o[4] = Float(e.tcpFlags)
        }
        return n
    }
}

/// One flow's verdict: the class, the combined score and what made it.
public struct Verdict: Sendable {
    public var classIndex: Int
    public var className: String
    /// Combined score in [0, 1]; the flow is suspicious when ≥ `threshold`.
    public var score: Float
    public var threshold: Float
    /// Per-model scores in [0, 1]: CNN and LSTM P(not benign), LOF and
    /// One-Class SVM calibrated novelty (NaN when the model is absent).
    public var cnn: Float
    public var lstm: Float
    public var lof: Float
    public var ocsvm: Float
    /// Over the threshold, but its class lacks the evidence the sensor's
    /// evidence gate asks of it (`ClassEvidence`): not suspicious; the
    /// record keeps the class it would have had.
    public var unsupported = false
    public var isSuspicious: Bool { score >= threshold && !unsupported }
    /// When the classifiers lean to attack: their probability of the class
    /// (mean over the classifiers that ran), and the next most likely attack
    /// class with its probability (nil / NaN otherwise).
    public var classProbability: Float = .nan
    public var runnerUp: String?
    public var runnerUpProbability: Float = .nan
    /// The runner-up is close enough to the class to be shown with an alert:
    /// at least half as likely (`docs/flow-records.md`, "Alert records").
    public var runnerUpIsClose: Bool {
        runnerUp != nil && runnerUpProbability >= 0.5 * classProbability
    }
    /// Filled by `EnsembleScorer.detail` for flows that alert.
    public var explanation: [Contribution] = []
    /// The LOF reference (benign) flows nearest to this one; filled by `detail`.
    public var lofNearest: [LOFNeighbour] = []

    public struct Contribution: Sendable {
        public var feature: String
        public var value: Double
        public var contribution: Float
        public init(feature: String, value: Double, contribution: Float) {
            self.feature = feature; self.value = value; self.contribution = contribution
        }
    }
}

/// The whole detector as loaded from a bundle: normalisation, the novelty
/// models, the int8 sequence classifiers, combination weights and threshold.
/// Bundle I/O is in EnsembleModel+Bundle.swift, scoring in EnsembleScorer.swift.
public struct EnsembleModel: Sendable {
    public var classes: [String]
    public var statFeatures: [String]
    public var featureIndices: [Int]
    public var novelty: NoveltyModel
    /// Normalisation of the statistics fed to the classifiers. Fixed at
    /// training: `baseline` re-fits the novelty side only.
    public var classifierNormaliser: Normaliser
    public var cnn: CNNInt8Model
    public var lstm: LSTMInt8Model
    public var cnnFloat: CNNModel?
    public var lstmFloat: LSTMModel?
    /// Weights of (cnn, lstm, lof, ocsvm) in the combined score.
    public var weights: [Float]
    public var threshold: Float
    public var targetFPR: Double
    /// Normalised statistics fed to the classifiers are clipped to ±this.
    public var statClip: Float = 8
    public var meta: BundleMeta
    /// What the sequence models see of a flow's first packets.
    public var sequenceView: SequenceView { meta.sequenceView.flatMap(SequenceView.init(rawValue:)) ?? .packets }
    /// The training distribution of the inputs (section "drift.reference"); nil when the bundle has none.
    public var driftReference: DriftReference?

    public var benignIndex: Int { classes.firstIndex(of: "benign") ?? 0 }

    public init(classes: [String], statFeatures: [String], novelty: NoveltyModel, cnn: CNNInt8Model,
                lstm: LSTMInt8Model, cnnFloat: CNNModel?, lstmFloat: LSTMModel?, weights: [Float],
                threshold: Float, targetFPR: Double, meta: BundleMeta) {
        self.classes = classes
        self.statFeatures = statFeatures
        self.featureIndices = ModelInput.indices(of: statFeatures) ?? []
        self.novelty = novelty
        self.classifierNormaliser = novelty.normaliser
        self.cnn = cnn; self.lstm = lstm; self.cnnFloat = cnnFloat; self.lstmFloat = lstmFloat
        self.weights = weights; self.threshold = threshold; self.targetFPR = targetFPR; self.meta = meta
    }

    /// Combines per-model scores (NaN-safe: an absent model's weight is dropped).
    public func combine(cnn: Float, lstm: Float, lof: Float, ocsvm: Float) -> Float {
        var s: Float = 0, w: Float = 0
        for (x, wi) in zip([cnn, lstm, lof, ocsvm], weights) where x.isFinite && wi > 0 {
            s += x * wi; w += wi
        }
        return w > 0 ? s / w : 0
    }
}
