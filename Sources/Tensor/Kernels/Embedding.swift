/// out[n] = wte[tokens[n]] + wpe[positions[n]] for N rows of C channels.
public func embeddingForward(
    out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>, positions: UnsafePointer<Int32>,
    wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>, rows n: Int, channels c: Int
) {
    for row in 0..<n {
        let t = wte + Int(tokens[row]) * c, p = wpe + Int(positions[row]) * c, o = out + row * c
        for i in 0..<c { o[i] = t[i] + p[i] }
    }
}

/// dWte[tokens[n]] += dOut[n]; dWpe[positions[n]] += dOut[n].
public func embeddingBackward(
    dWte: UnsafeMutablePointer<Float>, dWpe: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
    tokens: UnsafePointer<Int32>, positions: UnsafePointer<Int32>, rows n: Int, channels c: Int
) {
    for row in 0..<n {
        let d = dOut + row * c
        accumulate(dWte + Int(tokens[row]) * c, d, count: c)
        accumulate(dWpe + Int(positions[row]) * c, d, count: c)
    }
}
