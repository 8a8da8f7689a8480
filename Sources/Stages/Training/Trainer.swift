/// A training algorithm as `TrainingLoop` drives it: its step and its state. The loop owns everything
/// around the step (metrics and TensorBoard, progress, the non-finite guard, evaluation cadence,
/// checkpoints and resume), so a new trainer is its loss and its step.
public protocol Trainer: AnyObject {
    /// Completed optimiser steps (restored by `restoreState`).
    var step: Int { get }
    /// One step: forward, loss, backward, optimiser update; returns the step's metrics in a fixed order.
    func trainStep() throws -> [(String, Double)]
    /// Held-out metrics, appended to the step's metrics on evaluation steps (empty: nothing held out).
    /// Must not change any state that later steps read.
    func evaluate() throws -> [(String, Double)]
    /// Metrics of the untrained model, recorded as step 0 before the first step of a fresh run (empty:
    /// no step-0 record). Must not change any state that later steps read.
    func initialEvaluation() throws -> [(String, Double)]
    /// Writes into `directory` everything a bit-identical continuation needs: weights, optimiser
    /// moments, RNG counters, data position, step.
    func saveState(to directory: String) throws
    /// Restores what `saveState` wrote.
    func restoreState(from directory: String) throws
}

extension Trainer {
    public func evaluate() throws -> [(String, Double)] { [] }
    public func initialEvaluation() throws -> [(String, Double)] { [] }
}
