#include "models/gated_delta_rule.h"

#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

namespace zen {
namespace {

namespace F = torch::nn::functional;

// The kernel's inputs heads-major in fp32: q, k (B, Hv, T, dk) repeated to the value heads, L2-normalised,
// q scaled by 1/sqrt(dk); v (B, Hv, T, dv); g, beta (B, Hv, T).
struct HeadsMajor {
  torch::Tensor q, k, v, g, beta;
};

torch::Tensor L2Normalize(const torch::Tensor& x) {
  return x * torch::rsqrt((x * x).sum(-1, /*keepdim=*/true) + 1e-6);
}

HeadsMajor Prepare(torch::Tensor q, torch::Tensor k, const torch::Tensor& v, const torch::Tensor& g,
                   const torch::Tensor& beta) {
  const int64_t key_heads = k.size(2), value_heads = v.size(2);
  TORCH_CHECK(value_heads % key_heads == 0, "value heads (", value_heads, ") are not a multiple of key heads (",
              key_heads, ")");
  if (value_heads != key_heads) {
    q = q.repeat_interleave(value_heads / key_heads, 2);
    k = k.repeat_interleave(value_heads / key_heads, 2);
  }
  auto heads_major = [](const torch::Tensor& x) { return x.transpose(1, 2).to(torch::kFloat32).contiguous(); };
  HeadsMajor h;
  h.q = L2Normalize(heads_major(q)) * (1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  h.k = L2Normalize(heads_major(k));
  h.v = heads_major(v);
  h.g = heads_major(g);
  h.beta = heads_major(beta);
  return h;
}

torch::Tensor InitialState(const torch::Tensor& initial_state, const HeadsMajor& h) {
  if (initial_state.defined()) return initial_state.to(torch::kFloat32);
  return torch::zeros({h.v.size(0), h.v.size(1), h.k.size(3), h.v.size(3)}, h.v.options());
}

}  // namespace

torch::Tensor DocumentIndex(const torch::Tensor& documents) {
  auto changes = documents.narrow(1, 1, documents.size(1) - 1).ne(documents.narrow(1, 0, documents.size(1) - 1));
  return torch::cat({torch::zeros({documents.size(0), 1}, changes.options()), changes}, 1).to(torch::kLong).cumsum(1);
}

DeltaRuleOutput ChunkGatedDeltaRule(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    const torch::Tensor& g, const torch::Tensor& beta,
                                    const torch::Tensor& initial_state, const torch::Tensor& documents,
                                    int64_t chunk) {
  const HeadsMajor h = Prepare(q, k, v, g, beta);
  const int64_t b = h.v.size(0), heads = h.v.size(1), t = h.v.size(2), dv = h.v.size(3);
  const int64_t pad = (chunk - t % chunk) % chunk, n = (t + pad) / chunk;
  // Padded positions have k = 0 and beta = 0: they neither read nor write the state.
  auto vectors = [&](const torch::Tensor& x) {  // (B, H, T, d) -> (B, H, n, C, d)
    return F::pad(x, F::PadFuncOptions({0, 0, 0, pad})).reshape({b, heads, n, chunk, x.size(-1)});
  };
  auto scalars = [&](const torch::Tensor& x) {  // (B, H, T) -> (B, H, n, C)
    return F::pad(x, F::PadFuncOptions({0, pad})).reshape({b, heads, n, chunk});
  };
  const torch::Tensor qc = vectors(h.q), kc = vectors(h.k), vc = vectors(h.v), betac = scalars(h.beta);
  const torch::Tensor cum = scalars(h.g).cumsum(-1);  // G_r: log of the decay from the chunk start to r
  const torch::Tensor k_beta = kc * betac.unsqueeze(-1), v_beta = vc * betac.unsqueeze(-1);

  // hidden[r, s]: s does not reach r inside the chunk (s after r, or another document).
  torch::Tensor hidden = torch::ones({chunk, chunk}, torch::TensorOptions().dtype(torch::kBool).device(cum.device())).triu(1);
  torch::Tensor carry, same_as_last;  // (B, 1, n, C) fp32: reads the carried state / writes into it
  if (documents.defined()) {
    torch::Tensor doc = DocumentIndex(documents);
    doc = torch::cat({doc, doc.narrow(1, t - 1, 1).expand({b, pad})}, 1).reshape({b, 1, n, chunk});
    hidden = hidden.logical_or(doc.unsqueeze(-1).ne(doc.unsqueeze(-2)));  // (B, 1, n, C, C)
    // The document of the position just before each chunk (the first chunk: its own first position's).
    torch::Tensor before = torch::cat({doc.narrow(2, 0, 1).narrow(3, 0, 1), doc.narrow(2, 0, n - 1).narrow(3, chunk - 1, 1)}, 2);
    carry = doc.eq(before).to(torch::kFloat32);
    same_as_last = doc.eq(doc.narrow(3, chunk - 1, 1)).to(torch::kFloat32);
  }
  const double inf = std::numeric_limits<double>::infinity();
  // exp(G_r - G_s) for the pairs that reach; masked before exp so that nothing overflows.
  const torch::Tensor decay = (cum.unsqueeze(-1) - cum.unsqueeze(-2)).masked_fill(hidden, -inf).exp();
  const torch::Tensor ut_system = k_beta.matmul(kc.transpose(-1, -2)) * decay;  // strictly lower part used
  const torch::Tensor intra = qc.matmul(kc.transpose(-1, -2)) * decay;          // (B, H, n, C, C)
  torch::Tensor decayed_k_beta = k_beta * cum.exp().unsqueeze(-1);
  torch::Tensor q_read = qc * cum.exp().unsqueeze(-1);
  const torch::Tensor last = cum.narrow(-1, chunk - 1, 1);  // (B, H, n, 1)
  torch::Tensor k_write = kc * (last - cum).exp().unsqueeze(-1);
  torch::Tensor chunk_decay = last.exp();
  if (carry.defined()) {
    decayed_k_beta = decayed_k_beta * carry.unsqueeze(-1);
    q_read = q_read * carry.unsqueeze(-1);
    k_write = k_write * same_as_last.unsqueeze(-1);
    chunk_decay = chunk_decay * carry.narrow(-1, chunk - 1, 1);
  }
  // (I + strictly_lower(ut_system))^-1 applied to beta V and to the decayed beta K.
  const torch::Tensor new_values = torch::linalg_solve_triangular(ut_system, v_beta, /*upper=*/false,
                                                                  /*left=*/true, /*unitriangular=*/true);
  const torch::Tensor k_cumdecay = torch::linalg_solve_triangular(ut_system, decayed_k_beta, /*upper=*/false,
                                                                  /*left=*/true, /*unitriangular=*/true);

  torch::Tensor state = InitialState(initial_state, h);  // (B, H, dk, dv)
  // Per-chunk views by unbind, not select(2, i) in the loop: select's backward writes each chunk's gradient
  // into a zero tensor of the whole sequence (n of them: quadratic in T), unbind's stacks them once.
  const auto [values_i, k_cumdecay_i, q_read_i, intra_i, chunk_decay_i, k_write_i] =
      std::make_tuple(new_values.unbind(2), k_cumdecay.unbind(2), q_read.unbind(2), intra.unbind(2),
                      chunk_decay.unbind(2), k_write.unbind(2));
  std::vector<torch::Tensor> outputs;
  for (int64_t i = 0; i < n; ++i) {
    torch::Tensor v_new = values_i[i] - k_cumdecay_i[i].matmul(state);  // (B, H, C, dv)
    outputs.push_back(q_read_i[i].matmul(state) + intra_i[i].matmul(v_new));
    state = state * chunk_decay_i[i].unsqueeze(-1) + k_write_i[i].transpose(-1, -2).matmul(v_new);
  }
  torch::Tensor out = torch::stack(outputs, 2).reshape({b, heads, n * chunk, dv}).narrow(2, 0, t);
  return {out.transpose(1, 2).contiguous().to(q.scalar_type()), state};
}

DeltaRuleOutput RecurrentGatedDeltaRule(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                        const torch::Tensor& g, const torch::Tensor& beta,
                                        const torch::Tensor& initial_state, const torch::Tensor& documents) {
  const HeadsMajor h = Prepare(q, k, v, g, beta);
  torch::Tensor decay = h.g.exp();  // (B, H, T)
  if (documents.defined()) {
    // Position t keeps the state of t - 1 only inside one document.
    torch::Tensor doc = DocumentIndex(documents);
    torch::Tensor keep = torch::cat({torch::ones_like(doc.narrow(1, 0, 1)), doc.narrow(1, 1, doc.size(1) - 1).eq(doc.narrow(1, 0, doc.size(1) - 1))}, 1);
    decay = decay * keep.unsqueeze(1).to(torch::kFloat32);
  }
  torch::Tensor state = InitialState(initial_state, h);
  // Per-position views by unbind (a linear backward, as in the chunked rule).
  const auto [q_i, k_i, v_i, decay_i, beta_i] =
      std::make_tuple(h.q.unbind(2), h.k.unbind(2), h.v.unbind(2), decay.unbind(2), h.beta.unbind(2));
  std::vector<torch::Tensor> outputs;
  for (int64_t i = 0; i < h.v.size(2); ++i) {
    const torch::Tensor& q_t = q_i[i], &k_t = k_i[i], &v_t = v_i[i];  // (B, H, d)
    state = state * decay_i[i].unsqueeze(-1).unsqueeze(-1);
    torch::Tensor kv_mem = (state * k_t.unsqueeze(-1)).sum(-2);                              // S^T k: (B, H, dv)
    torch::Tensor delta = (v_t - kv_mem) * beta_i[i].unsqueeze(-1);
    state = state + k_t.unsqueeze(-1) * delta.unsqueeze(-2);
    outputs.push_back((state * q_t.unsqueeze(-1)).sum(-2));
  }
  return {torch::stack(outputs, 1).contiguous().to(q.scalar_type()), state};
}

}  // namespace zen
