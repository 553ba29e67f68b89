"""mutx-ops' Alembic runner.

Started by mutx-ops with the project's own Python, in the project's folder. It drives Alembic's
own commands (command.upgrade/downgrade/stamp/revision/merge) with the project's env.py left as
it is, and reports on file descriptor 3, one JSON object per line, what happens: the plan Alembic
resolves, the connection env.py opened, each revision started and finished, failures with the
revision file's line. mutx-ops holds the migration lock on its own session; this process writes
each ledger row in the same transaction as Alembic's version-table change, and only while that
lock is still held.

Requests arrive on stdin as JSON lines: first the request, then "go"/"proceed" answers.
"""

import argparse
import contextlib
import datetime
import functools
import inspect
import json
import os
import signal
import sys
import time
import traceback

EVENTS = os.fdopen(3, "w", buffering=1, encoding="utf-8")
OWN_SCHEMA = "mutx_ops"
TRANSACTION_MARKER = "SELECT set_config('mutx_ops.transaction', 'open', true)"
CONNECTION_CHECK = "SELECT set_config('client_connection_check_interval', '1000', false) WHERE current_setting('server_version_num')::int >= 140000"
MIN_ALEMBIC = (1, 6)


def emit(event, **fields):
    fields["event"] = event
    EVENTS.write(json.dumps(fields, default=str) + "\n")
    EVENTS.flush()


def die_with_parent():
    """A mutx-ops killed with -9 must not leave this process migrating without its lock."""
    parent = int(os.environ.get("MUTX_PARENT_PID", "0") or 0)
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if parent and os.getppid() != parent:
        os._exit(70)


def read_message():
    line = sys.stdin.readline()
    if not line:
        # mutx-ops went away: do nothing more.
        os._exit(71)
    return json.loads(line)


def version_tuple(text):
    parts = []
    for part in text.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


die_with_parent()
signal.signal(signal.SIGTERM, lambda *_: os._exit(143))

try:
    import alembic
except ImportError as error:
    emit("no-alembic", python=sys.executable, error=str(error))
    sys.exit(3)

if version_tuple(getattr(alembic, "__version__", "0")) < MIN_ALEMBIC:
    emit("unsupported", python=sys.executable, alembic=getattr(alembic, "__version__", "?"), minimum=".".join(map(str, MIN_ALEMBIC)))
    sys.exit(4)

try:
    import sqlalchemy
    from alembic import command, util as alembic_util
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from alembic.runtime.migration import HeadMaintainer, MigrationContext, MigrationStep
    from alembic.script import ScriptDirectory
    from sqlalchemy import Column, MetaData, String, Table, text
except ImportError as error:
    emit("no-alembic", python=sys.executable, error=str(error))
    sys.exit(3)

emit("imported", python=sys.executable, alembic=alembic.__version__)


class State:
    request = {}
    script = None
    version_dirs = []
    current = None
    current_direction = None
    step_started = 0.0
    index = 0
    total = 0
    started_marks = set()
    heads = set()
    expected_heads = None
    pending_rows = []
    marker_needed = True
    in_transaction_expected = False
    failed_after_commit = False
    context = None
    configured = 0
    per_migration = False
    phase = "load"
    # op "compare": what autogenerate found, captured instead of writing a revision file.
    compare = None


STATE = State()


# ---------------------------------------------------------------------------------------------
# Reporting failures: the error, the revision file's line, the server's SQLSTATE.


def in_project_file(filename):
    real = os.path.realpath(filename)
    return any(real.startswith(os.path.realpath(d) + os.sep) for d in STATE.version_dirs) or os.path.basename(real) == "env.py"


def describe(error):
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    frame = None
    for entry in frames:
        if in_project_file(entry.filename):
            frame = entry
    info = {
        "error_type": type(error).__name__,
        "error": str(error).strip().split("\n")[0][:2000],
        "phase": STATE.phase,
        "revision": STATE.current,
        "direction": STATE.current_direction,
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__))[-20000:],
    }
    if isinstance(error, SyntaxError) and error.filename:
        info["file"], info["line"] = error.filename, error.lineno
    elif frame is not None:
        info["file"], info["line"], info["function"] = frame.filename, frame.lineno, frame.name
    orig = getattr(error, "orig", None)
    if orig is not None:
        info["pgcode"] = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
        info["error"] = (str(orig).strip().split("\n")[0] or info["error"])[:2000]
        statement = getattr(error, "statement", None)
        if statement:
            info["statement"] = str(statement)[:4000]
    elif hasattr(error, "pgcode"):
        info["pgcode"] = error.pgcode
    return info


