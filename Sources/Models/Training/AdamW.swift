#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensor

/// AdamW (Loshchilov & Hutter): Adam with bias correction and decoupled weight decay, one loop over
/// the flat parameter buffer. Decay applies to tensors with `decays` (matrices and embeddings: rank ≥ 2);
/// biases and LayerNorm gains are never decayed. The moments share the parameter layout, so they can
/// be checkpointed as named tensors and PPO can resume.
public final class AdamW: @unchecked Sendable {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public let m: FloatBuffer
    public let v: FloatBuffer
    /// Number of completed steps (bias correction uses step + 1 on the next update).
    public var step: Int = 0

    public init(parameterCount: Int, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        m = FloatBuffer(count: parameterCount)
        v = FloatBuffer(count: parameterCount)
    }

    public convenience init(for model: GPTModel, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.init(parameterCount: model.parameterCount, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    }

    /// One update of `model.parameters` from `model.gradients` with learning rate `lr`.
    ///
    /// `gradientScale` multiplies each gradient as it is read (`gradientClipScale`'s factor): the same
    /// result as scaling `model.gradients` first, without a pass over them (they are left unscaled).
    /// With a `pool`, fixed element ranges update in parallel: each element's arithmetic is the same,
    /// so the bytes are too.
    public func update(_ model: GPTModel, learningRate lr: Float, gradientScale: Float = 1, pool: WorkerPool? = nil) {
        precondition(m.count == model.parameterCount, "AdamW: state sized for \(m.count) parameters, model has \(model.parameterCount)")
        step += 1
        let b1 = beta1, b2 = beta2, eps = epsilon
        let correction1 = 1 / (1 - Float(pow(Double(b1), Double(step))))
        let correction2 = 1 / (1 - Float(pow(Double(b2), Double(step))))
        let params = model.parameters.pointer, grads = model.gradients.pointer, mp = m.pointer, vp = v.pointer
        // (tensor, range) pieces of at most `chunk` elements.
        let chunk = 1 << 16
        var pieces: [(decays: Bool, start: Int, end: Int)] = []
        for tensor in model.layout.tensors {
            for start in stride(from: tensor.offset, to: tensor.offset + tensor.count, by: chunk) {
                pieces.append((tensor.decays, start, min(start + chunk, tensor.offset + tensor.count)))
            }
        }
        let weightDecay = self.weightDecay
        func run(_ index: Int) {
            let piece = pieces[index]
            let decay = piece.decays ? lr * weightDecay : 0
            let start = piece.start, end = piece.end
            // Eight lanes at a time (Swift does not vectorise this loop: the four buffers may alias),
            // with the scalar loop's operations in the same order, so every element is bitwise the same.
            var i = start
            while i + 8 <= end {
                let g = load8(grads + i) * gradientScale, p = load8(params + i)
                let mi = b1 * load8(mp + i) + (1 - b1) * g
                let vi = b2 * load8(vp + i) + (1 - b2) * g * g
                store8(mi, mp + i)
                store8(vi, vp + i)
                let mHat = mi * correction1, vHat = vi * correction2
                store8(p - (lr * mHat / (vHat.squareRoot() + eps) + decay * p), params + i)
                i += 8
            }
            while i < end {
                let g = grads[i] * gradientScale
                let mi = b1 * mp[i] + (1 - b1) * g
                let vi = b2 * vp[i] + (1 - b2) * g * g
                mp[i] = mi
                vp[i] = vi
                let mHat = mi * correction1, vHat = vi * correction2
                params[i] -= lr * mHat / (vHat.squareRoot() + eps) + decay * params[i]
                i += 1
            }
        }
        if let pool { pool.run(tasks: pieces.count, run) } else { for index in pieces.indices { run(index) } }
    }
}

@inline(__always) private func load8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) private func store8(_ x: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: x, as: SIMD8<Float>.self)
}

/// Scales the gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ model: GPTModel, maxNorm: Float) -> Float {
    let (norm, factor) = gradientClipScale(model, maxNorm: maxNorm)
    if factor != 1 { scale(model.gradients.pointer, by: factor, count: model.parameterCount) }
    return norm
}

/// The global L2 norm of the gradients and the factor `clipGradientNorm` would scale them by (1 when
/// within `maxNorm`), for `AdamW.update(_:learningRate:gradientScale:)` to apply on the fly. With a
/// `pool`, the norm's block sums run on its threads (the same bytes).
public func gradientClipScale(_ model: GPTModel, maxNorm: Float, pool: WorkerPool? = nil) -> (norm: Float, scale: Float) {
    let gradients = UnsafePointer(model.gradients.pointer), count = model.parameterCount
    let squares = pool.map { $0.sumOfSquares(gradients, count: count) } ?? sumOfSquares(gradients, count: count)
    let norm = Float(squares.squareRoot())
    return (norm, maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1)
}
