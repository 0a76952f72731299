"""The labs on a real SLURM cluster: munged, slurmctld and slurmd of Debian's ``slurm-wlm`` on
this machine (``tests/slurm_cluster.py`` starts a private one), driven by the commands of
``book/labs/cluster.md``, which the tests read from that page and run through real ``sbatch``,
``squeue``, ``scancel`` and ``scontrol`` (no ``sacct``: job states come from ``scontrol``).

Tiny runs (a few hundred images, one to six short epochs), so that the whole file takes about
three minutes on two loaded cores. The cluster is shared by the tests of this file and stopped
at the end by process id.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml

from optreg.lab.config import TrainConfig
from optreg.lab.report import load_failures
from optreg.lab.state import MODEL_FILE, read_metrics
from optreg.lab.sweep import expand, load_sweep
from optreg.lab.train import register_components, train

sys.path.insert(0, str(Path(__file__).parent))
from slurm_cluster import PARTITION, Cluster, ClusterError, missing_tools  # noqa: E402
from write_audit import HOOK, read_writes  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLUSTER_PAGE = REPO / "book" / "labs" / "cluster.md"
BLOCK = re.compile(r"```\{code-block\} bash\n:class: optreg-cluster-([\w-]+)\n(.*?)```", re.S)
TESTED_BLOCKS = {"smoke", "sweep", "preempt", "multiworker"}  # "setup" is the site's part

TINY = dict(hidden_units=[16], subset=256, validation_size=500, batch_size=64, target_accuracy=0.2)
# one CPU per task (the node has the machine's CPUs), no GPU; the time limit is a safety net
SLURM_SECTION = {"cpus_per_task": 1, "gpus": 0, "time": "00:10:00", "max_parallel": 2}
JOB_TIMEOUT = 150  # seconds for any one job to finish on a loaded machine


def page_blocks() -> dict[str, list[str]]:
    """The command lines of each ``optreg-cluster-*`` code block of the cluster page."""
    blocks: dict[str, list[str]] = {}
    for name, body in BLOCK.findall(CLUSTER_PAGE.read_text()):
        assert name not in blocks, f"two blocks optreg-cluster-{name}"
        blocks[name] = [line for line in body.splitlines() if line.strip()]
    return blocks


# ---------------------------------------------------------------------------- the cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    missing = missing_tools()
    assert not missing, (
        f"SLURM tools {missing} not found: install Debian's slurm-wlm and munge "
        "(make system-deps does)"
    )
    assert os.geteuid() == 0, "slurmd must run as root to start jobs (CI runs as root)"
    running = Cluster(tmp_path_factory.mktemp("slurm")).start()
    try:
        yield running
    finally:
        running.stop()
    assert all(p.poll() is not None for p in running.processes.values())


class Page:
    """Runs the cluster page's blocks in a work folder, the placeholders set to this cluster."""

    def __init__(self, cluster: Cluster, work: Path, sweep: Path, **variables: str):
        self.cluster, self.work = cluster, work
        bin_dir = str(Path(sys.executable).parent)  # optreg of this environment
        self.env = {
            **cluster.env,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "ACCOUNT": "course-account",
            "PARTITION": PARTITION,
            "SWEEP": str(sweep),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "KERAS_BACKEND": "tensorflow",
            "OPENBLAS_NUM_THREADS": "1",
            **variables,
        }
        self.job: str | None = None
        self.outputs: dict[str, str] = {}

    def run(self, line: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["bash", "-c", line],
            env=self.env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.outputs[line] = result.stdout + result.stderr
        if check:
            assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
        if line.startswith("sbatch "):
            self.job = re.fullmatch(r"Submitted batch job (\d+)\s*", result.stdout).group(1)
        return result

    def run_block(self, name: str, until: str | None = None, **waits) -> None:
        """Every line of the block in order; after ``squeue``, wait until the job is done."""
        for line in page_blocks()[name]:
            if until and line.startswith(until):
                return
            self.run(line)
            if line.startswith("squeue"):
                self.records = self.cluster.wait(self.job, JOB_TIMEOUT, **waits)


def write_sweep(path: Path, **spec) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_config(sweep: Path, index: int = 0, smoke: bool = False) -> TrainConfig:
    return expand(load_sweep(sweep), smoke=smoke)[index][1]


# ---------------------------------------------------------------------------- the page


def test_the_cluster_page_has_the_blocks_these_tests_run():
    blocks = page_blocks()
    assert set(blocks) == TESTED_BLOCKS | {"setup"}
    # the site-specific part only sets up the environment, with the placeholders it names
    setup = "\n".join(blocks["setup"])
    for placeholder in ("PYTHON_MODULE", "YOUR_ACCOUNT", "YOUR_PARTITION"):
        assert placeholder in setup
    assert all(
        line.split()[0] in {"module", "python", "pip", "optreg", "export"}
        for line in blocks["setup"]
    )
    for name in ("smoke", "sweep", "multiworker"):
        lines = blocks[name]
        assert lines[0].startswith("optreg lab slurm") and '--account "$ACCOUNT"' in lines[0]
        assert '--partition "$PARTITION"' in lines[0]
        assert [line.split()[0] for line in lines[1:]] == ["sbatch", "squeue", "optreg"]


# ---------------------------------------------------------------------------- a smoke sweep


def test_smoke_sweep_runs_as_a_throttled_job_array_and_reports(cluster, tmp_path):
    sweep = write_sweep(
        tmp_path / "mini.yaml",
        name="mini",
        base={**TINY, "epochs": 3},
        smoke={"epochs": 1},
        grid={"optimizer": ["sgd", "adam", "rmsprop"]},
        slurm=SLURM_SECTION,
    )
    page = Page(cluster, tmp_path, sweep)
    print(cluster.client("sinfo").stdout)
    page.run_block("smoke", until="optreg lab report")
    print(next(out for line, out in page.outputs.items() if line.startswith("squeue")))
    records = page.records
    assert [r["ArrayTaskId"] for r in records] == ["0", "1", "2"]
    assert all(r["JobState"] == "COMPLETED" and r["ExitCode"] == "0:0" for r in records)
    assert {r["ArrayTaskThrottle"] for r in records} == {"2"}
    assert all(r["Partition"] == PARTITION and r["Account"] == "course-account" for r in records)
    # the throttle held: never more than two tasks at once (their run times do not overlap 3)
    starts, ends = zip(
        *[(_seconds(r["StartTime"]), _seconds(r["EndTime"])) for r in records], strict=True
    )
    assert max(starts) >= min(ends)
    page.run(page_blocks()["smoke"][-1])
    report = page.outputs[page_blocks()["smoke"][-1]]
    rows = [line for line in report.splitlines() if line.startswith("| optimizer-")]
    assert sorted(row.split(" | ")[0] for row in rows) == [
        "| optimizer-adam",
        "| optimizer-rmsprop",
        "| optimizer-sgd",
    ]
    for name, config in expand(load_sweep(sweep), smoke=True):
        metrics = read_metrics(tmp_path / "smoke-results" / "mini" / name)
        assert metrics["completed"] and metrics["config"] == config.to_dict()
        assert len(metrics["history"]) == 1
    logs = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert logs == [f"mini_{page.job}_{i}.{ext}" for i in range(3) for ext in ("err", "out")]
    assert (
        "task 2 (optimizer-rmsprop)" in (tmp_path / "logs" / f"mini_{page.job}_2.out").read_text()
    )


def _seconds(stamp: str) -> float:
    return time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S"))


# ---------------------------------------------------------------------------- preemption


def test_preempted_task_checkpoints_requeues_and_matches_an_uninterrupted_run(cluster, tmp_path):
    """One task is warned as before its time limit (``scancel --signal=USR1``, what
    ``--signal=USR1@120`` does), then requeued (``scontrol requeue``, SIGTERM). Each time it
    finishes its epoch, checkpoints and stops; it resumes and ends as a run never interrupted:
    same global batches and data order, same optimizer state, so the same numbers."""
    sweep = write_sweep(
        tmp_path / "long.yaml",
        name="long",
        base={**TINY, "subset": 2048, "batch_size": 16, "epochs": 8, "dropout": 0.2, "seed": 5},
        grid={"optimizer": ["nesterov"]},
        slurm=SLURM_SECTION,
    )
    config = run_config(sweep)
    out = tmp_path / "results" / "long" / "optimizer-nesterov"
    page = Page(cluster, tmp_path, sweep)
    page.run_block("sweep", until="squeue")
    page.env["JOBID"] = page.job
    warn, requeue = page_blocks()["preempt"]
    for signal_line, signal_name, interruption in ((warn, "SIGUSR1", 1), (requeue, "SIGTERM", 2)):
        _wait_for_epochs(cluster, page.job, out, interruption)
        page.run(signal_line)
        cluster.wait(page.job, JOB_TIMEOUT, states={"PENDING"})
        metrics = read_metrics(out)
        assert len(metrics["preemptions"]) == interruption
        assert metrics["preemptions"][-1]["signal"] == signal_name
        assert metrics["epochs_completed"] == metrics["preemptions"][-1]["after_epoch"] < 8
        # SLURM holds a requeued job back for a while (BeginTime); once the requeue is
        # complete (the node released it: reason BeginTime), start it now
        deadline = time.monotonic() + 60
        while cluster.jobs(page.job)[0].get("Reason") != "BeginTime":
            assert time.monotonic() < deadline, cluster.jobs(page.job)
            time.sleep(0.2)
        time.sleep(1)
        cluster.client("scontrol", "update", f"JobId={page.job}", "StartTime=now")
    reference = train(config, tmp_path / "uninterrupted", verbose=0)  # meanwhile, here
    (record,) = cluster.wait(page.job, JOB_TIMEOUT)
    assert record["JobState"] == "COMPLETED" and record["Restarts"] == "2"
    resumed = read_metrics(out)
    assert resumed["completed"] and [h["epoch"] for h in resumed["history"]] == list(range(1, 9))
    stops = [p["after_epoch"] for p in resumed["preemptions"]]
    log = (tmp_path / "logs" / f"long_{page.job}_0.out").read_text()
    for start, first in enumerate([1, stops[0] + 1, stops[1] + 1]):
        assert f"start {start}" in log and f"epochs {first}..8" in log
    assert "stopped by SIGUSR1" in (tmp_path / "logs" / f"long_{page.job}_0.err").read_text()
    # tolerance: float32 round-off (the same operations in the same order give equal numbers)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(
            [h[key] for h in resumed["history"]],
            [h[key] for h in reference["history"]],
            rtol=1e-5,
            err_msg=key,
        )
    np.testing.assert_allclose(resumed["test_loss"], reference["test_loss"], rtol=1e-5)
    worst = max(
        abs(a[k] - b[k]) / abs(b[k])
        for a, b in zip(resumed["history"], reference["history"], strict=True)
        for k in ("loss", "val_loss")
    )
    print(
        f"resume after 2 preemptions (stops after epochs {stops}): max relative loss "
        f"difference {worst:.2e}, test loss {resumed['test_loss']:.6f} vs "
        f"{reference['test_loss']:.6f}"
    )


