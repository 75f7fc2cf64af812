// A tiny Zen-Omni and a batch of synthetic media with placeholder runs, for the model and parallel tests.
#pragma once

#include <ATen/CPUGeneratorImpl.h>  // defines: at::detail::createCPUGenerator
#include <torch/torch.h>

#include "core/recipe.h"        // defines: ModelSpec
#include "data/loader/batch.h"  // defines: Batch, kIgnoreLabel

namespace zen::testing {

// 4 layers (cross-attention on 1 and 3), hidden 64, 4 experts top-2; vision: 1 layer, hidden 32, 2 heads,
// patch 14, 28px images and frames, merge 1 (4 tokens each); audio: 1 layer, hidden 32, 2 heads, 16 mel
// bins, 64 frames, pool 2 (16 tokens). Placeholders are the last three ids of the vocab.
inline ModelSpec TinyOmniSpec() {
  ModelSpec s;
  s.name = "tiny-omni";
  s.layers = 4, s.hidden = 64, s.heads = 4, s.kv_heads = 2, s.head_dim = 16, s.ffn = 128, s.vocab = 128;
  s.max_position = 256, s.tie_embeddings = false;
  s.experts = 4, s.top_k = 2, s.expert_ffn = 32;
  s.vision.layers = 1, s.vision.hidden = 32, s.vision.heads = 2, s.vision.ffn = 64, s.vision.patch = 14;
  s.vision.image_size = 28, s.vision.video_size = 28, s.vision.merge = 1;
  s.audio.layers = 1, s.audio.hidden = 32, s.audio.heads = 2, s.audio.ffn = 64, s.audio.mel_bins = 16;
  s.audio.chunk_frames = 64, s.audio.pool = 2;
  s.cross_attn_every = 2;
  s.image_token_id = 125, s.video_token_id = 126, s.audio_token_id = 127;
  return s;
}

// Two rows of 48 tokens: row 0 holds an image run and an audio run, row 1 a two-frame video run (and row
// 2, when rows = 3, no media at all). Random text ids below 120; labels are the next token, ignored on
// placeholders; random pixels and mels from `seed`.
inline Batch TinyOmniBatch(const ModelSpec& s, uint64_t seed, int64_t rows = 2) {
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t t = 48;
  auto tokens = torch::randint(0, 120, {rows, t}, gen, torch::kLong);
  const int64_t image = s.vision.ImageTokens(), frame = s.vision.FrameTokens(), audio = s.audio.AudioTokens();
  tokens[0].slice(0, 2, 2 + image).fill_(s.image_token_id);
  tokens[0].slice(0, 10, 10 + audio).fill_(s.audio_token_id);
  tokens[1].slice(0, 5, 5 + 2 * frame).fill_(s.video_token_id);
  Batch b;
  b.tokens = tokens;
  auto labels = torch::cat({tokens.slice(1, 1), torch::full({rows, 1}, kIgnoreLabel, torch::kLong)}, 1);
  const auto media = tokens.ge(120);
  b.labels = labels.masked_fill(torch::cat({media.slice(1, 1), torch::ones({rows, 1}, torch::kBool)}, 1), kIgnoreLabel);
  b.positions = torch::arange(t, torch::kLong).unsqueeze(0).expand({rows, t}).contiguous();
  b.images = torch::randn({1, 3, s.vision.image_size, s.vision.image_size}, gen);
  b.video_frames = torch::randn({2, 3, s.vision.video_size, s.vision.video_size}, gen);
  b.audios = torch::randn({1, s.audio.mel_bins, s.audio.chunk_frames}, gen);
  return b;
}

}  // namespace zen::testing
