// Kernels of the KV-cached decode step. Small-M GEMM: a handful of rows (the batch) against a weight
// matrix that OpenBLAS would pack whole on every call; here W is read in place, for fixed k 16
// consecutive output columns being one 64-byte line. Single-query attention: scores over the cached
// keys and the weighted sum of cached values. AVX2 + FMA, chosen at run time (pipe_small_gemm_supported).
#include "CKernels.h"

#include <stdint.h>
#include <string.h>

void pipe_prefetch(const void *start, long bytes) {
    const char *p = (const char *)start;
    for (long offset = 0; offset < bytes; offset += 64) __builtin_prefetch(p + offset, 0, 3);
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int pipe_small_gemm_supported(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned int fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28;
    if ((ecx & (fma | osxsave | avx)) != (fma | osxsave | avx)) return 0;
    unsigned int xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0x6u) != 0x6u) return 0;  // the OS saves XMM and YMM state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx & (1u << 5)) != 0;  // AVX2
}

#include "KernelSupport.h"

// ---- NN: Y[m, n] (+)= X[m, k] · W[k, n] ---------------------------------------------------------------

// NN_DEPTH rows of W form one k block: traversing all its column blocks walks NN_DEPTH pages side by
// side, each sequentially, so the TLB holds them. (Whole-depth column strips instead put every W row
// on its own page, and the hardware prefetchers do not cross pages: the multiply then waits on memory
// for every row.) The tile NN_PREFETCH column blocks ahead is requested into L2, not L1: requests into
// L1 two tiles ahead arrived too late from DRAM and, with a row stride that is a multiple of 4 KB,
// evicted each other (one L1 set).
enum { NN_ROWS = 6, NN_COLUMNS = 16, NN_DEPTH = 64, NN_PREFETCH = 4 };

// MR rows × 16 columns over kc steps of k. MASKED: the block is the right edge (m0/m1 select the
// columns that exist). load_y: start from Y (accumulate, or a later k block) instead of zero.
// COPY: also store the W tile it reads to `tile` (16 floats per k; masked-off columns as zeros).
KERNEL INLINE void nn_block(const int MR, const int MASKED, const int COPY, long kc, const float *x, long ldx,
                            const float *w, long ldw, float *y, long ldy, int load_y, __m256i m0, __m256i m1,
                            float *tile, const float *ahead, long ahead_rows) {
    __m256 a0[NN_ROWS], a1[NN_ROWS];
    for (int i = 0; i < MR; i++) {
        if (load_y) {
            a0[i] = MASKED ? _mm256_maskload_ps(y + i * ldy, m0) : _mm256_loadu_ps(y + i * ldy);
            a1[i] = MASKED ? _mm256_maskload_ps(y + i * ldy + 8, m1) : _mm256_loadu_ps(y + i * ldy + 8);
        } else {
            a0[i] = _mm256_setzero_ps();
            a1[i] = _mm256_setzero_ps();
        }
    }
    for (long p = 0; p < kc; p++) {
        if (p < ahead_rows) _mm_prefetch((const char *)(ahead + p * ldw), _MM_HINT_T1);
        const float *wp = w + p * ldw;
        const __m256 w0 = MASKED ? _mm256_maskload_ps(wp, m0) : _mm256_loadu_ps(wp);
        const __m256 w1 = MASKED ? _mm256_maskload_ps(wp + 8, m1) : _mm256_loadu_ps(wp + 8);
        if (COPY) {
            _mm256_store_ps(tile + p * NN_COLUMNS, w0);
            _mm256_store_ps(tile + p * NN_COLUMNS + 8, w1);
        }
        for (int i = 0; i < MR; i++) {
            const __m256 xb = _mm256_broadcast_ss(x + i * ldx + p);
            a0[i] = _mm256_fmadd_ps(xb, w0, a0[i]);
            a1[i] = _mm256_fmadd_ps(xb, w1, a1[i]);
        }
    }
    for (int i = 0; i < MR; i++) {
        if (MASKED) {
            _mm256_maskstore_ps(y + i * ldy, m0, a0[i]);
            _mm256_maskstore_ps(y + i * ldy + 8, m1, a1[i]);
        } else {
            _mm256_storeu_ps(y + i * ldy, a0[i]);
            _mm256_storeu_ps(y + i * ldy + 8, a1[i]);
        }
    }
}

typedef void (*nn_kernel)(long, const float *, long, const float *, long, float *, long, int, __m256i, __m256i,
                          float *, const float *, long);

