// tidemark-view: an ImGui + GLFW window over one trace. Backend set-up lives here; each
// panel is a function of (model, its state) in a file of its own.
//   tidemark-view TRACE [--follow] [--screenshot OUT.png] [--view NAME] [--size WxH]
//                       [--range FROM TO] [--time T] [--theme dark|light] [--bench-pan N]
#include <GLFW/glfw3.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>
#include <imgui.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "compare_panel.h"
#include "leaks_panel.h"
#include "loaded_trace.h"
#include "palette.h"
#include "plot_math.h"
#include "screenshot.h"
#include "sites_panel.h"
#include "timeline_panel.h"
#include "tree_panel.h"

namespace {

using namespace tidemark::viewer;

const std::vector<std::string> kViews{"timeline", "sites", "tree", "compare", "leaks"};

struct ViewerState {
  TimelineState timeline;
  SitesState sites;
  TreeState tree;
  CompareState compare;
  LeaksState leaks;
  std::string forcedView;  // the tab a screenshot shows
};

void drawSummary(const LoadedTrace& trace, const TraceModel& m, ViewerState& state) {
  const auto& s = m.analysis.summary;
  // How the program ended (exit, a signal, ...): a crash or a kill is part of the story.
  bool growing = trace.following() && !trace.stoppedGrowing();
  std::string ending = s.complete                  ? "ended by " + s.exitReason
                       : !s.tracingStopped.empty() ? "tracing stopped (" + s.tracingStopped + ")"
                       : !s.corruption.empty()
                           ? "unreadable from byte " + std::to_string(s.corruptAtByte)
                       : growing ? "running"
                                 : "trace incomplete";
  ImGui::Text("%s   pid %d   %s, %s   %llu allocations   peak heap %s   peak RSS %s",
              s.executable.c_str(), s.pid, formatSeconds(s.durationS).c_str(), ending.c_str(),
              static_cast<unsigned long long>(s.allocations), formatBytes(s.peakHeapBytes).c_str(),
              formatBytes(s.peakRssBytes).c_str());
  if (trace.following()) {
    ImGui::SameLine(0, 20);
    ImGui::Checkbox(s.over() ? "ended" : "following", &state.timeline.pinnedToEnd);
  }
  std::string error = trace.error();
  if (!error.empty()) {
    ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(palette::kLost.imgui()), "%s", error.c_str());
  }
}

