// Per-model serving configuration: the optional `config.pbtxt` next to a model's version directories,
// a Triton-compatible subset parsed with protobuf TextFormat (schema: src/serve/model_config.proto).
//
//   name: "fmnist"                       # must equal the directory name when given
//   max_batch_size: 8                    # > 0: requests carry a batch dim 0 and may be batched together
//   dynamic_batching { max_queue_delay_microseconds: 500  preferred_batch_size: [4, 8]
//                      default_queue_policy { max_queue_size: 64 } }
//   instance_group [{ count: 2 }]        # concurrent sessions
//   threads: 1                           # Verge extension: intra-op threads per session
//
// Errors: unknown fields, syntax errors and out-of-range values are rejected with the file, line and
// field named; nothing is silently ignored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "verge/status.h"

namespace verge::serve {

struct ModelConfig {
  std::string name;               // "" when the file does not set it
  int max_batch_size = -1;        // -1: not configured (derived from the model's batch dim)
  bool dynamic_batching = false;  // a dynamic_batching block is present
  uint64_t max_queue_delay_us = 0;
  std::vector<int> preferred_batch_sizes;
  size_t max_queue_size = 0;  // 0: server default
  int instance_count = 1;
  int threads = 1;
};

inline constexpr int kMaxInstanceCount = 64;
inline constexpr int kMaxThreadsPerInstance = 256;
inline constexpr uint64_t kMaxQueueDelayUs = 10'000'000;  // 10 s

// Parses config.pbtxt text; `label` (the path) prefixes every error.
Result<ModelConfig> parse_model_config(std::string_view text, std::string_view label);

}  // namespace verge::serve
