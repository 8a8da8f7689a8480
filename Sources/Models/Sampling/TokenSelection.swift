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
        let invT = 1 / options.temperature
        let maxLogit = vectorMax(z, count: v)
        let m = maxLogit * invT
        var sum = expShiftedSum(out: p, z, scale: invT, shift: m, count: v)
        let logSum = log(sum)  // of the full distribution, before suppression: what a re-forward computes
        func logProb(_ j: Int) -> Float { z[j] * invT - m - logSum }
        if let suppress {
            sum -= p[Int(suppress)]
            p[Int(suppress)] = 0
        }
        if options.greedy {
            var argmax = 0
            var best = -Float.infinity
            for j in 0..<v where p[j] > 0 && z[j] > best { best = z[j]; argmax = j }
            return (Int32(argmax), logProb(argmax))
        }

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
        var chosen = -1
        if useOrder {
            var total: Float = 0
            for r in 0..<candidates { total += p[Int(order[r])] }
            let threshold = Float(uniform) * total
            var running: Float = 0
            for r in 0..<candidates {
                let j = Int(order[r])
                guard p[j] > 0 else { continue }
                chosen = j
                running += p[j]
                if running > threshold { break }
            }
        } else {
            // Full distribution: skip whole blocks of eight by their SIMD sums, then scan one block.
            let threshold = Float(uniform) * sum
            var running: Float = 0
            var j = 0
            while j + 8 <= v {
                let block = UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self).sum()
                if running + block > threshold { break }
                running += block
                j += 8
            }
            while j < v {
                if p[j] > 0 {
                    chosen = j
                    running += p[j]
                    if running > threshold { break }
                }
                j += 1
            }
        }
        if chosen < 0 || p[chosen] == 0 {
            // Rounding left the running sum short of the threshold: take the last possible token.
            chosen = (0..<v).last { p[$0] > 0 } ?? 0
        }
        return (Int32(chosen), logProb(chosen))
    }
}
