// The trace format: varints, the encoder/decoder round trip, and the reader on truncated,
// corrupt and foreign input.
#include <zstd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "trace_builder.h"
#include "trace_reader.h"
#include "varint.h"

using namespace tidemark;
using namespace tidemark::format;

namespace {

struct Collect : RecordVisitor {
  ProcessInfo process;
  std::vector<Event> events;
  std::map<uint32_t, std::vector<uint64_t>> stacks;
  std::vector<int32_t> ended;
  int trailers = 0;
  void onProcessInfo(const ProcessInfo& p) override { process = p; }
  void onEvents(std::span<const Event> run) override {
    events.insert(events.end(), run.begin(), run.end());
  }
  void onStack(uint32_t id, const std::vector<uint64_t>& ips) override { stacks[id] = ips; }
  void onThreadEnd(int32_t tid, uint64_t) override { ended.push_back(tid); }
  void onTrailer(const Trailer&) override { ++trailers; }
};

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

// A file header and no chunk.
std::string fileHeaderOnly() {
  test::TraceBuilder b;
  return b.bytes().substr(0, sizeof(FileHeader));
}

// `bytes` with one more chunk holding `raw` (records made by hand).
std::string appendChunk(std::string bytes, const std::string& raw, uint32_t sequence) {
  std::string compressed(ZSTD_compressBound(raw.size()), '\0');
  size_t n = ZSTD_compress(compressed.data(), compressed.size(), raw.data(), raw.size(), 1);
  ChunkHeader chunk{kChunkMagic, static_cast<uint32_t>(n), static_cast<uint32_t>(raw.size()),
                    sequence};
  bytes.append(reinterpret_cast<const char*>(&chunk), sizeof chunk);
  bytes.append(compressed.data(), n);
  return bytes;
}

}  // namespace

TEST_CASE("varints round-trip at every length, zigzag keeps the sign") {
  for (uint64_t v : std::initializer_list<uint64_t>{0, 1, 127, 128, 300, 1ull << 35, ~0ull}) {
    uint8_t buf[10];
    uint8_t* end = putVarint(buf, v);
    const uint8_t* pos = buf;
    uint64_t back = 0;
    REQUIRE(getVarint(&pos, end, &back));
    CHECK(back == v);
    CHECK(pos == end);
  }
  for (int64_t v : std::initializer_list<int64_t>{0, -1, 1, -4096, INT64_MIN, INT64_MAX})
    CHECK(unzigzag(zigzag(v)) == v);
  uint8_t truncated[] = {0x80, 0x80};
  const uint8_t* pos = truncated;
  uint64_t value;
  CHECK_FALSE(getVarint(&pos, truncated + 2, &value));
}

TEST_CASE("events written by the encoder come back exactly from the reader") {
  test::TraceBuilder b(4242, 17);
  b.attach(0, 501).time(0, 10).stack(0, 1, {0x401000, 0x7f0000001234, 0x400500});
  b.alloc(0, 0x5555'0000'1000, 24, 1).alloc(0, 0x5555'0000'0ff0, 100000, 1);
  b.attach(1, 502).time(1, 20).free(1, 0x5555'0000'1000);
  b.flushBatch(0).flushBatch(1).chunk();
  b.time(0, 30).realloc(0, 0x5555'0000'0ff0, 0x7fff'0000'0000, 7, 1).detach(0).flushBatch(0);
  b.trailer(40);
  std::string path = test::tempPath("roundtrip.tmk");
  b.save(path);

  TraceReader reader(path);
  Collect c;
  CHECK(reader.readAvailable(c) == 2);
  CHECK_FALSE(reader.truncated());
  CHECK(c.process.pid == 4242);
  CHECK(c.process.parentPid == 17);
  CHECK(c.process.executable == "/test/program");
  CHECK(c.process.arguments == std::vector<std::string>{"program", "--flag"});
  REQUIRE(c.stacks.count(1));
  CHECK(c.stacks[1] == std::vector<uint64_t>{0x401000, 0x7f0000001234, 0x400500});
  REQUIRE(c.events.size() == 4);
  CHECK(c.events[0].op == PackedOp::Alloc);
  CHECK(c.events[0].address == 0x5555'0000'1000);
  CHECK(c.events[0].size == 24);
  CHECK(c.events[0].tid == 501);
  CHECK(c.events[0].timeUs == 10);
  CHECK(c.events[1].address == 0x5555'0000'0ff0);  // a negative delta
  CHECK(c.events[1].size == 100000);
  CHECK(c.events[2].op == PackedOp::Free);
  CHECK(c.events[2].tid == 502);
  CHECK(c.events[2].address == 0x5555'0000'1000);
  CHECK(c.events[3].op == PackedOp::Realloc);
  CHECK(c.events[3].oldAddress == 0x5555'0000'0ff0);
  CHECK(c.events[3].address == 0x7fff'0000'0000);
  CHECK(c.events[3].timeUs == 30);
  CHECK(c.ended == std::vector<int32_t>{501});
  CHECK(c.trailers == 1);
}

