#include <immintrin.h>

#include <chrono>

namespace verge::bench {

double peak_avx2_gflops() {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.f);
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-6f);
  const long iters = 20000000;
  const auto t0 = std::chrono::steady_clock::now();
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  float sink[8];
  __m256 t = acc[0];
  for (int i = 1; i < 12; ++i) t = _mm256_add_ps(t, acc[i]);
  _mm256_storeu_ps(sink, t);
  asm volatile("" ::"m"(sink));
  return static_cast<double>(iters) * 12 * 8 * 2 / s / 1e9;
}

}  // namespace verge::bench
