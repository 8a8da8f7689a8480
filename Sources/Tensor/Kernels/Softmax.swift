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
        let maxValue = vectorMax(z, count: v)
        let targetLogit = z[target]
        let sum: Float
        if let dLogits {
            let d = dLogits + row * v
            sum = expShiftedSum(out: d, z, shift: maxValue, count: v)
            let k = w / sum
            for j in 0..<v { d[j] *= k }
            d[target] -= w
        } else {
            sum = expShiftedSums(z, shift: maxValue, count: v).sum
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
        let m = vectorMax(z, count: v) * invT
        let (sum, weighted) = expShiftedSums(z, scale: invT, shift: m, count: v)
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
        let m = vectorMax(z, count: v) * invT
        // `d` may alias `z`: each pass reads only what the previous pass left in `d`.
        if ge == 0 {
            let sum = expShiftedSum(out: d, z, scale: invT, shift: m, count: v)
            let k = -gl / sum * invT
            for j in 0..<v { d[j] *= k }
        } else {
            let (sum, weighted) = expShiftedSums(z, scale: invT, shift: m, count: v)
            for j in 0..<v { d[j] = z[j] * invT - m }
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
