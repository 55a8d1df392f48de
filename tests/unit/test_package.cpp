// Signed / encrypted model packages (src/package): round trips, a tamper table where each attack is
// rejected by its own check, plaintext never on disk, and malformed-input robustness.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>

#include "io/file.h"
#include "io/npy.h"
#include "op_test.h"
#include "package/crypto.h"
#include "package/package.h"
#include "verge/session.h"

namespace verge {
namespace {
namespace fs = std::filesystem;
using package::PackageError;

constexpr std::string_view kMarker = "VERGE-PLAINTEXT-MARKER-do-not-leak-7f3a9c";

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "verge-package-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

void write(const std::string& path, std::string_view bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
std::string read(const std::string& path) { return read_file(path).value(); }

// Keys for alice (trusted) and mallory (not trusted), a model directory, an AES key.
class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(package::generate_signing_key(dir / "alice").is_ok());
    ASSERT_TRUE(package::generate_signing_key(dir / "mallory").is_ok());
    fs::create_directories(dir / "trusted");
    fs::copy_file(dir / "alice.pub", dir / "trusted/alice.pub");
    fs::create_directories(dir / "mallory-only");
    fs::copy_file(dir / "mallory.pub", dir / "mallory-only/mallory.pub");
    ASSERT_TRUE(package::generate_symmetric_key(dir / "aes.key").is_ok());
    ASSERT_TRUE(package::generate_symmetric_key(dir / "other.key").is_ok());
    model = read(test::test_data("fmnist_cnn.onnx"));
    write(dir / "model/model.onnx", model);
    write(dir / "model/config.json", std::string("{\"note\": \"") + std::string(kMarker) + "\"}\n");
    write(dir / "model/labels/classes.txt",
          "tshirt\ntrouser\npullover\ndress\ncoat\nsandal\nshirt\nsneaker\nbag\nboot\n");
    alice.emplace(package::load_private_key(dir / "alice.priv").value());
    mallory.emplace(package::load_private_key(dir / "mallory.priv").value());
    trusted = std::move(package::load_trusted_keys(dir / "trusted")).value();
    aes.emplace(package::load_symmetric_key(dir / "aes.key").value());
    other_aes.emplace(package::load_symmetric_key(dir / "other.key").value());
  }

  std::string pack(const package::Ed25519Key* signer, const package::SymmetricKey* key) {
    const std::string out = dir / "out.vpkg";
    fs::remove(out);
    auto n = package::pack_directory(dir / "model", out, signer, key);
    EXPECT_TRUE(n.is_ok()) << n.status().to_string();
    EXPECT_EQ(n.is_ok() ? *n : 0, 3u);
    return read(out);
  }

  // The error open_package_bytes reports (kNone on success).
  PackageError check(std::string_view bytes, const package::SymmetricKey* key, std::string* message = nullptr,
                     const std::vector<package::Ed25519Key>* keys = nullptr) {
    PackageError e = static_cast<PackageError>(255);
    auto r = package::open_package_bytes(bytes, keys ? *keys : trusted, key, &e);
    if (message) *message = r.status().message();
    EXPECT_EQ(r.is_ok(), e == PackageError::kNone);
    return e;
  }

  TempDir dir;
  std::string model;
  std::optional<package::Ed25519Key> alice, mallory;
  std::vector<package::Ed25519Key> trusted;
  std::optional<package::SymmetricKey> aes, other_aes;
};

// Offsets in a package: header (20 bytes) | manifest | signature block (96 or 0) | file data.
struct Layout {
  size_t manifest_at = 20, manifest_len, sig_at, sig_len, data_at;
  explicit Layout(std::string_view p) {
    auto u32 = [&](size_t at) {
      uint32_t v = 0;
      for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[at + i])} << (8 * i);
      return v;
    };
    manifest_len = u32(12);
    sig_len = u32(16);
    sig_at = manifest_at + manifest_len;
    data_at = sig_at + sig_len;
  }
};

