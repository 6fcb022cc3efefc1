#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs a consumer with
# find_package(coring) and, separately, with the pkg-config file.
set -euo pipefail
build_dir=$1 source_dir=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/tests/install/consumer" -B "$work/consumer" -G Ninja \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
flags=$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs coring)
# shellcheck disable=SC2086
c++ "$source_dir/tests/install/consumer/main.cpp" $flags -o "$work/consumer-pc"
"$work/consumer-pc"
echo "install check passed"
