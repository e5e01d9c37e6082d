"""`envcheck cluster`: run under torchrun or srun, every rank takes a snapshot, rank 0 reports
what differs between ranks and nodes and which node lags (docs/DESIGN.md, "cluster")."""