std::string u32le(uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

// A package assembled by hand: `manifest` signed by `signer` (null = unsigned), then `data`.
std::string assemble(const std::string& manifest, const package::Ed25519Key* signer,
                     const std::string& data) {
  std::string p =
      "VERGEPKG" + u32le(1) + u32le(static_cast<uint32_t>(manifest.size())) + u32le(signer ? 96 : 0);
  p += manifest;
  if (signer) {
    const auto id = package::crypto::sha256(
        std::string_view(reinterpret_cast<const char*>(signer->raw_public().data()), 32));
    p.append(reinterpret_cast<const char*>(id.data()), id.size());
    const auto sig = package::crypto::sign(*signer, manifest).value();
    p.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  }
  return p + data;
}

std::string hex_sha(std::string_view s) { return package::crypto::to_hex(package::crypto::sha256(s)); }

TEST_F(PackageTest, SignedRoundTrip) {
  const std::string pkg = pack(&*alice, nullptr);
  PackageError e;
  auto opened = package::open_package(dir / "out.vpkg", dir / "trusted", std::nullopt, &e);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(e, PackageError::kNone);
  EXPECT_EQ(opened->signer_name, "alice.pub");
  EXPECT_EQ(opened->signer_fingerprint, alice->fingerprint());
  EXPECT_FALSE(opened->encrypted);
  ASSERT_EQ(opened->files.size(), 3u);
  EXPECT_EQ(opened->files[0].path, "config.json");
  EXPECT_EQ(opened->files[1].path, "labels/classes.txt");
  EXPECT_EQ(opened->files[2].path, "model.onnx");
  for (const auto& f : opened->files) EXPECT_EQ(f.bytes.view(), read(dir / ("model/" + f.path))) << f.path;
  // The manifest is plain canonical JSON with relative paths and digests.
  const Layout l(pkg);
  const std::string manifest = pkg.substr(l.manifest_at, l.manifest_len);
  EXPECT_NE(manifest.find("\"path\":\"model.onnx\",\"sha256\":\"" + hex_sha(model) + "\""), std::string::npos)
      << manifest;
  EXPECT_EQ(manifest.find(dir.path.string()), std::string::npos);
}

TEST_F(PackageTest, ReportsWhichTrustedKeySigned) {
  fs::copy_file(dir / "mallory.pub", dir / "trusted/mallory.pub");
  write(dir / "trusted/README.txt", "not a key; ignored");
  const std::string by_mallory = package::build_package({{"model.onnx", model}}, &*mallory, nullptr).value();
  std::vector<package::Ed25519Key> both = std::move(package::load_trusted_keys(dir / "trusted")).value();
  ASSERT_EQ(both.size(), 2u);
  auto opened = package::open_package_bytes(by_mallory, both, nullptr);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->signer_name, "mallory.pub");
  EXPECT_EQ(opened->signer_fingerprint, mallory->fingerprint());
  EXPECT_NE(alice->fingerprint(), mallory->fingerprint());
}

TEST_F(PackageTest, EncryptedRoundTripRunsTheModelFromMemory) {
  pack(&*alice, &*aes);
  PackageError e;
  auto opened = package::open_package(dir / "out.vpkg", dir / "trusted",
                                      package::load_symmetric_key(dir / "aes.key").value(), &e);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_TRUE(opened->encrypted);
  EXPECT_TRUE(opened->contents_checked);
  const package::PackageFile* onnx = opened->find("model.onnx");
  ASSERT_NE(onnx, nullptr);
  EXPECT_EQ(onnx->bytes.view(), model);
  EXPECT_EQ(opened->find("config.json")->bytes.view().find(kMarker), 0u + 10);

  auto from_pkg = Session::load_from_memory(onnx->bytes.view());
  auto plain = Session::load(test::test_data("fmnist_cnn.onnx"));
  ASSERT_TRUE(from_pkg.is_ok()) << from_pkg.status().to_string();
  ASSERT_TRUE(plain.is_ok());
  std::mt19937 rng(6);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> pixels(2 * 28 * 28);
  for (float& p : pixels) p = u(rng);
  const Tensor x = Tensor::wrap(DType::kFloat32, {2, 1, 28, 28}, pixels.data());
  auto a = (*from_pkg)->run({x});
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  std::vector<float> got((*a)[0].values<float>().begin(), (*a)[0].values<float>().end());
  auto b = (*plain)->run({x});
  ASSERT_TRUE(b.is_ok());
  const auto want = (*b)[0].values<float>();
  ASSERT_EQ(got.size(), 20u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], want[i]) << i;
}

