"""Command line. Keep module-level imports light: `mlops-auditor --help` must start fast."""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_OK, EXIT_BELOW, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3

#: one of each path type for every option: building one looks up message translations
_FILE = click.Path(dir_okay=False)
_FOLDER = click.Path(file_okay=False)

SAMPLE_CONFIG = """\
# mlops-auditor configuration. Run: mlops-auditor audit --config audit.yaml
# Every key is checked; an unknown key is an error. ${VAR} reads an environment variable,
# so credentials never need to be written here.
version: 1
targets:
  # A git repository: a local path or a clone URL (cloned once into the cache, partial clone).
  - name: churn
    kind: git
    path: ../churn
    labels: {team: retention}
  # - name: fraud
  #   kind: git
  #   url: https://git.example.com/risk/fraud.git
  #   ref: main
  #   labels: {team: risk}
  # An MLflow tracking server (credentials: MLFLOW_TRACKING_TOKEN or USERNAME/PASSWORD).
  # - name: mlflow-prod
  #   kind: mlflow
  #   tracking_uri: https://mlflow.internal
  #   labels: {team: platform}
  # A Kubernetes cluster (kubeconfig context, in_cluster: true, or a snapshot folder).
  # - name: prod-cluster
  #   kind: kubernetes
  #   context: prod
  #   namespaces: {include: ["ml-*"], exclude: ["kube-system"]}
  # An AWS account (profile, role_arn or the default credential chain).
  # - name: ml-prod-account
  #   kind: aws
  #   profile: ml-prod
  #   regions: [eu-west-1, us-east-1]
  # A container registry and Prometheus/Alertmanager.
  # - {name: registry, kind: oci, url: https://registry.internal, repositories: ["ml/*"]}
  # - {name: prom, kind: prometheus, url: http://prometheus:9090, alertmanager_url: http://alertmanager:9093}
policy:
  allowed_regions: [eu-west-1, eu-central-1]   # data residency
settings:
  framework: seven_stages     # or google_mlops_levels, microsoft_mlops_levels, or a path to your rubric
  timeout: 300                # seconds per probe and target
  # jobs: 4                   # probes run at once (default: CPUs)
  # executor: auto            # threads, processes, or dask://scheduler:8786 (a Dask cluster)
  # history_dir: mlops-audit/history
# waivers:
#   - {capability: feature_store, scope: "team:retention", reason: "tabular features only", expires: 2027-06-30}
"""


def _executor_option(command):
    return click.option(
        "--executor", default=None, metavar="auto|threads|processes|dask://HOST:PORT",
        help="Where probes run: worker processes on this machine, threads, or a Dask cluster "
             "(default: settings.executor, else auto: processes when more than one target "
             "and job).")(command)


#: commands that keep the collector held (by :func:`main`) until their probes start; and
#: ``assess``, which runs none, to its end: it only builds the assessment (see
#: :mod:`auditor.startup`)
_HOLDING = frozenset({"audit", "collect", "assess"})


