#include "train/losses.h"

#include <fmt/format.h>

namespace verge::train {

template <class T>
Result<double> mse_loss(const Buf<T>& output, const Buf<T>& target, Buf<T>* doutput) {
  if (output.shape != target.shape)
    return Status::invalid_argument(fmt::format("MSE: output has shape {}, target has {}",
                                                shape_to_string(output.shape),
                                                shape_to_string(target.shape)));
  const int64_t n = output.numel();
  if (doutput) doutput->resize(output.shape);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(output.v[static_cast<size_t>(i)]) - target.v[static_cast<size_t>(i)];
    total += d * d;
    if (doutput) doutput->v[static_cast<size_t>(i)] = static_cast<T>(2.0 * d / static_cast<double>(n));
  }
  return n ? total / static_cast<double>(n) : 0.0;
}

template <class T>
Result<Buf<T>> one_hot(std::span<const int64_t> labels, int64_t classes) {
  Buf<T> b;
  b.resize({static_cast<int64_t>(labels.size()), classes});
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes)
      return Status::invalid_argument(fmt::format("label {} is outside [0, {})", labels[i], classes));
    b.v[i * static_cast<size_t>(classes) + static_cast<size_t>(labels[i])] = T(1);
  }
  return b;
}

template Result<double> mse_loss<float>(const Buf<float>&, const Buf<float>&, Buf<float>*);
template Result<double> mse_loss<double>(const Buf<double>&, const Buf<double>&, Buf<double>*);
template Result<Buf<float>> one_hot<float>(std::span<const int64_t>, int64_t);
template Result<Buf<double>> one_hot<double>(std::span<const int64_t>, int64_t);

}  // namespace verge::train
