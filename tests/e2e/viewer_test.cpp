// tidemark-view draws what the trace holds: real windows under Xvfb, screenshots read
// back as pixels (stb_image), checked for the series colours of viewer/palette.h and
// for the shape of the heap line of a server that leaks as it runs.
#include <stb_image.h>

#include <catch2/catch.hpp>
#include <memory>

#include "../../viewer/palette.h"
#include "harness.h"

using namespace tidemark::e2e;
namespace palette = tidemark::viewer::palette;

namespace {

struct Image {
  int width = 0, height = 0;
  std::vector<unsigned char> rgba;
  bool is(int x, int y, palette::Rgb c) const {
    const unsigned char* p = &rgba[(static_cast<size_t>(y) * width + x) * 4];
    return p[0] == c.r && p[1] == c.g && p[2] == c.b;
  }
};

Image load(const std::string& path) {
  Image image;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &image.width, &image.height, &channels, 4);
  REQUIRE(data);
  image.rgba.assign(data, data + static_cast<size_t>(image.width) * image.height * 4);
  stbi_image_free(data);
  return image;
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

Image screenshot(const std::string& view, const std::string& name) {
  std::string png = freshDir("viewer-" + name) + "/shot.png";
  RunResult r = run({"xvfb-run", "-a", "-s", "-screen 0 1024x768x24", tool("tidemark-view"),
                     serverTrace(), "--screenshot", png, "--view", view, "--size", "800x500"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  return load(png);
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
  for (int y = 70; y < image.height - 30; ++y) {  // below the legend, above the time axis
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
  CHECK(heap > 200);
  CHECK(rss > 200);
  CHECK(lost > 50);
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

  Image sites = screenshot("sites", "sites");
  // Rows of text below the header: many pixels that are not the background.
  int lit = 0;
  for (int y = 100; y < sites.height; ++y) {
    for (int x = 0; x < sites.width; ++x) {
      const unsigned char* p = &sites.rgba[(static_cast<size_t>(y) * sites.width + x) * 4];
      lit += p[0] > 150 && p[1] > 150 && p[2] > 150;
    }
  }
  CHECK(lit > 2000);
}

TEST_CASE("viewer: a file that is no trace gives an error, not a crash") {
  std::string dir = freshDir("viewer-bad");
  RunResult write = run({"sh", "-c", "echo not a trace > " + dir + "/bad.tmk"});
  REQUIRE(write.status == 0);
  RunResult r = run({"xvfb-run", "-a", tool("tidemark-view"), dir + "/bad.tmk", "--screenshot",
                     dir + "/shot.png"});
  CHECK(r.status == 1);
  CHECK(r.output.find("not a tidemark trace") != std::string::npos);
}
