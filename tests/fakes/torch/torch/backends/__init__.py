"""torch.backends of the fake."""
