"""Several processes on one run (``torchrun``): ranks, their devices, and how they share OUT.

``torchrun --nproc-per-node N -m screenstack extract ...`` starts N processes
(ranks) that run the same stage with ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE`` set; several nodes share OUT over a shared file system. Each
rank uses its own GPU (``cuda:LOCAL_RANK``). Without those variables there is
one rank, and every function here is what a single process does anyway.

How the ranks coordinate, and why:

- OUT's lock (`features.artifacts.runfolder`) is held by rank 0 alone, for the
  whole stage. Rank 0 recovers what a killed run left, writes the fold plan and
  commits every set; the other ranks write only a claimed fold's folder
  (fine-tuning) or whole chunk files of the per-text cache (extraction, see
  `extract.cache`), both atomically.
- The checks that can refuse a run (OUT's lock, outputs to reuse, another
  configuration, the long-CPU-run question) run on rank 0 and their outcome is
  broadcast (`from_rank0`), so all ranks go on or all stop with the same
  one-line error. Broadcasts and barriers use a gloo process group of
  `torch.distributed`, on GPUs too: only a few small Python objects pass, never
  tensors, so NCCL would only add its binding to a device. A rank that fails
  makes torchrun stop the others, so no rank waits out the long timeout.
- A fold is claimed by an exclusive ``flock`` on ``fold{k}/claim``, held while
  the fold trains (`train_claimed`). The kernel releases it when its holder
  dies, however it dies (on NFS: when the client's lease lapses), so there are
  no stale claims to guess at from pids or heartbeats: a killed rank's fold is
  free at once and is resumed from its ``state.pt`` by whoever claims it next,
  and a process that finds a fold held waits for the holder instead of
  training it twice. Folds go to whichever rank is free rather than by rank
  number, so a restart with fewer processes, or a rank that finishes early,
  takes what is left. The claim file names its last holder (rank, host, pid).
"""
from __future__ import annotations

import fcntl
import functools
import inspect
import logging
import os
import socket
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from ..features.artifacts.runfolder import RunFolder
from ..features.errors import ScreenstackError
from .model import resolve_device

log = logging.getLogger("screenstack")
T = TypeVar("T")
CLAIM_FILE = "claim"
# The longest wait at a barrier or broadcast is for one chunk of texts (the
# shards differ by at most one) or for rank 0's checks; a rank that dies
# instead is caught by torchrun, which stops the others.
BARRIER_TIMEOUT = timedelta(hours=2)


@dataclass(frozen=True)
class Ranks:
    """This process's place among the processes of one run: ``rank`` of ``world``, ``local_rank`` on its node."""

    rank: int = 0
    local_rank: int = 0
    world: int = 1

    @classmethod
    def from_env(cls) -> "Ranks":
        """From torchrun's ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` (one rank when they are unset)."""
        try:
            world = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
        except ValueError:
            raise ScreenstackError(f"RANK={os.environ.get('RANK')!r}, LOCAL_RANK={os.environ.get('LOCAL_RANK')!r}, "
                                   f"WORLD_SIZE={os.environ.get('WORLD_SIZE')!r}: expected integers, as torchrun sets them.") from None
        if world < 1 or not 0 <= rank < world:
            raise ScreenstackError(f"RANK={rank}, WORLD_SIZE={world}: expected 0 <= RANK < WORLD_SIZE, as torchrun sets them.")
        return cls(rank, local_rank, world)

    @property
    def main(self) -> bool:
        """Rank 0: holds OUT's lock and writes the committed outputs."""
        return self.rank == 0

    def __str__(self) -> str:
        return f"rank {self.rank} of {self.world} ({socket.gethostname()}, pid {os.getpid()})"


def rank_device(device: str, ranks: Ranks) -> str:
    """`resolve_device`, then, with several ranks on CUDA, this rank's own GPU: ``cuda:LOCAL_RANK``.

    That GPU also becomes the current one, so no rank opens a CUDA context on
    GPU 0 by default. An explicit ``cuda:N`` is kept: the user chose that GPU
    for every rank.

    Examples
    --------
    >>> rank_device("cpu", Ranks(1, 1, 2))
    'cpu'
    """
    resolved = resolve_device(device)
    if resolved != "cuda" or ranks.world == 1:
        return resolved
    import torch

    index = ranks.local_rank % torch.cuda.device_count()
    torch.cuda.set_device(index)
    return f"cuda:{index}"


