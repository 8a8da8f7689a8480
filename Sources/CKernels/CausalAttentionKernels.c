// The products of causal self-attention in training and scoring, per (sequence, head): T ≤ a few
// hundred rows of a head of width HS. OpenBLAS packs both operands on every one of these small calls
// and computes the whole upper triangle of each row block; here the second operand is packed once into
// 16-wide panels and 6-row tiles stop at the diagonal. AVX2 + FMA (callers check
// pipe_small_gemm_supported); a portable version below keeps the contract on other CPUs.
//
// Order of every output (the bytes depend on nothing else): the sum over its k range in ascending
// order, from zero, one fused multiply-add per term, then × alpha when alpha ≠ 1. Row i belongs to the
// 6-row tile starting at i0 = 6·⌊i/6⌋, which ends at i1 = min(i0 + 6, T).
#include "CKernels.h"

#include <string.h>

enum { TILE_ROWS = 6, PANEL = 16 };

long pipe_causal_panel_floats(long k, long n) { return k * ((n + PANEL - 1) / PANEL) * PANEL; }

#if defined(__x86_64__)
#include "KernelSupport.h"

// C[i, 0..<nc] = alpha · Σ_{p = kb}^{ke - 1} a[i·sai + p·sak] · panel[p][0..<nc] for i < MR. The strides
// of `a` read it as it lies (sai = row stride) or transposed (sak = row stride) without a copy.
KERNEL INLINE void tile(const int MR, long nc, long kb, long ke, const float *a, long sai, long sak,
                        const float *panel, float alpha, float *c, long ldc) {
    __m256 c0[TILE_ROWS], c1[TILE_ROWS];
    for (int i = 0; i < MR; i++) {
        c0[i] = _mm256_setzero_ps();
        c1[i] = _mm256_setzero_ps();
    }
    const float *bp = panel + kb * PANEL, *ap = a + kb * sak;
    for (long p = kb; p < ke; p++, bp += PANEL, ap += sak) {
        const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
        for (int i = 0; i < MR; i++) {
            const __m256 x = _mm256_broadcast_ss(ap + i * sai);
            c0[i] = _mm256_fmadd_ps(x, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(x, b1, c1[i]);
        }
    }
    const __m256 scale = _mm256_set1_ps(alpha);
    const __m256i m0 = first_lanes(nc), m1 = first_lanes(nc - 8);
    for (int i = 0; i < MR; i++) {
        __m256 r0 = c0[i], r1 = c1[i];
        if (alpha != 1) {
            r0 = _mm256_mul_ps(r0, scale);
            r1 = _mm256_mul_ps(r1, scale);
        }
        if (nc == PANEL) {
            _mm256_storeu_ps(c + i * ldc, r0);
            _mm256_storeu_ps(c + i * ldc + 8, r1);
        } else {
            _mm256_maskstore_ps(c + i * ldc, m0, r0);
            _mm256_maskstore_ps(c + i * ldc + 8, m1, r1);
        }
    }
}

KERNEL static void tile_rows(long rows, long nc, long kb, long ke, const float *a, long sai, long sak,
                             const float *panel, float alpha, float *c, long ldc) {
    switch (rows) {
    case 6: tile(6, nc, kb, ke, a, sai, sak, panel, alpha, c, ldc); break;
    case 5: tile(5, nc, kb, ke, a, sai, sak, panel, alpha, c, ldc); break;
    case 4: tile(4, nc, kb, ke, a, sai, sak, panel, alpha, c, ldc); break;
    case 3: tile(3, nc, kb, ke, a, sai, sak, panel, alpha, c, ldc); break;
    case 2: tile(2, nc, kb, ke, a, sai, sak, panel, alpha, c, ldc); break;
    default: tile(1, nc, kb, ke, a, sai, sak, panel, alpha, c, ldc); break;
    }
}

KERNEL void pipe_causal_pack(long k, long n, const float *b, long ldb, float *panels) {
    for (long j0 = 0; j0 < n; j0 += PANEL) {
        const long nc = n - j0 < PANEL ? n - j0 : PANEL;
        float *panel = panels + j0 * k;
        if (nc == PANEL) {
            for (long p = 0; p < k; p++) {
                _mm256_storeu_ps(panel + p * PANEL, _mm256_loadu_ps(b + p * ldb + j0));
                _mm256_storeu_ps(panel + p * PANEL + 8, _mm256_loadu_ps(b + p * ldb + j0 + 8));
            }
        } else {
            for (long p = 0; p < k; p++)
                for (long j = 0; j < PANEL; j++) panel[p * PANEL + j] = j < nc ? b[p * ldb + j0 + j] : 0;
        }
    }
}

// r[k] holds row k of an 8 × 8 block on entry and column k on exit.
KERNEL INLINE void transpose8x8(__m256 r[8]) {
    __m256 t[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
        t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
    }
    for (int k = 0; k < 8; k += 4) {
        r[k] = _mm256_shuffle_ps(t[k], t[k + 2], 0x44);
        r[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], 0xEE);
        r[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0x44);
        r[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], 0xEE);
    }
    for (int k = 0; k < 4; k++) {
        t[k] = _mm256_permute2f128_ps(r[k], r[k + 4], 0x20);
        t[k + 4] = _mm256_permute2f128_ps(r[k], r[k + 4], 0x31);
    }
    for (int k = 0; k < 8; k++) r[k] = t[k];
}

