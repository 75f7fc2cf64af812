// Sweeps (CONTRACT.md "Sweep files"): a base recipe, overrides for every run, and the values to vary,
// as a grid (cartesian product) and/or a zip (lists varied together). Expansion gives each run a
// readable folder name made of its swept values, and every run's recipe is loaded and checked before
// any run starts, so a typo in the tenth run's key costs nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/recipe.h"
#include "core/status.h"

namespace zen {

// One swept key and its values, each as the YAML text an override takes ("2.0e-5", "[q, v]").
struct SweepAxis {
  std::string key;                  // dotted recipe key, "lora.rank"
  std::vector<std::string> values;
  std::string origin;               // "sweep.yaml:4", for messages
};

struct SweepSpec {
  std::string path;                 // the sweep file
  std::string recipe;               // the base recipe, relative to where zen runs
  std::vector<std::string> overrides;  // applied to every run, before the swept values
  std::vector<SweepAxis> grid;      // in file order; the last key varies fastest
  std::vector<SweepAxis> zip;       // equal lengths; the zipped tuple varies fastest of all
  std::string output_dir;           // each run's folder goes below it
};

// One point of the sweep.
struct SweepRun {
  int64_t index = 0;                // position in expansion order (the SLURM array task id)
  std::string name;                 // folder name below output_dir, unique within the sweep
  std::vector<std::pair<std::string, std::string>> values;  // swept key -> value, grid keys then zip keys
  std::string dir;                  // output_dir/name
  int64_t total_steps = 0;          // the run's length, filled by PlanSweep
};

// Reads and checks a sweep file: unknown keys, a missing recipe or output_dir, grid/zip values that are
// not non-empty lists, zip lists of unequal length and a key swept twice are BadInput naming the file,
// line and key. Keys may be dotted (`lora.rank: [4, 8]`) or nested (`lora: {rank: [4, 8]}`).
absl::StatusOr<SweepSpec> LoadSweep(const std::string& path);
absl::StatusOr<SweepSpec> ParseSweep(const std::string& yaml, const std::string& path);

// `zen sweep SWEEP.yaml key=value ...`: recipe overrides for every run, after the file's own;
// `output_dir=DIR` among them moves the sweep's output_dir (it is the one key the sweep owns).
void AddCommandLineOverrides(SweepSpec& spec, const std::vector<std::string>& overrides);

// Every run, grid-major then zip, named by its swept values ("lora.rank=4,optim.lr=2e-5").
absl::StatusOr<std::vector<SweepRun>> ExpandSweep(const SweepSpec& spec);

// The swept keys in column order: grid keys, then zip keys.
std::vector<std::string> SweptKeys(const SweepSpec& spec);

// The override list of a run: the sweep's overrides, its swept values, then output_dir=run.dir.
std::vector<std::string> RunOverrides(const SweepSpec& spec, const SweepRun& run);

// A run's folder name from its swept values: characters other than letters, digits and ._=+- become _,
// so the name is safe in a shell and on any filesystem. Long names are cut and end in a hash of the
// full text, so they stay unique.
std::string RunName(const std::vector<std::pair<std::string, std::string>>& values);

// Expands the sweep and loads every run's recipe (base + overrides + swept values) before any runs:
// a key the schema does not know, or a bad value, is BadInput naming the sweep file and the key.
// `total_steps` checks a loaded recipe further and gives its run length (the caller knows the data and
// the layout's rules; launch/ does not); its error is the run's, named by the sweep file and the run.
absl::StatusOr<std::vector<SweepRun>> PlanSweep(
    const SweepSpec& spec, const std::function<absl::StatusOr<int64_t>(const Recipe&)>& total_steps);

}  // namespace zen
