import Foundation

/// One figure over the seeds of a configuration: mean, sample standard deviation (n − 1 in the
/// denominator) and range. RL outcomes move with the seed, so a difference between arms means
/// something only where it exceeds this spread.
struct SeedSpread: Equatable {
    var count: Int
    var mean: Double
    /// Sample standard deviation; nil for one seed (it is undefined there, not 0).
    var standardDeviation: Double?
    var minimum: Double
    var maximum: Double

    /// The spread of the finite values, or nil when there is none. Summed in the given order (seed
    /// order), so the same values give the same bytes.
    init?(_ values: [Double]) {
        let finite = values.filter(\.isFinite)
        guard let first = finite.first else { return nil }
        count = finite.count
        var sum = 0.0
        for value in finite { sum += value }
        mean = sum / Double(count)
        if count >= 2 {
            var squares = 0.0
            for value in finite { squares += (value - mean) * (value - mean) }
            standardDeviation = (squares / Double(count - 1)).squareRoot()
        } else {
            standardDeviation = nil
        }
        minimum = finite.reduce(first) { min($0, $1) }
        maximum = finite.reduce(first) { max($0, $1) }
    }

    /// `0.8712 ± 0.0341 (0.83–0.9)`; a single seed is just its value.
    var text: String {
        guard let standardDeviation else { return MetricFormat.value(mean) }
        return "\(MetricFormat.value(mean)) ± \(MetricFormat.value(standardDeviation)) "
            + "(\(MetricFormat.value(minimum))–\(MetricFormat.value(maximum)))"
    }

    /// Seconds as `12m03s ± 41.5s`: wall times read better in minutes.
    var secondsText: String {
        guard let standardDeviation else { return Format.seconds(mean) }
        return "\(Format.seconds(mean)) ± \(Format.seconds(standardDeviation))"
    }
}
