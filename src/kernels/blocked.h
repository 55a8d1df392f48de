// The NCHWc ("blocked") layout: [N, ceil(C/b), spatial..., b]. Channel c of pixel p lives at
// ((n * Cb + c / b) * S + p) * b + c % b, S = product of the spatial dims.
#pragma once

#include <cstdint>

namespace verge {

inline int64_t blocks_of(int64_t channels, int64_t block) { return (channels + block - 1) / block; }

// NCHW [n, c, s] -> blocked [n, Cb, s, b]; padding lanes are zero-filled.
void to_blocked(const float* x, float* y, int64_t n, int64_t c, int64_t s, int64_t b);
// blocked [n, Cb, s, b] -> NCHW [n, c, s]; padding lanes are dropped.
void from_blocked(const float* x, float* y, int64_t n, int64_t c, int64_t s, int64_t b);

}  // namespace verge
