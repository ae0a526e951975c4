import Detection
import Features
import Foundation

/// The JSON written beside the graphs: what the inputs are (feature order,
/// packet layout), the class names, the bundle's threshold and model version.
/// Fields: docs/onnx.md.
enum Sidecar {
    static let format = "flowsentry-onnx", formatVersion = 1

    /// What each of a packet's five raw values is.
    static let channelMeanings = [
        "+1 client to server (the flow's first packet), -1 server to client",
        "IP length in bytes (header and payload)",
        "transport payload length in bytes",
        "seconds since the flow's previous packet (0 for the first)",
        "TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128; 0 for other protocols)",
    ]

    /// How the sequence input is made from a flow's first packets, per `SequenceView`.
    static let viewMeanings: [SequenceView: String] = [
        .packets: "each step one packet as captured",
        .turns: "each step one side's turn: pure TCP ACKs (ACK set, no payload, no SYN/FIN/RST) left out; consecutive payload segments one way without SYN/FIN/RST are one step (payload lengths summed, IP length the first segment's plus the others' payloads, TCP flags or'ed); a step's gap is the seconds from the previous step's last packet (left-out ACKs included) to its first; length counts the steps",
    ]

    static func json(model m: EnsembleModel, cnn: CNNModel, lstm: LSTMModel, bundlePath: String,
                     producerVersion: String) -> [UInt8] {
        let n = "N", d = m.statFeatures.count, t = PacketSequence.length, k = m.classes.count
        let inputs: [[String: Any]] = [
            ["name": InputGraph.statsInput, "dtype": "float32", "shape": [n, d],
             "meaning": "the flow statistics named in features, in that order, unnormalised (the graph normalises them)"],
            ["name": InputGraph.sequenceInput, "dtype": "float32", "shape": [n, t, InputGraph.rawChannels.count],
             "meaning": "the flow's first packets, each the values named in sequence.channels (steps past length: any value, ignored)"],
            ["name": InputGraph.lengthInput, "dtype": "int64", "shape": [n],
             "meaning": "how many of the sequence's steps are packets of the flow (0...\(t))"],
        ]
        let output: [String: Any] = ["name": ClassifierGraphs.outputName, "dtype": "float32", "shape": [n, k],
                                     "meaning": "class probabilities in the order of classes"]
        let weights = m.weights.map(Double.init)
        let obj: [String: Any] = [
            "format": format,
            "format_version": formatVersion,
            "producer": "flowsentry \(producerVersion)",
            "model_version": m.meta.modelVersion,
            "bundle": ["path": bundlePath, "created_at": m.meta.createdAt],
            "opset": GraphBuilder.opsetVersion,
            "ir_version": GraphBuilder.irVersion,
            "classes": m.classes,
            "benign_class": m.classes[m.benignIndex],
            "threshold": Double(m.threshold),
            "threshold_applies_to": "the bundle's combined score: the weighted mean of the CNN's and the LSTM's 1 - P(benign) and of the LOF and One-Class SVM novelty scores (not exported), with the weights in ensemble_weights; a flow at or above it is suspicious (what then alerts is for the evidence gate and the policy)",
            "ensemble_weights": ["cnn": weights[0], "lstm": weights[1], "lof": weights[2], "ocsvm": weights[3]],
            "features": m.statFeatures,
            "stats_clip": Double(m.statClip),
            "sequence": [
                "length": t,
                "view": m.sequenceView.rawValue,
                "view_meaning": viewMeanings[m.sequenceView]!,
                "channels": zip(InputGraph.rawChannels, channelMeanings).map { ["name": $0, "meaning": $1] },
            ] as [String: Any],
            "inputs": inputs,
            "output": output,
            "models": [
                "cnn": ["file": ONNXExport.cnnFile, "parameters": cnn.parameterCount,
                        "layers": "conv1d(\(cnn.conv1.inChannels)->\(cnn.conv1.outChannels), k=\(cnn.conv1.kernel)), ReLU, conv1d(\(cnn.conv2.inChannels)->\(cnn.conv2.outChannels), k=\(cnn.conv2.kernel)), ReLU, [max, mean] over the valid steps, with the statistics: dense(\(cnn.head.inputs)->\(k)), softmax"],
                "lstm": ["file": ONNXExport.lstmFile, "parameters": lstm.parameterCount,
                         "layers": "LSTM(\(lstm.lstm.inputs)->\(lstm.lstm.hidden)), hidden state after the last valid step, with the statistics: dense(\(lstm.head.inputs)->\(k)), softmax"],
            ] as [String: Any],
        ]
        do {
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return Array(data) + [UInt8(ascii: "\n")]
        } catch {
            fatalError("sidecar JSON: \(error)")  // only strings and finite numbers above
        }
    }
}