# ---------------------------------------------------------------------------------------------
# The ledger, written on Alembic's own connection.


def ledger_row(revision, direction, outcome, duration_ms):
    """Kept until the transaction that holds it is about to commit (flush_ledger)."""
    if STATE.request.get("ledger"):
        started_at = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(milliseconds=duration_ms)
        STATE.pending_rows.append((revision, direction, outcome, int(duration_ms), started_at.isoformat()))


class TransactionEnded(Exception):
    """A revision ended the transaction mutx-ops' marker was set in (op.execute("COMMIT"), ...)."""


def set_marker(connection):
    """Marks the transaction the next revisions run in; flush_ledger checks it is still the same one."""
    connection.execute(text(TRANSACTION_MARKER))
    STATE.marker_needed = False
    STATE.in_transaction_expected = not server_transaction_ended(connection)


def flush_ledger(connection, in_transaction=True):
    """One INSERT of the kept rows, just before a commit: it also re-checks mutx-ops' lock and
    that the transaction is still the one the revisions started in."""
    ledger = STATE.request.get("ledger")
    rows, STATE.pending_rows = STATE.pending_rows, []
    STATE.marker_needed = True
    if not ledger or not rows:
        return
    template = ledger["insert"]
    params = {"lock_pid": ledger["lock_pid"], "lock_k1": ledger["lock_keys"][0], "lock_k2": ledger["lock_keys"][1], "check_transaction": bool(in_transaction)}
    values = []
    for n, (revision, direction, outcome, duration_ms, started_at) in enumerate(rows):
        values.append(template["row"].replace("{n}", str(n)))
        params.update({
            "revision_%d" % n: revision,
            "direction_%d" % n: direction,
            "checksum_%d" % n: ledger["checksums"].get(revision),
            "operator_%d" % n: ledger["fields"]["operator"],
            "host_%d" % n: ledger["fields"]["host"],
            "duration_ms_%d" % n: duration_ms,
            "started_at_%d" % n: started_at,
            "outcome_%d" % n: outcome,
            "run_id_%d" % n: ledger["fields"]["run_id"],
            "audit_op_id_%d" % n: ledger["fields"]["audit_op_id"],
        })
    result = connection.execute(text(template["sql"].replace("{rows}", ", ".join(values))), params)
    if result.rowcount != len(rows):
        marked = connection.execute(text("SELECT current_setting('mutx_ops.transaction', true) = 'open'")).scalar()
        if in_transaction and not marked:
            raise TransactionEnded(
                "a revision of this run ended the transaction it ran in (a COMMIT or ROLLBACK through op.execute?): what ran before that point is committed"
            )
        raise RuntimeError(
            "mutx-ops' session (pid %s) no longer holds the migration lock: stopping before anything is committed" % ledger["lock_pid"]
        )


def server_transaction_ended(connection):
    """True when the server says no transaction is open although Alembic's is (psycopg2 reads
    it from every reply: no round trip). A revision that ran COMMIT leaves every later statement
    committing on its own."""
    try:
        import psycopg2.extensions as extensions

        fairy = connection.connection
        # SQLAlchemy's pool proxy around the driver's connection (its .info is SQLAlchemy's dict).
        raw = getattr(fairy, "dbapi_connection", None) or getattr(fairy, "connection", fairy)
        return raw.info.transaction_status == extensions.TRANSACTION_STATUS_IDLE
    except Exception:
        return False