TEST_F(PackageTest, PlaintextNeverOnDisk) {
  std::set<fs::path> before;
  for (const auto& f : fs::recursive_directory_iterator(dir.path)) before.insert(f.path());
  const std::string pkg = pack(&*alice, &*aes);
  EXPECT_EQ(pkg.find(kMarker), std::string::npos);
  EXPECT_EQ(pkg.find("pullover"), std::string::npos);
  EXPECT_EQ(pkg.find(model.substr(model.size() / 2, 64)), std::string::npos);
  // A plain package does hold the marker (so the scan above can fail).
  EXPECT_NE(pack(&*alice, nullptr).find(kMarker), std::string::npos);
  pack(&*alice, &*aes);
  auto opened = package::open_package(dir / "out.vpkg", dir / "trusted",
                                      package::load_symmetric_key(dir / "aes.key").value());
  ASSERT_TRUE(opened.is_ok());
  // Opening wrote nothing: the only new file is the package itself, and no file outside the model
  // directory holds the plaintext.
  for (const auto& f : fs::recursive_directory_iterator(dir.path)) {
    if (!f.is_regular_file() || f.path().string().starts_with(dir / "model")) continue;
    if (!before.count(f.path())) {
      EXPECT_EQ(f.path().filename(), "out.vpkg");
    }
    EXPECT_EQ(read(f.path().string()).find(kMarker), std::string::npos) << f.path();
  }
}

TEST_F(PackageTest, TamperTable) {
  const std::string plain = pack(&*alice, nullptr), enc = pack(&*alice, &*aes);
  const Layout lp(plain), le(enc);
  const std::string unsigned_pkg = package::build_package({{"model.onnx", model}}, nullptr, nullptr).value();
  const std::string by_mallory = package::build_package({{"model.onnx", model}}, &*mallory, nullptr).value();
  auto flip = [](std::string s, size_t at) {
    s[at] = static_cast<char>(s[at] ^ 0x20);
    return s;
  };
  // A file added to the manifest without re-signing: alice's old signature on a new manifest.
  std::string added =
      package::build_package({{"config.json", "{}"}, {"extra.bin", "x"}, {"model.onnx", model}}, &*alice,
                             nullptr)
          .value();
  {
    const Layout la(added);
    added.replace(la.sig_at, 96, plain.substr(lp.sig_at, 96));
  }
  std::vector<package::Ed25519Key> mallory_keys;
  mallory_keys.push_back(package::load_public_key(dir / "mallory.pub").value());
  struct Case {
    const char* name;
    std::string bytes;
    const package::SymmetricKey* key;
    PackageError want;
    const std::vector<package::Ed25519Key>* keys = nullptr;
  };
  const Case cases[] = {
      {"intact plain", plain, nullptr, PackageError::kNone},
      {"intact encrypted", enc, &*aes, PackageError::kNone},
      {"byte flipped in a file", flip(plain, lp.data_at + 5), nullptr, PackageError::kTamperedFile},
      {"byte flipped in the last file", flip(plain, plain.size() - 1), nullptr, PackageError::kTamperedFile},
      {"byte flipped in ciphertext", flip(enc, le.data_at + 5), &*aes, PackageError::kTamperedFile},
      {"byte flipped in GCM tag", flip(enc, enc.size() - 1), &*aes, PackageError::kTamperedFile},
      {"byte flipped in the manifest", flip(plain, lp.manifest_at + lp.manifest_len / 2), nullptr,
       PackageError::kBadSignature},
      {"byte flipped in encrypted manifest", flip(enc, le.manifest_at + 3), &*aes,
       PackageError::kBadSignature},
      {"byte flipped in the signature", flip(plain, lp.sig_at + 40), nullptr, PackageError::kBadSignature},
      {"byte flipped in the signer key id", flip(plain, lp.sig_at + 3), nullptr, PackageError::kUntrustedKey},
      {"unsigned", unsigned_pkg, nullptr, PackageError::kUnsigned},
      {"signed by an untrusted key", by_mallory, nullptr, PackageError::kUntrustedKey},
      {"trusted keys do not include the signer", plain, nullptr, PackageError::kUntrustedKey, &mallory_keys},
      {"file added to manifest, old signature", added, nullptr, PackageError::kBadSignature},
      {"file bytes appended", plain + "extra file", nullptr, PackageError::kExtraData},
      {"last file removed", plain.substr(0, plain.size() - model.size()), nullptr,
       PackageError::kMissingFile},
      {"last file truncated", plain.substr(0, plain.size() - 7), nullptr, PackageError::kMissingFile},
      {"wrong AES key", enc, &*other_aes, PackageError::kWrongKey},
      {"no AES key", enc, nullptr, PackageError::kKeyRequired},
      {"bad magic", flip(plain, 0), nullptr, PackageError::kCorrupt},
      {"unknown container version", flip(plain, 8), nullptr, PackageError::kCorrupt},
      {"huge manifest length", plain.substr(0, 12) + u32le(0xffffffffu) + plain.substr(16), nullptr,
       PackageError::kCorrupt},
      {"manifest length past the end",
       plain.substr(0, 12) + u32le(static_cast<uint32_t>(plain.size())) + plain.substr(16), nullptr,
       PackageError::kTruncated},
      {"odd signature length", plain.substr(0, 16) + u32le(95) + plain.substr(20), nullptr,
       PackageError::kCorrupt},
      {"empty", "", nullptr, PackageError::kTruncated},
  };
  for (const Case& c : cases) {
    std::string msg;
    EXPECT_EQ(check(c.bytes, c.key, &msg, c.keys), c.want)
        << c.name << ": got '" << msg << "', want " << package::package_error_name(c.want);
    if (c.want != PackageError::kNone) {
      EXPECT_NE(msg.find(package::package_error_name(c.want)), std::string::npos) << msg;
    }
  }
}

