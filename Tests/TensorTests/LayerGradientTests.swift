import Testing
@testable import Tensor

@Suite("Layer gradients (finite differences)")
struct LayerGradientTests {
    let check = GradientCheck()

    @Test func layerNorm() {
        let n = 3, c = 8
        let x = FloatBuffer(randomFloats(n * c, seed: 1, scale: 2)), w = FloatBuffer(randomFloats(c, seed: 2))
        let bias = FloatBuffer(randomFloats(c, seed: 3)), upstream = randomFloats(n * c, seed: 4)
        let out = FloatBuffer(count: n * c), mean = FloatBuffer(count: n), rstd = FloatBuffer(count: n)
        func loss() -> Double {
            layerNormForward(out: out.pointer, mean: mean.pointer, rstd: rstd.pointer, input: x.pointer, weight: w.pointer,
                             bias: bias.pointer, rows: n, channels: c, epsilon: 1e-5)
            return weightedSum(out.pointer, upstream)
        }
        _ = loss()
        let dx = FloatBuffer(count: n * c), dw = FloatBuffer(count: c), db = FloatBuffer(count: c), dy = FloatBuffer(upstream)
        layerNormBackward(dInput: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dOut: dy.pointer, input: x.pointer,
                          weight: w.pointer, mean: mean.pointer, rstd: rstd.pointer, rows: n, channels: c)
        #expect(check.worstError(of: loss, perturbing: x.pointer, analytic: dx.pointer, indices: Array(0..<n * c)) < 3e-3)
        #expect(check.worstError(of: loss, perturbing: w.pointer, analytic: dw.pointer, indices: Array(0..<c)) < 3e-3)
        #expect(check.worstError(of: loss, perturbing: bias.pointer, analytic: db.pointer, indices: Array(0..<c)) < 3e-3)
    }

    @Test func linear() {
        let n = 4, ic = 5, oc = 3
        let x = FloatBuffer(randomFloats(n * ic, seed: 5)), w = FloatBuffer(randomFloats(ic * oc, seed: 6))
        let bias = FloatBuffer(randomFloats(oc, seed: 7)), upstream = randomFloats(n * oc, seed: 8)
        let out = FloatBuffer(count: n * oc)
        func loss() -> Double {
            linearForward(out: out.pointer, input: x.pointer, weight: w.pointer, bias: bias.pointer, rows: n, inChannels: ic, outChannels: oc)
            return weightedSum(out.pointer, upstream)
        }
        _ = loss()
        // Naive reference for the forward product.
        for r in 0..<n {
            for o in 0..<oc {
                var s = bias[o]
                for i in 0..<ic { s += x[r * ic + i] * w[i * oc + o] }
                #expect(abs(s - out[r * oc + o]) < 1e-5)
            }
        }
        let dx = FloatBuffer(count: n * ic), dw = FloatBuffer(count: ic * oc), db = FloatBuffer(count: oc), dy = FloatBuffer(upstream)
        linearBackward(dInput: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dOut: dy.pointer, input: x.pointer,
                       weight: w.pointer, rows: n, inChannels: ic, outChannels: oc)
        #expect(check.worstError(of: loss, perturbing: x.pointer, analytic: dx.pointer, indices: Array(0..<n * ic)) < 3e-3)
        #expect(check.worstError(of: loss, perturbing: w.pointer, analytic: dw.pointer, indices: Array(0..<ic * oc)) < 3e-3)
        #expect(check.worstError(of: loss, perturbing: bias.pointer, analytic: db.pointer, indices: Array(0..<oc)) < 3e-3)
    }

    @Test func gelu() {
        let n = 40
        let x = FloatBuffer(randomFloats(n, seed: 9, scale: 4)), upstream = randomFloats(n, seed: 10)
        let out = FloatBuffer(count: n)
        func loss() -> Double {
            geluForward(out: out.pointer, input: x.pointer, count: n)
            return weightedSum(out.pointer, upstream)
        }
        _ = loss()
        let dx = FloatBuffer(upstream)
        geluBackward(dInput: dx.pointer, dOut: dx.pointer, input: x.pointer, count: n)
        // Double-precision reference: exact GELU (libm tanh) differentiated by central differences.
        func geluDouble(_ x: Double) -> Double { 0.5 * x * (1 + tanhDouble(0.7978845608028654 * (x + 0.044715 * x * x * x))) }
        for i in 0..<n {
            let xi = Double(x[i]), h = 1e-5
            let reference = (geluDouble(xi + h) - geluDouble(xi - h)) / (2 * h) * Double(upstream[i])
            #expect(abs(Double(dx[i]) - reference) < 1e-5 * max(1, abs(reference)), "GELU' at \(xi)")
            #expect(abs(Double(out[i]) - geluDouble(xi)) < 1e-5 * max(1, abs(xi)))
        }
    }