def on_version_apply(ctx, step, heads, run_args):
    if ctx.as_sql:
        return
    duration = (time.monotonic() - STATE.step_started) * 1000
    before = STATE.heads
    if step.is_stamp:
        for revision in sorted(set(heads) - set(before)):
            ledger_row(revision, "stamp", "stamped", 0)
    else:
        ledger_row(step.up_revision_id, "upgrade" if step.is_upgrade else "downgrade", "applied" if step.is_upgrade else "reverted", duration)
        if STATE.in_transaction_expected and server_transaction_ended(ctx.connection):
            # Everything up to and including this revision is committed (its version row too):
            # record it as it is, and stop before the next revision runs outside any transaction.
            flush_ledger(ctx.connection, in_transaction=False)
            STATE.current = None
            raise TransactionEnded(
                "%s ended the transaction it ran in (a COMMIT or ROLLBACK through op.execute?): it and the revisions before it are applied, "
                "its statements after that point each committed on their own; stopped before the next revision" % step.up_revision_id
            )
    # Written before this transaction commits: after each revision with transaction_per_migration,
    # else after the last one (an autocommit block writes what came before it first).
    if STATE.per_migration or step.is_stamp or STATE.index >= STATE.total - 1:
        # A stamp runs no revision code: there is no marked transaction to compare with.
        flush_ledger(ctx.connection, in_transaction=not step.is_stamp)
    STATE.heads = set(heads)
    if not step.is_stamp:
        # Until the next revision starts, a failure is env.py's (or its commit), not this revision's.
        STATE.current = None
        STATE.phase = "after"
        emit("step-finished", revision=step.up_revision_id, direction="upgrade" if step.is_upgrade else "downgrade", duration_ms=int(duration), heads=sorted(heads), index=STATE.index, total=STATE.total)


# ---------------------------------------------------------------------------------------------
# Hooks into Alembic's runtime. env.py is not changed: configure() gains a callback, and the
# steps Alembic resolves are compared with the plan mutx-ops showed.


def step_id(step):
    if hasattr(step, "revision") and hasattr(step.revision, "revision"):
        return step.revision.revision
    return None


def describe_steps(steps, heads):
    """Each step with the version rows before and after it, computed as Alembic's HeadMaintainer does."""

    class FakeImpl:
        def _exec(self, *args, **kw):
            return None

    class FakeContext:
        as_sql = True
        impl = FakeImpl()
        version_table = "alembic_version"
        _version = Table("alembic_version", MetaData(), Column("version_num", String(32)))

    maintainer = HeadMaintainer(FakeContext(), heads)
    out = []
    for step in steps:
        before = sorted(maintainer.heads)
        maintainer.update_to_step(step)
        entry = {"heads_before": before, "heads_after": sorted(maintainer.heads)}
        if getattr(step, "revision", None) is not None and hasattr(step.revision, "revision"):
            entry.update(revision=step.revision.revision, direction="upgrade" if step.is_upgrade else "downgrade", message=step.revision.doc)
        else:
            entry.update(revision=None, direction="stamp", message="stamp")
        out.append(entry)
    return out


def checked(resolve):
    """Alembic's own resolution, inside its transaction: a compare-and-set of the version rows it
    read against the rows mutx-ops planned from, so a database changed behind the lock runs nothing."""

    @functools.wraps(resolve)
    def run(destination, heads):
        now = sorted(alembic_util.to_tuple(heads, default=()))
        if STATE.expected_heads is not None and now != STATE.expected_heads:
            raise alembic_util.CommandError(
                "the version table changed since mutx-ops planned this run (planned from %s, now %s): nothing was run"
                % (", ".join(STATE.expected_heads) or "base", ", ".join(now) or "base")
            )
        steps = resolve(destination, heads)
        STATE.heads = set(now)
        STATE.total = len([s for s in steps if step_id(s)])
        for index, step in enumerate(steps):
            if step_id(step):
                step.migration_fn = announce(step, index)
        return steps

    return run


def announce(step, index):
    fn = step.migration_fn

    @functools.wraps(fn)
    def run(*args, **kw):
        STATE.current = step.revision.revision
        STATE.current_direction = "upgrade" if step.is_upgrade else "downgrade"
        STATE.index = index
        STATE.step_started = time.monotonic()
        STATE.phase = "migrate"
        if STATE.marker_needed and STATE.context is not None and not STATE.context.as_sql and STATE.request.get("ledger"):
            set_marker(STATE.context.connection)
        emit("step-started", revision=STATE.current, direction=STATE.current_direction, index=index, total=STATE.total, message=step.revision.doc)
        try:
            return fn(*args, **kw)
        except BaseException:
            # Seen now, while env.py's connection is still open: did the revision end its
            # transaction before failing? Then what ran before the failure is committed.
            context = STATE.context
            if STATE.in_transaction_expected and context is not None and server_transaction_ended(context.connection):
                STATE.failed_after_commit = True
            raise

    return run


