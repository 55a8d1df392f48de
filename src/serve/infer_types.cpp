#include "serve/infer_types.h"

#include <array>
#include <utility>

namespace verge::serve {
namespace {
constexpr std::array<std::pair<DType, std::string_view>, 14> kNames{{
    {DType::kBool, "BOOL"},
    {DType::kUInt8, "UINT8"},
    {DType::kUInt16, "UINT16"},
    {DType::kUInt32, "UINT32"},
    {DType::kUInt64, "UINT64"},
    {DType::kInt8, "INT8"},
    {DType::kInt16, "INT16"},
    {DType::kInt32, "INT32"},
    {DType::kInt64, "INT64"},
    {DType::kFloat16, "FP16"},
    {DType::kFloat32, "FP32"},
    {DType::kFloat64, "FP64"},
    {DType::kBFloat16, "BF16"},
    {DType::kString, "BYTES"},
}};
}  // namespace

std::string_view kserve_dtype_name(DType t) {
  for (const auto& [d, n] : kNames)
    if (d == t) return n;
  return "INVALID";
}

DType dtype_from_kserve(std::string_view name) {
  for (const auto& [d, n] : kNames)
    if (n == name && d != DType::kString) return d;
  return DType::kUndefined;
}

}  // namespace verge::serve
