// The inference core without the network: config.pbtxt subset, repository layout, batching that gives
// the unbatched answers, and a bounded queue.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "package/package.h"
#include "serve/model_config.h"
#include "serve/repository.h"
#include "serve/signed_models.h"
#include "serve_fixture.h"

namespace verge::serve {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::TempDir;

TEST(ServeConfig, ParsesTritonSubset) {
  auto c = parse_model_config(R"(
    name: "fmnist"  platform: "onnxruntime_onnx"  max_batch_size: 8
    dynamic_batching { max_queue_delay_microseconds: 500 preferred_batch_size: [4, 8]
                       default_queue_policy { max_queue_size: 16 } }
    instance_group [{ count: 2 }, { count: 1 }]
    threads: 2)",
                              "config.pbtxt");
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->name, "fmnist");
  EXPECT_EQ(c->max_batch_size, 8);
  EXPECT_TRUE(c->dynamic_batching);
  EXPECT_EQ(c->max_queue_delay_us, 500u);
  EXPECT_EQ(c->preferred_batch_sizes, (std::vector<int>{4, 8}));
  EXPECT_EQ(c->max_queue_size, 16u);
  EXPECT_EQ(c->instance_count, 3);
  EXPECT_EQ(c->threads, 2);
  auto empty = parse_model_config("", "x");
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty->max_batch_size, -1);
  EXPECT_EQ(empty->instance_count, 1);
  // An explicit 0 is Triton's "no batching", not "unset" (which batches a model with a symbolic dim 0).
  auto zero = parse_model_config("max_batch_size: 0", "x");
  ASSERT_TRUE(zero.is_ok());
  EXPECT_EQ(zero->max_batch_size, 0);
}

TEST(ServeConfig, RejectsUnknownFieldsAndBadValues) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"input [{ name: \"x\" }]",
       "line 1:7: Message type \"verge.serve.config.ModelConfig\" has no field named \"input\""},
      {"max_batch_size: -1", "max_batch_size must be >= 0"},
      {"max_batch_size: 4 dynamic_batching { preferred_batch_size: 5 }",
       "preferred_batch_size 5 must be in [1, max_batch_size=4]"},
      {"instance_group [{ count: 1000 }]", "instance_group.count 1000 must be in [1, 64]"},
      {"threads: 0 threads: -3", "threads -3 must be in [1, 256]"},
      {"platform: \"tensorrt_plan\"", "platform 'tensorrt_plan' is not supported"},
      {"max_batch_size: 4 {", "line 1:"},
      {"dynamic_batching { }", "dynamic_batching needs max_batch_size > 0"},
  };
  for (const Case& c : cases) {
    auto r = parse_model_config(c.text, "m/config.pbtxt");
    ASSERT_FALSE(r.is_ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().rfind("m/config.pbtxt: ", 0), 0u) << r.status().message();
  }
}