original_configure = EnvironmentContext.configure


def render_diff(diff):
    """('remove_column', None, 'users', Column('plan', …)) → 'remove_column users.plan'."""
    if isinstance(diff, list):
        return "; ".join(render_diff(d) for d in diff)
    parts = []
    for item in diff[1:]:
        name = getattr(item, "name", None)
        table = getattr(item, "table", None)
        if name is not None and table is not None and getattr(table, "name", None):
            parts.append("%s.%s" % (table.name, name))
        elif name is not None:
            parts.append(str(name))
        elif isinstance(item, str) and not any(p.startswith(item + ".") for p in parts):
            parts.append(item)
    parts = [p for p in parts if not any(q != p and q.startswith(p + ".") for q in parts)]
    return " ".join([str(diff[0])] + parts)


def configure(self, *args, **kw):
    bound = inspect.signature(original_configure).bind(self, *args, **kw)
    arguments = dict(bound.arguments)
    arguments.pop("self", None)
    extra = arguments.pop("kw", {})
    arguments.update(extra)
    callbacks = arguments.get("on_version_apply") or ()
    if callable(callbacks):
        callbacks = (callbacks,)
    arguments["on_version_apply"] = tuple(callbacks) + (on_version_apply,)
    user_include_name = arguments.get("include_name")

    def include_name(name, type_, parent_names):
        # mutx-ops' own schema is never part of the application's models.
        if type_ == "schema" and name == OWN_SCHEMA:
            return False
        if parent_names and parent_names.get("schema_name") == OWN_SCHEMA:
            return False
        return user_include_name(name, type_, parent_names) if user_include_name else True

    arguments["include_name"] = include_name
    if STATE.compare is not None:
        STATE.compare["has_metadata"] = arguments.get("target_metadata") is not None
        user_directives = arguments.get("process_revision_directives")

        def capture(context, revision, directives):
            if user_directives:
                user_directives(context, revision, directives)
            for directive in directives:
                for upgrade_ops in getattr(directive, "upgrade_ops_list", None) or [directive.upgrade_ops]:
                    STATE.compare["diffs"].extend(render_diff(diff) for diff in upgrade_ops.as_diffs())
            # Nothing is written: an empty list of directives makes Alembic skip the file.
            directives[:] = []

        arguments["process_revision_directives"] = capture
    original_configure(self, **arguments)
    STATE.configured += 1
    STATE.per_migration = bool(arguments.get("transaction_per_migration"))
    context = self.get_context()
    STATE.context = context
    if context.as_sql:
        return
    version_table = arguments.get("version_table") or "alembic_version"
    version_schema = arguments.get("version_table_schema")
    raw = context.connection.connection
    cursor = raw.cursor()
    try:
        cursor.execute(
            "SELECT pg_backend_pid(), current_database(), current_setting('application_name'), "
            "(SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())::text, "
            "current_schema()"
        )
        pid, database, application_name, backend_start, current_schema = cursor.fetchone()
        # If mutx-ops (and so this process) is killed mid-statement, the server notices the dropped
        # connection within a second and rolls back, instead of running the statement to its end.
        cursor.execute(CONNECTION_CHECK)
    finally:
        cursor.close()
    emit(
        "connected",
        pid=pid,
        database=database,
        application_name=application_name,
        backend_start=backend_start,
        version_table=version_table,
        version_table_schema=version_schema or current_schema,
        transaction_per_migration=bool(arguments.get("transaction_per_migration")),
        configure_count=STATE.configured,
    )
    answer = read_message()
    if not answer.get("proceed"):
        raise alembic_util.CommandError(answer.get("reason") or "mutx-ops refused the connection")
    STATE.phase = "connected"


EnvironmentContext.configure = configure

original_autocommit_block = MigrationContext.autocommit_block


@contextlib.contextmanager
def autocommit_block(self):
    if not self.as_sql:
        # The block commits what ran before it: the rows of the revisions it commits go first.
        flush_ledger(self.connection)
    STATE.in_transaction_expected = False
    with original_autocommit_block(self):
        # Committed before the non-transactional statements run: a crash from here on leaves the
        # ledger saying "started", and mutx-ops flags the revision half-applied until reconcile.
        if not self.as_sql and STATE.current and (STATE.current, STATE.current_direction) not in STATE.started_marks:
            ledger_row(STATE.current, STATE.current_direction, "started", 0)
            flush_ledger(self.connection, in_transaction=False)
            STATE.started_marks.add((STATE.current, STATE.current_direction))
            emit("autocommit", revision=STATE.current, direction=STATE.current_direction)
        yield
    # Alembic began a new transaction for what follows the block: mark it.
    if not self.as_sql and STATE.request.get("ledger") and self._in_connection_transaction():
        set_marker(self.connection)


