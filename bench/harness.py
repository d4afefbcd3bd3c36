#!/usr/bin/env python3
"""The benchmark's measuring half (bench/run.sh prepares fixtures and binaries, then runs this,
as root inside a private mount namespace with SCRATCH on a ramfs).

Every measured thing is one process tree started fresh: wall time around spawn..wait4, peak RSS
from wait4's rusage (ru_maxrss: the largest process of the tree, children included). Each is run
once untimed (warm-up: page cache, fixture copies), then RUNS times; the median is reported.
A reset command that is not timed puts the target back into its starting state before each run.
"""
import json, os, platform, shutil, statistics, subprocess, sys, time

env = os.environ
CACHE = env["BENCH_CACHE"]; SCRATCH = env["BENCH_SCRATCH"]
KEYWARD = env["BENCH_KEYWARD"]; FLOOR = env["BENCH_FLOOR"]
SIS = env.get("BENCH_SIS", "")                      # sops-install-secrets, "" when absent
AGE = env.get("BENCH_AGE", "/usr/bin/age")
TIME = env.get("BENCH_TIME", "/usr/bin/time")   # GNU time
SETTLE = float(env.get("BENCH_SETTLE", "0.2"))   # seconds of pause before each run
RUNS = int(env["BENCH_RUNS"]); K = int(env["BENCH_K"])
W1N = int(env["BENCH_W1_FILES"]); W3N = int(env["BENCH_W3_FILES"]); W2K = int(env["BENCH_W2_KEYS"])
ON_RAMFS = env.get("BENCH_RAMFS") == "1"
NOTE = env.get("BENCH_NOTE", "")
RESULTS = env["BENCH_RESULTS"]
SIS_UNAVAILABLE = "unavailable (not installable from the Go proxy here)"

IN = os.path.join(SCRATCH, "in")
KEY = os.path.join(IN, "key.txt")


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True, executable="/bin/bash")


def copy_inputs():
    os.makedirs(os.path.join(IN, "pool"), exist_ok=True)
    os.makedirs(os.path.join(IN, "age"), exist_ok=True)
    shutil.copy(os.path.join(CACHE, "key.txt"), KEY)
    pool = os.path.join(CACHE, "pool-k%d" % K, "enc")
    for i in range(max(W1N, W3N)):
        shutil.copy(os.path.join(pool, "%04d.yaml" % i), os.path.join(IN, "pool", "%04d.yaml" % i))
    shutil.copy(os.path.join(CACHE, "w2-%d" % W2K, "w2.yaml"), os.path.join(IN, "w2.yaml"))
    agedir = os.path.join(CACHE, "age-k%d" % K)
    for i in range(W1N):
        for j in range(K):
            n = "%04d-s%d.age" % (i, j)
            shutil.copy(os.path.join(agedir, n), os.path.join(IN, "age", n))


def plain_values(i):
    out = {}
    with open(os.path.join(CACHE, "pool-k%d" % K, "plain", "%04d.yaml" % i)) as f:
        for line in f:
            k, v = line.rstrip("\n").split(": ", 1)
            out[k] = v
    return out


def w2_values():
    out = {}
    with open(os.path.join(CACHE, "w2-%d" % W2K, "plain.yaml")) as f:
        for line in f:
            k, v = line.rstrip("\n").split(": ", 1)
            out[k] = v
    return out


def secrets_for(files, prefix=""):
    """[(name, key, sopsFile)] of `files` pool files × K keys."""
    return [("%04d-s%d" % (i, j), "s%d" % j, os.path.join(IN, "pool", "%04d.yaml" % i))
            for i in range(files) for j in range(K)]


