#!/usr/bin/env python3
"""The benchmark harness: Maecenas against its own ceiling and a peer, in one run.

Run it through `bench/run.sh` (which builds the release binaries, installs wrk
and the peer, then calls this). For each backend (SQLite, PostgreSQL) it:

1. generates a seeded, reproducible data set: two creators with campaigns and
   tiers, one with --small pledges (100,000) and one with --large (1,000,000),
   a patron, card and pledge per pledge, an OAuth client, tokens, an API key;
2. starts `maecenas serve` (release, rate limits off, scheduled billing off)
   and loads it with wrk over loopback: every figure is the median of --runs
   runs, with p50/p99 latency, server CPU per request (from /proc) and the
   server's resident memory; the ceiling is `GET /healthz` of the same server
   (static JSON, no database) measured in the same run;
3. measures the token endpoint (code exchange and refresh, at 64 and 256
   connections) next to node-oidc-provider's (client_credentials, one client,
   opaque tokens in memory), started on the same machine in the same run;
4. drains webhook backlogs to a local receiver, and bills the large campaign
   over three past months (three real runs of 1,000,000 charges).

The table goes to stdout, to target/bench/report.md, and (with --write) into
BENCHMARKS.md between the harness markers. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/maecenas"
SINK = ROOT / "target/release/examples/webhook_sink"
PG_URL = os.environ.get("MAECENAS_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PASSWORD = "bench-password-1234"
REDIRECT = "https://bench.example/callback"
PEER_SECRET = "bench-secret-of-the-peer-benchmark"
LOGIN_CSRF = "benchmarkloginformtoken0123456789"
MARK_BEGIN = "<!-- harness:begin -->"
MARK_END = "<!-- harness:end -->"

# Benchmarks measure the server, not its rate limits.
SERVER_ENV = {
    "MAECENAS_API_REQUESTS_PER_MINUTE": "0",
    "MAECENAS_TOKEN_REQUESTS_PER_MINUTE": "0",
    "MAECENAS_LOGIN_ATTEMPTS_PER_ACCOUNT": "1000000",
    "MAECENAS_LOGIN_ATTEMPTS_PER_ADDRESS": "1000000",
    "MAECENAS_WEBHOOK_ALLOW_NETS": "127.0.0.1/32",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- databases


class Database:
    """A fresh database of one backend: its URL for Maecenas and a SQL shell for bench data."""

    backend: str
    url: str

    def sql(self, statement: str) -> str:
        raise NotImplementedError

    def ts(self, value: str) -> str:
        """A timestamp literal the backend's INSERT ... SELECT accepts."""
        raise NotImplementedError

    def series(self, first: int, last: int) -> str:
        raise NotImplementedError

    def drop(self) -> None:
        pass


class Sqlite(Database):
    backend = "sqlite"

    def __init__(self, directory: Path):
        self.path = directory / "maecenas.db"
        self.url = f"sqlite:{self.path}"

    def sql(self, statement: str) -> str:
        done = subprocess.run(
            ["sqlite3", "-cmd", ".timeout 30000", str(self.path), statement],
            capture_output=True, text=True, check=True,
        )
        return done.stdout.strip()

    def ts(self, value: str) -> str:
        # Maecenas keeps SQLite times in one fixed width (store/src/db_time.rs).
        if "." not in value:
            value = value.replace("Z", ".000000Z")
        return f"'{value}'"

    def series(self, first: int, last: int) -> str:
        return (f"(WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n "
                f"WHERE i < {last}) SELECT i FROM n) AS s")


