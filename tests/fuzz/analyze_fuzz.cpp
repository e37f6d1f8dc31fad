// libFuzzer target for hostile traces: the input is the raw records of the chunks of a
// trace, separated by kChunkBreak, written as a trace (file header, one zstd chunk each)
// and analysed whole. A clean error is a pass; a crash, a sanitizer report, a hang or
// unbounded memory is a finding. Built and run by tests/fuzz/run.sh (clang,
// AddressSanitizer, UndefinedBehaviorSanitizer), not by ctest.
#include <unistd.h>
#include <zstd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <string_view>

#include "analyze_trace.h"
#include "trace_format.h"

using namespace tidemark;

namespace {

// Between two chunks' records in the input (tests/fuzz/chunk_break.dict tells the fuzzer).
constexpr char kChunkBreak[] = "\xf1TMCHUNK";

void appendChunk(std::ofstream& out, const char* raw, size_t size, uint32_t sequence) {
  std::string compressed(ZSTD_compressBound(size), '\0');
  size_t n = ZSTD_compress(compressed.data(), compressed.size(), raw, size, 1);
  format::ChunkHeader chunk{format::kChunkMagic, static_cast<uint32_t>(n),
                            static_cast<uint32_t>(size), sequence};
  out.write(reinterpret_cast<const char*>(&chunk), sizeof chunk);
  out.write(compressed.data(), static_cast<std::streamsize>(n));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      std::string(getenv("FUZZ_TRACE") ? getenv("FUZZ_TRACE") : "/tmp") + "/fuzz-" +
      std::to_string(getpid()) + ".tmk";
  format::FileHeader header{};
  memcpy(header.magic, format::kFileMagic, sizeof header.magic);
  header.versionMajor = format::kVersionMajor;
  header.versionMinor = format::kVersionMinor;
  header.headerBytes = sizeof header;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&header), sizeof header);
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::string_view separator(kChunkBreak, sizeof kChunkBreak - 1);
    uint32_t sequence = 0;
    for (size_t at = 0;;) {
      size_t next = input.find(separator, at);
      std::string_view raw = input.substr(at, next == std::string_view::npos ? next : next - at);
      if (raw.size() > format::kMaxChunkRawBytes) return 0;
      appendChunk(out, raw.data(), raw.size(), sequence++);
      if (next == std::string_view::npos) break;
      at = next + separator.size();
    }
  }
  try {
    analysis::AnalyzeOptions options;
    options.symbolize = false;  // module paths are the fuzzer's: it would read any file
    analysis::analyzeTrace(path, options);
  } catch (const std::exception&) {
  }
  return 0;
}
