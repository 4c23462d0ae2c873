"""Maximum-likelihood fits that never return a failed estimate: attempts, fallbacks and time limits.

Shared by the purchase models (:mod:`ecrm_lib.value.btyd`) and the spend model
(:mod:`ecrm_lib.value.spend`). A fit runs a plan of attempts
(:func:`attempt_plan`): the requested settings first, then each of
:data:`DEFAULT_FALLBACKS`; the first attempt that converges to finite, positive
parameters is used, and every attempt is recorded (:func:`run_attempts`). When
all fail, :class:`ModelFitError` says what each attempt did.

What a reader sees is worded through the message catalogue (``fit.*``): the
error's :meth:`ModelFitError.in_language` (its ``str()`` stays the detailed
English text for logs), and an attempts table through :func:`attempts_in_language`
(status, starting point and why an attempt failed, from the exception's kind).
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecrm_lib.core.errors import EcrmError
from ecrm_lib.core.i18n import WordedError, t

__all__ = [
    "DEFAULT_FALLBACKS",
    "DEFAULT_TIME_LIMIT",
    "DEFAULT_TOL",
    "ConvergenceError",
    "ModelFitError",
    "NonFiniteParams",
    "REASONS",
    "attempt_plan",
    "attempt_reason",
    "attempts_in_language",
    "format_params",
    "log_parameter_covariance",
    "numerical_hessian",
    "params_table",
    "quiet",
    "run_attempts",
]

#: What a fit tries, in order, after the requested settings fail (a
#: ``ConvergenceError``, a numerical error, or NaN or infinite parameters).
#: Each entry overrides the requested settings: ``start`` ("alternative":
#: another starting point, all parameters 1 in the optimizer's scaled units, 0.5 for
#: Pareto/NBD), ``penalizer_coef`` (an L2 penalty on the parameters; never
#: lower than the requested one) and ``tol`` (optimizer tolerance). A
#: penalizer biases the estimates towards 0: the notebook shows which attempt
#: was used.
DEFAULT_FALLBACKS: tuple[dict[str, Any], ...] = (
    {"start": "alternative"},
    {"penalizer_coef": 0.001},
    {"penalizer_coef": 0.01},
    {"penalizer_coef": 0.01, "tol": 1e-5},
)

#: Default optimizer tolerance.
DEFAULT_TOL = 1e-7

#: Default wall-clock budget of one model fit, all attempts together (seconds). The Pareto/NBD
#: likelihood (hypergeometric functions) can take 0.2 s per evaluation where its
#: drop-out parameters run off to the no-drop-out limit (measured on Online Retail II), and
#: such a fit would otherwise run for minutes before failing.
DEFAULT_TIME_LIMIT = 120.0

_FIT_ERRORS_EXTRA = (FloatingPointError, OverflowError, ZeroDivisionError, np.linalg.LinAlgError, ValueError)


class ModelFitError(WordedError, RuntimeError):
    """Every attempt of a model fit failed (the message lists each attempt and why).

    ``str(exc)`` is the detailed English message (for logs and metrics); :meth:`in_language`
    words it for a page in the report language when it was raised with a catalogue ``key``
    and its ``values`` (a callable value is called in each language), as :func:`run_attempts` does.

    Attributes
    ----------
    attempts : pandas.DataFrame
        One row per attempt (see :attr:`ecrm_lib.value.btyd.FitResult.attempts`).

    Examples
    --------
    >>> e = ModelFitError("BG/NBD could not be fitted: details", key="fit.failed",
    ...                   values={"model": "BG/NBD", "n": 5, "reasons": "x"})
    >>> str(e)
    'BG/NBD could not be fitted: details'
    >>> e.in_language().startswith("BG/NBD could not be fitted: all 5 attempts failed (x)")
    True
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     e.in_language().startswith("BG/NBD을(를) 적합하지 못했습니다")
    True
    """

    def __init__(self, message: str = "", attempts: pd.DataFrame | None = None, *, key: str | None = None,
                 values: Mapping[str, Any] | None = None):
        super().__init__(message, key=key, values=values)
        self.attempts = attempts


class NonFiniteParams(ValueError):
    """An attempt ended at NaN, infinite or non-positive parameters (it counts as failed)."""


class ConvergenceError(EcrmError, RuntimeError):
    """The optimizer of one attempt stopped without reporting convergence (the attempt counts as failed)."""


#: Why an attempt failed, as a code of the catalogue's ``fit.reason.*`` (language-neutral), by the exception's kind.
REASONS: dict[str, str] = {
    "ConvergenceError": "no_convergence",
    "NonFiniteParams": "invalid_params",
    "FloatingPointError": "numerical",
    "OverflowError": "numerical",
    "ZeroDivisionError": "numerical",
    "LinAlgError": "numerical",
    "ValueError": "error",
}


def attempt_reason(status: str, message: str) -> str:
    """The reason code of one attempt (:data:`REASONS`, ``time_limit`` for an attempt the time limit skipped,
    ``""`` for one that succeeded), read from the attempts table's ``status`` and ``message``.

    >>> attempt_reason("failed", "ConvergenceError: Pareto/NBD: the optimizer stopped"), attempt_reason("ok", "")
    ('no_convergence', '')
    >>> attempt_reason("skipped", "time limit of the fit reached"), attempt_reason("failed", "KeyError: x")
    ('time_limit', 'error')
    """
    if status == "ok":
        return ""
    if status == "skipped":
        return "time_limit"
    kind = str(message).split(":", 1)[0].strip()
    return REASONS.get(kind, "error")


def _reasons_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """The failed attempts' reasons with their counts, in the current report language."""
    counts: dict[str, int] = {}
    for r in rows:
        code = attempt_reason(r["status"], r["message"])
        if code:
            counts[code] = counts.get(code, 0) + 1
    return ", ".join(t("fit.reason_count", reason=t(f"fit.reason.{c}"), n=n) for c, n in counts.items())


