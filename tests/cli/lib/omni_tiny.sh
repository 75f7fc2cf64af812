# The tiny Zen-Omni both Omni CLI tests use (sourced): text backbone, encoders and placeholder ids that the
# byte tokenizer leaves free, reading prepared shards from ./shards.
omni_tiny=(model.layers=2 model.hidden=64 model.heads=4 model.kv_heads=2 model.head_dim=16 model.vocab=512
      model.experts=4 model.top_k=2 model.expert_ffn=32 model.vision.layers=1 model.vision.hidden=32
      model.vision.heads=2 model.vision.ffn=64 model.vision.image_size=28 model.vision.video_size=28
      model.vision.merge=2 model.vision.video_frames=4 model.audio.layers=1 model.audio.hidden=32
      model.audio.heads=2 model.audio.ffn=64 model.audio.mel_bins=16 model.audio.chunk_frames=64
      model.audio.pool=2 model.image_token_id=509 model.video_token_id=510 model.audio_token_id=511
      tokenizer.path=bytes data.path=shards)