TEST_CASE("events reach the visitor in runs, in trace order with the records between them") {
  // What each callback saw, in the order they came: "S<id>", "A<address>", "F<address>",
  // "D<tid>", and "|" where a run of events ended.
  struct Order : RecordVisitor {
    std::vector<std::string> seen;
    void onEvents(std::span<const Event> run) override {
      for (const Event& e : run) {
        seen.push_back((e.op == PackedOp::Free ? "F" : "A") + std::to_string(e.address));
      }
      seen.push_back("|");
    }
    void onStack(uint32_t id, const std::vector<uint64_t>&) override {
      seen.push_back("S" + std::to_string(id));
    }
    void onThreadEnd(int32_t tid, uint64_t) override { seen.push_back("D" + std::to_string(tid)); }
  };
  test::TraceBuilder b;
  std::vector<std::string> expected;
  b.attach(0, 7).time(0, 1).stack(0, 1, {0x401000});
  expected.push_back("S1");
  for (uint64_t i = 1; i <= 100; ++i) {  // more than one run holds
    b.alloc(0, 0x1000 * i, 16, 1);
    expected.push_back("A" + std::to_string(0x1000 * i));
  }
  b.stack(0, 2, {0x402000});
  b.free(0, 0x1000);
  b.detach(0).flushBatch(0).chunk().trailer(2);
  std::string path = test::tempPath("event-runs.tmk");
  b.save(path);

  TraceReader reader(path);
  Order o;
  reader.readAvailable(o);
  std::vector<std::string> withoutRunEnds;
  size_t runs = 0, longest = 0, current = 0;
  for (const auto& item : o.seen) {
    if (item == "|") {
      ++runs;
      longest = std::max(longest, current);
      current = 0;
      continue;
    }
    withoutRunEnds.push_back(item);
    if (item[0] == 'A' || item[0] == 'F') ++current;
  }
  expected.insert(expected.end(), {"S2", "F4096", "D7"});
  CHECK(withoutRunEnds == expected);
  CHECK(runs == 3);      // 64 + 36 allocations, then the free after the second stack
  CHECK(longest == 64);  // no run longer than the reader's
}

TEST_CASE("chunks passed over are not decoded, and later events are not either") {
  // What `tidemark snapshot` does: skip what the trace holds, then read what comes.
  test::TraceBuilder b;
  b.attach(0, 1).time(0, 1).alloc(0, 0x1000, 8, 0).flushBatch(0).chunk();
  b.alloc(0, 0x2000, 16, 0).flushBatch(0).chunk();
  std::string path = test::tempPath("skip.tmk");
  b.save(path);
  TraceReader reader(path);
  CHECK(reader.skipAvailable() == 2);
  CHECK(reader.bytesRead() == b.bytes().size());
  // Written later: events (delta-coded from the chunks passed over) and a trailer.
  b.alloc(0, 0x3000, 32, 0).flushBatch(0).trailer(9);
  b.save(path);
  Collect c;
  CHECK(reader.readAvailable(c) == 1);
  CHECK(c.events.empty());
  CHECK(c.trailers == 1);
}

