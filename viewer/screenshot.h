// Reads the current OpenGL back buffer and writes it as a PNG (rows flipped: OpenGL's
// first row is the bottom one). Call after drawing and before swapping buffers.
#pragma once

#include <string>

namespace tidemark::viewer {

// False when the file could not be written in full (errno says why).
bool writeScreenshot(const std::string& path, int width, int height);

}  // namespace tidemark::viewer