class Postgres(Database):
    backend = "postgres"

    def __init__(self):
        self.schema = f"bench_harness_{os.getpid()}"
        self.url = f"{PG_URL}?options=-c%20search_path%3D{self.schema}"
        self._psql(f"CREATE SCHEMA {self.schema}", schema=False)

    def _psql(self, statement: str, schema: bool = True) -> str:
        env = dict(os.environ, PGOPTIONS=("-c client_min_messages=warning"
                                          + (f" -c search_path={self.schema}" if schema else "")))
        done = subprocess.run(["psql", PG_URL, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", statement],
                              capture_output=True, text=True, check=True, env=env)
        return done.stdout.strip()

    def sql(self, statement: str) -> str:
        return self._psql(statement)

    def ts(self, value: str) -> str:
        return f"TIMESTAMPTZ '{value}'"

    def series(self, first: int, last: int) -> str:
        return f"generate_series({first}, {last}) AS s(i)"

    def drop(self) -> None:
        self._psql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE", schema=False)


# --------------------------------------------------------------------------- processes


def maecenas(db: Database, *args: str) -> dict:
    env = dict(os.environ, DATABASE_URL=db.url, **SERVER_ENV)
    done = subprocess.run([str(BIN), *args, "--json", "--log-level", "warn"],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"maecenas {' '.join(args)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def read_proc(pid: int) -> tuple[float, int, int]:
    """(CPU seconds user+system, VmRSS KiB, VmHWM KiB) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return cpu, rss, hwm


# The /metrics address of each running server, by pid: wrk runs read what the
# server itself counted around each run.
METRICS_OF: dict[int, str] = {}


def server_counts(pid: int | None) -> tuple[int, float]:
    """(requests, seconds spent answering them) as the server's /metrics counts them."""
    url = METRICS_OF.get(pid) if pid else None
    if not url:
        return 0, 0.0
    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    requests, seconds = 0, 0.0
    for line in text.splitlines():
        if line.startswith("maecenas_http_requests_total{"):
            requests += int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith("maecenas_http_request_duration_seconds_sum{"):
            seconds += float(line.rsplit(" ", 1)[1])
    return requests, seconds


class Server:
    """`maecenas serve` on a free loopback port, in the background."""

    def __init__(self, db: Database, workdir: Path, name: str = "serve", extra: tuple[str, ...] = ()):
        self.out = workdir / f"{name}.out"
        env = dict(os.environ, DATABASE_URL=db.url, **SERVER_ENV)
        self.process = subprocess.Popen(
            [str(BIN), "serve", "--listen", "127.0.0.1:0", "--billing-interval", "0",
             "--log-level", "warn", "--metrics-listen", "127.0.0.1:0", *extra],
            stdout=open(self.out, "w"), stderr=open(workdir / f"{name}.err", "w"), env=env,
        )
        deadline = time.time() + 60
        while "listening on" not in self.out.read_text():
            if self.process.poll() is not None or time.time() > deadline:
                raise SystemExit(f"the server did not start: {(workdir / f'{name}.err').read_text()}")
            time.sleep(0.02)
        self.base = self.out.read_text().split("listening on ", 1)[1].split()[0]
        self.pid = self.process.pid
        METRICS_OF[self.pid] = self.out.read_text().split("metrics on ", 1)[1].split()[0]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class RssSampler:
    """The largest resident set a process reaches while a load runs (sampled every 50 ms)."""

    def __init__(self, pid: int):
        self.pid, self.peak_kib, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.peak_kib = max(self.peak_kib, read_proc(self.pid)[1])
            except OSError:
                return

    def finish(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_kib


# --------------------------------------------------------------------------- load


@dataclass
class Run:
    ok_requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float
    peak_rss_mib: float
    refused: int
    # What the server's /metrics counted during the run (every answer,
    # refusals included) and the mean time it spent on one.
    server_requests: int = 0
    server_mean_ms: float = 0.0

    @property
    def rps(self) -> float:
        return self.ok_requests / self.seconds if self.seconds else 0.0


@dataclass
class Row:
    backend: str
    label: str
    connections: int
    runs: list[Run] = field(default_factory=list)
    target: str = ""
    ratio_to: str = "ceiling"

    @property
    def median(self) -> Run:
        ordered = sorted(self.runs, key=lambda r: r.rps)
        return ordered[len(ordered) // 2]


def wrk(url: str, connections: int, seconds: float, script: str, workdir: Path,
        headers: dict[str, str] | None = None, env: dict[str, str] | None = None,
        server_pid: int | None = None) -> Run:
    """One bounded wrk run; server CPU and memory are read around it."""
    report = workdir / "wrk-report.json"
    report.unlink(missing_ok=True)
    span = workdir / "span"
    for old in workdir.glob("span.*"):
        old.unlink()
    command = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(ROOT / "bench/lua" / script), url]
    for name, value in (headers or {}).items():
        command[1:1] = ["-H", f"{name}: {value}"]
    before = read_proc(server_pid)[0] if server_pid else 0.0
    counted_before = server_counts(server_pid)
    sampler = RssSampler(server_pid) if server_pid else None
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, REPORT=str(report), SPAN=str(span), **(env or {})))
    peak = sampler.finish() if sampler else 0
    after = read_proc(server_pid)[0] if server_pid else 0.0
    counted_after = server_counts(server_pid)
    # The scrapes go to the metrics listener, which counts nothing of its own.
    server_requests = counted_after[0] - counted_before[0] if server_pid else 0
    server_seconds = counted_after[1] - counted_before[1]
    if done.returncode != 0 or not report.exists():
        raise SystemExit(f"wrk failed on {url}: {done.stderr.strip()[:500]}")
    r = json.loads(report.read_text())
    refused = r["status_errors"] + r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
    ok = max(0, r["requests"] - r["status_errors"])
    if refused:
        log(f"   {refused} failed requests on {url} (status {r['status_errors']}, "
            f"timeouts {r['timeouts']}); first errors: {done.stderr.strip()[:200]}")
    seconds = r["duration_us"] / 1e6
    spans = [tuple(map(float, p.read_text().split())) for p in workdir.glob("span.*")]
    if spans:
        # A thread that used up its supply stopped early; one that did not ran
        # the whole duration: the run lasted until the last thread stopped.
        begin = min(s for s, _ in spans)
        ends = [e for _, e in spans] + ([begin + seconds] if len(spans) < 2 else [])
        seconds = max(ends) - begin
    return Run(
        ok_requests=ok,
        seconds=seconds,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        cpu_us_per_request=((after - before) * 1e6 / ok) if ok and server_pid else 0.0,
        peak_rss_mib=peak / 1024,
        refused=refused,
        server_requests=server_requests,
        server_mean_ms=(1000 * server_seconds / server_requests) if server_requests else 0.0,
    )


# --------------------------------------------------------------------------- data set


@dataclass
class DataSet:
    small_campaign: int
    large_campaign: int
    large_pledges: int
    creator_large: int
    patron_of_large: int
    client_id: str
    client_secret: str
    creator_token: str
    api_key: str
    login_email: str
    last_page_cursor: str
    seconds: float


def months_back(today: dt.date, months: int) -> dt.date:
    index = today.year * 12 + (today.month - 1) - months
    return dt.date(index // 12, index % 12 + 1, 1)


def generate(db: Database, seed: int, small: int, large: int) -> DataSet:
    """The seeded data set. Named things go through `maecenas admin` (as an operator
    would make them); the bulk of patrons, cards and pledges is set-based SQL whose
    every value is a function of the row number and the seed, so a seed always
    gives the same rows."""
    started = time.time()
    creators = []
    for name, count in (("small", small), ("large", large)):
        email = f"creator-{name}@bench.test"
        maecenas(db, "admin", "user", "create", "--email", email, "--password", PASSWORD,
                 "--username", f"bench{name}", "--first-name", "Bench", "--last-name",
                 f"Creator {name.title()}", "--creator")
        maecenas(db, "admin", "campaign", "create", "--creator", email,
                 "--summary", f"A benchmark campaign with {count} pledges")
        for title, cents in (("Supporter", 300), ("Fan", 1000), ("Champion", 2500)):
            maecenas(db, "admin", "tier", "create", "--creator", email, "--title", title,
                     "--amount-cents", str(cents), "--description", f"{title} tier")
        creators.append(email)
    maecenas(db, "admin", "user", "create", "--email", "developer@bench.test", "--password", PASSWORD)
    client = maecenas(db, "admin", "client", "create", "--owner", "developer@bench.test",
                      "--name", "Bench integration", "--redirect-uri", REDIRECT)
    token = maecenas(db, "admin", "token", "create", "--client", client["client_id"],
                     "--user", creators[1], "--scope", "users pledges-to-me my-campaign")
    key = maecenas(db, "admin", "api-key", "create", "--owner", creators[1], "--name", "bench")

    def one(statement: str) -> int:
        return int(db.sql(statement))

    small_campaign = one("SELECT c.id FROM campaigns c JOIN users u ON u.id = c.creator_id "
                         "WHERE u.email = 'creator-small@bench.test'")
    large_campaign = one("SELECT c.id FROM campaigns c JOIN users u ON u.id = c.creator_id "
                         "WHERE u.email = 'creator-large@bench.test'")
    creator_large = one("SELECT id FROM users WHERE email = 'creator-large@bench.test'")
    base = one("SELECT max(id) FROM users")
    made = db.ts(months_back(dt.date.today(), 3).isoformat() + "T12:00:00Z")
    # A multiplicative hash of the row number and the seed: amounts, tiers and
    # fee choices look random and are the same for the same seed.
    h = f"((i * 2654435761 + {seed * 40503 % 4294967296}) % 4294967296)"
    total = small + large
    series = db.series(1, total)
    db.sql(f"INSERT INTO users (id, email, first_name, last_name, created_at, updated_at) "
           f"SELECT {base} + i, 'patron' || i || '@bench.test', 'Patron', 'No. ' || i, {made}, {made} "
           f"FROM {series}")
    db.sql(f"INSERT INTO payment_methods (id, user_id, gateway, gateway_ref, brand, last4, exp_month, "
           f"exp_year, is_verified, created_at) SELECT {base} + i, {base} + i, 'test', "
           f"'pm_test_ok_bench' || i, 'visa', '4242', 1 + {h} % 12, 2030 + {h} % 5, TRUE, {made} FROM {series}")
    for campaign, first, last in ((small_campaign, 1, small), (large_campaign, small + 1, total)):
        tiers = db.sql(f"SELECT id || ':' || amount_minor FROM tiers WHERE campaign_id = {campaign} "
                       f"ORDER BY amount_minor").split()
        tier_case = " ".join(f"WHEN {n} THEN {t.split(':')[0]}" for n, t in enumerate(tiers))
        floor_case = " ".join(f"WHEN {n} THEN {t.split(':')[1]}" for n, t in enumerate(tiers))
        db.sql(f"INSERT INTO pledges (id, patron_id, campaign_id, tier_id, amount_minor, currency, "
               f"patron_pays_fees, payment_method_id, created_at, updated_at) "
               f"SELECT {base} + i, {base} + i, {campaign}, CASE {h} % 4 {tier_case} ELSE NULL END, "
               f"CASE {h} % 4 {floor_case} ELSE 100 END + ({h} / 4) % 500, 'USD', ({h} % 3 = 0), "
               f"{base} + i, {made}, {made} FROM {db.series(first, last)}")
    db.sql("ANALYZE")
    after = one(f"SELECT id FROM pledges WHERE campaign_id = {large_campaign} "
                f"ORDER BY id DESC LIMIT 1 OFFSET 20")
    cursor = base64.urlsafe_b64encode(str(after).encode()).decode().rstrip("=")
    return DataSet(
        small_campaign=small_campaign, large_campaign=large_campaign, large_pledges=large,
        creator_large=creator_large, patron_of_large=base + small + large // 2,
        client_id=client["client_id"], client_secret=client["client_secret"],
        creator_token=token["access_token"], api_key=key["key"],
        login_email="developer@bench.test", last_page_cursor=cursor,
        seconds=time.time() - started,
    )


# --------------------------------------------------------------------------- phases


def log_in(base: str, email: str, workdir: Path) -> str:
    """A browser's log-in with curl: the session cookie's value."""
    jar = workdir / "jar"
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-c", str(jar), "-b", f"maecenas_csrf={LOGIN_CSRF}",
                    "--data-urlencode", f"email={email}", "--data-urlencode", f"password={PASSWORD}",
                    "--data-urlencode", f"csrf={LOGIN_CSRF}", f"{base}/login"], check=True)
    for line in jar.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 7 and parts[5] == "maecenas_session":
            return parts[6]
    raise SystemExit("log-in for the OAuth benchmark failed")


