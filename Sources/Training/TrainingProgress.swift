/// One finished epoch of a classifier's training: what `train` shows as it
/// goes (epoch n of at most N, the losses, the time taken and left).
package struct EpochProgress: Sendable, Equatable {
    /// Which model: "cnn", "lstm".
    package var model: String
    /// This epoch, from 1.
    package var epoch: Int
    /// The most epochs this training may run (early stopping may end it sooner).
    package var epochs: Int
    package var trainLoss: Float
    package var validationLoss: Float
    package var validationAccuracy: Float
    /// Seconds since this model's training started.
    package var elapsed: Double

    package init(model: String, epoch: Int, epochs: Int, trainLoss: Float, validationLoss: Float,
                 validationAccuracy: Float, elapsed: Double) {
        self.model = model
        self.epoch = epoch
        self.epochs = epochs
        self.trainLoss = trainLoss
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.elapsed = elapsed
    }

    /// Seconds left if every remaining epoch takes the mean so far: an upper
    /// bound, since early stopping may end training sooner.
    package var secondsLeft: Double {
        epoch > 0 ? elapsed / Double(epoch) * Double(max(0, epochs - epoch)) : 0
    }

    /// "cnn epoch 3/25: loss 0.412, validation loss 0.398, accuracy 0.963; 12 s, at most 1 min 28 s left"
    package var line: String {
        "\(model) epoch \(epoch)/\(epochs): loss \(fixedPoint(Double(trainLoss), 3)), validation loss \(fixedPoint(Double(validationLoss), 3)), "
            + "accuracy \(fixedPoint(Double(validationAccuracy), 3)); \(readableDuration(elapsed))"
            + (epoch < epochs ? ", at most \(readableDuration(secondsLeft)) left" : "")
    }
}

/// `v` with `places` digits after the point (no exponent): what people read.
package func fixedPoint(_ v: Double, _ places: Int) -> String {
    guard v.isFinite else { return "\(v)" }
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let n = Int64((abs(v) * scale).rounded())
    let whole = n / Int64(scale), frac = n % Int64(scale)
    var s = (v < 0 && n != 0 ? "-" : "") + String(whole)
    if places > 0 {
        let f = String(frac)
        s += "." + String(repeating: "0", count: places - f.count) + f
    }
    return s
}

/// A duration as people say it: "0.4 s", "8.4 s", "42 s", "2 min 05 s", "1 h 04 min".
package func readableDuration(_ seconds: Double) -> String {
    if seconds < 9.95 { return "\(fixedPoint(max(0, seconds), 1)) s" }
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s) s" }
    if s < 3600 { return "\(s / 60) min \(two(s % 60)) s" }
    return "\(s / 3600) h \(two(s % 3600 / 60)) min"
}

private func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
