// KServe v2 / Open Inference Protocol HTTP bodies: JSON tensors and the binary tensor data extension.
//
// A body is either plain JSON, or — when the header `Inference-Header-Content-Length: N` is present —
// N bytes of JSON followed by the binary data of every tensor whose `parameters.binary_data_size` is
// set, in the order the tensors appear in the JSON. Both directions are here so the server and the
// client (serve/client.h) speak exactly the same format.
//
// Errors: every malformed body gives kInvalidArgument naming the field or tensor ("inputs[0].shape must
// be an array of non-negative integers"); nothing throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serve/infer_types.h"

namespace verge::serve {

inline constexpr std::string_view kHeaderLengthField = "Inference-Header-Content-Length";

struct HttpInferRequest {
  InferRequest request;
  // Per requested output (parallel to request.outputs): answer in binary? When the request names no
  // outputs, `binary_output_default` (parameters.binary_data_output) applies to all.
  std::vector<bool> binary_outputs;
  bool binary_output_default = false;
};

struct HttpBody {
  std::string body;
  std::optional<size_t> header_length;  // set when binary data follows the JSON
};

// Server side. `header_length` is the parsed Inference-Header-Content-Length, if the header was sent.
// With `borrow`, binary input data is lent from `body` (InferTensor::borrowed; copied if misaligned), so
// `body` must outlive the request's inference.
Result<HttpInferRequest> parse_infer_request(std::string_view body, std::optional<size_t> header_length,
                                             bool borrow = false);
HttpBody encode_infer_response(const InferResponse& response, const HttpInferRequest& request);

// Client side. Sends inputs as binary when `binary_inputs`; asks for binary outputs when `binary_outputs`.
HttpBody encode_infer_request(const InferRequest& request, bool binary_inputs, bool binary_outputs);
Result<InferResponse> parse_infer_response(std::string_view body, std::optional<size_t> header_length);

// Parses an Inference-Header-Content-Length value (decimal, no sign); nullopt if malformed.
std::optional<size_t> parse_header_length(std::string_view value);

// {"error": message}
std::string error_json(std::string_view message);

}  // namespace verge::serve
