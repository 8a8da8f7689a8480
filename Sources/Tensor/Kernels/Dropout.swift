/// Inverted dropout whose mask is a pure function of (seed, stream, element index): the backward pass
/// regenerates the mask instead of storing it.
public struct DropoutMask: Sendable {
    public let probability: Float
    public let generator: Philox
    public let stream: UInt64

    public init(probability: Float, generator: Philox, stream: UInt64) {
        precondition(probability >= 0 && probability < 1, "dropout probability must be in [0, 1), got \(probability)")
        self.probability = probability
        self.generator = generator
        self.stream = stream
    }

    /// Multiplies x[i] by 0 (dropped) or 1/(1−p) (kept), for the elements `first ..< first+count` of the stream.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int, first: Int = 0) {
        let keepScale = 1 / (1 - probability)
        // Compare raw 32-bit words against p·2³²: no float conversion in the inner loop.
        let threshold = UInt32(min(Double(probability) * 4_294_967_296.0, 4_294_967_295.0))
        var i = 0
        while i < count {
            let index = first + i
            let word = generator.block(stream: stream, counter: UInt64(index >> 2))
            var lane = index & 3
            while lane < 4 && i < count {
                x[i] *= word[lane] < threshold ? 0 : keepScale
                lane += 1
                i += 1
            }
        }
    }
}
