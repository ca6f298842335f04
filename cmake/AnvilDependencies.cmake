# Every third-party package the build uses, found in one place.
find_package(Torch REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options filesystem)
find_package(tomlplusplus 3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(Threads REQUIRED)

# CUDA follows the LibTorch that was found: a CUDA build of LibTorch exports torch_cuda.
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
  set(ANVIL_CUDA ON)
else()
  set(ANVIL_CUDA OFF)
endif()
message(STATUS "Anvil: LibTorch ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX}, CUDA ${ANVIL_CUDA}")

# Debian's TorchConfig puts the (empty) CUDA flags and a C++14 flag nowhere harmful, but its
# `torch` target carries -D_GLIBCXX_USE_CXX11_ABI; everything linking the SDK inherits it.

# Byte-level BPE: PCRE2 runs the GPT-2/GPT-4 pre-tokenizer patterns; nlohmann_json reads and
# writes Hugging Face tokenizer.json, vocab.json and GPT-2's encoder.json.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
find_package(nlohmann_json 3 REQUIRED)

# Data pipeline: utf8proc normalizes Unicode, xxHash hashes documents and checks shards, zlib
# and zstd read compressed corpora.
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
find_package(ZLIB REQUIRED)
