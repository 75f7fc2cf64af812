// Command-line flags of the C++ benchmarks: `--name value` pairs, every value an integer.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace zen::bench {

// `defaults` names every flag the benchmark `program` takes; an unknown one exits 2 naming it.
inline std::map<std::string, int64_t> ParseIntArgs(int argc, char** argv, const char* program,
                                                   std::map<std::string, int64_t> defaults) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = std::string(argv[i]).substr(2);
    if (std::strncmp(argv[i], "--", 2) != 0 || !defaults.count(key)) {
      std::fprintf(stderr, "%s: unknown argument %s\n", program, argv[i]);
      std::exit(2);
    }
    defaults[key] = std::atoll(argv[i + 1]);
  }
  return defaults;
}

}  // namespace zen::bench