def read_api(server: Server, data: DataSet, args, workdir: Path, backend: str) -> list[Row]:
    base, rows = server.base, []
    bearer = {"Authorization": f"Bearer {data.creator_token}"}
    key = {"Authorization": data.api_key}
    pledges = f"/api/oauth2/api/campaigns/{data.large_campaign}/pledges?page%5Bcount%5D=20"
    cases = [
        ("ceiling: `GET /healthz` (static JSON)", "/healthz", {}, ""),
        # The targets: 16 % of the ceiling on SQLite, 10 % on PostgreSQL.
        ("Patreon `current_user` (default includes)", "/api/oauth2/api/current_user", bearer,
         (">= 16 %" if backend == "sqlite" else ">= 10 %") + ", p99 <= 8 ms"),
        ("Patreon `current_user/campaigns`", "/api/oauth2/api/current_user/campaigns", bearer, ""),
        (f"Patreon pledges of the {data.large_pledges:,} campaign, first page", pledges, bearer, ""),
        (f"Patreon pledges of the {data.large_pledges:,} campaign, last page",
         f"{pledges}&page%5Bcursor%5D={data.last_page_cursor}", bearer, "last p50 <= 1.2 x first"),
        ("Sponsus `profiles/{id}` (one resource by id)", f"/v1/profiles/{data.creator_large}", key,
         ">= 25 %"),
        ("Sponsus `payments/{id}/sponsoring`", f"/v1/payments/{data.patron_of_large}/sponsoring",
         key, ">= 20 %"),
    ]
    for label, path, headers, target in cases:
        check = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                *sum((["-H", f"{k}: {v}"] for k, v in headers.items()), []),
                                base + path], capture_output=True, text=True)
        if check.stdout != "200":
            raise SystemExit(f"{path} answered {check.stdout}, not 200")
        row = Row(backend, label, args.connections, target=target)
        for n in range(args.runs):
            row.runs.append(wrk(base + path, args.connections, args.seconds, "get.lua", workdir,
                                headers=headers, server_pid=server.pid))
            log(f"   {label}: {row.runs[-1].rps:,.0f}/s p99 {row.runs[-1].p99_ms:.1f} ms")
        rows.append(row)
    body = f"email={data.login_email.replace('@', '%40')}&password={PASSWORD}&csrf={LOGIN_CSRF}"
    # A failed log-in re-renders the form (200), which wrk would count: check it redirects.
    check = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-b",
                            f"maecenas_csrf={LOGIN_CSRF}", "--data", body, base + "/login"],
                           capture_output=True, text=True)
    if check.stdout != "303":
        raise SystemExit(f"POST /login answered {check.stdout}, not 303")
    row = Row(backend, "password log-in (`POST /login`, argon2id)", args.connections, target=">= 120/s",
              ratio_to="")
    for n in range(args.runs):
        row.runs.append(wrk(base + "/login", args.connections, args.seconds, "post.lua", workdir,
                            env={"BODY": body, "COOKIE": f"maecenas_csrf={LOGIN_CSRF}"},
                            server_pid=server.pid))
        log(f"   log-in: {row.runs[-1].rps:,.0f}/s p99 {row.runs[-1].p99_ms:.1f} ms")
    rows.append(row)
    return rows


