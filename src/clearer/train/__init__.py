"""What training and inference run on, below every phase: the weight trainer, device choice, processes, checkpoints, tiled inference."""