TEST_CASE("a trace cut inside its last chunk is read up to the last whole chunk") {
  test::TraceBuilder b;
  b.attach(0, 1).time(0, 1).alloc(0, 0x1000, 8, 0).flushBatch(0).chunk();
  size_t firstChunkEnd = b.bytes().size();
  b.alloc(0, 0x2000, 16, 0).flushBatch(0).trailer(5);
  size_t full = b.bytes().size();
  for (size_t cut : {firstChunkEnd + 1, firstChunkEnd + 10, full - 1}) {
    std::string path = test::tempPath("cut.tmk");
    b.save(path, cut);
    TraceReader reader(path);
    Collect c;
    CHECK(reader.readAvailable(c) == 1);
    CHECK(reader.truncated());
    CHECK(c.events.size() == 1);
    CHECK(c.trailers == 0);
  }
}

TEST_CASE("a corrupt chunk is an error naming the file and the chunk's offset") {
  test::TraceBuilder b;
  b.attach(0, 1).time(0, 1).alloc(0, 0x1000, 8, 0).flushBatch(0).chunk();
  size_t secondChunk = b.bytes().size();
  for (int i = 0; i < 50; ++i) b.alloc(0, 0x2000 + i * 32, 16, 0);
  b.flushBatch(0).chunk();
  std::string bytes = b.bytes();
  bytes[bytes.size() - 5] ^= 0x5a;  // inside the second chunk's compressed payload
  std::string path = test::tempPath("corrupt.tmk");
  writeFile(path, bytes);
  TraceReader reader(path);
  Collect c;
  try {
    reader.readAvailable(c);
    FAIL("no error for a corrupt chunk");
  } catch (const TraceError& e) {
    CHECK(e.offset() == secondChunk);
    CHECK(std::string(e.what()).find(path) != std::string::npos);
    CHECK(std::string(e.what()).find("corrupt") != std::string::npos);
  }
}

TEST_CASE("foreign files and newer major versions are refused with a clear message") {
  std::string path = test::tempPath("foreign.tmk");
  writeFile(path, "#!/bin/sh\necho hello, I am not a trace\n");
  CHECK_THROWS_WITH(TraceReader(path), Catch::Contains("not a tidemark trace"));

  writeFile(path, "TIDE");
  CHECK_THROWS_WITH(TraceReader(path), Catch::Contains("shorter than its header"));

  test::TraceBuilder b;
  std::string bytes = b.bytes();
  uint16_t major = kVersionMajor + 1;
  memcpy(&bytes[8], &major, 2);
  writeFile(path, bytes);
  CHECK_THROWS_WITH(TraceReader(path),
                    Catch::Contains("format version 2.") && Catch::Contains("reads version 1.x"));

  CHECK_THROWS_WITH(TraceReader(test::tempPath("missing.tmk")), Catch::Contains("cannot open"));
  std::string folder = test::tempPath("a-folder.tmk");
  std::filesystem::create_directories(folder);
  CHECK_THROWS_WITH(TraceReader(folder), Catch::Contains("cannot open: Is a directory"));
}

