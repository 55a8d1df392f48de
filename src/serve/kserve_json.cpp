#include "serve/kserve_json.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

namespace verge::serve {
namespace {
using json = nlohmann::json;
constexpr int kMaxJsonDepth = 32;

Status bad(std::string m) { return Status::invalid_argument(std::move(m)); }

template <class T>
Status append_value(const json& v, std::string& out, const std::string& what) {
  T x{};
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) return bad(fmt::format("{}: BOOL data must be true/false", what));
    x = v.get<bool>();
  } else if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, float16_t> ||
                       std::is_same_v<T, bfloat16_t>) {
    if (!v.is_number()) return bad(fmt::format("{}: data must be numbers", what));
    if constexpr (std::is_floating_point_v<T>)
      x = static_cast<T>(v.get<double>());
    else
      x = T(static_cast<float>(v.get<double>()));
  } else {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return bad(fmt::format("{}: value {} out of range", what, u));
      x = static_cast<T>(u);
    } else if (v.is_number_integer()) {
      const int64_t s = v.get<int64_t>();
      if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          (s > 0 && static_cast<uint64_t>(s) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
        return bad(fmt::format("{}: value {} out of range", what, s));
      x = static_cast<T>(s);
    } else {
      return bad(fmt::format("{}: integer data must be integers", what));
    }
  }
  out.append(reinterpret_cast<const char*>(&x), sizeof(T));
  return Status::ok();
}

template <class T>
Status flatten(const json& v, std::string& out, const std::string& what, int depth) {
  if (depth > kMaxJsonDepth) return bad(fmt::format("{}: data nested too deeply", what));
  if (v.is_array()) {
    for (const json& e : v) VERGE_RETURN_IF_ERROR(flatten<T>(e, out, what, depth + 1));
    return Status::ok();
  }
  return append_value<T>(v, out, what);
}

Status json_to_bytes(const json& data, DType dtype, std::string& out, const std::string& what) {
  switch (dtype) {
    case DType::kBool:
      return flatten<bool>(data, out, what, 0);
    case DType::kUInt8:
      return flatten<uint8_t>(data, out, what, 0);
    case DType::kUInt16:
      return flatten<uint16_t>(data, out, what, 0);
    case DType::kUInt32:
      return flatten<uint32_t>(data, out, what, 0);
    case DType::kUInt64:
      return flatten<uint64_t>(data, out, what, 0);
    case DType::kInt8:
      return flatten<int8_t>(data, out, what, 0);
    case DType::kInt16:
      return flatten<int16_t>(data, out, what, 0);
    case DType::kInt32:
      return flatten<int32_t>(data, out, what, 0);
    case DType::kInt64:
      return flatten<int64_t>(data, out, what, 0);
    case DType::kFloat16:
      return flatten<float16_t>(data, out, what, 0);
    case DType::kBFloat16:
      return flatten<bfloat16_t>(data, out, what, 0);
    case DType::kFloat32:
      return flatten<float>(data, out, what, 0);
    case DType::kFloat64:
      return flatten<double>(data, out, what, 0);
    default:
      return bad(fmt::format("{}: datatype not supported", what));
  }
}

template <class T>
json values_json(const std::string& bytes) {
  json a = json::array();
  const size_t n = bytes.size() / sizeof(T);
  a.get_ref<json::array_t&>().reserve(n);
  for (size_t i = 0; i < n; ++i) {
    T x;
    std::memcpy(&x, bytes.data() + i * sizeof(T), sizeof(T));
    if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>)
      a.push_back(static_cast<float>(x));
    else
      a.push_back(x);
  }
  return a;
}

json bytes_to_json(const InferTensor& t) {
  switch (t.dtype) {
    case DType::kBool:
      return values_json<bool>(t.data);
    case DType::kUInt8:
      return values_json<uint8_t>(t.data);
    case DType::kUInt16:
      return values_json<uint16_t>(t.data);
    case DType::kUInt32:
      return values_json<uint32_t>(t.data);
    case DType::kUInt64:
      return values_json<uint64_t>(t.data);
    case DType::kInt8:
      return values_json<int8_t>(t.data);
    case DType::kInt16:
      return values_json<int16_t>(t.data);
    case DType::kInt32:
      return values_json<int32_t>(t.data);
    case DType::kInt64:
      return values_json<int64_t>(t.data);
    case DType::kFloat16:
      return values_json<float16_t>(t.data);
    case DType::kBFloat16:
      return values_json<bfloat16_t>(t.data);
    case DType::kFloat32:
      return values_json<float>(t.data);
    case DType::kFloat64:
      return values_json<double>(t.data);
    default:
      return json::array();
  }
}

