import Foundation
import Testing
import Tensor
@testable import Models

/// Runs `numpy_gpt2_reference.py` (next to this file) over our exported checkpoint.
@Suite("numpy reference forward")
struct NumpyReferenceTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("numpy_gpt2_reference.py").path

    static var numpyAvailable: Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import numpy"]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    @Test(.enabled(if: numpyAvailable, "python3 with numpy is not installed: the numpy reference check is skipped"))
    func logitsMatchNumpy() throws {
        let dir = temporaryDirectory("numpy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = GPTConfig(vocabSize: 37, maxPositions: 16, channels: 24, layers: 3, heads: 3, valueHead: true, rewardHead: true)
        config.initializerRange = 0.2
        let model = try GPTModel(config: config, seed: 77)
        // A few AdamW steps so biases and LayerNorm gains are not at their initial values.
        let adam = AdamW(for: model)
        let rows: [[Int32]] = [[5, 9, 1, 30, 2, 7, 7, 3], [12, 4, 4, 36], [1, 2, 3, 4, 5, 6]]
        let batch = TokenBatch.leftPadded(rows, padToken: 0)
        for _ in 0..<3 {
            model.zeroGradients()
            model.forward(batch)
            _ = model.crossEntropy(targets: batch.tokens.map { ($0 + 1) % 37 }, lossMask: batch.attentionMask!.map(Float.init))
            model.backward(dLogits: model.logits.baseAddress)
            adam.update(model, learningRate: 1e-2)
        }
        try model.save(to: dir)
        model.forward(batch)

        let request: [String: [[Int32]]] = [
            "tokens": (0..<batch.batch).map { Array(batch.tokens[$0 * batch.time ..< ($0 + 1) * batch.time]) },
            "mask": (0..<batch.batch).map { Array(batch.attentionMask![$0 * batch.time ..< ($0 + 1) * batch.time]) },
        ]
        try JSONEncoder().encode(request).write(to: URL(fileURLWithPath: dir + "/input.json"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Self.script, dir, dir + "/input.json", dir + "/out.bin"]
        try p.run()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "numpy reference script failed")
        let bytes = try #require(FileManager.default.contents(atPath: dir + "/out.bin"))
        let reference = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let ours = Array(model.logits) + Array(model.values) + Array(model.rewards)
        try #require(reference.count == ours.count)
        var worst: Float = 0
        for (a, b) in zip(ours, reference) { worst = max(worst, abs(a - b)) }
        print("numpy reference: max abs difference \(worst) over \(ours.count) outputs")
        #expect(worst < 1e-4, "max |logit difference| \(worst)")
        #expect(reference.contains { abs($0) > 0.1 })  // a non-degenerate comparison
    }
}
