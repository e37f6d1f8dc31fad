// Test program: for 1.5 s, maps a 16 KiB region marked MADV_DONTFORK every 0.3 ms (as V8
// grows its heap) and puts a fresh 32-byte block in each, referenced from nowhere else. Every
// block stays reachable, so every snapshot must find nothing lost, however many regions
// appeared between the tracer's listing of DONTFORK mappings and its stop.
// Meanwhile it makes older regions forkable again (MADV_DOFORK), or unmaps one and maps a
// plain region in its place (also with raw system calls, which the tracer's hooks do not
// see), as the snapshots' stops put the DONTFORK marks back. At the end
// a fork()ed child checks that its copy has exactly the forkable regions, with their
// contents: a snapshot that marked one DONTFORK again would take it from the child.
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {

constexpr size_t kRegion = 16384;
constexpr size_t kMaxRegions = 5000;

struct Region {
  void** at;
  size_t bytes;
  bool forkable;
};
Region regions[kMaxRegions];

double nowS() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void* keptInNewRegion() { return calloc(1, 32); }

void** mapRegion(void* hint) {
  void* region = mmap(hint, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return region == MAP_FAILED ? nullptr : static_cast<void**>(region);
}

// Unmaps the region and maps half of it again, by raw system calls, out of the hooks' sight.
void** remapHalfUnseen(void** region) {
  syscall(SYS_munmap, region, kRegion);
  long at = syscall(SYS_mmap, region, kRegion / 2, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  return at == -1 ? nullptr : reinterpret_cast<void**>(at);
}

// Puts a fresh block in a region that stays forkable.
Region forkableRegion(void** at, size_t bytes) {
  if (!at) return {nullptr, 0, false};
  at[0] = keptInNewRegion();
  at[1] = at;
  return {at, bytes, true};
}

// In the forked child: which regions it has, and whether they hold what the parent wrote.
int checkCopy(size_t count) {
  int wrong = 0;
  for (size_t i = 0; i < count; ++i) {
    if (!regions[i].at) continue;
    unsigned char resident[kRegion / 4096];
    bool present = mincore(regions[i].at, regions[i].bytes, resident) == 0;
    if (present != regions[i].forkable) {
      fprintf(stderr, "region %zu: %s in the fork\n", i, present ? "present" : "missing");
      ++wrong;
    } else if (present && regions[i].at[1] != regions[i].at) {
      fprintf(stderr, "region %zu: contents lost in the fork\n", i);
      ++wrong;
    }
  }
  return wrong == 0 ? 0 : 1;
}

}  // namespace

int main() {
  size_t count = 0, doForked = 0, replaced = 0;
  double end = nowS() + 1.5;
  while (nowS() < end && count < kMaxRegions) {
    void** region = mapRegion(nullptr);
    if (!region) break;
    madvise(region, kRegion, MADV_DONTFORK);
    region[0] = keptInNewRegion();
    region[1] = region;  // what the fork's copy must hold
    regions[count++] = {region, kRegion, false};
    if (count % 7 == 0) {  // an older region becomes forkable
      Region& older = regions[count - 5];
      if (!older.forkable && madvise(older.at, kRegion, MADV_DOFORK) == 0) {
        older.forkable = true;
        ++doForked;
      }
    }
    if (count % 11 == 0) {  // an older region is replaced by a plain one at the same place
      Region& older = regions[count - 3];
      if (!older.forkable) {
        free(older.at[0]);
        munmap(older.at, kRegion);
        older = forkableRegion(mapRegion(older.at), kRegion);
        ++replaced;
      }
    }
    if (count % 13 == 0) {  // the same out of the hooks' sight, and smaller
      Region& older = regions[count - 6];
      if (!older.forkable) {
        free(older.at[0]);
        older = forkableRegion(remapHalfUnseen(older.at), kRegion / 2);
        ++replaced;
      }
    }
    timespec pause{0, 300'000};
    nanosleep(&pause, nullptr);
  }
  pid_t child = fork();
  if (child == 0) _exit(checkCopy(count));
  int status = 0;
  waitpid(child, &status, 0);
  bool copyRight = child > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  printf("dontfork_growth: %zu regions, %zu made forkable, %zu replaced; the fork's copy is %s\n",
         count, doForked, replaced, copyRight ? "right" : "WRONG");
  return copyRight ? 0 : 1;
}
