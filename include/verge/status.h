// Error handling for every Verge API.
//
// Contract (after TFLite Micro's error guide):
//  - Untrusted input (model files, tensors handed to Session::run, requests) is validated at the boundary
//    and rejected with a Status that names the file / node / tensor and the reason.
//  - Code past the boundary does not re-check; misuse of trusted internal APIs is a debug assertion.
//  - Nothing in Verge throws across its API; functions that can fail return Status or Result<T>.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace verge {

enum class StatusCode : unsigned char {
  kOk = 0,
  kInvalidArgument,  // caller-provided value is wrong (shape, dtype, option)
  kInvalidModel,     // the model file is malformed, inconsistent or violates the ONNX spec
  kUnsupported,      // valid ONNX that Verge does not implement (op, opset, dtype)
  kNotFound,         // a named file, model, input or output does not exist
  kIoError,          // reading or writing a file failed
  kOutOfRange,       // a data-dependent value (index, size) is outside what the op allows
  kResourceExhausted,
  kInternal,         // a Verge bug
  kNeedsValue,       // planner-internal: shape inference needs a value only known at run time
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status invalid_model(std::string m) { return {StatusCode::kInvalidModel, std::move(m)}; }
  static Status unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status out_of_range(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message" (no-op for ok).
  Status with_context(std::string_view context) const;
  // "InvalidModel: message"
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-ok Status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must be non-ok

  bool is_ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace verge

#define VERGE_CONCAT_INNER_(a, b) a##b
#define VERGE_CONCAT_(a, b) VERGE_CONCAT_INNER_(a, b)

#define VERGE_RETURN_IF_ERROR(expr)              \
  do {                                           \
    ::verge::Status verge_status_ = (expr);      \
    if (!verge_status_.is_ok()) return verge_status_; \
  } while (0)

#define VERGE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.is_ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#define VERGE_ASSIGN_OR_RETURN(lhs, expr) \
  VERGE_ASSIGN_OR_RETURN_IMPL_(VERGE_CONCAT_(verge_result_, __LINE__), lhs, expr)
