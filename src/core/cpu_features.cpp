#include "core/cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace verge {
namespace {
// Linux keeps AMX tile data disabled (its first use faults) until the process asks for it.
bool request_amx_tile_data() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  constexpr int kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512_vnni = __builtin_cpu_supports("avx512vnni");
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d)) f.f16c = (c & bit_F16C) != 0;
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512_bf16 = (a & (1u << 5)) != 0;
  const bool amx = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d & (1u << 24)) && (d & (1u << 25));
  unsigned regs[12] = {};
  if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000004u) {
    for (unsigned i = 0; i < 3; ++i)
      __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    char brand[49] = {};
    std::memcpy(brand, regs, 48);
    f.brand = brand;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  }
  // VERGE_MAX_ISA=avx512vnni | avx2 | scalar caps what the kernels may use (to run and time the older
  // variants on a newer CPU); unset, anything else or "native": everything the CPU has. A capped run
  // never asks for AMX tile data.
  const char* cap = std::getenv("VERGE_MAX_ISA");
  const bool scalar = cap && std::strcmp(cap, "scalar") == 0;
  const bool avx2 = scalar || (cap && std::strcmp(cap, "avx2") == 0);
  const bool no_amx = avx2 || (cap && std::strcmp(cap, "avx512vnni") == 0);
  if (avx2) f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512_vnni = f.avx512_bf16 = false;
  if (scalar) f.avx2 = f.fma = false;
  f.amx_int8 = amx && !no_amx && f.avx512_vnni && request_amx_tile_data();
#elif defined(__aarch64__)
  f.neon = true;
  f.brand = "aarch64";
#endif
  return f;
}
}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

bool cpu_has(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2Fma:
      return f.avx2 && f.fma;
    case Isa::kAvx512:
      return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
    case Isa::kAvx512Vnni:
      return cpu_has(Isa::kAvx512) && f.avx512_vnni;
    case Isa::kAmxInt8:
      return cpu_has(Isa::kAvx512Vnni) && f.amx_int8;
    case Isa::kNeon:
      return f.neon;
  }
  return false;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2Fma:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx512Vnni:
      return "avx512vnni";
    case Isa::kAmxInt8:
      return "amx-int8";
    case Isa::kNeon:
      return "neon";
  }
  return "?";
}

Isa best_isa() {
  for (Isa i : {Isa::kAmxInt8, Isa::kAvx512Vnni, Isa::kAvx512, Isa::kAvx2Fma, Isa::kNeon})
    if (cpu_has(i)) return i;
  return Isa::kScalar;
}

}  // namespace verge