def _fail(message: str) -> None:
    click.echo(f"mlops-auditor: {message}", err=True)
    sys.exit(EXIT_USAGE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlops-auditor")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Audit ML infrastructure and place teams on an MLOps maturity model, with evidence.

    \b
    Exit codes: 0 done; 1 below --fail-under; 2 usage or configuration error;
    3 audit incomplete (only with --strict); 128+N stopped by signal N (130 SIGINT,
    143 SIGTERM: child processes killed, no report written, history untouched).
    """
    if ctx.invoked_subcommand not in _HOLDING:
        from auditor import startup

        startup.release_gc()  # start-up is over for a command that runs no probe


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("-c", "--config", "config_path", type=_FILE,
              help="audit.yaml with targets, policy, settings and waivers.")
@click.option("-o", "--out", "out_dir", default="mlops-audit", show_default=True,
              type=_FOLDER, help="Folder for the reports.")
@click.option("-f", "--format", "formats", multiple=True, default=("json", "markdown"),
              show_default=True, help="Report format (repeatable).")
@click.option("--framework", "frameworks", multiple=True,
              help="Framework id or a rubric YAML file (repeatable; default from config or seven_stages).")
@click.option("--fail-under", type=click.IntRange(min=0), default=None,
              help="Exit 1 when the organisation is placed below this stage (first framework).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Probes run at once (default: CPUs).")
@click.option("--timeout", type=click.FloatRange(min=1), default=None, help="Seconds per probe and target.")
@click.option("--cache-dir", type=_FOLDER, default=None, help="Clone cache folder.")
@click.option("--history/--no-history", default=True, show_default=True,
              help="Keep a summary of each run in OUT/history and show changes since the last run.")
@click.option("--strict", is_flag=True,
              help="Unknown capabilities block placement (nothing is assumed), and an incomplete "
                   "audit exits 3. Also settings.strict in the config.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging to stderr (secrets redacted).")
@_executor_option
def audit(targets, config_path, out_dir, formats, frameworks, fail_under, jobs, timeout,
          cache_dir, history, strict, quiet, verbose, executor) -> None:
    """Audit TARGETS (paths or clone URLs) or --config; with neither, ./audit.yaml when it
    exists, else the repository here."""
    from auditor import catalog, config, output
    from auditor.logs import setup_logging

    setup_logging(verbose)
    cfg = _config(targets, config_path, quiet, timeout, strict)
    try:
        frameworks = tuple(config.framework_ref(name) for name in frameworks)
        loaded = [catalog.load_framework(name) for name in frameworks or [cfg.settings.framework]]
    except (config.ConfigError, ValueError) as exc:
        _fail(str(exc))
    _check_fail_under(loaded, fail_under)
    known = _formats(formats)

    console = _console(quiet)
    out = Path(out_dir)
    hdir = Path(cfg.settings.history_dir) if cfg.settings.history_dir else out / "history"
    previous = output.previous_run(hdir) if history else None
    from auditor.runner import stop_on_signals

    executor = _executor(executor, cfg)
    with stop_on_signals():  # SIGTERM/SIGINT: children killed, exit 128 + signal, no report
        assessment = _run_with_progress(cfg, console, cache_dir, jobs, frameworks, previous,
                                        executor)
    _deliver(assessment, out, formats, known, hdir if history else None, console, fail_under,
             cfg.settings.strict)


def _config(targets, config_path, quiet, timeout=None, strict=False):
    """The configuration from TARGETS or --config (./audit.yaml when neither is given)."""
    from auditor import config

    try:
        if config_path and targets:
            _fail("give either TARGETS or --config, not both")
        if not config_path and not targets and Path(config.DEFAULT_CONFIG).is_file():
            config_path = config.DEFAULT_CONFIG
            if not quiet:
                click.echo(f"mlops-auditor: using {config_path} (pass a path to audit a repository "
                           f"instead)", err=True)
        if config_path:
            cfg = config.load(config_path)
        else:
            cfg = config.AuditConfig(targets=config.targets_from_arguments(list(targets) or ["."]))
    except (config.ConfigError, ValueError) as exc:
        _fail(str(exc))
    if timeout:
        cfg.settings = cfg.settings.model_copy(update={"timeout": timeout})
    if strict:
        cfg.settings = cfg.settings.model_copy(update={"strict": True})
    return cfg


def _check_fail_under(loaded, fail_under) -> None:
    last = loaded[0].stages[-1].number
    if fail_under is not None and fail_under > last:
        _fail(f"--fail-under {fail_under}: {loaded[0].id} has no stage above {last}")


def _formats(formats):
    """The installed report formats, after checking those asked for exist."""
    from auditor import registry

    known = registry.reports()
    for f in formats:
        if f not in known or known[f].obj is None:
            _fail(f"unknown format {f!r} (available: {', '.join(sorted(known))})")
    return known


def _console(quiet):
    if quiet:
        return None
    from rich.console import Console

    return Console(stderr=False)


def _deliver(assessment, out, formats, known, hdir, console, fail_under, strict) -> None:
    """Write the reports (and history unless ``hdir`` is None), print the summary, and exit
    with the status the assessment calls for."""
    from auditor import output

    try:
        rendered = {}
        for f in dict.fromkeys(formats):
            report = known[f].obj()
            # a report that gives its bytes in chunks is written as they are made
            chunks = getattr(report, "chunks", None)
            rendered[report.filename] = chunks(assessment) if chunks else report.render(assessment)
        def installed() -> list[str]:
            return [getattr(item.obj, "filename", "") for item in known.values() if item.obj]

        written = output.replace_reports(out, rendered, installed)
        if hdir is not None:
            output.append_history(hdir, assessment)
    except OSError as exc:
        _fail(f"cannot write reports to {out}: {exc.strerror or exc}")
    if console is not None:
        from reports.console import print_summary

        print_summary(assessment, console)
        console.print("Wrote " + ", ".join(str(p) for p in written))

    org = next(p for p in assessment.placements_sorted(assessment["frameworks"][0]["id"])
               if p["scope"]["kind"] == "org")
    if fail_under is not None and org["stage"] < fail_under:
        click.echo(f"mlops-auditor: organisation at stage {org['stage']}, below --fail-under {fail_under}",
                   err=True)
        sys.exit(EXIT_BELOW)
    if strict and assessment["partial"]:
        click.echo("mlops-auditor: audit incomplete: some sources were not observed (--strict)", err=True)
        sys.exit(EXIT_INCOMPLETE)


def _progress(console, total: int, verb: str):
    """A progress bar on a terminal: (context, on_done) — on_done is None without one."""
    import contextlib

    if console is None or not console.is_terminal:
        return contextlib.nullcontext(), None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn(verb), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.description}"), console=console, transient=True)
    bar = progress.add_task("", total=total)

    def done(out) -> None:
        progress.update(bar, advance=1, description=f"{out.target.name} ({out.probe.kind})")

    return progress, done


def _executor(name, cfg) -> str | None:
    """The executor asked for, checked before anything runs (an unknown one exits 2)."""
    from auditor import executors

    name = name or cfg.settings.executor
    try:
        executors.resolve(name, 2, 2)
    except executors.ExecutorError as exc:
        _fail(str(exc))
    return name


def _run_with_progress(cfg, console, cache_dir, jobs, frameworks, previous=None, executor=None):
    from auditor.audit import run_audit
    from auditor.executors import ExecutorError

    context, done = _progress(console, len(cfg.targets), "auditing")
    try:
        with context:
            return run_audit(cfg, cache_dir=Path(cache_dir) if cache_dir else None, jobs=jobs,
                             frameworks=list(frameworks) or None, previous=previous,
                             on_done=done, executor=executor)
    except ExecutorError as exc:
        _fail(str(exc))


@cli.command()
@click.argument("targets", nargs=-1)
@click.option("-c", "--config", "config_path", type=_FILE,
              help="audit.yaml with targets, policy, settings and waivers.")
@click.option("-o", "--out", "out_dir", required=True, type=_FOLDER,
              help="Folder for the evidence: one file per target and a manifest.")
@click.option("--shard", "shard_spec", default=None, metavar="I/N",
              help="Collect only shard I of N (numbered from 1): a stable hash of each target's "
                   "name decides its shard. auto/N takes I from JOB_COMPLETION_INDEX "
                   "(a Kubernetes Indexed Job, 0-based).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Probes run at once (default: CPUs).")
@click.option("--timeout", type=click.FloatRange(min=1), default=None, help="Seconds per probe and target.")
@click.option("--cache-dir", type=_FOLDER, default=None, help="Clone cache folder.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging to stderr (secrets redacted).")
@_executor_option
def collect(targets, config_path, out_dir, shard_spec, jobs, timeout, cache_dir, quiet, verbose,
            executor) -> None:
    """Collect evidence of TARGETS or --config into OUT, without judging it: one compressed
    JSON Lines file per target, written as its probe finishes, and a manifest. Score it with
    'assess' (any framework, waivers, no network), here or elsewhere."""
    from datetime import UTC, datetime

    from auditor import audit, shards, store
    from auditor.executors import ExecutorError
    from auditor.logs import setup_logging
    from auditor.runner import default_jobs, stop_on_signals

    setup_logging(verbose)
    cfg = _config(targets, config_path, quiet, timeout)
    executor = _executor(executor, cfg)
    try:
        shard = shards.parse(shard_spec) if shard_spec else None
    except shards.ShardError as exc:
        _fail(str(exc))
    chosen = shard.select(cfg.targets) if shard else list(cfg.targets)
    jobs = jobs or cfg.settings.jobs or default_jobs()
    now = datetime.now(UTC)
    console = _console(quiet)
    try:
        writer = store.EvidenceWriter.for_config(Path(out_dir), cfg, shard=shard, now=now, jobs=jobs)
        context, done = _progress(console, len(chosen), "collecting")
        with stop_on_signals(), context:
            stats = audit.collect(cfg, writer, targets=chosen, jobs=jobs, now=now, on_done=done,
                                  cache_dir=Path(cache_dir) if cache_dir else None, holdings=True,
                                  executor=executor)
            writer.executor = stats.executor
            manifest = writer.finish()
    except (store.StoreError, ExecutorError) as exc:
        from auditor import processes

        processes.shutdown()  # the git processes of probes still running die with the run
        _fail(str(exc))
    if not quiet:
        where = f" (shard {shard}: {len(chosen)} of {len(cfg.targets)} targets)" if shard else ""
        failed = f"; not read: {', '.join(stats.failed)}" if stats.failed else ""
        click.echo(f"Collected {stats.targets} targets{where}: {stats.evidence} evidence, "
                   f"{stats.unobserved} unobserved{failed}. Manifest: {manifest}")


@cli.command()
@click.argument("evidence", nargs=-1, required=True)
@click.option("-o", "--out", "out_dir", default="mlops-audit", show_default=True,
              type=_FOLDER, help="Folder for the reports.")
@click.option("-f", "--format", "formats", multiple=True, default=("json", "markdown"),
              show_default=True, help="Report format (repeatable).")
@click.option("--framework", "frameworks", multiple=True,
              help="Framework id or a rubric YAML file (repeatable; default: the collect run's).")
@click.option("-c", "--config", "config_path", type=_FILE,
              help="audit.yaml whose policy, waivers, settings and target labels (teams) apply "
                   "instead of those the evidence was collected with. Its targets are not "
                   "contacted, nor their other settings read.")
@click.option("--fail-under", type=click.IntRange(min=0), default=None,
              help="Exit 1 when the organisation is placed below this stage (first framework).")
@click.option("--strict", is_flag=True,
              help="Unknown capabilities block placement, and an incomplete audit exits 3.")
@click.option("--allow-missing-shards", is_flag=True,
              help="Assess without a missing shard: its targets are reported as not observed "
                   "and the assessment as partial (else a missing shard exits 2).")
@click.option("--history/--no-history", default=True, show_default=True,
              help="Keep a summary of each run in OUT/history and show changes since the last run.")
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging to stderr (secrets redacted).")
def assess(evidence, out_dir, formats, frameworks, config_path, fail_under, strict,
           allow_missing_shards, history, quiet, verbose) -> None:
    """Assess stored EVIDENCE (collect --out folders, folders of them, or s3://bucket/prefix):
    links, maturity placements and reports, with no network and no probe. Shards of one
    collect run are reassembled; a missing shard is an error unless --allow-missing-shards."""
    import time
    from datetime import UTC, datetime

    from auditor import catalog, config, output, store
    from auditor.logs import setup_logging
    from auditor.runner import stop_on_signals

    setup_logging(verbose)
    started, t0 = datetime.now(UTC), time.monotonic()
    known = _formats(formats)
    with stop_on_signals():
        try:
            with store.open_evidence(list(evidence), allow_missing_shards=allow_missing_shards) as stored:
                inputs = stored.inputs(config_path)
                names = [config.framework_ref(n) for n in frameworks] or [inputs.settings.framework]
                _check_fail_under([catalog.load_framework(n) for n in names], fail_under)
                strict = strict or inputs.settings.strict
                out = Path(out_dir)
                hdir = (Path(inputs.settings.history_dir) if inputs.settings.history_dir
                        else out / "history")
                if not quiet:
                    for note in inputs.notes:
                        click.echo(f"mlops-auditor: {note}", err=True)
                assessment = stored.assess(inputs, frameworks=names, strict=strict,
                                           previous=output.previous_run(hdir) if history else None,
                                           started=started, t0=t0)
        except (store.StoreError, config.ConfigError, ValueError) as exc:
            _fail(str(exc))
    _deliver(assessment, out, formats, known, hdir if history else None, _console(quiet),
             fail_under, strict)


@cli.command()
def probes() -> None:
    """List installed probes (built-in and plugins)."""
    from auditor import registry

    for kind, item in registry.probes().items():
        if item.error:
            click.echo(f"{kind:12} {item.value}  [not loadable: {item.error}]")
        else:
            click.echo(f"{kind:12} {item.value}  {item.obj.description}")


@cli.command()
def frameworks() -> None:
    """List built-in frameworks and their stages."""
    from auditor import catalog

    for fw in catalog.frameworks().values():
        click.echo(f"{fw.id}: {fw.title}")
        for s in fw.stages:
            gate = f" [{s.gate_name}: {', '.join(s.gate_requires)}]" if s.gate_name else ""
            click.echo(f"  {s.number}. {s.name}{gate}: {', '.join(s.requires)}")


@cli.command()
@click.argument("capability")
def explain(capability: str) -> None:
    """What counts as evidence for CAPABILITY."""
    from auditor import catalog

    caps = catalog.capabilities()
    cap = caps.get(capability)
    if cap is None:
        _fail(f"unknown capability {capability!r} (known: {', '.join(caps)})")
    click.echo(f"{cap.id}: {cap.title}\n  {cap.description}\n")
    click.echo(f"Level: {cap.level} — {cap.level_reason}")
    click.echo(f"Its absence shows in: {', '.join(cap.observable_from)} targets "
               f"(otherwise it is unknown, not unmet)\n")
    click.echo("Met when any of:")
    for alt in cap.met:
        click.echo("  - " + " AND ".join(m.describe() for m in alt))
    if cap.partial:
        click.echo("Partial when any of:")
        for alt in cap.partial:
            click.echo("  - " + " AND ".join(m.describe() for m in alt))
    click.echo("  (or met signals seen at a weaker strength)")
    click.echo("Unknown when nothing matched and either a source that emits these signals was not "
               "observed or no audited source of the kinds above is in reach.")
    for fw in catalog.frameworks().values():
        for s in fw.stages:
            if cap.id in s.all_requirements():
                click.echo(f"Required by {fw.id} stage {s.number} ({s.name})")
    click.echo(f"\nNext step: {cap.next_step}")


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.argument("path", default="audit.yaml", type=_FILE)
def init(path: str, force: bool) -> None:
    """Write a commented sample audit.yaml."""
    target = Path(path)
    if target.exists() and not force:
        _fail(f"{path} exists (use --force to overwrite)")
    target.write_text(SAMPLE_CONFIG)
    click.echo(f"Wrote {path}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of assessment.json."""
    click.echo((Path(__file__).parent / "schema" / "assessment.schema.json").read_text(), nl=False)


def main() -> None:
    """The ``mlops-auditor`` process: the garbage collector held while it starts (see
    :mod:`auditor.startup`; only here, not for a caller of :data:`cli` such as a test runner),
    the command, then :func:`_quick_exit`."""
    from auditor import startup

    startup.hold_gc()
    try:
        cli(prog_name="mlops-auditor")
    except SystemExit as exc:  # click's standalone mode always ends in one
        _quick_exit(exc)
        raise


def _quick_exit(exc: SystemExit) -> None:
    """End the process without the interpreter's teardown, which frees every module and
    object one by one: some 30 ms after a one-file audit, more than the audit's own work.

    What that teardown does that anyone could see is done first, in its order: waiting for
    non-daemon threads, the exit handlers (child processes killed, temporary folders
    removed, logging flushed, a coverage or ``atexit`` hook's file written), flushing the
    standard streams; then the status Python would give. Returns (so the caller re-raises,
    for the interpreter to exit as usual) under a profiler or tracer, which write what they
    collected after the code they ran returns, under ``python -i`` (which stays), when the
    status is not a plain number, on a Python without these hooks, or when a stream cannot be
    flushed (Python reports that and exits 120)."""
    import atexit
    import os
    import threading

    code = 0 if exc.code is None else exc.code
    wait_threads = getattr(threading, "_shutdown", None)
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if (sys.gettrace() is not None or sys.getprofile() is not None or sys.flags.inspect
            or type(code) is not int or not 0 <= code <= 255 or wait_threads is None
            or run_exit_handlers is None):
        return
    wait_threads()
    run_exit_handlers()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return
    os._exit(code)
