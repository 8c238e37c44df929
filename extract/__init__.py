"""Transformer encoders -> pooled hidden-layer vectors -> Parquet; fine-tuning with K-fold cross-fitting."""
