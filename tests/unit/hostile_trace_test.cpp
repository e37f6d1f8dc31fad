// Hostile traces: a real trace's records changed at random, a few bytes at a time, inside
// chunks that are still whole and well compressed, so that the reader and the analysis see
// them. Each must come out as an analysis (of what came before the damage, when the reader
// found it) or, damaged in its first chunk, as a TraceError: never a crash, another
// exception (std::bad_alloc from a size taken on trust), or a hang. tests/fuzz/ does the
// same at length, with sanitizers; this keeps a fixed sample of it in every run.
#include <zstd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "analyze_trace.h"
#include "temp_path.h"
#include "trace_format.h"
#include "trace_reader.h"

using namespace tidemark;

namespace {

struct Trace {
  std::string header;
  std::vector<std::string> chunks;  // raw records
};

Trace readChunks(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  format::FileHeader header;
  REQUIRE(file.size() >= sizeof header);
  memcpy(&header, file.data(), sizeof header);
  Trace trace{file.substr(0, header.headerBytes), {}};
  for (size_t at = header.headerBytes; at + sizeof(format::ChunkHeader) <= file.size();) {
    format::ChunkHeader chunk;
    memcpy(&chunk, file.data() + at, sizeof chunk);
    std::string raw(chunk.rawBytes, '\0');
    size_t n = ZSTD_decompress(raw.data(), raw.size(), file.data() + at + sizeof chunk,
                               chunk.compressedBytes);
    REQUIRE(n == chunk.rawBytes);
    trace.chunks.push_back(raw);
    at += sizeof chunk + chunk.compressedBytes;
  }
  return trace;
}

void writeTrace(const std::string& path, const Trace& trace) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << trace.header;
  for (uint32_t i = 0; i < trace.chunks.size(); ++i) {
    const std::string& raw = trace.chunks[i];
    std::string compressed(ZSTD_compressBound(raw.size()), '\0');
    size_t n = ZSTD_compress(compressed.data(), compressed.size(), raw.data(), raw.size(), 1);
    format::ChunkHeader chunk{format::kChunkMagic, static_cast<uint32_t>(n),
                              static_cast<uint32_t>(raw.size()), i};
    out.write(reinterpret_cast<const char*>(&chunk), sizeof chunk);
    out.write(compressed.data(), static_cast<std::streamsize>(n));
  }
}

// A few changes of the kinds that break parsers: a bit, a boundary value, a run of 0xff
// (the largest varints), a piece copied elsewhere.
void mutate(std::string& raw, std::mt19937_64& random) {
  if (raw.empty()) return;
  for (int changes = 1 + static_cast<int>(random() % 4); changes > 0; --changes) {
    size_t at = random() % raw.size();
    switch (random() % 4) {
      case 0:
        raw[at] = static_cast<char>(raw[at] ^ (1 << (random() % 8)));
        break;
      case 1: {
        const unsigned char values[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
        raw[at] = static_cast<char>(values[random() % 6]);
        break;
      }
      case 2:
        for (size_t i = at; i < std::min(raw.size(), at + 1 + random() % 10); ++i) raw[i] = '\xff';
        break;
      default: {
        size_t from = random() % raw.size();
        size_t n = std::min({raw.size() - from, raw.size() - at, size_t{1} + random() % 16});
        memmove(&raw[at], &raw[from], n);
      }
    }
  }
}

}  // namespace

TEST_CASE("a real trace changed at random is analysed or refused as corrupt, nothing else") {
  const Trace original = readChunks(std::string(TIDEMARK_TEST_DATA) + "/leak_kinds-v1.2.tmk");
  REQUIRE(original.chunks.size() >= 3);
  std::string path = test::tempPath("hostile.tmk");
  analysis::AnalyzeOptions options;
  options.symbolize = false;  // the paths in the trace are the mutation's
  std::mt19937_64 random(2026);
  int analysed = 0, upToDamage = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    Trace trace = original;
    mutate(trace.chunks[random() % trace.chunks.size()], random);
    writeTrace(path, trace);
    try {
      analysis::Analysis a = analysis::analyzeTrace(path, options);
      if (a.summary.corruption.empty()) {
        ++analysed;
      } else {
        ++upToDamage;
        REQUIRE(a.summary.corruptAtByte > original.header.size());  // past the first chunk
        REQUIRE(a.summary.corruptAtByte < a.summary.fileBytes);
      }
    } catch (const format::TraceError& e) {
      REQUIRE(e.offset() == original.header.size());  // the first chunk
      ++refused;
    } catch (const std::exception& e) {
      FAIL("round " << round << ": " << e.what());
    }
  }
  // Both outcomes happen: the changes reach past the reader's checks into the analysis.
  INFO("analysed " << analysed << ", up to the damage " << upToDamage << ", refused " << refused);
  CHECK(analysed > 300);
  CHECK(upToDamage > 300);
  CHECK(refused > 100);
}
