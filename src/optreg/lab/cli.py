"""``optreg lab train | sweep | slurm | report``: the labs from the command line.

Importing this module is cheap: TensorFlow loads only when a command trains.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from optreg.lab.config import (
    MODELS,
    NORMS,
    OPTIMIZER_NAMES,
    SCHEDULES,
    STRATEGIES,
    TrainConfig,
)

HELP = {
    "model": "mlp (784-300-100-10 by default) or a small cnn",
    "hidden_units": "hidden layer sizes of the MLP, e.g. --hidden-units 300 100",
    "optimizer": "optimizer name; momentum/nesterov are SGD with momentum 0.9",
    "learning_rate": "learning rate (the maximum for --schedule onecycle)",
    "schedule": "learning-rate schedule over the whole run",
    "find_lr": "run the learning-rate finder first and use its suggestion as learning rate",
    "momentum": "momentum of sgd/momentum/nesterov/rmsprop",
    "implementation": "optreg: the course's Keras twins; keras: the built-ins",
    "norm": "normalization after each hidden Dense layer",
    "dropout": "dropout rate after each hidden layer",
    "l1": "L1 penalty on every kernel",
    "l2": "L2 penalty on every kernel",
    "max_norm": "max-norm constraint on hidden kernels",
    "weight_decay": "decoupled weight decay of the optimizer (AdamW's is 0.004)",
    "augment": "random horizontal flips and shifts of the training images",
    "early_stopping": "stop after this many epochs without a better validation loss",
    "epochs": "number of epochs (a resumed run continues up to it)",
    "batch_size": "global batch size (split among GPUs)",
    "seed": "seed of initialization, dropout, validation split and data order",
    "subset": "train on this many images only (smoke runs)",
    "validation_size": "images held out of the training set for validation",
    "target_accuracy": "validation accuracy whose time to reach is reported",
    "mixed_precision": "compute in float16 (mixed_float16 policy; for GPUs)",
    "strategy": "distribution: auto picks multiworker (SLURM nodes), mirrored (GPUs) or none",
    "cpu_devices": "split the CPU into N logical devices (to try --strategy mirrored on a CPU)",
    "data_dir": "Fashion-MNIST directory (default: search, see optreg data check)",
}
CHOICES = {
    "model": MODELS,
    "optimizer": OPTIMIZER_NAMES,
    "schedule": SCHEDULES,
    "norm": NORMS,
    "strategy": STRATEGIES,
    "implementation": ("optreg", "keras"),
}


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        kwargs: dict = {"default": default, "help": HELP.get(f.name, "")}
        if isinstance(default, bool):
            kwargs["action"] = "store_true"
        elif f.name == "hidden_units":
            kwargs.update(nargs="+", type=int)
        elif f.name in CHOICES:
            kwargs["choices"] = CHOICES[f.name]
        elif f.name == "data_dir":
            pass
        elif isinstance(default, int) or f.name in ("early_stopping", "subset", "cpu_devices"):
            kwargs["type"] = int
        else:
            kwargs["type"] = float
        if not isinstance(default, bool):
            kwargs["help"] += f" (default: {default})"
        parser.add_argument(flag, **kwargs)


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    return TrainConfig.from_dict({name: getattr(args, name) for name in names})


def _cmd_train(args: argparse.Namespace) -> int:
    from optreg.lab.resume import EXIT_PREEMPTED, Preempted
    from optreg.lab.train import train

    try:
        config = _config_from_args(args)
        train(config, args.out, verbose=0 if args.quiet else None, fresh=args.fresh)
    except Preempted as exc:
        print(f"preempted: {exc}", file=sys.stderr, flush=True)
        return EXIT_PREEMPTED
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from optreg.lab.resume import EXIT_PREEMPTED, Preempted
    from optreg.lab.sweep import expand, load_sweep, run_sweep

    try:
        sweep = load_sweep(args.sweep)
        runs = expand(sweep, smoke=args.smoke)
        if not (args.local or args.index is not None):
            print(
                f"{sweep.name}: {len(runs)} configurations (run them with --local here, or "
                f"on a cluster with: optreg lab slurm {args.sweep})"
            )
            for i, (name, config) in enumerate(runs):
                print(
                    f"{i:3d}  {name}\n     optreg lab train {' '.join(config.to_argv())} "
                    f"--out {args.results}/{sweep.name}/{name}"
                )
            return 0
        run_sweep(
            args.sweep,
            args.results,
            smoke=args.smoke,
            index=args.index,
            verbose=0 if args.quiet else None,
        )
    except Preempted as exc:
        print(f"preempted: {exc}", file=sys.stderr, flush=True)
        return EXIT_PREEMPTED
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_slurm(args: argparse.Namespace) -> int:
    from optreg.lab.slurm import write_sbatch

    try:
        script = write_sbatch(
            args.sweep,
            args.script,
            args.results,
            smoke=args.smoke,
            time=args.time,
            partition=args.partition,
            account=args.account,
            qos=args.qos,
            cpus_per_task=args.cpus_per_task,
            gpus=args.gpus,
            nodes=args.nodes,
            tasks_per_node=args.ntasks_per_node,
            max_parallel=args.max_parallel,
            venv=args.venv,
            signal_grace=args.signal_grace,
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {script}; submit it with: sbatch {script}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from optreg.lab.report import write_report

    try:
        report = write_report(args.results, args.out, args.target)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(report.read_text())
    print(f"wrote {report} and its figures")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``optreg lab`` and its four actions to the ``optreg`` command."""
    p_lab = subparsers.add_parser("lab", help="train, sweep, submit to SLURM, report")
    actions = p_lab.add_subparsers(dest="lab_command", metavar="ACTION")

    p_train = actions.add_parser("train", help="train one configuration (resumable)")
    _add_config_arguments(p_train)
    p_train.add_argument("--out", required=True, help="output folder (metrics.json, model)")
    p_train.add_argument("--fresh", action="store_true", help="discard what --out holds")
    p_train.add_argument("--quiet", action="store_true", help="no progress output")
    p_train.set_defaults(func=_cmd_train)

    p_sweep = actions.add_parser("sweep", help="list a sweep's configurations, or run them")
    p_sweep.add_argument("sweep", help="sweep YAML file")
    p_sweep.add_argument("--local", action="store_true", help="run them here, one by one")
    p_sweep.add_argument("--index", type=int, default=None, help="run only configuration i")
    p_sweep.add_argument("--smoke", action="store_true", help="apply the sweep's smoke settings")
    p_sweep.add_argument("--results", default="results", help="results folder")
    p_sweep.add_argument("--quiet", action="store_true", help="no progress output")
    p_sweep.set_defaults(func=_cmd_sweep)

    p_slurm = actions.add_parser("slurm", help="write an sbatch job array for a sweep")
    p_slurm.add_argument("sweep", help="sweep YAML file")
    p_slurm.add_argument(
        "--script", default=None, help="output (default launch_NAME.sh, launch_NAME_smoke.sh)"
    )
    p_slurm.add_argument("--results", default="results", help="results folder on the cluster")
    p_slurm.add_argument("--time", default=None, help="time limit per task, e.g. 00:30:00")
    p_slurm.add_argument("--partition", default=None)
    p_slurm.add_argument("--account", default=None)
    p_slurm.add_argument("--qos", default=None)
    p_slurm.add_argument("--cpus-per-task", type=int, default=None)
    p_slurm.add_argument("--gpus", type=int, default=None, help="GPUs per node (default 1)")
    p_slurm.add_argument(
        "--nodes",
        type=int,
        default=None,
        help="nodes per configuration, trained together (default 1)",
    )
    p_slurm.add_argument(
        "--ntasks-per-node",
        type=int,
        default=None,
        help="training processes per node, e.g. one per GPU (default 1)",
    )
    p_slurm.add_argument(
        "--max-parallel", type=int, default=None, help="at most this many tasks at once"
    )
    p_slurm.add_argument(
        "--signal-grace",
        type=int,
        default=None,
        help="seconds before the time limit at which training checkpoints "
        "and requeues itself (default 120)",
    )
    p_slurm.add_argument("--smoke", action="store_true", help="the sweep's smoke settings")
    p_slurm.add_argument("--venv", default=None, help="virtual environment to activate")
    p_slurm.set_defaults(func=_cmd_slurm)

    p_report = actions.add_parser("report", help="plots and a Markdown table of results")
    p_report.add_argument("results", help="folder searched for metrics.json files")
    p_report.add_argument("--out", default=None, help="where to write (default: results)")
    p_report.add_argument(
        "--target", type=float, default=None, help="target validation accuracy of the table"
    )
    p_report.set_defaults(func=_cmd_report)
    p_lab.set_defaults(func=lambda args: (p_lab.print_help(), 2)[1])
