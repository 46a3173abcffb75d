#!/usr/bin/env python3
"""CPU µs per token request of `bearing load` (issue 15): two builds (BEFORE, AFTER), http and
https, alternating order by round, against one `bearing serve` per scheme (AFTER's).
Usage: BEFORE=/tmp/bearing-before AFTER=target/release/bearing RATE=3000 DUR=10 ROUNDS=2 \
       scripts/load-token-cpu.py   (prints one JSON line per run; results.json in WORK)
The load process's utime+stime (from /proc/PID/stat, sampled every 10 ms) over exactly the
measured window (summary.json started_at + duration_s); the pool is prefilled and does not
refill, so no signing happens in the window: the CPU is the request path's."""
import json, os, subprocess, sys, time, datetime, signal
RATE = int(os.environ.get("RATE", "1000")); DUR = int(os.environ.get("DUR", "15"))
ROUNDS = int(os.environ.get("ROUNDS", "2"))
BIN = {"before": os.path.abspath(os.environ["BEFORE"]), "after": os.path.abspath(os.environ["AFTER"])}
TCK = os.sysconf("SC_CLK_TCK")
import tempfile
os.chdir(os.environ.get("WORK") or tempfile.mkdtemp(prefix="bearing-token-cpu-"))
subprocess.run([BIN["after"], "keygen", "--client-id", "SampleConfId", "--out", "."], check=True, capture_output=True)
def serve(extra):
    p = subprocess.Popen([BIN["after"], "serve", "--output", "json", "--listen", "127.0.0.1:0",
                          "--client", "SampleConfId=cert.pem"] + extra, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    doc = ""
    for line in p.stdout:
        doc += line
        if line.rstrip() == "}": break
    return p, json.loads(doc)
servers = {}
for scheme, extra in [("http", []), ("https", ["--tls-self-signed"])]:
    p, info = serve(extra)
    tls = ""
    if scheme == "https":
        open("ca.pem", "w").write(info["tls_certificate_pem"]); tls = "tls: { ca_bundle: ca.pem }\n"
    open(f"target-{scheme}.yaml", "w").write(f"token_url: {info['token_url']}\nclient_id: SampleConfId\nprivate_key: private.pem\ncertificate: cert.pem\n{tls}")
    servers[scheme] = p
open("p.yaml", "w").write(f"name: cpu\nduration: {DUR}s\nusers: 32\nrate: {RATE}/s\npool: {{ capacity: {RATE*DUR+2000}, prefill: true, refill: false }}\nscenarios:\n  - {{ name: token, kind: token }}\n")
def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        x = f.read().rsplit(")", 1)[1].split()
    return (int(x[11]) + int(x[12])) / TCK
def one(which, scheme, tag):
    rep = f"r-{tag}"
    p = subprocess.Popen([BIN[which], "load", "p.yaml", "--target", f"target-{scheme}.yaml", "--report-dir", rep, "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = []
    while p.poll() is None:
        try: samples.append((time.time(), cpu(p.pid)))
        except Exception: pass
        time.sleep(0.01)
    s = json.load(open(f"{rep}/summary.json"))
    t0 = datetime.datetime.fromisoformat(s["started_at"].replace("Z", "+00:00")).timestamp()
    t1 = t0 + s["duration_s"]
    at = lambda t: min(samples, key=lambda x: abs(x[0] - t))[1]
    c = at(t1) - at(t0)
    tok = s["scenarios"][0]["phases"]["token"]
    load1 = os.getloadavg()[0]
    return dict(which=which, scheme=scheme, requests=tok["count"], errors=tok["errors"], offered=s["scenarios"][0]["offered_rate"],
                cpu_s=c, us_per_req=c * 1e6 / max(tok["count"], 1), p50=tok["latency_us"]["corrected"]["p50"], load=load1, rc=p.returncode)
out = []
try:
    for r in range(ROUNDS):
        for scheme in ["http", "https"]:
            order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
            for w in order:
                x = one(w, scheme, f"{r}-{scheme}-{w}")
                out.append(x); print(json.dumps(x), flush=True)
finally:
    for p in servers.values(): p.kill()
json.dump(out, open("results.json", "w"), indent=1)