def token_endpoint(server: Server, data: DataSet, args, workdir: Path, backend: str) -> list[Row]:
    """Codes are minted through the consent form (the browser's step), then each one
    exchanged once; the refresh tokens that come back are each rotated once."""
    session = log_in(server.base, data.login_email, workdir)
    import hashlib
    csrf = hashlib.sha256(f"csrf:{session}".encode()).hexdigest()[:32]
    common = {"CLIENT_ID": data.client_id, "CLIENT_SECRET": data.client_secret, "REDIRECT": REDIRECT}
    rows = []
    for connections in (args.connections, 256):
        exchange = Row(backend, "token endpoint: code exchange", connections,
                       target=">= 3 x peer, p99 <= " + ("15" if connections <= 64 else "30") + " ms",
                       ratio_to="peer")
        refresh = Row(backend, "token endpoint: refresh", connections,
                      target=">= 3 x peer, p99 <= " + ("15" if connections <= 64 else "30") + " ms",
                      ratio_to="peer")
        for n in range(args.runs):
            prefix = workdir / f"codes-{connections}-{n}"
            tokens = workdir / f"refresh-{connections}-{n}"
            wrk(server.base, 32, args.mint_seconds, "consent.lua", workdir,
                env=dict(common, SESSION=session, CSRF=csrf, OUT=str(prefix)))
            exchange.runs.append(wrk(server.base, connections, args.seconds * 4, "exchange.lua", workdir,
                                     env=dict(common, CODES=str(prefix), OUT=str(tokens)),
                                     server_pid=server.pid))
            refresh.runs.append(wrk(server.base, connections, args.seconds * 4, "refresh.lua", workdir,
                                    env=dict(common, TOKENS=str(tokens)), server_pid=server.pid))
            log(f"   @{connections}: exchange {exchange.runs[-1].ok_requests:,} in "
                f"{exchange.runs[-1].seconds:.1f} s: {exchange.runs[-1].rps:,.0f}/s "
                f"p99 {exchange.runs[-1].p99_ms:.1f} ms, refresh {refresh.runs[-1].rps:,.0f}/s "
                f"p99 {refresh.runs[-1].p99_ms:.1f} ms")
        rows += [exchange, refresh]
    return rows


