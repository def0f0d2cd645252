// CPU feature detection from CPUID and XCR0. Windows builds use it: there
// __builtin_cpu_supports needs compiler-rt's __cpu_model, which the MSVC linker (clang-cl's
// too) does not bring in. It is compiled into every x86 build so that the test suite can check
// its answers against __builtin_cpu_supports, which the other platforms use.
#include "core/gemm/kernels.h"

#if defined(MLPSTREAM_X86)
#include <immintrin.h>

#include <cstdint>
#if defined(_WIN32)
#include <intrin.h>  // __cpuidex: MSVC's spelling, which clang-cl and MinGW provide too
#else
#include <cpuid.h>
#endif

namespace mlpstream {

namespace {

struct CpuidRegs {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs cpuid(std::uint32_t leaf, std::uint32_t subleaf) {
  CpuidRegs r;
#if defined(_WIN32)
  int v[4];
  __cpuidex(v, static_cast<int>(leaf), static_cast<int>(subleaf));
  r.eax = static_cast<std::uint32_t>(v[0]);
  r.ebx = static_cast<std::uint32_t>(v[1]);
  r.ecx = static_cast<std::uint32_t>(v[2]);
  r.edx = static_cast<std::uint32_t>(v[3]);
#else
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

// The register state the OS saves on a context switch; readable only when CPUID says OSXSAVE.
// The attribute lets GCC and Clang emit XGETBV here without -mxsave for the whole file.
__attribute__((target("xsave"))) std::uint64_t xcr0() { return _xgetbv(0); }

bool bit(std::uint32_t reg, int n) { return ((reg >> n) & 1u) != 0; }

// The same rules as libgcc's and compiler-rt's __builtin_cpu_supports: a feature counts only if
// the OS also saves the registers it uses (XCR0: SSE+AVX state for AVX2/FMA; opmask and the
// upper ZMM state as well for AVX-512).
bool detect(Isa isa) {
  if (isa == Isa::kPortable) return true;
  if (cpuid(0, 0).eax < 7) return false;
  const CpuidRegs leaf1 = cpuid(1, 0), leaf7 = cpuid(7, 0);
  if (!bit(leaf1.ecx, 27)) return false;  // OSXSAVE
  const std::uint64_t xcr = xcr0();
  const bool avx_state = (xcr & 0x6) == 0x6;
  const bool avx512_state = (xcr & 0xe6) == 0xe6;
  const bool fma = avx_state && bit(leaf1.ecx, 12);
  switch (isa) {
    case Isa::kPortable: return true;
    case Isa::kAvx2: return fma && bit(leaf7.ebx, 5);
    case Isa::kAvx512:
      // AVX512F (16), AVX512DQ (17), AVX512BW (30), AVX512VL (31)
      return fma && avx512_state && bit(leaf7.ebx, 16) && bit(leaf7.ebx, 17) && bit(leaf7.ebx, 30) &&
             bit(leaf7.ebx, 31);
  }
  return false;
}

}  // namespace

// Asked each time kernels are chosen; CPUID is slow (in a VM it traps to the hypervisor),
// so it runs once, like __builtin_cpu_init.
bool cpuid_supports(Isa isa) {
  static const bool avx2 = detect(Isa::kAvx2), avx512 = detect(Isa::kAvx512);
  return isa == Isa::kPortable || (isa == Isa::kAvx2 && avx2) || (isa == Isa::kAvx512 && avx512);
}

}  // namespace mlpstream

#endif
