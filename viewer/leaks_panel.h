// The leaks view: the classes of the reported snapshot and its leak groups, each with its
// allocation stack, when it was first seen lost and what holds indirect blocks.
#pragma once

#include "analysis.h"

namespace tidemark::viewer {

void drawLeaks(const analysis::Analysis& a);

}  // namespace tidemark::viewer