def attempts_in_language(attempts: pd.DataFrame) -> pd.DataFrame:
    """An attempts table for display: ``status`` and ``start`` in the report language, and ``message`` the
    reason an attempt failed (``fit.reason.*``) instead of the optimizer's English text (kept in the product
    and the logs). Other columns as they are.

    Examples
    --------
    >>> a = pd.DataFrame({"attempt": [1, 2], "start": ["default", "alternative"], "status": ["failed", "ok"],
    ...                   "message": ["ConvergenceError: the optimizer stopped", ""]})
    >>> attempts_in_language(a)[["start", "status", "message"]].to_numpy().tolist()
    [['default', 'failed', 'the optimizer did not converge'], ['alternative', 'ok', '']]
    >>> from ecrm_lib.core.language import using
    >>> with using("ko"):
    ...     attempts_in_language(a)[["start", "status", "message"]].to_numpy().tolist()
    [['기본값', '실패', '최적화가 수렴하지 않음'], ['다른 시작점', '성공', '']]
    """
    a = attempts.copy()
    if a.empty:
        return a
    if {"status", "message"} <= set(a.columns):
        codes = [attempt_reason(s, m) for s, m in zip(a["status"].astype(str), a["message"].fillna("").astype(str))]
        a["message"] = [t(f"fit.reason.{c}") if c else "" for c in codes]
    if "status" in a.columns:
        a["status"] = [t(f"fit.status.{s}") if s in ("ok", "failed", "skipped") else s for s in a["status"].astype(str)]
    if "start" in a.columns:
        a["start"] = [t(f"fit.start.{s}") if s in ("default", "alternative") else s for s in a["start"].astype(str)]
    return a


def format_params(params: pd.Series) -> str:
    """Parameters with 4 significant digits (long digit runs would read as phone numbers in reports)."""
    return ", ".join(f"{k}={v:.4g}" for k, v in params.items())


def attempt_plan(penalizer_coef: float, tol: float, fallbacks: Sequence[Mapping[str, Any]] | None, start: str) -> list[dict[str, Any]]:
    """The requested settings, then each distinct fallback (penalizer never below the requested one).

    Examples
    --------
    >>> [s["penalizer_coef"] for s in attempt_plan(0.0, 1e-7, DEFAULT_FALLBACKS, "default")]
    [0.0, 0.0, 0.001, 0.01, 0.01]
    """
    plan = [{"start": start, "penalizer_coef": float(penalizer_coef), "tol": float(tol)}]
    for fb in fallbacks or ():
        unknown = set(fb) - {"start", "penalizer_coef", "tol"}
        if unknown:
            raise ValueError(f"fallback {fb!r} has unknown key(s) {sorted(unknown)}; use start, penalizer_coef and tol.")
        step = {
            "start": fb.get("start", start),
            "penalizer_coef": max(float(penalizer_coef), float(fb.get("penalizer_coef", penalizer_coef))),
            "tol": float(fb.get("tol", tol)),
        }
        if step not in plan:
            plan.append(step)
    return plan