#define NN_VARIANT(MR, MASKED, COPY)                                                                        \
    KERNEL static void nn_##MR##_##MASKED##_##COPY(long kc, const float *x, long ldx, const float *w,     \
                                                   long ldw, float *y, long ldy, int load_y, __m256i m0,  \
                                                   __m256i m1, float *tile, const float *ahead, long ahead_rows) { \
        nn_block(MR, MASKED, COPY, kc, x, ldx, w, ldw, y, ldy, load_y, m0, m1, tile, ahead, ahead_rows);   \
    }
#define NN_VARIANTS(MASKED, COPY)                                                                           \
    NN_VARIANT(1, MASKED, COPY) NN_VARIANT(2, MASKED, COPY) NN_VARIANT(3, MASKED, COPY)                     \
    NN_VARIANT(4, MASKED, COPY) NN_VARIANT(5, MASKED, COPY) NN_VARIANT(6, MASKED, COPY)
NN_VARIANTS(0, 0) NN_VARIANTS(1, 0) NN_VARIANTS(0, 1) NN_VARIANTS(1, 1)

#define NN_ROW(MASKED, COPY)                                                                                \
    {nn_1_##MASKED##_##COPY, nn_2_##MASKED##_##COPY, nn_3_##MASKED##_##COPY,                               \
     nn_4_##MASKED##_##COPY, nn_5_##MASKED##_##COPY, nn_6_##MASKED##_##COPY}
// [copy][masked][rows - 1]
static const nn_kernel nn_kernels[2][2][NN_ROWS] = {{NN_ROW(0, 0), NN_ROW(1, 0)}, {NN_ROW(0, 1), NN_ROW(1, 1)}};

KERNEL void pipe_small_gemm_nn(long m, long n, long k, const float *x, long ldx, const float *w, long ldw,
                               float *y, long ldy, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate)
            for (long i = 0; i < m; i++) memset(y + i * ldy, 0, (size_t)n * sizeof(float));
        return;
    }
    // The first row block of each tile also copies the tile (NN_DEPTH × 16 floats) to a contiguous
    // buffer that the other row blocks read: with a weight row stride that is a multiple of 4 KB, the
    // tile's lines all map to one L1 set and would be evicted between row blocks.
    const int copy = m > NN_ROWS;
    _Alignas(64) float tile[NN_DEPTH * NN_COLUMNS];
    // Each partial sum goes through Y as a float between k blocks, exactly what a register would hold,
    // so the blocking does not change a single bit of the result.
    for (long k0 = 0; k0 < k; k0 += NN_DEPTH) {
        const long kc = k - k0 < NN_DEPTH ? k - k0 : NN_DEPTH;
        const int load_y = accumulate || k0 > 0;
        for (long j = 0; j < n; j += NN_COLUMNS) {
            // Request the tile NN_PREFETCH column blocks ahead into L2 (wrapping into the next k block).
            long ahead_j = j + NN_PREFETCH * NN_COLUMNS, ahead_k = k0;
            while (ahead_j >= n) { ahead_j -= n; ahead_k += NN_DEPTH; }
            // The first row block issues the requests, one per k step among its multiply-adds: as a
            // separate loop they cost 4% of a decode step and the multiply waited longer.
            long ahead_rows = ahead_k < k ? (k - ahead_k < NN_DEPTH ? k - ahead_k : NN_DEPTH) : 0;
            const float *ahead = ahead_rows > 0 ? w + ahead_k * ldw + ahead_j : w;
            if (ahead_rows > kc) {   // a short last k block runs ahead of a full one: the rest here
                for (long p = kc; p < ahead_rows; p++) _mm_prefetch((const char *)(ahead + p * ldw), _MM_HINT_T1);
                ahead_rows = kc;
            }
            const long remaining = n - j;
            const int masked = remaining < NN_COLUMNS;
            const __m256i m0 = first_lanes(remaining), m1 = first_lanes(remaining - 8);
            for (long i = 0; i < m; i += NN_ROWS) {
                const long mr = m - i < NN_ROWS ? m - i : NN_ROWS;
                const int first = i == 0;
                nn_kernels[first && copy][masked][mr - 1](
                    kc, x + i * ldx + k0, ldx, first || !copy ? w + k0 * ldw + j : tile,
                    first || !copy ? ldw : NN_COLUMNS, y + i * ldy + j, ldy, load_y, m0, m1, tile,
                    ahead, first ? ahead_rows : 0);
            }
        }
    }
}

// ---- NT: Y[m, n] (+)= X[m, k] · W[n, k]ᵀ --------------------------------------------------------------

// The block of W rows NT_PREFETCH blocks ahead is requested into L2 while one is multiplied: W (the
// token embedding, 6 MB for config S, 65 MB for the 102 M model) arrives cold every decode step, and
// without the requests the multiply waits on memory instead of overlapping with it.
enum { NT_ROWS = 4, NT_COLUMNS = 3, NT_PREFETCH = 4 };