def manifest(secrets, root):
    """A sops-nix manifest (no version: what sops-nix's module writes), paths under `root`
    ("" = the real /run, used with keyward's --root)."""
    link = root + "/run/secrets"
    return {
        "secrets": [{
            "name": n, "key": k, "path": "%s/%s" % (link, n), "owner": None, "uid": 0,
            "group": None, "gid": 0, "sopsFile": f, "format": "yaml", "mode": "0400",
            "restartUnits": [], "reloadUnits": [], "neededForUsers": False, "sopsFileHash": "",
        } for (n, k, f) in secrets],
        "templates": [], "placeholderBySecretName": {},
        "secretsMountPoint": root + "/run/secrets.d", "symlinkPath": link,
        "keepGenerations": 1, "sshKeyPaths": [], "gnupgHome": None, "ageKeyFile": KEY,
        "ageSshKeyPaths": [], "useTmpfs": False, "userMode": False,
        "logging": {"keyImport": True, "secretChanges": True},
    }


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
    return path


def agenix_script(n_files, root):
    """The activation bash agenix's module generates (modules/age.nix: agenixNewGeneration and
    agenixInstall, unrolled per secret), for the W1 secrets as .age files. agenixChown (one
    `chown` process per secret, run after users) is left out."""
    mp, sd = root + "/agenix.d", root + "/agenix"
    mount = ('grep -q "%s ramfs" /proc/mounts || mount -t ramfs none "%s" -o nodev,nosuid,mode=0751\n'
             % (mp, mp)) if ON_RAMFS else ""
    s = ["set -u", 'export PATH=/usr/bin:/bin:/usr/sbin:/sbin',
         '_agenix_generation="$(basename "$(readlink %s)" || echo 0)"' % sd,
         '(( ++_agenix_generation ))',
         'echo "[agenix] creating new generation in %s/$_agenix_generation"' % mp,
         'mkdir -p "%s"' % mp, 'chmod 0751 "%s"' % mp, mount,
         'mkdir -p "%s/$_agenix_generation"' % mp, 'chmod 0751 "%s/$_agenix_generation"' % mp,
         "echo '[agenix] decrypting secrets...'",
         "test -f %s || echo '[agenix] WARNING: config.age.identityPaths entry %s not present!'" % (KEY, KEY)]
    for i in range(n_files):
        for j in range(K):
            name = "%04d-s%d" % (i, j)
            src = os.path.join(IN, "age", name + ".age")
            s.append('''_truePath="%(mp)s/$_agenix_generation/%(name)s"
echo "decrypting '%(src)s' to '$_truePath'..."
TMP_FILE="$_truePath.tmp"
mkdir -p "$(dirname "$_truePath")"
[ "%(sd)s/%(name)s" != "%(sd)s/%(name)s" ] && mkdir -p "$(dirname "%(sd)s/%(name)s")"
(
  umask u=r,g=,o=
  test -f "%(src)s" || echo '[agenix] WARNING: encrypted file %(src)s does not exist!'
  test -d "$(dirname "$TMP_FILE")" || echo "[agenix] WARNING: $(dirname "$TMP_FILE") does not exist!"
  LANG=C %(age)s --decrypt -i %(key)s -o "$TMP_FILE" "%(src)s"
)
chmod 0400 "$TMP_FILE"
mv -f "$TMP_FILE" "$_truePath"
''' % dict(mp=mp, sd=sd, name=name, src=src, age=AGE, key=KEY))
    s.append('''_agenix_generation="$(basename "$(readlink %(sd)s)" || echo 0)"
(( ++_agenix_generation ))
echo "[agenix] symlinking new secrets to %(sd)s (generation $_agenix_generation)..."
ln -sfn "%(mp)s/$_agenix_generation" %(sd)s
(( _agenix_generation > 1 )) && {
echo "[agenix] removing old secrets (generation $(( _agenix_generation - 1 )))..."
rm -rf "%(mp)s/$(( _agenix_generation - 1 ))"
}
true
''' % dict(mp=mp, sd=sd))
    return "\n".join(s) + "\n"


