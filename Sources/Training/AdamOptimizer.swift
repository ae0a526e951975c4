/// Adam (Kingma & Ba) over a list of parameter tensors, with optional decoupled weight decay
/// and global-norm gradient clipping.
package struct AdamOptimizer: Sendable {
    package var learningRate: Float
    package var beta1: Float
    package var beta2: Float
    package var epsilon: Float
    package var weightDecay: Float
    package var clipNorm: Float?
    package private(set) var step = 0
    private var m: [[Float]]
    private var v: [[Float]]

    package init(shapes: [Int], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, clipNorm: Float? = 5) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.weightDecay = weightDecay; self.clipNorm = clipNorm
        m = shapes.map { [Float](repeating: 0, count: $0) }
        v = m
    }

    package mutating func update(_ params: inout [[Float]], gradients: [[Float]]) {
        precondition(params.count == m.count && gradients.count == m.count)
        step += 1
        var scale: Float = 1
        if let clipNorm {
            var sq: Float = 0
            for g in gradients { for x in g { sq += x * x } }
            let norm = sq.squareRoot()
            if norm > clipNorm { scale = clipNorm / norm }
        }
        let bc1 = 1 - pow(beta1, Float(step)), bc2 = 1 - pow(beta2, Float(step))
        let lr = learningRate * bc2.squareRoot() / bc1
        for k in 0 ..< params.count {
            let g = gradients[k]
            for i in 0 ..< g.count {
                let gi = g[i] * scale
                m[k][i] = beta1 * m[k][i] + (1 - beta1) * gi
                v[k][i] = beta2 * v[k][i] + (1 - beta2) * gi * gi
                params[k][i] -= lr * m[k][i] / (v[k][i].squareRoot() + epsilon) + learningRate * weightDecay * params[k][i]
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
