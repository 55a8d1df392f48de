// CPU feature detection, read once. Kernel variants declare the ISA they need; the registry picks the
// best variant whose ISA the running CPU has (decided at prepare, never per call).
#pragma once

#include <string>

namespace verge {

enum class Isa : unsigned char {
  kScalar = 0,  // portable C++ (compiler auto-vectorization only)
  kAvx2Fma,     // AVX2 + FMA3 (Haswell+, Zen 1+)
  kAvx512,      // AVX-512 F/BW/VL/DQ (Skylake-X+, Zen 4)
  kAvx512Vnni,  // + VNNI
  kAmxInt8,     // + AMX-TILE and AMX-INT8 with the OS's permission to use tile data (Sapphire Rapids+)
  kNeon,        // AArch64 Advanced SIMD (reserved for ARM variants)
};

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_vnni = false, avx512_bf16 = false;
  // AMX int8 tiles usable by this process: the CPU has AMX-TILE and AMX-INT8 and Linux granted the
  // process tile data (arch_prctl ARCH_REQ_XCOMP_PERM, requested once by the detection). Once granted,
  // Linux refuses alternate signal stacks smaller than AT_MINSIGSTKSZ (~11 KB with tile data); a host
  // program that installs small ones sets VERGE_MAX_ISA=avx512vnni, and the request is never made.
  bool amx_int8 = false;
  bool neon = false;
  std::string brand;
};

const CpuFeatures& cpu_features();
bool cpu_has(Isa isa);
const char* isa_name(Isa isa);
// Highest ISA level available (for messages / inspect).
Isa best_isa();

}  // namespace verge
