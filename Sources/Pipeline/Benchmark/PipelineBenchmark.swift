/// Times pipeline loading + resolution (for `pipe bench` and the closing figures).
public enum PipelineBenchmark {
    public struct Report: Sendable, CustomStringConvertible {
        public var file: String
        public var stages: Int
        public var iterations: Int
        /// Seconds per load (locate workspace + parse + declarations + resolve + graph).
        public var best: Double
        public var median: Double

        public var description: String {
            "pipeline load+resolve \(file) (\(stages) stages): best \(format(best)), median \(format(median)) over \(iterations) runs"
        }

        private func format(_ seconds: Double) -> String {
            let micros = (seconds * 1e6).rounded()
            return micros >= 1000 ? "\((micros / 10).rounded() / 100) ms" : "\(Int(micros)) µs"
        }
    }

    /// Loads `file` from scratch `iterations` times (nothing cached between runs, as in a fresh
    /// `pipe run`) and reports best and median wall time.
    public static func measure(file: String, overrides: [ParamOverride] = [], iterations: Int = 200) throws(PipelineError) -> Report {
        precondition(iterations > 0)
        let clock = ContinuousClock()
        var times: [Double] = []
        var stages = 0
        for _ in 0..<iterations {
            let start = clock.now
            let pipeline = try PipelineLoader.load(file: file, overrides: overrides)
            let elapsed = clock.now - start
            stages = pipeline.stages.count
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        times.sort()
        return Report(file: file, stages: stages, iterations: iterations, best: times[0], median: times[times.count / 2])
    }
}