void drawFrame(const LoadedTrace& trace, const TraceModel* model, ViewerState& state) {
  const ImGuiViewport* viewport = ImGui::GetMainViewport();
  ImGui::SetNextWindowPos(viewport->WorkPos);
  ImGui::SetNextWindowSize(viewport->WorkSize);
  ImGui::Begin("tidemark", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                   ImGuiWindowFlags_NoBringToFrontOnFocus);
  if (!trace.ready()) {
    ImGui::Text("Reading %s ...", trace.path().c_str());
    ImGui::ProgressBar(trace.progress());
  } else if (!model) {
    ImGui::TextWrapped("Cannot read the trace: %s", trace.error().c_str());
  } else {
    drawSummary(trace, *model, state);
    if (ImGui::BeginTabBar("views")) {
      auto tab = [&](const char* name) {
        ImGuiTabItemFlags flags = state.forcedView == name ? ImGuiTabItemFlags_SetSelected : 0;
        return ImGui::BeginTabItem(name, nullptr, flags);
      };
      if (tab("timeline")) {
        drawTimeline(*model, state.timeline);
        ImGui::EndTabItem();
      }
      if (tab("sites")) {
        drawSites(*model, state.timeline, state.sites);
        ImGui::EndTabItem();
      }
      if (tab("tree")) {
        drawTree(*model, state.timeline, state.tree);
        ImGui::EndTabItem();
      }
      if (tab("compare")) {
        drawCompare(*model, state.timeline, state.compare);
        ImGui::EndTabItem();
      }
      if (tab("leaks")) {
        drawLeaks(*model, state.timeline, state.leaks);
        ImGui::EndTabItem();
      }
      ImGui::EndTabBar();
    }
  }
  ImGui::End();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tidemark-view: the heap timeline, sites, call tree, comparison and leaks of a "
      "tidemark trace"};
  std::string path, screenshot, view = "timeline", size = "1280x800", theme = "dark";
  app.add_option("trace", path, "Trace file (.tmk)")->required();
  bool follow = false;
  app.add_flag("--follow", follow,
               "Keep reading a trace that is still being written; the timeline scrolls with it");
  app.add_option("--screenshot", screenshot, "Draw once, write this PNG and exit (headless use)");
  app.add_option("--view", view, "The view a screenshot shows")->check(CLI::IsMember(kViews));
  app.add_option("--size", size, "Window size, WIDTHxHEIGHT");
  std::vector<double> range;
  app.add_option("--range", range,
                 "Select the time range FROM TO (seconds), as a right-drag on the timeline does")
      ->expected(2);
  double time = -1;
  app.add_option("--time", time,
                 "Put the timeline's cursor here (seconds): the time the call tree shows live "
                 "bytes at, as a click on the timeline does");
  int snapshot = 0;
  app.add_option(
      "--snapshot", snapshot,
      "The N-th snapshot of the trace (1, 2, ...) whose leaks the leaks view lists, as a "
      "click on its row does (default: the last complete one)");
  app.add_option("--theme", theme, "Colours: dark or light")
      ->check(CLI::IsMember({"dark", "light"}));
  int benchPan = 0;
  app.add_option("--bench-pan", benchPan,
                 "Benchmark: once loaded, pan the timeline for N frames, print frame times, exit");
  CLI11_PARSE(app, argc, argv);
  int width = 1280, height = 800;
  if (sscanf(size.c_str(), "%dx%d", &width, &height) != 2 || width < 200 || height < 150) {
    fprintf(stderr, "tidemark-view: --size wants WIDTHxHEIGHT, e.g. 1280x800\n");
    return 2;
  }

  if (!glfwInit()) {
    fprintf(stderr, "tidemark-view: cannot open a window (no display? try xvfb-run)\n");
    return 1;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  if (!screenshot.empty() || benchPan) glfwWindowHint(GLFW_VISIBLE, GLFW_FALSE);
  GLFWwindow* window =
      glfwCreateWindow(width, height, ("tidemark-view " + path).c_str(), nullptr, nullptr);
  if (!window) {
    fprintf(stderr, "tidemark-view: cannot create an OpenGL 3.3 window\n");
    glfwTerminate();
    return 1;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(benchPan ? 0 : 1);  // a benchmark measures drawing, not the display rate
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini beside the user's files
  bool light = theme == "light";
  if (light) {
    ImGui::StyleColorsLight();
  } else {
    ImGui::StyleColorsDark();
  }
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 330 core");

  LoadedTrace trace(path, follow);
  ViewerState state;
  if (!screenshot.empty()) state.forcedView = view;
  state.timeline.pinnedToEnd = follow;
  if (range.size() == 2) {
    state.timeline.selectionStart = std::min(range[0], range[1]);
    state.timeline.selectionEnd = std::max(range[0], range[1]);
  }
  state.timeline.cursor = time;
  state.leaks.snapshot = snapshot - 1;
  int settleFrames = 3;  // frames after loading before a screenshot: layout settles
  int status = 0;
  auto launched = std::chrono::steady_clock::now();
  std::vector<double> frameMs;
  auto frameStart = launched;
  while (!glfwWindowShouldClose(window)) {
    auto model = trace.model();
    if (benchPan && model) {
      // Show a tenth of the run and move it by 1 % of the run each frame.
      double duration = std::max(model->analysis.summary.durationS, 1e-3);
      double at = std::fmod(frameMs.size() * 0.01, 0.9) * duration;
      state.timeline.viewStart = at;
      state.timeline.viewEnd = at + duration / 10;
    }
    if (!screenshot.empty()) {
      glfwWaitEventsTimeout(0.05);  // headless: nothing to react to but the worker
    } else {
      glfwPollEvents();
    }
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
    drawFrame(trace, model.get(), state);
    ImGui::Render();
    int fbWidth, fbHeight;
    glfwGetFramebufferSize(window, &fbWidth, &fbHeight);
    glViewport(0, 0, fbWidth, fbHeight);
    if (light) {
      glClearColor(0.94f, 0.94f, 0.94f, 1);
    } else {
      glClearColor(0.08f, 0.08f, 0.10f, 1);
    }
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    // Following, the screenshot shows the trace once it has ended (the program, or
    // tracing), failed, or stopped growing for 10 s (its writer was killed).
    bool failed = trace.ready() && !trace.error().empty();
    bool ended = model && (model->analysis.summary.over() || trace.stoppedGrowing());
    bool settled = model ? !follow || failed || ended : failed;
    if (!screenshot.empty() && settled && --settleFrames < 0) {
      if (!writeScreenshot(screenshot, fbWidth, fbHeight)) {
        fprintf(stderr, "tidemark-view: cannot write %s: %s\n", screenshot.c_str(),
                strerror(errno));
        status = 1;
      } else if (!model) {
        fprintf(stderr, "tidemark-view: %s\n", trace.error().c_str());
        status = 1;
      }
      if (follow && model) {
        printf("tidemark-view: followed %s through %llu versions\n", trace.path().c_str(),
               static_cast<unsigned long long>(model->generation));
      }
      break;
    }
    glfwSwapBuffers(window);
    if (benchPan && trace.ready()) {
      glFinish();  // count the rasteriser's work too (llvmpipe without a GPU)
      auto now = std::chrono::steady_clock::now();
      if (frameMs.empty()) {
        printf("first frame after %.0f ms\n",
               std::chrono::duration<double, std::milli>(now - launched).count());
      }
      frameMs.push_back(std::chrono::duration<double, std::milli>(now - frameStart).count());
      if (static_cast<int>(frameMs.size()) > benchPan) break;
    }
    frameStart = std::chrono::steady_clock::now();
  }
  if (frameMs.size() > 1) {
    frameMs.erase(frameMs.begin());  // the first frame includes the wait for the analysis
    std::sort(frameMs.begin(), frameMs.end());
    double total = 0;
    for (double ms : frameMs) total += ms;
    printf("panning: %zu frames, mean %.2f ms, p95 %.2f ms, max %.2f ms\n", frameMs.size(),
           total / frameMs.size(), frameMs[frameMs.size() * 95 / 100], frameMs.back());
  }
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return status;
}