TEST_F(PackageTest, TruncatedAtEveryBoundaryAndManyOffsets) {
  for (const std::string& pkg : {pack(&*alice, nullptr), pack(&*alice, &*aes)}) {
    const Layout l(pkg);
    std::vector<size_t> cuts;
    for (size_t i = 0; i < l.data_at + 64; ++i)
      cuts.push_back(i);  // every byte of header, manifest, signature
    for (size_t i = l.data_at + 64; i < pkg.size(); i += 997) cuts.push_back(i);
    cuts.push_back(pkg.size() - 1);
    for (size_t cut : cuts) {
      std::string msg;
      const PackageError e = check(std::string_view(pkg).substr(0, cut), &*aes, &msg);
      const PackageError want = cut < l.data_at ? PackageError::kTruncated : PackageError::kMissingFile;
      ASSERT_EQ(e, want) << "cut at " << cut << ": " << msg;
    }
  }
}

TEST_F(PackageTest, SignedButMalformedManifestsAreRejected) {
  const std::string sha = hex_sha("abc");
  auto manifest = [&](const std::string& files) {
    return "{\"encryption\":null,\"files\":[" + files + "],\"format\":\"verge-package\",\"version\":1}";
  };
  auto file = [&](const std::string& path) {
    return "{\"path\":\"" + path + "\",\"sha256\":\"" + sha + "\",\"size\":3}";
  };
  // The well-formed one passes, so each rejection below is for its one defect.
  EXPECT_EQ(check(assemble(manifest(file("a")), &*alice, "abc"), nullptr), PackageError::kNone);
  const std::tuple<const char*, std::string, const char*> bad[] = {
      {"absolute path", manifest(file("/etc/passwd")), "is absolute"},
      {"dot-dot path", manifest(file("../a")), "component"},
      {"dot-dot inside", manifest(file("x/../../a")), "component"},
      {"empty component", manifest(file("x//a")), "component"},
      {"backslash", manifest(file("x\\\\a")), "backslash"},
      {"control char", manifest(file("x\\u0001a")), "control character"},
      {"whitespace (not canonical)", manifest(file("a")) + " ", "canonical"},
      {"duplicate key",
       "{\"encryption\":null,\"encryption\":null,\"files\":[" + file("a") +
           "],\"format\":\"verge-package\",\"version\":1}",
       "canonical"},
      {"unknown field",
       "{\"encryption\":null,\"files\":[" + file("a") +
           "],\"format\":\"verge-package\",\"version\":1,\"x\":1}",
       "exactly the fields"},
      {"version 2",
       [&] {
         std::string m = manifest(file("a"));
         m[m.size() - 2] = '2';  // the version digit (not string::replace: GCC 12 -Wrestrict false positive)
         return m;
       }(),
       "unsupported version"},
      {"no files", manifest(""), "non-empty array"},
      {"negative size", manifest("{\"path\":\"a\",\"sha256\":\"" + sha + "\",\"size\":-3}"),
       "size is not an integer"},
      {"float size", manifest("{\"path\":\"a\",\"sha256\":\"" + sha + "\",\"size\":3.0}"),
       "size is not an integer"},
      {"short digest", manifest("{\"path\":\"a\",\"sha256\":\"abcd\",\"size\":3}"), "sha256 is not 64"},
      {"not JSON", "{\"files\":[", "not valid JSON"},
      {"not an object", "[1,2]", "not a JSON object"},
  };
  for (const auto& [name, m, why] : bad) {
    std::string msg;
    EXPECT_EQ(check(assemble(m, &*alice, "abc"), nullptr, &msg), PackageError::kCorrupt)
        << name << ": " << msg;
    EXPECT_NE(msg.find(why), std::string::npos) << name << ": " << msg;
  }
  // Unsorted and duplicate paths (data for both files present).
  EXPECT_EQ(check(assemble(manifest(file("b") + "," + file("a")), &*alice, "abcabc"), nullptr),
            PackageError::kCorrupt);
  EXPECT_EQ(check(assemble(manifest(file("a") + "," + file("a")), &*alice, "abcabc"), nullptr),
            PackageError::kCorrupt);
}

