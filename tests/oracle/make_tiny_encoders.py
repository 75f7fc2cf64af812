"""Builds tiny random Hugging Face CLIPVisionModel and WhisperEncoder and saves what zen's encoders must reproduce.

usage: make_tiny_encoders.py OUT_DIR
writes OUT_DIR/vision.safetensors and OUT_DIR/audio.safetensors (the state dicts, HF names) and
OUT_DIR/fixture.safetensors: pixels (2, 3, 56, 56) and states (2, 16, 64) (post_layernorm of
last_hidden_state, class token dropped), pixels_large (1, 3, 84, 84) and states_large (1, 36, 64) with
interpolate_pos_encoding=True, mels (2, 16, 64) and audio_states (2, 32, 64) (WhisperEncoder's
last_hidden_state).
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import CLIPVisionConfig, CLIPVisionModel, WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder


def randomize(model):
    # Larger weights than initializer_range and non-trivial norms, so every term moves the output.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed_positions" in name:
                continue  # Whisper's fixed sinusoids
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.normal_(0.0, 0.1)
            else:
                p.normal_(0.0, 0.1)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1234)
    vision = CLIPVisionModel(CLIPVisionConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_channels=3, image_size=56, patch_size=14, hidden_act="quick_gelu", layer_norm_eps=1e-5))
    vision.config._attn_implementation = "eager"
    randomize(vision)
    vision.eval()
    audio = WhisperEncoder(WhisperConfig(
        d_model=64, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=128, num_mel_bins=16,
        max_source_positions=32, activation_function="gelu", dropout=0.0, attention_dropout=0.0,
        activation_dropout=0.0, encoder_layerdrop=0.0))
    audio.config._attn_implementation = "eager"
    randomize(audio)
    audio.eval()

    pixels = torch.randn(2, 3, 56, 56)
    pixels_large = torch.randn(1, 3, 84, 84)
    mels = torch.randn(2, 16, 64)
    with torch.no_grad():
        post = vision.post_layernorm
        states = post(vision(pixel_values=pixels).last_hidden_state)[:, 1:]
        states_large = post(vision(pixel_values=pixels_large, interpolate_pos_encoding=True).last_hidden_state)[:, 1:]
        audio_states = audio(mels).last_hidden_state
    # transformers 5 dropped CLIPVisionModel's vision_model level; CLIP checkpoints (and zen) keep it.
    prefixed = lambda k: k if k.startswith("vision_model.") else "vision_model." + k
    save_file({prefixed(k): v.contiguous() for k, v in vision.state_dict().items() if "position_ids" not in k},
              os.path.join(out, "vision.safetensors"))
    save_file({k: v.contiguous() for k, v in audio.state_dict().items()}, os.path.join(out, "audio.safetensors"))
    save_file({"pixels": pixels, "states": states.contiguous(), "pixels_large": pixels_large,
               "states_large": states_large.contiguous(), "mels": mels, "audio_states": audio_states.contiguous()},
              os.path.join(out, "fixture.safetensors"))


if __name__ == "__main__":
    main()
