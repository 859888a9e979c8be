"""(Kept as it ran in session 5: it read the labellers' batch files outside the repository.)
Split the blind corpus3 batches into tune/ and sealed/ halves, per (source, family, kind), seeded."""
import random, sys, yaml
from collections import defaultdict
from pathlib import Path
HERE = Path(__file__).parent
rows = {"styles3": [], "live3": []}
for name, sub in (("styles3", "styles"), ("live3", "real")):
    for f in sorted((HERE / sub).glob("*.yaml")):
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or []
        for r in data:
            if r["ask"] == "order" and isinstance(r["label"], str) and r["label"] != "unclear":
                text = r["label"]
                if " > " in text:
                    r["label"] = [t.strip() for t in text.split(" > ")][::-1]
                else:
                    r["label"] = [t.strip() for t in text.split(" < ")]
                assert all(t in [str(n) for n in r["numbers"]] for t in r["label"]), (r["id"], text)
        rows[name] += data
rng = random.Random(20261202 + 3)
for name, rs in rows.items():
    seen = set()
    for r in rs:
        assert r["id"] not in seen, r["id"]; seen.add(r["id"])
    groups = defaultdict(list)
    for r in rs:
        groups[(r.get("family"), r["ask"] == "order")].append(r)
    out = {("tune", False): [], ("sealed", False): [], ("tune", True): [], ("sealed", True): []}
    for (fam, order), g in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        g = sorted(g, key=lambda r: r["id"]); rng.shuffle(g)
        k = len(g) // 2 + (len(g) % 2 and rng.random() < 0.5)
        for i, r in enumerate(g):
            out[("sealed" if i < k else "tune", order)].append(r)
    for (split, order), rs2 in out.items():
        d = HERE / split; d.mkdir(exist_ok=True)
        rs2.sort(key=lambda r: r["id"])
        fn = d / (f"{name}-order.yaml" if order else f"{name}.yaml")
        fn.write_text(yaml.safe_dump(rs2, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
        print(split, fn.name, len(rs2))