TEST_F(PackageTest, PackRefusesUnsafeInputs) {
  for (const char* p : {"../x", "/abs", "a//b", "a\\b", "./a", "a/", ""})
    EXPECT_FALSE(package::build_package({{p, "x"}}, &*alice, nullptr).is_ok()) << p;
  EXPECT_FALSE(package::build_package({{"a", "x"}, {"a", "y"}}, &*alice, nullptr).is_ok());
  EXPECT_FALSE(package::build_package({}, &*alice, nullptr).is_ok());
  // Signing needs the private key.
  auto pub = package::load_public_key(dir / "alice.pub").value();
  EXPECT_FALSE(package::build_package({{"a", "x"}}, &pub, nullptr).is_ok());
  // Symlinks in the model directory are refused, and the output may not be inside the model directory.
  fs::create_symlink("/etc/passwd", dir / "model/passwd");
  EXPECT_FALSE(package::pack_directory(dir / "model", dir / "out.vpkg", &*alice, nullptr).is_ok());
  fs::remove(dir / "model/passwd");
  EXPECT_FALSE(package::pack_directory(dir / "model", dir / "model/out.vpkg", &*alice, nullptr).is_ok());
}

TEST_F(PackageTest, CiphertextIsBoundToItsPathAndDigest) {
  using namespace package::crypto;
  std::array<unsigned char, kNonceSize> nonce{};
  ASSERT_TRUE(random_bytes(nonce.data(), nonce.size()).is_ok());
  const std::string plaintext(kMarker);
  std::string ct(plaintext.size(), '\0');
  std::array<unsigned char, kTagSize> tag{};
  auto* out = reinterpret_cast<unsigned char*>(ct.data());
  ASSERT_TRUE(aes_gcm_encrypt(*aes, nonce.data(), "a.bin", plaintext, out, tag.data()).is_ok());
  std::string back(plaintext.size(), '\0');
  auto* back_out = reinterpret_cast<unsigned char*>(back.data());
  EXPECT_TRUE(aes_gcm_decrypt(*aes, nonce.data(), "a.bin", ct, tag.data(), back_out));
  EXPECT_EQ(back, plaintext);
  EXPECT_FALSE(aes_gcm_decrypt(*aes, nonce.data(), "b.bin", ct, tag.data(), back_out));  // swapped file
  EXPECT_EQ(back, std::string(plaintext.size(), '\0'));                                  // zeroed on failure
  EXPECT_FALSE(aes_gcm_decrypt(*other_aes, nonce.data(), "a.bin", ct, tag.data(), back_out));
}

