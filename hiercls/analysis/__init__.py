"""Data analysis on a trained checkpoint: sparse dev data, dirty training data and
augmentation for rare labels (the TrustAI-style analyses of PaddleNLP's
``hierarchical/analysis``, implemented on the model's own features).

- ``features``: encoder features, logits and classifier weights of a checkpoint;
- ``sparse``: how well training data supports each dev example, and which
  unlabelled texts to label for the least supported ones;
- ``dirty``: which training labels are likely wrong, with a suggested fix;
- ``augment``: label-preserving character edits for labels with few examples;
- ``experiments``: the retraining runs that measure each one's effect.
"""
