#include "models/gated_deltanet.h"

#include "models/attention_heads.h"  // defines: LocalHeads
#include "models/gated_delta_rule.h"  // defines: ChunkGatedDeltaRule, RecurrentGatedDeltaRule, DocumentIndex
#include "models/init.h"              // defines: GeneratorFor

namespace zen {
namespace {

GroupSet PartialOverTp() {
  GroupSet groups;
  groups.tp = true;
  return groups;
}

// The conv input of position t - shift (the stored window before t = 0), and whether it is in t's document.
// full: (B, c, K - 1 + T); doc: (B, T) document index or undefined. Returns (B, c, T) with other documents' 0.
torch::Tensor Tap(const torch::Tensor& full, const torch::Tensor& doc, int64_t shift, int64_t kernel) {
  const int64_t t = full.size(-1) - (kernel - 1);
  torch::Tensor x = full.narrow(-1, kernel - 1 - shift, t);
  if (!doc.defined() || shift == 0 || shift >= t) return x;  // taps before t = 0 read the window (zeros)
  // The document of t - shift; positions t < shift read the window, which belongs to the first document.
  torch::Tensor before = torch::cat({doc.narrow(1, 0, 1).expand({doc.size(0), shift}), doc.narrow(1, 0, t - shift)}, 1);
  return x * doc.eq(before).unsqueeze(1).to(x.scalar_type());
}

// The constructor's own draws (the conv weight, A_log) come from a fixed private generator, never torch's
// global one: how many numbers a rank draws depends on its layout (A_log holds this rank's heads; a pipeline
// stage builds only its layers), so drawing from the global generator would shift every later draw of the
// model (its InitParameters seed, the LoRA adapters' A) by layout. InitParameters or a checkpoint replaces them.
at::Generator ConstructionGenerator(const std::string& name) { return GeneratorFor(0, "GatedDeltaNet." + name); }

}  // namespace

GatedRmsNormImpl::GatedRmsNormImpl(int64_t dim, double eps, GroupSet grad_partial_over) : eps_(eps) {
  ParamInfo info;
  info.init = InitRule::kOne;
  info.grad_partial_over = grad_partial_over;
  weight = RegisterParameter("weight", torch::ones({dim}), info);
}

torch::Tensor GatedRmsNormImpl::forward(const torch::Tensor& x, const torch::Tensor& gate) {
  auto x32 = x.to(torch::kFloat32);
  auto normed = (x32 * torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_)).to(x.scalar_type());
  return (weight * normed * torch::silu(gate.to(torch::kFloat32))).to(x.scalar_type());
}

CausalConv1dImpl::CausalConv1dImpl(int64_t channels, int64_t kernel, std::vector<std::pair<int64_t, int64_t>> runs,
                                   bool partial_over_tp)
    : runs_(std::move(runs)) {
  ParamInfo info;  // whole on every rank, N(0, std) as HF's nn.Conv1d
  if (partial_over_tp) info.grad_partial_over = PartialOverTp();
  weight = RegisterParameter("weight",
                             torch::empty({channels, 1, kernel}).normal_(0.0, 0.02, ConstructionGenerator("conv1d")), info);
}

torch::Tensor CausalConv1dImpl::forward(const torch::Tensor& x, const torch::Tensor& documents, torch::Tensor* window) {
  const int64_t b = x.size(0), kernel = weight.size(2);
  std::vector<torch::Tensor> pieces;
  for (const auto& [begin, length] : runs_) pieces.push_back(weight.narrow(0, begin, length));
  torch::Tensor w = torch::cat(pieces).squeeze(1);  // (c, K)
  torch::Tensor xt = x.transpose(1, 2);             // (B, c, T)
  torch::Tensor before = (window != nullptr && window->defined()) ? *window
                                                                   : torch::zeros({b, xt.size(1), kernel - 1}, xt.options());
  torch::Tensor full = torch::cat({before.to(xt.scalar_type()), xt}, -1);  // (B, c, K - 1 + T)
  torch::Tensor doc = documents.defined() ? DocumentIndex(documents) : torch::Tensor();
  torch::Tensor out;
  for (int64_t shift = 0; shift < kernel; ++shift) {
    torch::Tensor term = w.select(1, kernel - 1 - shift).unsqueeze(-1) * Tap(full, doc, shift, kernel);
    out = out.defined() ? out + term : term;
  }
  if (window != nullptr) *window = full.narrow(-1, full.size(-1) - (kernel - 1), kernel - 1);
  return out.transpose(1, 2);
}

