// Shared helpers for the server tests: a temporary model repository holding the bundled Fashion-MNIST
// classifier, deterministic inputs and in-process reference outputs.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "io/file.h"
#include "op_test.h"
#include "serve/infer_types.h"
#include "verge/session.h"

namespace verge::serve::test {
namespace fs = std::filesystem;

// A directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("verge_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

inline const std::string& fmnist_path() {
  static const std::string p = verge::test::test_data("fmnist_cnn.onnx");
  return p;
}

// DIR/<name>/1/model.onnx (the fmnist model) plus config.pbtxt when `config` is non-empty.
inline void add_fmnist_model(const fs::path& root, const std::string& name, const std::string& config = "") {
  fs::create_directories(root / name / "1");
  fs::copy_file(fmnist_path(), root / name / "1" / "model.onnx", fs::copy_options::overwrite_existing);
  if (!config.empty()) {
    ASSERT_TRUE(write_file((root / name / "config.pbtxt").string(), config).is_ok());
  }
}

// `batch` images of 1x28x28 floats in [0, 1), reproducible from `seed`.
inline std::vector<float> images(int batch, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(batch) * 28 * 28);
  for (float& x : v) x = u(rng);
  return v;
}

inline InferTensor image_tensor(const std::vector<float>& pixels) {
  const int64_t batch = static_cast<int64_t>(pixels.size() / (28 * 28));
  InferTensor t{"image", DType::kFloat32, {batch, 1, 28, 28}, {}};
  t.data.assign(reinterpret_cast<const char*>(pixels.data()), pixels.size() * sizeof(float));
  return t;
}

// Logits computed in-process, one image at a time (the unbatched reference).
inline std::vector<float> reference_logits(const std::vector<float>& pixels) {
  auto s = Session::load(fmnist_path());
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  std::vector<float> out;
  const size_t n = pixels.size() / (28 * 28);
  for (size_t i = 0; i < n; ++i) {
    Tensor x = Tensor::wrap(DType::kFloat32, {1, 1, 28, 28}, pixels.data() + i * 28 * 28);
    auto y = (*s)->run({x});
    EXPECT_TRUE(y.is_ok()) << y.status().to_string();
    auto v = (*y)[0].values<float>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

inline std::vector<float> as_floats(const std::string& bytes) {
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// Test PKI made with the openssl CLI in a temp dir: CA "good" signs the server and a client
// certificate; CA "other" signs nothing we use.
class TestPki {
 public:
  TestPki() : dir_("pki") {
    ok_ = run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
              "/CN=good-ca "
              "-keyout ca.key -out ca.pem") &&
          run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
              "/CN=other-ca "
              "-keyout other.key -out other.pem") &&
          leaf("server", "subjectAltName=IP:127.0.0.1,DNS:localhost") &&
          leaf("client", "extendedKeyUsage=clientAuth");
  }
  bool ok() const { return ok_; }
  std::string operator()(const std::string& file) const { return (dir_.path() / file).string(); }

 private:
  bool run(const std::string& cmd) {
    return std::system(("cd " + dir_.str() + " && " + cmd + " >/dev/null 2>&1").c_str()) == 0;
  }
  bool leaf(const std::string& name, const std::string& ext) {
    return write_file((dir_.path() / (name + ".ext")).string(), ext + "\n").is_ok() &&
           run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name +
               " -keyout " + name + ".key -out " + name + ".csr") &&
           run("openssl x509 -req -in " + name +
               ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out " + name + ".pem -extfile " +
               name + ".ext");
  }
  TempDir dir_;
  bool ok_ = false;
};

}  // namespace verge::serve::test
