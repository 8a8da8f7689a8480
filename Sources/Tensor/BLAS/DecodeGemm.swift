#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CKernels

/// GEMM for a few rows against a weight matrix, and single-query attention: the KV-cached decode step,
/// where each of B sequences contributes one row. OpenBLAS packs the whole weight matrix on every call, which for 16 rows costs
/// about as much as the multiply; the AVX2 + FMA kernels in `CKernels` stream W in place instead.
///
/// Deterministic: each output sums over k in ascending order with one FMA per term (the transposed
/// form keeps eight interleaved partial sums combined in a fixed tree), independent of alignment,
/// blocking and threads. The bytes differ from OpenBLAS's in the last bits, so `path` is part of a
/// stage key's numeric environment.
public enum DecodeGemm {
    public enum Path: String, Sendable, CaseIterable {
        /// pipe's AVX2 + FMA kernels: the decode step's register-blocked GEMM and single-query attention
        /// (since v1) and the causal attention products of training and scoring (`CausalProducts`, v2).
        /// The suffix versions their summation order: bump it when that changes (it is in stage keys).
        case avx2FMA = "avx2-fma-v2"
        /// `cblas_sgemm` / `cblas_sgemv` (CPUs without AVX2/FMA, or forced with `PIPE_DECODE_GEMM=openblas`).
        case openBLAS = "openblas"
    }

    /// Rows up to which callers should prefer `multiply` over `sgemm` (a decode step's batch).
    public static let maxRows = 64

    /// `PIPE_DECODE_GEMM` = `auto` (default: the kernels when the CPU has AVX2 + FMA), `openblas`, or
    /// `avx2-fma-v2`. Read once per process; stage processes inherit it with the rest of the environment.
    public static let pathVariable = "PIPE_DECODE_GEMM"

    /// Whether this CPU (and OS) can run the AVX2 + FMA kernels (CPUID is asked once: in a VM it traps).
    public static let kernelsSupported: Bool = pipe_small_gemm_supported() != 0

    /// The path this process takes (see `pathVariable`).
    public static let path: Path = {
        do { return try resolvePath(requested: getenv(pathVariable).map { String(cString: $0) }) } catch {
            fatalError("\(error)")
        }
    }()

    /// The path for a `PIPE_DECODE_GEMM` value (nil = unset).
    public static func resolvePath(requested: String?) throws(DecodeGemmError) -> Path {
        let value = requested?.trimmingSpaces.lowercased() ?? ""
        if value.isEmpty || value == "auto" { return kernelsSupported ? .avx2FMA : .openBLAS }
        guard let path = Path(rawValue: value) else {
            throw DecodeGemmError(description: "\(pathVariable)=\(requested ?? ""): expected one of auto, \(Path.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if path == .avx2FMA && !kernelsSupported {
            throw DecodeGemmError(description: "\(pathVariable)=\(value): this CPU lacks AVX2/FMA; unset it or use openblas")
        }
        return path
    }

    /// Y[m, n] (+)= X[m, k] · W, row-major with row strides ldx/ldw/ldy. W is [k, n] (GPT-2's Conv1D
    /// layout), or [n, k] when `transposedWeight` (the tied LM head reads the token embedding so).
    /// `accumulate` adds to Y; otherwise Y is overwritten without being read (like beta = 0).
    @inline(__always)
    public static func multiply(
        m: Int, n: Int, k: Int, x: UnsafePointer<Float>, ldx: Int, w: UnsafePointer<Float>, ldw: Int,
        transposedWeight: Bool = false, y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool,
        path: Path = DecodeGemm.path
    ) {
        switch path {
        case .avx2FMA:
            precondition(kernelsSupported, "DecodeGemm: the \(Path.avx2FMA.rawValue) kernels need a CPU with AVX2 and FMA")
            if transposedWeight {
                pipe_small_gemm_nt(m, n, k, x, ldx, w, ldw, y, ldy, accumulate ? 1 : 0)
            } else {
                pipe_small_gemm_nn(m, n, k, x, ldx, w, ldw, y, ldy, accumulate ? 1 : 0)
            }
        case .openBLAS:
            sgemm(transB: transposedWeight, m: m, n: n, k: k, a: x, lda: ldx, b: w, ldb: ldw,
                  beta: accumulate ? 1 : 0, c: y, ldc: ldy)
        }
    }

    /// One query's attention scores over `count` cached keys (rows of `headSize`, row stride `keyStride`):
    /// scores[j] = scale · (query · key_j). The OpenBLAS path is `sgemv`.
    @inline(__always)
    public static func attentionScores(
        count: Int, headSize: Int, query: UnsafePointer<Float>, keys: UnsafePointer<Float>, keyStride: Int,
        scale: Float, scores: UnsafeMutablePointer<Float>, path: Path = DecodeGemm.path
    ) {
        switch path {
        case .avx2FMA:
            precondition(kernelsSupported, "DecodeGemm: the \(Path.avx2FMA.rawValue) kernels need a CPU with AVX2 and FMA")
            pipe_attention_scores(count, headSize, query, keys, keyStride, scale, scores)
        case .openBLAS:
            sgemv(m: count, n: headSize, alpha: scale, a: keys, lda: keyStride, x: query, y: scores)
        }
    }

    /// The attention output of one query: out[0..<headSize] = Σ_j weights[j] · value_j over `count`
    /// cached values (row stride `valueStride`). The OpenBLAS path is a transposed `sgemv`.
    @inline(__always)
    public static func attentionMix(
        count: Int, headSize: Int, weights: UnsafePointer<Float>, values: UnsafePointer<Float>, valueStride: Int,
        out: UnsafeMutablePointer<Float>, path: Path = DecodeGemm.path
    ) {
        switch path {
        case .avx2FMA:
            precondition(kernelsSupported, "DecodeGemm: the \(Path.avx2FMA.rawValue) kernels need a CPU with AVX2 and FMA")
            pipe_attention_mix(count, headSize, weights, values, valueStride, out)
        case .openBLAS:
            sgemv(trans: true, m: count, n: headSize, a: values, lda: valueStride, x: weights, y: out)
        }
    }

    /// Requests `count` floats from `start` into the cache ahead of use (results are unaffected).
    @inline(__always)
    public static func prefetch(_ start: UnsafePointer<Float>, count: Int) {
        pipe_prefetch(start, count * MemoryLayout<Float>.stride)
    }

    /// `linearForward` for a few rows: out[N, OC] = input[N, IC] · weight[IC, OC] + bias[OC].
    public static func linearForward(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, rows n: Int, inChannels ic: Int, outChannels oc: Int, path: Path = DecodeGemm.path
    ) {
        if let bias {
            for row in 0..<n { (out + row * oc).update(from: bias, count: oc) }
        }
        multiply(m: n, n: oc, k: ic, x: input, ldx: ic, w: weight, ldw: oc, y: out, ldy: oc,
                 accumulate: bias != nil, path: path)
    }
}

public struct DecodeGemmError: Error, CustomStringConvertible {
    public let description: String
}

private extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
