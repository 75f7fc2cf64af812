// Logging that every rank may call and only rank 0 prints (llm.c's printf0), plus errors from any rank.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"

namespace zen {

void SetLogRank(int rank);
int LogRank();

// Prints one line to stderr on rank 0 only.
void Log0(const std::string& line);

// Prints one line to stderr from any rank, prefixed with the rank when there are several.
void LogError(const std::string& line);

}  // namespace zen
