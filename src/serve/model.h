// A served model: one loaded version, `instance_count` sessions executing concurrently, a bounded
// request queue and (optionally) a dynamic batcher in front of them.
//
// Scheduling. Requests wait in one FIFO queue per model. Each instance has a worker thread that takes
// the oldest request and, when the model is batchable, keeps adding queued requests whose non-batch
// shapes match until the batch reaches max_batch_size or a preferred batch size, or until the oldest
// request has waited max_queue_delay. The batch's inputs are concatenated along dim 0, run once, and
// the outputs split back by each request's batch size. A full queue rejects new requests immediately
// with StatusCode::kResourceExhausted (HTTP 503 / gRPC UNAVAILABLE); memory never grows unbounded.
//
// Without batching, a request that finds the queue empty and an instance idle runs right away on the
// calling thread (the HTTP or gRPC handler) instead of waking that instance's worker: no thread handoff
// in either direction, and the input bytes are still in this core's cache (docs/performance.md,
// "Serving"). Batched models always go through the queue so that requests can meet.
//
// Batchable: config max_batch_size > 0, or no config value and every input and output has a symbolic
// (or unknown) dim 0 — then max_batch_size defaults to kDefaultMaxBatchSize.
//
// Thread-safety: every public method may be called from any thread. infer() blocks until the request
// finishes; destruction fails queued requests and joins the workers.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve/infer_types.h"
#include "serve/model_config.h"
#include "verge/session.h"

namespace verge::serve {

inline constexpr int kDefaultMaxBatchSize = 64;
inline constexpr size_t kDefaultMaxQueueSize = 256;

// Monotonic counters (Triton's metric names in docs/serving.md). Durations in microseconds.
struct ModelStats {
  std::atomic<uint64_t> request_success{0}, request_failure{0};
  std::atomic<uint64_t> inference_count{0};  // samples (batch elements) inferred successfully
  std::atomic<uint64_t> execution_count{0};  // session runs (one per formed batch)
  std::atomic<uint64_t> request_duration_us{0}, queue_duration_us{0}, compute_input_duration_us{0},
      compute_infer_duration_us{0}, compute_output_duration_us{0};
  std::atomic<uint64_t> pending{0};  // requests queued right now (gauge)
};

class Model {
 public:
  // Creates `config.instance_count` sessions from the ONNX bytes and starts one worker per session.
  static Result<std::unique_ptr<Model>> create(std::string name, std::string version,
                                               std::string_view onnx_bytes, const ModelConfig& config);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const std::vector<IoInfo>& inputs() const { return inputs_; }
  const std::vector<IoInfo>& outputs() const { return outputs_; }
  const ModelConfig& config() const { return config_; }
  // 0 when requests are not batched (shapes must match the model exactly).
  int max_batch_size() const { return max_batch_size_; }
  ModelStats& stats() { return stats_; }

  // Validates the request against the model (names, dtypes, shapes, byte sizes; errors name the
  // tensor), queues it and waits for the result. kResourceExhausted when the queue is full.
  Result<InferResponse> infer(InferRequest request);

 private:
  struct Pending;
  Model() = default;
  Status validate(const InferRequest& r, int64_t* batch) const;
  Result<InferResponse> finish(Result<InferResponse> r, std::chrono::steady_clock::time_point start);
  void worker_loop(size_t instance);
  void run_batch(Session* session, std::vector<std::unique_ptr<Pending>>& batch);
  bool compatible(const Pending& a, const Pending& b) const;

  std::string name_, version_;
  ModelConfig config_;
  int max_batch_size_ = 0;
  size_t max_queue_size_ = kDefaultMaxQueueSize;
  std::vector<IoInfo> inputs_, outputs_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<std::thread> workers_;
  std::vector<char> busy_;  // per instance: running a batch (on its worker or inline); guarded by mu_
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;
  bool stopping_ = false;
  ModelStats stats_;
};

}  // namespace verge::serve