// Lane sums in a fixed tree: (l0+l4, l1+l5, l2+l6, l3+l7) → pairs → one.
KERNEL INLINE float lane_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

// MR rows of X against NR rows of W: each output is a dot product over k, eight interleaved partial sums
// (lane l sums the terms p ≡ l mod 8 in ascending p), then lane_sum.
KERNEL INLINE void nt_block(const int MR, const int NR, long k, const float *x, long ldx, const float *w,
                            long ldw, float *y, long ldy, int accumulate, const float *ahead, long ahead_rows) {
    __m256 acc[NT_ROWS][NT_COLUMNS];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
    long p = 0;
    for (; p + 8 <= k; p += 8) {
        if ((p & 15) == 0)
            for (long r = 0; r < ahead_rows; r++) _mm_prefetch((const char *)(ahead + r * ldw + p), _MM_HINT_T1);
        __m256 wv[NT_COLUMNS];
        for (int j = 0; j < NR; j++) wv[j] = _mm256_loadu_ps(w + j * ldw + p);
        for (int i = 0; i < MR; i++) {
            const __m256 xv = _mm256_loadu_ps(x + i * ldx + p);
            for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
        }
    }
    if (p < k) {
        const __m256i mask = first_lanes(k - p);
        __m256 wv[NT_COLUMNS];
        for (int j = 0; j < NR; j++) wv[j] = _mm256_maskload_ps(w + j * ldw + p, mask);
        for (int i = 0; i < MR; i++) {
            const __m256 xv = _mm256_maskload_ps(x + i * ldx + p, mask);
            for (int j = 0; j < NR; j++) acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) {
            const float s = lane_sum(acc[i][j]);
            y[i * ldy + j] = accumulate ? y[i * ldy + j] + s : s;
        }
}

typedef void (*nt_kernel)(long, const float *, long, const float *, long, float *, long, int, const float *, long);

#define NT_VARIANT(MR, NR)                                                                                  \
    KERNEL static void nt_##MR##_##NR(long k, const float *x, long ldx, const float *w, long ldw, float *y, \
                                      long ldy, int accumulate, const float *ahead, long ahead_rows) {     \
        nt_block(MR, NR, k, x, ldx, w, ldw, y, ldy, accumulate, ahead, ahead_rows);                        \
    }
NT_VARIANT(1, 1) NT_VARIANT(1, 2) NT_VARIANT(1, 3)
NT_VARIANT(2, 1) NT_VARIANT(2, 2) NT_VARIANT(2, 3)
NT_VARIANT(3, 1) NT_VARIANT(3, 2) NT_VARIANT(3, 3)
NT_VARIANT(4, 1) NT_VARIANT(4, 2) NT_VARIANT(4, 3)

static const nt_kernel nt_kernels[NT_ROWS][NT_COLUMNS] = {
    {nt_1_1, nt_1_2, nt_1_3}, {nt_2_1, nt_2_2, nt_2_3}, {nt_3_1, nt_3_2, nt_3_3}, {nt_4_1, nt_4_2, nt_4_3},
};

KERNEL void pipe_small_gemm_nt(long m, long n, long k, const float *x, long ldx, const float *w, long ldw,
                               float *y, long ldy, int accumulate) {
    if (m <= 0 || n <= 0) return;
    // A few rows of W (a few KB) stay in L1 while every row block of X passes over them; W is read once.
    for (long j = 0; j < n; j += NT_COLUMNS) {
        const long nr = n - j < NT_COLUMNS ? n - j : NT_COLUMNS;
        // The block NT_PREFETCH blocks ahead: the first row block requests it among its multiply-adds.
        const long ahead_row = j + NT_PREFETCH * NT_COLUMNS;
        const long ahead_rows = ahead_row + NT_COLUMNS <= n ? NT_COLUMNS : 0;
        const float *ahead = ahead_rows > 0 ? w + ahead_row * ldw : w;
        for (long i = 0; i < m; i += NT_ROWS) {
            const long mr = m - i < NT_ROWS ? m - i : NT_ROWS;
            nt_kernels[mr - 1][nr - 1](k, x + i * ldx, ldx, w + j * ldw, ldw, y + i * ldy + j, ldy, accumulate,
                                       ahead, i == 0 ? ahead_rows : 0);
        }
    }
}

// ---- Single-query attention (decode): scores over the cached keys, then the weighted sum of values -----

enum { KEYS_PER_PASS = 4, MIX_VECTORS = 8 };