KERNEL void pipe_causal_pack_transposed(long n, long k, const float *b, long ldb, float *panels) {
    // Half panels of 8 rows of b: 8 × 8 blocks through registers, scalar at the edges.
    for (long j0 = 0; j0 < n; j0 += 8) {
        float *half = panels + (j0 / PANEL) * PANEL * k + j0 % PANEL;
        const long rows = n - j0 < 8 ? n - j0 : 8;
        long p0 = 0;
        if (rows == 8) {
            for (; p0 + 8 <= k; p0 += 8) {
                __m256 r[8];
                for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(b + (j0 + j) * ldb + p0);
                transpose8x8(r);
                for (int p = 0; p < 8; p++) _mm256_storeu_ps(half + (p0 + p) * PANEL, r[p]);
            }
        }
        for (long p = p0; p < k; p++)
            for (long j = 0; j < 8; j++) half[p * PANEL + j] = j < rows ? b[(j0 + j) * ldb + p] : 0;
    }
    if (n % PANEL != 0 && n % PANEL <= 8) {  // the last panel's second half has no rows of b
        float *half = panels + (n / PANEL) * PANEL * k + 8;
        for (long p = 0; p < k; p++) memset(half + p * PANEL, 0, 8 * sizeof(float));
    }
}

KERNEL void pipe_causal_scores(long t, long hs, const float *x, long ldx, const float *panels, float alpha,
                               float *s, long lds) {
    for (long i0 = 0; i0 < t; i0 += TILE_ROWS) {
        const long rows = t - i0 < TILE_ROWS ? t - i0 : TILE_ROWS, end = i0 + rows;
        for (long j0 = 0; j0 < end; j0 += PANEL)
            tile_rows(rows, end - j0 < PANEL ? end - j0 : PANEL, 0, hs, x + i0 * ldx, ldx, 1, panels + j0 * hs,
                      alpha, s + i0 * lds + j0, lds);
    }
}

KERNEL void pipe_causal_mix(long t, long n, const float *p, long ldp, const float *panels, float *y, long ldy) {
    for (long i0 = 0; i0 < t; i0 += TILE_ROWS) {
        const long rows = t - i0 < TILE_ROWS ? t - i0 : TILE_ROWS;
        for (long j0 = 0; j0 < n; j0 += PANEL)
            tile_rows(rows, n - j0 < PANEL ? n - j0 : PANEL, 0, i0 + rows, p + i0 * ldp, ldp, 1, panels + j0 * t,
                      1, y + i0 * ldy + j0, ldy);
    }
}

KERNEL void pipe_causal_mix_transposed(long t, long n, const float *p, long ldp, const float *panels, float *y,
                                       long ldy) {
    for (long i0 = 0; i0 < t; i0 += TILE_ROWS) {
        const long rows = t - i0 < TILE_ROWS ? t - i0 : TILE_ROWS;
        for (long j0 = 0; j0 < n; j0 += PANEL)
            tile_rows(rows, n - j0 < PANEL ? n - j0 : PANEL, i0, t, p + i0, 1, ldp, panels + j0 * t, 1,
                      y + i0 * ldy + j0, ldy);
    }
}

#else  // Not x86-64: the same contract in portable loops (callers use BLAS there; see above).

void pipe_causal_pack(long k, long n, const float *b, long ldb, float *panels) {
    const long width = pipe_causal_panel_floats(1, n);
    for (long j = 0; j < width; j++)
        for (long p = 0; p < k; p++)
            panels[(j / PANEL) * PANEL * k + p * PANEL + j % PANEL] = j < n ? b[p * ldb + j] : 0;
}

void pipe_causal_pack_transposed(long n, long k, const float *b, long ldb, float *panels) {
    const long width = pipe_causal_panel_floats(1, n);
    for (long j = 0; j < width; j++)
        for (long p = 0; p < k; p++)
            panels[(j / PANEL) * PANEL * k + p * PANEL + j % PANEL] = j < n ? b[j * ldb + p] : 0;
}

static float panel_at(const float *panels, long k, long p, long j) {
    return panels[(j / PANEL) * PANEL * k + p * PANEL + j % PANEL];
}

static long tile_end(long i, long t) {
    const long end = i - i % TILE_ROWS + TILE_ROWS;
    return end < t ? end : t;
}

void pipe_causal_scores(long t, long hs, const float *x, long ldx, const float *panels, float alpha,
                        float *s, long lds) {
    for (long i = 0; i < t; i++)
        for (long j = 0; j < tile_end(i, t); j++) {
            float sum = 0;
            for (long p = 0; p < hs; p++) sum = __builtin_fmaf(x[i * ldx + p], panel_at(panels, hs, p, j), sum);
            s[i * lds + j] = alpha != 1 ? alpha * sum : sum;
        }
}

void pipe_causal_mix(long t, long n, const float *p, long ldp, const float *panels, float *y, long ldy) {
    for (long i = 0; i < t; i++)
        for (long j = 0; j < n; j++) {
            float sum = 0;
            for (long q = 0; q < tile_end(i, t); q++) sum = __builtin_fmaf(p[i * ldp + q], panel_at(panels, t, q, j), sum);
            y[i * ldy + j] = sum;
        }
}

void pipe_causal_mix_transposed(long t, long n, const float *p, long ldp, const float *panels, float *y,
                                long ldy) {
    for (long i = 0; i < t; i++)
        for (long j = 0; j < n; j++) {
            float sum = 0;
            for (long q = i - i % TILE_ROWS; q < t; q++) sum = __builtin_fmaf(p[q * ldp + i], panel_at(panels, t, q, j), sum);
            y[i * ldy + j] = sum;
        }
}

#endif