def _wait_for_epochs(cluster: Cluster, job: str, out: Path, more_than: int) -> None:
    """Until the running task has checkpointed at least one epoch since its last stop."""
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        metrics = read_metrics(out) if (out / "metrics.json").exists() else None
        stops = len(metrics.get("preemptions", [])) if metrics else 0
        last = metrics["preemptions"][-1]["after_epoch"] if stops else 0
        if metrics and stops == more_than - 1 and metrics["epochs_completed"] > last:
            assert cluster.jobs(job)[0]["JobState"] == "RUNNING"
            assert metrics["epochs_completed"] < 7, "the run should still have epochs to go"
            return
        time.sleep(0.1)
    raise ClusterError(f"no epoch checkpointed in {out}\n{cluster.logs()}")


# ---------------------------------------------------------------------------- two workers


def test_two_tasks_train_together_like_one_process_and_only_the_chief_writes(cluster, tmp_path):
    sweep = write_sweep(
        tmp_path / "duo.yaml",
        name="duo",
        base={**TINY, "epochs": 1, "seed": 3},
        grid={"optimizer": ["adam"]},
        slurm=SLURM_SECTION,
    )
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)  # audits every Python process of the job
    writes = tmp_path / "writes"
    writes.mkdir()
    page = Page(
        cluster,
        tmp_path,
        sweep,
        GPUS="0",
        PYTHONPATH=str(hook),
        WRITES_LOG=str(writes / "task{SLURM_PROCID}.jsonl"),
    )
    page.run_block("multiworker", until="optreg lab report")
    (record,) = page.records
    assert record["JobState"] == "COMPLETED", cluster.logs()
    assert record["NumTasks"] == "2" and record["NodeList"] == cluster.node
    out = tmp_path / "results" / "duo" / "optimizer-adam"
    metrics = read_metrics(out)
    assert metrics["completed"] and metrics["replicas"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "model.keras"]
    inside = str(out) + os.sep
    assert sorted(p.name for p in writes.iterdir()) == ["task0.jsonl", "task1.jsonl"]
    chief, other = (read_writes(writes / f"task{rank}.jsonl") for rank in (0, 1))
    assert any(path.startswith(inside) for _, path in chief)
    assert other and not [w for w in other if w[1].startswith(inside)]
    assert any(path.endswith(".keras") for _, path in other)  # into its own temporary folder

    reference = train(run_config(sweep).replace(strategy="none"), tmp_path / "one", verbose=0)
    assert reference["replicas"] == 1
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(
            [h[key] for h in metrics["history"]],
            [h[key] for h in reference["history"]],
            rtol=1e-5,
            err_msg=key,
        )
    register_components()
    two, one = (
        keras.models.load_model(path / MODEL_FILE).weights for path in (out, tmp_path / "one")
    )
    worst = max(float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in zip(two, one, strict=True))
    assert worst < 1e-5
    page.run(page_blocks()["multiworker"][-1])
    print(
        f"two SLURM tasks vs one process: max |weight difference| {worst:.2e}, "
        f"loss {metrics['history'][-1]['loss']:.7f} vs {reference['history'][-1]['loss']:.7f}"
    )


