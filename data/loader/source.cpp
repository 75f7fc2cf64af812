#include "data/loader/source.h"

#include <unistd.h>

#include "data/loader/blended_source.h"
#include "data/loader/demo_task.h"
#include "data/loader/shard_loader.h"
#include "data/tokenizer/tokenizer.h"

namespace zen {
namespace {

absl::Status CheckSourceName(const Recipe& recipe) {
  if (recipe.data.source.empty() || recipe.data.source == "demo") return absl::OkStatus();
  return BadInput(absl::StrCat("data.source: unknown source \"", recipe.data.source, "\" (demo, or unset to read data.path)"));
}

// A prepared folder the recipe reads (data.path, or an entry of data.blend) and the key that names it.
struct Folder {
  std::string dir;
  std::string key;  // "data.path" or "data.blend[i].path"
  uint64_t seed = 0;  // its rows' shuffle: train.seed, plus the entry's index in a blend
  double weight = 1;
};

std::vector<Folder> Folders(const Recipe& recipe) {
  if (recipe.data.blend.empty()) return {{recipe.data.path, "data.path", recipe.train.seed, 1}};
  std::vector<Folder> folders;
  for (size_t i = 0; i < recipe.data.blend.size(); ++i) {
    const DataBlendEntry& e = recipe.data.blend[i];
    folders.push_back({e.path, absl::StrCat("data.blend[", i, "].path"), recipe.train.seed + i, e.weight});
  }
  return folders;
}

// A folder that was never prepared: say how to prepare it rather than that a file is missing.
absl::Status CheckShardsPrepared(const Recipe& recipe, const Folder& folder) {
  if (folder.dir.empty()) {
    return BadInput("data: set data.source=demo, or data.path to a folder written by `zen data prepare`");
  }
  if (::access(absl::StrCat(folder.dir, "/", kManifestFile).c_str(), F_OK) == 0) return absl::OkStatus();
  return BadInput(absl::StrCat(folder.key, ": ", folder.dir, " holds no prepared shards (no ", kManifestFile,
                               "): run `zen data prepare --recipe ", recipe.path.empty() ? "RECIPE" : recipe.path,
                               "` first, or pass data.source=demo to train on the built-in demo task"));
}

// Prepared token shards (`zen data prepare`): checked against the run's tokenizer and model vocabulary.
absl::StatusOr<std::unique_ptr<DataSource>> OpenShards(const Recipe& recipe, const Folder& folder) {
  ZEN_RETURN_IF_ERROR(CheckShardsPrepared(recipe, folder));
  ShardLoaderOptions options;
  options.dir = folder.dir;
  options.seq_len = recipe.train.seq_len;
  options.seed = folder.seed;
  options.block_causal = recipe.data.block_causal;
  options.held_out_fraction = recipe.data.eval_fraction;
  if (recipe.model.IsMultimodal()) options.media = MediaShape::FromModel(recipe.model);
  absl::StatusOr<std::string> fingerprint = TokenizerFingerprint(recipe.tokenizer.path);
  if (!fingerprint.ok()) return Annotate(fingerprint.status(), "tokenizer.path");
  options.tokenizer_fingerprint = *fingerprint;
  absl::StatusOr<std::unique_ptr<ShardDataSource>> shards = ShardDataSource::Open(options);
  if (!shards.ok()) return Annotate(shards.status(), folder.key);
  if (recipe.model.vocab > 0) ZEN_RETURN_IF_ERROR(Annotate((*shards)->CheckVocab(recipe.model.vocab), folder.key));
  return std::unique_ptr<DataSource>(*std::move(shards));
}

// Tokens in one epoch of a folder, from its manifest alone; nullopt when it is not prepared.
std::optional<double> TokensPerEpochOf(const Recipe& recipe, const Folder& folder) {
  if (!CheckShardsPrepared(recipe, folder).ok()) return std::nullopt;
  absl::StatusOr<Manifest> manifest = ReadManifest(folder.dir);
  if (!manifest.ok()) return std::nullopt;
  if (manifest->media) {  // Zen-Omni's data: one document a row
    return RecordRows::TokensPerEpoch(manifest->documents, recipe.train.seq_len, recipe.data.eval_fraction);
  }
  return PackedRows::TokensPerEpoch(manifest->tokens, recipe.train.seq_len, recipe.data.eval_fraction);
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
  if (recipe.data.blend.empty()) return OpenShards(recipe, Folders(recipe).front());
  std::vector<BlendedSource::Part> parts;
  for (const Folder& folder : Folders(recipe)) {
    ZEN_ASSIGN_OR_RETURN(std::unique_ptr<DataSource> source, OpenShards(recipe, folder));
    parts.push_back({folder.dir, folder.weight, std::move(source)});
  }
  return std::unique_ptr<DataSource>(std::make_unique<BlendedSource>(std::move(parts), t.seq_len));
}

std::optional<double> TokensPerEpochOf(const Recipe& recipe) {
  if (!CheckSourceName(recipe).ok()) return std::nullopt;
  if (recipe.data.source == "demo") {
    return DemoTask(recipe.train.seed, recipe.train.seq_len, recipe.data.demo_examples, false,
                    recipe.data.eval_fraction).TokensPerEpoch();
  }
  std::vector<double> tokens, weights;
  for (const Folder& folder : Folders(recipe)) {
    const std::optional<double> t = TokensPerEpochOf(recipe, folder);
    if (!t) return std::nullopt;
    tokens.push_back(*t);
    weights.push_back(folder.weight);
  }
  if (recipe.data.blend.empty()) return tokens.front();
  return BlendedSource::TokensPerEpoch(tokens, weights, recipe.train.seq_len);
}

}  // namespace zen
