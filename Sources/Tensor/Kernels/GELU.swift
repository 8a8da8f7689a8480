#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let sqrtTwoOverPi: Float = 0.797_884_560_8

/// GELU, tanh approximation (GPT-2's "gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
public func geluForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    // Eight lanes at a time with the scalar tail's operations in the same order (the same bytes): the
    // compiler's own vectorisation of the scalar loop ran at about half the memory-bound speed.
    var i = 0
    while i + 8 <= count {
        let x = load8(input + i)
        let t = fastTanh(sqrtTwoOverPi * (x + 0.044715 * x * x * x))
        store8(0.5 * x * (1 + t), out + i)
        i += 8
    }
    while i < count {
        let x = input[i]
        let t = fastTanh(sqrtTwoOverPi * (x + 0.044715 * x * x * x))
        out[i] = 0.5 * x * (1 + t)
        i += 1
    }
}

/// dInput = dOut · GELU'(input) (overwrites; dInput may alias dOut).
public func geluBackward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    let cubicSlope: Float = 3 * 0.044715
    var i = 0
    while i + 8 <= count {   // eight lanes, the scalar tail's operations in the same order
        let x = load8(input + i)
        let t = fastTanh(sqrtTwoOverPi * (x + 0.044715 * x * x * x))
        let slope: SIMD8<Float> = 1 + cubicSlope * x * x
        let dt: SIMD8<Float> = (1 - t * t) * sqrtTwoOverPi * slope
        let local: SIMD8<Float> = 0.5 * (1 + t) + 0.5 * x * dt
        store8(load8(dOut + i) * local, dInput + i)
        i += 8
    }
    while i < count {
        let x = input[i]
        let t = fastTanh(sqrtTwoOverPi * (x + 0.044715 * x * x * x))
        let dt = (1 - t * t) * sqrtTwoOverPi * (1 + cubicSlope * x * x)
        dInput[i] = dOut[i] * (0.5 * (1 + t) + 0.5 * x * dt)
        i += 1
    }
}

private let inverseSqrtTwo: Float = 0.707_106_781_2
private let inverseSqrtTwoPi: Float = 0.398_942_280_4

/// GELU, exact (PyTorch's default, transformers' "gelu"): 0.5·x·(1 + erf(x/√2)).
@inline(__always)
func geluExact(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * inverseSqrtTwo)) }

/// The exact GELU's derivative: Φ(x) + x·φ(x).
@inline(__always)
func geluExactDerivative(_ x: Float) -> Float {
    let cdf = 0.5 * (1 + erff(x * inverseSqrtTwo))
    let pdf = inverseSqrtTwoPi * fastExp(-0.5 * x * x)
    return cdf + x * pdf
}

public func geluExactForward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = geluExact(input[i]) }
}

/// dInput = dOut · GELU'(input) for the exact GELU (overwrites; dInput may alias dOut).
public func geluExactBackward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, input: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { dInput[i] = dOut[i] * geluExactDerivative(input[i]) }
}
