// Model import: every kind of bad file gets one clear error naming the file/node/tensor and the reason.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "import/onnx/importer.h"
#include "import/onnx/tensor_proto.h"
#include "io/file.h"
#include "op_test.h"
#include "runtime/session_impl.h"

namespace verge {
namespace {
namespace fs = std::filesystem;

onnx::ModelProto relu_model(int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* os = m.add_opset_import();
  os->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(1);
  out->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("act");
  n->add_input("x");
  n->add_output("y");
  return m;
}

Status load_error(const onnx::ModelProto& m) {
  auto r = onnx_io::load_model_from_bytes(m.SerializeAsString(), "m.onnx", ".");
  EXPECT_FALSE(r.is_ok());
  return r.is_ok() ? Status::ok() : r.status();
}

TEST(Import, TruncatedFile) {
  const std::string bytes = test::OpTest("Relu").input("X", test::F({1}, {1})).output("Y", test::F({1}, {1})).model_bytes();
  auto r = onnx_io::load_model_from_bytes(bytes.substr(0, bytes.size() / 2), "half.onnx", ".");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidModel);
  EXPECT_EQ(r.status().message(), "half.onnx: not a valid ONNX model (protobuf parsing failed: truncated or corrupt file)");
}

TEST(Import, GarbageAndEmptyFiles) {
  EXPECT_EQ(onnx_io::load_model_from_bytes("\x08\x96\x01garbage\xff\xff", "g.onnx", ".").status().code(), StatusCode::kInvalidModel);
  EXPECT_EQ(onnx_io::load_model_from_bytes("", "e.onnx", ".").status().message(), "e.onnx: the file is empty");
  auto missing = onnx_io::load_model("/nonexistent/model.onnx");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/model.onnx"), std::string::npos);
}

TEST(Import, UnknownOperatorNamesNodeAndOp) {
  auto m = relu_model();
  m.mutable_graph()->mutable_node(0)->set_op_type("FancyRelu");
  m.mutable_graph()->mutable_node(0)->set_domain("com.example");
  m.add_opset_import()->set_domain("com.example");
  m.mutable_opset_import(1)->set_version(1);
  Status s = load_error(m);
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_EQ(s.message(), "m.onnx: node 'act' (FancyRelu): operator 'com.example.FancyRelu' is not supported by Verge");
}

TEST(Import, OpsetOutsideSupportedRange) {
  Status s = load_error(relu_model(18));
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("opset 18 is newer than Verge supports (opsets 1..17)"), std::string::npos) << s.message();
}

TEST(Import, DeprecatedOperatorVersion) {
  auto m = relu_model(10);
  auto* n = m.mutable_graph()->mutable_node(0);
  n->set_op_type("Upsample");  // deprecated at opset 10
  Status s = load_error(m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("Upsample is deprecated in domain_version of 10"), std::string::npos) << s.message();
}

TEST(Import, UndefinedInputNamesTheValue) {
  auto m = relu_model();
  m.mutable_graph()->mutable_node(0)->set_input(0, "nope");
  Status s = load_error(m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("nope"), std::string::npos) << s.message();
}

TEST(Import, StringTensorsAreUnsupported) {
  auto m = relu_model();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::STRING);
  m.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::STRING);
  Status s = load_error(m);
  EXPECT_NE(s.message().find("string"), std::string::npos) << s.message();
}

TEST(Import, InitializerSizeMismatch) {
  auto m = relu_model();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(3);
  t->add_float_data(1);
  Status s = load_error(m);
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_NE(s.message().find("initializer 'w': has 1 values; shape 3 needs 3"), std::string::npos) << s.message();
}

class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("verge_ext_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // y = x + b, with b stored in an external file at `location`.
  std::string write_model(const std::string& location, int64_t offset) {
    auto m = relu_model();
    auto* n = m.mutable_graph()->mutable_node(0);
    n->set_op_type("Add");
    n->add_input("b");
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("b");
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(4);
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    kv = t->add_external_data();
    kv->set_key("offset");
    kv->set_value(std::to_string(offset));
    const std::string path = (dir_ / "model.onnx").string();
    EXPECT_TRUE(write_file(path, m.SerializeAsString()).is_ok());
    return path;
  }
  fs::path dir_;
};

TEST_F(ExternalData, LoadsWeightsFromFileAtOffset) {
  const float b[4] = {10, 20, 30, 40};
  std::string blob(8, 'x');
  blob.append(reinterpret_cast<const char*>(b), sizeof b);
  ASSERT_TRUE(write_file((dir_ / "weights.bin").string(), blob).is_ok());
  auto s = Session::load(write_model("weights.bin", 8));
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  Tensor x = test::F({4}, {1, 2, 3, 4});
  auto y = (*s)->run({x});
  ASSERT_TRUE(y.is_ok());
  EXPECT_EQ(std::vector<float>((*y)[0].data<float>(), (*y)[0].data<float>() + 4), (std::vector<float>{11, 22, 33, 44}));
}

TEST_F(ExternalData, RefusesPathsOutsideTheModelDirectory) {
  auto s = Session::load(write_model("../../etc/passwd", 0));
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("must be a relative path inside the model directory"), std::string::npos)
      << s.status().message();
}

TEST_F(ExternalData, ShortFileIsAClearError) {
  ASSERT_TRUE(write_file((dir_ / "weights.bin").string(), std::string(6, '\0')).is_ok());
  auto s = Session::load(write_model("weights.bin", 0));
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("has 6 bytes; need 16 at offset 0"), std::string::npos) << s.status().message();
}

TEST(Import, RoundTripKeepsInterfaceAndOpset) {
  auto m = onnx_io::load_model(test::test_data("fmnist_cnn.onnx"));
  ASSERT_TRUE(m.is_ok());
  auto bytes = onnx_io::save_model_to_bytes(*m);
  ASSERT_TRUE(bytes.is_ok());
  auto again = onnx_io::load_model_from_bytes(*bytes, "re.onnx", ".");
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again->opset, 17);
  EXPECT_EQ(again->graph.nodes.size(), m->graph.nodes.size());
  EXPECT_EQ(again->graph.value(again->graph.inputs[0]).type.to_string(), "float32[batch,1,28,28]");
}

}  // namespace
}  // namespace verge
