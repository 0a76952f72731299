"""nbgrader preprocessors that make autograding survive hostile notebooks, and hide hidden tests.

* :class:`SafeExecute` (replaces nbgrader's ``Execute``): a dead kernel (``os.abort()``,
  ``exit()``, the memory limit) or one that ignores the timeout interrupt ends execution
  cleanly: that cell and every later one get an error output (so their tests score 0) instead
  of aborting the whole notebook; each cell's output is capped.
* :class:`StderrToStdout`: nbgrader gives 0 to a test cell that printed on stderr; warnings
  raised by a student's function inside a test must not cost points, so stderr text of graded
  cells is kept, relabelled as stdout.
* :class:`HideHiddenTests` (feedback): hidden test code removed from the test cells and error
  tracebacks reduced to the exception's type and message, so feedback shows pass/fail and the
  failure message, never hidden test source.
"""

from __future__ import annotations

from queue import Empty
from time import monotonic

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Integer

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class SafeExecute(Execute):
    """nbgrader's Execute, robust to kernels that die or hang (see the module docstring)."""

    max_output_chars = Integer(200_000, help="output kept per cell").tag(config=True)
    probe_timeout = Integer(10, help="seconds a kernel has to answer after an interrupt"
                            ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._fatal: str | None = None
        self._output_chars: dict[int, int] = {}
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError:  # died between cells or while shutting down
            return self.nb, self.resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._fatal:
            cell.outputs = [error_output("NotRun", self._fatal)]
            return cell, resources
        try:
            cell = self.execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            cell.outputs.append(error_output(
                "DeadKernelError", "the kernel died while running this cell (a crash, exit(), "
                "or the memory limit)"))
            self._fatal = "not run: the kernel died in an earlier cell"
        except CellTimeoutError as exc:
            cell.outputs.append(error_output("CellTimeoutError", str(exc).splitlines()[0]))
            self._stop_kernel("not run: an earlier cell did not stop after its timeout")
        else:
            timed_out = any(o.get("ename") == "CellTimeoutError" for o in cell.outputs
                            if o.output_type == "error")
            if timed_out and not run_sync(self._async_responsive)():
                self._stop_kernel("not run: an earlier cell ignored the timeout interrupt")
        return cell, resources

    def _stop_kernel(self, reason: str) -> None:
        self._fatal = reason
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # already gone
            pass

    async def _async_responsive(self) -> bool:
        """Does the kernel answer a trivial request within ``probe_timeout`` seconds?"""
        msg_id = self.kc.execute("", silent=True, store_history=False)
        deadline = monotonic() + self.probe_timeout
        while (left := deadline - monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                return False
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(str(content.get("text", ""))) + len(str(content.get("data", "")))
        used = self._output_chars.get(cell_index, 0)
        self._output_chars[cell_index] = used + size
        if used + size > self.max_output_chars:
            if used <= self.max_output_chars:
                outs.append(NotebookNode(output_type="stream", name="stdout",
                                         text="\n[output truncated by the grader]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)


class StderrToStdout(NbGraderPreprocessor):
    """Relabel stderr streams of graded cells as stdout (see the module docstring)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                    output.text = "[stderr] " + output.text
        return cell, resources


def strip_hidden(source: str) -> str:
    """Source without the hidden-test region (replaced by a one-line note)."""
    lines, out, hidden = source.splitlines(), [], False
    for line in lines:
        if BEGIN_HIDDEN in line:
            hidden = True
            out.append("# (hidden tests are not shown)")
        elif END_HIDDEN in line:
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def hidden_lines(source: str, min_length: int = 20) -> set[str]:
    """The (stripped, long enough) lines of the hidden-test region of a cell."""
    found, hidden = set(), False
    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            hidden = True
        elif END_HIDDEN in line:
            hidden = False
        elif hidden and len(line.strip()) >= min_length:
            found.add(line.strip())
    return found


class HideHiddenTests(NbGraderPreprocessor):
    """For feedback: test cells without hidden code, showing only pass/fail and the message.

    Student code runs in the same kernel as the hidden tests and could print their source, so
    feedback keeps no output of the student's own cells (they have them in their notebook),
    keeps of each test cell only its error (type and message, at most ``max_message`` chars,
    withheld if it quotes a hidden line), and drops tracebacks (they quote code).
    """

    max_message = Integer(400).tag(config=True)

    def preprocess(self, nb, resources):
        self._hidden: set[str] = set()
        for cell in nb.cells:
            self._hidden |= hidden_lines(cell.source)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if BEGIN_HIDDEN in cell.source:
            cell.source = strip_hidden(cell.source)
        if cell.cell_type != "code":
            return cell, resources
        if not is_grade(cell):
            cell.outputs = []
            return cell, resources
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type != "error":
                continue
            message = f"{output.ename}: {output.evalue}"
            if any(line in message for line in self._hidden):
                message = f"{output.ename}: [message withheld: it quotes hidden test code]"
            if len(message) > self.max_message:
                message = message[: self.max_message] + " [...]"
            output.evalue = message.split(": ", 1)[1] if ": " in message else ""
            output.traceback = [message]
            kept.append(output)
        cell.outputs = kept
        return cell, resources
