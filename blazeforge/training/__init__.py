"""Training: the input pipeline, augmentation and the trainer."""
