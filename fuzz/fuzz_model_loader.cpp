// libFuzzer target over the model boundary: bytes -> import (protobuf, checker, upgrades, validation)
// -> plan for the declared input shapes (symbolic dims = 1) -> one run on zero inputs when small.
// Any crash, sanitizer report, or leak is a bug: bad models must produce a Status, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "import/onnx/importer.h"
#include "runtime/session_impl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace verge;
  // External data resolves against a directory that does not exist: never reads real files.
  auto model = onnx_io::load_model_from_bytes(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.onnx",
                                              "/nonexistent-verge-fuzz-dir");
  if (!model.is_ok()) return 0;
  std::vector<Tensor> inputs;
  int64_t total = 0;
  for (ir::ValueId id : model->graph.inputs) {
    const ir::ValueType& t = model->graph.value(id).type;
    Shape shape;
    for (const ir::Dim& d : t.dims) shape.push_back(d.is_fixed() ? d.value : 1);
    if (!t.has_shape || shape.size() > 8) return 0;
    auto x = Tensor::allocate(t.dtype, shape);
    if (!x.is_ok()) return 0;
    total += x->numel();
    if (total > (1 << 20)) return 0;  // keep runs small: this fuzzes validation, not throughput
    inputs.push_back(std::move(x).value());
  }
  auto session = make_session(std::move(model).value());
  if (!session.is_ok()) return 0;
  (void)(*session)->run(inputs);
  return 0;
}