    /// The erf GELU (transformers' "gelu") against its double-precision form and derivative.
    @Test func geluExact() {
        let n = 40
        let x = FloatBuffer(randomFloats(n, seed: 19, scale: 5)), upstream = randomFloats(n, seed: 20)
        let out = FloatBuffer(count: n), dx = FloatBuffer(upstream)
        geluExactForward(out: out.pointer, input: x.pointer, count: n)
        geluExactBackward(dInput: dx.pointer, dOut: dx.pointer, input: x.pointer, count: n)
        func geluDouble(_ x: Double) -> Double { 0.5 * x * (1 + erfDouble(x / 2.0.squareRoot())) }
        for i in 0..<n {
            let xi = Double(x[i]), h = 1e-5
            let reference = (geluDouble(xi + h) - geluDouble(xi - h)) / (2 * h) * Double(upstream[i])
            #expect(abs(Double(dx[i]) - reference) < 1e-5 * max(1, abs(reference)), "GELU' at \(xi)")
            #expect(abs(Double(out[i]) - geluDouble(xi)) < 1e-5 * max(1, abs(xi)))
        }
    }

    /// ReLU, SiLU (slope 1) and QuickGELU (slope 1.702), transformers' "relu", "silu", "quick_gelu", against
    /// their double-precision forms and central-difference derivatives (away from ReLU's kink).
    @Test(arguments: ["relu", "silu", "quick_gelu"])
    func pointwiseActivations(name: String) {
        let n = 40
        let x = FloatBuffer(randomFloats(n, seed: 29, scale: 5).map { abs($0) < 1e-3 ? 0.5 : $0 }), upstream = randomFloats(n, seed: 30)
        let out = FloatBuffer(count: n), dx = FloatBuffer(upstream)
        let slope: Double = name == "quick_gelu" ? 1.702 : 1
        func reference(_ x: Double) -> Double { name == "relu" ? max(x, 0) : x / (1 + Foundation_exp(-slope * x)) }
        switch name {
        case "relu":
            reluForward(out: out.pointer, input: x.pointer, count: n)
            reluBackward(dInput: dx.pointer, dOut: dx.pointer, input: x.pointer, count: n)
        default:
            sigmoidGatedForward(out: out.pointer, input: x.pointer, count: n, slope: Float(slope))
            sigmoidGatedBackward(dInput: dx.pointer, dOut: dx.pointer, input: x.pointer, count: n, slope: Float(slope))
        }
        for i in 0..<n {
            let xi = Double(x[i]), h = 1e-5
            let derivative = (reference(xi + h) - reference(xi - h)) / (2 * h) * Double(upstream[i])
            #expect(abs(Double(dx[i]) - derivative) < 1e-5 * max(1, abs(derivative)), "\(name)' at \(xi)")
            #expect(abs(Double(out[i]) - reference(xi)) < 1e-5 * max(1, abs(xi)), "\(name) at \(xi)")
        }
    }

    /// The rest of transformers' activations (`PointwiseActivation`) against their double-precision forms
    /// and central-difference derivatives, away from kinks and clips; at them, the side torch takes.
    @Test(arguments: ["relu6", "leaky_relu", "hardswish", "relu2", "sigmoid", "tanh", "linear", "mish", "sqrtsoftplus", "gelu_10", "laplace"])
    func transformersActivations(name: String) throws {
        let activation = try #require(PointwiseActivationCase(name))
        let kinks: [Double] = [-3, 0, 3, 6, 10]
        let xs = randomFloats(60, seed: 31, scale: 8).map(Double.init).filter { x in kinks.allSatisfy { abs(x - $0) > 1e-3 } } + [11, 25, -25]
        for x in xs {
            let h = 1e-5
            let slope = (activation.reference(x + h) - activation.reference(x - h)) / (2 * h)
            #expect(abs(Double(activation.value(Float(x))) - activation.reference(x)) < 2e-6 * max(1, abs(x)), "\(name) at \(x)")
            #expect(abs(Double(activation.derivative(Float(x))) - slope) < 1e-5 * max(1, abs(slope)), "\(name)' at \(x)")
        }
        for (x, derivative) in activation.atKinks {
            #expect(activation.derivative(x) == derivative, "\(name)' at \(x): torch's side of the kink")
        }
    }

