"""A private one-node SLURM cluster for the tests: munged, slurmctld and slurmd on localhost.

Everything it writes (its ``slurm.conf``, munge key and socket, state, spool, log and pid files)
is under one folder; it listens on ports of its own, and :meth:`Cluster.stop` ends the three
daemons by process id. The client commands (``sbatch``, ``squeue``, ``scontrol``, ``sinfo``) find
it through ``SLURM_CONF`` in :attr:`Cluster.env`. Needs root (slurmd starts jobs as their user)
and Debian's ``slurm-wlm`` and ``munge`` (``make test`` installs them).

The job states are read with ``scontrol show job`` (SLURM keeps finished jobs for
``MinJobAge`` seconds): no accounting database, no ``sacct``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "sinfo", "scancel")
PARTITION = "lab"
FINISHED = {
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
}


class ClusterError(RuntimeError):
    """The cluster did not start, or a job did not finish in time (with the daemons' logs)."""


def missing_tools() -> list[str]:
    return [tool for tool in (*DAEMONS, *CLIENTS) if shutil.which(tool) is None]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on localhost (bound together, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def machine_memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterError("no MemTotal in /proc/meminfo")


def slurm_conf(root: Path, node: str, cpus: int, memory_mb: int, ports: list[int]) -> str:
    """A minimal configuration: one node with this machine's CPUs and memory, one partition,
    no cgroups (``proctrack/linuxproc``, ``task/none``), no accounting."""
    return f"""\
ClusterName=optreg-test
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
PlugStackConfig={root}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobContainerType=job_container/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU={memory_mb // cpus}
SchedulerType=sched/builtin
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=900
KillWait=20
InactiveLimit=0
SlurmctldDebug=info
SlurmdDebug=info
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class Cluster:
    root: Path
    node: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    memory_mb: int = field(default_factory=lambda: int(machine_memory_mb() * 0.9))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """This environment with ``SLURM_CONF`` pointing at the cluster (and no SLURM job
        variables of an enclosing job)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        return {**env, "SLURM_CONF": str(self.conf)}

    # ------------------------------------------------------------------ start, stop
    def start(self, timeout: float = 60) -> Cluster:
        for folder in ("munge", "state", "spool", "run", "log"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "munge").chmod(0o755)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        (self.root / "plugstack.conf").write_text("")
        self.conf.write_text(
            slurm_conf(self.root, self.node, self.cpus, self.memory_mb, free_ports(2))
        )
        munge = self.root / "munge"
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--key-file={key}",
                f"--socket={munge}/munge.socket",
                f"--pid-file={munge}/munged.pid",
                f"--log-file={self.root}/log/munged.log",
                f"--seed-file={munge}/munged.seed",
            ],
        )
        self._wait_for(lambda: (munge / "munge.socket").exists(), timeout, "munged's socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf)])
        self._wait_for(lambda: self.node_state() == "idle", timeout, "the node to be idle")
        return self

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.root / "log" / f"{name}.stdout").open("w")
        self.processes[name] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.root
        )

    def _wait_for(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.processes.items() if p.poll() is not None]
            if dead:
                raise ClusterError(f"{dead} exited while waiting for {what}\n{self.logs()}")
            if condition():
                return
            time.sleep(0.2)
        raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.logs()}")

    def stop(self) -> None:
        """Cancel what still runs, then end slurmd, slurmctld and munged by their pids."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            jobs = self.client("squeue", "-h", "-o", "%A", check=False).stdout.split()
            if jobs:
                self.client("scancel", *jobs, check=False)
                deadline = time.monotonic() + 30
                while (
                    time.monotonic() < deadline
                    and self.client("squeue", "-h", "-o", "%A", check=False).stdout.split()
                ):
                    time.sleep(0.5)
        for name in reversed(DAEMONS):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self, tail: int = 40) -> str:
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            lines = path.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    # ------------------------------------------------------------------ clients
    def client(
        self, *command: str, check: bool = True, cwd: Path | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            command, env=self.env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise ClusterError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result

    def node_state(self) -> str:
        result = self.client("sinfo", "-h", "-n", self.node, "-o", "%T", check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    def jobs(self, job_id: str) -> list[dict[str, str]]:
        """``scontrol show job`` of a job (every task of an array): one dict per job."""
        text = self.client("scontrol", "show", "job", "-o", job_id).stdout
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in text.splitlines() if line]

    def wait(self, job_id: str, timeout: float, states=FINISHED) -> list[dict[str, str]]:
        """Poll until every job of ``job_id`` is in ``states``; their records, by task."""
        deadline = time.monotonic() + timeout
        records: list[dict[str, str]] = []
        while time.monotonic() < deadline:
            records = self.jobs(job_id)
            if records and all(r["JobState"] in states for r in records):
                return sorted(records, key=lambda r: int(r.get("ArrayTaskId") or 0))
            time.sleep(0.5)
        summary = [
            (r.get("JobId"), r.get("ArrayTaskId"), r.get("JobState"), r.get("Reason"))
            for r in records
        ]
        raise ClusterError(
            f"job {job_id} not finished after {timeout:.0f} s: {summary}\n{self.logs()}"
        )
