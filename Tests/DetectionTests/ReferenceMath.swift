import Foundation
import Detection

/// A dense head and softmax in Double, written from their definitions
/// (logits = W·x + b, p = exp(logit − max) / Σ): the reference the float
/// models' probabilities are checked against.
func referenceHeadProbabilities(_ head: DenseLayer, _ input: [Double]) -> [Double] {
    let logits = (0..<head.outputs).map { o in
        (0..<head.inputs).reduce(Double(head.bias[o])) { $0 + Double(head.weight[o * head.inputs + $1]) * input[$1] }
    }
    let top = logits.max()!
    let e = logits.map { exp($0 - top) }
    return e.map { $0 / e.reduce(0, +) }
}
