#include "models/generation.h"

#include <algorithm>
#include <limits>

#include <ATen/CPUGeneratorImpl.h>

namespace zen {
namespace {

// logits (V) fp32 with the tokens top-k and top-p leave out set to -inf.
torch::Tensor Truncate(torch::Tensor logits, const GenerateOptions& options) {
  const float drop = -std::numeric_limits<float>::infinity();
  if (options.top_k > 0 && options.top_k < logits.size(0)) {
    const auto kth = std::get<0>(logits.topk(options.top_k)).min();
    logits = logits.masked_fill(logits.lt(kth), drop);
  }
  if (options.top_p < 1.0) {
    auto [sorted, order] = logits.sort(/*dim=*/-1, /*descending=*/true);
    auto probs = sorted.softmax(-1);
    // A token is dropped when the more likely ones already reach top_p; the most likely always stays.
    auto dropped = (probs.cumsum(-1) - probs).ge(options.top_p);
    dropped[0] = false;
    logits = logits.index_put({order.masked_select(dropped)}, torch::full({}, drop));
  }
  return logits;
}

}  // namespace

int64_t ChooseToken(const torch::Tensor& logits, const GenerateOptions& options, torch::Generator& generator) {
  auto z = logits.detach().to(torch::kCPU, torch::kFloat32);  // (V)
  if (options.temperature <= 0) return z.argmax().item<int64_t>();
  auto probs = Truncate(z / options.temperature, options).softmax(-1);
  return torch::multinomial(probs, 1, /*replacement=*/false, generator).item<int64_t>();
}

std::vector<int64_t> Generate(Qwen3& model, const std::vector<int64_t>& prompt, const GenerateOptions& options,
                              const std::function<void(int64_t)>& on_token) {
  TORCH_CHECK(!prompt.empty(), "generation needs a non-empty prompt");
  torch::NoGradGuard no_grad;
  model->eval();
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const auto device = model->parameters().front().device();
  const auto ids = torch::TensorOptions().dtype(torch::kLong);
  torch::Tensor sequence = torch::tensor(prompt, ids).unsqueeze(0).to(device);  // (1, T), uncached only
  const int64_t max_position = model->spec().max_position;
  int64_t length = static_cast<int64_t>(prompt.size());
  KvCache cache;
  torch::Tensor next_input = sequence;  // what the next cached call feeds: the prompt, then one token
  std::vector<int64_t> generated;
  while (static_cast<int64_t>(generated.size()) < options.max_new_tokens &&
         (max_position <= 0 || length < max_position)) {
    torch::Tensor logits;  // (1, T, V)
    if (options.use_cache) {
      logits = model->forward_cached(next_input, cache);
    } else {
      auto positions = torch::arange(length, ids.device(device)).unsqueeze(0);
      logits = model->logits(model->forward(sequence, positions).slice(1, -1));  // the last position only
    }
    const int64_t token = ChooseToken(logits[0][-1], options, generator);
    generated.push_back(token);
    ++length;
    if (on_token) on_token(token);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), token) != options.stop_ids.end()) break;
    next_input = torch::full({1, 1}, token, ids.device(device));
    if (!options.use_cache) sequence = torch::cat({sequence, next_input}, 1);
  }
  return generated;
}

}  // namespace zen