@contextlib.contextmanager
def quiet():
    """Silence prints and numerical warnings of an attempt."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def run_attempts(kind: str, plan: list[dict[str, Any]], run_one: Callable[[dict[str, Any]], Any],
                 deadline: float | None = None) -> tuple[Any, pd.DataFrame]:
    """Run ``run_one(step)`` for each step until one succeeds; return (its result, the attempts table).

    Parameters
    ----------
    kind : str
        Model name for the error message.
    plan : list of dict
        From :func:`attempt_plan`.
    run_one : callable
        Fits with one step's settings; raises on failure.
    deadline : float, optional
        ``time.monotonic()`` seconds after which no new attempt starts.

    Raises
    ------
    ModelFitError
        Every attempt failed.
    """
    rows, result = [], None
    for i, step in enumerate(plan, start=1):
        if deadline is not None and time.monotonic() > deadline:
            rows.append({"attempt": i, **step, "status": "skipped", "message": "time limit of the fit reached",
                         "seconds": 0.0, "used": False})
            break
        t0 = time.perf_counter()
        try:
            with quiet():
                out = run_one(step)
            status, message = "ok", ""
        except (ConvergenceError, *_FIT_ERRORS_EXTRA) as exc:
            out, status = None, "failed"
            message = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]
        rows.append({"attempt": i, **step, "status": status, "message": message,
                     "seconds": time.perf_counter() - t0, "used": status == "ok"})
        if status == "ok":
            result = out
            break
    attempts = pd.DataFrame(rows, columns=["attempt", "start", "penalizer_coef", "tol", "status", "message", "seconds", "used"])
    if result is None:
        lines = "; ".join(f"attempt {r['attempt']} (start {r['start']}, penalizer {r['penalizer_coef']:g}, tol {r['tol']:g}): "
                          f"{r['message']}" for r in rows)
        lines = lines if len(lines) < 1500 else lines[:1500] + " ..."
        raise ModelFitError(
            f"{kind} could not be fitted: every attempt failed ({lines}). Check the data (very large frequencies, "
            "almost no repeat buyers, a calibration period too short) or pass a larger penalizer_coef.",
            attempts, key="fit.failed", values={"model": kind, "n": len(rows), "reasons": lambda: _reasons_text(rows)},
        )
    return result, attempts


def numerical_hessian(fun: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``fun`` at ``x`` (symmetric)."""
    k = len(x)
    H = np.empty((k, k))
    E = np.eye(k) * h
    for i in range(k):
        for j in range(i, k):
            H[i, j] = H[j, i] = (fun(x + E[i] + E[j]) - fun(x + E[i] - E[j]) - fun(x - E[i] + E[j])
                                 + fun(x - E[i] - E[j])) / (4 * h * h)
    return H


def log_parameter_covariance(hessian: np.ndarray | None, n_customers: float) -> np.ndarray | None:
    """Covariance of the log parameters from the observed information.

    ``hessian`` is the Hessian of the mean negative log-likelihood per customer in
    the log parameters (:func:`ecrm_lib.value.btyd.estimate`), the same in any time
    or currency scale, so the covariance is ``inv(H) / n_customers``. None when the
    Hessian is missing, not finite or not positive definite (the estimate is then
    not a clear maximum).
    """
    H = hessian
    if H is None:
        return None
    try:
        H = np.asarray(H, dtype=float)
        if not np.isfinite(H).all():
            return None
        Hs = (H + H.T) / 2
        np.linalg.cholesky(Hs)
        cov = np.linalg.inv(Hs) / float(n_customers)
        return (cov + cov.T) / 2
    except (np.linalg.LinAlgError, ValueError):
        return None


def params_table(model: str, params: pd.Series, standard_errors: pd.Series) -> pd.DataFrame:
    """Tidy parameters: ``model``, ``parameter``, ``value``, ``std_error``."""
    return pd.DataFrame(
        {
            "model": model,
            "parameter": list(params.index),
            "value": params.to_numpy(float),
            "std_error": standard_errors.reindex(params.index).to_numpy(float),
        }
    )
