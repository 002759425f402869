#!/bin/sh
# Refreshes kernels/testdata/onnx-node/ from ONNX's own node tests (Debian package libonnx-testdata).
# Only model.onnx and test_data_set_0 of the ops our kernels implement are kept; *_expanded variants (the op
# rewritten as a graph of other ops) are left out.
set -eu
SRC=${1:-/usr/share/libonnx-testdata/data/node}
DST=$(dirname "$0")/onnx-node
for dir in "$SRC"/test_conv_* "$SRC"/test_basic_conv_with* "$SRC"/test_maxpool_2d_* "$SRC"/test_maxpool_with_argmax_2d_* \
  "$SRC"/test_averagepool_2d_* "$SRC"/test_globalaveragepool* "$SRC"/test_gemm_* "$SRC"/test_relu "$SRC"/test_add \
  "$SRC"/test_add_bcast "$SRC"/test_add_uint8 "$SRC"/test_softmax_* "$SRC"/test_batchnorm_* "$SRC"/test_constant_pad \
  "$SRC"/test_edge_pad "$SRC"/test_reflect_pad "$SRC"/test_slice*; do
  name=$(basename "$dir")
  case "$name" in *_expanded) continue ;; esac
  mkdir -p "$DST/$name"
  cp "$dir/model.onnx" "$DST/$name/"
  rm -rf "$DST/$name/test_data_set_0"
  cp -r "$dir/test_data_set_0" "$DST/$name/"
done
