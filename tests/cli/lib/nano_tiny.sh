# The tiny Zen-Nano shape the CLI tests train (sourced): a 64-wide, 4-head model over a 512-token
# vocabulary, small enough for a few steps in seconds on one core. Each test adds model.layers and its
# own data, batch and step settings.
nano_tiny=(model.hidden=64 model.heads=4 model.kv_heads=2 model.head_dim=16 model.ffn=128 model.vocab=512)