TEST_F(PackageTest, KeyFilesAndModes) {
  struct stat st {};
  ASSERT_EQ(stat((dir / "alice.priv").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir / "aes.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(fs::file_size(dir / "aes.key"), 32u);
  EXPECT_NE(read(dir / "aes.key"), read(dir / "other.key"));
  EXPECT_NE(read(dir / "alice.priv").find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  EXPECT_NE(read(dir / "alice.pub").find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  // Never overwrite a key.
  const std::string priv = read(dir / "alice.priv");
  EXPECT_FALSE(package::generate_signing_key(dir / "alice").is_ok());
  EXPECT_FALSE(package::generate_symmetric_key(dir / "aes.key").is_ok());
  EXPECT_EQ(read(dir / "alice.priv"), priv);
  // Wrong kinds of key files.
  EXPECT_FALSE(package::load_private_key(dir / "alice.pub").is_ok());
  EXPECT_FALSE(package::load_public_key(dir / "aes.key").is_ok());
  EXPECT_FALSE(package::load_symmetric_key(dir / "alice.pub").is_ok());
  // A malformed *.pub among the trusted keys is an error, not silently skipped.
  write(dir / "trusted/broken.pub", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  pack(&*alice, nullptr);
  PackageError e;
  EXPECT_FALSE(package::open_package(dir / "out.vpkg", dir / "trusted", std::nullopt, &e).is_ok());
  EXPECT_EQ(e, PackageError::kBadKey);
  EXPECT_FALSE(package::open_package(dir / "out.vpkg", dir / "no-such-dir", std::nullopt, &e).is_ok());
  EXPECT_EQ(e, PackageError::kIo);
}

// libFuzzer-style robustness with a fixed seed: random truncations, bit flips and length overwrites
// are all rejected (never accepted, never a crash; run under ASan/UBSan to check memory safety).
TEST_F(PackageTest, RandomMutationsAreRejected) {
  const std::vector<package::PackInput> small = {
      {"a.txt", std::string(kMarker)}, {"b/c.bin", std::string(300, 'q')}, {"empty", ""}};
  const std::string pkgs[] = {package::build_package(small, &*alice, nullptr).value(),
                              package::build_package(small, &*alice, &*aes).value()};
  for (const std::string& p : pkgs) {  // the unmutated packages open, empty file included
    auto r = package::open_package_bytes(p, trusted, &*aes);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->files.size(), 3u);
    EXPECT_EQ(r->find("b/c.bin")->bytes.view(), std::string(300, 'q'));
    EXPECT_EQ(r->find("empty")->bytes.size(), 0u);
  }
  std::mt19937_64 rng(20261125);
  for (int iter = 0; iter < 4000; ++iter) {
    std::string m = pkgs[iter % 2];
    const int kind = static_cast<int>(rng() % 4);
    if (kind == 0 || kind == 3) m.resize(rng() % m.size());
    if (kind >= 1) {
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips && !m.empty(); ++k)
        m[rng() % m.size()] ^= static_cast<char>(1u << (rng() % 8));
    }
    if (kind == 2) {
      const size_t at = 8 + 4 * (rng() % 3);
      m.replace(at, 4, u32le(static_cast<uint32_t>(rng())));
    }
    PackageError e;
    auto r = package::open_package_bytes(m, trusted, &*aes, &e);
    if (m == pkgs[iter % 2]) continue;  // the mutation cancelled out
    ASSERT_FALSE(r.is_ok()) << "iteration " << iter << " accepted a mutated package";
    ASSERT_NE(e, PackageError::kNone);
  }
}

std::string run_cli(const std::string& args, int* code) {
  const std::string cmd = std::string(VERGE_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while (p && (n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = p ? pclose(p) : -1;
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

TEST_F(PackageTest, Cli) {
  int code = 0;
  std::string out = run_cli("keygen -o " + (dir / "bob"), &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("fingerprint sha256:"), std::string::npos) << out;
  out = run_cli("keygen --symmetric -o " + (dir / "bob.key"), &code);
  ASSERT_EQ(code, 0) << out;
  fs::create_directories(dir / "bob-trusted");
  fs::copy_file(dir / "bob.pub", dir / "bob-trusted/bob.pub");
  const std::string pkg = dir / "m.vpkg";
  out = run_cli("pack " + (dir / "model") + " -o " + pkg + " --sign " + (dir / "bob.priv") + " --encrypt " +
                    (dir / "bob.key"),
                &code);
  ASSERT_EQ(code, 0) << out;
  out = run_cli("verify " + pkg + " --trusted-keys " + (dir / "bob-trusted"), &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("signed by trusted key bob.pub"), std::string::npos) << out;
  EXPECT_NE(out.find("contents not decrypted"), std::string::npos) << out;
  out = run_cli(
      "verify " + pkg + " --trusted-keys " + (dir / "bob-trusted") + " --decrypt " + (dir / "bob.key"),
      &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("decrypted in memory, every SHA-256 matches"), std::string::npos) << out;
  out = run_cli(
      "verify " + pkg + " --trusted-keys " + (dir / "bob-trusted") + " --decrypt " + (dir / "aes.key"),
      &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("wrong-key"), std::string::npos) << out;
  out = run_cli("verify " + pkg + " --trusted-keys " + (dir / "trusted"), &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("untrusted-key"), std::string::npos) << out;
  std::string bytes = read(pkg);
  bytes[bytes.size() / 2] ^= 1;
  write(dir / "tampered.vpkg", bytes);
  out = run_cli("verify " + (dir / "tampered.vpkg") + " --trusted-keys " + (dir / "bob-trusted"), &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("tampered-file"), std::string::npos) << out;
  // verge run --package: same logits as running the plain model file.
  std::vector<float> pixels(28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<float>(i % 17) / 16.f;
  ASSERT_TRUE(write_npy(Tensor::wrap(DType::kFloat32, {1, 1, 28, 28}, pixels.data()), dir / "x.npy").is_ok());
  out = run_cli("run --package " + pkg + " --trusted-keys " + (dir / "bob-trusted") + " --decrypt " +
                    (dir / "bob.key") + " -i image=" + (dir / "x.npy") + " -o " + (dir / "from-pkg"),
                &code);
  ASSERT_EQ(code, 0) << out;
  out = run_cli(
      "run " + (dir / "model/model.onnx") + " -i image=" + (dir / "x.npy") + " -o " + (dir / "plain"), &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(read(dir / "from-pkg/logits.npy"), read(dir / "plain/logits.npy"));
  out = run_cli(
      "run --package " + pkg + " --trusted-keys " + (dir / "bob-trusted") + " -i image=" + (dir / "x.npy"),
      &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("key-required"), std::string::npos) << out;
  out = run_cli("pack " + (dir / "model") + " -o " + (dir / "u.vpkg"), &code);
  EXPECT_EQ(code, 2) << out;  // neither --sign nor --unsigned
  out = run_cli("pack " + (dir / "model") + " -o " + (dir / "u.vpkg") + " --unsigned", &code);
  EXPECT_EQ(code, 0) << out;
  out = run_cli("verify " + (dir / "u.vpkg") + " --trusted-keys " + (dir / "bob-trusted"), &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("unsigned"), std::string::npos) << out;
}

}  // namespace
}  // namespace verge
