// tidemark-view draws what the trace holds: real windows under Xvfb, screenshots read
// back as pixels, checked for the colours of viewer/palette.h, the shape of the heap
// line of a server that leaks as it runs, and the names drawn in tables and bars (found
// by their glyphs).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <memory>

#include "harness.h"
#include "screen_image.h"

using namespace tidemark::e2e;
namespace palette = tidemark::viewer::palette;

namespace {

// `tidemark-view ARGS` under a virtual X server (SCREEN: its size, "1024x768x24", or
// xvfb-run's default). The X authority file goes into `dir`: left to xvfb-run, it lives
// in a directory of its own that xvfb-run removes at the end, and that removal failed now
// and then (status 5, "problem while cleaning up temporary directory", in place of the
// viewer's own; once in 21 suite runs).
std::vector<std::string> viewerUnderXvfb(const std::string& dir, std::vector<std::string> args,
                                         const std::string& screen = "") {
  std::vector<std::string> argv{"xvfb-run", "-a", "-f", dir + "/xauthority"};
  if (!screen.empty()) argv.insert(argv.end(), {"-s", "-screen 0 " + screen});
  argv.push_back(tool("tidemark-view"));
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// A trace of the sample server leaking under three rounds of load, sampled every 20 ms,
// with snapshots every 150 ms.
const std::string& serverTrace() {
  static std::string trace = [] {
    std::string dir = freshDir("viewer-trace");
    std::string path = dir + "/server.tmk";
    Background server(
        {"env", "TIDEMARK_SAMPLE_MS=20", tool("tidemark"), "record", "--snapshot-every", "150ms",
         "-o", path, "--", tool("event_server"), "--port-file", dir + "/port"},
        dir + "/log");
    for (int round = 0; round < 3; ++round) {
      std::vector<std::string> load = {
          tool("loadgen"), "--port-file",   dir + "/port", "--requests",
          "1500",          "--connections", "10"};
      if (round == 2) load.push_back("--quit");
      CHECK(run(load).status == 0);
      usleep(150'000);
    }
    CHECK(server.wait(60) == 0);
    return path;
  }();
  return trace;
}

Image screenshot(const std::string& view, const std::string& name,
                 const std::vector<std::string>& options = {}) {
  std::string dir = freshDir("viewer-" + name), png = dir + "/shot.png";
  std::vector<std::string> argv = viewerUnderXvfb(
      dir, {serverTrace(), "--screenshot", png, "--view", view, "--size", "800x500"},
      "1024x768x24");
  argv.insert(argv.end(), options.begin(), options.end());
  RunResult r = run(argv);
  INFO(r.output);
  REQUIRE(r.status == 0);
  return loadPng(png);
}

}  // namespace

TEST_CASE("viewer timeline: heap, RSS and lost bytes drawn, the heap line rising") {
  Image image = screenshot("timeline", "timeline");
  REQUIRE(image.width == 800);
  REQUIRE(image.height == 500);
  int heap = 0, rss = 0, lost = 0;
  // Mean screen row of the heap line in the left and right fifths of the plot.
  double leftSum = 0, rightSum = 0;
  int leftCount = 0, rightCount = 0;
  // Below the legend, above the time axis of the main plot (the allocation rate has the
  // bottom fifth).
  for (int y = 92; y < image.height * 3 / 4; ++y) {
    for (int x = 85; x < image.width - 10; ++x) {
      if (image.is(x, y, palette::kHeap)) {
        ++heap;
        if (x < 85 + 140) leftSum += y, ++leftCount;
        if (x > image.width - 150) rightSum += y, ++rightCount;
      }
      rss += image.is(x, y, palette::kRss);
      lost += image.is(x, y, palette::kLost);
    }
  }
  // What the lost line is drawn from, said when it is missing (it was, once in a suite run).
  std::string lostPerSnapshot;
  nlohmann::json report = analyze(serverTrace());
  for (const auto& s : report["snapshots"]) {
    lostPerSnapshot += std::to_string(s["bytes"]["definite"].get<long long>()) +
                       (s["complete"].get<bool>() ? " " : " (incomplete) ");
  }
  INFO("definitely lost bytes per snapshot: " << lostPerSnapshot);
  CHECK(heap > 200);
  CHECK(rss > 200);
  CHECK(lost > 50);
  // The last sample, taken as the server ends, is drawn at the plot's right edge (the
  // window's 8-pixel padding and the plot's 10-pixel margin from the image's edge): a
  // view ending at that time once left it out.
  const int plotRight = image.width - 18;
  CHECK(image.count(palette::kRss, plotRight - 3, 92, plotRight + 1, image.height * 3 / 4) > 0);
  CHECK(image.count(palette::kHeap, plotRight - 3, 92, plotRight + 1, image.height * 3 / 4) > 0);
  REQUIRE(leftCount > 0);
  REQUIRE(rightCount > 0);
  // The server leaks with every request: its live heap ends higher (smaller y) than it
  // began; RSS sets the scale, so the rise is some tens of pixels.
  CHECK(rightSum / rightCount < leftSum / leftCount - 8);
}

TEST_CASE("viewer leaks and sites views draw the lost groups and the table") {
  Image leaks = screenshot("leaks", "leaks");
  int red = 0;
  for (int y = 0; y < leaks.height; ++y) {
    for (int x = 0; x < leaks.width; ++x) red += leaks.is(x, y, palette::kLost);
  }
  CHECK(red > 300);  // the text of the definitely and indirectly lost groups
}

// ImGui's dark theme draws text white, its light theme black.
constexpr palette::Rgb kDarkText{255, 255, 255};
constexpr palette::Rgb kLightText{0, 0, 0};

TEST_CASE("viewer leaks: any snapshot's groups, the first one's by choice") {
  Image first = screenshot("leaks", "leaks-first", {"--snapshot", "1"});
  CHECK(findText(first, "Snapshot 1 of", kDarkText));
  CHECK(findText(first, "ended by exit", kDarkText));  // the header says how the run ended
  Image last = screenshot("leaks", "leaks-last");
  CHECK_FALSE(findText(last, "Snapshot 1 of", kDarkText));
  // Lost groups are listed for the first snapshot too (red text).
  CHECK(first.count(palette::kLost, 0, first.height / 2, first.width, first.height) > 100);
  // The pool's scratch leak went on over the three rounds: the last snapshot says how
  // fast since it was first lost; in the first snapshot it has no earlier one to say.
  // (At 800 pixels the line is cut after the function's name.)
  CHECK(findText(last, " per second since: sample::poolScratch", palette::kLost));
  CHECK_FALSE(findText(first, "since: sample::poolScratch", palette::kLost));
  CHECK(findText(first, "ms: sample::poolScratch(unsigned long)", palette::kLost));
}

TEST_CASE("viewer: memory a snapshot read as zeros is named") {
  // tests/programs/unreadable_pages.cpp: 3 pages of a file mapping past the file's end
  // (and, from Linux 6.13, a guard region's page) that the scan cannot read.
  std::string dir = freshDir("viewer-unreadable");
  RunResult record = run({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--",
                          tool("test_unreadable_pages"), dir + "/mapped"});
  REQUIRE(record.status == 0);
  bool guardRegion = record.output.find("guard region made") != std::string::npos;
  std::string png = dir + "/leaks.png";
  RunResult r = run(viewerUnderXvfb(
      dir, {dir + "/t.tmk", "--screenshot", png, "--view", "leaks", "--size", "900x500"},
      "1024x768x24"));
  INFO(r.output);
  REQUIRE(r.status == 0);
  Image leaks = loadPng(png);
  CHECK(findText(leaks,
                 guardRegion ? "Read as zeros: 16 KiB the program cannot read, in 2 ranges"
                             : "Read as zeros: 12 KiB the program cannot read, in 1 range",
                 kDarkText));
}

TEST_CASE("viewer: a snapshot that failed is marked on the timeline and named, with the reason") {
  // tests/programs/scan_killed.cpp kills its first snapshot's scanning process.
  std::string dir = freshDir("viewer-scan-killed");
  RunResult record =
      run({tool("tidemark"), "record", "-o", dir + "/t.tmk", "--", tool("test_scan_killed")});
  REQUIRE(record.status == 0);
  auto shot = [&](const std::string& view) {
    std::string png = dir + "/" + view + ".png";
    RunResult r = run(viewerUnderXvfb(
        dir, {dir + "/t.tmk", "--screenshot", png, "--view", view, "--size", "800x500"},
        "1024x768x24"));
    INFO(r.output);
    REQUIRE(r.status == 0);
    return loadPng(png);
  };
  Image leaks = shot("leaks");
  CHECK(findText(leaks, "Snapshot 2 of 2", kDarkText));
  CHECK(findText(leaks, "1 snapshot failed; the last, #1 at", palette::kLost));
  CHECK(findText(leaks, "(api): its scanning process was killed by SIGKILL", palette::kLost));
  CHECK(findText(shot("timeline"), "snapshot failed", palette::kLost));
}

TEST_CASE("viewer sites: the site with the most leaked bytes is named in the first row") {
  Image sites = screenshot("sites", "sites");
  auto header = findText(sites, "allocated at", kDarkText);
  auto top = findText(sites, "sample::poolScratch(unsigned long)", kDarkText);
  REQUIRE(header);
  REQUIRE(top);
  // 450 x 512 B from the pool leak outweigh the cache's 4,500 x 48 B: first row, in the
  // "allocated at" column, one row below its header.
  CHECK(top->x == header->x);
  CHECK(top->y - header->y > 10);
  CHECK(top->y - header->y <= 20);
  auto second = findText(sites, "sample::cacheResponse(unsigned long, unsigned long)", kDarkText);
  REQUIRE(second);
  CHECK(second->y > top->y);
  // The search tells glyphs apart: one changed word is not found.
  CHECK_FALSE(findText(sites, "sample::poolScratch(unsigned int)", kDarkText));
  // A function without a symbol (libstdc++'s emergency pool, allocated in its constructor)
  // is named by its library.
  CHECK(findText(sites, "?? (libstdc++.so.6)", kDarkText));
}

TEST_CASE("viewer tree: a flame graph whose root spans the width, main on it") {
  // The cursor (a click on the timeline; --time here) picks the time of the live bytes.
  Image tree = screenshot("tree", "tree", {"--time", "0.25"});
  CHECK(findText(tree, "live at 250 ms", kDarkText));
  auto root = findText(tree, "all", palette::kFlameText);
  REQUIRE(root);
  // The root bar: every pixel of its row between the window's edges is a flame colour.
  int y = root->y + 11, flame = 0;
  for (int x = 10; x < tree.width - 10; ++x) {
    for (const auto& c : palette::kFlame) flame += tree.is(x, y, c);
  }
  CHECK(flame >= (tree.width - 20) * 95 / 100);
  auto main = findText(tree, "main", palette::kFlameText);
  REQUIRE(main);
  CHECK(main->y > root->y);
  // The tree table under the graph lists the same call path, in the theme's text colour
  // (flame bars are labelled in dark text, so this is the table).
  auto row = findText(tree, "__libc_start_call_main", kDarkText);
  REQUIRE(row);
  CHECK(row->y > main->y);
}

TEST_CASE("viewer compare: sites by net growth with sparklines over the selected range") {
  Image compare = screenshot("compare", "compare", {"--range", "0", "100"});
  // The site column is narrow at 800 pixels: the names' beginnings are enough.
  auto pool = findText(compare, "sample::poolScratch(", kDarkText);
  auto cache = findText(compare, "sample::cacheResponse(", kDarkText);
  REQUIRE(pool);
  REQUIRE(cache);
  CHECK(pool->y < cache->y);  // 230,400 B of net growth before 216,000 B
  CHECK(compare.count(palette::kGrowth, 0, 60, 100, compare.height) > 100);  // "+225 KiB"
  CHECK(compare.count(palette::kHeap, 370, 60, 520, compare.height) > 200);  // sparklines
}

TEST_CASE("viewer timeline: the cursor is drawn where --time puts it") {
  Image image = screenshot("timeline", "cursor", {"--time", "0.25"});
  int cursor = image.count(palette::kCursor, 85, 92, image.width - 10, image.height * 3 / 4);
  CHECK(cursor > 100);  // a 2-pixel line down the plot
}

TEST_CASE("viewer: the light theme draws dark text on a light background") {
  Image light = screenshot("timeline", "light", {"--theme", "light"});
  CHECK(findText(light, "live heap", kLightText));
  const unsigned char* corner = light.at(light.width - 3, light.height - 3);
  CHECK(corner[0] > 200);
  CHECK(light.count(palette::kHeap, 85, 92, light.width - 10, light.height * 3 / 4) > 200);
  CHECK(light.count(palette::kRss, 85, 92, light.width - 10, light.height * 3 / 4) > 200);
}

TEST_CASE("viewer --follow reads a trace while it is written, until it ends") {
  std::string dir = freshDir("viewer-follow");
  std::string trace = dir + "/server.tmk", png = dir + "/shot.png";
  // The viewer starts first, on a file that does not exist yet.
  Background viewer(
      viewerUnderXvfb(dir, {trace, "--follow", "--screenshot", png, "--size", "800x500"}),
      dir + "/viewer.log");
  Background server(
      {"env", "TIDEMARK_SAMPLE_MS=20", "TIDEMARK_FLUSH_MS=50", tool("tidemark"), "record", "-o",
       trace, "--", tool("event_server"), "--port-file", dir + "/port"},
      dir + "/server.log");
  // Before any load the viewer has found the file and drawn its start (a first version;
  // generous, for a loaded machine); each round of load then grows it again.
  usleep(2'000'000);
  for (int round = 0; round < 4; ++round) {
    std::vector<std::string> load = {
        tool("loadgen"), "--port-file", dir + "/port", "--requests", "500", "--connections", "5"};
    if (round == 3) load.push_back("--quit");
    CHECK(run(load).status == 0);
    usleep(700'000);  // longer than the viewer's poll: each round is a new version
  }
  CHECK(server.wait(60) == 0);
  CHECK(viewer.wait(60) == 0);
  std::string log = readFile(dir + "/viewer.log");
  INFO(log);
  int versions = 0;
  CHECK(sscanf(log.c_str() + log.find("through"), "through %d versions", &versions) == 1);
  CHECK(versions >= 2);  // read while growing: more than once
  // The screenshot is of the ended trace: the heap line reaches the right end of the plot.
  Image image = loadPng(png);
  CHECK(image.count(palette::kHeap, image.width - 60, 92, image.width - 10, image.height * 3 / 4) >
        0);
}

TEST_CASE("viewer --follow of a trace whose writer died ends once it stops growing") {
  // The first half of a finished trace: no trailer, and nothing more will come.
  std::string dir = freshDir("viewer-follow-dead");
  std::string full = readFile(serverTrace());
  {
    std::ofstream cut(dir + "/cut.tmk", std::ios::binary);
    cut.write(full.data(), static_cast<std::streamsize>(full.size() / 2));
  }
  RunResult r = run(viewerUnderXvfb(dir, {dir + "/cut.tmk", "--follow", "--screenshot",
                                          dir + "/shot.png", "--size", "800x500"}),
                    60);
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("through 1 versions") != std::string::npos);
  Image image = loadPng(dir + "/shot.png");
  CHECK(image.count(palette::kHeap, 85, 92, image.width - 10, image.height * 3 / 4) > 100);
  CHECK(findText(image, "trace incomplete", kDarkText));
}

namespace {

// The viewer following `trace` until it has nothing more to read, as a wide, low image of
// its header and timeline.
Image followedScreenshot(const std::string& dir, const std::string& trace) {
  RunResult r = run(viewerUnderXvfb(dir, {trace, "--follow", "--screenshot", dir + "/shot.png",
                                          "--size", "1400x300"}),
                    60);
  INFO(r.output);
  REQUIRE(r.status == 0);
  return loadPng(dir + "/shot.png");
}

}  // namespace

TEST_CASE("viewer: a trace the tracer could not finish writing says so, and is over") {
  // As in the full-disk test of process_test.cpp: past 8 MiB the trace's writes fail, and
  // the tracer ends it with a trailer that says why while the program runs on.
  std::string dir = freshDir("viewer-write-stopped");
  std::string trace = dir + "/trace.tmk";
  REQUIRE(run({"prlimit", "--fsize=8388608", "--", tool("tidemark"), "record", "-o", trace, "--",
               tool("alloc_bench"), "--ops", "3000000"})
              .status == 0);
  Image image = followedScreenshot(dir, trace);
  CHECK(findText(image, "tracing stopped (File too large)", kDarkText));
  CHECK(findText(image, "ended", kDarkText));  // the follow checkbox: nothing more will come
  CHECK_FALSE(findText(image, "following", kDarkText));
}

TEST_CASE("viewer: a trace damaged in the middle shows the run up to the damage, and is over") {
  std::string dir = freshDir("viewer-damaged");
  std::string trace = dir + "/damaged.tmk";
  std::ofstream(trace, std::ios::binary) << readFile(serverTrace());
  uint64_t damaged = damageChunk(trace, 3);  // of 5: the events of the run's first part before it
  Image image = followedScreenshot(dir, trace);
  CHECK(findText(image, "unreadable from byte " + std::to_string(damaged), kDarkText));
  CHECK(findText(image, "ended", kDarkText));  // the follow checkbox: nothing more is read
  CHECK(image.count(palette::kHeap, 85, 92, image.width - 10, image.height * 3 / 4) > 50);
}

TEST_CASE("viewer: a file that is no trace gives an error, not a crash") {
  std::string dir = freshDir("viewer-bad");
  RunResult write = run({"sh", "-c", "echo not a trace > " + dir + "/bad.tmk"});
  REQUIRE(write.status == 0);
  RunResult r = run(viewerUnderXvfb(dir, {dir + "/bad.tmk", "--screenshot", dir + "/shot.png"}));
  CHECK(r.status == 1);
  CHECK(r.output.find("not a tidemark trace") != std::string::npos);
}

TEST_CASE("viewer: a screenshot written to a full disk is an error") {
  // /dev/full fails every write with ENOSPC.
  RunResult r =
      run(viewerUnderXvfb(freshDir("viewer-full-disk"),
                          {serverTrace(), "--screenshot", "/dev/full", "--size", "400x300"}));
  CHECK(r.status == 1);
  CHECK(r.output.find("cannot write /dev/full: No space left on device") != std::string::npos);
}
