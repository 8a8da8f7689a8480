#ifndef PIPE_CKERNELS_H
#define PIPE_CKERNELS_H

// Kernels of the KV-cached decode step: small-M single-precision GEMM (a few rows against a weight
// matrix) and single-query attention. Row-major throughout; no packing of the weights. Every output is
// summed over k in ascending order with one fused multiply-add per term (dot products: eight
// interleaved partial sums, combined in a fixed tree), so results depend only on the inputs — never on
// alignment, blocking or threads.

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU has AVX2 and FMA and the OS saves YMM state; the GEMM and attention kernels below
/// may only be called then (callers fall back to BLAS otherwise).
int pipe_small_gemm_supported(void);

/// Y[m, n] (+)= X[m, k] · W[k, n]. W is [in, out] (GPT-2 Conv1D layout). `accumulate` = 0 overwrites Y
/// without reading it (NaN in Y does not leak through), 1 adds to it.
void pipe_small_gemm_nn(long m, long n, long k, const float *x, long ldx, const float *w, long ldw,
                        float *y, long ldy, int accumulate);

/// Y[m, n] (+)= X[m, k] · W[n, k]ᵀ: W is [out, in] (the tied LM head reads the token embedding so).
void pipe_small_gemm_nt(long m, long n, long k, const float *x, long ldx, const float *w, long ldw,
                        float *y, long ldy, int accumulate);

/// One query against `count` cached keys (rows of `hs` floats, row stride ldk):
/// scores[j] = scale · (q · key_j), the dot product summed like one NT output above, then scaled.
void pipe_attention_scores(long count, long hs, const float *q, const float *keys, long ldk, float scale,
                           float *scores);

/// y[0..<hs] = Σ_j weights[j] · value_j over `count` cached values (row stride ldv), summed over j in
/// ascending order with one FMA per term, from zero.
void pipe_attention_mix(long count, long hs, const float *weights, const float *values, long ldv, float *y);

/// Asks the cache for the lines of [start, start + bytes) ahead of use (no effect on results). The
/// decode step's attention reads one short cached block per head; the hardware prefetchers ramp up
/// too late on blocks that short.
void pipe_prefetch(const void *start, long bytes);

// Causal self-attention products for a whole sequence of one head (training and scoring; see
// CausalAttentionKernels.c for the summation order). The second operand is first packed into panels
// of 16 columns: `pipe_causal_panel_floats(k, n)` floats for a [k, n] operand.

long pipe_causal_panel_floats(long k, long n);

/// Panels of B[k, n] (row stride ldb).
void pipe_causal_pack(long k, long n, const float *b, long ldb, float *panels);

/// Panels of Bᵀ[k, n] from B[n, k] (row stride ldb).
void pipe_causal_pack_transposed(long n, long k, const float *b, long ldb, float *panels);

/// S[i, j] = alpha · Σ_p X[i, p] · B[p, j] for j below the end of row i's 6-row tile (the causal
/// triangle by tiles; S's other entries are not written). B is [hs, t] in panels.
void pipe_causal_scores(long t, long hs, const float *x, long ldx, const float *panels, float alpha,
                        float *s, long lds);

/// Y[i, :] = Σ_{q < end of row i's tile} P[i, q] · B[q, :] (P zero above the diagonal). B is [t, n] in panels.
void pipe_causal_mix(long t, long n, const float *p, long ldp, const float *panels, float *y, long ldy);

/// Y[i, :] = Σ_{q ≥ start of row i's tile} P[q, i] · B[q, :] (Pᵀ times B; P zero above the diagonal).
void pipe_causal_mix_transposed(long t, long n, const float *p, long ldp, const float *panels, float *y,
                                long ldy);

#ifdef __cplusplus
}
#endif

#endif