// R keys at a time (R independent FMA chains); every key's sum is the same whatever R is.
KERNEL INLINE void scores_block(const int R, long hs, const float *q, const float *keys, long ldk, float scale,
                                float *scores) {
    __m256 acc[KEYS_PER_PASS];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    long d = 0;
    for (; d + 8 <= hs; d += 8) {
        const __m256 qv = _mm256_loadu_ps(q + d);
        for (int r = 0; r < R; r++) acc[r] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(keys + r * ldk + d), acc[r]);
    }
    if (d < hs) {
        const __m256i mask = first_lanes(hs - d);
        const __m256 qv = _mm256_maskload_ps(q + d, mask);
        for (int r = 0; r < R; r++) acc[r] = _mm256_fmadd_ps(qv, _mm256_maskload_ps(keys + r * ldk + d, mask), acc[r]);
    }
    for (int r = 0; r < R; r++) scores[r] = scale * lane_sum(acc[r]);
}

KERNEL static void scores_4(long hs, const float *q, const float *keys, long ldk, float scale, float *scores) {
    scores_block(4, hs, q, keys, ldk, scale, scores);
}
KERNEL static void scores_1(long hs, const float *q, const float *keys, long ldk, float scale, float *scores) {
    scores_block(1, hs, q, keys, ldk, scale, scores);
}

KERNEL void pipe_attention_scores(long count, long hs, const float *q, const float *keys, long ldk, float scale,
                                  float *scores) {
    long j = 0;
    for (; j + KEYS_PER_PASS <= count; j += KEYS_PER_PASS) scores_4(hs, q, keys + j * ldk, ldk, scale, scores + j);
    for (; j < count; j++) scores_1(hs, q, keys + j * ldk, ldk, scale, scores + j);
}

// Up to 8 vectors (64 columns) of y in registers while the values stream past; the last vector may be partial.
KERNEL void pipe_attention_mix(long count, long hs, const float *weights, const float *values, long ldv, float *y) {
    for (long c0 = 0; c0 < hs; c0 += MIX_VECTORS * 8) {
        const long width = hs - c0 < MIX_VECTORS * 8 ? hs - c0 : MIX_VECTORS * 8;
        const int vectors = (int)((width + 7) / 8);
        const __m256i tail = first_lanes(width - (vectors - 1) * 8);
        __m256 acc[MIX_VECTORS];
        for (int v = 0; v < MIX_VECTORS; v++) acc[v] = _mm256_setzero_ps();
        for (long j = 0; j < count; j++) {
            const __m256 wj = _mm256_broadcast_ss(weights + j);
            const float *row = values + j * ldv + c0;
            for (int v = 0; v < vectors - 1; v++) acc[v] = _mm256_fmadd_ps(wj, _mm256_loadu_ps(row + v * 8), acc[v]);
            acc[vectors - 1] = _mm256_fmadd_ps(wj, _mm256_maskload_ps(row + (vectors - 1) * 8, tail), acc[vectors - 1]);
        }
        for (int v = 0; v < vectors - 1; v++) _mm256_storeu_ps(y + c0 + v * 8, acc[v]);
        _mm256_maskstore_ps(y + c0 + (vectors - 1) * 8, tail, acc[vectors - 1]);
    }
}

#else  // Not x86-64: no AVX2. Callers check pipe_small_gemm_supported() and use BLAS instead; these
       // portable loops keep the same contract so the symbols stay correct if called anyway.

int pipe_small_gemm_supported(void) { return 0; }

void pipe_small_gemm_nn(long m, long n, long k, const float *x, long ldx, const float *w, long ldw,
                        float *y, long ldy, int accumulate) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            float s = accumulate ? y[i * ldy + j] : 0;
            for (long p = 0; p < k; p++) s = __builtin_fmaf(x[i * ldx + p], w[p * ldw + j], s);
            y[i * ldy + j] = s;
        }
}

void pipe_small_gemm_nt(long m, long n, long k, const float *x, long ldx, const float *w, long ldw,
                        float *y, long ldy, int accumulate) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            float s = 0;
            for (long p = 0; p < k; p++) s = __builtin_fmaf(x[i * ldx + p], w[j * ldw + p], s);
            y[i * ldy + j] = accumulate ? y[i * ldy + j] + s : s;
        }
}

void pipe_attention_scores(long count, long hs, const float *q, const float *keys, long ldk, float scale,
                           float *scores) {
    for (long j = 0; j < count; j++) {
        float s = 0;
        for (long d = 0; d < hs; d++) s = __builtin_fmaf(q[d], keys[j * ldk + d], s);
        scores[j] = scale * s;
    }
}

void pipe_attention_mix(long count, long hs, const float *weights, const float *values, long ldv, float *y) {
    for (long d = 0; d < hs; d++) {
        float s = 0;
        for (long j = 0; j < count; j++) s = __builtin_fmaf(weights[j], values[j * ldv + d], s);
        y[d] = s;
    }
}

#endif
