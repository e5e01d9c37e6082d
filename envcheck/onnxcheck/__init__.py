"""`envcheck onnx`: export reference networks (or take a user's model), check them, run them under
every ONNX Runtime provider, and compare. Imports torch, onnx and onnxruntime only when run."""
