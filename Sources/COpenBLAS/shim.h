#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
// OpenBLAS' cblas.h also declares openblas_set_num_threads / openblas_get_config / openblas_get_corename.
#include <cblas.h>
#endif