GatedDeltaNetImpl::GatedDeltaNetImpl(const GatedDeltaNetSpec& spec, const TpGroup& tp)
    : spec_(spec),
      local_key_heads_(LocalHeads(spec.key_heads, tp, "model.linear_key_heads")),
      local_value_heads_(LocalHeads(spec.value_heads, tp, "model.linear_value_heads")) {
  TORCH_CHECK(spec.value_heads % spec.key_heads == 0, "linear value heads (", spec.value_heads,
              ") are not a multiple of linear key heads (", spec.key_heads, ")");
  const int64_t c = spec.hidden, dk = spec.key_head_dim, dv = spec.value_head_dim;
  const int64_t key_dim = spec.key_heads * dk, value_dim = spec.value_heads * dv;
  in_proj_qkvz = register_module("in_proj_qkvz", ColumnParallelLinear(c, 2 * key_dim + 2 * value_dim, tp));
  in_proj_ba = register_module("in_proj_ba", ColumnParallelLinear(c, 2 * spec.value_heads, tp));
  // This rank's conv channels: its q heads, its k heads, its v heads, in HF's [q all | k all | v all] order.
  const int64_t local_key = local_key_heads_ * dk, local_value = local_value_heads_ * dv;
  std::vector<std::pair<int64_t, int64_t>> runs = {{tp.rank * local_key, local_key},
                                                   {key_dim + tp.rank * local_key, local_key},
                                                   {2 * key_dim + tp.rank * local_value, local_value}};
  conv1d = register_module("conv1d", CausalConv1d(2 * key_dim + value_dim, spec.conv_kernel, runs, true));
  ParamInfo per_head;  // one entry per value head: split like the heads
  per_head.split_dim = 0;
  per_head.init = InitRule::kLogUniformDecay;
  A_log = RegisterParameter(
      "A_log", torch::empty({local_value_heads_}).uniform_(0.01, 16.0, ConstructionGenerator("A_log")).log_(), per_head);
  per_head.init = InitRule::kOne;
  dt_bias = RegisterParameter("dt_bias", torch::ones({local_value_heads_}), per_head);
  norm = register_module("norm", GatedRmsNorm(dv, spec.norm_eps, PartialOverTp()));
  out_proj = register_module("out_proj", RowParallelLinear(value_dim, c, tp));
}

torch::Tensor GatedDeltaNetImpl::forward(const torch::Tensor& x, LayerInputs& in, LayerCache* cache) {
  return Mix(x, in.segments(), cache != nullptr ? &cache->As<RecurrentState>() : nullptr);
}

torch::Tensor GatedDeltaNetImpl::Mix(const torch::Tensor& x, const torch::Tensor& documents, RecurrentState* cache) {
  const int64_t b = x.size(0), t = x.size(1), dk = spec_.key_head_dim, dv = spec_.value_head_dim;
  const int64_t hk = local_key_heads_, hv = local_value_heads_, r = hv / hk;
  TORCH_CHECK(cache == nullptr || !documents.defined(), "a recurrent-state cache holds one document per row");
  // Per key-head group: [q | k | v (r heads) | z (r heads)] and [b (r) | a (r)].
  auto qkvz = in_proj_qkvz(x).view({b, t, hk, 2 * dk + 2 * r * dv}).split_with_sizes({dk, dk, r * dv, r * dv}, -1);
  auto ba = in_proj_ba(x).view({b, t, hk, 2 * r}).split_with_sizes({r, r}, -1);
  torch::Tensor z = qkvz[3].reshape({b, t, hv, dv});
  torch::Tensor mixed = torch::cat({qkvz[0].reshape({b, t, hk * dk}), qkvz[1].reshape({b, t, hk * dk}),
                                    qkvz[2].reshape({b, t, hv * dv})}, -1);  // (B, T, channels/tp)
  mixed = torch::silu(conv1d(mixed, documents, cache != nullptr ? &cache->conv : nullptr));
  auto qkv = mixed.split_with_sizes({hk * dk, hk * dk, hv * dv}, -1);
  torch::Tensor q = qkv[0].view({b, t, hk, dk}), k = qkv[1].view({b, t, hk, dk}), v = qkv[2].view({b, t, hv, dv});

  torch::Tensor beta = torch::sigmoid(ba[0].reshape({b, t, hv}));
  torch::Tensor g = -A_log.to(torch::kFloat32).exp() * torch::softplus(ba[1].reshape({b, t, hv}).to(torch::kFloat32) + dt_bias);
  const bool decode_step = cache != nullptr && cache->state.defined() && t == 1;
  const torch::Tensor initial = cache != nullptr ? cache->state : torch::Tensor();
  DeltaRuleOutput rule = decode_step ? RecurrentGatedDeltaRule(q, k, v, g, beta, initial)
                                     : ChunkGatedDeltaRule(q, k, v, g, beta, initial, documents, spec_.chunk);
  if (cache != nullptr) cache->state = rule.state;
  torch::Tensor o = norm(rule.out.reshape({-1, dv}), z.reshape({-1, dv}));  // per value head
  return out_proj(o.reshape({b, t, hv * dv}));
}

}  // namespace zen
