#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The other MLP activations transformers' GPT-2 accepts (`activation_function`), as torch computes them.
// Each backward overwrites dInput = dOut · f'(input); dInput may alias dOut.

/// ReLU ("relu"): max(0, x).
public func reluForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = max(input[i], 0) }
}

public func reluBackward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { dInput[i] = input[i] > 0 ? dOut[i] : 0 }
}

/// x·σ(a·x): SiLU ("silu", "swish") for a = 1, QuickGELU ("quick_gelu") for a = 1.702.
public func sigmoidGatedForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int, slope: Float) {
    for i in 0..<count {
        let x = input[i]
        out[i] = x / (1 + expf(-slope * x))
    }
}

/// d/dx x·σ(a·x) = σ(a·x)·(1 + a·x·(1 − σ(a·x))).
public func sigmoidGatedBackward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                 count: Int, slope: Float) {
    for i in 0..<count {
        let x = input[i]
        let s = 1 / (1 + expf(-slope * x))
        dInput[i] = dOut[i] * s * (1 + slope * x * (1 - s))
    }
}

/// out = f(input), for the activations without a loop of their own (`PointwiseActivation`).
@inline(__always)
public func pointwiseForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int, _ f: (Float) -> Float) {
    for i in 0..<count { out[i] = f(input[i]) }
}

/// dInput = dOut · f'(input) (overwrites; dInput may alias dOut).
@inline(__always)
public func pointwiseBackward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, input: UnsafePointer<Float>,
                              count: Int, _ derivative: (Float) -> Float) {
    for i in 0..<count { dInput[i] = dOut[i] * derivative(input[i]) }
}

/// The rest of transformers' `ACT2FN` that GPT-2 may name, each as torch computes it in Float32, and the
/// derivative torch's autograd uses (at a kink, the side torch takes).
public enum PointwiseActivation {
    /// "relu6": min(max(x, 0), 6) (torch's hardtanh: no gradient at 0 or 6).
    public static func relu6(_ x: Float) -> Float { min(max(x, 0), 6) }
    public static func relu6Derivative(_ x: Float) -> Float { x > 0 && x < 6 ? 1 : 0 }

    /// "leaky_relu": slope 0.01 below zero.
    public static func leakyRelu(_ x: Float) -> Float { x > 0 ? x : x * 0.01 }
    public static func leakyReluDerivative(_ x: Float) -> Float { x > 0 ? 1 : 0.01 }

    /// "hardswish": x · relu6(x + 3) / 6.
    public static func hardswish(_ x: Float) -> Float { x * min(max(x + 3, 0), 6) / 6 }
    public static func hardswishDerivative(_ x: Float) -> Float { x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1 }

    /// "relu2": relu(x)².
    public static func reluSquared(_ x: Float) -> Float { let r = max(x, 0); return r * r }
    public static func reluSquaredDerivative(_ x: Float) -> Float { 2 * max(x, 0) }

    /// "sigmoid": 1 / (1 + e^−x).
    public static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
    public static func sigmoidDerivative(_ x: Float) -> Float { let y = sigmoid(x); return (1 - y) * y }

    /// "tanh".
    public static func tanh(_ x: Float) -> Float { tanhf(x) }
    public static func tanhDerivative(_ x: Float) -> Float { let y = tanhf(x); return 1 - y * y }

    /// "linear": the identity.
    public static func identity(_ x: Float) -> Float { x }
    public static func identityDerivative(_ x: Float) -> Float { 1 }

    /// torch's softplus (β 1, threshold 20): x above the threshold, log(1 + eˣ) below.
    static func softplus(_ x: Float) -> Float { x > 20 ? x : log1pf(expf(x)) }

    /// "mish": x · tanh(softplus(x)).
    public static func mish(_ x: Float) -> Float { x * tanhf(log1pf(expf(x))) }
    public static func mishDerivative(_ x: Float) -> Float {
        let t = tanhf(log1pf(expf(x)))
        return t + x * sigmoid(x) * (1 - t * t)
    }

    /// "sqrtsoftplus": √softplus(x).
    public static func sqrtSoftplus(_ x: Float) -> Float { softplus(x).squareRoot() }
    public static func sqrtSoftplusDerivative(_ x: Float) -> Float {
        let z = expf(x)
        return (x > 20 ? 1 : z / (z + 1)) / (2 * softplus(x).squareRoot())
    }

    /// "gelu_10": the erf GELU clipped to [−10, 10] (no gradient where the clip applies).
    public static func clippedGelu(_ x: Float) -> Float { min(max(geluExact(x), -10), 10) }
    public static func clippedGeluDerivative(_ x: Float) -> Float {
        let gelu = geluExact(x)
        return gelu >= -10 && gelu <= 10 ? geluExactDerivative(x) : 0
    }

    /// "laplace" (MEGA): 0.5 · (1 + erf((x − μ) / (σ√2))), μ = 0.707107, σ = 0.282095.
    static let laplaceMean: Float = 0.707_107
    static let laplaceScale = Float(0.282_095 * 2.0.squareRoot())
    public static func laplace(_ x: Float) -> Float { 0.5 * (1 + erff((x - laplaceMean) / laplaceScale)) }
    public static func laplaceDerivative(_ x: Float) -> Float {
        let z = (x - laplaceMean) / laplaceScale
        return expf(-z * z) / (Float.pi.squareRoot() * laplaceScale)
    }
}
