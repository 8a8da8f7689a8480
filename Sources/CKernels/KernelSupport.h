// What the AVX2 + FMA kernel files share (x86-64 only; include inside `#if defined(__x86_64__)`).
#ifndef PIPE_KERNEL_SUPPORT_H
#define PIPE_KERNEL_SUPPORT_H

#include <immintrin.h>
#include <stdint.h>

#define KERNEL __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

// loadu(lane_masks + 8 - r) has its first r lanes set (0 ≤ r ≤ 8).
static const int32_t lane_masks[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

KERNEL INLINE __m256i first_lanes(long r) {
    if (r < 0) r = 0;
    if (r > 8) r = 8;
    return _mm256_loadu_si256((const __m256i *)(lane_masks + 8 - r));
}

#endif
