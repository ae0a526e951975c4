#!/usr/bin/env bash
# Regenerates onnx.pb.swift from onnx.proto (the copy beside this script,
# taken from the PyPI onnx 1.23.2 wheel's onnx/onnx.proto). Needs protoc
# (Debian: protobuf-compiler) and protoc-gen-swift of the swift-protobuf
# version Package.swift resolves (1.39.0):
#   git clone https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#   git -C /tmp/swift-protobuf checkout 1.39.0
#   (cd /tmp/swift-protobuf && swift build -c release --product protoc-gen-swift)
#   PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/release/protoc-gen-swift Sources/ONNX/regenerate.sh
# To move to a newer onnx.proto: pip install onnx==X, copy its onnx/onnx.proto here, rerun.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift)}
cd "$here"
protoc --plugin=protoc-gen-swift="$plugin" --swift_out=. --swift_opt=Visibility=Internal onnx.proto
echo "wrote $here/onnx.pb.swift"
