#include "core/memory.h"

#include <cstdint>
#include <cstdlib>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace verge {

void* allocate_aligned(size_t bytes) {
  constexpr size_t kLine = 64;
  const size_t rounded = (bytes + kLine - 1) / kLine * kLine;
  if (rounded < bytes) return nullptr;  // overflow
  void* p = nullptr;
  if (rounded < kHugePageBytes)
    return posix_memalign(&p, kLine, rounded == 0 ? kLine : rounded) == 0 ? p : nullptr;
  if (posix_memalign(&p, kHugePageBytes, rounded) != 0) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  (void)madvise(p, rounded / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);  // advice only
#endif
  return p;
}

void free_aligned(void* p) { std::free(p); }

}  // namespace verge
