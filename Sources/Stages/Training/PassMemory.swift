import Models

/// Refuses, before training starts, a batch shape whose activations alone could never be held in memory:
/// a param such as `batch_size: 65536` or `block_size: 1048576` is within its declared range but would
/// otherwise end in an allocation failure (an abort) or a machine driven into swap.
enum PassMemory {
    /// Throws `badParam(param)` when `rows` sequences of `time` tokens through `model` would not fit.
    static func require(_ model: GPTModel, rows: Int, time: Int, param: String, shape: String) throws {
        guard let problem = model.passMemoryProblem(batch: rows, time: time) else { return }
        throw StageError.badParam(param, "\(shape): \(problem); lower them")
    }
}