MigrationContext.autocommit_block = autocommit_block


# ---------------------------------------------------------------------------------------------
# Loading the project.


def make_config(request):
    x_args = list(request.get("x", []))
    url = os.environ.get("MUTX_URL")
    if url and not any(arg.startswith("url=") for arg in x_args):
        x_args.append("url=" + url)
    cmd_opts = argparse.Namespace(
        config=os.environ["MUTX_ALEMBIC_CONFIG"],
        name=os.environ.get("MUTX_ALEMBIC_SECTION", "alembic"),
        x=x_args,
        raiseerr=True,
        quiet=False,
        sql=bool(request.get("sql")),
        tag=None,
    )
    config = Config(
        file_=os.environ["MUTX_ALEMBIC_CONFIG"],
        ini_section=os.environ.get("MUTX_ALEMBIC_SECTION", "alembic"),
        cmd_opts=cmd_opts,
    )
    override = os.environ.get("MUTX_VERSION_LOCATIONS")
    if override:
        # A practice drill's copy of the revisions, with the revision it injected.
        config.set_main_option("version_path_separator", "os")
        config.set_main_option("version_locations", override.replace("%", "%%"))
    return config


def load_script(config):
    script = ScriptDirectory.from_config(config)
    STATE.version_dirs = list(script._version_locations) if script.version_locations else [script.versions]
    script.revision_map.heads  # loads every revision module: syntax errors surface now
    original = ScriptDirectory.from_config
    # Every Alembic command below reuses the revisions loaded once.
    ScriptDirectory.from_config = classmethod(lambda cls, cfg: script)
    ScriptDirectory._mutx_original_from_config = original
    script._upgrade_revs = checked(script._upgrade_revs)
    script._downgrade_revs = checked(script._downgrade_revs)
    script._stamp_revs = checked(script._stamp_revs)
    return script


def graph(script):
    revisions = []
    seen = set()
    for sc in script.revision_map._revision_map.values():
        if sc is None or not hasattr(sc, "path") or sc.revision in seen:
            continue
        seen.add(sc.revision)
        revisions.append(
            {
                "revision": sc.revision,
                "down_revision": list(alembic_util.to_tuple(sc.down_revision, default=())),
                # Declared labels only: Alembic's branch_labels also holds those inherited from ancestors.
                "branch_labels": list(getattr(sc, "_orig_branch_labels", sc.branch_labels)),
                "depends_on": list(alembic_util.to_tuple(sc.dependencies, default=())),
                "doc": sc.doc,
                "longdoc": sc.longdoc,
                "path": sc.path,
            }
        )
    return {"revisions": revisions, "heads": list(script.get_heads()), "bases": list(script.get_bases())}


def plan(script, request):
    heads = () if request.get("purge") else tuple(request.get("current", []))
    op = request["op"]
    target = request["target"]
    if op == "stamp":
        # command.stamp passes the targets as a tuple.
        steps = script._stamp_revs(alembic_util.to_tuple(target), heads)
    elif op == "upgrade":
        steps = script._upgrade_revs(target, heads)
    else:
        steps = script._downgrade_revs(target, heads)
    described = describe_steps(steps, heads)
    return {
        "direction": op,
        "steps": [s for s in described if s["revision"] or op == "stamp"],
        "heads_before": sorted(heads),
        "heads_after": described[-1]["heads_after"] if described else sorted(heads),
    }


def run_sections(script, config, sections):
    """Runs revisions' upgrade()/downgrade() through env.py without moving the version table (reconcile)."""

    def fn(rev, context):
        steps = []
        for revision, direction in sections:
            sc = script.get_revision(revision)
            step = MigrationStep.upgrade_from_script(script.revision_map, sc) if direction == "upgrade" else MigrationStep.downgrade_from_script(script.revision_map, sc)
            steps.append(step)
        STATE.total = len(steps)
        for index, step in enumerate(steps):
            step.migration_fn = announce(step, index)
        STATE.heads = set(alembic_util.to_tuple(rev, default=()))
        STATE.phase = "migrate"
        return steps

    HeadMaintainer.update_to_step = lambda self, step: None
    with EnvironmentContext(config, script, fn=fn):
        script.run_env()


