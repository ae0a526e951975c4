import Features

/// Reading and writing an `EnsembleModel` as the sections of a `ModelBundle`.
extension EnsembleModel {
    public static let ensembleSection = "ensemble"
    public static let cnnSection = "cnn.int8", lstmSection = "lstm.int8"
    public static let cnnFloatSection = "cnn.float", lstmFloatSection = "lstm.float"
    public static let classesSection = "classes"
    public static let classifierNormSection = "norm.classifier"

    /// Writes every section of the model (the float classifiers only when present).
    public func store(in b: inout ModelBundle) {
        b.setSchema(statFeatures)
        b.setMeta(meta)
        novelty.store(in: &b)
        b.sections[Self.classifierNormSection] = classifierNormaliser.encode()
        b.sections[Self.cnnSection] = cnn.encode()
        b.sections[Self.lstmSection] = lstm.encode()
        if let cnnFloat { b.sections[Self.cnnFloatSection] = cnnFloat.encode() }
        if let lstmFloat { b.sections[Self.lstmFloatSection] = lstmFloat.encode() }
        b.sections[Self.classesSection] = Array(classes.joined(separator: "\n").utf8)
        b.setDoubles(weights.map(Double.init) + [Double(threshold), targetFPR, Double(statClip)],
                     section: Self.ensembleSection)
        if let driftReference { b.sections[DriftReference.section] = driftReference.encode() }
    }

    /// Loads a bundle and checks it is whole and usable now (not at the first flow).
    public static func load(path: String) throws(BundleError) -> EnsembleModel {
        let b = try ModelBundle.load(path: path)
        return try EnsembleModel(bundle: b)
    }

    public init(bundle b: ModelBundle) throws(BundleError) {
        let schema = try b.schema
        guard !schema.isEmpty else { throw .missingSection(path: b.sourcePath, section: ModelBundle.schemaSection) }
        guard let idx = ModelInput.indices(of: schema) else {
            let i = schema.firstIndex { !Feature.schema.contains($0) } ?? 0
            throw .schemaMismatch(path: b.sourcePath, index: i, expected: nil, found: schema[i])
        }
        let novelty = try NoveltyModel(bundle: b, expectedSchema: nil)
        guard novelty.dim == schema.count else {
            throw .malformed(path: b.sourcePath, offset: 0, reason: "normaliser has \(novelty.dim) columns, schema \(schema.count)")
        }
        func decode<T>(_ name: String, _ f: ([UInt8]) throws -> T) throws(BundleError) -> T {
            let bytes = try b.section(name)
            do { return try f(bytes) } catch {
                throw .corruptSection(section: name, offset: 0, reason: "\(b.sourcePath): \(error)")
            }
        }
        let cnn = try decode(Self.cnnSection) { try CNNInt8Model(decoding: $0) }
        let lstm = try decode(Self.lstmSection) { try LSTMInt8Model(decoding: $0) }
        let cnnF: CNNModel? = b.sections[Self.cnnFloatSection] == nil ? nil
            : try decode(Self.cnnFloatSection) { try CNNModel(decoding: $0) }
        let lstmF: LSTMModel? = b.sections[Self.lstmFloatSection] == nil ? nil
            : try decode(Self.lstmFloatSection) { try LSTMModel(decoding: $0) }
        let classes = String(decoding: try b.section(Self.classesSection), as: UTF8.self)
            .split(separator: "\n").map(String.init)
        let e = try b.doubles(Self.ensembleSection)
        guard e.count >= 7 else {
            throw .corruptSection(section: Self.ensembleSection, offset: 0, reason: "\(b.sourcePath): expected 7 values, found \(e.count)")
        }
        for (name, m) in [("cnn", cnn.shape), ("lstm", lstm.shape)] {
            guard m.statsDim == schema.count, m.classes == classes.count else {
                throw .malformed(path: b.sourcePath, offset: 0,
                                 reason: "\(name) expects \(m.statsDim) statistics and \(m.classes) classes; bundle has \(schema.count) and \(classes.count)")
            }
        }
        self.init(classes: classes, statFeatures: schema, novelty: novelty, cnn: cnn, lstm: lstm,
                  cnnFloat: cnnF, lstmFloat: lstmF, weights: e[0..<4].map(Float.init),
                  threshold: Float(e[4]), targetFPR: e[5], meta: try b.meta)
        statClip = Float(e[6])
        featureIndices = idx
        if let v = meta.sequenceView, SequenceView(rawValue: v) == nil {
            throw .malformed(path: b.sourcePath, offset: 0,
                             reason: "sequence view '\(v)' is unknown to this build (known: \(SequenceView.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        driftReference = try DriftReference.load(from: b)
        if let bytes = b.sections[Self.classifierNormSection] {
            classifierNormaliser = try Normaliser(decoding: bytes, section: Self.classifierNormSection)
            guard classifierNormaliser.dim == schema.count else {
                throw .malformed(path: b.sourcePath, offset: 0, reason: "classifier normaliser has \(classifierNormaliser.dim) columns, schema \(schema.count)")
            }
        }
    }
}
