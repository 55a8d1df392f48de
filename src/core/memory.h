// Storage for large, long-lived buffers: packed weights and tensors.
//
// allocate_aligned(bytes) returns 64-byte aligned memory; from kHugePageBytes (2 MiB) up it starts on a
// 2 MiB boundary and asks Linux for transparent huge pages over the whole 2 MiB pages it spans
// (madvise(MADV_HUGEPAGE); Debian's default THP mode is "madvise", so nothing gets huge pages without it).
// Why: a model streams its packed weights once per inference (resnet18 fp32: ~46 MB = ~11k 4 KiB pages,
// each a TLB miss, and on a VM each miss walks two page tables). Measured over ten fresh processes each
// (2026-12-05): resnet18 fp32 16.7-18.5 ms (median 18.1) with 4 KiB pages, 15.5-17.1 (16.6) with huge
// pages; mobilenet_v2 / squeezenet1_1 fp32 3% faster; int8 models unchanged (their weights are small).
// The partial 2 MiB page at a buffer's end stays on 4 KiB pages, so no buffer's resident memory grows
// beyond what it touches. The plan arena does not use this: a 2 MiB-aligned arena made int8
// efficientnet_b0 1.8% slower (docs/performance.md, "Huge pages").
// Free with free_aligned (std::free). Where THP is off ("never") or on other systems, the memory is
// ordinary aligned memory.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace verge {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// nullptr when out of memory. bytes == 0 gives a valid, unique pointer.
void* allocate_aligned(size_t bytes);
void free_aligned(void* p);

// std::allocator with allocate_aligned: vectors of packed weights.
template <class T>
struct LargeAllocator {
  using value_type = T;
  LargeAllocator() = default;
  template <class U>
  LargeAllocator(const LargeAllocator<U>&) {}
  T* allocate(size_t n) {
    if (n > static_cast<size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    void* p = allocate_aligned(n * sizeof(T));
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { free_aligned(p); }
  template <class U>
  bool operator==(const LargeAllocator<U>&) const {
    return true;
  }
};

template <class T>
using LargeVector = std::vector<T, LargeAllocator<T>>;

}  // namespace verge