def main():
    request = read_message()
    STATE.request = request
    config = make_config(request)
    script = load_script(config)
    STATE.script = script
    STATE.phase = "plan"
    emit("ready", alembic=alembic.__version__, sqlalchemy=sqlalchemy.__version__, python=sys.executable)
    op = request["op"]
    if op == "graph":
        emit("graph", **graph(script))
        return
    if op in ("upgrade", "downgrade", "stamp"):
        planned = plan(script, request)
        emit("plan", **planned)
        if not request.get("execute"):
            return
        answer = read_message()
        if not answer.get("go"):
            return
        # Known only once mutx-ops holds the lock: which session holds it, and the checksums.
        STATE.request["ledger"] = answer.get("ledger")
        # A purge empties the version table first: Alembic then stamps from nothing.
        STATE.expected_heads = [] if request.get("purge") else sorted(request.get("current", []))
        STATE.phase = "env"
        if op == "upgrade":
            command.upgrade(config, request["target"])
        elif op == "downgrade":
            command.downgrade(config, request["target"])
        else:
            command.stamp(config, request["target"], purge=bool(request.get("purge")))
        emit("done", heads=sorted(STATE.heads))
        return
    if op == "sql":
        STATE.phase = "env"
        if request["direction"] == "upgrade":
            command.upgrade(config, request["range"], sql=True)
        else:
            command.downgrade(config, request["range"], sql=True)
        emit("done", heads=[])
        return
    if op == "sections":
        answer = read_message()
        if not answer.get("go"):
            return
        STATE.request["ledger"] = answer.get("ledger")
        STATE.phase = "env"
        run_sections(script, config, [(s["revision"], s["direction"]) for s in request["sections"]])
        emit("done", heads=sorted(STATE.heads))
        return
    if op == "revision":
        STATE.phase = "env"
        created = command.revision(config, message=request["message"], autogenerate=bool(request.get("autogenerate")))
        scripts = created if isinstance(created, list) else [created]
        emit("created", revisions=[{"revision": s.revision, "path": s.path, "down_revision": list(alembic_util.to_tuple(s.down_revision, default=()))} for s in scripts if s is not None])
        return
    if op == "compare":
        # The models against the migrated schema, as `alembic revision --autogenerate` would see them.
        STATE.phase = "env"
        STATE.compare = {"diffs": [], "has_metadata": None}
        command.revision(config, message="mutx-ops compare", autogenerate=True)
        emit("compared", diffs=STATE.compare["diffs"], has_metadata=bool(STATE.compare["has_metadata"]))
        return
    if op == "merge":
        STATE.phase = "env"
        created = command.merge(config, request["revisions"] or "heads", message=request["message"])
        emit("created", revisions=[{"revision": created.revision, "path": created.path, "down_revision": list(alembic_util.to_tuple(created.down_revision, default=()))}])
        return
    emit("failed", error="unknown request %r" % op, error_type="ProtocolError", phase="request")
    sys.exit(5)


def leave(code):
    """Ends without the interpreter's teardown (unloading SQLAlchemy and every revision module
    takes ~0.2 s on 300 revisions, and mutx-ops holds the migration lock meanwhile). Alembic's
    connection is closed by then; what is buffered is flushed first."""
    for stream in (EVENTS, sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


if __name__ == "__main__":
    try:
        main()
    except BaseException as error:  # noqa: B902 - everything is reported, then the process ends
        if isinstance(error, SystemExit):
            raise
        info = describe(error)
        if STATE.current and STATE.failed_after_commit:
            # Failed after its own COMMIT: what ran before the failure is committed, the version row is not.
            info.update(error_type="TransactionEnded", half_applied=True, error="%s (after the revision ended its transaction: what ran before this is committed)" % info["error"])
        elif isinstance(error, TransactionEnded) and STATE.current is None:
            info["half_applied"] = False
        elif isinstance(error, TransactionEnded):
            info["half_applied"] = True
        emit("failed", **info)
        leave(1)
    leave(0)
