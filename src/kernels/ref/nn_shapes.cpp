#include "kernels/ref/nn_shapes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>
#include <string>

namespace verge {

Result<ConvTransposeGeometry> conv_transpose_geometry(const ir::Node& node,
                                                      std::span<const int64_t> in_spatial,
                                                      std::span<const int64_t> kernel) {
  const size_t n = in_spatial.size();
  ConvTransposeGeometry g;
  g.kernel.assign(kernel.begin(), kernel.end());
  const std::vector<int64_t> ks = node.get_ints("kernel_shape");
  if (!ks.empty() && ks != g.kernel)
    return Status::invalid_model(
        fmt::format("kernel_shape {} does not match the weights' spatial shape {}", ks, g.kernel));
  if (g.kernel.size() != n)
    return Status::invalid_model(
        fmt::format("kernel has {} spatial dims but the input has {}", g.kernel.size(), n));
  g.strides = node.get_ints("strides", std::vector<int64_t>(n, 1));
  g.dilations = node.get_ints("dilations", std::vector<int64_t>(n, 1));
  g.output_padding = node.get_ints("output_padding", std::vector<int64_t>(n, 0));
  const std::vector<int64_t> pads = node.get_ints("pads", std::vector<int64_t>(2 * n, 0));
  std::vector<int64_t> output_shape = node.get_ints("output_shape");
  if (g.strides.size() != n)
    return Status::invalid_model(fmt::format("'strides' has {} values, expected {}", g.strides.size(), n));
  if (g.dilations.size() != n)
    return Status::invalid_model(
        fmt::format("'dilations' has {} values, expected {}", g.dilations.size(), n));
  if (g.output_padding.size() != n)
    return Status::invalid_model(
        fmt::format("'output_padding' has {} values, expected {}", g.output_padding.size(), n));
  if (pads.size() != 2 * n)
    return Status::invalid_model(fmt::format("'pads' has {} values, expected {}", pads.size(), 2 * n));
  if (!output_shape.empty()) {
    // Either the spatial dims or the full (N, C, spatial...) shape.
    if (output_shape.size() == n + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
    if (output_shape.size() != n)
      return Status::invalid_model(
          fmt::format("'output_shape' has {} values, expected {} (spatial dims)", output_shape.size(), n));
  }
  for (size_t d = 0; d < n; ++d) {
    if (g.kernel[d] < 1)
      return Status::invalid_model(fmt::format("kernel size {} must be >= 1", g.kernel[d]));
    if (g.strides[d] < 1) return Status::invalid_model(fmt::format("stride {} must be >= 1", g.strides[d]));
    if (g.dilations[d] < 1)
      return Status::invalid_model(fmt::format("dilation {} must be >= 1", g.dilations[d]));
    if (pads[d] < 0 || pads[d + n] < 0)
      return Status::invalid_model(fmt::format("pads {} must be >= 0", pads));
    const int64_t op = g.output_padding[d];
    if (op < 0 || (op >= g.strides[d] && op >= g.dilations[d]))
      return Status::invalid_model(
          fmt::format("output_padding {} must be >= 0 and less than the stride ({}) or the dilation ({})", op,
                      g.strides[d], g.dilations[d]));
    if (!output_shape.empty() && output_shape[d] < 1)
      return Status::invalid_model(fmt::format("output_shape {} must be >= 1", output_shape));
    // Keeps the size arithmetic below far from int64 overflow.
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    for (int64_t v : {g.kernel[d], g.strides[d], g.dilations[d], pads[d], pads[d + n], in_spatial[d],
                      output_shape.empty() ? 0 : output_shape[d]})
      if (v > kMax)
        return Status::invalid_model(fmt::format("window value {} is too large (limit {})", v, kMax));
  }
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (!same && auto_pad != "VALID" && auto_pad != "NOTSET")
    return Status::invalid_model(
        fmt::format("auto_pad '{}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto_pad));
  g.pads_begin.resize(n);
  g.pads_end.resize(n);
  g.out.resize(n);
  for (size_t d = 0; d < n; ++d) {
    const int64_t full =
        g.strides[d] * (in_spatial[d] - 1) + g.output_padding[d] + (g.kernel[d] - 1) * g.dilations[d] + 1;
    if (!output_shape.empty() || same) {
      g.out[d] = !output_shape.empty() ? output_shape[d] : in_spatial[d] * g.strides[d];
      const int64_t total = std::max<int64_t>(0, full - g.out[d]);
      g.pads_begin[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      g.pads_end[d] = total - g.pads_begin[d];
    } else {
      if (auto_pad == "NOTSET") {
        g.pads_begin[d] = pads[d];
        g.pads_end[d] = pads[d + n];
      } else {
        g.pads_begin[d] = g.pads_end[d] = 0;
      }
      g.out[d] = full - g.pads_begin[d] - g.pads_end[d];
    }
    if (g.out[d] < 1)
      return Status::invalid_model(fmt::format("output spatial size {} (input {}, pads {}+{}) must be >= 1",
                                               g.out[d], in_spatial[d], g.pads_begin[d], g.pads_end[d]));
  }
  return g;
}

namespace {

constexpr int kNumLetterLabels = 52;

int letter_label(char ch) {
  if (ch >= 'a' && ch <= 'z') return ch - 'a';
  if (ch >= 'A' && ch <= 'Z') return 26 + (ch - 'A');
  return -1;
}

// One term of the equation: letter labels with the position of the ellipsis (-1 if none).
struct Term {
  std::vector<int> letters;
  int ellipsis_at = -1;  // index into letters before which the ellipsis stands
};

Result<Term> parse_term(std::string_view s, std::string_view equation) {
  Term t;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '.') {
      if (s.substr(i, 3) != "...")
        return Status::invalid_model(
            fmt::format("einsum equation '{}': '.' must be part of '...'", equation));
      if (t.ellipsis_at >= 0)
        return Status::invalid_model(
            fmt::format("einsum equation '{}': term '{}' has more than one ellipsis", equation, s));
      t.ellipsis_at = static_cast<int>(t.letters.size());
      i += 3;
      continue;
    }
    const int l = letter_label(s[i]);
    if (l < 0)
      return Status::invalid_model(
          fmt::format("einsum equation '{}': character '{}' is not a letter", equation, s[i]));
    t.letters.push_back(l);
    ++i;
  }
  return t;
}

std::string label_name(int l) {
  if (l < 26) return std::string(1, static_cast<char>('a' + l));
  if (l < kNumLetterLabels) return std::string(1, static_cast<char>('A' + (l - 26)));
  return "...";
}

}  // namespace

Result<EinsumSpec> parse_einsum(std::string_view equation, std::span<const Shape* const> shapes) {
  std::string eq;
  for (char ch : equation)
    if (ch != ' ') eq += ch;
  std::string_view lhs = eq, rhs;
  const size_t arrow = eq.find("->");
  const bool explicit_out = arrow != std::string::npos;
  if (explicit_out) {
    lhs = std::string_view(eq).substr(0, arrow);
    rhs = std::string_view(eq).substr(arrow + 2);
    if (rhs.find("->") != std::string_view::npos || rhs.find(',') != std::string_view::npos)
      return Status::invalid_model(
          fmt::format("einsum equation '{}' has a malformed right-hand side", equation));
  }
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    const std::string_view s = lhs.substr(start, comma == std::string_view::npos ? lhs.npos : comma - start);
    VERGE_ASSIGN_OR_RETURN(Term t, parse_term(s, equation));
    terms.push_back(std::move(t));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (terms.size() != shapes.size())
    return Status::invalid_model(
        fmt::format("einsum equation '{}' has {} input terms but the node has {} inputs", equation,
                    terms.size(), shapes.size()));

  // Ellipsis rank per operand and overall.
  int ell_rank = 0;
  std::vector<int> ell(terms.size(), 0);
  for (size_t k = 0; k < terms.size(); ++k) {
    const int rank = static_cast<int>(shapes[k]->size());
    const int letters = static_cast<int>(terms[k].letters.size());
    if (terms[k].ellipsis_at >= 0) {
      if (rank < letters)
        return Status::invalid_model(
            fmt::format("einsum equation '{}': input {} has rank {} but its term names {} dims", equation, k,
                        rank, letters));
      ell[k] = rank - letters;
    } else if (rank != letters) {
      return Status::invalid_model(
          fmt::format("einsum equation '{}': input {} has rank {} but its term names {} dims", equation, k,
                      rank, letters));
    }
    ell_rank = std::max(ell_rank, ell[k]);
  }

  EinsumSpec spec;
  spec.num_labels = kNumLetterLabels + ell_rank;
  spec.label_size.assign(static_cast<size_t>(spec.num_labels), -1);
  std::vector<int> count(static_cast<size_t>(spec.num_labels), 0);
  for (size_t k = 0; k < terms.size(); ++k) {
    const Term& t = terms[k];
    const Shape& shape = *shapes[k];
    std::vector<int>& labels = spec.operand_labels.emplace_back();
    for (int i = 0; i <= static_cast<int>(t.letters.size()); ++i) {
      if (i == t.ellipsis_at)
        for (int j = 0; j < ell[k]; ++j) labels.push_back(kNumLetterLabels + ell_rank - ell[k] + j);
      if (i < static_cast<int>(t.letters.size())) labels.push_back(t.letters[static_cast<size_t>(i)]);
    }
    for (size_t d = 0; d < labels.size(); ++d) {
      const int l = labels[d];
      const int64_t dim = shape[d];
      ++count[static_cast<size_t>(l)];
      // A label repeated within one operand (a diagonal) needs equal dims there.
      for (size_t e = 0; e < d; ++e)
        if (labels[e] == l && shape[e] != dim)
          return Status::invalid_model(fmt::format(
              "einsum equation '{}': label '{}' repeats in input {} with different dims {} and {}", equation,
              label_name(l), k, shape[e], dim));
      int64_t& size = spec.label_size[static_cast<size_t>(l)];
      if (size < 0 || size == 1) {
        size = dim;  // first sighting, or a broadcast dim of 1 meets the real size
      } else if (dim != size && dim != 1) {
        return Status::invalid_model(
            fmt::format("einsum equation '{}': label '{}' has dim {} in input {} but {} elsewhere", equation,
                        label_name(l), dim, k, size));
      }
    }
  }

  if (explicit_out) {
    VERGE_ASSIGN_OR_RETURN(Term t, parse_term(rhs, equation));
    std::vector<bool> seen(static_cast<size_t>(spec.num_labels), false);
    for (int i = 0; i <= static_cast<int>(t.letters.size()); ++i) {
      if (i == t.ellipsis_at)
        for (int j = 0; j < ell_rank; ++j) spec.output_labels.push_back(kNumLetterLabels + j);
      if (i < static_cast<int>(t.letters.size())) {
        const int l = t.letters[static_cast<size_t>(i)];
        if (count[static_cast<size_t>(l)] == 0)
          return Status::invalid_model(
              fmt::format("einsum equation '{}': output label '{}' does not appear in any input", equation,
                          label_name(l)));
        if (seen[static_cast<size_t>(l)])
          return Status::invalid_model(
              fmt::format("einsum equation '{}': output label '{}' appears twice", equation, label_name(l)));
        seen[static_cast<size_t>(l)] = true;
        spec.output_labels.push_back(l);
      }
    }
  } else {
    for (int j = 0; j < ell_rank; ++j) spec.output_labels.push_back(kNumLetterLabels + j);
    // Letters appearing exactly once, in ASCII order (upper case before lower case).
    std::vector<std::pair<char, int>> once;
    for (int l = 0; l < kNumLetterLabels; ++l)
      if (count[static_cast<size_t>(l)] == 1) once.emplace_back(label_name(l)[0], l);
    std::sort(once.begin(), once.end());
    for (const auto& [ch, l] : once) spec.output_labels.push_back(l);
  }
  for (int64_t& s : spec.label_size)
    if (s < 0) s = 0;
  for (int l : spec.output_labels) spec.out_shape.push_back(spec.label_size[static_cast<size_t>(l)]);
  return spec;
}

}  // namespace verge
