"""Multi-process training on torch.distributed (DDP), as launched by ``torchrun`` or
``accelerate launch`` (see DESIGN.md, "The engine", and examples/plot_multi_gpu.py).

The same estimator code runs in every process: the library joins the process group the
launcher describes in the environment (``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR``...), every
process draws the same global batches and trains on its share, DDP averages the gradients,
and only the main process (rank 0) writes checkpoints.
"""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist


def launched_world_size() -> int:
    """The number of processes the launcher started (1 outside torchrun / accelerate launch)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def ensure_process_group(device: str) -> None:
    """Join the launcher's process group (NCCL for CUDA, gloo for CPU) if there is one; a group
    the library joins is left together at exit (:func:`leave_process_group`)."""
    if launched_world_size() > 1 and dist.is_available() and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
        atexit.register(leave_process_group)


def leave_process_group() -> None:
    """Wait for every process, then destroy the process group.

    Left to the interpreter's shutdown, a process could close its connections while another
    still used them: gloo then aborted that one ("terminate called without an active
    exception", 3 of 40 two-process runs here). A launcher stops the other processes when one
    fails, so the barrier cannot wait on a dead one.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def rank_and_world_size() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    return rank_and_world_size()[0] == 0


def local_cuda_device() -> str:
    """This process's GPU under a launcher (``LOCAL_RANK``), else the current one."""
    return f"cuda:{int(os.environ['LOCAL_RANK'])}" if "LOCAL_RANK" in os.environ else "cuda"


def gather_across_processes(z: torch.Tensor) -> torch.Tensor:
    """The rows of ``z`` from every process, in rank order, with gradients flowing back to each
    process's own rows; ``z`` itself in a single process."""
    if rank_and_world_size()[1] == 1:
        return z
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(z.contiguous()))


def data_parallel(module: torch.nn.Module, device: str) -> torch.nn.Module:
    """``module`` wrapped for DDP training (BatchNorm synchronised across GPUs on CUDA; on CPU
    (gloo) each process normalises with its own share's statistics, SyncBatchNorm being
    CUDA-only)."""
    from torch.nn.parallel import DistributedDataParallel

    if device.startswith("cuda"):
        module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
        index = torch.device(device).index
        return DistributedDataParallel(module, device_ids=[index if index is not None else 0])
    return DistributedDataParallel(module)


def plain_batchnorm(module: torch.nn.Module) -> torch.nn.Module:
    """Undo ``convert_sync_batchnorm``: every SyncBatchNorm back to a BatchNorm1d holding its
    state, so the trained module runs (and is fused, saved, loaded) like a single-process one."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.SyncBatchNorm):
            plain = torch.nn.BatchNorm1d(child.num_features, child.eps, child.momentum, child.affine,
                                         child.track_running_stats).to(next(child.buffers()).device)
            plain.load_state_dict(child.state_dict())
            plain.train(child.training)
            setattr(module, name, plain)
        else:
            plain_batchnorm(child)
    return module
