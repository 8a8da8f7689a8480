#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fused softmax cross-entropy over N rows of V logits with per-row weights (0 masks a row out).
///
/// Returns Σ_n weight[n] · (−log softmax(logits[n])[target[n]]) in Double and writes
/// dLogits[n] = weight[n] · (softmax(logits[n]) − onehot(target[n])). `dLogits` may alias `logits`
/// (in-place, saves a [N, V] buffer). For a mean loss pass weight = mask / Σ mask.
public func crossEntropyForwardBackward(
    dLogits: UnsafeMutablePointer<Float>?, logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
    weights: UnsafePointer<Float>, rows n: Int, vocab v: Int
) -> Double {
    var loss: Double = 0
    for row in 0..<n {
        let z = logits + row * v
        let w = weights[row]
        if w == 0 {
            if let dLogits { (dLogits + row * v).update(repeating: 0, count: v) }
            continue
        }
        let target = Int(targets[row])
        precondition(target >= 0 && target < v, "cross-entropy target \(target) outside vocabulary 0..<\(v)")
        var maxValue = -Float.greatestFiniteMagnitude
        for j in 0..<v { maxValue = max(maxValue, z[j]) }
        let targetLogit = z[target]
        var sum: Float = 0
        if let dLogits {
            let d = dLogits + row * v
            for j in 0..<v { let e = fastExp(z[j] - maxValue); d[j] = e; sum += e }
            let k = w / sum
            for j in 0..<v { d[j] *= k }
            d[target] -= w
        } else {
            for j in 0..<v { sum += fastExp(z[j] - maxValue) }
        }
        loss += Double(w) * (Double(log(sum)) + Double(maxValue) - Double(targetLogit))
    }
    return loss
}

/// Per-row log-probability of `targets` under softmax(logits / temperature), and optionally the
/// entropy of that distribution. Writes logProbs [N] and entropy [N].
public func tokenLogProbs(
    logProbs: UnsafeMutablePointer<Float>, entropy: UnsafeMutablePointer<Float>?,
    logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, temperature: Float = 1,
    rows n: Int, vocab v: Int
) {
    let invT = 1 / temperature
    for row in 0..<n {
        let z = logits + row * v
        var maxValue = -Float.greatestFiniteMagnitude
        for j in 0..<v { maxValue = max(maxValue, z[j]) }
        let m = maxValue * invT
        var sum: Float = 0, weighted: Float = 0
        if entropy != nil {
            for j in 0..<v { let s = z[j] * invT; let e = fastExp(s - m); sum += e; weighted += e * (s - m) }
        } else {
            for j in 0..<v { sum += fastExp(z[j] * invT - m) }
        }
        let logSum = log(sum)
        logProbs[row] = z[Int(targets[row])] * invT - m - logSum
        // H = log S − Σ p·(z − m)
        entropy?[row] = logSum - weighted / sum
    }
}

/// Gradient of Σ_n (dLogProbs[n] · logp_n + dEntropy[n] · H_n) with respect to the raw logits
/// (before the temperature division). Overwrites dLogits [N, V]; rows whose upstream gradients are
/// both zero become zero.
public func tokenLogProbsBackward(
    dLogits: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
    dLogProbs: UnsafePointer<Float>, dEntropy: UnsafePointer<Float>?, temperature: Float = 1,
    rows n: Int, vocab v: Int
) {
    let invT = 1 / temperature
    for row in 0..<n {
        let z = logits + row * v, d = dLogits + row * v
        let gl = dLogProbs[row], ge = dEntropy?[row] ?? 0
        if gl == 0 && ge == 0 { d.update(repeating: 0, count: v); continue }
        var maxValue = -Float.greatestFiniteMagnitude
        for j in 0..<v { maxValue = max(maxValue, z[j]) }
        let m = maxValue * invT
        // `d` may alias `z`: each pass reads only what the previous pass left in `d`.
        var sum: Float = 0
        if ge == 0 {
            for j in 0..<v { let e = fastExp(z[j] * invT - m); d[j] = e; sum += e }
            let k = -gl / sum * invT
            for j in 0..<v { d[j] *= k }
        } else {
            var weighted: Float = 0
            for j in 0..<v { let s = z[j] * invT - m; d[j] = s; let e = fastExp(s); sum += e; weighted += e * s }
            let logSum = log(sum), inv = 1 / sum
            let entropy = logSum - weighted * inv
            // d logp_target / dz_j = onehot − p_j ;  dH/dz_j = −p_j · (log p_j + H)
            for j in 0..<v {
                let s = d[j]
                let p = fastExp(s) * inv
                d[j] = (-gl * p - ge * p * (s - logSum + entropy)) * invT
            }
        }
        d[Int(targets[row])] += gl * invT
    }
}

/// In-place numerically stable softmax of each of N rows of V values.
public func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows n: Int, columns v: Int) {
    for row in 0..<n {
        let z = x + row * v
        var maxValue = -Float.greatestFiniteMagnitude
        for j in 0..<v { maxValue = max(maxValue, z[j]) }
        var sum: Float = 0
        for j in 0..<v { let e = fastExp(z[j] - maxValue); z[j] = e; sum += e }
        let inv = 1 / sum
        for j in 0..<v { z[j] *= inv }
    }
}
