#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "commands.h"
#include "progress.h"
#include "verge/session.h"

namespace verge::cli {

Action add_eval(CLI::App& app) {
  struct Opts {
    std::string model, data, split = "test", preprocess;
    int64_t limit = 0, batch = 100;
    RuntimeFlags runtime;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand("eval", "Top-1/top-5 accuracy of a classifier on a labeled dataset");
  c->add_option("model", o->model, "ONNX classifier: one float input [N, ...], logits [N, classes]")
      ->required();
  c->add_option("--data", o->data,
                "IDX directory, inputs.npy + labels.npy, or an image folder (one subfolder per class)")
      ->required();
  add_preprocess_option(c, o->preprocess);
  c->add_option("--split", o->split, "train | test (IDX files, or the DIR/<split>/ subfolder when it exists)")
      ->check(CLI::IsMember({"train", "test"}));
  c->add_option("--limit", o->limit, "evaluate only the first N samples");
  c->add_option("--batch", o->batch, "batch size when the model's batch dimension is symbolic")
      ->check(CLI::Range(1, 100000));
  o->runtime.add_to(c);
  c->add_flag("--json", o->json, "last line: {\"top1\": ..., \"top5\": ..., \"samples\": ...}");
  return [o]() -> int {
    const SessionOptions so = o->runtime.session_options();
    auto session = Session::load(o->model, so);
    if (!session.is_ok()) return report_error(session.status());
    Session& s = **session;
    if (s.inputs().size() != 1 || s.outputs().empty())
      return report_error(
          Status::invalid_argument("eval needs a model with one image input and a logits output"));
    const IoInfo& in = s.inputs()[0];
    if (in.dtype != DType::kFloat32)
      return report_error(Status::invalid_argument(
          fmt::format("input '{}' is {}; eval feeds float32 samples", in.name, dtype_name(in.dtype))));
    auto ds = load_data(o->data, o->split, o->limit, o->preprocess, &in);
    if (!ds.is_ok()) return report_error(ds.status());
    if (ds->labels.empty())
      return report_error(Status::invalid_argument(fmt::format(
          "'{}' ({}) has no class labels; eval needs IDX, inputs.npy + integer labels.npy or an image folder",
          o->data, ds->description)));
    const Shape& all = ds->images.shape();  // [N, ...sample]
    const int64_t n = all[0], per = ds->images.numel() / std::max<int64_t>(n, 1);
    const int64_t batch = in.has_shape && !in.shape.empty() && in.shape[0] > 0 ? in.shape[0] : o->batch;
    int64_t top1 = 0, top5 = 0, done = 0;
    Progress progress("eval", n);
    std::vector<float> padded;
    while (done < n) {
      const int64_t b = std::min(batch, n - done);
      const float* src = ds->images.data<float>() + done * per;
      // A fixed batch dimension larger than what is left: pad with zeros, ignore the extra rows.
      const int64_t run_b = in.has_shape && in.shape[0] > 0 ? batch : b;
      if (run_b != b) {
        padded.assign(static_cast<size_t>(run_b * per), 0.f);
        std::memcpy(padded.data(), src, static_cast<size_t>(b * per) * sizeof(float));
        src = padded.data();
      }
      Shape shape = all;
      shape[0] = run_b;
      Tensor x = Tensor::wrap(DType::kFloat32, shape, src);
      auto out = s.run({x});
      if (!out.is_ok()) return report_error(out.status());
      const Tensor& logits = (*out)[0];
      if (logits.rank() != 2 || logits.dim(0) != run_b)
        return report_error(
            Status::invalid_argument(fmt::format("output '{}' has shape {}; expected [batch, classes]",
                                                 s.outputs()[0].name, shape_to_string(logits.shape()))));
      const int64_t classes = logits.dim(1);
      std::vector<int64_t> order(static_cast<size_t>(classes));
      for (int64_t i = 0; i < b; ++i) {
        std::iota(order.begin(), order.end(), 0);
        auto score = [&](int64_t k) { return logits.get_as_double(i * classes + k); };
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t c2) { return score(a) > score(c2); });
        const int64_t label = ds->labels[static_cast<size_t>(done + i)];
        top1 += order[0] == label;
        for (int64_t k = 0; k < std::min<int64_t>(5, classes); ++k)
          top5 += order[static_cast<size_t>(k)] == label;
      }
      done += b;
      progress.update(done,
                      fmt::format("top1 {:.4f}", static_cast<double>(top1) / static_cast<double>(done)));
    }
    progress.finish(
        fmt::format("top1 {:.4f}", static_cast<double>(top1) / static_cast<double>(std::max<int64_t>(n, 1))));
    const double t1 = static_cast<double>(top1) / static_cast<double>(std::max<int64_t>(n, 1));
    const double t5 = static_cast<double>(top5) / static_cast<double>(std::max<int64_t>(n, 1));
    fmt::print("model    {}\ndata     {} ({})\nsamples  {}\ntop-1    {:.4f}\ntop-5    {:.4f}\n", o->model,
               o->data, ds->description, n, t1, t5);
    if (o->json) fmt::print("{}\n", nlohmann::json{{"top1", t1}, {"top5", t5}, {"samples", n}}.dump());
    return 0;
  };
}

}  // namespace verge::cli
