"""``optreg lab slurm SWEEP.yaml``: an ``sbatch`` job array with one task per configuration.

The script follows the slides' ``launcher.sh``: ``#SBATCH`` resource lines (one GPU, some CPU
cores, a time limit, per-task log files named ``%x_%A_%a`` = job name, array job id, task id),
then the environment (modules, virtual environment, data location), then the training command.
Array task ``i`` runs configuration ``i`` of ``optreg lab sweep SWEEP.yaml`` (which lists them).
Submit the script from the folder you generated it in: its paths are relative to that folder.
With ``nodes`` or ``tasks_per_node`` above 1, ``srun`` starts that many processes per array task
(one per node, or one per GPU of a node); they train the configuration together
(``MultiWorkerMirroredStrategy``, see ``optreg.lab.distribute``), so the results folder must be
on a file system all nodes share.

Preemption and time limits: ``--signal=USR1@signal_grace`` warns the training that many seconds
before the time limit; it finishes its epoch, checkpoints and exits with status 75, on which the
script requeues the task (``--requeue``), which then resumes. ``scontrol requeue`` or a
preempting job send ``SIGTERM``, answered the same way. Logs are appended to, so the log of a
requeued task holds all its attempts. A task that fails otherwise writes ``failed.json`` (task,
job, exit status, log files) into its run folder, and ``optreg lab report`` lists it.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from optreg._validation import check_int
from optreg.lab.resume import EXIT_PREEMPTED
from optreg.lab.state import FAILED_FILE
from optreg.lab.sweep import expand, load_sweep

DEFAULTS: dict[str, Any] = {
    "time": "00:30:00",
    "cpus_per_task": 8,
    "gpus": 1,
    "nodes": 1,
    "mem": None,
    "partition": None,
    "account": None,
    "qos": None,
    "max_parallel": None,
    "modules": [],
    "venv": None,
    "setup": [],
    "data_dir": None,
    "logs": "logs",
    "tasks_per_node": 1,
    "signal_grace": 120,
}
# written by the job script's printf (not Python: the failure may be a broken environment)
FAILED_RECORD = (
    '{"task": %s, "job": "%s", "run": "%s", "exit_code": %s, "node": "%s", '
    '"logs": ["%s.out", "%s.err"]}\\n'
)


def _shell_path(path: Any) -> str:
    """A quoted path for the script; a leading ``~/`` becomes ``$HOME/`` (quotes stop ``~``)."""
    text = str(path)
    if text.startswith("~/"):
        return '"$HOME"/' + shlex.quote(text[2:])
    return shlex.quote(text)


def sbatch_script(
    sweep_path: str | Path, results: str | Path = "results", smoke: bool = False, **overrides: Any
) -> str:
    """The text of the job-array script; ``overrides`` replace the sweep's ``slurm`` section;
    ``smoke`` runs the sweep's smoke settings."""
    sweep = load_sweep(sweep_path)
    runs = expand(sweep, smoke=smoke)
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown slurm setting(s) {unknown}; allowed: {sorted(DEFAULTS)}")
    bad = sorted(set(sweep.slurm) - set(DEFAULTS))
    if bad:
        raise ValueError(
            f"{sweep_path}: unknown slurm setting(s) {bad}; allowed: {sorted(DEFAULTS)}"
        )
    s = {**DEFAULTS, **sweep.slurm, **{k: v for k, v in overrides.items() if v is not None}}
    check_int("cpus_per_task", s["cpus_per_task"], 1)
    check_int("gpus", s["gpus"], 0)
    nodes = check_int("nodes", s["nodes"], 1)
    tasks = check_int("tasks_per_node", s["tasks_per_node"], 1)
    grace = check_int("signal_grace", s["signal_grace"], 1)
    last = len(runs) - 1
    array = f"0-{last}" + (
        f"%{check_int('max_parallel', s['max_parallel'], 1)}" if s["max_parallel"] else ""
    )
    logs = s["logs"]
    lines = [
        "#!/bin/bash",
        f"# Job array for the sweep {sweep.name!r}: {len(runs)} configurations, one per task.",
        f"# Written by: optreg lab slurm {sweep_path}",
        f"# Submit with: sbatch {{this file}}   (the folder {logs}/ must exist; it was created)",
        f"# Follow with: squeue -u $USER; then: optreg lab report {Path(results) / sweep.name}",
        f"#SBATCH --job-name={sweep.name}",
        f"#SBATCH --array={array}",
        f"#SBATCH --nodes={nodes}",
        # srun starts one training process per task; several train together
        # (MultiWorkerMirroredStrategy), each using all GPUs of its node or its share of them
        f"#SBATCH --ntasks={tasks}" if nodes == 1 else f"#SBATCH --ntasks-per-node={tasks}",
        f"#SBATCH --cpus-per-task={s['cpus_per_task']}",
    ]
    if s["gpus"]:
        lines.append(f"#SBATCH --gres=gpu:{s['gpus']}")
    lines.append(f"#SBATCH --time={s['time']}")
    for option in ("mem", "partition", "account", "qos"):
        if s[option]:
            lines.append(f"#SBATCH --{option}={s[option]}")
    lines += [
        f"#SBATCH --output={logs}/%x_%A_%a.out",
        f"#SBATCH --error={logs}/%x_%A_%a.err",
        "#SBATCH --open-mode=append  # a requeued task adds to its logs",
        "#SBATCH --requeue",
        f"#SBATCH --signal=USR1@{grace}  # checkpoint and requeue before the time limit",
        "",
        "set -eo pipefail  # stop at the first error (no -u: module and activate scripts)",
        'cd "${SLURM_SUBMIT_DIR:-.}"  # relative paths below are relative to where you submit',
    ]
    if s["modules"]:
        lines += ["module purge", *(f"module load {shlex.quote(m)}" for m in s["modules"])]
    if s["venv"]:
        lines.append(f"source {_shell_path(s['venv'])}/bin/activate")
    lines += list(s["setup"])
    if s["data_dir"]:
        lines.append(f"export FASHION_MNIST_DIR={_shell_path(s['data_dir'])}")
    lines += [
        "export TF_CPP_MIN_LOG_LEVEL=2",
        "",
        "# task -> configuration",
        "RUNS=(",
        *(f"  {name}  # {i}" for i, (name, _) in enumerate(runs)),
        ")",
        'RUN="${RUNS[$SLURM_ARRAY_TASK_ID]}"',
        f'LOG="$PWD/{logs}/${{SLURM_JOB_NAME}}_${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"',
        'echo "task $SLURM_ARRAY_TASK_ID ($RUN) of job $SLURM_ARRAY_JOB_ID on $(hostname),'
        ' start ${SLURM_RESTART_COUNT:-0}"',
        "nvidia-smi --query-gpu=name,memory.total --format=csv || true",
        "status=0",
        f"srun optreg lab sweep {_shell_path(sweep_path)} --local --results "
        f'{_shell_path(results)} --index "$SLURM_ARRAY_TASK_ID"'
        + (" --smoke" if smoke else "")
        + " || status=$?",
        f'if [ "$status" -eq {EXIT_PREEMPTED} ]; then  # checkpointed on a signal: resume later',
        '  scontrol requeue "$SLURM_JOB_ID"',
        "  exit 0",
        'elif [ "$status" -ne 0 ]; then  # for optreg lab report: which task failed, its logs',
        f'  OUT={_shell_path(Path(results) / sweep.name)}/"$RUN"',
        '  mkdir -p "$OUT"',
        f"  printf {shlex.quote(FAILED_RECORD)} \\",
        '    "$SLURM_ARRAY_TASK_ID" "$SLURM_ARRAY_JOB_ID" "$RUN" "$status" "$(hostname)" "$LOG"'
        f' "$LOG" > "$OUT/{FAILED_FILE}"',
        "fi",
        'exit "$status"',
        "",
    ]
    return "\n".join(lines)


def write_sbatch(
    sweep_path: str | Path,
    script: str | Path | None = None,
    results: str | Path = "results",
    smoke: bool = False,
    **overrides: Any,
) -> Path:
    """Write the script (default ``launch_<sweep name>[_smoke].sh`` here) and create its log
    folder."""
    text = sbatch_script(sweep_path, results, smoke=smoke, **overrides)
    name = load_sweep(sweep_path).name + ("_smoke" if smoke else "")
    script = Path(script) if script else Path(f"launch_{name}.sh")
    script.write_text(text.replace("{this file}", str(script)))
    script.chmod(0o755)
    given = {k: v for k, v in overrides.items() if v is not None}
    logs = {**DEFAULTS, **load_sweep(sweep_path).slurm, **given}["logs"]
    (script.parent / logs).mkdir(parents=True, exist_ok=True)
    return script
