import os
import random

import pytest
import torch

# Under pytest-xdist (`make test` runs one worker per core) each worker computes on one thread, so the
# workers share the cores instead of oversubscribing them.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1) // _workers))

# Without a GPU the Triton kernels run in Triton's interpreter on CPU tensors. The flag must be set
# before any kernel module is imported (triton.jit reads it when decorating).
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

# `make gpu-check` runs the kernel tests on the GPU: VISIONATTN_TEST_DEVICE=cuda makes every tensor the tests
# create (and their random generators) live there.
if os.environ.get("VISIONATTN_TEST_DEVICE"):
    torch.set_default_device(os.environ["VISIONATTN_TEST_DEVICE"])


@pytest.fixture(autouse=True)
def _seed():
    random.seed(0)
    torch.manual_seed(0)
    yield
