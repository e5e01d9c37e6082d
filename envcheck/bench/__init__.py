"""`envcheck bench`: matmul, conv, memory and all-reduce on chosen devices, judged against peak."""
