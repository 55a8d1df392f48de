#include "serve/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <future>

namespace verge::serve {
namespace {
using Clock = std::chrono::steady_clock;

uint64_t micros(Clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

bool symbolic_batch_dim(const IoInfo& io) { return !io.has_shape || (!io.shape.empty() && io.shape[0] < 0); }
}  // namespace

struct Model::Pending {
  InferRequest request;
  std::vector<const InferTensor*> ordered;  // request inputs in the model's input order
  int64_t batch = 0;
  Clock::time_point enqueued;
  std::promise<Result<InferResponse>> done;
};

Result<std::unique_ptr<Model>> Model::create(std::string name, std::string version,
                                             std::string_view onnx_bytes, const ModelConfig& config) {
  std::unique_ptr<Model> m(new Model());
  m->name_ = std::move(name);
  m->version_ = std::move(version);
  m->config_ = config;
  SessionOptions so;
  so.threads = config.threads;
  for (int i = 0; i < config.instance_count; ++i) {
    auto s = Session::load_from_memory(onnx_bytes, so);
    if (!s.is_ok())
      return s.status().with_context(fmt::format("model '{}' version {}", m->name_, m->version_));
    m->sessions_.push_back(std::move(s).value());
  }
  m->inputs_ = m->sessions_[0]->inputs();
  m->outputs_ = m->sessions_[0]->outputs();
  const bool all_symbolic = std::all_of(m->inputs_.begin(), m->inputs_.end(), symbolic_batch_dim) &&
                            std::all_of(m->outputs_.begin(), m->outputs_.end(), symbolic_batch_dim);
  if (config.max_batch_size > 0) {
    for (const IoInfo& io : m->inputs_)
      if (io.has_shape && (io.shape.empty() || (io.shape[0] >= 0 && io.shape[0] != config.max_batch_size)) &&
          !symbolic_batch_dim(io))
        return Status::invalid_argument(
            fmt::format("model '{}': max_batch_size {} needs a symbolic dim 0 on input '{}' (shape {})",
                        m->name_, config.max_batch_size, io.name, shape_to_string(io.shape)));
    m->max_batch_size_ = config.max_batch_size;
  } else if (config.max_batch_size < 0 && all_symbolic && !m->inputs_.empty()) {
    m->max_batch_size_ = kDefaultMaxBatchSize;
  }
  if (config.max_queue_size > 0) m->max_queue_size_ = config.max_queue_size;
  m->busy_.assign(m->sessions_.size(), 0);
  for (size_t i = 0; i < m->sessions_.size(); ++i)
    m->workers_.emplace_back([mp = m.get(), i] { mp->worker_loop(i); });
  return m;
}

Model::~Model() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  for (auto& p : queue_) p->done.set_value(Status::not_found(fmt::format("model '{}' was unloaded", name_)));
}

Status Model::validate(const InferRequest& r, int64_t* batch) const {
  *batch = 1;
  for (size_t i = 0; i < r.inputs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (r.inputs[i].name == r.inputs[j].name)
        return Status::invalid_argument(fmt::format("input '{}' given twice", r.inputs[i].name));
  for (const InferTensor& t : r.inputs) {
    auto io = std::find_if(inputs_.begin(), inputs_.end(), [&](const IoInfo& x) { return x.name == t.name; });
    if (io == inputs_.end()) return Status::invalid_argument(fmt::format("unknown input '{}'", t.name));
  }
  bool first = true;
  for (const IoInfo& io : inputs_) {
    auto t = std::find_if(r.inputs.begin(), r.inputs.end(),
                          [&](const InferTensor& x) { return x.name == io.name; });
    if (t == r.inputs.end()) return Status::invalid_argument(fmt::format("missing input '{}'", io.name));
    if (io.dtype != DType::kUndefined && t->dtype != io.dtype)
      return Status::invalid_argument(fmt::format("input '{}': datatype {} but the model expects {}", io.name,
                                                  kserve_dtype_name(t->dtype), kserve_dtype_name(io.dtype)));
    int64_t numel = 1;
    for (int64_t d : t->shape) {
      if (d < 0) return Status::invalid_argument(fmt::format("input '{}': negative dimension", io.name));
      if (d > 0 && numel > (int64_t{1} << 40) / d)
        return Status::invalid_argument(fmt::format("input '{}': shape too large", io.name));
      numel *= d;
    }
    const std::string want = io.has_shape ? shape_to_string(io.shape) : "any";
    if (io.has_shape) {
      if (t->shape.size() != io.shape.size())
        return Status::invalid_argument(
            fmt::format("input '{}': shape {} has rank {} but the model expects {}", io.name,
                        shape_to_string(t->shape), t->shape.size(), want));
      for (size_t d = 0; d < io.shape.size(); ++d)
        if (io.shape[d] >= 0 && t->shape[d] != io.shape[d])
          return Status::invalid_argument(fmt::format("input '{}': shape {} does not match the model's {}",
                                                      io.name, shape_to_string(t->shape), want));
    }
    if (max_batch_size_ > 0) {
      if (t->shape.empty())
        return Status::invalid_argument(fmt::format("input '{}': missing batch dim", io.name));
      const int64_t b = t->shape[0];
      if (b < 1 || b > max_batch_size_)
        return Status::invalid_argument(fmt::format(
            "input '{}': batch size {} outside [1, max_batch_size={}]", io.name, b, max_batch_size_));
      if (!first && b != *batch)
        return Status::invalid_argument(
            fmt::format("input '{}': batch size {} differs from other inputs' {}", io.name, b, *batch));
      *batch = b;
    }
    first = false;
    const size_t want_bytes = static_cast<size_t>(numel) * dtype_size(t->dtype);
    if (t->bytes().size() != want_bytes)
      return Status::invalid_argument(fmt::format("input '{}': {} bytes of data but shape {} of {} needs {}",
                                                  io.name, t->bytes().size(), shape_to_string(t->shape),
                                                  kserve_dtype_name(t->dtype), want_bytes));
  }
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    if (std::none_of(outputs_.begin(), outputs_.end(),
                     [&](const IoInfo& o) { return o.name == r.outputs[i]; }))
      return Status::invalid_argument(fmt::format("unknown output '{}'", r.outputs[i]));
    for (size_t j = 0; j < i; ++j)
      if (r.outputs[i] == r.outputs[j])
        return Status::invalid_argument(fmt::format("output '{}' requested twice", r.outputs[i]));
  }
  return Status::ok();
}

Result<InferResponse> Model::infer(InferRequest request) {
  const auto start = Clock::now();
  auto p = std::make_unique<Pending>();
  if (Status st = validate(request, &p->batch); !st.is_ok()) {
    stats_.request_failure++;
    return st;
  }
  p->request = std::move(request);
  for (const IoInfo& io : inputs_)
    for (const InferTensor& t : p->request.inputs)
      if (t.name == io.name) p->ordered.push_back(&t);
  p->enqueued = start;
  auto result = p->done.get_future();
  {
    std::unique_lock lk(mu_);
    if (max_batch_size_ == 0 && queue_.empty()) {
      const auto idle = std::find(busy_.begin(), busy_.end(), 0);
      if (idle != busy_.end() && !stopping_) {
        *idle = 1;
        lk.unlock();
        const auto instance = static_cast<size_t>(idle - busy_.begin());
        std::vector<std::unique_ptr<Pending>> batch;
        batch.push_back(std::move(p));
        run_batch(sessions_[instance].get(), batch);
        lk.lock();
        busy_[instance] = 0;
        if (!queue_.empty()) cv_.notify_all();  // that instance's worker may have work waiting
        lk.unlock();
        return finish(result.get(), start);
      }
    }
    if (queue_.size() >= max_queue_size_) {
      stats_.request_failure++;
      return Status(
          StatusCode::kResourceExhausted,
          fmt::format("model '{}': request queue is full ({} waiting); retry later", name_, queue_.size()));
    }
    queue_.push_back(std::move(p));
    stats_.pending = queue_.size();
  }
  cv_.notify_all();
  return finish(result.get(), start);
}

Result<InferResponse> Model::finish(Result<InferResponse> r, Clock::time_point start) {
  (r.is_ok() ? stats_.request_success : stats_.request_failure)++;
  stats_.request_duration_us += micros(Clock::now() - start);
  return r;
}

bool Model::compatible(const Pending& a, const Pending& b) const {
  for (size_t i = 0; i < a.ordered.size(); ++i) {
    const Shape& x = a.ordered[i]->shape;
    const Shape& y = b.ordered[i]->shape;
    if (!std::equal(x.begin() + 1, x.end(), y.begin() + 1, y.end())) return false;
  }
  return true;
}

void Model::worker_loop(size_t instance) {
  Session* session = sessions_[instance].get();
  std::unique_lock lk(mu_);
  while (true) {
    cv_.wait(lk, [&] { return stopping_ || (!queue_.empty() && !busy_[instance]); });
    if (stopping_) return;
    std::vector<size_t> picked{0};
    if (max_batch_size_ > 0) {
      const auto deadline = queue_.front()->enqueued + std::chrono::microseconds(config_.max_queue_delay_us);
      int64_t total = queue_.front()->batch;
      for (size_t i = 1; i < queue_.size() && total < max_batch_size_; ++i)
        if (total + queue_[i]->batch <= max_batch_size_ && compatible(*queue_.front(), *queue_[i])) {
          picked.push_back(i);
          total += queue_[i]->batch;
        }
      const auto& pref = config_.preferred_batch_sizes;
      const bool full = total >= max_batch_size_ || std::find(pref.begin(), pref.end(), total) != pref.end();
      if (!full && Clock::now() < deadline) {
        cv_.wait_until(lk, deadline);
        continue;  // re-form the batch: requests may have arrived or another worker taken them
      }
    }
    std::vector<std::unique_ptr<Pending>> batch;
    for (size_t i : picked) batch.push_back(std::move(queue_[i]));
    for (auto it = picked.rbegin(); it != picked.rend(); ++it) queue_.erase(queue_.begin() + *it);
    stats_.pending = queue_.size();
    busy_[instance] = 1;
    lk.unlock();
    run_batch(session, batch);
    lk.lock();
    busy_[instance] = 0;
  }
}

void Model::run_batch(Session* session, std::vector<std::unique_ptr<Pending>>& batch) {
  const auto t0 = Clock::now();
  for (auto& p : batch) stats_.queue_duration_us += micros(t0 - p->enqueued);
  int64_t total = 0;
  for (auto& p : batch) total += p->batch;
  // Inputs: the request's own bytes for a batch of one, else concatenated along dim 0.
  std::vector<std::string> joined(inputs_.size());
  std::vector<Tensor> tensors;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const InferTensor& first = *batch[0]->ordered[i];
    Shape shape = first.shape;
    if (batch.size() == 1) {
      tensors.push_back(Tensor::wrap(first.dtype, shape, first.bytes().data()));
      continue;
    }
    size_t bytes = 0;
    for (auto& p : batch) bytes += p->ordered[i]->bytes().size();
    joined[i].reserve(bytes);
    for (auto& p : batch) joined[i] += p->ordered[i]->bytes();
    shape[0] = total;
    tensors.push_back(Tensor::wrap(first.dtype, shape, joined[i].data()));
  }
  const auto t1 = Clock::now();
  auto out = session->run(std::span<const Tensor>(tensors));
  const auto t2 = Clock::now();
  stats_.execution_count++;
  if (!out.is_ok()) {
    for (auto& p : batch) p->done.set_value(out.status().with_context(fmt::format("model '{}'", name_)));
    return;
  }
  const std::span<const Tensor> results = *out;
  std::vector<InferResponse> responses(batch.size());
  int64_t offset = 0;
  Status error;
  for (size_t b = 0; b < batch.size() && error.is_ok(); ++b) {
    const Pending& p = *batch[b];
    InferResponse& resp = responses[b];
    resp.model_name = name_;
    resp.model_version = version_;
    resp.id = p.request.id;
    for (size_t o = 0; o < outputs_.size(); ++o) {
      const auto& want = p.request.outputs;
      if (!want.empty() && std::find(want.begin(), want.end(), outputs_[o].name) == want.end()) continue;
      const Tensor& t = results[o];
      InferTensor ot{outputs_[o].name, t.dtype(), t.shape(), {}};
      const char* src = static_cast<const char*>(t.raw());
      if (batch.size() == 1) {
        ot.data.assign(src, t.nbytes());
      } else {
        if (t.rank() == 0 || t.dim(0) != total) {
          error =
              Status::internal(fmt::format("model '{}': output '{}' has shape {}, not batch {} along dim 0",
                                           name_, outputs_[o].name, shape_to_string(t.shape()), total));
          break;
        }
        const size_t per = t.nbytes() / static_cast<size_t>(total);
        ot.shape[0] = p.batch;
        ot.data.assign(src + per * offset, per * p.batch);
      }
      resp.outputs.push_back(std::move(ot));
    }
    offset += p.batch;
  }
  const auto t3 = Clock::now();
  stats_.compute_input_duration_us += micros(t1 - t0) * batch.size();
  stats_.compute_infer_duration_us += micros(t2 - t1) * batch.size();
  stats_.compute_output_duration_us += micros(t3 - t2) * batch.size();
  if (error.is_ok()) stats_.inference_count += total;
  for (size_t b = 0; b < batch.size(); ++b)
    batch[b]->done.set_value(error.is_ok() ? Result<InferResponse>(std::move(responses[b])) : error);
}

}  // namespace verge::serve
