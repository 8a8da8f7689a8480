#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let sqrtTwoOverPi: Float = 0.797_884_560_8

/// GELU, tanh approximation (GPT-2's "gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
public func geluForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let x = input[i]
        let t = fastTanh(sqrtTwoOverPi * (x + 0.044715 * x * x * x))
        out[i] = 0.5 * x * (1 + t)
    }
}

/// dInput = dOut · GELU'(input) (overwrites; dInput may alias dOut).
public func geluBackward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let x = input[i]
        let t = fastTanh(sqrtTwoOverPi * (x + 0.044715 * x * x * x))
        let dt = (1 - t * t) * sqrtTwoOverPi * (1 + 3 * 0.044715 * x * x)
        dInput[i] = dOut[i] * (0.5 * (1 + t) + 0.5 * x * dt)
    }
}

private let inverseSqrtTwo: Float = 0.707_106_781_2
private let inverseSqrtTwoPi: Float = 0.398_942_280_4

/// GELU, exact (PyTorch's default, transformers' "gelu"): 0.5·x·(1 + erf(x/√2)).
public func geluExactForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let x = input[i]
        out[i] = 0.5 * x * (1 + erff(x * inverseSqrtTwo))
    }
}

/// dInput = dOut · GELU'(input) for the exact GELU: Φ(x) + x·φ(x) (overwrites; dInput may alias dOut).
public func geluExactBackward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let x = input[i]
        let cdf = 0.5 * (1 + erff(x * inverseSqrtTwo))
        let pdf = inverseSqrtTwoPi * fastExp(-0.5 * x * x)
        dInput[i] = dOut[i] * (cdf + x * pdf)
    }
}