    @Test func embedding() {
        let n = 5, c = 4, v = 6, p = 7
        let tokens: [Int32] = [1, 3, 1, 5, 0], positions: [Int32] = [0, 1, 2, 0, 6]
        let wte = FloatBuffer(randomFloats(v * c, seed: 11)), wpe = FloatBuffer(randomFloats(p * c, seed: 12))
        let upstream = randomFloats(n * c, seed: 13), out = FloatBuffer(count: n * c)
        func loss() -> Double {
            tokens.withUnsafeBufferPointer { t in
                positions.withUnsafeBufferPointer { q in
                    embeddingForward(out: out.pointer, tokens: t.baseAddress!, positions: q.baseAddress!, wte: wte.pointer,
                                     wpe: wpe.pointer, rows: n, channels: c)
                }
            }
            return weightedSum(out.pointer, upstream)
        }
        _ = loss()
        let dwte = FloatBuffer(count: v * c), dwpe = FloatBuffer(count: p * c), dy = FloatBuffer(upstream)
        tokens.withUnsafeBufferPointer { t in
            positions.withUnsafeBufferPointer { q in
                embeddingBackward(dWte: dwte.pointer, dWpe: dwpe.pointer, dOut: dy.pointer, tokens: t.baseAddress!,
                                  positions: q.baseAddress!, rows: n, channels: c)
            }
        }
        #expect(check.worstError(of: loss, perturbing: wte.pointer, analytic: dwte.pointer, indices: Array(0..<v * c)) < 3e-3)
        #expect(check.worstError(of: loss, perturbing: wpe.pointer, analytic: dwpe.pointer, indices: Array(0..<p * c)) < 3e-3)
    }

