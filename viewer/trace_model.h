// What the panels draw from: one Analysis and the summaries of its timeline series,
// built together on the worker thread and immutable afterwards. In follow mode a new
// model replaces the old one each time the trace has grown.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis.h"
#include "series_pyramid.h"

namespace tidemark::viewer {

struct TraceModel {
  analysis::Analysis analysis;
  uint64_t generation = 0;  // counts the models of one viewer session
  SeriesPyramid heap, rss, lost, allocationRate;
  // The sites with the highest peaks as stacked areas: each layer's upper edge is the
  // sum of its live bytes and those of the layers below it.
  struct Layer {
    const analysis::Site* site;
    std::string label;
    SeriesPyramid upper;
  };
  std::vector<Layer> topSites;
  // The site of each allocation stack: where views find the frames of a stack id.
  std::unordered_map<uint32_t, const analysis::Site*> siteByStack;
};

std::shared_ptr<const TraceModel> buildModel(analysis::Analysis analysis, uint64_t generation,
                                             size_t topSites = 5);

// The function that names a site: its innermost frame's ("?? (libstdc++.so.6)" when it
// has no name), or "(unknown)".
std::string siteName(const analysis::Site& site);

}  // namespace tidemark::viewer
