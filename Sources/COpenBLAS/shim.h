#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
// OpenBLAS' cblas.h also declares openblas_set_num_threads / openblas_get_config / openblas_get_corename.
#include <cblas.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

/// 1 when this CPU and the OS support what OpenBLAS' AVX-512 kernels (SkylakeX, Cooperlake) execute:
/// AVX-512 F, CD, BW, DQ, VL with the ZMM/opmask state enabled in XCR0; 0 otherwise.
static inline int pipe_cpu_supports_skylakex_kernels(void) {
#if defined(__x86_64__)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ecx & (1u << 27))) return 0;                     // OSXSAVE: XGETBV is usable
    unsigned int xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0xE6u) != 0xE6u) return 0;              // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned int f = 1u << 16, dq = 1u << 17, cd = 1u << 28, bw = 1u << 30, vl = 1u << 31;
    return (ebx & (f | dq | cd | bw | vl)) == (f | dq | cd | bw | vl);
#else
    return 0;
#endif
}
#endif