def rank0_locked():
    """Decorate a stage function taking ``out``: its ranks run it together, rank 0 holding OUT's lock.

    With one rank this is `features.artifacts.runfolder.locked`. With several, a
    gloo process group is set up (and torn down after); rank 0's failure to take
    the lock stops every rank with its message.
    """
    def decorate(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            run = RunFolder(signature.bind(*args, **kwargs).arguments["out"])
            ranks = Ranks.from_env()
            with ExitStack() as stack:
                if ranks.world > 1:
                    stack.enter_context(_process_group(ranks))
                    from_rank0(lambda: stack.enter_context(run.lock()) and None)  # rank 0 holds it until the stage ends
                else:
                    stack.enter_context(run.lock())
                return func(*args, **kwargs)
        return wrapper
    return decorate


@contextmanager
def _process_group(ranks: Ranks) -> Iterator[None]:
    import torch.distributed as dist

    if dist.is_initialized():  # set up by the caller (a script that imports screenstack): theirs to tear down
        yield
        return
    try:
        # torchrun's agent holds the store and keeps it across restarts (--max-restarts): a prefix per attempt,
        # or the restarted ranks would find the dead ranks' addresses there and fail to connect.
        agent = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
        store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), ranks.world,
                              is_master=ranks.main and not agent, timeout=BARRIER_TIMEOUT)
        store = dist.PrefixStore(f"screenstack/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", store)
        dist.init_process_group("gloo", store=store, timeout=BARRIER_TIMEOUT, rank=ranks.rank, world_size=ranks.world)
    except KeyError as error:
        raise ScreenstackError(f"WORLD_SIZE={ranks.world}: {error.args[0]} is not set. Start several processes with torchrun, "
                               "which sets MASTER_ADDR and MASTER_PORT.") from None
    except (ValueError, RuntimeError) as error:
        raise ScreenstackError(f"WORLD_SIZE={ranks.world}: cannot reach the other ranks ({str(error).splitlines()[0]}). "
                               "Start several processes with torchrun, which sets MASTER_ADDR and MASTER_PORT.") from None
    try:
        yield
    finally:
        dist.destroy_process_group()


def from_rank0(func: Callable[[], T]) -> T:
    """Run `func` on rank 0 alone and return its result on every rank; its `ScreenstackError` is raised on all."""
    ranks = Ranks.from_env()
    if ranks.world == 1:
        return func()
    import torch.distributed as dist

    box: list = [None]
    if ranks.main:
        try:
            box[0] = ("ok", func())
        except ScreenstackError as error:
            box[0] = ("error", str(error))
        except BaseException:
            dist.broadcast_object_list([("error", "rank 0 stopped; its error says why.")], src=0)
            raise
    dist.broadcast_object_list(box, src=0)
    kind, value = box[0]
    if kind == "error":
        raise ScreenstackError(value)
    return value


def barrier() -> None:
    """Wait until every rank gets here (nothing to wait for with one rank)."""
    if Ranks.from_env().world > 1:
        import torch.distributed as dist

        dist.barrier()


@contextmanager
def _claim(folder: Path, wait: bool) -> Iterator[int | None]:
    """Fold `folder`'s claim file, open and locked; None if another live process holds it and `wait` is False."""
    folder.mkdir(parents=True, exist_ok=True)
    # Never deleted: a lock on a file that another process unlinked and made again would guard nothing.
    fd = os.open(folder / CLAIM_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)  # releases the flock


def _sign(claim: int, ranks: Ranks) -> None:
    """Name the process training the fold in its claim file."""
    try:
        os.ftruncate(claim, 0)
        os.write(claim, f"{ranks}\n".encode())
    except OSError:
        pass  # the name is for people; a full disk must not stop the fold here


def train_claimed(folders: dict[int, Path], finished: Callable[[Path], bool], train: Callable[[int], None]) -> list[int]:
    """Train each fold (``k -> folder``) not `finished` that no live process holds; return once all are finished.

    First each free fold is claimed and trained, starting at this rank's index
    so that ranks spread over the folds; then this rank waits on each fold
    another process holds, and trains it itself (resuming) if that process died
    without finishing it. Returns the folds trained here.

    Examples
    --------
    >>> train_claimed({0: Path("fold0"), 1: Path("fold1")}, lambda f: (f / "result.npz").is_file(), fit)  # doctest: +SKIP
    """
    ranks = Ranks.from_env()
    order = sorted(folders)
    order = order[ranks.rank % len(order):] + order[:ranks.rank % len(order)] if order else order
    trained = []
    for wait in (False, True):
        for k in order:
            if finished(folders[k]):
                continue
            with _claim(folders[k], wait) as claim:
                if claim is not None and not finished(folders[k]):  # else finished by the holder this rank waited for
                    _sign(claim, ranks)
                    log.info("fold %d: claimed by %s", k, ranks)
                    train(k)
                    trained.append(k)
    return trained
