"""`envcheck data`: can the data pipeline feed the GPU? (docs/DESIGN.md, "data")."""
