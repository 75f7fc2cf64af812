#include "data/loader/source.h"

#include <unistd.h>

#include "data/loader/demo_task.h"
#include "data/loader/shard_loader.h"
#include "data/tokenizer/tokenizer.h"

namespace zen {
namespace {

absl::Status CheckSourceName(const Recipe& recipe) {
  if (recipe.data.source.empty() || recipe.data.source == "demo") return absl::OkStatus();
  return BadInput(absl::StrCat("data.source: unknown source \"", recipe.data.source, "\" (demo, or unset to read data.path)"));
}

// A recipe whose shards were never prepared: say how to prepare them rather than that a file is missing.
absl::Status CheckShardsPrepared(const Recipe& recipe) {
  const std::string& dir = recipe.data.path;
  if (dir.empty()) return BadInput("data: set data.source=demo, or data.path to a folder written by `zen data prepare`");
  if (::access(absl::StrCat(dir, "/", kManifestFile).c_str(), F_OK) == 0) return absl::OkStatus();
  return BadInput(absl::StrCat("data.path: ", dir, " holds no prepared shards (no ", kManifestFile,
                               "): run `zen data prepare --recipe ", recipe.path.empty() ? "RECIPE" : recipe.path,
                               "` first, or pass data.source=demo to train on the built-in demo task"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<DataSource>> OpenDataSource(const Recipe& recipe) {
  ZEN_RETURN_IF_ERROR(CheckSourceName(recipe));
  const TrainSpec& t = recipe.train;
  if (recipe.data.source == "demo") {
    return std::unique_ptr<DataSource>(
        std::make_unique<DemoTask>(t.seed, t.seq_len, recipe.data.demo_examples, recipe.data.block_causal,
                                   recipe.data.eval_fraction));
  }
  ZEN_RETURN_IF_ERROR(CheckShardsPrepared(recipe));
  // Prepared token shards (`zen data prepare`): checked against the run's tokenizer and model vocabulary.
  ShardLoaderOptions options;
  options.dir = recipe.data.path;
  options.seq_len = t.seq_len;
  options.seed = t.seed;
  options.block_causal = recipe.data.block_causal;
  options.held_out_fraction = recipe.data.eval_fraction;
  if (recipe.model.IsMultimodal()) options.media = MediaShape::FromModel(recipe.model);
  absl::StatusOr<std::string> fingerprint = TokenizerFingerprint(recipe.tokenizer.path);
  if (!fingerprint.ok()) return Annotate(fingerprint.status(), "tokenizer.path");
  options.tokenizer_fingerprint = *fingerprint;
  absl::StatusOr<std::unique_ptr<ShardDataSource>> shards = ShardDataSource::Open(options);
  if (!shards.ok()) return Annotate(shards.status(), "data.path");
  if (recipe.model.vocab > 0) ZEN_RETURN_IF_ERROR(Annotate((*shards)->CheckVocab(recipe.model.vocab), "data.path"));
  return std::unique_ptr<DataSource>(*std::move(shards));
}

std::optional<double> TokensPerEpochOf(const Recipe& recipe) {
  if (!CheckSourceName(recipe).ok()) return std::nullopt;
  if (recipe.data.source == "demo") {
    return DemoTask(recipe.train.seed, recipe.train.seq_len, recipe.data.demo_examples, false,
                    recipe.data.eval_fraction).TokensPerEpoch();
  }
  if (!CheckShardsPrepared(recipe).ok()) return std::nullopt;
  absl::StatusOr<Manifest> manifest = ReadManifest(recipe.data.path);
  if (!manifest.ok()) return std::nullopt;
  if (manifest->media) {  // Zen-Omni's data: one document a row
    return RecordRows::TokensPerEpoch(manifest->documents, recipe.train.seq_len, recipe.data.eval_fraction);
  }
  return PackedRows::TokensPerEpoch(manifest->tokens, recipe.train.seq_len, recipe.data.eval_fraction);
}

}  // namespace zen
