/// One named tensor inside the flat parameter buffer.
public struct ParameterTensor: Sendable, Equatable {
    /// GPT2LMHeadModel state-dict name (`transformer.h.0.attn.c_attn.weight`, `v_head.summary.weight`, …).
    public let name: String
    public let offset: Int
    public let shape: [Int]
    /// AdamW decays matrices and embeddings (rank ≥ 2), never biases or LayerNorm gains (nanoGPT's rule).
    public let decays: Bool
    public var count: Int { shape.reduce(1, *) }
}

/// Offsets of one transformer block's parameters. Linear weights are in Conv1D layout [in, out].
public struct BlockParameters: Sendable {
    public let ln1Weight, ln1Bias: Int          // (C)
    public let qkvWeight, qkvBias: Int          // (C, 3C), (3C)
    public let attnProjWeight, attnProjBias: Int // (C, C), (C)
    public let ln2Weight, ln2Bias: Int          // (C)
    public let fcWeight, fcBias: Int            // (C, 4C), (4C)
    public let fcProjWeight, fcProjBias: Int    // (4C, C), (C)
}

/// The named views of the single parameter buffer (gradients and AdamW moments share it), in
/// GPT2LMHeadModel state-dict order, so checkpoint export is a walk over `tensors`.
public struct ParameterLayout: Sendable {
    public let tensors: [ParameterTensor]
    public let count: Int
    public let tokenEmbedding: Int      // wte (V, C)
    public let positionEmbedding: Int   // wpe (maxT, C)
    public let blocks: [BlockParameters]
    public let lnfWeight, lnfBias: Int  // (C)
    /// The LM head (V, C): `tokenEmbedding` when tied, else `lm_head.weight`.
    public let lmHead: Int
    public let valueWeight, valueBias: Int?  // (1, C), (1)
    public let scoreWeight: Int?        // (1, C)

    public init(_ config: GPTConfig) {
        let c = config.channels
        var tensors: [ParameterTensor] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int], decays: Bool? = nil) -> Int {
            let t = ParameterTensor(name: name, offset: offset, shape: shape, decays: decays ?? (shape.count >= 2))
            tensors.append(t)
            offset += t.count
            return t.offset
        }
        tokenEmbedding = add("transformer.wte.weight", [config.vocabSize, c])
        positionEmbedding = add("transformer.wpe.weight", [config.maxPositions, c])
        var blocks: [BlockParameters] = []
        for l in 0..<config.layers {
            let p = "transformer.h.\(l)."
            blocks.append(BlockParameters(
                ln1Weight: add(p + "ln_1.weight", [c]), ln1Bias: add(p + "ln_1.bias", [c]),
                qkvWeight: add(p + "attn.c_attn.weight", [c, 3 * c]), qkvBias: add(p + "attn.c_attn.bias", [3 * c]),
                attnProjWeight: add(p + "attn.c_proj.weight", [c, c]), attnProjBias: add(p + "attn.c_proj.bias", [c]),
                ln2Weight: add(p + "ln_2.weight", [c]), ln2Bias: add(p + "ln_2.bias", [c]),
                fcWeight: add(p + "mlp.c_fc.weight", [c, config.mlpChannels]), fcBias: add(p + "mlp.c_fc.bias", [config.mlpChannels]),
                fcProjWeight: add(p + "mlp.c_proj.weight", [config.mlpChannels, c]), fcProjBias: add(p + "mlp.c_proj.bias", [c])))
        }
        self.blocks = blocks
        lnfWeight = add("transformer.ln_f.weight", [c])
        lnfBias = add("transformer.ln_f.bias", [c])
        lmHead = config.tieWordEmbeddings ? tokenEmbedding : add("lm_head.weight", [config.vocabSize, c])
        if config.valueHead {
            valueWeight = add("v_head.summary.weight", [1, c])
            valueBias = add("v_head.summary.bias", [1])
        } else {
            valueWeight = nil
            valueBias = nil
        }
        scoreWeight = config.rewardHead ? add("score.weight", [1, c]) : nil
        self.tensors = tensors
        count = offset
    }

    public func tensor(named name: String) -> ParameterTensor? { tensors.first { $0.name == name } }
}
