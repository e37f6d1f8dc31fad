// libFuzzer target for hostile traces: the input is the raw records of one chunk, written
// as a trace (file header, one zstd chunk) and analysed whole. A clean error is a pass; a
// crash, a sanitizer report, a hang or unbounded memory is a finding. Built and run by
// tests/fuzz/run.sh (clang, AddressSanitizer, UndefinedBehaviorSanitizer), not by ctest.
#include <unistd.h>
#include <zstd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>

#include "analyze_trace.h"
#include "trace_format.h"

using namespace tidemark;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      std::string(getenv("FUZZ_TRACE") ? getenv("FUZZ_TRACE") : "/tmp") + "/fuzz-" +
      std::to_string(getpid()) + ".tmk";
  if (size > format::kMaxChunkRawBytes) return 0;
  format::FileHeader header{};
  memcpy(header.magic, format::kFileMagic, sizeof header.magic);
  header.versionMajor = format::kVersionMajor;
  header.versionMinor = format::kVersionMinor;
  header.headerBytes = sizeof header;
  std::string compressed(ZSTD_compressBound(size), '\0');
  size_t n = ZSTD_compress(compressed.data(), compressed.size(), data, size, 1);
  format::ChunkHeader chunk{format::kChunkMagic, static_cast<uint32_t>(n),
                            static_cast<uint32_t>(size), 0};
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&header), sizeof header);
    out.write(reinterpret_cast<const char*>(&chunk), sizeof chunk);
    out.write(compressed.data(), static_cast<std::streamsize>(n));
  }
  try {
    analysis::AnalyzeOptions options;
    options.symbolize = false;  // module paths are the fuzzer's: it would read any file
    analysis::analyzeTrace(path, options);
  } catch (const std::exception&) {
  }
  return 0;
}