TEST_CASE("hostile records inside a valid chunk are errors, not crashes") {
  std::string path = test::tempPath("hostile.tmk");
  Collect c;
  // A chunk whose only record claims to be longer than the chunk.
  std::string raw(16, '\0');
  RecordHeader header{RecordKind::EventBatch, 0, 1u << 30};
  memcpy(raw.data(), &header, sizeof header);
  writeFile(path, appendChunk(fileHeaderOnly(), raw, 0));
  TraceReader reader(path);
  CHECK_THROWS_WITH(reader.readAvailable(c), Catch::Contains("record length out of bounds"));

  // A packed event stream that ends inside a varint.
  raw.assign(sizeof(EventBatchRecord) + 2, '\0');
  EventBatchRecord batch{{RecordKind::EventBatch, 0, static_cast<uint32_t>(raw.size())}, 0, 0};
  memcpy(raw.data(), &batch, sizeof batch);
  raw[sizeof batch] = static_cast<char>(PackedOp::Alloc);
  raw[sizeof batch + 1] = static_cast<char>(0x80);
  writeFile(path, appendChunk(fileHeaderOnly(), raw, 0));
  TraceReader second(path);
  CHECK_THROWS_WITH(second.readAvailable(c), Catch::Contains("truncated packed event"));

  // An allocation naming a stack id past any the tracer gives: the analysis would keep a
  // site for every id below it.
  for (uint64_t stack : {uint64_t{kMaxStackId}, uint64_t{kMaxStackId} + 1}) {
    raw.assign(sizeof(EventBatchRecord) + 32, '\0');
    auto* out = reinterpret_cast<uint8_t*>(raw.data()) + sizeof batch;
    *out++ = static_cast<uint8_t>(PackedOp::Alloc);
    out = putVarint(out, 16);     // size
    out = putVarint(out, stack);  // stack id
    out = putVarint(out, zigzag(0x1000));
    raw.resize(reinterpret_cast<char*>(out) - raw.data());
    batch.header.length = static_cast<uint32_t>(raw.size());
    memcpy(raw.data(), &batch, sizeof batch);
    writeFile(path, appendChunk(fileHeaderOnly(), raw, 0));
    TraceReader third(path);
    if (stack == kMaxStackId) {
      c.events.clear();
      third.readAvailable(c);
      REQUIRE(c.events.size() == 1);
      CHECK(c.events[0].stack == kMaxStackId);
    } else {
      CHECK_THROWS_WITH(third.readAvailable(c), Catch::Contains("stack id 2097152 out of range"));
    }
  }
}

TEST_CASE("a packed event of a newer minor version is named as such, not as corruption") {
  std::string raw(sizeof(EventBatchRecord) + 1, '\0');
  EventBatchRecord batch{{RecordKind::EventBatch, 0, static_cast<uint32_t>(raw.size())}, 0, 0};
  memcpy(raw.data(), &batch, sizeof batch);
  raw[sizeof batch] = 15;  // no op of this version
  std::string header = fileHeaderOnly();
  FileHeader newer;
  memcpy(&newer, header.data(), sizeof newer);
  Collect c;
  for (uint16_t minor : {kVersionMinor, static_cast<uint16_t>(kVersionMinor + 1)}) {
    newer.versionMinor = minor;
    std::string path = test::tempPath("newer-op.tmk");
    writeFile(path, appendChunk(std::string(reinterpret_cast<const char*>(&newer), sizeof newer),
                                raw, 0));
    TraceReader reader(path);
    CHECK_THROWS_WITH(reader.readAvailable(c),
                      Catch::Contains(minor == kVersionMinor ? "corrupt trace: unknown packed event"
                                                             : "newer than this tidemark reads"));
  }
}

TEST_CASE("record kinds from a newer minor version are skipped") {
  test::TraceBuilder b;
  b.attach(0, 1).time(0, 1).alloc(0, 0x1000, 8, 0).flushBatch(0);
  // Append a chunk with an unknown record kind 99 followed by a known trailer.
  std::string raw(24, 'x');
  RecordHeader unknown{static_cast<RecordKind>(99), 0, 24};
  memcpy(raw.data(), &unknown, sizeof unknown);
  TrailerRecord trailer{{RecordKind::Trailer, 0, sizeof(TrailerRecord)}, 9, 0, 0, 0, 1};
  raw.append(reinterpret_cast<const char*>(&trailer), sizeof trailer);
  std::string path = test::tempPath("newer-minor.tmk");
  writeFile(path, appendChunk(b.bytes(), raw, 1));
  TraceReader reader(path);
  Collect c;
  CHECK(reader.readAvailable(c) == 2);
  CHECK(c.events.size() == 1);
  CHECK(c.trailers == 1);
}
