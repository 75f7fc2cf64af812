#include "data/source.h"

#include "data/demo_task.h"
#include "data/shard_loader.h"
#include "data/tokenizer.h"

namespace zen {

absl::StatusOr<std::unique_ptr<DataSource>> OpenDataSource(const Recipe& recipe) {
  if (recipe.data.source == "demo") {
    return std::unique_ptr<DataSource>(std::make_unique<DemoTask>(recipe.train.seed, recipe.train.seq_len));
  }
  if (!recipe.data.source.empty()) {
    return BadInput(absl::StrCat("data.source: unknown source \"", recipe.data.source, "\" (demo, or unset to read data.path)"));
  }
  if (!recipe.data.path.empty()) {
    // Prepared token shards (`zen data prepare`): checked against the run's tokenizer and model vocabulary.
    ShardLoaderOptions options;
    options.dir = recipe.data.path;
    options.seq_len = recipe.train.seq_len;
    options.seed = recipe.train.seed;
    options.block_causal = recipe.data.block_causal;
    absl::StatusOr<std::string> fingerprint = TokenizerFingerprint(recipe.tokenizer.path);
    if (!fingerprint.ok()) return Annotate(fingerprint.status(), "tokenizer.path");
    options.tokenizer_fingerprint = *fingerprint;
    absl::StatusOr<std::unique_ptr<ShardDataSource>> shards = ShardDataSource::Open(options);
    if (!shards.ok()) return Annotate(shards.status(), "data.path");
    if (recipe.model.vocab > 0) ZEN_RETURN_IF_ERROR(Annotate((*shards)->CheckVocab(recipe.model.vocab), "data.path"));
    return std::unique_ptr<DataSource>(*std::move(shards));
  }
  return BadInput("data: set data.source=demo, or data.path to a folder written by `zen data prepare`");
}

}  // namespace zen
