"""Where a stage's per-image work runs: in this process, or on a Ray cluster (``--ray``).

A stage hands a runner a *worker*: a picklable class whose constructor loads what the work
needs (a model) and whose call does one image; without a runner the stage calls the same
per-image function in its own loop. `RayRunner` turns the items into a Ray dataset and maps them with
``map_batches`` over a pool of actors (one worker each; one GPU per actor when the cluster has
GPUs), streaming the results back as they finish. Either way the stage commits each result to
the workspace itself, one atomic commit per image from this process, so a Ray run resumes
exactly like a local one. Ray is an optional extra and is imported only by `RayRunner`.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Generator, Sequence
from typing import Any, Protocol

from semlat.errors import SemlatError


class Runner(Protocol):
    def map(self, worker: type, args: tuple, items: Sequence[Any]) -> Generator[tuple[Any, Any], None, None]:
        """(item, ``worker(*args)(item)``) for every item, in any order; close it to stop early."""
        ...


class _Actor:
    """A Ray Data callable class around one worker: rows of pickled items in, pickled results out.

    Rows carry bytes so that Arrow never has to find a column type for records and regions; the
    pickles are our own, made in this run (Ray pickles what it ships anyway). A `SemlatError`
    (bad input: a corrupt image) comes back as a result, so the driver raises it as the one
    line it is, after committing the images that came back before it, instead of Ray's nested
    traceback; any other exception is a bug and keeps Ray's traceback.
    """

    def __init__(self, worker: type, args: tuple) -> None:
        self.work = worker(*args)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {"index": batch["index"], "result": [pickle.dumps(self._one(pickle.loads(blob))) for blob in batch["item"]]}

    def _one(self, item: Any) -> tuple[bool, Any]:
        try:
            return True, self.work(item)
        except SemlatError as error:
            return False, str(error)


class RayRunner:
    """Items as a Ray dataset, workers in actors (`map_batches` with a callable class).

    Args:
        address: "local" starts a Ray instance on this machine; anything else is passed to
            ``ray.init`` ("auto" for a running cluster, or ``ray://host:10001``).
        cpus_per_actor: CPUs each actor reserves (its torch threads).
    """

    def __init__(self, address: str = "local", cpus_per_actor: int = 1) -> None:
        try:
            import ray
            import ray.data
        except ImportError:
            raise SemlatError('--ray needs Ray: pip install -e ".[ray]"') from None
        if cpus_per_actor < 1:
            raise SemlatError(f"cpus per actor must be at least 1 (got {cpus_per_actor})")
        if not ray.is_initialized():
            try:
                ray.init(
                    address=None if address == "local" else address,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except (ConnectionError, ValueError, RuntimeError) as error:
                raise SemlatError(
                    f"cannot reach the Ray cluster at {address!r} ({error}): start it or pass --ray local"
                ) from None
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the stage shows its own
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        self.cpus_per_actor = cpus_per_actor

    def actors(self) -> tuple[int, float]:
        """How many actors the cluster holds, and the GPUs each takes (0 without GPUs)."""
        import ray

        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if gpus:
            return gpus, 1.0
        return max(1, int(resources.get("CPU", 1)) // self.cpus_per_actor), 0.0

    def map(self, worker: type, args: tuple, items: Sequence[Any]) -> Generator[tuple[Any, Any], None, None]:
        if not items:
            return
        import ray

        count, gpus = self.actors()
        rows = [{"index": index, "item": pickle.dumps(item)} for index, item in enumerate(items)]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            _Actor,
            fn_constructor_args=(worker, args),
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(count, len(rows))),
            num_cpus=self.cpus_per_actor,
            num_gpus=gpus,
        )
        rows = iter(dataset.iter_rows())
        try:
            for row in rows:
                ok, result = pickle.loads(row["result"])
                if not ok:
                    raise SemlatError(result)
                yield items[int(row["index"])], result
        except (ray.exceptions.RayTaskError, ray.exceptions.UserCodeException):
            raise  # a bug in the worker: its traceback is the useful part
        except ray.exceptions.RayError as error:  # a node or actor lost, the cluster gone
            raise SemlatError(
                f"the Ray run stopped ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else 'no detail'}): "
                "rerun to resume, the images committed so far are kept"
            ) from None
        finally:  # ends the execution and its actor pool now (also when the caller stops early), not when collected
            rows.close()


def make_runner(ray_address: str | None) -> Runner | None:
    """`RayRunner` for an address; None (the stage's own loop, here) without one."""
    return RayRunner(ray_address) if ray_address else None
