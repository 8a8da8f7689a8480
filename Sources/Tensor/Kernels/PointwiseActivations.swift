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