    /// Row blocks of 2 (of T = 5) exercise the blocked causal products; 64 covers one block.
    @Test(arguments: [false, true], [2, 64])
    func attention(withDropout: Bool, rowBlock: Int) {
        let b = 2, t = 5, c = 8, nh = 2
        let qkv = FloatBuffer(randomFloats(b * t * 3 * c, seed: 14, scale: 1.5))
        // Row 0 unpadded, row 1 left-padded by two.
        let mask: [Int32] = [1, 1, 1, 1, 1, 0, 0, 1, 1, 1]
        let upstream = randomFloats(b * t * c, seed: 15)
        let out = FloatBuffer(count: b * t * c), probs = FloatBuffer(count: b * nh * t * t)
        let s1 = FloatBuffer(count: t * t), s2 = FloatBuffer(count: t * t)
        let dropout = withDropout ? DropoutMask(probability: 0.3, generator: Philox(seed: 99), stream: 4) : nil
        func loss() -> Double {
            mask.withUnsafeBufferPointer { m in
                attentionForward(out: out.pointer, probs: probs.pointer, qkv: qkv.pointer, keyMask: m.baseAddress!,
                                 dropout: dropout, scratch: s1.pointer, batch: b, time: t, channels: c, heads: nh, rowBlock: rowBlock)
            }
            return weightedSum(out.pointer, upstream)
        }
        _ = loss()
        // Padded keys get zero probability; every live row sums to one; fully padded rows output zero.
        for h in 0..<nh {
            let row1 = probs.pointer + (1 * nh + h) * t * t
            for i in 2..<t {
                #expect(row1[i * t + 0] == 0 && row1[i * t + 1] == 0)
                var s: Float = 0
                for j in 0..<t { s += row1[i * t + j] }
                #expect(abs(s - 1) < 1e-5)
            }
        }
        for k in 0..<c { #expect(out[(1 * t + 0) * c + k] == 0) }
        let dqkv = FloatBuffer(count: b * t * 3 * c), dy = FloatBuffer(upstream)
        attentionBackward(dqkv: dqkv.pointer, dOut: dy.pointer, probs: probs.pointer, qkv: qkv.pointer, dropout: dropout,
                          scratch1: s1.pointer, scratch2: s2.pointer, batch: b, time: t, channels: c, heads: nh, rowBlock: rowBlock)
        let err = check.worstError(of: loss, perturbing: qkv.pointer, analytic: dqkv.pointer, indices: Array(0..<b * t * 3 * c))
        #expect(err < 3e-3, "attention gradient error \(err)")
    }

    /// Blocked causal products give the same outputs as one block, and match a naive reference.
    @Test func attentionBlockingMatchesNaive() {
        let b = 2, t = 7, c = 6, nh = 3, hs = 2
        let qkv = FloatBuffer(randomFloats(b * t * 3 * c, seed: 21, scale: 1.5))
        let mask: [Int32] = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1]
        let probs = FloatBuffer(count: b * nh * t * t), s = FloatBuffer(count: t * t)
        var outputs: [[Float]] = []
        for block in [64, 3, 1] {
            let out = FloatBuffer(count: b * t * c)
            mask.withUnsafeBufferPointer { m in
                attentionForward(out: out.pointer, probs: probs.pointer, qkv: qkv.pointer, keyMask: m.baseAddress!, dropout: nil,
                                 scratch: s.pointer, batch: b, time: t, channels: c, heads: nh, rowBlock: block)
            }
            outputs.append(out.array)
        }
        #expect(outputs[0] == outputs[1] || zip(outputs[0], outputs[1]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(zip(outputs[0], outputs[2]).allSatisfy { abs($0 - $1) < 1e-6 })
        // Naive reference in Double.
        for bi in 0..<b {
            for h in 0..<nh {
                for i in 0..<t {
                    let visible = (0...i).filter { mask[bi * t + $0] != 0 }
                    func at(_ row: Int, _ part: Int, _ d: Int) -> Double { Double(qkv[(bi * t + row) * 3 * c + part * c + h * hs + d]) }
                    let scores = visible.map { j in (0..<hs).reduce(0.0) { $0 + at(i, 0, $1) * at(j, 1, $1) } / Double(hs).squareRoot() }
                    let m = scores.max() ?? 0
                    let e = scores.map { Foundation_exp($0 - m) }
                    let z = e.reduce(0, +)
                    for d in 0..<hs {
                        let expected = visible.isEmpty ? 0 : zip(visible, e).reduce(0.0) { $0 + $1.1 / z * at($1.0, 2, d) }
                        #expect(abs(Double(outputs[2][(bi * t + i) * c + h * hs + d]) - expected) < 1e-5)
                    }
                }
            }
        }
    }

