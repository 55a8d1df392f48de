#!/usr/bin/env bash
# Installs Verge's dependencies from Debian packages. Idempotent: apt runs only when something is missing.
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --test   + test data and tools (ONNX node tests, Fashion-MNIST, PyTorch for
#                                      exporting reference models, clang for fuzzing/sanitizers)
set -euo pipefail
build_pkgs=(cmake ninja-build g++ pkg-config zlib1g-dev libprotobuf-dev protobuf-compiler libonnx-dev libfmt-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libcpp-httplib-dev libssl-dev
  libgrpc++-dev protobuf-compiler-grpc libopencv-dev)
test_pkgs=(libbenchmark-dev libonnx-testdata dataset-fashion-mnist python3 python3-numpy
  python3-torch python3-torchvision python3-onnx clang libclang-rt-14-dev zstd openssl curl wrk)
pkgs=("${build_pkgs[@]}")
[[ "${1:-}" == "--test" ]] && pkgs+=("${test_pkgs[@]}")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# ONNX Runtime (the peer in bench/ and the export cross-check) comes from npm; any Node.js with npm works.
if [[ "${1:-}" == "--test" ]] && ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if ((${#missing[@]} == 0)); then
  echo "dependencies: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "dependencies: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "error: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "dependencies: done"
