import Detection
import Training

/// Synthetic flows whose class depends on flag, size, direction and timing patterns — used
/// by tests and benchmarks of the neural classifiers (not real traffic).
///
/// Classes (7): 0 benign, 1 scan, 2 dos, 3 bruteforce, 4 tunnel, 5 c2, 6 webattack.
package enum NNSyntheticData {
    package static let classNames = ["benign", "scan", "dos", "bruteforce", "tunnel", "c2", "webattack"]

    /// Raw packets (`count * seqLen * 5`), lengths and labels.
    package static func raw(count: Int, seqLen: Int = 32, seed: UInt64)
        -> (raw: [Float], lengths: [Int], labels: [Int])
    {
        var rng = NNRandom(seed: seed)
        var raw = [Float](repeating: 0, count: count * seqLen * 5)
        var lengths = [Int](), labels = [Int]()
        let fin: Float = 1, syn: Float = 2, rst: Float = 4, psh: Float = 8, ack: Float = 16
        for n in 0 ..< count {
            let y = n % 7
            let len: Int
            switch y {
            case 1: len = Int.random(in: 1 ... 3, using: &rng)
            case 2: len = seqLen
            case 6: len = Int.random(in: 3 ... min(10, seqLen), using: &rng)
            default: len = Int.random(in: 4 ... seqLen, using: &rng)
            }
            for t in 0 ..< len {
                var dir: Float = 1, ip: Float = 60, pay: Float = 0, iat: Float = 0.01, flags: Float = ack
                let u = Float.random(in: 0 ..< 1, using: &rng)
                switch y {
                case 0: // benign: request/response, mixed sizes
                    dir = u < 0.5 ? 1 : -1
                    pay = Float.random(in: 0 ... 1400, using: &rng)
                    ip = pay + 52
                    iat = Float.random(in: 0.0005 ... 0.3, using: &rng)
                    flags = t == 0 ? syn : (pay > 0 ? psh + ack : ack)
                    if t == len - 1 && u < 0.5 { flags = fin + ack }
                case 1: // scan: lone SYNs, maybe RST back
                    dir = t == 0 ? 1 : -1
                    ip = 40 + Float.random(in: 0 ... 4, using: &rng)
                    flags = t == 0 ? syn : rst + ack
                    iat = Float.random(in: 0.0001 ... 0.01, using: &rng)
                case 2: // dos: SYN flood, tiny IAT
                    ip = 40; flags = syn
                    iat = Float.random(in: 0.000001 ... 0.0001, using: &rng)
                case 3: // bruteforce: alternating small PSH/ACK, ~0.5 s
                    dir = t % 2 == 0 ? 1 : -1
                    pay = Float.random(in: 20 ... 80, using: &rng)
                    ip = pay + 52
                    flags = t == 0 ? syn : psh + ack
                    iat = Float.random(in: 0.2 ... 0.8, using: &rng)
                case 4: // tunnel: large packets both ways, regular timing
                    dir = u < 0.5 ? 1 : -1
                    pay = Float.random(in: 1000 ... 1400, using: &rng)
                    ip = pay + 52
                    iat = Float.random(in: 0.01 ... 0.03, using: &rng)
                case 5: // c2: small periodic beacons, long gaps
                    dir = t % 2 == 0 ? 1 : -1
                    pay = Float.random(in: 30 ... 120, using: &rng)
                    ip = pay + 52
                    flags = psh + ack
                    iat = Float.random(in: 20 ... 40, using: &rng)
                default: // webattack: big request first, then responses
                    dir = t == 0 ? 1 : -1
                    pay = t == 0 ? Float.random(in: 600 ... 1500, using: &rng) : Float.random(in: 100 ... 600, using: &rng)
                    ip = pay + 52
                    flags = psh + ack
                    iat = Float.random(in: 0.001 ... 0.05, using: &rng)
                }
                if t == 0 { iat = 0 }
                let base = (n * seqLen + t) * 5
                raw[base] = dir; raw[base + 1] = ip; raw[base + 2] = pay; raw[base + 3] = iat; raw[base + 4] = flags
            }
            lengths.append(len); labels.append(y)
        }
        return (raw, lengths, labels)
    }

    /// Encoded data set; with `statsDim > 0` appends simple noisy per-flow statistics.
    package static func dataset(count: Int, seqLen: Int = 32, statsDim: Int = 0, seed: UInt64) -> ClassifierDataset {
        let (raw, lengths, labels) = raw(count: count, seqLen: seqLen, seed: seed)
        let enc = SequenceEncoder(seqLen: seqLen)
        let seq = enc.encode(raw: raw, lengths: lengths, count: count)
        var rng = NNRandom(seed: seed ^ 0xABCD)
        var stats = [Float](repeating: 0, count: count * statsDim)
        for n in 0 ..< count where statsDim > 0 {
            let len = lengths[n]
            var meanSize: Float = 0, out: Float = 0
            for t in 0 ..< len {
                meanSize += raw[(n * seqLen + t) * 5 + 1]
                if raw[(n * seqLen + t) * 5] > 0 { out += 1 }
            }
            let feats: [Float] = [Float(len) / Float(seqLen), meanSize / Float(max(len, 1)) / 1500,
                                  out / Float(max(len, 1))]
            for j in 0 ..< statsDim {
                stats[n * statsDim + j] = (j < feats.count ? feats[j] : 0) + Float.random(in: -0.05 ... 0.05, using: &rng)
            }
        }
        let shape = NNShape(seqLen: seqLen, channels: SequenceEncoder.channels, statsDim: statsDim, classes: 7)
        return ClassifierDataset(shape: shape, sequences: seq, lengths: lengths, stats: stats, labels: labels)
    }
}