TEST(ServeRepository, LoadsHighestVersionAndReportsBrokenModels) {
  TempDir dir("repo");
  test::add_fmnist_model(dir.path(), "fmnist");
  std::filesystem::create_directories(dir.path() / "fmnist" / "3");
  std::filesystem::copy_file(test::fmnist_path(), dir.path() / "fmnist" / "3" / "model.onnx");
  test::add_fmnist_model(dir.path(), "badconfig", "unknown_field: 1");
  std::filesystem::create_directories(dir.path() / "noversion");
  std::vector<std::string> log;
  auto repo = ModelRepository::open(
      dir.str(), {.read_model = {}, .log = [&](const std::string& m) { log.push_back(m); }});
  ASSERT_TRUE(repo.is_ok());
  EXPECT_EQ((*repo)->load_all(), 1u);
  auto m = (*repo)->get("fmnist");
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ((*m)->version(), "3");
  EXPECT_EQ((*m)->max_batch_size(), kDefaultMaxBatchSize);  // symbolic batch dim, no config
  EXPECT_TRUE((*repo)->get("fmnist", "3").is_ok());
  EXPECT_EQ((*repo)->get("fmnist", "1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*repo)->get("nope").status().code(), StatusCode::kNotFound);
  auto idx = (*repo)->index();
  ASSERT_EQ(idx.size(), 3u);
  EXPECT_EQ(idx[0].name, "badconfig");
  EXPECT_EQ(idx[0].state, "UNAVAILABLE");
  EXPECT_NE(idx[0].reason.find("unknown_field"), std::string::npos) << idx[0].reason;
  EXPECT_EQ(idx[1].state, "READY");
  EXPECT_EQ(idx[2].name, "noversion");
  EXPECT_EQ(idx[2].state, "UNAVAILABLE");
  EXPECT_FALSE((*repo)->load("../etc").is_ok());
  ASSERT_TRUE((*repo)->unload("fmnist").is_ok());
  EXPECT_EQ((*repo)->get("fmnist").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE((*repo)->unload("fmnist").is_ok());
  ASSERT_TRUE((*repo)->load("fmnist").is_ok());
  EXPECT_TRUE((*repo)->get("fmnist").is_ok());
  // A reload that fails (broken config) keeps version 3 serving.
  ASSERT_TRUE(write_file((dir.path() / "fmnist" / "config.pbtxt").string(), "max_batch_size: -4").is_ok());
  EXPECT_FALSE((*repo)->load("fmnist").is_ok());
  ASSERT_TRUE((*repo)->get("fmnist").is_ok());
  EXPECT_EQ((*repo)->get("fmnist").value()->version(), "3");
  EXPECT_NE(log.back().find("still serving version 3"), std::string::npos) << log.back();
}

TEST(ServeRepository, ReadModelHookDecidesWhatLoads) {
  TempDir dir("hook");
  test::add_fmnist_model(dir.path(), "a");
  test::add_fmnist_model(dir.path(), "b");
  RepositoryOptions o;
  o.read_model = [](const std::string& version_dir) -> Result<std::string> {
    if (version_dir.find("/b/") != std::string::npos)
      return Status::invalid_argument("package is not signed");
    return read_file(version_dir + "/model.onnx");
  };
  o.log = [](const std::string&) {};
  auto repo = ModelRepository::open(dir.str(), o);
  ASSERT_TRUE(repo.is_ok());
  EXPECT_EQ((*repo)->load_all(), 1u);
  EXPECT_TRUE((*repo)->get("a").is_ok());
  EXPECT_NE((*repo)->get("b").status().message().find("package is not signed"), std::string::npos);
}

// --require-signed: only a package signed by a trusted key loads (also encrypted); a bare model.onnx, a
// tampered package and a package signed by an untrusted key are refused with the package check's reason.
TEST(ServeRepository, RequireSignedServesOnlyTrustedPackages) {
  TempDir dir("signed");
  const fs::path keys = dir.path() / "keys", trusted = dir.path() / "trusted", repo_dir = dir.path() / "repo";
  fs::create_directories(keys);
  fs::create_directories(trusted);
  ASSERT_TRUE(package::generate_signing_key((keys / "alice").string()).is_ok());
  ASSERT_TRUE(package::generate_signing_key((keys / "mallory").string()).is_ok());
  fs::copy_file(keys / "alice.pub", trusted / "alice.pub");
  ASSERT_TRUE(package::generate_symmetric_key((keys / "model.key").string()).is_ok());
  auto alice = package::load_private_key((keys / "alice.priv").string());
  auto mallory = package::load_private_key((keys / "mallory.priv").string());
  auto aes = package::load_symmetric_key((keys / "model.key").string());
  ASSERT_TRUE(alice.is_ok() && mallory.is_ok() && aes.is_ok());
  const std::string onnx = read_file(test::fmnist_path()).value();
  auto put = [&](const std::string& model, const package::Ed25519Key& signer,
                 const package::SymmetricKey* key, bool tamper) {
    auto pkg = package::build_package({{"model.onnx", onnx}}, &signer, key);
    ASSERT_TRUE(pkg.is_ok()) << pkg.status().to_string();
    if (tamper) (*pkg)[pkg->size() - 100] ^= 1;
    fs::create_directories(repo_dir / model / "1");
    ASSERT_TRUE(write_file((repo_dir / model / "1" / "model.vpkg").string(), *pkg).is_ok());
  };
  put("signed", *alice, nullptr, false);
  put("encrypted", *alice, &*aes, false);
  put("tampered", *alice, nullptr, true);
  put("untrusted", *mallory, nullptr, false);
  test::add_fmnist_model(repo_dir, "bare");

  auto reader = signed_model_reader(trusted.string(), (keys / "model.key").string());
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();
  std::vector<std::string> log;
  auto repo = ModelRepository::open(
      repo_dir.string(), {.read_model = *reader, .log = [&](const std::string& m) { log.push_back(m); }});
  ASSERT_TRUE(repo.is_ok());
  EXPECT_EQ((*repo)->load_all(), 2u);
  EXPECT_TRUE((*repo)->get("signed").is_ok());
  EXPECT_TRUE((*repo)->get("encrypted").is_ok());
  const auto reason = [&](const char* m) { return (*repo)->get(m).status().message(); };
  EXPECT_NE(reason("bare").find("model.vpkg is missing"), std::string::npos) << reason("bare");
  EXPECT_NE(reason("tampered").find("refused package"), std::string::npos) << reason("tampered");
  EXPECT_NE(reason("untrusted").find("refused package"), std::string::npos) << reason("untrusted");
  EXPECT_NE(reason("tampered"), reason("untrusted"));  // each names its own failed check
  // The signed model computes what the plain model computes.
  auto model = (*repo)->get("encrypted").value();
  InferRequest r;
  r.inputs.push_back(test::image_tensor(test::images(1, 5)));
  auto out = model->infer(std::move(r));
  ASSERT_TRUE(out.is_ok()) << out.status().to_string();
  // Without the decryption key the encrypted package is refused, the signed one still loads.
  auto no_key = signed_model_reader(trusted.string(), std::nullopt);
  ASSERT_TRUE(no_key.is_ok());
  auto repo2 =
      ModelRepository::open(repo_dir.string(), {.read_model = *no_key, .log = [](const std::string&) {}});
  ASSERT_TRUE(repo2.is_ok());
  EXPECT_EQ((*repo2)->load_all(), 1u);
  EXPECT_TRUE((*repo2)->get("signed").is_ok());
}

TEST(ServeModel, ValidatesRequests) {
  TempDir dir("validate");
  test::add_fmnist_model(dir.path(), "m", "max_batch_size: 4");
  auto repo = ModelRepository::open(dir.str(), {.read_model = {}, .log = [](const std::string&) {}});
  ASSERT_TRUE(repo.is_ok());
  ASSERT_EQ((*repo)->load_all(), 1u);
  auto model = (*repo)->get("m").value();
  const auto good = test::image_tensor(test::images(1, 1));
  auto req = [&](auto edit) {
    InferRequest r;
    r.inputs.push_back(good);
    edit(r);
    return model->infer(std::move(r)).status();
  };
  EXPECT_TRUE(req([](InferRequest&) {}).is_ok());
  struct Case {
    std::function<void(InferRequest&)> edit;
    const char* expect;
  } cases[] = {
      {[](InferRequest& r) { r.inputs[0].name = "x"; }, "unknown input 'x'"},
      {[](InferRequest& r) { r.inputs.clear(); }, "missing input 'image'"},
      {[&](InferRequest& r) { r.inputs.push_back(good); }, "input 'image' given twice"},
      {[](InferRequest& r) { r.inputs[0].dtype = DType::kInt32; },
       "datatype INT32 but the model expects FP32"},
      {[](InferRequest& r) {
         r.inputs[0].shape = {1, 28, 28};
       },
       "has rank 3 but the model expects"},
      {[](InferRequest& r) {
         r.inputs[0].shape = {1, 1, 28, 27};
       },
       "does not match the model's"},
      {[](InferRequest& r) {
         r.inputs[0].shape = {5, 1, 28, 28};
       },
       "batch size 5 outside [1, max_batch_size=4]"},
      {[](InferRequest& r) { r.inputs[0].data.pop_back(); },
       "3135 bytes of data but shape 1x1x28x28 of FP32 needs 3136"},
      {[](InferRequest& r) { r.outputs = {"nope"}; }, "unknown output 'nope'"},
  };
  for (const Case& c : cases) {
    Status st = req(c.edit);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.expect;
    EXPECT_NE(st.message().find(c.expect), std::string::npos) << st.message();
  }
  EXPECT_EQ(model->stats().request_success.load(), 1u);
  EXPECT_EQ(model->stats().request_failure.load(), std::size(cases));
}

// Many concurrent single-image requests through a batching model give exactly the logits of running
// each image alone in-process, and really were batched (fewer executions than requests).
TEST(ServeModel, DynamicBatchingMatchesUnbatchedRuns) {
  TempDir dir("batch");
  test::add_fmnist_model(dir.path(), "m",
                         "max_batch_size: 8 dynamic_batching { max_queue_delay_microseconds: 20000 }"
                         " instance_group [{ count: 2 }]");
  auto repo = ModelRepository::open(dir.str(), {.read_model = {}, .log = [](const std::string&) {}});
  ASSERT_TRUE(repo.is_ok());
  ASSERT_EQ((*repo)->load_all(), 1u);
  auto model = (*repo)->get("m").value();
  constexpr int kClients = 16;
  const std::vector<float> pixels = test::images(kClients, 7);
  const std::vector<float> want = test::reference_logits(pixels);
  std::vector<std::future<Result<InferResponse>>> futures;
  for (int i = 0; i < kClients; ++i)
    futures.push_back(std::async(std::launch::async, [&, i] {
      InferRequest r;
      r.id = std::to_string(i);
      r.inputs.push_back(test::image_tensor({pixels.begin() + i * 784, pixels.begin() + (i + 1) * 784}));
      return model->infer(std::move(r));
    }));
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(futures[i].wait_for(60s), std::future_status::ready);
    auto r = futures[i].get();
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->id, std::to_string(i));
    ASSERT_EQ(r->outputs.size(), 1u);
    EXPECT_EQ(r->outputs[0].name, "logits");
    EXPECT_EQ(r->outputs[0].shape, (Shape{1, 10}));
    const auto got = test::as_floats(r->outputs[0].data);
    EXPECT_EQ(got, std::vector<float>(want.begin() + i * 10, want.begin() + (i + 1) * 10)) << "request " << i;
  }
  const auto& st = model->stats();
  EXPECT_EQ(st.request_success.load(), uint64_t{kClients});
  EXPECT_EQ(st.inference_count.load(), uint64_t{kClients});
  EXPECT_LT(st.execution_count.load(), uint64_t{kClients});
}

// With room for one waiting request, a second request while the first waits for its batch is refused
// at once with kResourceExhausted, and the first still completes.
TEST(ServeModel, FullQueueRejectsImmediately) {
  TempDir dir("queue");
  test::add_fmnist_model(dir.path(), "m",
                         "max_batch_size: 8 dynamic_batching { max_queue_delay_microseconds: 1500000 "
                         "default_queue_policy { max_queue_size: 1 } }");
  auto repo = ModelRepository::open(dir.str(), {.read_model = {}, .log = [](const std::string&) {}});
  ASSERT_TRUE(repo.is_ok());
  ASSERT_EQ((*repo)->load_all(), 1u);
  auto model = (*repo)->get("m").value();
  auto request = [] {
    InferRequest r;
    r.inputs.push_back(test::image_tensor(test::images(1, 3)));
    return r;
  };
  auto first = std::async(std::launch::async, [&] { return model->infer(request()); });
  for (int i = 0; i < 500 && model->stats().pending.load() == 0; ++i) std::this_thread::sleep_for(2ms);
  ASSERT_EQ(model->stats().pending.load(), 1u);
  auto second = model->infer(request());
  EXPECT_EQ(second.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(second.status().message().find("request queue is full"), std::string::npos);
  ASSERT_EQ(first.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(first.get().is_ok());
}

}  // namespace
}  // namespace verge::serve
