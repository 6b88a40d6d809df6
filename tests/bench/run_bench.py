#!/usr/bin/env python3
"""run_bench.py — Portico side by side with what users would pick instead,
measured in one run on this machine (`make bench`).

Echo: tests/bench/loadgen against Portico's echo plugin in mode events (as
config/portico.yaml runs it) and in mode threads, a raw Poco TCPServer echo
with the same pool as the threads one, a single-threaded epoll echo in C and
Python's socketserver.ThreadingTCPServer, at each connection count. Real
peers: redis-benchmark against the kv plugin and redis-server, wrk against
http_hello and nginx (one worker, `return 200`), when those are installed.

Prints a table (every figure also as a ratio to Portico), writes it with the
raw results to OUT/ (bench.md, results.json) and a chart to OUT/bench.png
(gnuplot, else matplotlib), copied to --png when given.

Server CPU per request is the server process's utime+stime over the whole
load run divided by the replies in it (clock ticks: ~10 ms resolution).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


class Server:
    """One server process on a loopback port, stopped on exit."""

    def __init__(self, name, argv, port, workdir, cwd=None):
        self.name, self.port = name, port
        self.log_path = os.path.join(workdir, name.replace(" ", "_") + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start (%d); see %s" % (name, self.proc.returncode, self.log_path))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                time.sleep(0.2)  # let the server finish the probe connection
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not listen on port %d; see %s" % (name, port, self.log_path))

    def cpu(self):
        return cpu_seconds(self.proc.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def service_keys(mode, args):
    """The keys that make a Portico service run in `mode` for the bench:
    events as the shipped config runs echo, kv and http_hello (event loops:
    --loops), threads with the pool raw Poco gets (--threads-max)."""
    if mode == "events":
        return "    mode: events\n    events: {loops: %d}\n" % args.loops
    return "    threads: {min: 2, max: %d}\n" % args.threads_max


def portico_config(workdir, build, ports, mode, args, plugins):
    """Echo (and kv, http_hello) on free ports, plugins loaded from the
    build, no file watch; every other key as in config/portico.yaml."""
    keys = service_keys(mode, args)
    services = ["  - name: echo\n    listen: 127.0.0.1:%d\n    handler: echo.echo\n%s" % (ports["echo"], keys)]
    if "kv" in plugins:
        services.append("  - name: kv\n    listen: 127.0.0.1:%d\n    handler: kv.kv\n%s" % (ports["kv"], keys))
    if "http_hello" in plugins:
        services.append("  - name: http_hello\n    listen: 127.0.0.1:%d\n    handler: http_hello.http_hello\n%s"
                        "    config: {body: \"Hello, world!\\n\"}\n" % (ports["http"], keys))
    text = ("plugins:\n  dir: %s\n  load: [%s]\n  watch: false\nservices:\n%slogging:\n  level: warning\n"
            % (os.path.join(build, "plugins"), ", ".join(p + ".so" for p in plugins), "".join(services)))
    path = os.path.join(workdir, "portico-%s.yaml" % mode)
    with open(path, "w") as f:
        f.write(text)
    return path


def run_loadgen(build, port, connections, args):
    argv = [os.path.join(build, "tests", "bench", "loadgen"), "--port", str(port), "--connections", str(connections),
            "--depth", str(args.depth), "--size", str(args.size), "--seconds", str(args.seconds),
            "--warmup", str(args.warmup)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.seconds + args.warmup + 120)
    if out.returncode != 0:
        raise RuntimeError("loadgen failed: %s" % out.stderr.strip())
    line = next(l for l in out.stdout.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def measure(server, fn):
    before = server.cpu()
    result = fn()
    used = server.cpu() - before
    total = result.get("total_requests", result.get("requests", 0))
    result["cpu_us"] = used * 1e6 / total if total else float("nan")
    return result


def echo_rows(args, build, workdir, plugins):
    """Every echo server at every connection count."""
    def portico(mode):
        return lambda p: [os.path.join(build, "bin", "portico"), "--config",
                          portico_config(workdir, build, dict(echo=p, kv=free_port(), http=free_port()), mode, args,
                                         ["echo"])]
    servers = [
        ("portico", portico("events")),
        ("portico-threads", portico("threads")),
        ("poco", lambda p: [os.path.join(build, "tests", "bench", "poco_echo"), str(p),
                            "--max-threads", str(args.threads_max), "--max-queued", "64"]),
        ("epoll-c", lambda p: [os.path.join(build, "tests", "bench", "epoll_echo"), str(p)]),
        ("python", lambda p: [sys.executable, os.path.join(HERE, "baselines", "python_echo.py"), str(p)]),
    ]
    rows = []
    for conns in args.connections:
        for name, argv_of in servers:
            port = free_port()
            # A fresh server per run: queued or refused connections of one
            # run must not leak into the next.
            with Server(name, argv_of(port), port, workdir) as srv:
                r = measure(srv, lambda: run_loadgen(build, port, conns, args))
            r["server"] = name
            rows.append(r)
            print("  %-12s %4d conns: %9.0f req/s  p50 %6.0f us  p99 %7.0f us  cpu %5.1f us/req  "
                  "errors %d mismatched %d unserved %d" % (name, conns, r["rps"], r["p50_us"], r["p99_us"],
                                                        r["cpu_us"], r["errors"], r["mismatched"], r["unserved"]),
                  flush=True)
    return rows


def redis_benchmark(port, args):
    n = max(20000, int(40000 * args.seconds))
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(args.peer_connections),
                          "-n", str(n), "-t", "set,get", "--csv"], capture_output=True, text=True, timeout=600)
    rows = {}
    for line in out.stdout.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 7 and cells[0] in ("SET", "GET"):
            rows[cells[0]] = dict(rps=float(cells[1]), p50_us=float(cells[4]) * 1000, p99_us=float(cells[6]) * 1000,
                                  requests=n, total_requests=n)
    if not rows:
        raise RuntimeError("redis-benchmark printed no results: %s" % (out.stderr or out.stdout)[-500:])
    return rows


def wrk_duration(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1e6}[m.group(2)] if m else float("nan")


def wrk(port, args):
    out = subprocess.run(["wrk", "-t1", "-c%d" % args.peer_connections, "-d%ds" % max(1, round(args.seconds)),
                          "--latency", "http://127.0.0.1:%d/" % port], capture_output=True, text=True, timeout=600)
    text = out.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    if not rps:
        raise RuntimeError("wrk printed no result: %s" % (out.stderr or text)[-500:])
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errs = int(errors.group(1)) if errors else 0
    if socket_errors:
        errs += sum(int(g) for g in socket_errors.groups())
    return dict(rps=float(rps.group(1)), p50_us=wrk_duration(p50.group(1)) if p50 else float("nan"),
                p99_us=wrk_duration(p99.group(1)) if p99 else float("nan"),
                total_requests=int(total.group(1)) if total else 0, errors=errs)


def peer_rows(args, build, workdir, plugins):
    """redis-benchmark: kv vs redis-server; wrk: http_hello vs nginx."""
    rows = []
    have = lambda tool: shutil.which(tool) is not None

    def record(group, name, r):
        r.update(group=group, server=name)
        rows.append(r)
        print("  %-10s %-12s %9.0f req/s  p50 %6.0f us  p99 %7.0f us  cpu %5.1f us/req" %
              (group, name, r["rps"], r["p50_us"], r["p99_us"], r["cpu_us"]), flush=True)

    ports = dict(echo=free_port(), kv=free_port(), http=free_port())
    wanted = [p for p in ("kv", "http_hello") if p in plugins]
    if not wanted:
        print("  (no kv or http_hello plugin built: real-peer comparison skipped)")
        return rows
    cfg = portico_config(workdir, build, ports, "events", args, ["echo"] + wanted)
    if "kv" in wanted and have("redis-benchmark") and have("redis-server"):
        with Server("portico-kv", [os.path.join(build, "bin", "portico"), "--config", cfg], ports["kv"],
                    workdir) as srv:
            before = srv.cpu()
            res = redis_benchmark(ports["kv"], args)
            cpu = srv.cpu() - before
        port = free_port()
        with Server("redis-server", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--daemonize", "no"], port, workdir) as srv:
            before = srv.cpu()
            ref = redis_benchmark(port, args)
            ref_cpu = srv.cpu() - before
        for name, data, used in (("portico kv", res, cpu), ("redis-server", ref, ref_cpu)):
            total = sum(r["total_requests"] for r in data.values())
            for test, r in sorted(data.items()):
                r["cpu_us"] = used * 1e6 / total  # the run's CPU shared over SET and GET
                record("redis " + test, name, r)
    else:
        print("  (redis-server/redis-benchmark not installed: kv comparison skipped)")
    if "http_hello" in wanted and have("wrk") and (have("nginx") or os.path.exists("/usr/sbin/nginx")):
        with Server("portico-http", [os.path.join(build, "bin", "portico"), "--config", cfg], ports["http"],
                    workdir) as srv:
            r = measure(srv, lambda: wrk(ports["http"], args))
        record("http", "portico http_hello", r)
        port = free_port()
        nginx_dir = os.path.join(workdir, "nginx")
        os.makedirs(nginx_dir, exist_ok=True)
        with open(os.path.join(nginx_dir, "nginx.conf"), "w") as f:
            f.write("daemon off;\nmaster_process off;\nworker_processes 1;\npid %s/nginx.pid;\n"
                    "error_log %s/error.log;\nevents { worker_connections 4096; }\n"
                    "http {\n  access_log off;\n  client_body_temp_path %s;\n  proxy_temp_path %s;\n"
                    "  fastcgi_temp_path %s;\n  uwsgi_temp_path %s;\n  scgi_temp_path %s;\n"
                    "  server {\n    listen 127.0.0.1:%d;\n"
                    "    location / { default_type text/plain; return 200 \"Hello, world!\\n\"; }\n  }\n}\n"
                    % ((nginx_dir,) * 7 + (port,)))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        with Server("nginx", [nginx, "-p", nginx_dir, "-c", os.path.join(nginx_dir, "nginx.conf")], port,
                    workdir) as srv:
            r = measure(srv, lambda: wrk(port, args))
        record("http", "nginx", r)
    else:
        print("  (wrk/nginx not installed: http comparison skipped)")
    return rows


def ratio(value, base):
    if not base or value != value or base != base:
        return "-"
    return "%.2fx" % (value / base)


def table(echo, peers, args):
    lines = ["| conns | server | req/s | p50 µs | p99 µs | server CPU µs/req | errors | mismatched | never served |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for conns in args.connections:
        group = [r for r in echo if r["connections"] == conns]
        base = next((r for r in group if r["server"] == "portico"), None)
        for r in group:
            def cell(key, fmt):
                value = fmt % r[key]
                return value if r is base or base is None else "%s (%s)" % (value, ratio(r[key], base[key]))
            lines.append("| %d | %s | %s | %s | %s | %s | %d | %d | %d |" % (
                conns, r["server"], cell("rps", "%.0f"), cell("p50_us", "%.0f"), cell("p99_us", "%.0f"),
                cell("cpu_us", "%.1f"), r["errors"], r["mismatched"], r["unserved"]))
    if peers:
        lines += ["", "| test | server | req/s | p50 µs | p99 µs | server CPU µs/req | errors |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for group in dict.fromkeys(r["group"] for r in peers):
            rows = [r for r in peers if r["group"] == group]
            base = rows[0]
            for r in rows:
                def cell(key, fmt):
                    value = fmt % r[key]
                    return value if r is base else "%s (%s)" % (value, ratio(r[key], base[key]))
                lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    group, r["server"], cell("rps", "%.0f"), cell("p50_us", "%.0f"), cell("p99_us", "%.0f"),
                    cell("cpu_us", "%.1f"), r.get("errors", "-")))
    return "\n".join(lines)


def plot(echo, peers, args, out_dir):
    """Requests/s and p99 per echo server and connection count; real peers."""
    names = list(dict.fromkeys(r["server"] for r in echo))
    data = os.path.join(out_dir, "echo.dat")
    with open(data, "w") as f:
        f.write("conns " + " ".join(names) + " " + " ".join(n + "_p99" for n in names) + " " +
                " ".join(n + "_cpu" for n in names) + "\n")
        for conns in args.connections:
            by = {r["server"]: r for r in echo if r["connections"] == conns}
            f.write("%d %s\n" % (conns, " ".join(" ".join("%.1f" % by[n][key] if n in by else "?" for n in names)
                                               for key in ("rps", "p99_us", "cpu_us"))))
    peer_data = os.path.join(out_dir, "peers.dat")
    with open(peer_data, "w") as f:
        for r in peers:
            f.write("\"%s: %s\" %.1f\n" % (r["group"], r["server"], r["rps"]))
    png = os.path.join(out_dir, "bench.png")
    n = len(names)
    title = "Portico echo vs baselines, %d-byte requests, depth %d, %g s per run" % (args.size, args.depth, args.seconds)
    script = [
        "set terminal pngcairo size 1800,540 font 'DejaVu Sans,10'" if gnuplot_has_cairo() else
        "set terminal png size 1800,540",
        "set output '%s'" % png, "set termoption noenhanced", "set key autotitle columnhead",
        "set multiplot layout 1,%d title '%s'" % (4 if peers else 3, title), "set bmargin 5",
        "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.8 border -1",
        "set key top right", "set grid ytics", "set logscale y", "set yrange [*:*]",
        "set offsets 0, 0, graph 0.35, 0",  # headroom above the bars for the key
        "set title 'requests/s (log scale, higher is better)'", "set xlabel 'connections'",
        "plot " + ", ".join("'%s' using %d:xtic(1) title col" % (data, i + 2) for i in range(n)),
        "set title 'p99 latency, µs (log scale, lower is better)'",
        "plot " + ", ".join("'%s' using %d:xtic(1) title '%s'" % (data, n + i + 2, names[i]) for i in range(n)),
        "unset logscale y", "set yrange [0:*]",
        "set title 'server CPU µs per request (lower is better)'",
        "plot " + ", ".join("'%s' using %d:xtic(1) title '%s'" % (data, 2 * n + i + 2, names[i]) for i in range(n)),
    ]
    if peers:
        script += ["set key noautotitle", "set title 'real peers, %d connections: requests/s'" % args.peer_connections,
                   "unset xlabel", "set offsets 0, 0, graph 0.1, 0", "set bmargin 8",
                   "set xtics font ',8' rotate by 35 right",
                   "plot '%s' using 2:xtic(1) notitle lc rgb '#4477aa'" % peer_data]
    script.append("unset multiplot")
    if shutil.which("gnuplot"):
        gp = os.path.join(out_dir, "bench.gp")
        with open(gp, "w") as f:
            f.write("\n".join(script) + "\n")
        subprocess.run(["gnuplot", gp], check=True)
        return png
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (neither gnuplot nor matplotlib installed: no chart)")
        return None
    fig, axes = plt.subplots(1, 4 if peers else 3, figsize=(18, 5))
    width = 0.8 / n
    for k, key in enumerate(("rps", "p99_us", "cpu_us")):
        for i, name in enumerate(names):
            xs, ys = [], []
            for j, conns in enumerate(args.connections):
                r = next((r for r in echo if r["server"] == name and r["connections"] == conns), None)
                if r:
                    xs.append(j + i * width)
                    ys.append(r[key])
            axes[k].bar(xs, ys, width, label=name)
        axes[k].set_xticks([j + 0.4 - width / 2 for j in range(len(args.connections))], args.connections)
        if key != "cpu_us":
            axes[k].set_yscale("log")
        axes[k].set_title({"rps": "requests/s", "p99_us": "p99 latency, µs", "cpu_us": "server CPU µs/request"}[key])
        axes[k].legend()
    if peers:
        axes[3].bar(range(len(peers)), [r["rps"] for r in peers])
        axes[3].set_xticks(range(len(peers)), ["%s\n%s" % (r["group"], r["server"]) for r in peers], fontsize=7)
        axes[3].set_title("real peers: requests/s")
    fig.suptitle(title)
    fig.savefig(png, dpi=100)
    return png


def gnuplot_has_cairo():
    if not shutil.which("gnuplot"):
        return False
    out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in out.stdout + out.stderr


def machine_conditions():
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return "%d CPUs (%s), load average %s" % (os.cpu_count(), model, " ".join(load))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", required=True, help="CMake build directory (Release for real numbers)")
    ap.add_argument("--out", help="where to write bench.md, results.json, bench.png (default BUILD/bench)")
    ap.add_argument("--png", help="also copy the chart here (docs/bench.png)")
    ap.add_argument("--connections", default="1,64,512", help="comma-separated connection counts")
    ap.add_argument("--seconds", type=float, default=5, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=1, help="unmeasured seconds before each run")
    ap.add_argument("--depth", type=int, default=1, help="requests in flight per connection")
    ap.add_argument("--size", type=int, default=64, help="bytes per request")
    ap.add_argument("--loops", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                    help="event loops of Portico's mode events services (default: one per CPU but one, which the "
                         "load generator needs)")
    ap.add_argument("--threads-max", type=int, default=64,
                    help="threads.max of portico-threads and raw Poco's pool (the same for both)")
    ap.add_argument("--peer-connections", type=int, default=64, help="connections for redis-benchmark and wrk")
    ap.add_argument("--no-peers", action="store_true", help="skip redis-benchmark and wrk")
    ap.add_argument("--smoke", action="store_true", help="1-second runs at 4 connections, no peers, no chart")
    ap.add_argument("--replot", action="store_true", help="only redraw the chart from OUT/results.json")
    args = ap.parse_args()
    if args.smoke:
        args.connections, args.seconds, args.warmup, args.no_peers = "4", 1, 0, True
    args.connections = [int(c) for c in str(args.connections).split(",")]
    build = os.path.abspath(args.build_dir)
    out_dir = os.path.abspath(args.out or os.path.join(build, "bench"))
    os.makedirs(out_dir, exist_ok=True)
    plugins = [p for p in ("echo", "kv", "http_hello") if os.path.exists(os.path.join(build, "plugins", p + ".so"))]
    if "echo" not in plugins:
        sys.exit("run_bench: %s/plugins/echo.so is missing; build first" % build)

    if args.replot:
        with open(os.path.join(out_dir, "results.json")) as f:
            saved = json.load(f)
        for key in ("connections", "size", "depth", "seconds", "peer_connections"):
            setattr(args, key, saved["args"][key])
        png = plot(saved["echo"], saved["peers"], args, out_dir)
        if png and args.png:
            shutil.copyfile(png, args.png)
        print("chart: %s" % png)
        return
    conditions = machine_conditions()
    print("Conditions before the run: " + conditions, flush=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    with tempfile.TemporaryDirectory(prefix="portico-bench-") as workdir:
        print("echo, %d-byte requests, depth %d, %g s per run (+%g s warm-up):" %
              (args.size, args.depth, args.seconds, args.warmup), flush=True)
        echo = echo_rows(args, build, workdir, plugins)
        peers = []
        if not args.no_peers:
            print("real peers, %d connections:" % args.peer_connections, flush=True)
            peers = peer_rows(args, build, workdir, plugins)
    after = machine_conditions()
    text = table(echo, peers, args)
    print()
    print(text)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(dict(started=started, before=conditions, after=after, echo=echo, peers=peers,
                       args=vars(args)), f, indent=1)
    with open(os.path.join(out_dir, "bench.md"), "w") as f:
        f.write("Run %s. Before: %s. After: %s.\n\n%s\n" % (started, conditions, after, text))
    if not args.smoke:
        png = plot(echo, peers, args, out_dir)
        if png and args.png:
            shutil.copyfile(png, args.png)
            print("chart: %s (and %s)" % (png, args.png))
        elif png:
            print("chart: " + png)
    print("Conditions after the run: " + after)
    print("results: " + out_dir)


if __name__ == "__main__":
    main()