def unmount_below(path):
    """Unmount every mount at or below `path` (deepest first)."""
    with open("/proc/self/mounts") as f:
        mps = [l.split()[1] for l in f]
    for m in sorted((m for m in mps if m == path or m.startswith(path + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", m], check=False)


def fresh_dir(path):
    unmount_below(path)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def run_once(argv, log, rss=False):
    """Run argv once; (seconds, peak RSS KiB or None). With rss, under GNU time (`%M`): wait4's
    own ru_maxrss would report this Python's size, which the forked child carries until exec."""
    rss_file = log + ".rss"
    if rss:
        argv = [TIME, "-f", "%M", "-o", rss_file] + argv
    with open(log, "ab") as lf:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=lf, stderr=lf, stdin=subprocess.DEVNULL)
        _, status, _ = os.wait4(p.pid, 0)
        t = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit("bench: %s exited %d; see %s" % (argv, code, log))
    if rss:
        with open(rss_file) as f:
            return t, int(f.read().split()[-1])
    return t, None


class Case:
    def __init__(self, key, label, argv, reset=None):
        self.key, self.label, self.argv, self.reset = key, label, argv, reset
        self.log = os.path.join(SCRATCH, "logs", key + ".log")
        self.times, self.rss = [], None


def measure_all(cases):
    """Round-robin: round 0 runs every case once untimed (warm-up; peak RSS under GNU time),
    rounds 1..RUNS time every case once each, so load from elsewhere on the machine falls on all
    cases alike rather than on whichever ran during it; a short pause (SETTLE) before each run."""
    for n in range(RUNS + 1):
        # Each round starts one case later, so no case always follows the same one (the
        # agenix-style loop leaves thousands of exited processes for the kernel to clean up).
        for c in cases[n % len(cases):] + cases[:n % len(cases)]:
            if c.reset:
                c.reset()
            time.sleep(SETTLE)  # let the reset's and the previous case's deferred work finish
            t, r = run_once(c.argv, c.log, rss=(n == 0))
            if n == 0:
                c.rss = r
            else:
                c.times.append(t)
        print("bench: round %d/%d done (load average %s)" % (n, RUNS, loadavg()), file=sys.stderr, flush=True)
    res = {}
    for c in cases:
        med = statistics.median(c.times)
        print("bench: %-28s median %9.2f ms  (min %.2f, max %.2f, n=%d)  peak RSS %.1f MiB"
              % (c.label, med * 1e3, min(c.times) * 1e3, max(c.times) * 1e3, len(c.times), c.rss / 1024),
              file=sys.stderr, flush=True)
        res[c.key] = {"label": c.label, "median_s": med, "min_s": min(c.times), "max_s": max(c.times),
                      "runs": len(c.times), "times_s": c.times, "peak_rss_kib": c.rss}
    return res


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def check_tree(d, expected, what):
    bad = 0
    for name, val in expected.items():
        p = os.path.join(d, name)
        try:
            with open(p, "rb") as f:
                got = f.read()
            st = os.lstat(p)
            if got != val.encode() or (st.st_mode & 0o7777) != 0o400:
                bad += 1
        except OSError:
            bad += 1
    extra = set(x for x in os.listdir(d) if not x.startswith(".")) - set(expected)
    if bad or extra:
        sys.exit("bench: %s: %d wrong or missing files, %d unexpected" % (what, bad, len(extra)))
    print("bench: checked %s: %d files, right bytes and mode" % (what, len(expected)), file=sys.stderr)


def main():
    t_start = time.perf_counter()
    os.makedirs(os.path.join(SCRATCH, "logs"), exist_ok=True)
    copy_inputs()
    P = os.path.join(SCRATCH, "plans"); os.makedirs(P, exist_ok=True)
    w1 = secrets_for(W1N); w3 = secrets_for(W3N)
    w2 = [("w2-s%d" % j, "s%d" % j, os.path.join(IN, "w2.yaml")) for j in range(W2K)]
    plan = {w: write_json(os.path.join(P, w + ".json"), manifest(s, ""))
            for w, s in (("w1", w1), ("w2", w2), ("w3", w3))}
    exp_w1 = {}
    for i in range(W1N):
        for k, v in plain_values(i).items():
            exp_w1["%04d-s%s" % (i, k[1:])] = v
    exp_w2 = {"w2-" + k: v for k, v in w2_values().items()}
    mount = ["--mount"] if ON_RAMFS else []
    R = lambda n: os.path.join(SCRATCH, n)
    kw = lambda root, planfile: [KEYWARD, "install", "--root", root] + mount + [planfile]
    fresh = lambda d: (lambda: fresh_dir(d))
    # W4 starts from one full install of W1; its runs then find everything unchanged.
    fresh_dir(R("kw-w4"))
    run_once(kw(R("kw-w4"), plan["w1"]), os.path.join(SCRATCH, "logs", "w4-setup.log"))
    gen_before = os.readlink(R("kw-w4/run/secrets"))
    script = os.path.join(P, "agenix-w1.sh")
    with open(script, "w") as f:
        f.write(agenix_script(W1N, R("ag-w1")))
    cases = [
        Case("kw_w1", "keyward W1", kw(R("kw-w1"), plan["w1"]), fresh(R("kw-w1"))),
        Case("floor_w1", "floor W1", [FLOOR, KEY, plan["w1"], R("floor-w1")], fresh(R("floor-w1"))),
        Case("kw_w2", "keyward W2", kw(R("kw-w2"), plan["w2"]), fresh(R("kw-w2"))),
        Case("kw_w3", "keyward W3", kw(R("kw-w3"), plan["w3"]), fresh(R("kw-w3"))),
        Case("kw_w4", "keyward W4 (unchanged)", kw(R("kw-w4"), plan["w1"])),
        Case("agenix_w1", "agenix-style loop W1", ["/bin/bash", script], fresh(R("ag-w1"))),
    ]
    sis_roots = {}
    if SIS:
        for w, secrets in (("w1", w1), ("w2", w2)):
            root = sis_roots[w] = R("sis-" + w)
            mf = write_json(os.path.join(P, "sis-%s.json" % w), manifest(secrets, root))
            cases.append(Case("sis_" + w, "sops-install-secrets " + w.upper(), [SIS, mf], fresh(root)))
    load_start = loadavg()
    res = measure_all(cases)
    load_end = loadavg()
    # What each left behind (the last run's tree) is checked: bytes, mode, count.
    check_tree(R("kw-w1/run/secrets"), exp_w1, "keyward W1")
    check_tree(R("floor-w1"), exp_w1, "floor W1")
    check_tree(R("kw-w2/run/secrets"), exp_w2, "keyward W2")
    n3 = len([x for x in os.listdir(R("kw-w3/run/secrets")) if not x.startswith(".")])
    if n3 != W3N * K:
        sys.exit("bench: keyward W3 installed %d files, not %d" % (n3, W3N * K))
    if os.readlink(R("kw-w4/run/secrets")) != gen_before:
        sys.exit("bench: W4 made a new generation: the unchanged path was not taken")
    check_tree(R("kw-w4/run/secrets"), exp_w1, "keyward W4")
    check_tree(R("ag-w1/agenix"), exp_w1, "agenix-style loop W1")
    for w, root in sis_roots.items():
        check_tree(root + "/run/secrets", exp_w1 if w == "w1" else exp_w2, "sops-install-secrets " + w.upper())
    res["elapsed_measure_s"] = time.perf_counter() - t_start
    meta = {"runs": RUNS, "k": K, "w1_files": W1N, "w3_files": W3N, "w2_keys": W2K,
            "ramfs": ON_RAMFS, "note": NOTE, "sis": SIS or None, "age": AGE,
            "nproc": os.cpu_count(), "load_start": load_start, "load_end": load_end, "cpu": cpu_model(), "kernel": platform.release(),
            "keyward": KEYWARD, "tools": env.get("BENCH_TOOLS", ""), "quick": env.get("BENCH_QUICK", "0") == "1"}
    with open(RESULTS, "w") as f:
        json.dump({"meta": meta, "results": res}, f, indent=1)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for l in f:
                if l.startswith("model name"):
                    return l.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


if __name__ == "__main__":
    main()
