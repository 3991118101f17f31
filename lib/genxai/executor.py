"""Tasks on local processes or a Dask cluster: notebooks of ``genxai reproduce`` and seed studies.

One interface, :func:`open_executor`, yields a :class:`concurrent.futures.Executor`:

* ``scheduler=None``: this machine's processes (``workers`` spawned processes; one worker runs
  the tasks in this process);
* ``scheduler="local"``: a Dask ``LocalCluster`` of ``workers`` single-threaded worker processes;
* ``scheduler="tcp://host:8786"``: the Dask scheduler at that address (its workers).

Dask is the optional extra ``cluster`` (``pip install -e '.[cluster]'``); Dask's
``Client.get_executor`` gives the same ``concurrent.futures`` interface as a process pool, so the
code above it does not care where tasks run.

Two users:

* :func:`map_seeds` runs ``fn(config, seed)`` for every configuration x seed and returns one
  table (the study scripts in ``benchmarks/``);
* :func:`reproduce_on_cluster` runs every notebook as a task (``genxai reproduce --scheduler``).
  A worker executes its notebook as a local run does (:func:`genxai.runner.execute`, into a staging
  folder under a private results root) and sends the staged files back; this process promotes them
  into ``results/<paper>/`` (:func:`genxai.runner.promote`: metrics merged, paper-vs-ours recomputed,
  MANIFEST rewritten) with the worker that ran each notebook recorded.  A failed notebook leaves the
  committed results as they were, is kept under ``results/.failed/<paper>/<notebook>/`` with its
  traceback reported, and the other notebooks finish.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import paths
from .runner import NotebookFailed

#: Columns :func:`map_seeds` adds to what the study function returns.
JOB_COLUMNS = ("config", "seed", "worker", "job_s")


class JobFailed(RuntimeError):
    pass


class NotebookFailures(NotebookFailed):
    """Some notebooks of a cluster run failed (the others finished); ``runs`` are the ones that succeeded."""

    def __init__(self, runs: list[dict[str, Any]], failures: list[dict[str, Any]]):
        self.runs, self.failures = runs, failures
        names = ", ".join(f["notebook"] for f in failures)
        super().__init__(
            f"{len(failures)} notebook(s) failed: {names}; the committed results of each were left as they were\n\n"
            + "\n\n".join(
                f"== {f['notebook']} on {f['worker']}"
                + (f" (executed notebook and partial outputs kept in {f['kept']})" if f["kept"] else "")
                + f"\n{f['error']}"
                for f in failures
            )
        )


# --------------------------------------------------------------------------- executors
class _InProcess(cf.Executor):
    """A one-worker executor that runs each task at submission, in this process (no pickling;
    a debugger and the caller's tracebacks work as usual)."""

    def submit(self, fn, /, *args, **kwargs):
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(err)
        return future


def _import_distributed():
    try:
        import distributed
    except ImportError as err:
        raise ImportError(
            "a Dask scheduler needs the optional extra 'cluster': pip install -e '.[cluster]' (dask[distributed])"
        ) from err
    return distributed


@contextlib.contextmanager
def open_executor(scheduler: str | None = None, workers: int = 1) -> Iterator[cf.Executor]:
    """A ``concurrent.futures.Executor`` over local processes or a Dask cluster (see the module doc).

    ``workers``: local processes, or the workers of ``scheduler="local"``; a remote cluster has
    the workers it was started with.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if scheduler is None:
        if workers == 1:
            yield _InProcess()
            return
        import multiprocessing

        # spawn: no fork of a process that holds torch's thread pools
        with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
        return
    distributed = _import_distributed()
    cluster = None
    if scheduler == "local":
        import logging

        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        )
        client = distributed.Client(cluster)
    else:
        try:
            client = distributed.Client(scheduler, timeout="30s")
        except OSError as err:
            raise ConnectionError(
                f"no Dask scheduler answers at {scheduler!r} ({err}); start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS`, or use "
                "--scheduler local"
            ) from err
    try:
        yield client.get_executor(pure=False)  # pure=False: equal arguments are still separate tasks
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def worker_identity() -> dict[str, Any]:
    """Who runs this task: host, pid and, on a Dask worker, its address."""
    ident: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
    with contextlib.suppress(ImportError, ValueError):
        from distributed import get_worker

        ident["dask_worker"] = get_worker().address
    return ident


def _worker_name(ident: Mapping[str, Any] | None) -> str:
    if not ident:
        return "?"
    return ident.get("dask_worker") or f"{ident['host']}:{ident['pid']}"


# --------------------------------------------------------------------------- seed studies
@contextlib.contextmanager
def _job_environment(threads: int, env: Mapping[str, str]) -> Iterator[None]:
    import torch

    names = {"GENXAI_THREADS", *env}
    saved = {k: os.environ.get(k) for k in names}
    saved_threads = torch.get_num_threads()
    os.environ.update(env)
    os.environ["GENXAI_THREADS"] = str(threads)  # seed_everything("auto") reads it
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        torch.set_num_threads(saved_threads)


def _run_job(
    fn: Callable[[Any, int], Any], config: Any, seed: int, threads: int, env: Mapping[str, str]
) -> tuple[Any, dict[str, Any], float]:
    started = time.perf_counter()
    with _job_environment(threads, env):
        out = fn(config, seed)
    return out, worker_identity(), time.perf_counter() - started


def map_seeds(
    fn: Callable[[Any, int], Any],
    configs: Mapping[str, Any] | Sequence[Any],
    seeds: Sequence[int],
    scheduler: str | None = None,
    workers: int = 1,
    threads: int = 1,
    env: Mapping[str, str] | None = None,
):
    """Run ``fn(config, seed)`` for every configuration x seed; return one ``pandas.DataFrame``.

    Args:
        fn: a module-level function (it is pickled to the workers) returning a mapping (one row),
            a list of mappings or a DataFrame (several rows); it seeds itself
            (``repro.seed_everything(seed)``).
        configs: name -> configuration, or a sequence (named by position).
        seeds: the seeds each configuration runs with.
        scheduler, workers: where the jobs run (:func:`open_executor`).
        threads: torch threads of each job (also exported as ``GENXAI_THREADS``).
        env: environment variables set for each job (e.g. ``GENXAI_CACHE_DIR``).

    Returns rows in configuration-then-seed order with the columns ``config`` and ``seed``,
    ``fn``'s columns, then ``worker`` (who ran it) and ``job_s`` (its wall time).  A failed job
    raises :class:`JobFailed` naming it, with the worker's traceback chained.
    """
    import pandas as pd

    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    named = dict(configs) if isinstance(configs, Mapping) else {str(i): c for i, c in enumerate(configs)}
    if not named or not seeds:
        raise ValueError("map_seeds needs at least one configuration and one seed")
    jobs = [(name, config, int(seed)) for name, config in named.items() for seed in seeds]
    env = {k: str(v) for k, v in (env or {}).items()}
    frames = []
    with open_executor(scheduler, workers) as ex:
        futures = [ex.submit(_run_job, fn, config, seed, threads, env) for _, config, seed in jobs]
        for (name, _, seed), future in zip(jobs, futures):
            try:
                out, ident, seconds = future.result()
            except Exception as err:
                for other in futures:
                    other.cancel()
                raise JobFailed(f"study job config={name!r} seed={seed} failed: {type(err).__name__}: {err}") from err
            if isinstance(out, pd.DataFrame):
                frame = out.copy()
            elif isinstance(out, Mapping):
                frame = pd.DataFrame([dict(out)])
            elif isinstance(out, Sequence) and all(isinstance(row, Mapping) for row in out):
                frame = pd.DataFrame([dict(row) for row in out])
            else:
                raise TypeError(
                    f"{getattr(fn, '__name__', fn)} returned a {type(out).__name__}; return a "
                    "mapping (one row), a list of mappings or a DataFrame (several rows)"
                )
            clash = sorted(set(frame.columns) & set(JOB_COLUMNS))
            if clash:
                raise ValueError(
                    f"{getattr(fn, '__name__', fn)} returned the column(s) {clash} "
                    f"that map_seeds adds itself; rename them"
                )
            frame.insert(0, "config", name)
            frame.insert(1, "seed", seed)
            frame["worker"] = _worker_name(ident)
            frame["job_s"] = round(seconds, 2)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- notebooks
# The kernel papermill starts inherits this process's environment (the task's private results root, its thread
# count, and the staging folder genxai.runner.execute sets): a worker process runs one notebook at a time, since
# several threads of one Dask worker would race on os.environ.  Run several single-threaded workers instead.
_NOTEBOOK_LOCK = threading.Lock()


def _read_tree(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {
        f.relative_to(folder).as_posix(): f.read_bytes()
        for f in sorted(folder.rglob("*"))
        if f.is_file() and not f.name.startswith(".")
    }


def run_notebook_task(spec: Mapping[str, Any]) -> dict[str, Any]:
    """On a worker: execute one notebook (:func:`genxai.runner.execute`) under a private results root.

    Returns ``{"run", "error", "files", "worker", "threads"}``: ``run`` the runner's record (None on failure),
    ``error`` the failure with its traceback (None on success), ``files`` relative path -> bytes of the run's
    staging folder (on failure: of the folder the runner kept the failed run in).
    """
    import nbformat

    from . import runner
    from .repro import git_sha

    ident = worker_identity()
    threads = int(spec["threads"] or os.cpu_count() or 1)
    out: dict[str, Any] = {"run": None, "error": None, "files": {}, "worker": ident, "threads": threads}
    sha, _ = git_sha()
    if spec.get("git_sha") and sha and sha != spec["git_sha"]:
        out["error"] = (
            f"the worker's genxai checkout ({paths.root()}) is at {sha}, the client's at {spec['git_sha']}: "
            "check out the same commit on every worker"
        )
        return out
    source = paths.root() / spec["notebook"]
    if not source.exists():
        out["error"] = (
            f"{spec['notebook']} is not in the worker's genxai checkout {paths.root()}: start the workers in a "
            "checkout of the same commit (or set GENXAI_ROOT)"
        )
        return out
    nb = runner.Notebook(spec["paper"], source)
    with _NOTEBOOK_LOCK, tempfile.TemporaryDirectory(prefix="genxai-notebook-") as tmp:
        env = {"GENXAI_RESULTS_DIR": tmp, "GENXAI_THREADS": str(threads)}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            record = runner.execute(nb, spec["profile"], spec["params"], progress=False)
        except Exception:  # noqa: BLE001 - any failure of the notebook is reported, not raised
            # the runner's message names folders under the private root: name the client's instead
            out["error"] = traceback.format_exc().replace(tmp, "<results>")
            out["files"] = _read_tree(paths.failed_dir(nb.paper, nb.name, spec["profile"]))
        else:
            stage = Path(record["staging"])
            executed = stage / source.name
            book = nbformat.read(executed, as_version=4)
            book.metadata["genxai"] = {"worker": _worker_name(ident), "worker_identity": ident, "threads": threads}
            nbformat.write(book, executed)
            out["run"] = record
            out["files"] = _read_tree(stage)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return out


def _write_tree(folder: Path, files: Mapping[str, bytes]) -> None:
    import shutil

    from .repro import atomic_path

    shutil.rmtree(folder, ignore_errors=True)
    for rel, data in files.items():
        with atomic_path(folder / rel) as tmp:
            tmp.write_bytes(data)


def reproduce_on_cluster(
    scheduler: str | None,
    paper: str | None = None,
    profile: str = paths.DEFAULT_PROFILE,
    workers: int = 1,
    params: Mapping[str, Any] | None = None,
    notebook: str | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """``genxai reproduce --scheduler``: every selected notebook as a task (see the module doc).

    A worker runs its notebook as :func:`genxai.runner.execute` does, under a private results root, and returns
    the staged files; here they are staged again and promoted (:func:`genxai.runner.promote`: ``metrics.json``
    merged, paper-vs-ours recomputed, manifest rewritten) as each notebook finishes.  A failed notebook's files go
    to :func:`genxai.paths.failed_dir`; after the others finished, :class:`NotebookFailures` names them all.

    Returns the run records (as :func:`genxai.runner.reproduce`, plus ``worker`` and ``threads``).  Threads per
    notebook: ``GENXAI_THREADS`` of this process when set, else all the worker's cores.
    """
    from tqdm.auto import tqdm

    from . import runner
    from .profiles import check_profile
    from .repro import git_sha

    check_profile(profile)
    params = dict(params or {})
    if "profile" in params:
        raise runner.ParameterError("set the profile with --profile, not -p profile=...")
    notebooks = runner.discover(paper, notebook)
    runner.validate_parameters(notebooks, params)
    threads = int(os.environ["GENXAI_THREADS"]) if os.environ.get("GENXAI_THREADS") else None
    sha, _ = git_sha()
    runs: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    bar = tqdm(total=len(notebooks), desc=f"notebooks ({profile}) on {scheduler or 'local processes'}",
               disable=not progress)  # fmt: skip
    with open_executor(scheduler, workers) as ex:
        pending = {}
        for nb in notebooks:
            spec = {"paper": nb.paper, "notebook": nb.path.relative_to(paths.root()).as_posix(), "profile": profile,
                    "params": params, "threads": threads, "git_sha": sha}  # fmt: skip
            pending[ex.submit(run_notebook_task, spec)] = nb
        for future in cf.as_completed(pending):
            nb = pending[future]
            name = nb.path.relative_to(paths.root()).as_posix()
            try:
                result = future.result()
            except Exception:  # noqa: BLE001 - the task itself died (worker lost...): no files to keep
                result = {"run": None, "error": traceback.format_exc(), "files": {}, "worker": None}
            if result["error"] is None:
                stage = paths.staging_dir(nb.paper, nb.name, profile)
                _write_tree(stage, result["files"])
                runner.promote(nb.paper, stage, profile)
                worker = _worker_name(result["worker"])
                runs.append(dict(result["run"], output=str(nb.output_path(profile)), staging=str(stage),
                                 worker=worker, threads=result["threads"]))  # fmt: skip
            else:
                kept = paths.failed_dir(nb.paper, nb.name, profile)
                result["error"] = result["error"].replace("<results>", str(paths.results_root()))
                if result["files"]:
                    _write_tree(kept, result["files"])
                failures.append({"notebook": name, "worker": _worker_name(result["worker"]),
                                 "kept": str(kept) if result["files"] else None, "error": result["error"]})  # fmt: skip
            bar.update()
    bar.close()
    if failures:
        raise NotebookFailures(runs, failures)
    return runs


def cmd_reproduce(args) -> int:
    """The ``genxai reproduce --scheduler`` branch of the command line."""
    from . import runner
    from .cli import _parse_params

    if args.reference:
        raise runner.ParameterError(
            "--reference runs locally (the references are this machine's smoke runs): drop --scheduler"
        )
    failed = None
    try:
        runs = reproduce_on_cluster(
            args.scheduler, args.paper, args.profile, args.workers, _parse_params(args.param), notebook=args.notebook
        )
    except NotebookFailures as err:
        runs, failed = err.runs, err
    for r in runs:
        print(f"{r['notebook']}: {r['seconds']} s on {r['worker']} ({r['threads']} thread(s)) -> {r['output']}")
    if runs:
        print(f"manifest: {runner.manifest_path(args.profile)}")
        print(runner.summary(sorted({Path(r["notebook"]).parent.name for r in runs}), args.profile))
    if failed is not None:
        raise failed  # the command line reports it and exits with status 1
    return 0
