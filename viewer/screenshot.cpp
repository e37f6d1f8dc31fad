// PNG screenshot of the back buffer (see screenshot.h), written with stb_image_write.
#include "screenshot.h"

#include <GL/gl.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace tidemark::viewer {
namespace {

// stbi_write_png ignores failed writes; a PNG cut short by a full disk must be an error.
void writeAll(void* file, void* data, int size) {
  fwrite(data, 1, static_cast<size_t>(size), static_cast<FILE*>(file));
}

}  // namespace

bool writeScreenshot(const std::string& path, int width, int height) {
  std::vector<unsigned char> pixels(static_cast<size_t>(width) * height * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
  std::vector<unsigned char> flipped(pixels.size());
  size_t row = static_cast<size_t>(width) * 4;
  for (int y = 0; y < height; ++y) {
    std::copy_n(pixels.data() + (height - 1 - y) * row, row, flipped.data() + y * row);
  }
  FILE* file = fopen(path.c_str(), "wb");
  if (!file) return false;
  bool encoded = stbi_write_png_to_func(writeAll, file, width, height, 4, flipped.data(),
                                        static_cast<int>(row)) != 0;
  bool written = !ferror(file);
  return fclose(file) == 0 && written && encoded;
}

}  // namespace tidemark::viewer
