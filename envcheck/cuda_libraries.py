"""The CUDA libraries envcheck names wherever it looks for them: torch's import errors, the
libraries torch loaded, the folders on LD_LIBRARY_PATH.

Standard library only and Python 3.7 syntax: probes/torch_child.py reads this file by path in the
target interpreter, where envcheck itself may not be importable.
"""

# Basenames without suffix: libcudart.so.12, libcudart-9335f6a2.so.12 (auditwheel), libcudnn_ops.so.9
CUDA_LIBRARIES = ("libcudart", "libcudnn", "libcublas", "libcublasLt", "libnccl", "libnvrtc", "libcusparse", "libcufft",
                  "libcurand", "libnvJitLink")
