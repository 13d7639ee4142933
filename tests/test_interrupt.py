"""Stop signals end a command as Ctrl-C does: promptly, nothing left behind, 128 + signal.

In-process: ``sensors.interrupt`` itself, ``atomic_output`` under it, and a Ceres solve stopped
between iterations. End to end: ``steadyrig stabilize`` and ``steadyrig stitch`` subprocesses
receive SIGTERM, SIGHUP or SIGINT while they run.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyceres
import pytest

from sensors.atomic import atomic_output
from sensors.interrupt import (
    HARD_EXIT_AFTER,
    Interrupted,
    deferred,
    describe,
    exit_code,
    handle_signals,
    requested,
)
from stitch.ceres_solve import solve

CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}
NAMES = [signal.Signals(s).name for s in CODES]


def _signal_self(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(1.0)  # the handler runs in the main thread at the next bytecode, well before


@pytest.mark.parametrize("signum", list(CODES), ids=NAMES)
def test_a_stop_signal_raises_a_keyboard_interrupt_carrying_it(signum):
    with handle_signals(), pytest.raises(Interrupted) as info:
        _signal_self(signum)
    assert isinstance(info.value, KeyboardInterrupt)
    assert info.value.signum == signum
    assert exit_code(info.value) == CODES[signum]
    assert describe(info.value).startswith(f"Interrupted ({signal.Signals(signum).name})")
    assert exit_code(KeyboardInterrupt()) == 130  # plain Ctrl-C


def test_previous_handlers_come_back_and_an_ignored_signal_stays_ignored():
    before = {s: signal.getsignal(s) for s in CODES}
    old_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with handle_signals():
            _signal_self(signal.SIGHUP)  # ignored: no exception
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, old_hup)
    assert {s: signal.getsignal(s) for s in CODES} == before


def test_atomic_output_removes_its_temporary_file_on_sigterm(tmp_path):
    dest = tmp_path / "out.bin"
    with handle_signals(), pytest.raises(Interrupted):
        with atomic_output(dest) as tmp:
            tmp.write_bytes(b"partial")
            assert tmp.exists()
            _signal_self(signal.SIGTERM)
    assert list(tmp_path.iterdir()) == []


def test_deferred_holds_a_signal_until_the_block_ends():
    with handle_signals(), pytest.raises(Interrupted) as info:
        with deferred():
            _signal_self(signal.SIGTERM)
            assert requested()  # recorded, not raised: a native loop polls this
            reached = True
    assert reached and info.value.signum == signal.SIGTERM


class _SlowValley(pyceres.CostFunction):
    """Rosenbrock residuals; sends SIGTERM to the process on evaluation ``signal_at``."""

    def __init__(self, signal_at: int):
        pyceres.CostFunction.__init__(self)
        self.set_num_residuals(2)
        self.set_parameter_block_sizes([2])
        self.calls, self.signal_at = 0, signal_at

    def Evaluate(self, parameters, residuals, jacobians):
        self.calls += 1
        if self.calls == self.signal_at:
            os.kill(os.getpid(), signal.SIGTERM)
        x, y = parameters[0]
        residuals[:] = [10.0 * (y - x * x), 1.0 - x]
        if jacobians is not None and jacobians[0] is not None:
            jacobians[0][:] = [-20.0 * x, 10.0, -1.0, 0.0]
        return True


def _solve_valley(cost: _SlowValley, summary: pyceres.SolverSummary) -> None:
    x = np.array([-1.2, 1.0])
    problem = pyceres.Problem()
    problem.add_residual_block(cost, None, [x])
    opts = pyceres.SolverOptions()
    opts.logging_type = pyceres.LoggingType.SILENT
    opts.max_num_iterations = 500
    # a small trust region walks down the valley in many short steps
    opts.initial_trust_region_radius = 1e-3
    opts.max_trust_region_radius = 1e-3
    solve(opts, problem, summary)


def test_a_ceres_solve_stops_at_the_end_of_the_iteration_the_signal_arrived_in():
    clean = pyceres.SolverSummary()
    _solve_valley(_SlowValley(signal_at=0), clean)  # no signal: how long the solve runs
    assert clean.num_successful_steps > 50
    cost, summary = _SlowValley(signal_at=10), pyceres.SolverSummary()
    with handle_signals(), pytest.raises(Interrupted):
        _solve_valley(cost, summary)
    assert summary.termination_type == pyceres.TerminationType.USER_FAILURE
    assert cost.calls - cost.signal_at <= 2  # at most the rest of that iteration
    assert summary.num_successful_steps < 10


_SLOW_CLEANUP = """
import sys, time
from sensors.atomic import atomic_output
from sensors.interrupt import Interrupted, handle_signals
with handle_signals(), atomic_output(sys.argv[1]) as tmp:
    tmp.write_bytes(b"partial")
    print(tmp, flush=True)
    try:
        time.sleep(60)
    except Interrupted:
        time.sleep(60)  # a clean-up that hangs
        raise