// Splits a body into its JSON part and the binary part that follows it.
Result<std::pair<json, std::string_view>> split_body(std::string_view body,
                                                     std::optional<size_t> header_length) {
  const size_t n = header_length.value_or(body.size());
  if (n > body.size())
    return bad(fmt::format("{} {} exceeds the body size {}", kHeaderLengthField, n, body.size()));
  json j = json::parse(body.substr(0, n), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("malformed JSON in the request body");
  if (!j.is_object()) return bad("the request body must be a JSON object");
  return std::pair{std::move(j), body.substr(n)};
}

// Reads the tensors of `array` (inputs or outputs of a body) with their binary chunks.
Result<std::vector<InferTensor>> read_tensors(const json& array, const char* field, std::string_view& binary,
                                              bool borrow) {
  std::vector<InferTensor> out;
  if (!array.is_array()) return bad(fmt::format("'{}' must be an array", field));
  for (size_t i = 0; i < array.size(); ++i) {
    const json& e = array[i];
    const std::string what = fmt::format("{}[{}]", field, i);
    if (!e.is_object()) return bad(fmt::format("{} must be an object", what));
    InferTensor t;
    if (!e.contains("name") || !e["name"].is_string())
      return bad(fmt::format("{}.name must be a string", what));
    t.name = e["name"].get<std::string>();
    const std::string named = fmt::format("{} '{}'", field, t.name);
    if (!e.contains("datatype") || !e["datatype"].is_string())
      return bad(fmt::format("{}: datatype must be a string", named));
    t.dtype = dtype_from_kserve(e["datatype"].get<std::string>());
    if (t.dtype == DType::kUndefined)
      return bad(fmt::format("{}: unsupported datatype '{}'", named, e["datatype"].get<std::string>()));
    if (!e.contains("shape") || !e["shape"].is_array())
      return bad(fmt::format("{}: shape must be an array of non-negative integers", named));
    for (const json& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (int64_t{1} << 40))
        return bad(fmt::format("{}: shape must be an array of non-negative integers", named));
      t.shape.push_back(d.get<int64_t>());
    }
    const json* params = e.contains("parameters") ? &e["parameters"] : nullptr;
    if (params && !params->is_object()) return bad(fmt::format("{}: parameters must be an object", named));
    if (params && params->contains("binary_data_size")) {
      const json& s = (*params)["binary_data_size"];
      if (!s.is_number_unsigned())
        return bad(fmt::format("{}: binary_data_size must be a non-negative integer", named));
      const uint64_t n = s.get<uint64_t>();
      if (e.contains("data")) return bad(fmt::format("{}: has both data and binary_data_size", named));
      if (n > binary.size())
        return bad(
            fmt::format("{}: binary_data_size {} but only {} binary bytes remain", named, n, binary.size()));
      if (borrow)
        set_bytes(t, binary.substr(0, n));
      else
        t.data.assign(binary.substr(0, n));
      binary.remove_prefix(n);
    } else if (e.contains("data")) {
      VERGE_RETURN_IF_ERROR(json_to_bytes(e["data"], t.dtype, t.data, named));
    } else {
      return bad(fmt::format("{}: needs data or parameters.binary_data_size", named));
    }
    out.push_back(std::move(t));
  }
  return out;
}

Result<bool> bool_param(const json& obj, const char* key, const std::string& what) {
  if (!obj.contains("parameters")) return false;
  const json& p = obj["parameters"];
  if (!p.is_object()) return bad(fmt::format("{}: parameters must be an object", what));
  if (!p.contains(key)) return false;
  if (!p[key].is_boolean()) return bad(fmt::format("{}: parameters.{} must be true/false", what, key));
  return p[key].get<bool>();
}

Result<std::string> id_of(const json& j) {
  if (!j.contains("id")) return std::string();
  if (!j["id"].is_string()) return bad("'id' must be a string");
  return j["id"].get<std::string>();
}

HttpBody finish(json j, const std::vector<const InferTensor*>& binary) {
  HttpBody b;
  b.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!binary.empty()) {
    b.header_length = b.body.size();
    for (const InferTensor* t : binary) b.body += t->data;
  }
  return b;
}

json tensor_header(const InferTensor& t) {
  return json{{"name", t.name}, {"datatype", std::string(kserve_dtype_name(t.dtype))}, {"shape", t.shape}};
}
}  // namespace

std::optional<size_t> parse_header_length(std::string_view v) {
  size_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) return std::nullopt;
  return n;
}

