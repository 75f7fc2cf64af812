#include "trainer/derived_report.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/derived.h"
#include "models/param_count.h"

namespace zen {
namespace {

// Bytes per parameter at each precision; weights only (the guide's memory table is weights only).
constexpr std::pair<const char*, double> kPrecisions[] = {{"fp32", 4}, {"fp16", 2}, {"int8", 1}, {"int4", 0.5}};

std::string Human(double v) {
  if (std::abs(v) >= 1e12) return absl::StrFormat("%.3gT", v / 1e12);
  if (std::abs(v) >= 1e9) return absl::StrFormat("%.3gB", v / 1e9);
  if (std::abs(v) >= 1e6) return absl::StrFormat("%.3gM", v / 1e6);
  return absl::StrFormat("%.4g", v);
}

}  // namespace

nlohmann::json DerivedNumbers(const Recipe& r) {
  const ParamCounts counts = CountParams(r.model);
  const double trainable = r.lora.enabled ? CountLoraParams(r.model, r.lora) : counts.total;
  nlohmann::json d;
  d["params_total"] = counts.total;
  d["params_active"] = counts.active;
  d["params_trainable"] = trainable;
  d["trainable_pct"] = 100.0 * trainable / counts.total;
  d["tokens_per_step"] = TokensPerStep(r.train);
  d["total_steps"] = TotalSteps(r.train);
  d["accumulation_steps"] = AccumulationSteps(r.train, 1);
  for (const auto& [name, bytes] : kPrecisions) d["memory_gb"][name] = counts.total * bytes / 1e9;
  return d;
}

nlohmann::json ReferenceNumbers(const Recipe& r) {
  const ReferenceSpec& g = r.reference;
  nlohmann::json ref = nlohmann::json::object();
  if (g.params_total > 0) ref["params_total"] = g.params_total;
  if (g.params_active > 0) ref["params_active"] = g.params_active;
  if (g.trainable_pct > 0) ref["trainable_pct"] = g.trainable_pct;
  const double memory[] = {g.memory_fp32_gb, g.memory_fp16_gb, g.memory_int8_gb, g.memory_int4_gb};
  for (int i = 0; i < 4; ++i) {
    if (memory[i] > 0) ref["memory_gb"][kPrecisions[i].first] = memory[i];
  }
  return ref;
}

std::string ComparisonTable(const nlohmann::json& derived, const nlohmann::json& reference) {
  std::string out = absl::StrFormat("%-18s %14s %14s\n", "", "from shapes", "guide says");
  auto row = [&](const std::string& label, double ours, const nlohmann::json* theirs) {
    if (theirs == nullptr) {
      out += absl::StrFormat("%-18s %14s %14s\n", label, Human(ours), "-");
      return;
    }
    const double g = theirs->get<double>();
    const bool differs = std::abs(ours - g) > 0.10 * std::abs(g);
    out += absl::StrFormat("%-18s %14s %14s%s\n", label, Human(ours), Human(g), differs ? "   <- differs" : "");
  };
  auto ref = [&](const char* a, const char* b = nullptr) -> const nlohmann::json* {
    if (!reference.contains(a)) return nullptr;
    if (b == nullptr) return &reference[a];
    return reference[a].contains(b) ? &reference[a][b] : nullptr;
  };
  row("params total", derived["params_total"], ref("params_total"));
  row("params active", derived["params_active"], ref("params_active"));
  row("params trainable", derived["params_trainable"], nullptr);
  row("trainable %", derived["trainable_pct"], ref("trainable_pct"));
  for (const auto& [name, bytes] : kPrecisions) {
    (void)bytes;
    row(absl::StrCat("weights ", name, " GB"), derived["memory_gb"][name], ref("memory_gb", name));
  }
  row("tokens per step", derived["tokens_per_step"], nullptr);
  row("total steps", derived["total_steps"], nullptr);
  return out;
}

}  // namespace zen
