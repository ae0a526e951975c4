import Detection
import Features
import Foundation
import SwiftProtobuf

/// A bundle's float CNN and LSTM as ONNX models, with the sidecar that says
/// how to feed them (docs/onnx.md). Everything is built in memory; writing
/// the files is the caller's.
package enum ONNXExport {
    package static let cnnFile = "cnn.onnx", lstmFile = "lstm.onnx", sidecarFile = "model.json"

    /// One file of the export.
    package struct Artefact: Sendable {
        package let fileName: String
        package let bytes: [UInt8]
    }

    /// Reads the bundle at `bundlePath` and builds the two graphs and the
    /// sidecar. Throws, naming the file, when the bundle cannot be read or its
    /// networks cannot be exported.
    package static func artefacts(bundlePath: String, producerVersion: String) throws(ONNXExportError) -> [Artefact] {
        let model: EnsembleModel
        do { model = try EnsembleModel.load(path: bundlePath) } catch { throw .bundle(error) }
        return try artefacts(model: model, bundlePath: bundlePath, producerVersion: producerVersion)
    }

    package static func artefacts(model: EnsembleModel, bundlePath: String,
                                 producerVersion: String) throws(ONNXExportError) -> [Artefact] {
        let (cnn, lstm) = try exportable(model, bundlePath)
        let norm = model.classifierNormaliser
        let cnnModel = wrap(ClassifierGraphs.cnn(cnn, normaliser: norm, statClip: model.statClip),
                            model: model, network: "cnn", producerVersion: producerVersion)
        let lstmModel = wrap(ClassifierGraphs.lstm(lstm, normaliser: norm, statClip: model.statClip),
                             model: model, network: "lstm", producerVersion: producerVersion)
        let sidecar = Sidecar.json(model: model, cnn: cnn, lstm: lstm, bundlePath: bundlePath, producerVersion: producerVersion)
        return [Artefact(fileName: cnnFile, bytes: serialised(cnnModel)),
                Artefact(fileName: lstmFile, bytes: serialised(lstmModel)),
                Artefact(fileName: sidecarFile, bytes: sidecar)]
    }

    /// The float networks, when they are there and the graphs can reproduce
    /// them: 12-channel sequences of the sensor's length, the bundle's
    /// statistics and classes.
    static func exportable(_ m: EnsembleModel, _ path: String) throws(ONNXExportError) -> (CNNModel, LSTMModel) {
        guard let cnn = m.cnnFloat else {
            throw .unsupported(path: path, reason: "no float CNN (section \"\(EnsembleModel.cnnFloatSection)\"): only the int8 form is in the bundle, and the export writes the float networks; a bundle from `flowsentry train` has both")
        }
        guard let lstm = m.lstmFloat else {
            throw .unsupported(path: path, reason: "no float LSTM (section \"\(EnsembleModel.lstmFloatSection)\"): only the int8 form is in the bundle, and the export writes the float networks; a bundle from `flowsentry train` has both")
        }
        for (name, shape) in [("CNN", cnn.shape), ("LSTM", lstm.shape)] {
            guard shape.channels == SequenceEncoder.channels else {
                throw .unsupported(path: path, reason: "the float \(name) takes \(shape.channels) channels per packet; the graphs encode packets into the sensor's \(SequenceEncoder.channels)")
            }
            guard shape.seqLen == PacketSequence.length else {
                throw .unsupported(path: path, reason: "the float \(name) takes \(shape.seqLen)-packet sequences; the sensor keeps \(PacketSequence.length) packets per flow")
            }
            guard shape.statsDim == m.statFeatures.count, shape.classes == m.classes.count else {
                throw .unsupported(path: path, reason: "the float \(name) takes \(shape.statsDim) statistics and \(shape.classes) classes; the bundle has \(m.statFeatures.count) and \(m.classes.count)")
            }
        }
        guard m.statClip.isFinite, m.statClip > 0 else {
            throw .unsupported(path: path, reason: "statistics clip \(m.statClip) is not a positive number")
        }
        return (cnn, lstm)
    }

    /// The graph as a model: opset, producer, and the bundle's identity in the metadata.
    static func wrap(_ graph: Onnx_GraphProto, model: EnsembleModel, network: String, producerVersion: String) -> Onnx_ModelProto {
        var m = Onnx_ModelProto()
        m.irVersion = GraphBuilder.irVersion
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = GraphBuilder.opsetVersion
        m.opsetImport = [opset]
        m.producerName = "flowsentry"
        m.producerVersion = producerVersion
        m.domain = "org.flowsentry"
        m.docString = "FlowSentry \(network) flow classifier (float), \(model.meta.modelVersion): raw flow statistics, first packets and their count in, class probabilities out. Inputs, classes and threshold: \(sidecarFile)."
        m.graph = graph
        m.metadataProps = [
            ("model_version", model.meta.modelVersion),
            ("network", network),
            ("classes", model.classes.joined(separator: ",")),
            ("threshold", "\(model.threshold)"),
            ("sidecar", sidecarFile),
        ].map { k, v in
            var e = Onnx_StringStringEntryProto()
            e.key = k; e.value = v
            return e
        }
        return m
    }

    static func serialised(_ m: Onnx_ModelProto) -> [UInt8] {
        // Every required field is set by construction; a failure here is a bug.
        do { return try m.serializedBytes() } catch { fatalError("ONNX serialisation: \(error)") }
    }
}

/// Why a bundle could not be exported; each names the bundle file.
package enum ONNXExportError: Error, Sendable, CustomStringConvertible {
    /// The bundle could not be read or is not a whole, usable bundle.
    case bundle(BundleError)
    /// The bundle is whole, but its networks are not ones the export writes.
    case unsupported(path: String, reason: String)

    package var description: String {
        switch self {
        case let .bundle(e):
            // Every BundleError names the file, except a corrupt section,
            // whose reason does.
            return e.description
        case let .unsupported(path, reason):
            return "\(path): cannot export to ONNX: \(reason)"
        }
    }
}
