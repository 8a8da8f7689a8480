#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensor

/// Picks one token from a row of logits (temperature, top-k, top-p, greedy) and reports its log-prob
/// under the temperature-scaled full distribution. `scratch` holds V floats; `order` V indices.
struct TokenSelector {
    let options: SamplingOptions
    let vocab: Int

    func select(logits z: UnsafeMutablePointer<Float>, uniform: Double, suppress: Int32?,
                scratch p: UnsafeMutablePointer<Float>, order: UnsafeMutablePointer<Int32>) -> (token: Int32, logProb: Float) {
        let v = vocab
        if let suppress { z[Int(suppress)] = -Float.infinity }
        let invT = 1 / options.temperature
        var maxValue = -Float.greatestFiniteMagnitude, argmax = 0
        for j in 0..<v where z[j] > maxValue { maxValue = z[j]; argmax = j }
        let m = maxValue * invT
        var sum: Float = 0
        for j in 0..<v { let e = z[j] == -Float.infinity ? 0 : fastExp(z[j] * invT - m); p[j] = e; sum += e }
        let logSum = log(sum)
        func logProb(_ j: Int) -> Float { z[j] * invT - m - logSum }
        if options.greedy { return (Int32(argmax), logProb(argmax)) }

        // Candidates: all tokens, or the top-k / top-p set (by descending probability).
        var candidates = v
        var useOrder = false
        if (options.topK > 0 && options.topK < v) || options.topP < 1 {
            for j in 0..<v { order[j] = Int32(j) }
            var sorted = UnsafeMutableBufferPointer(start: order, count: v)
            sorted.sort { p[Int($0)] > p[Int($1)] || (p[Int($0)] == p[Int($1)] && $0 < $1) }
            useOrder = true
            if options.topK > 0 { candidates = min(candidates, options.topK) }
            if options.topP < 1 {
                let target = options.topP * sum
                var cumulative: Float = 0
                for r in 0..<candidates {
                    cumulative += p[Int(order[r])]
                    if cumulative >= target { candidates = r + 1; break }
                }
            }
        }
        var total: Double = 0
        for r in 0..<candidates { total += Double(p[useOrder ? Int(order[r]) : r]) }
        let threshold = uniform * total
        var running: Double = 0
        var chosen = argmax  // only kept if rounding leaves `running` short of the threshold
        for r in 0..<candidates {
            let j = useOrder ? Int(order[r]) : r
            guard p[j] > 0 else { continue }
            chosen = j
            running += Double(p[j])
            if running > threshold { break }
        }
        return (Int32(chosen), logProb(chosen))
    }
}
