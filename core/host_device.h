// TDSEG_HD marks a function that both twins call: host and device code under nvcc, plain
// host code under the C++ compiler.
#pragma once

#ifdef __CUDACC__
#define TDSEG_HD __host__ __device__
#else
#define TDSEG_HD
#endif
