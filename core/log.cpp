#include "core/log.h"

#include <cstdio>

namespace zen {
namespace {
int g_rank = 0;
}

void SetLogRank(int rank) { g_rank = rank; }
int LogRank() { return g_rank; }

void Log0(const std::string& line) {
  if (g_rank != 0) return;
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

void LogError(const std::string& line) {
  std::fprintf(stderr, "%s%s\n", g_rank > 0 ? absl::StrCat("[rank ", g_rank, "] ").c_str() : "", line.c_str());
  std::fflush(stderr);
}

}  // namespace zen
