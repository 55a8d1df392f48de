#!/usr/bin/env bash
# Builds the libFuzzer target with clang + ASan/UBSan and fuzzes the model loader.
#   scripts/fuzz.sh [seconds=300]   corpus: fuzz-corpus/ (seeded from the test models); crashes: fuzz-artifacts/
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DVERGE_BUILD_FUZZ=ON -DVERGE_BUILD_TESTS=OFF -DVERGE_SANITIZE=address,undefined >/dev/null
ninja -C build-fuzz fuzz_model_loader
mkdir -p fuzz-corpus fuzz-artifacts
if [[ -z "$(ls -A fuzz-corpus)" ]]; then
  cp tests/data/fmnist_cnn.onnx fuzz-corpus/
  for d in /usr/share/libonnx-testdata/data/node/test_{conv_with_strides_padding,add_bcast,reshape_reordered_all_dims,if,slice,gather_0,resize_upsample_scales_linear,softmax_axis_1,maxpool_2d_pads,gemm_all_attributes,split_equal_parts_1d,concat_2d_axis_0,transpose_all_permutations_0,qlinearconv,nonmaxsuppression_two_batches,topk,pad,cast_FLOAT_to_FLOAT16}; do
    [[ -f $d/model.onnx ]] && cp "$d/model.onnx" "fuzz-corpus/$(basename "$d").onnx"
  done
fi
ASAN_OPTIONS=detect_leaks=1 build-fuzz/fuzz/fuzz_model_loader fuzz-corpus -artifact_prefix=fuzz-artifacts/ \
  -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -max_len=1048576 -print_final_stats=1