    @Test func crossEntropyWithMask() {
        let n = 4, v = 7
        let logits = FloatBuffer(randomFloats(n * v, seed: 16, scale: 3))
        let targets: [Int32] = [2, 0, 6, 3], weights: [Float] = [0.5, 0, 0.25, 0.25]
        func loss() -> Double {
            targets.withUnsafeBufferPointer { tg in
                weights.withUnsafeBufferPointer { w in
                    crossEntropyForwardBackward(dLogits: nil, logits: logits.pointer, targets: tg.baseAddress!,
                                                weights: w.baseAddress!, rows: n, vocab: v)
                }
            }
        }
        // Reference loss in Double.
        var expected = 0.0
        for r in 0..<n where weights[r] != 0 {
            let z = (0..<v).map { Double(logits[r * v + $0]) }
            let m = z.max()!
            let lse = m + (z.map { Foundation_exp($0 - m) }.reduce(0, +)).logValue
            expected += Double(weights[r]) * (lse - z[Int(targets[r])])
        }
        #expect(abs(loss() - expected) < 1e-5)
        let d = FloatBuffer(count: n * v)
        targets.withUnsafeBufferPointer { tg in
            weights.withUnsafeBufferPointer { w in
                _ = crossEntropyForwardBackward(dLogits: d.pointer, logits: logits.pointer, targets: tg.baseAddress!,
                                                weights: w.baseAddress!, rows: n, vocab: v)
            }
        }
        #expect(check.worstError(of: loss, perturbing: logits.pointer, analytic: d.pointer, indices: Array(0..<n * v)) < 3e-3)
        for j in 0..<v { #expect(d[1 * v + j] == 0) }
    }

    @Test func logProbsAndEntropy() {
        let n = 3, v = 6, temperature: Float = 0.7
        let logits = FloatBuffer(randomFloats(n * v, seed: 17, scale: 2))
        let targets: [Int32] = [1, 5, 0], gl: [Float] = [0.3, -1.2, 0.8], ge: [Float] = [0.5, 0.1, -0.4]
        let lp = FloatBuffer(count: n), ent = FloatBuffer(count: n)
        func loss() -> Double {
            targets.withUnsafeBufferPointer { tg in
                tokenLogProbs(logProbs: lp.pointer, entropy: ent.pointer, logits: logits.pointer, targets: tg.baseAddress!,
                              temperature: temperature, rows: n, vocab: v)
            }
            return weightedSum(lp.pointer, gl) + weightedSum(ent.pointer, ge)
        }
        _ = loss()
        // Reference values in Double.
        for r in 0..<n {
            let z = (0..<v).map { Double(logits[r * v + $0]) / Double(temperature) }
            let m = z.max()!
            let lse = m + z.map { Foundation_exp($0 - m) }.reduce(0, +).logValue
            let logp = z.map { $0 - lse }
            #expect(abs(Double(lp[r]) - logp[Int(targets[r])]) < 1e-5)
            let h = -logp.map { Foundation_exp($0) * $0 }.reduce(0, +)
            #expect(abs(Double(ent[r]) - h) < 1e-5)
        }
        let d = FloatBuffer(count: n * v)
        targets.withUnsafeBufferPointer { tg in
            gl.withUnsafeBufferPointer { g in
                ge.withUnsafeBufferPointer { e in
                    tokenLogProbsBackward(dLogits: d.pointer, logits: logits.pointer, targets: tg.baseAddress!, dLogProbs: g.baseAddress!,
                                          dEntropy: e.baseAddress!, temperature: temperature, rows: n, vocab: v)
                }
            }
        }
        #expect(check.worstError(of: loss, perturbing: logits.pointer, analytic: d.pointer, indices: Array(0..<n * v)) < 3e-3)
    }
}

/// One of `PointwiseActivation`'s functions with its double-precision reference and torch's derivatives at kinks.
struct PointwiseActivationCase {
    let value: (Float) -> Float
    let derivative: (Float) -> Float
    let reference: (Double) -> Double
    let atKinks: [(Float, Float)]

    init?(_ name: String) {
        func softplus(_ x: Double) -> Double { x > 20 ? x : log1pDouble(Foundation_exp(x)) }
        func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erfDouble(x / 2.0.squareRoot())) }
        typealias P = PointwiseActivation
        switch name {
        case "relu6": (value, derivative, reference, atKinks) = (P.relu6, P.relu6Derivative, { min(max($0, 0), 6) }, [(0, 0), (6, 0)])
        case "leaky_relu": (value, derivative, reference, atKinks) = (P.leakyRelu, P.leakyReluDerivative, { $0 > 0 ? $0 : 0.01 * $0 }, [(0, 0.01)])
        case "hardswish": (value, derivative, reference, atKinks) = (P.hardswish, P.hardswishDerivative, { $0 * min(max($0 + 3, 0), 6) / 6 }, [(-3, -0.5), (3, 1.5)])
        case "relu2": (value, derivative, reference, atKinks) = (P.reluSquared, P.reluSquaredDerivative, { max($0, 0) * max($0, 0) }, [(0, 0)])
        case "sigmoid": (value, derivative, reference, atKinks) = (P.sigmoid, P.sigmoidDerivative, { 1 / (1 + Foundation_exp(-$0)) }, [])
        case "tanh": (value, derivative, reference, atKinks) = (P.tanh, P.tanhDerivative, { tanhDouble($0) }, [])
        case "linear": (value, derivative, reference, atKinks) = (P.identity, P.identityDerivative, { $0 }, [])
        case "mish": (value, derivative, reference, atKinks) = (P.mish, P.mishDerivative, { $0 * tanhDouble(softplus($0)) }, [])
        case "sqrtsoftplus": (value, derivative, reference, atKinks) = (P.sqrtSoftplus, P.sqrtSoftplusDerivative, { softplus($0).squareRoot() }, [])
        case "gelu_10": (value, derivative, reference, atKinks) = (P.clippedGelu, P.clippedGeluDerivative, { min(max(gelu($0), -10), 10) }, [(10, 1), (10.5, 0)])
        case "laplace":
            (value, derivative, reference, atKinks) = (P.laplace, P.laplaceDerivative, { 0.5 * (1 + erfDouble(($0 - 0.707107) / (0.282095 * 2.0.squareRoot()))) }, [])
        default: return nil
        }
    }
}