# ---------------------------------------------------------------------------- bad input


def test_an_invalid_sweep_is_refused_before_submission(cluster, tmp_path):
    sweep = write_sweep(
        tmp_path / "bad.yaml",
        name="bad",
        base=TINY,
        grid={"dropout": [0.1, 1.5]},
        slurm=SLURM_SECTION,
    )
    page = Page(cluster, tmp_path, sweep)
    jobs_before = cluster.client("squeue", "-h", "-o", "%A").stdout
    result = page.run(page_blocks()["sweep"][0], check=False)
    assert result.returncode == 2
    assert "run 'dropout-1.5'" in result.stderr and "dropout" in result.stderr
    assert not (tmp_path / "launch.sh").exists()
    assert cluster.client("squeue", "-h", "-o", "%A").stdout == jobs_before


def test_a_failed_task_is_named_in_the_report_with_its_log_files(cluster, tmp_path):
    sweep = write_sweep(
        tmp_path / "broken.yaml",
        name="broken",
        base={**TINY, "epochs": 1},
        grid={"optimizer": ["sgd"]},
        runs=[{"name": "no-data", "data_dir": str(tmp_path / "missing")}],
        slurm=SLURM_SECTION,
    )
    page = Page(cluster, tmp_path, sweep)
    page.run_block("sweep", until="optreg lab report")
    states = {r["ArrayTaskId"]: (r["JobState"], r["ExitCode"]) for r in page.records}
    assert states == {"0": ("COMPLETED", "0:0"), "1": ("FAILED", "2:0")}
    report_line = page_blocks()["sweep"][-1]
    page.run(report_line)
    err_log = tmp_path / "logs" / f"broken_{page.job}_1.err"
    expected = (
        f"FAILED: run no-data = array task 1 of job {page.job} (exit status 2 on "
        f"{cluster.node}); see {err_log} and {err_log.with_suffix('.out')}"
    )
    assert expected in page.outputs[report_line]
    assert "missing" in err_log.read_text() and "error:" in err_log.read_text()
    (failure,) = load_failures(tmp_path / "results")
    assert failure["run"] == "no-data" and failure["task"] == 1
    assert "| optimizer-sgd |" in page.outputs[report_line]
