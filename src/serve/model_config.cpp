#include "serve/model_config.h"

#include <fmt/format.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "serve/model_config.pb.h"

namespace verge::serve {
namespace {

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    if (first.empty()) first = fmt::format("line {}:{}: {}", line + 1, column + 1, message);
  }
  std::string first;
};

}  // namespace

Result<ModelConfig> parse_model_config(std::string_view text, std::string_view label) {
  config::ModelConfig proto;
  CollectErrors errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &proto))
    return Status::invalid_argument(
        fmt::format("{}: {} (Verge accepts name, platform, backend, max_batch_size, instance_group{{count}}, "
                    "dynamic_batching{{max_queue_delay_microseconds, preferred_batch_size, "
                    "default_queue_policy{{max_queue_size}}}} and threads; see docs/serving.md)",
                    label, errors.first.empty() ? "parse error" : errors.first));
  auto bad = [&](std::string what) { return Status::invalid_argument(fmt::format("{}: {}", label, what)); };
  if (!proto.platform().empty() && proto.platform() != "onnxruntime_onnx")
    return bad(fmt::format("platform '{}' is not supported (only ONNX models: 'onnxruntime_onnx')",
                           proto.platform()));
  if (!proto.backend().empty() && proto.backend() != "onnxruntime")
    return bad(
        fmt::format("backend '{}' is not supported (only 'onnxruntime', i.e. ONNX models)", proto.backend()));
  ModelConfig c;
  c.name = proto.name();
  if (proto.max_batch_size() < 0) return bad("max_batch_size must be >= 0");
  if (proto.has_max_batch_size() || proto.has_dynamic_batching()) c.max_batch_size = proto.max_batch_size();
  if (proto.has_dynamic_batching()) {
    const auto& db = proto.dynamic_batching();
    c.dynamic_batching = true;
    if (db.max_queue_delay_microseconds() > kMaxQueueDelayUs)
      return bad(fmt::format("dynamic_batching.max_queue_delay_microseconds {} exceeds {}",
                             db.max_queue_delay_microseconds(), kMaxQueueDelayUs));
    c.max_queue_delay_us = db.max_queue_delay_microseconds();
    for (int p : db.preferred_batch_size()) {
      if (p < 1 || p > proto.max_batch_size())
        return bad(fmt::format("dynamic_batching.preferred_batch_size {} must be in [1, max_batch_size={}]",
                               p, proto.max_batch_size()));
      c.preferred_batch_sizes.push_back(p);
    }
    c.max_queue_size = db.default_queue_policy().max_queue_size();
    if (proto.max_batch_size() == 0) return bad("dynamic_batching needs max_batch_size > 0");
  }
  if (proto.instance_group_size() > 0) {
    c.instance_count = 0;
    for (const auto& g : proto.instance_group()) {
      const int n = g.count() == 0 ? 1 : g.count();
      if (n < 1 || n > kMaxInstanceCount)
        return bad(fmt::format("instance_group.count {} must be in [1, {}]", g.count(), kMaxInstanceCount));
      c.instance_count += n;
    }
    if (c.instance_count > kMaxInstanceCount)
      return bad(fmt::format("{} instances in total exceed {}", c.instance_count, kMaxInstanceCount));
  }
  if (proto.threads() != 0) {
    if (proto.threads() < 1 || proto.threads() > kMaxThreadsPerInstance)
      return bad(fmt::format("threads {} must be in [1, {}]", proto.threads(), kMaxThreadsPerInstance));
    c.threads = proto.threads();
  }
  return c;
}

}  // namespace verge::serve
