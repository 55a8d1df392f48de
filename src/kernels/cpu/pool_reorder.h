// Microkernels for blocked (NCHWc) pooling and layout reorders: verge.BlockedPool (max / average,
// windowed or global) and the ToBlocked / FromBlocked transposes. b = 16 (AVX-512) or 8 (AVX2).
// The generic code (pool_reorder.cpp) parses attributes, precomputes the window geometry and divisors,
// and splits the work over threads; these functions compute one plane (image, channel block) at a time.
#pragma once

#include <cstdint>

#include "kernels/cpu/window_geom.h"

namespace verge {

struct PoolGeom : WindowGeom {
  const float* inv = nullptr;  // average: 1 / divisor per output pixel [oh][ow]
};

// Output rows [oh0, oh1) of one plane: x [h][w][b] -> y [oh][ow][b]. Every window holds at least one
// input pixel (checked at prepare).
void pool_max_rows_avx512(const PoolGeom& g, const float* x, float* y, int64_t oh0, int64_t oh1);
void pool_avg_rows_avx512(const PoolGeom& g, const float* x, float* y, int64_t oh0, int64_t oh1);
void pool_max_rows_avx2(const PoolGeom& g, const float* x, float* y, int64_t oh0, int64_t oh1);
void pool_avg_rows_avx2(const PoolGeom& g, const float* x, float* y, int64_t oh0, int64_t oh1);

// Global pooling of `planes` consecutive planes of `pixels` pixels each: y[p][:] = max / mean of x[p][:][:].
void global_max_avx512(const float* x, float* y, int64_t planes, int64_t pixels);
void global_avg_avx512(const float* x, float* y, int64_t planes, int64_t pixels);
void global_max_avx2(const float* x, float* y, int64_t planes, int64_t pixels);
void global_avg_avx2(const float* x, float* y, int64_t planes, int64_t pixels);

// One channel block, pixels [p0, p1): planar x (channel rows `stride` floats apart, `channels` <= b of
// them) <-> blocked y [pixels][b]. to_blocked zero-fills lanes >= channels; from_blocked writes only the
// real channels.
void to_blocked_avx512(const float* x, int64_t stride, int64_t channels, float* y, int64_t p0, int64_t p1);
void from_blocked_avx512(const float* x, float* y, int64_t stride, int64_t channels, int64_t p0, int64_t p1);
void to_blocked_avx2(const float* x, int64_t stride, int64_t channels, float* y, int64_t p0, int64_t p1);
void from_blocked_avx2(const float* x, float* y, int64_t stride, int64_t channels, int64_t p0, int64_t p1);

// Lane merge for verge.BlockedConcat output blocks that mix channels of several source blocks:
// dst[p][l] = src[k][p][part[k].idx[l]] for the lanes l with part[k].take[l] != 0, zero elsewhere.
struct ConcatPart {
  int32_t idx[16];   // source lane of every output lane
  int32_t take[16];  // -1 where the output lane comes from this source, else 0
};
void concat_lanes_avx512(const float* const* src, const ConcatPart* parts, int64_t nparts, float* dst,
                         int64_t pixels);
void concat_lanes_avx2(const float* const* src, const ConcatPart* parts, int64_t nparts, float* dst,
                       int64_t pixels);

}  // namespace verge
