#!/usr/bin/env python3
"""Print the benchmark's table from the harness's results JSON: `report.py RESULTS.json`."""
import json, sys

SIS_NA = "unavailable (not installable from the Go proxy here)"

d = json.load(open(sys.argv[1]))
m, r = d["meta"], d["results"]
K = m["k"]
n = {"w1": m["w1_files"] * K, "w2": m["w2_keys"], "w3": m["w3_files"] * K}


def ms(s):
    return "%.1f s" % s if s >= 10 else ("%.2f s" % s if s >= 1 else "%.1f ms" % (s * 1e3))


def us(s):
    return "%.1f µs" % (s * 1e6) if s < 1e-3 else "%.2f ms" % (s * 1e3)


def mib(k):
    return "%.1f MiB" % (k / 1024)


rows = []  # workload, tool, secrets, median, per secret, peak RSS, comparison


def row(w, tool, key, secrets, cmp=""):
    x = r.get(key)
    if x is None:
        rows.append((w, tool, "{:,}".format(secrets), SIS_NA, "", "", "not measured"))
        return
    rows.append((w, tool, "{:,}".format(secrets), ms(x["median_s"]), us(x["median_s"] / secrets),
                 mib(x["peak_rss_kib"]), cmp))


def ratio(a, b):
    return r[a]["median_s"] / r[b]["median_s"] if a in r and b in r else None


row("W1", "keyward", "kw_w1", n["w1"], "—")
x = ratio("sis_w1", "kw_w1")
row("W1", "sops-install-secrets", "sis_w1", n["w1"], x and "keyward %.1f× faster" % x)
x = ratio("agenix_w1", "kw_w1")
row("W1", "agenix-style loop (age -d per secret)", "agenix_w1", n["w1"], "keyward %.1f× faster" % x)
x = ratio("kw_w1", "floor_w1")
row("W1", "floor (unwrap + AES-GCM + write)", "floor_w1", n["w1"], "keyward takes %.2f× the floor" % x)
row("W2", "keyward", "kw_w2", n["w2"], "—")
x = ratio("sis_w2", "kw_w2")
row("W2", "sops-install-secrets", "sis_w2", n["w2"], x and "keyward %.1f× faster" % x)
per1 = r["kw_w1"]["median_s"] / n["w1"]
per3 = r["kw_w3"]["median_s"] / n["w3"]
row("W3", "keyward", "kw_w3", n["w3"], "per secret %.2f× W1's" % (per3 / per1))
w4 = r["kw_w4"]["median_s"] / r["kw_w1"]["median_s"]
row("W4", "keyward, same W1 plan unchanged", "kw_w4", n["w1"], "%.1f%% of a full W1 install" % (w4 * 100))


def table(head, body):
    w = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(cells)) + " |"
    out = [line(head), "|" + "|".join("-" * (x + 2) for x in w) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)


def verdict(ok):
    return "met" if ok else "MISSED"


targets = []
for key, w, need, label in (("sis_w1", "W1", 20, "W1: keyward vs sops-install-secrets"),
                            ("agenix_w1", "W1", 20, "W1: keyward vs agenix-style loop"),
                            ("sis_w2", "W2", 100, "W2: keyward vs sops-install-secrets")):
    kwk = "kw_" + w.lower()
    if key in r:
        x = ratio(key, kwk)
        targets.append((label, "%.1f× faster" % x, "≥ %d× faster" % need, verdict(x >= need)))
    else:
        targets.append((label, "—", "≥ %d× faster" % need,
                        "not measured (sops-install-secrets unavailable)"))
x = per3 / per1
targets.append(("W3: per-secret cost vs W1's", "%.2f×" % x, "≤ 1.3×", verdict(x <= 1.3)))
targets.append(("W4: unchanged run vs full W1 install", "%.1f%%" % (w4 * 100), "≤ 5%", verdict(w4 <= 0.05)))
x = ratio("kw_w1", "floor_w1")
targets.append(("W1: keyward vs the floor", "%.2f× the floor's time" % x, "≤ 2×", verdict(x <= 2)))
rss3 = r["kw_w3"]["peak_rss_kib"] / 1024
targets.append(("W3: keyward peak RSS", "%.1f MiB" % rss3, "≤ 64 MiB", verdict(rss3 <= 64)))
if m["w3_files"] * K != 10000:  # BENCH_QUICK or BENCH_W3_FILES: W3 is not the W3
    note = " (W3 here is %s secrets, the target is for 10,000)" % "{:,}".format(m["w3_files"] * K)
    targets = [t[:3] + (t[3] + note,) if t[0].startswith("W3") else t for t in targets]

print("keyward benchmark%s: W1 %d files × %d, W2 1 file × %d, W3 %d files × %d; median of %d interleaved rounds"
      " (after 1 warm-up round, which also measures peak RSS under GNU time)"
      % (" (BENCH_QUICK)" if m["quick"] else "", m["w1_files"], K, m["w2_keys"], m["w3_files"], K, m["runs"]))
print("%s; %d CPUs (%s), Linux %s%s; load average %s at start, %s at end"
      % ("private mount namespace, inputs and outputs on a ramfs" if m["ramfs"] else "NOT on a ramfs: " + m["note"],
         m["nproc"], m["cpu"], m["kernel"], "; " + m["tools"] if m.get("tools") else "", m.get("load_start", "?"), m.get("load_end", "?")))
print()
print(table(("workload", "tool", "secrets", "median", "per secret", "peak RSS", "comparison"), rows))
print()
print(table(("target (issue 4 §5)", "measured", "target", "result"), targets))
missed = sum(1 for t in targets if t[3].startswith("MISSED"))
nm = sum(1 for t in targets if t[3].startswith("not measured"))
print()
print("%d of %d targets met, %d MISSED, %d not measured." % (len(targets) - missed - nm, len(targets), missed, nm))
