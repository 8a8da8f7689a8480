#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Refuses a model whose weights and gradients alone would not fit in this machine's memory, with a
/// message instead of an allocation failure (an abort) or a machine driven into swap.
enum MemoryBudget {
    /// Bytes a model of `config` allocates before any forward pass: parameters and gradients, Float32.
    static func modelBytes(_ config: GPTConfig) -> Double { 8 * config.estimatedParameterCount }

    /// Memory that can be allocated now: Linux's MemAvailable, else the physical memory.
    static func availableBytes() -> Double {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kib = Double(line.split(separator: " ").dropFirst().first ?? "") {
            return kib * 1024
        }
        #endif
        return Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func check(_ config: GPTConfig) throws(GPTConfigError) {
        let needed = modelBytes(config), available = availableBytes()
        guard needed <= available else {
            throw GPTConfigError(field: "n_embd", message: "\(config.channels) with vocab_size \(config.vocabSize), n_positions "
                + "\(config.maxPositions) and n_layer \(config.layers) needs \(gigabytes(needed)) GB for weights and "
                + "gradients, more than the \(gigabytes(available)) GB of memory available")
        }
    }

    /// Bytes of the activation arena of one (batch, time) training pass with logits at every position, in
    /// floating point (no overflow for any size): `ActivationLayout`'s buffers, summed.
    static func activationBytes(_ config: GPTConfig, batch: Int, time: Int) -> Double {
        let b = Double(batch), t = Double(time), n = b * t, c = Double(config.channels), l = Double(config.layers)
        let mlp = 2 * n * Double(config.mlpChannels)   // the MLP's two (N, n_inner) buffers, not 4C wide when n_inner says so
        let perLayer = n * c * 8 + mlp + 4 * n + b * Double(config.heads) * t * t
        return 4 * (n * c + l * perLayer + n * c * 8 + mlp + n * Double(config.vocabSize) + 4 * n + 2 * t * t)
    }

    /// Why a (batch, time) pass of `config` cannot be held in memory (weights, gradients and
    /// activations), or nil when it fits: asked before training, so a huge batch or context is a
    /// message instead of an allocation failure (an abort).
    static func passProblem(_ config: GPTConfig, batch: Int, time: Int) -> String? {
        let activations = activationBytes(config, batch: batch, time: time), weights = modelBytes(config)
        let available = availableBytes()
        guard activations + weights > available else { return nil }
        return "a pass of \(batch) × \(time) tokens needs \(gigabytes(activations)) GB of activations besides \(gigabytes(weights)) GB "
            + "of weights and gradients, more than the \(gigabytes(available)) GB of memory available"
    }

    static func gigabytes(_ bytes: Double) -> String {
        let tenths = (bytes / 1e8).rounded()
        return tenths < 1e15 ? "\(Int(tenths) / 10).\(Int(tenths) % 10)" : "\(bytes / 1e9)"
    }
}