"""


def test_repeated_signals_end_a_hung_clean_up_and_still_remove_temporary_files(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_CLEANUP, str(tmp_path / "out.bin")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    try:
        tmp = Path(proc.stdout.readline().strip())
        assert tmp.exists()
        time.sleep(0.5)  # into the sleep of the try block
        for _ in range(1 + HARD_EXIT_AFTER):  # the first starts the clean-up, the rest wait
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
        assert proc.poll() is None and tmp.exists(), proc.communicate()
        proc.send_signal(signal.SIGTERM)  # one more: stop at once
        _, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143 and "again" in err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 10 s clip: several seconds of transcoding after the output's temporary file appears."""
    from sensors.synthetic import generate_clip

    c = generate_clip(tmp_path_factory.mktemp("interrupt_clip"), kind="walk", seed=4,
                      width=320, height=180, duration_s=10.0)
    return c


def _steadyrig() -> list[str]:
    exe = Path(sys.executable).with_name("steadyrig")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cli"]


def _stop_and_check(proc: subprocess.Popen, signum: int, out_dir: Path) -> None:
    t0 = time.monotonic()
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=3.0)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"still running 3 s after {signal.Signals(signum).name}")
    assert time.monotonic() - t0 < 3.0
    assert proc.returncode == CODES[signum], err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("Interrupted")]
    assert len(lines) == 1 and signal.Signals(signum).name in lines[0], err
    assert err.strip().splitlines()[-1] == lines[0]
    assert sorted(p.name for p in out_dir.iterdir()) == []


def _wait_for(cond, proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
    t_end = time.monotonic() + timeout_s
    while not cond():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < t_end, "the command never reached the expected stage"
        time.sleep(0.02)


@pytest.mark.parametrize("signum", list(CODES), ids=NAMES)
def test_stabilize_stops_on_a_signal_and_leaves_nothing(clip, tmp_path, signum):
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        _steadyrig() + ["stabilize", str(clip.video), "-o", str(out / "s.mp4"),
                        "--sidecar", str(out / "s.json"), "--offset-ms", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: any(out.glob(".s.*.part.mp4")), proc)  # transcoding has begun
        _stop_and_check(proc, signum, out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="module")
def rosette(tmp_path_factory):
    from stitch.synthetic import generate_rosette

    return generate_rosette(tmp_path_factory.mktemp("interrupt_rosette"), n_cameras=8,
                            width=640, height=480, seed=1)


def test_stitch_stops_on_sigterm_and_leaves_nothing(rosette, tmp_path):
    out, debug = tmp_path / "out", tmp_path / "debug"
    out.mkdir()
    proc = subprocess.Popen(
        _steadyrig() + ["stitch", str(rosette.rig_path), str(rosette.out_dir),
                        "-o", str(out / "pano.jpg"), "--report", str(out / "report.json"),
                        "--debug-dir", str(debug)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the overlaps are pictured once the layers are projected: refinement comes next
        _wait_for(lambda: any(debug.glob("02_before_overlap_*.png")), proc)
        _stop_and_check(proc, signal.SIGTERM, out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_a_batch_stopped_by_sigterm_leaves_no_partial_output_and_a_rerun_resumes(tmp_path):
    from stitch.batch import generate_batch, read_results, run_batch

    manifest = generate_batch(tmp_path, 2, n_cameras=4, width=320, height=240, hfov_deg=110.0,
                              seed=5, width_px=768, repair=False, refine=False)
    out = tmp_path / "panoramas"

    def stop_after_the_first(progress):
        _signal_self(signal.SIGTERM)

    with handle_signals(), pytest.raises(Interrupted):
        run_batch(manifest, workers=1, progress=stop_after_the_first)
    assert not [p.name for p in out.iterdir() if ".part" in p.name]
    assert len(read_results(tmp_path / "manifest.results.jsonl")) == 1
    summary = run_batch(manifest, workers=1)
    # the finished job is skipped (a job still running at the signal may have finished too)
    assert summary.n_failed == 0 and summary.n_skipped >= 1
    assert summary.n_done + summary.n_skipped == 2
    assert sorted(p.name for p in out.glob("*.jpg")) == ["job00.jpg", "job01.jpg"]