std::string error_json(std::string_view message) {
  return json{{"error", std::string(message)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<HttpInferRequest> parse_infer_request(std::string_view body, std::optional<size_t> header_length,
                                             bool borrow) {
  VERGE_ASSIGN_OR_RETURN(auto parts, split_body(body, header_length));
  auto& [j, binary] = parts;
  HttpInferRequest r;
  VERGE_ASSIGN_OR_RETURN(r.request.id, id_of(j));
  VERGE_ASSIGN_OR_RETURN(r.binary_output_default, bool_param(j, "binary_data_output", "request"));
  if (!j.contains("inputs")) return bad("missing 'inputs'");
  VERGE_ASSIGN_OR_RETURN(r.request.inputs, read_tensors(j["inputs"], "inputs", binary, borrow));
  if (!binary.empty())
    return bad(
        fmt::format("{} trailing binary bytes not claimed by any input's binary_data_size", binary.size()));
  if (j.contains("outputs")) {
    const json& outs = j["outputs"];
    if (!outs.is_array()) return bad("'outputs' must be an array");
    for (size_t i = 0; i < outs.size(); ++i) {
      const std::string what = fmt::format("outputs[{}]", i);
      if (!outs[i].is_object() || !outs[i].contains("name") || !outs[i]["name"].is_string())
        return bad(fmt::format("{} must be an object with a string 'name'", what));
      r.request.outputs.push_back(outs[i]["name"].get<std::string>());
      VERGE_ASSIGN_OR_RETURN(bool b, bool_param(outs[i], "binary_data", what));
      const bool has = outs[i].contains("parameters") && outs[i]["parameters"].contains("binary_data");
      r.binary_outputs.push_back(has ? b : r.binary_output_default);
    }
  }
  return r;
}

HttpBody encode_infer_response(const InferResponse& response, const HttpInferRequest& request) {
  json j{{"model_name", response.model_name}, {"model_version", response.model_version}};
  if (!response.id.empty()) j["id"] = response.id;
  json outs = json::array();
  std::vector<const InferTensor*> binary;
  for (const InferTensor& t : response.outputs) {
    bool as_binary = request.binary_output_default;
    for (size_t i = 0; i < request.request.outputs.size(); ++i)
      if (request.request.outputs[i] == t.name) as_binary = request.binary_outputs[i];
    json o = tensor_header(t);
    if (as_binary) {
      o["parameters"] = {{"binary_data_size", t.data.size()}};
      binary.push_back(&t);
    } else {
      o["data"] = bytes_to_json(t);
    }
    outs.push_back(std::move(o));
  }
  j["outputs"] = std::move(outs);
  return finish(std::move(j), binary);
}

HttpBody encode_infer_request(const InferRequest& request, bool binary_inputs, bool binary_outputs) {
  json j = json::object();
  if (!request.id.empty()) j["id"] = request.id;
  json ins = json::array();
  std::vector<const InferTensor*> binary;
  for (const InferTensor& t : request.inputs) {
    json i = tensor_header(t);
    if (binary_inputs) {
      i["parameters"] = {{"binary_data_size", t.data.size()}};
      binary.push_back(&t);
    } else {
      i["data"] = bytes_to_json(t);
    }
    ins.push_back(std::move(i));
  }
  j["inputs"] = std::move(ins);
  if (!request.outputs.empty()) {
    json outs = json::array();
    for (const auto& n : request.outputs)
      outs.push_back({{"name", n}, {"parameters", {{"binary_data", binary_outputs}}}});
    j["outputs"] = std::move(outs);
  }
  if (binary_outputs) j["parameters"] = {{"binary_data_output", true}};
  return finish(std::move(j), binary);
}

Result<InferResponse> parse_infer_response(std::string_view body, std::optional<size_t> header_length) {
  VERGE_ASSIGN_OR_RETURN(auto parts, split_body(body, header_length));
  auto& [j, binary] = parts;
  if (j.contains("error") && j["error"].is_string()) return Status::internal(j["error"].get<std::string>());
  InferResponse r;
  if (j.contains("model_name") && j["model_name"].is_string())
    r.model_name = j["model_name"].get<std::string>();
  if (j.contains("model_version") && j["model_version"].is_string())
    r.model_version = j["model_version"].get<std::string>();
  VERGE_ASSIGN_OR_RETURN(r.id, id_of(j));
  if (!j.contains("outputs")) return bad("response has no 'outputs'");
  VERGE_ASSIGN_OR_RETURN(r.outputs, read_tensors(j["outputs"], "outputs", binary, false));
  for (const InferTensor& t : r.outputs)
    if (t.data.size() != static_cast<size_t>(shape_numel(t.shape)) * dtype_size(t.dtype))
      return bad(
          fmt::format("output '{}': {} bytes for shape {}", t.name, t.data.size(), shape_to_string(t.shape)));
  return r;
}

}  // namespace verge::serve