def peer(args, workdir: Path) -> list[Row]:
    port = free_port()
    out = workdir / "peer.out"
    process = subprocess.Popen(["node", str(ROOT / "bench/peer/oidc-provider.mjs"), str(port)],
                               cwd=ROOT, stdout=open(out, "w"), stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while "listening on" not in out.read_text():
            if process.poll() is not None or time.time() > deadline:
                raise SystemExit("node-oidc-provider did not start (bench/run.sh installs it)")
            time.sleep(0.05)
        body = f"grant_type=client_credentials&client_id=bench&client_secret={PEER_SECRET}&scope=api"
        rows = []
        for connections in (args.connections, 256):
            row = Row("node", "node-oidc-provider token endpoint: client_credentials", connections,
                      ratio_to="")
            for n in range(args.runs):
                row.runs.append(wrk(f"http://127.0.0.1:{port}/token", connections, args.seconds,
                                    "post.lua", workdir, env={"BODY": body}, server_pid=process.pid))
                log(f"   peer @{connections}: {row.runs[-1].rps:,.0f}/s p99 {row.runs[-1].p99_ms:.1f} ms")
            rows.append(row)
        return rows
    finally:
        process.terminate()
        process.wait()


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Batch:
    label: str
    count: int
    done: int
    seconds: float
    peak_rss_mib: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def webhooks(db: Database, data: DataSet, args, workdir: Path) -> list[Batch]:
    """A backlog of pending deliveries (a real-sized pledge document each) drained by a
    fresh server to examples/webhook_sink, which answers 204."""
    sink_out = workdir / "sink.out"
    sink = subprocess.Popen([str(SINK), "127.0.0.1:0"], stdout=open(sink_out, "w"))
    try:
        while "sink listening on" not in sink_out.read_text():
            time.sleep(0.05)
        address = sink_out.read_text().split("sink listening on ", 1)[1].split()[0]
        now = db.ts(dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        later = db.ts((dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        pledge = data.patron_of_large  # pledge ids equal patron ids in the bulk rows
        included = ",".join(
            f'{{"type":"user","id":"{i}","attributes":{{"first_name":"Bench","last_name":"Patron",'
            f'"vanity":null,"about":"benchmark filler text"}}}}' for i in range(12))
        body = (f'{{"data":{{"type":"pledge","id":"{pledge}","attributes":{{"amount_cents":500,'
                f'"created_at":"2026-11-01T00:00:00Z","declined_since":null,"patron_pays_fees":false,'
                f'"pledge_cap_cents":null}}}},"included":[{included},{{"type":"campaign","id":"1"}}]}}')
        db.sql(f"INSERT INTO webhooks (id, campaign_id, uri, triggers, secret, paused, "
               f"num_consecutive_times_failed, created_at, updated_at) VALUES (900001, "
               f"{data.large_campaign}, 'http://{address}/hook', 'pledges:create', "
               f"'whsec_YmVuY2htYXJrYmVuY2htYXJrYmVuY2htYXJr', FALSE, 0, {now}, {now})")
        results = []
        for n in range(args.runs):
            first = n * args.deliveries + 1
            last = first + args.deliveries - 1
            series = db.series(first, last)
            db.sql(f"INSERT INTO webhook_events (id, campaign_id, trigger, pledge_id, is_test, body, "
                   f"created_at) SELECT i, {data.large_campaign}, 'pledges:create', {pledge}, FALSE, "
                   f"'{body}', {now} FROM {series}")
            db.sql(f"INSERT INTO webhook_deliveries (id, webhook_id, event_id, status, attempts, "
                   f"next_attempt_at, give_up_at, created_at) SELECT i, 900001, i, 'pending', 0, "
                   f"{now}, {later}, {now} FROM {series}")
            if db.backend == "postgres":
                db.sql("ANALYZE webhook_deliveries")
            started = time.time()
            server = Server(db, workdir, "webhooks")
            while db.sql("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'") != "0":
                time.sleep(0.1)
            seconds = time.time() - started
            cpu, _, hwm = read_proc(server.pid)
            server.stop()
            delivered = int(db.sql(f"SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered' "
                                   f"AND id BETWEEN {first} AND {last}"))
            results.append(Batch("webhook deliveries", args.deliveries, delivered, seconds, hwm / 1024, cpu))
            log(f"   webhooks: {delivered:,} in {seconds:.1f} s ({results[-1].per_second:,.0f}/s)")
        return results
    finally:
        sink.terminate()
        sink.wait()


def billing(db: Database, data: DataSet, args, workdir: Path) -> list[Batch]:
    """The large campaign billed for the three months after its pledges were made:
    each run charges every one of them once (the small campaign's pledges are ended
    first, so a run is exactly the large campaign)."""
    db.sql(f"UPDATE pledges SET ended_at = created_at WHERE campaign_id = {data.small_campaign}")
    results = []
    env = dict(os.environ, DATABASE_URL=db.url, **SERVER_ENV)
    for n in range(args.billing_runs):
        period = months_back(dt.date.today(), 2 - n).strftime("%Y-%m")
        timing = workdir / "time"
        started = time.time()
        done = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", "-o", str(timing), str(BIN),
                               "billing", "run", "--period", period, "--json", "--log-level", "warn"],
                              capture_output=True, text=True, env=env)
        seconds = time.time() - started
        if done.returncode != 0:
            raise SystemExit(f"billing run failed: {done.stderr.strip()[:500]}")
        report = json.loads(done.stdout)
        wall, rss_kib, user, system = timing.read_text().split()[-4:]
        results.append(Batch(f"billing {period}", data.large_pledges, int(report["charged"]),
                             float(wall), int(rss_kib) / 1024, float(user) + float(system)))
        log(f"   billing {period}: {report['charged']:,} charged in {float(wall):.1f} s, "
            f"peak RSS {int(rss_kib) / 1024:.0f} MiB (wall incl. start {seconds:.1f} s)")
    return results


# --------------------------------------------------------------------------- report


@dataclass
class BackendResult:
    backend: str
    data: DataSet
    idle_rss_mib: float
    load_rss_mib: float
    login_rss_mib: float
    rows: list[Row]
    webhooks: list[Batch]
    billing: list[Batch]


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def verdict(ok: bool | None) -> str:
    return "" if ok is None else (" ✅" if ok else " ❌")


def render(results: list[BackendResult], peer_rows: list[Row], args, started: dt.datetime) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    pg_version = subprocess.run(["psql", PG_URL, "-qAtc", "SHOW server_version"], capture_output=True,
                                text=True).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    wrk_version = "wrk " + wrk_version.split("Copyright")[0].replace("wrk", "").strip()
    out = [
        f"Machine: {os.cpu_count()} cores ({cpu}), {memory / 1048576:.0f} GiB, {platform.system()} "
        f"{platform.release()}; PostgreSQL {pg_version} on the same machine; load generator "
        f"{wrk_version.strip()} on the same machine (2 threads), loopback.",
        f"Date: {started:%Y-%m-%d %H:%M} UTC. Commit: `{commit}`{' (with uncommitted changes)' if dirty else ''}.",
        f"Command: `bench/run.sh{(' ' + ' '.join(args.passthrough)) if args.passthrough else ''}` "
        f"(seed {args.seed}; {args.runs} runs of {args.seconds:g} s per figure, the median run shown; "
        f"{args.connections} connections unless marked).",
        "",
    ]
    peer_by_conns = {r.connections: r.median for r in peer_rows}
    for result in results:
        d = result.data
        rows = result.rows
        ceiling = rows[0].median.rps
        first_page = next(r for r in rows if "first page" in r.label).median
        out += [
            f"### {result.backend}: campaigns of {d.large_pledges:,} and {args.small:,} pledges "
            f"(generated in {d.seconds:.0f} s)",
            "",
            "| request | conns | requests/s | ratio | target | p50 | p99 | server CPU/request | peak RSS "
            "| server counted (its mean) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            m = row.median
            if row.ratio_to == "ceiling":
                ratio = f"{100 * m.rps / ceiling:.1f} %" if row is not rows[0] else "100 %"
                ok: bool | None = None
                if row.target.startswith(">= ") and "%" in row.target:
                    share = float(row.target[3:row.target.index("%")]) / 100
                    ok = m.rps >= share * ceiling
                    if "p99 <= 8 ms" in row.target:
                        ok = ok and m.p99_ms <= 8
                elif row.target.startswith("last p50"):
                    ok = m.p50_ms <= 1.2 * first_page.p50_ms
                    ratio += f" (p50 {m.p50_ms / first_page.p50_ms:.2f} x first)"
            elif row.ratio_to == "peer":
                peer_run = peer_by_conns.get(row.connections)
                ratio = f"{m.rps / peer_run.rps:.2f} x peer" if peer_run else "—"
                limit = 15 if row.connections <= 64 else 30
                ok = bool(peer_run) and m.rps >= 3 * peer_run.rps and m.p99_ms <= limit
            else:
                ratio = "—"
                ok = m.rps >= 120 if row.target == ">= 120/s" else None
            out.append(
                f"| {row.label} | {row.connections} | {fmt_rate(m.rps)} | {ratio} | "
                f"{row.target or '—'}{verdict(ok)} | {m.p50_ms:.2f} ms | {m.p99_ms:.2f} ms | "
                f"{m.cpu_us_per_request:.0f} µs | {m.peak_rss_mib:.0f} MiB | "
                f"{m.server_requests:,} ({m.server_mean_ms:.2f} ms) |")
        for batch_list, what in ((result.webhooks, "webhooks"), (result.billing, "billing")):
            if not batch_list:
                continue
            ordered = sorted(batch_list, key=lambda b: b.seconds)
            m = ordered[len(ordered) // 2]
            if what == "webhooks":
                ok = m.per_second >= 5000
                out.append(
                    f"| webhook backlog of {m.count:,} drained to a local receiver | 256 slots | "
                    f"{fmt_rate(m.per_second)} deliveries/s | — | >= 5,000/s{verdict(ok)} | "
                    f"drain {m.seconds:.1f} s | (runs: {', '.join(f'{b.seconds:.1f}' for b in batch_list)} s) | "
                    f"{m.cpu_seconds * 1e6 / max(m.done, 1):.0f} µs/delivery | {m.peak_rss_mib:.0f} MiB |")
            else:
                ok = m.seconds <= 60 and m.peak_rss_mib < 200
                out.append(
                    f"| billing run over {m.count:,} pledges (test gateway) | — | "
                    f"{fmt_rate(m.per_second)} charges/s | — | <= 60 s, RSS < 200 MB{verdict(ok)} | "
                    f"wall {m.seconds:.1f} s | (runs: {', '.join(f'{b.seconds:.1f}' for b in batch_list)} s) | "
                    f"{m.cpu_seconds * 1e6 / max(m.done, 1):.0f} µs/charge | {m.peak_rss_mib:.0f} MiB |")
        out += [
            "",
            f"Server memory: idle {result.idle_rss_mib:.1f} MiB after start on the data set "
            f"(target <= 30 MiB{verdict(result.idle_rss_mib <= 30)}); highest under the loads above "
            f"other than log-ins {result.load_rss_mib:.1f} MiB (target <= 64 MiB"
            f"{verdict(result.load_rss_mib <= 64)}); during the log-ins {result.login_rss_mib:.1f} MiB.",
            "",
        ]
    if peer_rows:
        out += ["### the peer: node-oidc-provider (same machine, same run)", "",
                "| request | conns | requests/s | p50 | p99 | CPU/request | peak RSS |", "|---|---|---|---|---|---|---|"]
        for row in peer_rows:
            m = row.median
            out.append(f"| {row.label} | {row.connections} | {fmt_rate(m.rps)} | {m.p50_ms:.2f} ms | "
                       f"{m.p99_ms:.2f} ms | {m.cpu_us_per_request:.0f} µs | {m.peak_rss_mib:.0f} MiB |")
        out.append("")
    return "\n".join(out)


def scale_out(db: Database, data: DataSet, args, workdir: Path, backend: str) -> list[Row]:
    """The read API's `current_user` through HAProxy (round robin) over three `serve`
    processes on one PostgreSQL, to set beside one process's figure. On this 2-core
    machine the processes share the cores with PostgreSQL and wrk: this shows what
    the sharing costs or gains, not what three machines would do."""
    servers = [Server(db, workdir, f"node{n}", ("--node-id", str(10 + n))) for n in range(3)]
    haproxy = None
    try:
        port = free_port()
        config = workdir / "haproxy.cfg"
        backends = "\n".join(
            f"    server node{n} {s.base.removeprefix('http://')}" for n, s in enumerate(servers))
        config.write_text(
            "global\n    maxconn 4096\n"
            "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n"
            "    timeout server 30s\n    option http-keep-alive\n"
            f"frontend api\n    bind 127.0.0.1:{port}\n    default_backend nodes\n"
            f"backend nodes\n    balance roundrobin\n{backends}\n")
        haproxy = subprocess.Popen(["haproxy", "-f", str(config), "-db"],
                                   stdout=subprocess.DEVNULL, stderr=open(workdir / "haproxy.err", "w"))
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 10
        while subprocess.run(["curl", "-s", "-o", "/dev/null", base + "/healthz"]).returncode != 0:
            if time.time() > deadline:
                raise SystemExit(f"haproxy did not start: {(workdir / 'haproxy.err').read_text()}")
            time.sleep(0.1)
        bearer = {"Authorization": f"Bearer {data.creator_token}"}
        row = Row(backend, "Patreon `current_user` via HAProxy over 3 `serve` processes "
                  "(CPU and counts of node 0 only)", args.connections)
        for n in range(args.runs):
            row.runs.append(wrk(base + "/api/oauth2/api/current_user", args.connections, args.seconds,
                                "get.lua", workdir, headers=bearer, server_pid=servers[0].pid))
            log(f"   scale-out current_user: {row.runs[-1].rps:,.0f}/s p99 {row.runs[-1].p99_ms:.1f} ms")
        return [row]
    finally:
        if haproxy:
            haproxy.terminate()
            haproxy.wait()
        for server in servers:
            server.stop()


# --------------------------------------------------------------------------- main


def run_backend(backend: str, args, workdir: Path) -> BackendResult:
    db: Database = Sqlite(workdir) if backend == "sqlite" else Postgres()
    try:
        log(f"{backend}: generating the data set (seed {args.seed})")
        maecenas(db, "admin", "user", "list")  # creates the schema
        data = generate(db, args.seed, args.small, args.large)
        log(f"{backend}: generated in {data.seconds:.0f} s")
        server = Server(db, workdir)
        try:
            time.sleep(2)
            idle = read_proc(server.pid)[1] / 1024
            rows = read_api(server, data, args, workdir, backend)
            if not args.skip_token:
                rows += token_endpoint(server, data, args, workdir, backend)
            # The target is for the loads outside the log-in runs: argon2's
            # 19 MiB per core is the price of a log-in, and is given back after.
            load_rss = max((r.peak_rss_mib for row in rows if "log-in" not in row.label
                            for r in row.runs), default=0.0)
            login_rss = max((r.peak_rss_mib for row in rows if "log-in" in row.label
                             for r in row.runs), default=0.0)
        finally:
            server.stop()
        if backend == "postgres" and not args.skip_scale_out:
            rows += scale_out(db, data, args, workdir, backend)
        hooks = webhooks(db, data, args, workdir) if args.deliveries else []
        bills = billing(db, data, args, workdir) if args.billing_runs else []
        return BackendResult(backend, data, idle, load_rss, login_rss, rows, hooks, bills)
    finally:
        db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--small", type=int, default=100_000, help="pledges of the smaller campaign")
    parser.add_argument("--large", type=int, default=1_000_000, help="pledges of the large campaign")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5, help="length of one load run")
    parser.add_argument("--mint-seconds", type=float, default=8, help="consent run that mints codes")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--deliveries", type=int, default=50_000, help="webhook backlog per run (0: skip)")
    parser.add_argument("--billing-runs", type=int, default=3, help="months billed (0: skip)")
    parser.add_argument("--skip-token", action="store_true")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--skip-scale-out", action="store_true",
                        help="no HAProxy row over three PostgreSQL servers")
    parser.add_argument("--write", action="store_true", help="put the table into BENCHMARKS.md")
    args = parser.parse_args()
    args.passthrough = [a for a in sys.argv[1:] if a != "--write"]
    started = dt.datetime.now(dt.timezone.utc)
    workdir = Path(tempfile.mkdtemp(prefix="maecenas-bench-"))
    try:
        peer_rows = [] if args.skip_peer else peer(args, workdir)
        results = [run_backend(b, args, workdir) for b in args.backends.split(",")]
        table = render(results, peer_rows, args, started)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(table)
    report = ROOT / "target/bench/report.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(table + "\n")
    if args.write:
        path = ROOT / "BENCHMARKS.md"
        text = path.read_text()
        head, rest = text.split(MARK_BEGIN, 1)
        tail = rest.split(MARK_END, 1)[1]
        path.write_text(f"{head}{MARK_BEGIN}\n{table}\n{MARK_END}{tail}")
        log("BENCHMARKS.md updated")


if __name__ == "__main__":
    main()
